import JPEGBridge

/// The colour space of a JPEG's coded data, as libjpeg reads it from the markers.
public enum JPEGColorSpace: String, Equatable, Sendable, CustomStringConvertible {
    case grayscale
    case rgb
    case ycbcr
    case cmyk
    case ycck
    case unknown

    init(bridgeValue: Int32) {
        switch UInt32(bitPattern: bridgeValue) {
        case JB_CS_GRAYSCALE.rawValue: self = .grayscale
        case JB_CS_RGB.rawValue: self = .rgb
        case JB_CS_YCBCR.rawValue: self = .ycbcr
        case JB_CS_CMYK.rawValue: self = .cmyk
        case JB_CS_YCCK.rawValue: self = .ycck
        default: self = .unknown
        }
    }

    public var description: String { rawValue }
}

/// What a JPEG's header says about the image.
public struct JPEGHeader: Equatable, Sendable {
    public var width: Int
    public var height: Int
    /// Number of colour components in the file: 1 (grayscale), 3 (YCbCr/RGB) or 4 (CMYK/YCCK).
    public var components: Int
    public var colorSpace: JPEGColorSpace
    /// An Adobe APP14 marker is present.
    public var hasAdobeMarker: Bool
    /// CMYK/YCCK stored inverted, as Photoshop writes it (implied by the Adobe marker).
    public var isInvertedCMYK: Bool
    public var isProgressive: Bool

    public init(width: Int, height: Int, components: Int, colorSpace: JPEGColorSpace,
                hasAdobeMarker: Bool = false, isInvertedCMYK: Bool = false, isProgressive: Bool = false) {
        self.width = width
        self.height = height
        self.components = components
        self.colorSpace = colorSpace
        self.hasAdobeMarker = hasAdobeMarker
        self.isInvertedCMYK = isInvertedCMYK
        self.isProgressive = isProgressive
    }

    init(_ header: jb_header) {
        self.init(width: Int(header.width), height: Int(header.height), components: Int(header.components),
                  colorSpace: JPEGColorSpace(bridgeValue: header.color_space),
                  hasAdobeMarker: header.adobe_marker != 0, isInvertedCMYK: header.inverted_cmyk != 0,
                  isProgressive: header.progressive != 0)
    }
}
