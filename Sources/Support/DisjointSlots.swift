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
