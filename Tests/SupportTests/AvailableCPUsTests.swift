import Foundation
import Support
import XCTest

/// Workers follow the CPUs a task was given: the affinity mask, the cgroup quota, Slurm's CPUs per task.
final class AvailableCPUsTests: XCTestCase {
    func testAffinityListsAreCounted() {
        XCTAssertEqual(AvailableCPUs.affinityCount(status: "Name:\tx\nCpus_allowed_list:\t0-3,8,10-11\nMems_allowed:\t1\n"), 7)
        XCTAssertEqual(AvailableCPUs.affinityCount(status: "Cpus_allowed_list:\t5\n"), 1)
        XCTAssertNil(AvailableCPUs.affinityCount(status: "Cpus_allowed_list:\t3-1\n"))
        XCTAssertNil(AvailableCPUs.affinityCount(status: "Name:\tx\n"))
    }

    func testCgroupQuotaRoundsUpAndMaxIsNoLimit() {
        XCTAssertEqual(AvailableCPUs.cpuMax("200000 100000\n"), 2)
        XCTAssertEqual(AvailableCPUs.cpuMax("150000 100000\n"), 2)
        XCTAssertEqual(AvailableCPUs.cpuMax("50000 100000\n"), 1)
        XCTAssertNil(AvailableCPUs.cpuMax("max 100000\n"))
        XCTAssertNil(AvailableCPUs.cpuMax("garbage"))
    }

    func testTheFewestWins() {
        let all = ProcessInfo.processInfo.processorCount
        let files: [String: String] = [
            "/proc/self/status": "Cpus_allowed_list:\t0-\(max(0, all - 1))\n",
            "/proc/self/cgroup": "0::/kubepods/pod1\n",
            "/sys/fs/cgroup/kubepods/pod1/cpu.max": "100000 100000\n",
        ]
        let limited = AvailableCPUs.read(environment: [:], file: { files[$0] })
        XCTAssertEqual(limited.count, 1)
        XCTAssertEqual(limited.source, all > 1 ? "cgroup CPU quota" : "all cores")
        let slurm = AvailableCPUs.read(environment: ["SLURM_CPUS_PER_TASK": "1"], file: { _ in nil })
        XCTAssertEqual(slurm.count, 1)
        XCTAssertEqual(slurm.source, all > 1 ? "SLURM_CPUS_PER_TASK" : "all cores")
        XCTAssertEqual(AvailableCPUs.read(environment: ["SLURM_CPUS_PER_TASK": "0"], file: { _ in nil }).count, all)
    }
}
