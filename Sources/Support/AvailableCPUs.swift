import Foundation

/// The CPUs this process was given, the fewest of: the affinity mask (`taskset`, Slurm's task binding,
/// `Cpus_allowed_list` of /proc/self/status), the cgroup's CPU quota (cgroup v2 `cpu.max`, v1
/// `cpu.cfs_quota_us` / `cpu.cfs_period_us`: Kubernetes' CPU limit, Docker's `--cpus`) rounded up, and Slurm's
/// `SLURM_CPUS_PER_TASK`. Workers and compute threads default to it, so a task uses what it was allocated.
public struct AvailableCPUs: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    /// What limited it: "affinity mask", "cgroup cpu.max", "SLURM_CPUS_PER_TASK" or "all cores".
    public var source: String

    public var description: String { "\(count) CPU\(count == 1 ? "" : "s") (\(source))" }

    /// This process's, read once.
    public static let current = AvailableCPUs.read()

    public static func read(environment: [String: String] = ProcessInfo.processInfo.environment,
                            file: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }) -> AvailableCPUs {
        var best = AvailableCPUs(count: max(1, ProcessInfo.processInfo.processorCount), source: "all cores")
        func consider(_ count: Int?, _ source: String) {
            if let count, count >= 1, count < best.count { best = AvailableCPUs(count: count, source: source) }
        }
        consider(file("/proc/self/status").flatMap(affinityCount), "affinity mask")
        consider(cgroupQuota(file: file), "cgroup CPU quota")
        consider(environment["SLURM_CPUS_PER_TASK"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }, "SLURM_CPUS_PER_TASK")
        return best
    }

    /// The number of CPUs in `Cpus_allowed_list:` of a /proc/PID/status text ("0-3,8,10-11" is 7).
    public static func affinityCount(status: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return nil }
        var count = 0
        for part in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            switch bounds.count {
            case 1: count += 1
            case 2 where bounds[1] >= bounds[0]: count += bounds[1] - bounds[0] + 1
            default: return nil
            }
        }
        return count > 0 ? count : nil
    }

    /// CPUs allowed by a cgroup v2 `cpu.max` text ("200000 100000" is 2, "150000 100000" rounds up to 2, "max
    /// 100000" is no limit).
    public static func cpuMax(_ text: String) -> Int? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, fields[0] != "max", let quota = Double(fields[0]), let period = Double(fields[1]), quota > 0, period > 0 else { return nil }
        return max(1, Int((quota / period).rounded(.up)))
    }

    /// The quota of this process's cgroup (v2: its own `cpu.max`, else the root's; v1: the cpu controller's).
    static func cgroupQuota(file: (String) -> String?) -> Int? {
        if let membership = file("/proc/self/cgroup") {
            for line in membership.split(separator: "\n") where line.hasPrefix("0::") {
                let path = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
                if let text = file("/sys/fs/cgroup\(path == "/" ? "" : path)/cpu.max"), let n = cpuMax(text) { return n }
            }
        }
        if let text = file("/sys/fs/cgroup/cpu.max"), let n = cpuMax(text) { return n }
        if let quota = file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
           let period = file("/sys/fs/cgroup/cpu/cpu.cfs_period_us").flatMap({ Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
           quota > 0, period > 0 {
            return max(1, Int((quota / period).rounded(.up)))
        }
        return nil
    }
}
