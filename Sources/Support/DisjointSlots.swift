import Dispatch

/// A buffer that several threads fill at once, each writing only the slots of its own iterations (parallel
/// parsing into fixed slots, assembled in order afterwards). Unchecked Sendable: the compiler cannot see that
/// the writers' indices are disjoint; every user writes slot k only from the iteration that owns k.
public struct DisjointSlots<Element>: @unchecked Sendable {
    private let base: UnsafeMutableBufferPointer<Element>

    public init(_ base: UnsafeMutableBufferPointer<Element>) { self.base = base }

    public subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}

/// `transform(0) ... transform(count - 1)` on all cores, in order; the first error (by index) is rethrown.
public func parallelMap<R>(count: Int, _ transform: @Sendable (Int) throws -> R) throws -> [R] {
    var results = [Result<R, Error>?](repeating: nil, count: count)
    results.withUnsafeMutableBufferPointer { buffer in
        let slots = DisjointSlots(buffer)
        DispatchQueue.concurrentPerform(iterations: count) { k in slots[k] = Result { try transform(k) } }
    }
    return try results.map { try $0!.get() }
}
