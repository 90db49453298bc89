import Datasets
import Foundation
#if canImport(Glibc)
import Glibc
import Support
#endif

/// A deterministic, seeded stand-in for COCO's `instances_train2017.json`, for load benchmarks and tests.
///
/// At the default size it matches train2017's shape: 118,287 images, 860,001 annotations, the 80 real
/// categories with their non-contiguous ids, polygon segmentations with COCO-like vertex counts (so the file
/// is about 470 MB = 448 MiB, like the real one), boxes with two-decimal floats like 473.07, long areas like
/// 2765.1486500000005, ~1% crowd annotations with uncompressed RLE, and the real file's compact layout and key
/// order, unknown keys (license, coco_url, flickr_url, date_captured) included. Annotation ids are scrambled,
/// not sorted.
///
/// The same parameters always give the same bytes. Every box lies inside its image.
public enum SyntheticCOCO {
    public struct Parameters: Sendable, Equatable {
        public var images: Int
        public var annotations: Int
        public var seed: UInt64
        /// Fraction of annotations that are crowd regions with RLE segmentation.
        public var crowdFraction: Double

        public init(images: Int = 118_287, annotations: Int = 860_001, seed: UInt64 = 2017, crowdFraction: Double = 0.01) {
            self.images = images
            self.annotations = annotations
            self.seed = seed
            self.crowdFraction = crowdFraction
        }
    }

    public struct Summary: Sendable, Equatable {
        public var bytes: Int
        public var images: Int
        public var annotations: Int
        public var crowdAnnotations: Int
    }

    /// The whole file in memory (for small sizes).
    public static func encode(_ parameters: Parameters) -> [UInt8] {
        var all: [UInt8] = []
        generate(parameters) { all.append(contentsOf: $0) }
        return all
    }

