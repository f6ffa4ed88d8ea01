import CMediaLibraries

/// A codec library that the processor is not linked against but loads when a job first needs it
/// (CMediaLibraries): libavformat, libavcodec, libavfilter and libswresample (video and audio),
/// libheif (HEIC/HEIF input) and libavif (the optional `image.avif`). Loading them is most of a
/// process start (measured with `bench/startup.sh`); an image job uses none of them. The pipelines
/// load them by themselves at their first call; `load` does it before a job, so that a missing
/// library is the job's error rather than an abort, and so that a parent loads them once for the
/// children it forks.
public enum MediaLibrary: Int, CaseIterable, Sendable {
    case avformat, avcodec, avfilter, swresample, heif, avif

    /// What the video and audio pipelines call.
    public static let audioVisual: [MediaLibrary] = [.avformat, .avcodec, .avfilter, .swresample]

    private var c: mp_library { mp_library(rawValue: UInt32(rawValue)) }

    /// The file loaded (`libavcodec.so.59`).
    public var soname: String { String(cString: mp_library_soname(c)) }

    /// Whether this process has loaded it.
    public var isLoaded: Bool { mp_library_loaded(c) != 0 }

    /// The version this process loaded (`loaded`, called only then) or, while it has not loaded
    /// it, the one the headers were (`headers`), marked so: reporting a version must not load it.
    func version(loaded: () -> String, headers: String) -> String {
        isLoaded ? loaded() : "\(headers) (headers; loaded when a job needs it)"
    }

    /// Loads `libraries` into this process, if not loaded yet. Throws an `internal` error naming
    /// the library that cannot be loaded.
    public static func load(_ libraries: [MediaLibrary]) throws(MediaError) {
        for library in libraries {
            var error = [CChar](repeating: 0, count: 512)
            guard mp_library_load(library.c, &error, error.count) == 0 else { throw MediaError(.internal, cText(error)) }
        }
    }

    /// Loads every library and looks up every function the pipelines call through it: nil when all
    /// are there, else how many are missing and the first one's message.
    public static func verify() -> String? {
        var error = [CChar](repeating: 0, count: 512)
        let missing = mp_library_verify(&error, error.count)
        return missing == 0 ? nil : "\(missing) missing: \(cText(error))"
    }
}
