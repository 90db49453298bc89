import Foundation
import Support

extension JSONValue {
    /// Parses JSON text; the error is `ModelLoadError` naming `file`. diffusers writes configs with Python's
    /// `json`, which spells infinities `-Infinity` (every DPMSolverMultistepScheduler config it saves holds
    /// `"lambda_min_clipped": -Infinity`); those bare `Infinity` / `-Infinity` / `NaN` tokens are read as numbers,
    /// and the strict parse's error is reported when the text is not JSON even so.
    public static func parse(_ data: Data, file: String) throws -> JSONValue {
        switch parse(data, allowingPythonNonFinite: true) {
        case .success(let value): return value
        case .failure(let failure):
            throw ModelLoadError(file: file, message: "not valid JSON: \(failure.reason)",
                                 hint: "the file is damaged: re-download it or re-save the model with diffusers `save_pretrained`")
        }
    }

    /// Reads and parses a JSON file; a missing or unreadable file is a `ModelLoadError` naming it.
    public static func read(_ url: URL) throws -> JSONValue {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelLoadError(file: path, message: "file not found", hint: "check the model folder: is it complete?")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw ModelLoadError(file: path, message: isDirectory.boolValue ? "is a directory, not a JSON file" : "cannot read the file",
                                 hint: "check the file's permissions")
        }
        return try parse(data, file: path)
    }

}
