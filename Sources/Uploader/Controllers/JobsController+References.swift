import Foundation

/// Outputs whose text names other files of the job by relative reference — the storyboard's WebVTT
/// (`storyboard.webp#xywh=…`) and the HLS ladder's playlists (`720p/index.m3u8`, `init.mp4`,
/// `seg_00000.m4s`). Stored as the processor wrote them, they resolve side by side; behind a signed
/// link they do not (a relative reference keeps the path and drops the signature, or the SAS). The
/// uploader serves them itself, in both link modes, with each reference replaced by the named file's
/// own link: the pure parts are here, the serving in `JobsController`.
extension JobsController {
    /// The kinds of text output served with their references resolved.
    enum ReferencingText: Sendable, Equatable {
        /// WebVTT: a cue payload line naming a file (`name` or `name#fragment`).
        case cues
        /// An HLS playlist: every URI line and every `URI="…"` attribute.
        case playlist

        init?(contentType: String) {
            switch contentType.lowercased() {
            case "text/vtt": self = .cues
            case "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl": self = .playlist
            default: return nil
            }
        }
    }

    /// A text output is at most this large (a storyboard's cues or a 4-hour VOD playlist at 1 s
    /// segments are well under it).
    static let maxReferencingBytes = 4 << 20

    /// The references `text` makes, in order, without duplicates (the file part: no fragment).
    static func references(in text: String, kind: ReferencingText) -> [String] {
        var seen: Set<String> = []
        var found: [String] = []
        for span in spans(in: text, kind: kind) {
            let target = String(text[span])
            if seen.insert(target).inserted { found.append(target) }
        }
        return found
    }

    /// `text` with every reference that `links` names replaced by its link (fragments, timings,
    /// tags and anything else kept as they are).
    static func resolving(_ text: String, kind: ReferencingText, links: [String: String]) -> String {
        var result = ""
        var position = text.startIndex
        for span in spans(in: text, kind: kind) {
            guard let link = links[String(text[span])] else { continue }
            result += text[position..<span.lowerBound]
            result += link
            position = span.upperBound
        }
        result += text[position...]
        return result
    }

    /// `reference` (relative, as a playlist or cue file names it) as the output name it points at,
    /// from the directory of `base` (an output name such as `hls/master.m3u8`); nil when it is not a
    /// plain relative path inside the job's outputs (a URL, an absolute path, `..`, a query).
    static func outputName(of reference: String, from base: String) -> String? {
        guard !reference.isEmpty, !reference.hasPrefix("/"), !reference.contains("://"), !reference.contains("?"), !reference.contains("\\")
        else { return nil }
        var components = base.split(separator: "/", omittingEmptySubsequences: false).dropLast().map(String.init)
        for component in reference.split(separator: "/", omittingEmptySubsequences: false) {
            guard Self.isPlainComponent(component) else { return nil }
            components.append(String(component))
        }
        return components.joined(separator: "/")
    }

    /// A path component an output name may have: not empty, not `.` or `..`, letters, digits and `._-` only.
    static func isPlainComponent(_ component: Substring) -> Bool {
        !component.isEmpty && component != "." && component != ".."
            && component.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }

    /// The content type of a file the HLS ladder writes beside its playlists.
    static func companionContentType(of name: String) -> String? {
        switch (name as NSString).pathExtension.lowercased() {
        case "m3u8": "application/vnd.apple.mpegurl"
        case "m4s": "video/iso.segment"
        case "mp4": "video/mp4"
        case "m4a": "audio/mp4"
        case "aac": "audio/aac"
        case "ts": "video/mp2t"
        case "vtt": "text/vtt"
        default: nil
        }
    }

    /// Where the references are: ranges of `text` holding the file part of each one.
    private static func spans(in text: String, kind: ReferencingText) -> [Range<String.Index>] {
        var spans: [Range<String.Index>] = []
        // Lines split on the scalar: "\r\n" is one Swift Character, which a Character split never matches.
        var lineStart = text.startIndex
        let scalars = text.unicodeScalars
        var index = scalars.startIndex
        while lineStart < text.endIndex {
            while index < scalars.endIndex, scalars[index] != "\n" { index = scalars.index(after: index) }
            var lineEnd = index
            if lineEnd > lineStart, scalars[scalars.index(before: lineEnd)] == "\r" { lineEnd = scalars.index(before: lineEnd) }
            spans += lineSpans(text, lineStart..<lineEnd, kind: kind)
            guard index < scalars.endIndex else { break }
            index = scalars.index(after: index)
            lineStart = index
        }
        return spans
    }

    private static func lineSpans(_ text: String, _ line: Range<String.Index>, kind: ReferencingText) -> [Range<String.Index>] {
        let content = text[line]
        switch kind {
        case .cues:
            // A payload line `name#xywh=…`: the part before the fragment (timing lines hold "-->").
            guard !content.isEmpty, !content.contains("-->"), let hash = content.firstIndex(of: "#"), hash > content.startIndex else { return [] }
            let name = content[..<hash]
            return name.contains(" ") ? [] : [content.startIndex..<hash]
        case .playlist:
            let trimmed = content.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty { return [] }
            if !trimmed.hasPrefix("#") {
                var end = trimmed.endIndex
                while end > trimmed.startIndex, let last = trimmed[..<end].last, last == " " || last == "\t" { end = trimmed.index(before: end) }
                return [trimmed.startIndex..<end]
            }
            // Tags: every URI="…" attribute (EXT-X-MAP, EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF, …).
            var spans: [Range<String.Index>] = []
            var rest = trimmed[...]
            while let attribute = rest.range(of: "URI=\"") {
                let start = attribute.upperBound
                guard let close = rest[start...].firstIndex(of: "\"") else { break }
                if start < close { spans.append(start..<close) }
                rest = rest[rest.index(after: close)...]
            }
            return spans
        }
    }
}
