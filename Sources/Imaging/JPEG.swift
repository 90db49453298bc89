import Foundation
import JPEGBridge

/// JPEG reading and writing through libjpeg-turbo (via the JPEGBridge C shim, which turns libjpeg's
/// longjmp errors into status codes). All functions are thread-safe.
///
/// Decoding uses JDCT_ISLOW and libjpeg's default (fancy) upsampling, like Pillow, so results match
/// `Image.open(path).convert("RGB")` to within a unit or two. CMYK/YCCK files are converted the way
/// Pillow does it, taking Adobe-marker data as inverted (Photoshop's convention).
public enum JPEG {
    /// Quality used when none is given.
    public static let defaultQuality = 95

    // MARK: Reading

    /// The header of the JPEG in `bytes` (reads no pixels).
    public static func readHeader(_ bytes: [UInt8]) throws -> JPEGHeader {
        try checkSignature(bytes)
        var header = jb_header()
        var diagnostics = jb_diagnostics()
        let status = bytes.withUnsafeBufferPointer { buffer in
            jb_read_header(buffer.baseAddress, buffer.count, &header, &diagnostics)
        }
        if status != Int32(JB_OK.rawValue) { throw error(status: status, diagnostics) }
        return JPEGHeader(header)
    }

    /// Decodes the JPEG in `bytes` to RGB. With `strict` (the default) any libjpeg warning, such as
    /// "Premature end of JPEG file" for truncated data, makes the call throw; with `strict: false`
    /// the (partly grey) image comes back with the warnings in `DecodedJPEG.warnings`.
    public static func decode(_ bytes: [UInt8], strict: Bool = true) throws -> DecodedJPEG {
        try checkSignature(bytes)
        var header = jb_header()
        var diagnostics = jb_diagnostics()
        var pixels: UnsafeMutablePointer<UInt8>? = nil
        let status = bytes.withUnsafeBufferPointer { buffer in
            jb_decode_rgb(buffer.baseAddress, buffer.count, &pixels, &header, &diagnostics)
        }
        defer { jb_free(pixels) }
        if status != Int32(JB_OK.rawValue) { throw error(status: status, diagnostics) }
        guard let pixels else { throw ImagingError.invalidJPEG(message: "decoder returned no pixels") }

        let info = JPEGHeader(header)
        let warnings = warningMessages(diagnostics)
        if strict && diagnostics.warning_count > 0 {
            if diagnostics.premature_end != 0 { throw ImagingError.truncatedJPEG(detail: "") }
            throw ImagingError.corruptJPEG(warnings: warnings)
        }
        let count = info.width * info.height * 3
        let rgb = [UInt8](UnsafeBufferPointer(start: pixels, count: count))
        return DecodedJPEG(image: RGBImage(width: info.width, height: info.height, pixels: rgb),
                           header: info, warnings: warnings)
    }

    /// Reads and decodes a JPEG file; errors name the file.
    public static func decode(contentsOf url: URL, strict: Bool = true) throws -> DecodedJPEG {
        try decodeFile(atPath: url.path, strict: strict)
    }

    /// Reads and decodes a JPEG file; errors name the file ("a.jpg: truncated JPEG: ...").
    public static func decodeFile(atPath path: String, strict: Bool = true) throws -> DecodedJPEG {
        let bytes = try FileIO.read(path: path)
        do {
            return try decode(bytes, strict: strict)
        } catch let error as ImagingError {
            throw ImagingError.inFile(path: path, error)
        }
    }

    /// Reads the header of a JPEG file; errors name the file.
    public static func readHeader(contentsOf url: URL) throws -> JPEGHeader {
        try readHeaderOfFile(atPath: url.path)
    }

    /// Reads the header of a JPEG file; errors name the file.
    public static func readHeaderOfFile(atPath path: String) throws -> JPEGHeader {
        let bytes = try FileIO.read(path: path)
        do {
            return try readHeader(bytes)
        } catch let error as ImagingError {
            throw ImagingError.inFile(path: path, error)
        }
    }

    // MARK: Writing

    /// Encodes `image` as a baseline JFIF JPEG (JDCT_ISLOW, optimized Huffman tables, no comments
    /// or timestamps: the same image and settings always give the same bytes).
    public static func encode(_ image: RGBImage, quality: Int = defaultQuality,
                              subsampling: ChromaSubsampling = .yuv420) throws -> [UInt8] {
        try checkEncodeArguments(width: image.width, height: image.height, quality: quality)
        return try image.pixels.withUnsafeBufferPointer { buffer in
            try runEncoder { output, size, diagnostics in
                jb_encode_rgb(buffer.baseAddress, Int32(image.width), Int32(image.height), Int32(quality),
                              subsampling.bridgeValue, output, size, diagnostics)
            }
        }
    }

