import Foundation
import Testing

@testable import MediaKit
@testable import Processor

/// The storyboard's arithmetic: how many thumbnails, which frames, where they sit in the sheet and
/// the WebVTT that points at them (issue 17 item 4: the cues cover the whole duration and every
/// `#xywh` lies inside the sheet). The pixels themselves are checked end to end in
/// Tests/interop/test_video.py.
@Suite("Storyboard layout, frame choice and WebVTT")
struct StoryboardTests {
    struct Cue: Equatable {
        var start: Int
        var end: Int
        var file: String
        var x, y, w, h: Int
    }

    /// A strict reader of what `vtt` writes: header, blank line, `HH:MM:SS.mmm --> HH:MM:SS.mmm`, payload.
    static func parse(_ text: String) throws -> [Cue] {
        let blocks = text.components(separatedBy: "\n\n")
        #expect(blocks.first == "WEBVTT")
        #expect(text.hasSuffix("\n") && !text.hasSuffix("\n\n"))
        return try blocks.dropFirst().map { block in
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
            try #require(lines.count == 2, "a cue is a timing line and a payload: \(block)")
            let times = lines[0].components(separatedBy: " --> ")
            try #require(times.count == 2)
            let payload = lines[1].components(separatedBy: "#xywh=")
            try #require(payload.count == 2)
            let numbers = payload[1].split(separator: ",").compactMap { Int($0) }
            try #require(numbers.count == 4)
            return Cue(start: try milliseconds(times[0]), end: try milliseconds(times[1]), file: payload[0], x: numbers[0], y: numbers[1], w: numbers[2], h: numbers[3])
        }
    }

    static func milliseconds(_ text: String) throws -> Int {
        let pattern = /^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$/
        let match = try #require(text.wholeMatch(of: pattern), "not HH:MM:SS.mmm: \(text)")
        return ((Int(match.1)! * 60 + Int(match.2)!) * 60 + Int(match.3)!) * 1000 + Int(match.4)!
    }

    /// Every acceptance property of one storyboard.
    static func check(count: Int, columns: Int, tile: (Int, Int), interval: Double, duration: Double) throws {
        let layout = StoryboardLayout(count: count, columns: columns, tileWidth: tile.0, tileHeight: tile.1)
        let cues = try parse(layout.vtt(interval: interval, duration: duration, sheet: "storyboard.webp"))
        #expect(cues.count == count)
        #expect(cues.first?.start == 0)
        #expect(cues.last?.end == max(Int((duration * 1000).rounded()), cues.last!.start + 1))
        for (index, cue) in cues.enumerated() {
            #expect(cue.end > cue.start, "cue \(index) is empty")
            if index > 0 { #expect(cue.start == cues[index - 1].end, "gap or overlap before cue \(index)") }
            #expect(cue.file == "storyboard.webp")
            #expect(cue.x >= 0 && cue.y >= 0 && cue.w == tile.0 && cue.h == tile.1)
            #expect(cue.x + cue.w <= layout.sheetWidth && cue.y + cue.h <= layout.sheetHeight, "cue \(index) outside the sheet")
        }
        // Regions are distinct, row by row, and the sheet has no empty row.
        #expect(Set(cues.map { "\($0.x),\($0.y)" }).count == count)
        #expect(layout.rows == (count + layout.columns - 1) / layout.columns && (layout.rows - 1) * layout.columns < count)
    }

    @Test("cues cover [0, duration] without gaps and every region lies inside the sheet")
    func coverage() throws {
        try Self.check(count: 5, columns: 10, tile: (160, 90), interval: 2, duration: 10)
        try Self.check(count: 3, columns: 10, tile: (160, 90), interval: 5.312 / 3, duration: 5.312)
        try Self.check(count: 100, columns: 10, tile: (90, 160), interval: 36, duration: 3600)
        try Self.check(count: 23, columns: 10, tile: (160, 120), interval: 1.9, duration: 44.01)  // a short last row
        try Self.check(count: 7, columns: 3, tile: (160, 68), interval: 0.333_333_333, duration: 2.2)
        try Self.check(count: 1, columns: 10, tile: (64, 64), interval: 0.04, duration: 0.04)
        try Self.check(count: 1, columns: 10, tile: (64, 64), interval: 0.04, duration: 0)  // a duration-less single frame: still one cue
        // A video that ran longer than its header said: the last cue stretches to the real end.
        try Self.check(count: 4, columns: 10, tile: (160, 90), interval: 2, duration: 9.5)
    }

    @Test("timestamps are HH:MM:SS.mmm and cue boundaries are rounded once")
    func timestamps() {
        #expect(StoryboardLayout.timestamp(milliseconds: 0) == "00:00:00.000")
        #expect(StoryboardLayout.timestamp(milliseconds: 1_771) == "00:00:01.771")
        #expect(StoryboardLayout.timestamp(milliseconds: 3_723_004) == "01:02:03.004")
        #expect(StoryboardLayout.timestamp(milliseconds: 14_400_000) == "04:00:00.000")
        #expect(StoryboardLayout.timestamp(milliseconds: 360_000_000) == "100:00:00.000")
        let layout = StoryboardLayout(count: 3, columns: 10, tileWidth: 160, tileHeight: 90)
        #expect(layout.boundaries(interval: 5.312 / 3, duration: 5.312) == [0, 1771, 3541, 5312])
        #expect(layout.sheetWidth == 480 && layout.sheetHeight == 90)
        #expect(
            layout.vtt(interval: 2, duration: 5, sheet: "s.webp")
                == "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\ns.webp#xywh=0,0,160,90\n\n00:00:02.000 --> 00:00:04.000\ns.webp#xywh=160,0,160,90\n\n00:00:04.000 --> 00:00:05.000\ns.webp#xywh=320,0,160,90\n", "the whole file")
    }

