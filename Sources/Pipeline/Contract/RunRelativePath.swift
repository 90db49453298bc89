import Foundation

extension CodingUserInfoKey {
    /// The run directory's path: checkpoints store paths inside it relative to it, so a moved run directory resumes.
    public static let runRoot = CodingUserInfoKey(rawValue: "dataengine.runRoot")!
}

/// Paths in checkpoints: inside the run directory they are stored relative to it ("work/generate/x.jpg"); source
/// paths elsewhere stay absolute. Without a run root (reports, tests) paths are stored as they are.
public enum RunRelativePath {
    public static func stored(_ path: String, _ userInfo: [CodingUserInfoKey: Any]) -> String {
        guard let root = userInfo[.runRoot] as? String, path.hasPrefix(root + "/") else { return path }
        return String(path.dropFirst(root.count + 1))
    }

    public static func resolved(_ path: String, _ userInfo: [CodingUserInfoKey: Any]) -> String {
        guard let root = userInfo[.runRoot] as? String, !path.hasPrefix("/") else { return path }
        return root + "/" + path
    }
}