    /// Encodes `image` and writes it atomically (temporary file + rename) to `url`.
    public static func write(_ image: RGBImage, to url: URL, quality: Int = defaultQuality,
                             subsampling: ChromaSubsampling = .yuv420) throws {
        try writeFile(image, atPath: url.path, quality: quality, subsampling: subsampling)
    }

    /// Encodes `image` and writes it atomically to `path`.
    public static func writeFile(_ image: RGBImage, atPath path: String, quality: Int = defaultQuality,
                                 subsampling: ChromaSubsampling = .yuv420) throws {
        let bytes: [UInt8]
        do {
            bytes = try encode(image, quality: quality, subsampling: subsampling)
        } catch let error as ImagingError {
            throw ImagingError.inFile(path: path, error)
        }
        try FileIO.writeAtomically(bytes, path: path)
    }

    /// Encodes interleaved CMYK bytes as a 4-component JPEG (4:4:4), as YCCK when `ycck`. libjpeg
    /// always adds an Adobe marker here, so readers take the values as inverted (pass 255 - ink).
    /// For tests of the CMYK/YCCK decoding paths.
    static func encodeCMYK(_ cmyk: [UInt8], width: Int, height: Int, quality: Int = defaultQuality,
                           ycck: Bool) throws -> [UInt8] {
        try checkEncodeArguments(width: width, height: height, quality: quality)
        guard cmyk.count == width * height * 4 else {
            throw ImagingError.invalidArgument("CMYK data has \(cmyk.count) bytes, expected \(width * height * 4)")
        }
        return try cmyk.withUnsafeBufferPointer { buffer in
            try runEncoder { output, size, diagnostics in
                jb_encode_cmyk(buffer.baseAddress, Int32(width), Int32(height), Int32(quality), ycck ? 1 : 0,
                               output, size, diagnostics)
            }
        }
    }

    // MARK: Internals

    private static func checkEncodeArguments(width: Int, height: Int, quality: Int) throws {
        guard (1...100).contains(quality) else {
            throw ImagingError.invalidArgument("JPEG quality \(quality) is outside 1...100")
        }
        guard (1...65500).contains(width), (1...65500).contains(height) else {
            throw ImagingError.invalidArgument("cannot encode a \(width)x\(height) image as JPEG (each side must be 1...65500)")
        }
    }

    private static func runEncoder(
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>,
                 UnsafeMutablePointer<jb_diagnostics>) -> Int32
    ) throws -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var diagnostics = jb_diagnostics()
        let status = body(&output, &size, &diagnostics)
        defer { jb_free(output) }
        if status != Int32(JB_OK.rawValue) { throw error(status: status, diagnostics) }
        guard let output else { throw ImagingError.invalidJPEG(message: "encoder returned no data") }
        return [UInt8](UnsafeBufferPointer(start: output, count: size))
    }

    /// Fails early, with a useful message, for data that is not a JPEG at all.
    static func checkSignature(_ bytes: [UInt8]) throws {
        if bytes.isEmpty { throw ImagingError.emptyData }
        if bytes.count < 2 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
            throw ImagingError.notJPEG(leadingBytes: Array(bytes.prefix(32)))
        }
    }

    private static func error(status: Int32, _ diagnostics: jb_diagnostics) -> ImagingError {
        let message = cString(diagnostics.error)
        switch UInt32(bitPattern: status) {
        case JB_ERR_LIBJPEG.rawValue:
            if diagnostics.premature_end != 0 { return .truncatedJPEG(detail: message) }
            return .invalidJPEG(message: message)
        case JB_ERR_ARGUMENT.rawValue: return .invalidArgument(message)
        case JB_ERR_NO_MEMORY.rawValue: return .outOfMemory(message)
        case JB_ERR_UNSUPPORTED.rawValue: return .unsupportedJPEG(message: message)
        default: return .invalidJPEG(message: "JPEG bridge status \(status): \(message)")
        }
    }

    private static func warningMessages(_ diagnostics: jb_diagnostics) -> [String] {
        let stored = Int(diagnostics.stored_warnings)
        var messages: [String] = withUnsafeBytes(of: diagnostics.warnings) { raw in
            let capacity = Int(JB_MESSAGE_CAPACITY)
            return (0..<stored).map { i in
                let slice = raw[(i * capacity)..<((i + 1) * capacity)]
                let end = slice.firstIndex(of: 0) ?? slice.endIndex
                return String(decoding: raw[slice.startIndex..<end], as: UTF8.self)
            }
        }
        let total = Int(diagnostics.warning_count)
        if total > messages.count {
            messages.append("\(total) warnings in all")
        }
        return messages
    }

    private static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            let end = raw.firstIndex(of: 0) ?? raw.endIndex
            return String(decoding: raw[raw.startIndex..<end], as: UTF8.self)
        }
    }
}
