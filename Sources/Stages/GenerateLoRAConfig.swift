import Foundation
import Pipeline

/// One entry of a generate stage's `lora:` list: a LoRA file (diffusers' or kohya's layout, safetensors) fused into
/// the model's UNet and text encoder at load, at `scale` (diffusers' `fuse_lora(lora_scale=)`).
public struct GenerateLoRAConfig: Codable, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var scale: Double = 1

    public init(path: String, scale: Double = 1) {
        self.path = path
        self.scale = scale
    }

    enum CodingKeys: String, CodingKey { case path, scale }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        try c.decodeIfPresent(.scale, into: &scale)
        guard scale.isFinite, abs(scale) <= 10 else {
            throw DecodingError.dataCorruptedError(forKey: .scale, in: c, debugDescription: "scale is a finite number, at most 10 in size (1: the LoRA as trained)")
        }
    }

    /// `path:scale`, as `generate --lora` takes it.
    public var description: String { "\(path):\(scale)" }

    /// `PATH` or `PATH:SCALE` (a path may itself hold colons; the last one separates a number).
    public init?(argument: String) {
        if let colon = argument.lastIndex(of: ":"), let scale = Double(argument[argument.index(after: colon)...]), scale.isFinite {
            self.init(path: String(argument[..<colon]), scale: scale)
        } else if !argument.isEmpty {
            self.init(path: argument)
        } else {
            return nil
        }
    }
}
