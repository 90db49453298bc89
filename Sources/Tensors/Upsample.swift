extension Tensor {
    /// Nearest-neighbour 2x upsampling of (N, C, H, W) to (N, C, 2H, 2W)
    /// (`F.interpolate(x, scale_factor=2.0, mode="nearest")`, diffusers' Upsample2D).
    public func upsampledNearest2x() -> Tensor {
        precondition(rank == 4, "upsampledNearest2x: input must be (N, C, H, W), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        return Tensor(uninitializedShape: [n, c, 2 * h, 2 * w]) { out in
            withPointer { src0 in
                let src = SharedPointer(UnsafeMutablePointer(mutating: src0)), dst = SharedPointer(out)
                parallelUnits(n * c) { plane in
                    let from = src.base + plane * h * w, to = dst.base + plane * 4 * h * w
                    for y in 0..<h {
                        let row = to + 2 * y * 2 * w, input = from + y * w
                        for x in 0..<w {
                            let v = input[x]
                            row[2 * x] = v
                            row[2 * x + 1] = v
                        }
                        (row + 2 * w).update(from: row, count: 2 * w)
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// Nearest-neighbour resize of (N, C, H, W) to (N, C, height, width) as `F.interpolate(x, size=(height,
    /// width), mode="nearest")`: output pixel i reads input floor(i * in / out) (the scale in float32, as
    /// PyTorch computes it). diffusers' Upsample2D uses it when the UNet forwards the skip connections' size.
    public func upsampledNearest(height: Int, width: Int) -> Tensor {
        precondition(rank == 4, "upsampledNearest: input must be (N, C, H, W), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        precondition(height > 0 && width > 0 && h > 0 && w > 0, "upsampledNearest: empty size \(shape) -> \(height)x\(width)")
        if height == 2 * h && width == 2 * w { return upsampledNearest2x() }
        let (scaleY, scaleX) = (Float(h) / Float(height), Float(w) / Float(width))
        let rows = (0..<height).map { Swift.min(Int((Float($0) * scaleY).rounded(.down)), h - 1) }
        let cols = (0..<width).map { Swift.min(Int((Float($0) * scaleX).rounded(.down)), w - 1) }
        return Tensor(uninitializedShape: [n, c, height, width]) { out in
            withPointer { src0 in
                let src = SharedPointer(UnsafeMutablePointer(mutating: src0)), dst = SharedPointer(out)
                parallelUnits(n * c) { plane in
                    let from = src.base + plane * h * w, to = dst.base + plane * height * width
                    for y in 0..<height {
                        let input = from + rows[y] * w, row = to + y * width
                        for x in 0..<width { row[x] = input[cols[x]] }
                    }
                }
            }
        }
    }
}