    @Test("the count comes from the duration: one per everySeconds, capped, evenly spaced")
    func count() {
        let every = 2.0
        #expect(StoryboardCollector.count(duration: 10, every: every, maxCount: 100) == 5)
        #expect(StoryboardCollector.count(duration: 5.312, every: every, maxCount: 100) == 3)
        #expect(StoryboardCollector.count(duration: 0.04, every: every, maxCount: 100) == 1)
        #expect(StoryboardCollector.count(duration: 200, every: every, maxCount: 100) == 100)
        #expect(StoryboardCollector.count(duration: 3600, every: every, maxCount: 100) == 100)
        #expect(StoryboardCollector.interval(duration: 3600, every: every, maxCount: 100) == 36)
        #expect(StoryboardCollector.interval(duration: 10, every: every, maxCount: 100) == 2)
        #expect(StoryboardCollector.interval(duration: nil, every: every, maxCount: 100) == 2)
        #expect(StoryboardCollector.interval(duration: .infinity, every: every, maxCount: 100) == 2)
    }

    /// Feeds frames at `times`; each thumbnail is a 1×1 picture whose red value is the frame's index.
    static func collect(_ times: [Double], duration: Double?, every: Double = 2, maxCount: Int = 100) -> (StoryboardCollector, [Int]) {
        var collector = StoryboardCollector(settings: .init(everySeconds: every, maxCount: maxCount), plannedDuration: duration)
        for (index, time) in times.enumerated() {
            let slots = collector.slots(at: time)
            if slots > 0 { collector.add(Pixels(width: 1, height: 1, channels: 3, bytes: [UInt8(index % 256), 0, 0]), slots: slots) }
            #expect(collector.thumbnails.count <= maxCount)
        }
        return (collector, collector.thumbnails.map { Int($0.bytes[0]) })
    }

    @Test("the first frame at or after each slot's start, from one pass over the frames")
    func frameChoice() {
        let frames = (0..<250).map { Double($0) / 25 }  // 10 s at 25 fps
        let (collector, picked) = Self.collect(frames, duration: 10)
        #expect(collector.interval == 2)
        #expect(picked == [0, 50, 100, 150, 200])
        // Sparse frames (a slideshow): one frame fills every slot it passes.
        let (sparse, sparsePicked) = Self.collect([0, 5, 9.9], duration: 10)
        #expect(sparse.thumbnails.count == 5 && sparsePicked == [0, 1, 1, 2, 2])
    }

