/// How audio-only uploads are processed (the `audio` section of the processing profile file): an
/// AAC-LC M4A (`audio.m4a`, fast start) and a waveform picture (`waveform.png`). A section of its
/// own rather than `video.audio`, so an audio upload's bit rate and the waveform's size can be set
/// without touching videos; its defaults are `video.audio`'s (128 kbit/s, 48 kHz, stereo). Missing
/// keys keep their defaults, so a profile names only what it changes.
public struct AudioProfile: Codable, Sendable, Equatable {
    /// The waveform picture: per column, the peak (min…max, the colour at half opacity) and the RMS
    /// level (the colour, opaque) of a mono mix, on a transparent background; silence is a
    /// one-pixel line through the middle.
    public struct Waveform: Codable, Sendable, Equatable {
        public var width: Int
        public var height: Int
        /// `#RRGGBB` or `#RRGGBBAA`.
        public var color: String

        public init(width: Int = 1024, height: Int = 160, color: String = "#3B82F6") {
            self.width = width
            self.height = height
            self.color = color
        }

        enum CodingKeys: String, CodingKey { case width, height, color }

        public init(from decoder: any Decoder) throws {
            let d = Waveform()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            width = try c.decodeIfPresent(Int.self, forKey: .width) ?? d.width
            height = try c.decodeIfPresent(Int.self, forKey: .height) ?? d.height
            color = try c.decodeIfPresent(String.self, forKey: .color) ?? d.color
            if let problem {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: problem))
            }
        }

        /// Why the values cannot be used, if they cannot.
        public var problem: String? {
            guard (16...8192).contains(width) else { return "audio.waveform.width must be 16…8192" }
            guard (8...2048).contains(height) else { return "audio.waveform.height must be 8…2048" }
            guard rgba != nil else { return "audio.waveform.color must be #RRGGBB or #RRGGBBAA" }
            return nil
        }

        /// The colour's red, green, blue and alpha.
        var rgba: [UInt8]? {
            guard color.hasPrefix("#"), color.count == 7 || color.count == 9 else { return nil }
            let hex = Array(color.utf8.dropFirst())
            var bytes: [UInt8] = []
            for index in stride(from: 0, to: hex.count, by: 2) {
                guard let byte = UInt8(String(decoding: hex[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(byte)
            }
            return bytes.count == 3 ? bytes + [255] : bytes
        }
    }

    /// AAC-LC bits per second.
    public var bitRate: Int
    public var sampleRate: Int
    public var channels: Int
    public var waveform: Waveform

    public init(bitRate: Int = 128_000, sampleRate: Int = 48_000, channels: Int = 2, waveform: Waveform = .init()) {
        self.bitRate = bitRate
        self.sampleRate = sampleRate
        self.channels = channels
        self.waveform = waveform
    }

    enum CodingKeys: String, CodingKey { case bitRate, sampleRate, channels, waveform }

    public init(from decoder: any Decoder) throws {
        let d = AudioProfile()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bitRate = try c.decodeIfPresent(Int.self, forKey: .bitRate) ?? d.bitRate
        sampleRate = try c.decodeIfPresent(Int.self, forKey: .sampleRate) ?? d.sampleRate
        channels = try c.decodeIfPresent(Int.self, forKey: .channels) ?? d.channels
        waveform = try c.decodeIfPresent(Waveform.self, forKey: .waveform) ?? d.waveform
        if let problem {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    /// The sample rates FFmpeg's AAC encoder takes.
    static let aacSampleRates = [8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 64_000, 88_200, 96_000]

    /// Why the values cannot be used, if they cannot.
    public var problem: String? {
        guard (8_000...512_000).contains(bitRate) else { return "audio.bitRate must be 8000…512000" }
        guard Self.aacSampleRates.contains(sampleRate) else { return "audio.sampleRate must be one AAC takes (8000…96000, e.g. 44100 or 48000)" }
        guard (1...8).contains(channels) else { return "audio.channels must be 1…8" }
        return waveform.problem
    }

    /// The AAC settings, in the shape the video pipeline's audio path takes.
    var encoding: VideoProfile.Audio { .init(bitRate: bitRate, sampleRate: sampleRate, channels: channels) }
}
