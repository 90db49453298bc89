import Foundation
import XCTest
@testable import Diffusion

/// Tokenising 10,000 COCO-style captions. The bound here is loose (debug builds, shared CI cores); the release
/// number is what counts (well under a second: see the commit that added this file).
final class CLIPTokenizerPerformanceTests: XCTestCase {
    static func captions(count: Int) -> [String] {
        let subjects = ["A man", "A woman", "Two kids", "A small dog", "An old man", "A group of people", "A cat",
                        "The chef", "A young girl", "Three horses", "A teenager", "Several zebras", "A baseball player"]
        let verbs = ["standing next to", "sitting on", "holding", "looking at", "walking past", "riding", "playing with",
                     "leaning against", "carrying", "reaching for", "eating", "cutting"]
        let objects = ["a red bicycle", "an umbrella", "a wooden bench", "a surfboard", "a slice of pizza", "a laptop",
                       "a fire hydrant", "a stop sign", "a teddy bear", "a tennis racket", "a double decker bus",
                       "a plate of broccoli", "a kite", "a traffic light", "a refrigerator", "a skateboard"]
        let places = ["in a park", "on a busy street", "in the kitchen", "at the beach", "near a river",
                      "in a living room", "under a tree", "on a snowy mountain", "inside a train station", "at night"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        return (0..<count).map { i in
            var s = "\(subjects[next(subjects.count)]) \(verbs[next(verbs.count)]) \(objects[next(objects.count)]) \(places[next(places.count)])"
            if i % 3 == 0 { s += "." }
            if i % 7 == 0 { s = s.lowercased() }
            if i % 11 == 0 { s += ", with \(objects[next(objects.count)]) and \(objects[next(objects.count)])." }
            return s
        }
    }

    func testTenThousandCaptions() throws {
        let folder = try TokenizerFixtures.makeFolder(config: "sd1")
        let captions = Self.captions(count: 10_000)
        let loadStart = Date()
        let tok = try CLIPTokenizer(folder: folder)
        let load = Date().timeIntervalSince(loadStart)

        var total = 0
        let cold = Date()
        for c in captions { total += tok(c).ids.count }
        let coldTime = Date().timeIntervalSince(cold)
        let warm = Date()
        for c in captions { total += tok.encode(c).count }
        let warmTime = Date().timeIntervalSince(warm)
        XCTAssertEqual(total % 77, (total - 77 * 10_000) % 77)
        print(String(format: "CLIPTokenizer: load %.3f s; 10,000 captions padded (cold cache) %.3f s, encode (warm) %.3f s", load, coldTime, warmTime))
        #if DEBUG
        XCTAssertLessThan(coldTime, 60)
        #else
        XCTAssertLessThan(coldTime, 1)
        #endif
    }
}
