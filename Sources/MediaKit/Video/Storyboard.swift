/// The scrub-bar storyboard of one video: thumbnails at evenly spaced times (thumbnail `i` stands for
/// `[i × interval, (i + 1) × interval)`, the last one until the end of the video), tiled row by row
/// into one sheet, and the WebVTT file players read (video.js, Plyr, Vidstack, JW Player: one cue
/// per thumbnail, its text `sheet#xywh=x,y,w,h`).
struct Storyboard {
    var thumbnails: [Pixels]
    var interval: Double
    /// What the cues cover: the output file's duration (video or audio, whichever ends last).
    var duration: Double
    var tileWidth: Int
    var tileHeight: Int
    var columns: Int

    var layout: StoryboardLayout { StoryboardLayout(count: thumbnails.count, columns: columns, tileWidth: tileWidth, tileHeight: tileHeight) }

    /// The size of every thumbnail: the picture at its display aspect (`sampleAspect` is the output's
    /// pixel aspect), fitted inside `size`×`size`, never enlarged.
    static func tileSize(width: Int, height: Int, sampleAspect: Double, size: Int) -> (width: Int, height: Int) {
        let aspect = sampleAspect.isFinite && sampleAspect > 0 ? sampleAspect : 1
        let displayWidth = max(1, Int((Double(width) * aspect).rounded()))
        return ImageProfile.fit(width: displayWidth, height: max(1, height), box: (size, size))
    }

    /// The sheet: every thumbnail copied into its region (RGB; the unused end of the last row is black).
    func sheet() -> Pixels {
        let layout = layout
        var sheet = Pixels(width: layout.sheetWidth, height: layout.sheetHeight, channels: 3)
        let rowBytes = tileWidth * 3
        sheet.bytes.withUnsafeMutableBufferPointer { out in
            for (index, thumbnail) in thumbnails.enumerated() {
                precondition(thumbnail.width == tileWidth && thumbnail.height == tileHeight && thumbnail.channels == 3, "a storyboard thumbnail of another size")
                let region = layout.region(index)
                thumbnail.bytes.withUnsafeBufferPointer { tile in
                    for y in 0..<tileHeight {
                        let target = out.baseAddress! + ((region.y + y) * layout.sheetWidth + region.x) * 3
                        target.update(from: tile.baseAddress! + y * rowBytes, count: rowBytes)
                    }
                }
            }
        }
        return sheet
    }
}

/// Picks the frames of a storyboard while the video decodes: the first frame at or after each slot's
/// start. The interval is planned from the container's duration (one slot per `everySeconds`, at most
/// `maxCount`, stretched to `duration / count`); when the duration is unknown — or the video runs
/// longer than it said — slots continue at the same interval and every other thumbnail is dropped
/// (the interval doubled) before `maxCount` would be passed, so memory stays at `maxCount`
/// thumbnails and the survivors stay evenly spaced.
struct StoryboardCollector {
    let maxCount: Int
    private(set) var interval: Double
    private(set) var thumbnails: [Pixels] = []

    init(settings: VideoProfile.Storyboard, plannedDuration: Double?) {
        maxCount = max(1, settings.maxCount)
        interval = Self.interval(duration: plannedDuration, every: settings.everySeconds, maxCount: maxCount)
    }

    /// Thumbnails for a video of `duration` seconds: one per `every` seconds (rounded up), 1…`maxCount`.
    static func count(duration: Double, every: Double, maxCount: Int) -> Int {
        guard duration.isFinite, duration > 0, every > 0 else { return 1 }
        let wanted = (duration / every).rounded(.up)
        return wanted >= Double(maxCount) ? maxCount : max(1, Int(wanted))
    }

    /// The spacing: `duration / count`, or `every` when the duration is unknown.
    static func interval(duration: Double?, every: Double, maxCount: Int) -> Double {
        guard let duration, duration.isFinite, duration > 0 else { return every }
        return duration / Double(count(duration: duration, every: every, maxCount: maxCount))
    }

