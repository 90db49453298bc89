import XCTest
@testable import Tensors

final class ComputeBudgetTests: XCTestCase {
    func testSharesTheCoresAmongWorkers() {
        XCTAssertEqual(ComputeBudget.threadsPerWorker(workers: 1, cores: 16), 16)
        XCTAssertEqual(ComputeBudget.threadsPerWorker(workers: 4, cores: 16), 4)
        XCTAssertEqual(ComputeBudget.threadsPerWorker(workers: 3, cores: 8), 2, "workers x threads never exceeds the cores")
        XCTAssertEqual(ComputeBudget.threadsPerWorker(workers: 8, cores: 2), 1, "at least one thread")
        XCTAssertEqual(ComputeBudget.threadsPerWorker(workers: 0, cores: 2), 2)
    }

    func testApplySetsTensorThreadsAndKeepsOpenBLASAtOne() {
        let (blas, tensor) = (BLASThreads.current, TensorThreads.count)
        defer { BLASThreads.set(blas); TensorThreads.count = tensor }
        XCTAssertEqual(ComputeBudget.apply(threadsPerWorker: 1), 1)
        XCTAssertEqual(BLASThreads.current, 1)
        XCTAssertEqual(TensorThreads.count, 1)
        XCTAssertEqual(ComputeBudget.apply(threadsPerWorker: 2), 2)
        XCTAssertEqual(BLASThreads.current, 1, "products are split by us, not by OpenBLAS")
        XCTAssertEqual(TensorThreads.count, 2)
        XCTAssertEqual(ComputeBudget.apply(threadsPerWorker: 0), 1, "a budget below one thread still runs")
        XCTAssertEqual(BLASThreads.current, 1)
    }
}
