import Foundation
import MediaKit
import Testing

@testable import Processor

/// The HLS ladder's profile section (`video.hls`) and its rung policy: which sizes a source gets and
/// at what frame rate.
@Suite("HLS ladder profile and rungs")
struct HLSProfileTests {
    typealias HLS = VideoProfile.HLS

    private func load(_ yaml: String) throws -> ProcessingProfile {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("profile-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ProcessingProfile.load(path: path)
    }

    @Test("off by default; enabled alone takes the standard rungs, 4 s segments; null is off; a partial rung list replaces the rungs")
    func decoding() throws {
        #expect(ProcessingProfile().video.hls == .off)
        #expect(ProcessingProfile().video.hls.enabled == false)
        #expect(try load("video:\n  threads: 1\n").video.hls == .off)
        #expect(try load("video:\n  hls: null\n").video.hls == .off)
        let on = try load("video:\n  hls:\n    enabled: true\n").video.hls
        #expect(on.enabled && on.segmentSeconds == 4 && on.preset == "veryfast" && on.rungs == HLS.standardRungs)
        #expect(on.rungs.map(\.maxHeight) == [1080, 720, 480, 360])
        let custom = try load(
            "video:\n  hls:\n    enabled: true\n    segmentSeconds: 2\n    rungs:\n      - { maxWidth: 1280, maxHeight: 720, crf: 22, maxBitRate: null }\n      - { maxWidth: 640, maxHeight: 360, crf: 26, maxBitRate: 700000 }\n"
        ).video.hls
        #expect(custom.segmentSeconds == 2)
        #expect(custom.rungs == [.init(maxWidth: 1280, maxHeight: 720, crf: 22, maxBitRate: nil), .init(maxWidth: 640, maxHeight: 360, crf: 26, maxBitRate: 700_000)])
        // What the daemon hands its isolated child survives the JSON round trip.
        let profile = VideoProfile(hls: custom)
        #expect(try JSONDecoder().decode(VideoProfile.self, from: JSONEncoder().encode(profile)) == profile)
    }

    @Test("nonsense is refused with the key that is wrong")
    func validation() throws {
        let one = "      - { maxWidth: 1280, maxHeight: 720, crf: 23 }\n"
        let two = one + "      - { maxWidth: 640, maxHeight: 360, crf: 23 }\n"
        for bad in [
            "segmentSeconds: 0", "segmentSeconds: 0.5", "segmentSeconds: 61", "preset: warp", "rungs: []", "rungs:\n" + one,
            "rungs:\n" + two + two.replacingOccurrences(of: "640", with: "320") + "      - { maxWidth: 160, maxHeight: 90, crf: 23 }\n",
            "rungs:\n" + one + "      - { maxWidth: 8, maxHeight: 8, crf: 23 }\n", "rungs:\n" + one + "      - { maxWidth: 640, maxHeight: 360, crf: 60 }\n",
            "rungs:\n" + one + "      - { maxWidth: 640, maxHeight: 360, crf: 23, maxBitRate: 10 }\n",
            "rungs:\n" + one + "      - { maxWidth: 720, maxHeight: 1280, crf: 20 }\n",  // the same box, turned
        ] {
            #expect(throws: ProcessingProfile.Invalid.self, "\(bad)") { try load("video:\n  hls:\n    enabled: true\n    \(bad)\n") }
        }
        #expect(HLS(rungs: [HLS.standardRungs[0]]).problem == "video.hls.rungs must list 2…4 rungs")
        #expect(HLS().problem == nil)
    }

    private func sizes(_ hls: HLS, _ width: Int, _ height: Int) -> [String] {
        hls.plan(width: width, height: height).map { "\($0.width)x\($0.height)" }
    }

    @Test("rungs: the boxes the source fills, never enlarged, a box the source fits in gives the source size once")
    func rungSizes() {
        let hls = HLS(enabled: true)
        #expect(sizes(hls, 1920, 1080) == ["1920x1080", "1280x720", "852x480", "640x360"])
        #expect(sizes(hls, 3840, 2160) == ["1920x1080", "1280x720", "852x480", "640x360"])
        #expect(sizes(hls, 1280, 720) == ["1280x720", "852x480", "640x360"])
        // Between two boxes: the source's own size on top (with the settings of the 720p box it fits in).
        #expect(sizes(hls, 1000, 562) == ["1000x562", "854x480", "640x360"])
        // Portrait (a phone's 9:16): the boxes are orientation-free.
        #expect(sizes(hls, 1080, 1920) == ["1080x1920", "720x1280", "480x852", "360x640"])
        // Not 16:9: each box fits the long or short side, whichever binds.
        #expect(sizes(hls, 1440, 1080) == ["1440x1080", "960x720", "640x480", "480x360"])
        // Odd sizes round down to even.
        #expect(sizes(hls, 1279, 719) == ["1278x718", "854x480", "640x360"])
    }

    @Test("rungs: a source at or under the smallest box gets its own size and half of it")
    func tinySources() {
        let hls = HLS(enabled: true)
        #expect(sizes(hls, 640, 360) == ["640x360", "320x180"])
        #expect(sizes(hls, 320, 240) == ["320x240", "160x120"])
        #expect(sizes(hls, 64, 48) == ["64x48", "32x24"])
        #expect(sizes(hls, 2, 2).count == 2)
        let planned = hls.plan(width: 320, height: 240)
        #expect(planned.allSatisfy { $0.crf == 23 && $0.maxBitRate == 800_000 })  // the smallest box's settings
    }

    @Test("rungs: a size that two boxes give is kept once, with the settings of the smallest box that gave it")
    func settingsOfDuplicates() {
        let hls = HLS(enabled: true)
        let planned = hls.plan(width: 1280, height: 720)
        #expect(planned.map(\.maxBitRate) == [3_000_000, 1_500_000, 800_000])
        let twoBoxes = HLS(
            enabled: true,
            rungs: [.init(maxWidth: 640, maxHeight: 360, crf: 28, maxBitRate: nil), .init(maxWidth: 1920, maxHeight: 1080, crf: 21, maxBitRate: 5_000_000)])
        #expect(twoBoxes.plan(width: 1920, height: 1080) == [
            .init(width: 1920, height: 1080, crf: 21, maxBitRate: 5_000_000), .init(width: 640, height: 360, crf: 28, maxBitRate: nil),
        ])
        // Never more rungs than boxes, never more than four.
        #expect(HLS(enabled: true).plan(width: 7680, height: 4320).count == 4)
    }

    @Test("frame rate: the source's, never more; above the cap, what dropping every k-th frame leaves")
    func frameRates() {
        #expect(HLS.frameRate(source: 30, maxFrameRate: 60) == 30)
        #expect(HLS.frameRate(source: 24000.0 / 1001, maxFrameRate: 60) == 24000.0 / 1001)
        #expect(HLS.frameRate(source: 60, maxFrameRate: 60) == 60)
        #expect(HLS.frameRate(source: 120, maxFrameRate: 60) == 60)
        #expect(HLS.frameRate(source: 60, maxFrameRate: 30) == 30)
        #expect(HLS.frameRate(source: 50, maxFrameRate: 30) == 25)
        #expect(HLS.frameRate(source: 240, maxFrameRate: 60) == 60)
        #expect(HLS.frameRate(source: nil, maxFrameRate: 60) == nil)
        #expect(HLS.frameRate(source: 0, maxFrameRate: 60) == nil)
    }
}