    @Test("an unknown duration is collected at everySeconds and thinned to stay under the cap, evenly spaced")
    func unknownDuration() {
        let frames = (0..<(30 * 25)).map { Double($0) / 25 }  // 30 s at 25 fps
        let (collector, picked) = Self.collect(frames, duration: nil, every: 1, maxCount: 8)
        // 30 slots at 1 s would pass 8: thinned to 2 s (15), then 4 s (8 slots: 0…28 s).
        #expect(collector.interval == 4)
        #expect(picked == stride(from: 0, through: 28 * 25, by: 4 * 25).map { $0 % 256 })
        let layout = StoryboardLayout(count: collector.thumbnails.count, columns: 10, tileWidth: 160, tileHeight: 90)
        let bounds = layout.boundaries(interval: collector.interval, duration: 30)
        #expect(bounds == [0, 4000, 8000, 12000, 16000, 20000, 24000, 28000, 30000])
        // A header that said 10 s for a 30 s video: same rule, the cap holds.
        let (longer, _) = Self.collect(frames, duration: 10, every: 2, maxCount: 5)
        #expect(longer.thumbnails.count <= 5 && longer.interval == 8)
    }

    @Test("thumbnails fit the box at the display aspect, never enlarged")
    func tileSize() {
        #expect(Storyboard.tileSize(width: 1920, height: 1080, sampleAspect: 1, size: 160) == (160, 90))
        #expect(Storyboard.tileSize(width: 1080, height: 1920, sampleAspect: 1, size: 160) == (90, 160))
        #expect(Storyboard.tileSize(width: 720, height: 576, sampleAspect: 64.0 / 45.0, size: 160) == (160, 90))  // PAL 16:9
        #expect(Storyboard.tileSize(width: 64, height: 64, sampleAspect: 1, size: 160) == (64, 64))
        #expect(Storyboard.tileSize(width: 2, height: 1920, sampleAspect: 1, size: 160) == (1, 160))
        #expect(Storyboard.tileSize(width: 1920, height: 1080, sampleAspect: 0, size: 160) == (160, 90))  // unknown aspect: square pixels
    }

    @Test("the sheet puts each thumbnail's pixels in its region")
    func sheet() {
        let thumbnails = (0..<3).map { index in
            Pixels(width: 2, height: 2, channels: 3, bytes: [UInt8](repeating: UInt8(10 * (index + 1)), count: 12))
        }
        let storyboard = Storyboard(thumbnails: thumbnails, interval: 1, duration: 3, tileWidth: 2, tileHeight: 2, columns: 2)
        let sheet = storyboard.sheet()
        #expect(sheet.width == 4 && sheet.height == 4)
        func red(_ x: Int, _ y: Int) -> UInt8 { sheet.bytes[(y * sheet.width + x) * 3] }
        #expect([red(0, 0), red(1, 1), red(2, 0), red(3, 1), red(0, 2), red(1, 3), red(2, 2), red(3, 3)] == [10, 10, 20, 20, 30, 30, 0, 0])
    }

    @Test("profile: on by default, null or enabled false turns it off, nonsense is refused")
    func profile() throws {
        #expect(ProcessingProfile().video.storyboard == .init(enabled: true, everySeconds: 2, maxCount: 100, thumbnailSize: 160, columns: 10, quality: 75))
        func load(_ yaml: String) throws -> ProcessingProfile {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID().uuidString).yaml").path
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            return try ProcessingProfile.load(path: path)
        }
        #expect(try load("video:\n  threads: 1\n").video.storyboard.enabled)
        #expect(try load("video:\n  storyboard: null\n").video.storyboard.enabled == false)
        #expect(try load("video:\n  storyboard:\n    enabled: false\n").video.storyboard.enabled == false)
        #expect(try load("video:\n  storyboard:\n    maxCount: 50\n").video.storyboard == .init(maxCount: 50))
        for bad in ["everySeconds: 0", "everySeconds: -1", "maxCount: 0", "maxCount: 5000", "thumbnailSize: 8", "columns: 0", "quality: 101",
            "thumbnailSize: 1024\n    columns: 20", "maxCount: 1000\n    thumbnailSize: 160"]
        {
            #expect(throws: ProcessingProfile.Invalid.self, "\(bad)") { try load("video:\n  storyboard:\n    \(bad)\n") }
        }
        // What the daemon hands its isolated child survives the JSON round trip (off stays off).
        let off = VideoProfile(storyboard: .off)
        #expect(try JSONDecoder().decode(VideoProfile.self, from: JSONEncoder().encode(off)) == off)
    }
}
