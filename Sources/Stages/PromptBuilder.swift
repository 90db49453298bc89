import Foundation
import Datasets
import Support
import Pipeline

/// How the generate stage words its text prompt (DiffusionEngine, "Prompts").
public struct PromptConfig: Codable, Hashable, Sendable {
    public enum Source: String, ConfigEnum {
        /// The image's captions when it has any, else the template.
        case auto
        /// Always a caption (an image without captions is an error).
        case captions
        /// DiffusionEngine's generic prompt: "A {domain}, with {cls-a}, {cls-b}, ... in the {domain}."
        case template
        /// DetDiffusion's attribute prompt "An image with {objects}", each object as its class, four location
        /// tokens and its easy/hard token. Only for models fine-tuned with those added tokens; stock SD ignores them.
        case detdiffusion
    }

    public var source: Source = .auto
    /// The template's [domain]: photo, clipart, ...
    public var domain: String = "photo"
    /// Appended after a comma (the paper's positive prompt for photos).
    public var suffix: String = ""
    /// The negative prompt of classifier-free guidance.
    public var negative: String = ""
    /// DetDiffusion prompts: boxes are discretised into this many bins per side (`<l0>` ... `<lN-1>`).
    public var locationBins: Int = 100

    public init() {}

    enum CodingKeys: String, CodingKey { case source, domain, suffix, negative, locationBins = "location_bins" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        try c.decodeIfPresent(.source, into: &source)
        try c.decodeIfPresent(.domain, into: &domain)
        try c.decodeIfPresent(.suffix, into: &suffix)
        try c.decodeIfPresent(.negative, into: &negative)
        try c.decodeIfPresent(.locationBins, into: &locationBins)
        guard (2...1000).contains(locationBins) else {
            throw DecodingError.dataCorruptedError(forKey: .locationBins, in: c, debugDescription: "location_bins is 2...1000 (default 100)")
        }
    }
}

/// Builds one variant's prompt from its reference item and a seeded generator.
public struct PromptBuilder: Sendable {
    public var config: PromptConfig
    /// Category id -> name.
    public var names: [Int: String]

    public init(config: PromptConfig, categories: [Category]) {
        self.config = config
        self.names = Dictionary(categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    }

    /// The prompt for `item` (its boxes already in the generated image's frame, `size` pixels square). The
    /// caption is chosen with one draw from `random` whenever captions are used.
    public func prompt(for item: DatasetItem, size: Int, random: inout SeededRandom) throws -> String {
        var text: String
        switch config.source {
        case .auto where !item.captions.isEmpty, .captions:
            guard !item.captions.isEmpty else {
                throw StageError(stage: "generate", message: "\(item.label) has no captions, but prompt.source is `captions`",
                                 hint: "give the source a captions file, or use `prompt: {source: auto}` (the template for images without captions)")
            }
            let index = Int(random.next() % UInt64(item.captions.count))
            text = item.captions[index].trimmingCharacters(in: .whitespacesAndNewlines)
        case .auto, .template:
            text = template(for: item)
        case .detdiffusion:
            text = detDiffusion(for: item, size: size)
        }
        if !config.suffix.isEmpty {
            while text.hasSuffix(".") { text.removeLast() }
            text += ", " + config.suffix
        }
        return text
    }

    /// "A photo, with person, dog in the photo." Class names once each, in order of first appearance.
    public func template(for item: DatasetItem) -> String {
        var seen = Set<Int>(), classes: [String] = []
        for a in item.annotations where seen.insert(a.categoryId).inserted {
            classes.append(names[a.categoryId] ?? "object")
        }
        let domain = config.domain
        return classes.isEmpty ? "A \(domain)." : "A \(domain), with \(classes.joined(separator: ", ")) in the \(domain)."
    }

    /// "An image with dog <l12> <l30> <l55> <l80> <easy>, cat ...".
    public func detDiffusion(for item: DatasetItem, size: Int) -> String {
        let bins = config.locationBins
        func bin(_ v: Double) -> Int { min(bins - 1, max(0, Int(v / Double(size) * Double(bins)))) }
        let objects = item.annotations.map { a -> String in
            let b = a.bbox
            let location = [b.x, b.y, b.maxX, b.maxY].map { "<l\(bin($0))>" }.joined(separator: " ")
            return "\(names[a.categoryId] ?? "object") \(location) <\(a.attribute ?? "unknown")>"
        }
        return "An image with " + objects.joined(separator: ", ")
    }
}
