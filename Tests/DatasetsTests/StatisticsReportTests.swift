import Foundation
import XCTest
@testable import Datasets
@testable import Statistics

final class StatisticsReportTests: XCTestCase {
    func testCSVRows() {
        XCTAssertEqual(StatisticsFixture.stats.csv(), """
            category_id,name,ref_instances,instances,ref_images,images,gain
            1,cat,2,3,2,2,1.5000
            2,dog,1,2,1,2,2.0000
            5,"fish, ""chips"" & <peas> | more",0,2,0,2,

            """)
    }

    func testMarkdownStartsWithTable1() throws {
        let md = StatisticsFixture.stats.markdown()
        XCTAssertTrue(md.hasPrefix("# Dataset statistics: Out\n\n## Table 1\n\n"))
        XCTAssertTrue(md.contains("""
            | Dataset | #Images | #Scale | #Instances | #Scale |
            | --- | ---: | ---: | ---: | ---: |
            | Ref | 2 | - | 3 | - |
            | Out | 3 | 1.5x | 8 | 2.7x |
            """), md)
        let order = ["## Table 1", "## Per category", "## Box sizes", "## Box dimensions", "## Checks", "## Attributes", "## Scores"]
        let positions = try order.map { try XCTUnwrap(md.range(of: $0)?.lowerBound, $0) }
        XCTAssertEqual(positions, positions.sorted())
        XCTAssertTrue(md.contains("| 1 | cat | 2 | 3 | 1.50x | 2 | 2 |"))
        XCTAssertTrue(md.contains("| 5 | fish, \"chips\" & &lt;peas> \\| more | 0 | 2 | - | 0 | 2 |"), "pipes escaped")
        XCTAssertTrue(md.contains("| small (area < 32²) | 1 | 33.3% | 5 | 62.5% |"))
        XCTAssertTrue(md.contains("| Out | width | 0.0 | 10.0 | 15.0 | 52.8 | 100.0 | 32.6 |"))
        XCTAssertTrue(md.contains("| Boxes outside their image (> 0.5 px) | 0 | 2 |"))
        XCTAssertTrue(md.contains("| hard | - | 1 |"))
        XCTAssertTrue(md.contains("| [0.9, 1.0] | - | 2 |"))
        XCTAssertTrue(md.contains("| mean | - | 0.575 |"))
    }

