internal import CFFmpeg

/// The source facts the status document reports beyond what the transcode needs: per-stream bit
/// rates, the audio layout, colour matrix, and the container's capture tags. A location tag is only
/// noticed, never read (the MP4 written carries no metadata of the source).
struct VideoFacts {
    var colorSpace: String?
    var audioChannels: Int?
    var audioSampleRate: Int?
    var captureTime: String?
    var cameraMake: String?
    var cameraModel: String?
    var locationRemoved = false

    init(context: UnsafeMutablePointer<AVFormatContext>, video: UnsafeMutablePointer<AVStream>, audio: UnsafeMutablePointer<AVStream>?) {
        let space = video.pointee.codecpar.pointee.color_space
        if space != AVCOL_SPC_UNSPECIFIED, let name = av_color_space_name(space) { colorSpace = String(cString: name) }
        if let audio {
            let parameters = audio.pointee.codecpar.pointee
            if parameters.ch_layout.nb_channels > 0 { audioChannels = Int(parameters.ch_layout.nb_channels) }
            if parameters.sample_rate > 0 { audioSampleRate = Int(parameters.sample_rate) }
        }
        let tags = [context.pointee.metadata, video.pointee.metadata]
        captureTime = Self.tag(tags, "creation_time", "com.apple.quicktime.creationdate")
        cameraMake = Self.tag(tags, "com.apple.quicktime.make", "make")
        cameraModel = Self.tag(tags, "com.apple.quicktime.model", "model")
        locationRemoved = Self.tag(tags, "location", "com.apple.quicktime.location.ISO6709", "location-eng") != nil
    }

    /// The first of `keys` present in any of the dictionaries, as printable ASCII (at most 64 characters).
    private static func tag(_ dictionaries: [OpaquePointer?], _ keys: String...) -> String? {
        for key in keys {
            for dictionary in dictionaries {
                guard let dictionary, let entry = av_dict_get(dictionary, key, nil, 0), let value = entry.pointee.value else { continue }
                let text = String(decoding: Array(String(cString: value).utf8.filter { $0 >= 0x20 && $0 < 0x7F }.prefix(64)), as: UTF8.self)
                if !text.isEmpty { return text }
            }
        }
        return nil
    }

    /// A stream's bit rate: as its header declares, else its packets' bytes over the duration.
    static func bitRate(_ stream: UnsafeMutablePointer<AVStream>?, bytes: Int, seconds: Double?) -> Int? {
        guard let stream else { return nil }
        let declared = stream.pointee.codecpar.pointee.bit_rate
        if declared > 0 { return Int(declared) }
        guard let seconds, seconds > 0, bytes > 0 else { return nil }
        return Int((Double(bytes) * 8 / seconds).rounded())
    }
}
