/// Guesses what a file is from its first bytes, to make "not a JPEG" errors useful.
enum FileSignature {
    /// A short phrase such as "a PNG", or nil when the bytes match nothing known.
    static func guessKind(of bytes: [UInt8]) -> String? {
        func starts(_ prefix: [UInt8]) -> Bool { bytes.count >= prefix.count && Array(bytes.prefix(prefix.count)) == prefix }
        func startsText(_ text: String) -> Bool { starts(Array(text.utf8)) }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "a PNG" }
        if startsText("GIF8") { return "a GIF" }
        if startsText("RIFF"), bytes.count >= 12, Array(bytes[8..<12]) == Array("WEBP".utf8) { return "a WebP" }
        if startsText("RIFF") { return "a RIFF file" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "a TIFF" }
        if startsText("BM") { return "a BMP" }
        if starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50]) || starts([0xFF, 0x4F, 0xFF, 0x51]) { return "a JPEG 2000" }
        if bytes.count >= 12, Array(bytes[4..<8]) == Array("ftyp".utf8) { return "an HEIF/AVIF/MP4 file" }
        if startsText("version https://git-lfs") { return "a Git LFS pointer, not the file itself" }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return "zstd-compressed data" }
        if starts([0x1F, 0x8B]) { return "gzip-compressed data" }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return "a ZIP archive" }
        if startsText("%PDF") { return "a PDF" }
        if startsText("P6") || startsText("P3") { return "a PPM" }
        let firstText = bytes.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        if firstText == UInt8(ascii: "<") { return "HTML or XML text" }
        if firstText == UInt8(ascii: "{") || firstText == UInt8(ascii: "[") { return "JSON text" }
        return nil
    }
}
