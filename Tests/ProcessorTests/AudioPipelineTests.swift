import Foundation
import Testing

@testable import MediaKit
@testable import Processor

/// Audio-only uploads (issue 17 item 6): the waveform's columns in bounded memory, its picture, the
/// profile section, and the pipeline on WAV files written here (a sine, then silence). The other
/// formats (M4A, MP3, Ogg/Opus, FLAC, an audio-only MP4) go through the real daemons in
/// Tests/interop/test_audio.py.
@Suite("Audio pipeline and waveform")
struct AudioPipelineTests {
    /// `seconds` of a 440 Hz sine at `amplitude`, then `silence` seconds of zeros, as 16-bit PCM.
    static func samples(seconds: Double, silence: Double, rate: Int, amplitude: Double = 0.8) -> [Int16] {
        let loud = Int(seconds * Double(rate))
        let quiet = Int(silence * Double(rate))
        return (0..<loud).map { Int16(amplitude * 32767 * sin(2 * Double.pi * 440 * Double($0) / Double(rate))) } + Array(repeating: 0, count: quiet)
    }

    /// A canonical RIFF/WAVE file of mono 16-bit PCM.
    static func wav(_ samples: [Int16], rate: Int) -> Data {
        var data = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8))
        u32(36 + samples.count * 2)
        data.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16)
        u16(1)  // PCM
        u16(1)  // mono
        u32(rate)
        u32(rate * 2)
        u16(2)
        u16(16)
        data.append(contentsOf: Array("data".utf8))
        u32(samples.count * 2)
        for sample in samples { withUnsafeBytes(of: sample.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func temporaryDirectory() throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("audio-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Opaque rows of column `x` of an RGBA picture.
    static func opaqueRows(_ pixels: Pixels, x: Int) -> Int {
        (0..<pixels.height).filter { pixels.bytes[($0 * pixels.width + x) * 4 + 3] == 255 }.count
    }

    /// Rows with any alpha in column `x`.
    static func paintedRows(_ pixels: Pixels, x: Int) -> Int {
        (0..<pixels.height).filter { pixels.bytes[($0 * pixels.width + x) * 4 + 3] > 0 }.count
    }

    static func feed(_ waveform: inout Waveform, _ samples: [Int16]) {
        for sample in samples { waveform.add(Float(sample) / 32768) }
    }

    @Test("a sine then silence: tall columns for the first half, a flat line for the second")
    func sineThenSilence() {
        var waveform = Waveform(width: 200, expectedSamples: 48_000 * 2)
        Self.feed(&waveform, Self.samples(seconds: 1, silence: 1, rate: 48_000))
        let columns = waveform.finalColumns()
        #expect(columns.count == 200)
        for column in columns[..<95] {
            #expect(column.high > 0.75 && column.low < -0.75, "\(column)")
            #expect(abs(column.rms - Float(0.8 / 2.0.squareRoot())) < 0.02, "\(column.rms)")
        }
        for column in columns[105...] { #expect(column.high == 0 && column.low == 0 && column.rms == 0) }
        let picture = waveform.render(height: 100, rgba: [10, 20, 30, 255])
        #expect(picture.width == 200 && picture.height == 100 && picture.channels == 4)
        for x in 0..<95 { #expect(Self.paintedRows(picture, x: x) > 70) }
        for x in 105..<200 {
            #expect(Self.paintedRows(picture, x: x) == 1, "silence is the middle row alone")
            #expect(Self.opaqueRows(picture, x: x) == 1)
        }
        // One colour: every painted pixel is (10, 20, 30), at full or half alpha.
        for index in stride(from: 0, to: picture.bytes.count, by: 4) where picture.bytes[index + 3] > 0 {
            #expect(Array(picture.bytes[index..<index + 3]) == [10, 20, 30])
            #expect(picture.bytes[index + 3] == 255 || picture.bytes[index + 3] == 127)
        }
    }

    @Test("unknown length: columns merge in pairs, never more than the width, and still cover everything in order")
    func unknownLength() {
        var waveform = Waveform(width: 64, expectedSamples: nil)
        let samples = Self.samples(seconds: 3, silence: 1, rate: 8_000)
        for (index, sample) in samples.enumerated() {
            waveform.add(Float(sample) / 32768)
            if index % 997 == 0 { #expect(waveform.columns.count <= 64) }
        }
        #expect(waveform.samples == samples.count)
        #expect(waveform.samplesPerColumn > 256, "the span grew as samples came")
        let columns = waveform.finalColumns()
        #expect(columns.count == 64)
        // Every sample is in a closed column once, but for the part-filled last one.
        let closed = waveform.columns.map(\.count).reduce(0, +)
        #expect(closed <= samples.count && samples.count - closed < waveform.samplesPerColumn, "\(closed) of \(samples.count)")
        // Three quarters loud, the last quarter silent (one column of slack at the boundary).
        #expect(columns[..<47].allSatisfy { $0.high > 0.7 })
        #expect(columns[49...].allSatisfy { $0.high == 0 })
    }

    @Test("a duration that overstates the length: the columns there are stretched over the width")
    func overstatedLength() {
        var waveform = Waveform(width: 100, expectedSamples: 10_000)
        Self.feed(&waveform, Self.samples(seconds: 0.25, silence: 0.25, rate: 10_000))  // half the planned samples
        let columns = waveform.finalColumns()
        #expect(columns.count == 100)
        #expect(columns[..<48].allSatisfy { $0.high > 0.7 })
        #expect(columns[52...].allSatisfy { $0.high == 0 })
        #expect(Waveform(width: 100, expectedSamples: nil).finalColumns().allSatisfy { $0.count == 0 }, "no samples: a flat line")
    }

    @Test("the profile section: defaults as profiles/default.json has them, and bad values refused")
    func profile() throws {
        let defaults = AudioProfile()
        #expect(defaults == ProcessingProfile().audio)
        #expect(defaults.encoding == VideoProfile.Audio(bitRate: 128_000, sampleRate: 48_000, channels: 2))
        #expect(defaults.waveform == .init(width: 1024, height: 160, color: "#3B82F6"))
        #expect(defaults.waveform.rgba == [0x3B, 0x82, 0xF6, 255])
        let partial = try JSONDecoder().decode(AudioProfile.self, from: Data(##"{"bitRate": 96000, "waveform": {"height": 64, "color": "#ff000080"}}"##.utf8))
        #expect(partial.bitRate == 96_000 && partial.sampleRate == 48_000 && partial.waveform.width == 1024 && partial.waveform.height == 64)
        #expect(partial.waveform.rgba == [255, 0, 0, 128])
        for bad in [#"{"sampleRate": 12345}"#, #"{"channels": 0}"#, #"{"waveform": {"width": 4}}"#, #"{"waveform": {"color": "blue"}}"#] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONDecoder().decode(AudioProfile.self, from: Data(bad.utf8)) }
        }
    }

    @Test("a WAV becomes an AAC M4A of the same length and a waveform PNG of the configured size")
    func wavThroughThePipeline() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = (directory as NSString).appendingPathComponent("tone.wav")
        try Self.wav(Self.samples(seconds: 1, silence: 1, rate: 44_100), rate: 44_100).write(to: URL(fileURLWithPath: input))
        let out = (directory as NSString).appendingPathComponent("out")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let profile = AudioProfile(waveform: .init(width: 300, height: 80, color: "#112233"))
        let result = try await AudioPipeline.process(inputPath: input, workDirectory: out, profile: profile, limits: MediaLimits())
        #expect(result.outputs.map(\.name) == ["audio.m4a", "waveform.png"])
        #expect(result.outputs.map(\.contentType) == ["audio/mp4", "image/png"])
        var info = result.info
        #expect(abs(Double(info.bitRate ?? 0) - 705_600) < 2_000, "the file's bit rate (header included): \(info)")
        info.bitRate = nil
        #expect(info == AudioInfo(container: "wav", durationSeconds: 2, codec: "pcm_s16le", channels: 1, sampleRate: 44_100, bitRate: nil))
        let m4a = try #require(FileManager.default.contents(atPath: result.outputs[0].path))
        #expect(m4a.count == result.outputs[0].bytes)
        #expect(Array(m4a[4..<12]) == Array("ftypM4A ".utf8), "an M4A")
        let duration = try #require(result.outputs[0].durationSeconds)
        #expect(abs(duration - 2) < 0.05, "\(duration)")
        // Fast start: the top-level `moov` box comes before `mdat`.
        var order: [String] = []
        var offset = 0
        while offset + 8 <= m4a.count {
            let size = m4a[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            order.append(String(decoding: m4a[offset + 4..<offset + 8], as: UTF8.self))
            guard size >= 8 else { break }
            offset += size
        }
        #expect(order.firstIndex(of: "moov")! < order.firstIndex(of: "mdat")!, "\(order)")
        let png = try #require(FileManager.default.contents(atPath: result.outputs[1].path))
        let picture = try PNGCodec.decode([UInt8](png))
        #expect((picture.width, picture.height) == (300, 80))
        #expect((result.outputs[1].width, result.outputs[1].height) == (300, 80))
        for x in 5..<140 { #expect(Self.paintedRows(picture, x: x) > 35, "column \(x)") }  // 0.8 × 0.71 (mono to stereo at -3 dB): ~45 rows
        for x in 160..<295 { #expect(Self.paintedRows(picture, x: x) == 1, "column \(x)") }
        #expect(picture.bytes[3] == 0, "a transparent background")
    }

    @Test("a WAV header with no samples, and garbage behind an Ogg page header, fail as corrupt, not a crash")
    func damaged() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let full = Self.wav(Self.samples(seconds: 0.5, silence: 0, rate: 8_000), rate: 8_000)
        var ogg = Data("OggS".utf8) + Data([0, 2] + Array(repeating: 0, count: 20) + [1, 19]) + Data("OpusHead".utf8)
        ogg.append(Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        for (name, content) in [("header-only.wav", full.prefix(44)), ("garbage.ogg", ogg)] {
            let input = (directory as NSString).appendingPathComponent(name)
            try content.write(to: URL(fileURLWithPath: input))
            let out = (directory as NSString).appendingPathComponent("out-\(name)")
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            await #expect(throws: MediaError.self, "\(name)") {
                do {
                    _ = try await AudioPipeline.process(inputPath: input, workDirectory: out, profile: AudioProfile(), limits: MediaLimits())
                } catch let error as MediaError {
                    #expect(error.code == .corrupt, "\(name): \(error)")
                    throw error
                }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty, "\(name): no partial outputs")
        }
    }
}
