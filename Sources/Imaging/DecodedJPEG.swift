/// The result of decoding a JPEG: RGB pixels plus what the file was.
public struct DecodedJPEG: Equatable, Sendable {
    public var image: RGBImage
    public var header: JPEGHeader
    /// libjpeg's warnings (corrupt or truncated data); only non-empty with `strict: false`.
    public var warnings: [String]

    public var sourceColorSpace: JPEGColorSpace { header.colorSpace }

    public init(image: RGBImage, header: JPEGHeader, warnings: [String] = []) {
        self.image = image
        self.header = header
        self.warnings = warnings
    }
}
