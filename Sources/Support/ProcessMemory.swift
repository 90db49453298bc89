import Foundation

/// This process's memory from /proc/self/status: resident now (`VmRSS`) and the peak so far (`VmHWM`), in bytes.
public enum ProcessMemory {
    public static var resident: Int? { field("VmRSS:") }
    public static var peakResident: Int? { field("VmHWM:") }

    public static func field(_ name: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
        let kilobytes = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
        return kilobytes.map { $0 * 1024 }
    }

    /// "1.3 GiB", "420 MiB".
    public static func format(_ bytes: Int) -> String {
        let mib = Double(bytes) / 1_048_576
        return mib >= 1024 ? String(format: "%.1f GiB", mib / 1024) : String(format: "%.0f MiB", mib)
    }
}