    /// How many slots start at or before `seconds` and have no thumbnail yet (0: this frame is not
    /// needed). More than one when frames are sparser than the slots: each gets this frame's thumbnail.
    mutating func slots(at seconds: Double) -> Int {
        guard seconds.isFinite, seconds >= 0 else { return 0 }
        while true {
            let last = (seconds / interval).rounded(.down)  // the last slot starting at or before `seconds`
            let wanted = Int(min(last, Double(Int32.max))) + 1 - thumbnails.count
            guard wanted > 0 else { return 0 }
            if thumbnails.count + wanted <= maxCount { return wanted }
            thin()
        }
    }

    /// Fills the `slots` that `slots(at:)` returned.
    mutating func add(_ thumbnail: Pixels, slots: Int) {
        thumbnails.append(contentsOf: repeatElement(thumbnail, count: slots))
    }

    /// Every other thumbnail, at twice the interval.
    private mutating func thin() {
        thumbnails = stride(from: 0, to: thumbnails.count, by: 2).map { thumbnails[$0] }
        interval *= 2
    }
}

/// Where each thumbnail sits in the sheet, and the WebVTT that points at it. Pure arithmetic.
struct StoryboardLayout: Equatable {
    let count: Int
    let columns: Int
    let tileWidth: Int
    let tileHeight: Int

    init(count: Int, columns: Int, tileWidth: Int, tileHeight: Int) {
        self.count = max(1, count)
        self.columns = max(1, min(columns, self.count))
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
    }

    var rows: Int { (count + columns - 1) / columns }
    var sheetWidth: Int { columns * tileWidth }
    var sheetHeight: Int { rows * tileHeight }

    /// Thumbnail `index`'s rectangle in the sheet (row by row).
    func region(_ index: Int) -> (x: Int, y: Int, width: Int, height: Int) {
        ((index % columns) * tileWidth, (index / columns) * tileHeight, tileWidth, tileHeight)
    }

    /// Cue boundaries in whole milliseconds: cue `i` runs from `i × interval` to the next cue's start,
    /// the last one to `duration`; each boundary is rounded once, so consecutive cues share it (no gap,
    /// no overlap) and the cues cover `[0, duration]` exactly. Strictly increasing.
    func boundaries(interval: Double, duration: Double) -> [Int] {
        var bounds = [0]
        for index in 1..<(count + 1) {
            let time = index == count ? duration : Double(index) * interval
            let milliseconds = time.isFinite ? Int((max(0, time) * 1000).rounded()) : 0
            bounds.append(max(milliseconds, bounds[index - 1] + 1))
        }
        return bounds
    }

    /// The WebVTT file: one cue per thumbnail, its payload `sheet#xywh=x,y,w,h` (a URL relative to
    /// the VTT file, Media Fragments spatial syntax).
    func vtt(interval: Double, duration: Double, sheet: String) -> String {
        let bounds = boundaries(interval: interval, duration: duration)
        var text = "WEBVTT\n"
        for index in 0..<count {
            let r = region(index)
            text += "\n\(Self.timestamp(milliseconds: bounds[index])) --> \(Self.timestamp(milliseconds: bounds[index + 1]))\n"
            text += "\(sheet)#xywh=\(r.x),\(r.y),\(r.width),\(r.height)\n"
        }
        return text
    }

    /// `HH:MM:SS.mmm` (WebVTT's long form: hours always present, two digits or more).
    static func timestamp(milliseconds: Int) -> String {
        let ms = max(0, milliseconds)
        let hours = ms / 3_600_000
        let minutes = ms / 60_000 % 60
        let seconds = ms / 1000 % 60
        return "\(padded(hours, 2)):\(padded(minutes, 2)):\(padded(seconds, 2)).\(padded(ms % 1000, 3))"
    }

    private static func padded(_ value: Int, _ digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
