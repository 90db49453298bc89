/// Everything that can go wrong in the Imaging module, worded so that a person reading a log knows
/// what is wrong with the input. Errors about data carry no file name; the `...contentsOf:` and
/// `...atPath:` APIs wrap them in `.inFile(path:_:)`.
public indirect enum ImagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data is empty (0 bytes).
    case emptyData
    /// The data does not start with a JPEG SOI marker (FF D8). `leadingBytes`: up to 32 first bytes.
    case notJPEG(leadingBytes: [UInt8])
    /// The data ends before the image does. `detail`: libjpeg's fatal message when the cut was
    /// fatal (e.g. inside the header), empty when libjpeg only warned.
    case truncatedJPEG(detail: String)
    /// libjpeg decoded the image but warned that the data is corrupt (strict decoding only).
    case corruptJPEG(warnings: [String])
    /// libjpeg gave up on the data; the message is libjpeg's.
    case invalidJPEG(message: String)
    /// A valid JPEG whose colour layout cannot be turned into RGB (e.g. 2 components).
    case unsupportedJPEG(message: String)
    /// An argument was out of range (crop outside the image, JPEG quality 0, ...).
    case invalidArgument(String)
    /// The image is too large to allocate.
    case outOfMemory(String)
    /// Reading or writing a file failed; `reason` is the system's explanation.
    case fileRead(path: String, reason: String)
    case fileWrite(path: String, reason: String)
    /// An error about the data of the file at `path`.
    case inFile(path: String, ImagingError)

    public var description: String {
        switch self {
        case .emptyData:
            return "not a JPEG: the data is empty (0 bytes)"
        case .notJPEG(let bytes):
            let hex = bytes.prefix(4).map { hexByte($0) }.joined(separator: " ")
            if let kind = FileSignature.guessKind(of: bytes) {
                return "not a JPEG (starts with \(hex): \(kind)?)"
            }
            return "not a JPEG (starts with \(hex); a JPEG starts with FF D8)"
        case .truncatedJPEG(let detail):
            return detail.isEmpty
                ? "truncated JPEG: premature end of data"
                : "truncated JPEG: premature end of data (\(detail))"
        case .corruptJPEG(let warnings):
            return "corrupt JPEG: " + (warnings.isEmpty ? "libjpeg warned" : warnings.joined(separator: "; "))
        case .invalidJPEG(let message):
            return "invalid JPEG: \(message)"
        case .unsupportedJPEG(let message):
            return "unsupported JPEG: \(message)"
        case .invalidArgument(let message):
            return message
        case .outOfMemory(let message):
            return "out of memory: \(message)"
        case .fileRead(let path, let reason):
            return "\(path): cannot read: \(reason)"
        case .fileWrite(let path, let reason):
            return "\(path): cannot write: \(reason)"
        case .inFile(let path, let error):
            return "\(path): \(error)"
        }
    }

    /// The error without an `.inFile` wrapper (for matching in callers and tests).
    public var underlying: ImagingError {
        if case .inFile(_, let error) = self { return error.underlying }
        return self
    }
}

func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
