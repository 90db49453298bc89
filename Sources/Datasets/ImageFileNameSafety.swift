/// Whether an image file name from a dataset can be joined to the image root safely. A dataset file is input
/// from elsewhere: a name like `../../etc/passwd` or `/home/x/.ssh/id_rsa` must never make the tool read (or,
/// for outputs named after inputs, write) outside the image root.
public enum ImageFileNameSafety {
    /// nil when the name is a relative path inside the root; otherwise why it is refused ("is an absolute
    /// path", "has a '..' component", ...).
    public static func refusal(for fileName: String) -> String? {
        if fileName.isEmpty { return "is empty" }
        var hasDotDot = false
        var component = 0  // bytes in the current component that are '.', or -1 once it has anything else
        for byte in fileName.utf8 {
            switch byte {
            case 0: return "contains a NUL character"
            case UInt8(ascii: "\\"): return "contains a backslash"
            case UInt8(ascii: "/"):
                if component == 2 { hasDotDot = true }
                component = 0
            case UInt8(ascii: "."):
                if component >= 0 { component += 1 }
            default:
                component = -1
            }
        }
        if component == 2 { hasDotDot = true }
        if fileName.utf8.first == UInt8(ascii: "/") { return "is an absolute path" }
        if hasDotDot { return "has a '..' component" }
        return nil
    }
}