    /// Streams the file to `url` in 4 MiB chunks (memory stays small whatever the size), atomically.
    @discardableResult
    public static func write(_ parameters: Parameters, to url: URL) throws -> Summary {
        let path = url.path
        try AtomicFile.makeDirectories(url.deletingLastPathComponent().path)
        let tmp = path + ".\(getpid())" + AtomicFile.temporarySuffix
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFile.WriteError(path: tmp, operation: "create", code: errno) }
        var ok = false
        defer { if !ok { close(fd); unlink(tmp) } }
        let summary = try generate(parameters) { chunk in
            try chunk.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw AtomicFile.WriteError(path: tmp, operation: "write", code: errno)
                    }
                    offset += n
                }
            }
        }
        close(fd)
        ok = true
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw AtomicFile.WriteError(path: path, operation: "rename", code: e)
        }
        return summary
    }

    // MARK: Generation

    /// Generates the file, handing it to `sink` in chunks of about 4 MiB.
    @discardableResult
    static func generate(_ p: Parameters, sink: ([UInt8]) throws -> Void) rethrows -> Summary {
        var out = Output()
        var rng = SeededRandom(seed: p.seed)
        let flushAt = 4 << 20

        out.text(#"{"info": {"description": "COCO 2017 Dataset","url": "http://cocodataset.org","version": "1.0","year": 2017,"contributor": "COCO Consortium","date_created": "2017/09/01"},"licenses": ["#)
        for (i, name) in licenseNames.enumerated() {
            if i > 0 { out.text(",") }
            out.text(#"{"url": "http://creativecommons.org/licenses/"#)
            out.text(name.url)
            out.text(#"/2.0/","id": "#)
            out.int(i + 1)
            out.text(#","name": ""#)
            out.text(name.name)
            out.text(#""}"#)
        }
        out.text(#"],"images": ["#)

        // Images: increasing but gapped ids, as in COCO.
        var imageIds = [Int](repeating: 0, count: p.images)
        var sizes = [(w: Int, h: Int)](repeating: (0, 0), count: p.images)
        var nextId = 9
        for i in 0..<p.images {
            nextId += 1 + Int(rng.next() % 9)
            imageIds[i] = nextId
            sizes[i] = imageSizes[Int(rng.next() % UInt64(imageSizes.count))]
            if i > 0 { out.text(",") }
            out.text(#"{"license": "#)
            out.int(1 + Int(rng.next() % 8))
            out.text(#","file_name": ""#)
            out.padded(nextId, width: 12)
            out.text(#".jpg","coco_url": "http://images.cocodataset.org/train2017/"#)
            out.padded(nextId, width: 12)
            out.text(#".jpg","height": "#)
            out.int(sizes[i].h)
            out.text(#","width": "#)
            out.int(sizes[i].w)
            out.text(#","date_captured": "2013-"#)
            out.padded(1 + Int(rng.next() % 12), width: 2)
            out.text("-")
            out.padded(1 + Int(rng.next() % 28), width: 2)
            out.text(" ")
            out.padded(Int(rng.next() % 24), width: 2)
            out.text(":")
            out.padded(Int(rng.next() % 60), width: 2)
            out.text(":")
            out.padded(Int(rng.next() % 60), width: 2)
            out.text(#"","flickr_url": "http://farm"#)
            out.int(1 + Int(rng.next() % 9))
            out.text(".staticflickr.com/")
            out.int(1000 + Int(rng.next() % 9000))
            out.text("/")
            out.int(1_000_000_000 + Int(rng.next() % 9_000_000_000))
            out.text("_")
            out.hex(rng.next() & 0xFF_FFFF_FFFF, width: 10)
            out.text(#"_z.jpg","id": "#)
            out.int(nextId)
            out.text("}")
            if out.bytes.count >= flushAt { try sink(out.bytes); out.flushed() }
        }
        out.text(#"],"annotations": ["#)

        // Annotation ids: a bijective scramble of 1...n (multiplication by a unit mod n), so not sorted.
        let n = p.annotations
        var multiplier = 2_654_435_761 % max(n, 1)
        while n > 1 && gcd(multiplier, n) != 1 { multiplier += 1 }
        let crowdEvery = p.crowdFraction > 0 ? max(1, Int((1 / p.crowdFraction).rounded())) : Int.max
        var crowd = 0
        var points: [Int] = []  // coordinates in hundredths of a pixel
        var counts: [Int] = []
        for i in 0..<n {
            let image = p.images > 0 ? Int(rng.next() % UInt64(p.images)) : 0
            let (w, h) = p.images > 0 ? sizes[image] : (640, 480)
            let categoryId = rng.next() % 10 < 3
                ? 1 : COCOCategories.all[1 + Int(rng.next() % UInt64(COCOCategories.all.count - 1))].id
            if i > 0 { out.text(",") }
            let isCrowd = i % crowdEvery == crowdEvery / 2
            if isCrowd {
                crowd += 1
                let box = crowdMask(width: w, height: h, rng: &rng, counts: &counts)
                out.text(#"{"segmentation": {"counts": ["#)
                for (k, c) in counts.enumerated() {
                    if k > 0 { out.text(",") }
                    out.int(c)
                }
                out.text(#"],"size": ["#)
                out.int(h)
                out.text(",")
                out.int(w)
                out.text(#"]},"area": "#)
                out.int(box.area)
                out.text(#","iscrowd": 1,"image_id": "#)
                out.int(p.images > 0 ? imageIds[image] : 1)
                out.text(#","bbox": ["#)
                out.hundredths(box.x * 100); out.text(",")
                out.hundredths(box.y * 100); out.text(",")
                out.hundredths(box.w * 100); out.text(",")
                out.hundredths(box.h * 100)
                out.text(#"],"category_id": "#)
                out.int(categoryId)
                out.text(#","id": "#)
                out.int(900_100_000_000 + i)
                out.text("}")
            } else {
                let parts = rng.next() % 10 == 0 ? 2 : 1
                polygon(width: w, height: h, parts: parts, rng: &rng, points: &points)
                var minX = Int.max, minY = Int.max, maxX = Int.min, maxY = Int.min
                var area = 0.0
                out.text(#"{"segmentation": ["#)
                var start = 0
                for part in 0..<parts {
                    let count = points[start]
                    let coords = points[(start + 1)..<(start + 1 + 2 * count)]
                    if part > 0 { out.text(",") }
                    out.text("[")
                    var twice = 0.0
                    for v in 0..<count {
                        let x = coords[coords.startIndex + 2 * v], y = coords[coords.startIndex + 2 * v + 1]
                        let nv = (v + 1) % count
                        let x2 = coords[coords.startIndex + 2 * nv], y2 = coords[coords.startIndex + 2 * nv + 1]
                        twice += Double(x) / 100 * (Double(y2) / 100) - Double(x2) / 100 * (Double(y) / 100)
                        minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                        if v > 0 { out.text(",") }
                        out.hundredths(x)
                        out.text(",")
                        out.hundredths(y)
                    }
                    area += abs(twice) / 2
                    out.text("]")
                    start += 1 + 2 * count
                }
                out.text(#"],"area": "#)
                out.double(area)
                out.text(#","iscrowd": 0,"image_id": "#)
                out.int(p.images > 0 ? imageIds[image] : 1)
                out.text(#","bbox": ["#)
                out.hundredths(minX); out.text(",")
                out.hundredths(minY); out.text(",")
                out.hundredths(maxX - minX); out.text(",")
                out.hundredths(maxY - minY)
                out.text(#"],"category_id": "#)
                out.int(categoryId)
                out.text(#","id": "#)
                out.int(n > 1 ? (i * multiplier) % n + 1 : i + 1)
                out.text("}")
            }
            if out.bytes.count >= flushAt { try sink(out.bytes); out.flushed() }
        }
        out.text(#"],"categories": ["#)
        for (k, c) in COCOCategories.all.enumerated() {
            if k > 0 { out.text(",") }
            out.text(#"{"supercategory": ""#)
            out.text(c.supercategory ?? "")
            out.text(#"","id": "#)
            out.int(c.id)
            out.text(#","name": ""#)
            out.text(c.name)
            out.text(#""}"#)
        }
        out.text("]}")
        let total = out.total + out.bytes.count
        try sink(out.bytes)
        return Summary(bytes: total, images: p.images, annotations: n, crowdAnnotations: crowd)
    }

    /// One or more polygons inside a `width` x `height` image, as [count, x0, y0, x1, y1, ...] per part, in
    /// hundredths of a pixel. Vertex counts follow COCO's long tail: mostly 8-40, sometimes hundreds.
    static func polygon(width: Int, height: Int, parts: Int, rng: inout SeededRandom, points: inout [Int]) {
        points.removeAll(keepingCapacity: true)
        let w = Double(width), h = Double(height)
        for _ in 0..<parts {
            let count = min(400, 4 + Int(-log(max(rng.nextUnit(), 1e-12)) * 20))
            let bw = max(2, w * (0.02 + 0.5 * rng.nextUnit() * rng.nextUnit()))
            let bh = max(2, h * (0.02 + 0.5 * rng.nextUnit() * rng.nextUnit()))
            let cx = bw / 2 + rng.nextUnit() * (w - bw), cy = bh / 2 + rng.nextUnit() * (h - bh)
            points.append(count)
            for v in 0..<count {
                let t = Double(v) / Double(count) * 2 * Double.pi
                let r = 0.75 + 0.25 * rng.nextUnit()
                let x = min(w, max(0, cx + cos(t) * r * bw / 2))
                let y = min(h, max(0, cy + sin(t) * r * bh / 2))
                points.append(Int((x * 100).rounded(.down)))
                points.append(Int((y * 100).rounded(.down)))
            }
        }
    }

    /// A blob as COCO's uncompressed, column-major RLE (counts start with background); returns its box and
    /// pixel area.
    static func crowdMask(width: Int, height: Int, rng: inout SeededRandom, counts: inout [Int])
        -> (x: Int, y: Int, w: Int, h: Int, area: Int) {
        counts.removeAll(keepingCapacity: true)
        let bw = max(4, Int(Double(width) * (0.1 + 0.5 * rng.nextUnit())))
        let bh = max(4, Int(Double(height) * (0.1 + 0.5 * rng.nextUnit())))
        let x0 = Int(rng.next() % UInt64(width - bw + 1)), y0 = Int(rng.next() % UInt64(height - bh + 1))
        var run = 0, inObject = false, area = 0
        var minY = Int.max, maxY = Int.min
        func add(_ object: Bool, _ length: Int) {
            guard length > 0 else { return }
            if object == inObject { run += length } else { counts.append(run); run = length; inObject = object }
        }
        for x in 0..<width {
            if x >= x0 && x < x0 + bw {
                let top = y0 + Int(rng.next() % UInt64(bh / 4 + 1))
                let bottom = max(top + 1, y0 + bh - Int(rng.next() % UInt64(bh / 4 + 1)))
                add(false, top)
                add(true, bottom - top)
                add(false, height - bottom)
                area += bottom - top
                minY = min(minY, top)
                maxY = max(maxY, bottom)
            } else {
                add(false, height)
            }
        }
        counts.append(run)
        return (x0, minY, bw, maxY - minY, area)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    static let imageSizes: [(w: Int, h: Int)] = [
        (640, 480), (640, 427), (480, 640), (640, 426), (500, 375), (427, 640), (640, 360), (612, 612), (640, 640), (640, 424),
    ]

    static let licenseNames: [(url: String, name: String)] = [
        ("by-nc-sa", "Attribution-NonCommercial-ShareAlike License"), ("by-nc", "Attribution-NonCommercial License"),
        ("by-nc-nd", "Attribution-NonCommercial-NoDerivs License"), ("by", "Attribution License"),
        ("by-sa", "Attribution-ShareAlike License"), ("by-nd", "Attribution-NoDerivs License"),
        ("mark", "No known copyright restrictions"), ("gov", "United States Government Work"),
    ]

    /// The chunked output buffer.
    struct Output {
        var bytes: [UInt8] = []
        /// Bytes handed to the sink so far.
        var total = 0

        init() { bytes.reserveCapacity(5 << 20) }

        mutating func flushed() {
            total += bytes.count
            bytes.removeAll(keepingCapacity: true)
        }

        @inline(__always) mutating func text(_ s: StaticString) { s.withUTF8Buffer { bytes.append(contentsOf: $0) } }
        mutating func text(_ s: String) { bytes.append(contentsOf: s.utf8) }

        mutating func int(_ v: Int) {
            if v < 0 { bytes.append(UInt8(ascii: "-")); int(-v); return }
            if v >= 10 { int(v / 10) }
            bytes.append(UInt8(ascii: "0") + UInt8(v % 10))
        }

        mutating func padded(_ v: Int, width: Int) {
            var digits = 1, t = v
            while t >= 10 { digits += 1; t /= 10 }
            for _ in digits..<max(width, digits) { bytes.append(UInt8(ascii: "0")) }
            int(v)
        }

        mutating func hex(_ v: UInt64, width: Int) {
            for k in (0..<width).reversed() {
                let d = UInt8((v >> (4 * UInt64(k))) & 15)
                bytes.append(d < 10 ? UInt8(ascii: "0") + d : UInt8(ascii: "a") + d - 10)
            }
        }

        /// A value in hundredths as Python prints the float: 473.07, 260.2, 12.0.
        mutating func hundredths(_ v: Int) {
            int(v / 100)
            bytes.append(UInt8(ascii: "."))
            let frac = v % 100
            bytes.append(UInt8(ascii: "0") + UInt8(frac / 10))
            if frac % 10 != 0 { bytes.append(UInt8(ascii: "0") + UInt8(frac % 10)) }
        }

        mutating func double(_ v: Double) { text(v.description) }
    }
}