    func testMarkdownUsesThousandsSeparators() {
        var big = DetectionDataset(categories: [Category(id: 1, name: "a")])
        big.images = [ImageInfo(id: 1, fileName: "x", width: 10, height: 10)]
        big.annotations = (1...1234).map { Annotation(id: $0, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 1, height: 1)) }
        let s = DatasetStatistics(dataset: big, name: "Big")
        XCTAssertTrue(s.markdown().contains("| Big | 1 | - | 1,234 | - |"))
        XCTAssertTrue(s.csv().contains("1,a,,1234,,1,"), "no separators in CSV")
    }

    func testJSONRoundTripsWithSortedKeys() throws {
        let s = StatisticsFixture.stats
        let bytes = try s.json()
        XCTAssertEqual(try JSONDecoder().decode(DatasetStatistics.self, from: Data(bytes)), s)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.hasSuffix("}\n"))
        let keys = ["\"categories\"", "\"dataset\"", "\"name\"", "\"reference\"", "\"referenceName\"", "\"table\""]
        let positions = try keys.map { key in try XCTUnwrap(text.range(of: "\n  " + key)?.lowerBound, key) }
        XCTAssertEqual(positions, positions.sorted(), "top-level keys in sorted order")
        XCTAssertEqual(try StatisticsFixture.stats.json(), bytes, "same input, same bytes")
    }

    func testSVGIsWellFormedWithOneBarPerCategoryPerSeries() throws {
        let s = StatisticsFixture.stats
        let doc = try MiniXML.parse(s.svgChart())
        XCTAssertEqual(doc.root.name, "svg")
        let rects = doc.root.descendants(named: "rect")
        let referenceBars = rects.filter { $0.attribute("class") == "bar reference" }
        let datasetBars = rects.filter { $0.attribute("class") == "bar dataset" }
        XCTAssertEqual(referenceBars.count, 3)
        XCTAssertEqual(datasetBars.count, 3)
        XCTAssertEqual(referenceBars.map { $0.child("title")?.text },
                       ["cat (id 1), Ref: 2", "dog (id 2), Ref: 1", "fish, \"chips\" & <peas> | more (id 5), Ref: 0"])
        // Bar lengths are proportional to the counts: cat 2 vs 3, fish 0.
        let refWidths = referenceBars.compactMap { $0.attribute("width").flatMap(Double.init) }
        let outWidths = datasetBars.compactMap { $0.attribute("width").flatMap(Double.init) }
        XCTAssertEqual(refWidths[0] / outWidths[0], 2.0 / 3.0, accuracy: 0.01)
        XCTAssertEqual(refWidths[2], 0)
        XCTAssertNotEqual(referenceBars[0].attribute("fill"), datasetBars[0].attribute("fill"))
        // Legend names both series; category labels are present, escaped and parsed back.
        let texts = doc.root.descendants(named: "text").map(\.text)
        XCTAssertTrue(texts.contains("Ref"))
        XCTAssertTrue(texts.contains("Out"))
        XCTAssertTrue(texts.contains("cat"))
        // Names over 28 characters are shortened on the axis (the tooltip above has the full name).
        XCTAssertTrue(texts.contains("fish, \"chips\" & <peas> | mo…"), "\(texts)")
        // Axis 0...3 in steps of 1 (the largest count is 3), labelled above and below the bars.
        let ticks = doc.root.descendants(named: "g").first { $0.attribute("class") == "ticks" }
        XCTAssertEqual(ticks?.elements.map(\.text), ["0", "0", "1", "1", "2", "2", "3", "3"])
    }

    func testSVGSizesItselfForEightyCategories() throws {
        let categories = (1...80).map { Category(id: $0, name: "category number \($0)") }
        var reference = DetectionDataset(images: [ImageInfo(id: 1, fileName: "x", width: 100, height: 100)], categories: categories)
        reference.annotations = (1...80).flatMap { c in
            (0..<c).map { k in Annotation(id: c * 1000 + k, imageId: 1, categoryId: c, bbox: BoundingBox(x: 0, y: 0, width: 5, height: 5)) }
        }
        var output = reference
        output.annotations += reference.annotations.map { var a = $0; a.id += 500_000; return a }
        let s = DatasetStatistics(dataset: output, name: "Out", reference: reference, referenceName: "Ref")
        let svg = try MiniXML.parse(s.svgChart()).root
        let bars = svg.descendants(named: "rect").filter { $0.attribute("class")?.hasPrefix("bar ") == true }
        XCTAssertEqual(bars.count, 160)
        let height = try XCTUnwrap(svg.attribute("height").flatMap(Double.init))
        let lowestBar = bars.compactMap { b in
            Double(b.attribute("y") ?? "").flatMap { y in Double(b.attribute("height") ?? "").map { y + $0 } }
        }.max() ?? .infinity
        XCTAssertLessThan(lowestBar, height, "every bar is inside the picture")
        XCTAssertGreaterThan(height, 80 * 17, "at least 17 px per category")
        // Bars never overlap: each starts below the previous one's end.
        let tops = bars.compactMap { Double($0.attribute("y") ?? "") }
        XCTAssertTrue(zip(tops, tops.dropFirst()).allSatisfy { $1 - $0 >= 8 })
    }

    func testWriteCreatesFourDeterministicFiles() throws {
        let dir = try VOCFixture.scratchDirectory().appendingPathComponent("report")
        let s = StatisticsFixture.stats
        try s.write(to: dir)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(names, ["stats.csv", "stats.json", "stats.md", "stats.svg"])
        let first = try names.map { try Data(contentsOf: dir.appendingPathComponent($0)) }
        XCTAssertEqual(String(decoding: first[0], as: UTF8.self), s.csv())
        XCTAssertEqual(String(decoding: first[2], as: UTF8.self), s.markdown())
        try StatisticsFixture.stats.write(to: dir)
        let second = try names.map { try Data(contentsOf: dir.appendingPathComponent($0)) }
        XCTAssertEqual(first, second)
    }

    func testStatisticsOfTheVOCFixture() throws {
        let voc = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/trainval"])
        let s = DatasetStatistics(dataset: voc, name: "VOC fixture")
        XCTAssertEqual(s.tableCells(), [["VOC fixture", "3", "-", "5", "-"]])
        XCTAssertEqual(s.categories.count, 20)
        XCTAssertEqual(s.categories.filter { $0.instances > 0 }.map(\.name), ["car", "dog", "person", "sofa", "train"])
        XCTAssertEqual(s.dataset.difficult, 1)
        XCTAssertEqual(s.dataset.boxesOutsideImage, 0, "the reader clipped the car")
    }
}
