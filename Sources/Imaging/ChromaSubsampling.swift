import JPEGBridge

/// How much colour (chroma) resolution a JPEG keeps relative to brightness.
public enum ChromaSubsampling: String, CaseIterable, Equatable, Sendable {
    /// Half width and half height (the usual JPEG default; smallest files).
    case yuv420 = "4:2:0"
    /// Half width, full height.
    case yuv422 = "4:2:2"
    /// Full resolution (sharp colour edges, larger files).
    case yuv444 = "4:4:4"

    var bridgeValue: Int32 {
        switch self {
        case .yuv420: return Int32(JB_SUBSAMPLING_420.rawValue)
        case .yuv422: return Int32(JB_SUBSAMPLING_422.rawValue)
        case .yuv444: return Int32(JB_SUBSAMPLING_444.rawValue)
        }
    }
}
