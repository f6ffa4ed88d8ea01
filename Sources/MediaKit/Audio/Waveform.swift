/// A waveform of a whole recording drawn as it streams past, in bounded memory: at most `width`
/// columns of (min, max, sum of squares, count) whatever the length. Each column covers
/// `samplesPerColumn` samples, planned from the expected total (the header's duration) when known;
/// when more samples come than planned (no duration, or a wrong one), neighbouring columns are
/// merged in pairs and the span doubled, so the columns always cover everything seen. At the end
/// the columns are stretched over the picture's width.
struct Waveform {
    struct Column: Equatable {
        var low: Float = 0
        var high: Float = 0
        var squares: Double = 0
        var count = 0

        mutating func merge(_ other: Column) {
            low = min(low, other.low)
            high = max(high, other.high)
            squares += other.squares
            count += other.count
        }

        var rms: Float { count == 0 ? 0 : Float((squares / Double(count)).squareRoot()) }
    }

    let width: Int
    private(set) var columns: [Column] = []
    private(set) var samplesPerColumn: Int
    /// Samples seen (mono).
    private(set) var samples = 0
    /// The column being filled.
    private var current = Column()

    /// `expectedSamples`: the recording's length in samples, when the header says (nil: unknown).
    init(width: Int, expectedSamples: Int?) {
        precondition(width >= 2)
        self.width = width
        let planned = expectedSamples.map { ($0 + width - 1) / width } ?? 256
        samplesPerColumn = max(1, planned)
        columns.reserveCapacity(width)
    }

    /// Adds `count` samples of `channels` planar float planes, mixed to mono.
    mutating func add(planes: UnsafePointer<UnsafeMutablePointer<UInt8>?>, channels: Int, count: Int) {
        guard channels > 0, count > 0 else { return }
        let scale = 1 / Float(channels)
        for index in 0..<count {
            var sum: Float = 0
            for channel in 0..<channels {
                guard let plane = planes[channel] else { continue }
                sum += UnsafeRawPointer(plane).load(fromByteOffset: index * MemoryLayout<Float>.size, as: Float.self)
            }
            add(sum * scale)
        }
    }

    /// Adds one mono sample (clamped to -1…1; NaN counts as silence).
    mutating func add(_ value: Float) {
        let sample = value.isNaN ? 0 : min(1, max(-1, value))
        if current.count == 0 {
            current.low = sample
            current.high = sample
        } else {
            if sample < current.low { current.low = sample }
            if sample > current.high { current.high = sample }
        }
        current.squares += Double(sample * sample)
        current.count += 1
        samples += 1
        if current.count >= samplesPerColumn { close() }
    }

    private mutating func close() {
        if columns.count == width { mergePairs() }
        columns.append(current)
        current = Column()
    }

    /// Halves the columns (each pair becomes one) and doubles the span of the next ones.
    private mutating func mergePairs() {
        var merged: [Column] = []
        merged.reserveCapacity(width)
        var index = 0
        while index < columns.count {
            var column = columns[index]
            if index + 1 < columns.count { column.merge(columns[index + 1]) }
            merged.append(column)
            index += 2
        }
        columns = merged
        samplesPerColumn *= 2
    }

    /// The columns, the part-filled last one included, stretched (or merged) to exactly `width`.
    func finalColumns() -> [Column] {
        var all = columns
        if current.count > 0 {
            if all.count == width {
                all[width - 1].merge(current)
            } else {
                all.append(current)
            }
        }
        guard !all.isEmpty else { return Array(repeating: Column(), count: width) }
        return (0..<width).map { x in
            let first = x * all.count / width
            let end = max(first + 1, (x + 1) * all.count / width)
            var column = all[first]
            for index in (first + 1)..<end { column.merge(all[index]) }
            return column
        }
    }

    /// The picture: `height` rows, transparent, each column painted with `rgba` — the peak span at
    /// half its alpha, the RMS span (symmetric about the middle) and the middle row at full alpha.
    func render(height: Int, rgba: [UInt8]) -> Pixels {
        var pixels = Pixels(width: width, height: height, channels: 4)
        let half = Float(height - 1) / 2
        func row(_ amplitude: Float) -> Int { Int(((1 - amplitude) * half).rounded()) }
        let middle = row(0)
        let peakAlpha = UInt8(Int(rgba[3]) / 2)
        pixels.bytes.withUnsafeMutableBufferPointer { buffer in
            func paint(_ x: Int, _ from: Int, _ to: Int, alpha: UInt8) {
                for y in max(0, min(from, to))...min(height - 1, max(from, to)) {
                    let offset = (y * width + x) * 4
                    if buffer[offset + 3] >= alpha { continue }
                    buffer[offset] = rgba[0]
                    buffer[offset + 1] = rgba[1]
                    buffer[offset + 2] = rgba[2]
                    buffer[offset + 3] = alpha
                }
            }
            for (x, column) in finalColumns().enumerated() {
                paint(x, middle, middle, alpha: rgba[3])
                let rms = column.rms
                paint(x, row(rms), row(-rms), alpha: rgba[3])
                paint(x, row(column.high), row(column.low), alpha: peakAlpha)
            }
        }
        return pixels
    }
}
