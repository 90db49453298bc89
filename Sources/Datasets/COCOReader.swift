import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Loads COCO instances (and optionally captions) files.
///
/// Built for train2017 scale (118k images, 860k annotations, ~450 MB): the file is read once into one buffer,
/// a byte-level scanner parses each record straight into the model types, and `segmentation`, `info` and
/// `licenses` stay as ranges into that buffer (`RawJSON`), so polygons cost no allocation of their own.
///
/// Fatal problems (invalid JSON, a missing or wrongly typed required field, duplicate ids) throw a
/// `DatasetError` naming the file, the place ("byte N (line L, column C)", "annotation #i (id 42)") and a fix.
/// Records are numbered from 0 in their list, as in `jq '.annotations[i]'`. Survivable problems skip or
/// repair the record and are listed in `DetectionDataset.issues`:
/// - an annotation naming an unknown image or category: skipped (`.unknownImage`, `.unknownCategory`);
/// - a box with zero or negative size, or entirely outside its image: dropped (`.boxDropped`);
/// - a box partly outside its image: clipped to it, area capped at the clipped box's (`.boxClipped`);
/// - an image whose file name is absolute, has a `..` component, a NUL or a backslash: the image, its
///   annotations and its captions are skipped (`.unsafePath`);
/// - a caption naming an image that is not in the instances file: skipped (`.unknownImage`).
///
/// Output keeps file order: images, annotations, categories and captions as they appear.
public enum COCOReader {
    /// Loads an instances file and, when given, the captions file of the same split.
    public static func load(instances: URL, captions: URL? = nil) throws -> DetectionDataset {
        var (dataset, refused) = try decodeInstances(readFile(instances), file: instances.path)
        if let captions {
            try attachCaptions(readFile(captions), file: captions.path, to: &dataset, refusedImageIds: refused)
        }
        return dataset
    }

    /// Parses instances JSON already in memory; `file` names it in errors and issues. The bytes become the
    /// shared storage of the dataset's RawJSON values.
    public static func decode(instances: [UInt8], file: String) throws -> DetectionDataset {
        try decodeInstances(instances, file: file).dataset
    }

    /// Parses instances and captions JSON already in memory.
    public static func decode(instances: [UInt8], file: String, captions: [UInt8], captionsFile: String) throws -> DetectionDataset {
        var (dataset, refused) = try decodeInstances(instances, file: file)
        try attachCaptions(captions, file: captionsFile, to: &dataset, refusedImageIds: refused)
        return dataset
    }

    static func decodeInstances(_ bytes: [UInt8], file: String) throws -> (dataset: DetectionDataset, refusedImageIds: Set<Int>) {
        var content = try parse(bytes, file: file) { p in try p.parseInstances() }
        let dataset = try content.validated(file: file)
        return (dataset, content.refusedImageIds)
    }

    static func attachCaptions(_ bytes: [UInt8], file: String, to dataset: inout DetectionDataset, refusedImageIds: Set<Int>) throws {
        let imageIds = Set(dataset.images.lazy.map(\.id))
        var issues: [LoadIssue] = []
        let captions = try parse(bytes, file: file) { p in
            try p.parseCaptions(imageIds: imageIds, refusedImageIds: refusedImageIds, issues: &issues)
        }
        dataset.captions.append(contentsOf: captions)
        dataset.issues.append(contentsOf: issues)
    }

    static func parse<T>(_ bytes: [UInt8], file: String, _ body: (inout COCOParser) throws -> T) throws -> T {
        try parse(RawJSON.Storage(bytes), file: file, body)
    }

    /// Runs a parser over the storage's bytes, turning JSON syntax errors into DatasetErrors.
    static func parse<T>(_ storage: RawJSON.Storage, file: String, _ body: (inout COCOParser) throws -> T) throws -> T {
        guard !storage.bytes.isEmpty else {
            throw DatasetError(file: file, message: "the file is empty",
                               hint: "the file was probably cut short while downloading or copying: get it again, or re-export it")
        }
        return try storage.bytes.withUnsafeBufferPointer { buffer in
            var p = COCOParser(file: file, storage: storage, base: buffer.baseAddress!, count: buffer.count)
            do {
                return try body(&p)
            } catch let e as JSONSyntaxError {
                throw p.datasetError(e)
            }
        }
    }

    /// Asks for 2 MiB pages for a large buffer about to be filled: a 450 MB file then costs a few hundred page
    /// faults instead of 110k (advisory; ignored where transparent huge pages are off).
    static func adviseHugePages(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        let huge: UInt = 2 << 20
        guard buffer.count >= 4 * Int(huge), let base = buffer.baseAddress else { return }
        let start = (UInt(bitPattern: base) + huge - 1) & ~(huge - 1)
        let end = (UInt(bitPattern: base) + UInt(buffer.count)) & ~(huge - 1)
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), MADV_HUGEPAGE) }
    }

    /// Reads a whole file into one buffer (one allocation of exactly its size).
    public static func readFile(_ url: URL) throws -> [UInt8] {
        let path = url.path
        func failure(_ operation: String, _ code: Int32) -> DatasetError {
            var hint = "check the path"
            if code == EACCES || code == EPERM { hint = "the file is not readable: fix its permissions" }
            if code == EISDIR { hint = "pass the JSON file, not its directory" }
            return DatasetError(file: path, message: "cannot \(operation): \(String(cString: strerror(code)))", hint: hint)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw failure("stat", errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw failure("read", EISDIR) }
        let size = Int(st.st_size)
        var bytes = try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            adviseHugePages(buffer)
            while initialized < size {
                let n = read(fd, buffer.baseAddress! + initialized, size - initialized)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure("read", errno)
                }
                if n == 0 { break }  // the file shrank while reading
                initialized += n
            }
        }
        // Not a regular file (a pipe) or the file grew: read on in chunks.
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("read", errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }
}
