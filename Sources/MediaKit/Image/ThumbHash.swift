import Foundation

/// ThumbHash, Evan Wallace's image placeholder format (https://evanw.github.io/thumbhash/): a
/// picture of at most 100×100 becomes ~20–25 bytes holding its average colour, aspect ratio and
/// the lowest DCT frequencies of luminance (L), yellow–blue (P), red–green (Q) and alpha, which a
/// client renders into a blurred 32-px preview before the first byte of the image arrives.
///
/// Written from the published algorithm (same channel layout, quantisation and bit packing as the
/// reference encoder, so any ThumbHash decoder renders these hashes); the page's `thumbhash.js`
/// decodes the same bytes.
public enum ThumbHash {
    /// What the status document carries for one picture.
    public struct Placeholder: Sendable, Codable, Equatable {
        /// The hash, standard base64 with padding.
        public var hash: String
        /// The picture's average colour, `#rrggbb` (transparent pixels weigh nothing).
        public var averageColor: String

        public init(hash: String, averageColor: String) {
            self.hash = hash
            self.averageColor = averageColor
        }
    }

    /// The largest side an encoder input may have (bigger costs time and adds nothing).
    public static let maxSide = 100

    /// The placeholder of a decoded picture: downscaled into 100×100 with the pipeline's scaler, then encoded.
    static func placeholder(of pixels: Pixels) throws(MediaError) -> Placeholder {
        let fit = ImageProfile.fit(width: pixels.width, height: pixels.height, box: (maxSide, maxSide))
        let small = try Scaler.resize(pixels, width: fit.width, height: fit.height)
        let rgba = rgbaBytes(small)
        let encoded = encode(width: small.width, height: small.height, rgba: rgba)
        return Placeholder(hash: Data(encoded.hash).base64EncodedString(), averageColor: hex(encoded.average))
    }

    /// `#rrggbb` of an average in 0…1 per channel.
    static func hex(_ colour: (r: Double, g: Double, b: Double)) -> String {
        func byte(_ v: Double) -> String {
            let value = Int((max(0, min(1, v)) * 255).rounded())
            return String(value, radix: 16).leftPadded(to: 2)
        }
        return "#" + byte(colour.r) + byte(colour.g) + byte(colour.b)
    }

    /// 8-bit RGB or RGBA pixels as RGBA.
    static func rgbaBytes(_ pixels: Pixels) -> [UInt8] {
        if pixels.channels == 4 { return Array(pixels.bytes) }
        let count = pixels.width * pixels.height
        var rgba = [UInt8](repeating: 255, count: count * 4)
        for i in 0..<count {
            rgba[i * 4] = pixels.bytes[i * 3]
            rgba[i * 4 + 1] = pixels.bytes[i * 3 + 1]
            rgba[i * 4 + 2] = pixels.bytes[i * 3 + 2]
        }
        return rgba
    }

    // MARK: Encoding

    /// Encodes RGBA (not premultiplied), `width` and `height` in 1…100, row by row. Returns the hash and
    /// the alpha-weighted average colour (0…1 per channel) the encoder composited transparent pixels on.
    public static func encode(width w: Int, height h: Int, rgba: [UInt8]) -> (hash: [UInt8], average: (r: Double, g: Double, b: Double)) {
        precondition(w >= 1 && h >= 1 && w <= maxSide && h <= maxSide, "ThumbHash input is \(w)×\(h), outside 1…\(maxSide)")
        precondition(rgba.count == w * h * 4, "ThumbHash input has \(rgba.count) bytes for \(w)×\(h) RGBA")
        let n = w * h
        var avgR = 0.0, avgG = 0.0, avgB = 0.0, avgA = 0.0
        for i in 0..<n {
            let alpha = Double(rgba[i * 4 + 3]) / 255
            avgR += alpha / 255 * Double(rgba[i * 4])
            avgG += alpha / 255 * Double(rgba[i * 4 + 1])
            avgB += alpha / 255 * Double(rgba[i * 4 + 2])
            avgA += alpha
        }
        if avgA > 0 {
            avgR /= avgA
            avgG /= avgA
            avgB /= avgA
        }
        let hasAlpha = avgA < Double(n)
        let lLimit = hasAlpha ? 5 : 7  // fewer luminance terms when alpha needs room
        let longest = Double(max(w, h))
        let lx = max(1, Int((Double(lLimit * w) / longest).rounded()))
        let ly = max(1, Int((Double(lLimit * h) / longest).rounded()))

        // RGBA → LPQA, transparent pixels composited on the average colour.
        var l = [Double](repeating: 0, count: n)
        var p = l, q = l, a = l
        for i in 0..<n {
            let alpha = Double(rgba[i * 4 + 3]) / 255
            let r = avgR * (1 - alpha) + alpha / 255 * Double(rgba[i * 4])
            let g = avgG * (1 - alpha) + alpha / 255 * Double(rgba[i * 4 + 1])
            let b = avgB * (1 - alpha) + alpha / 255 * Double(rgba[i * 4 + 2])
            l[i] = (r + g + b) / 3
            p[i] = (r + g) / 2 - b
            q[i] = r - g
            a[i] = alpha
        }
        let lChannel = Channel.encode(l, width: w, height: h, nx: max(3, lx), ny: max(3, ly))
        let pChannel = Channel.encode(p, width: w, height: h, nx: 3, ny: 3)
        let qChannel = Channel.encode(q, width: w, height: h, nx: 3, ny: 3)
        let aChannel = hasAlpha ? Channel.encode(a, width: w, height: h, nx: 5, ny: 5) : nil

        let isLandscape = w > h
        let header24 =
            quantise(63 * lChannel.dc) | quantise(31.5 + 31.5 * pChannel.dc) << 6 | quantise(31.5 + 31.5 * qChannel.dc) << 12
            | quantise(31 * lChannel.scale) << 18 | (hasAlpha ? 1 << 23 : 0)
        let header16 =
            (isLandscape ? ly : lx) | quantise(63 * pChannel.scale) << 3 | quantise(63 * qChannel.scale) << 9 | (isLandscape ? 1 << 15 : 0)
        var hash: [UInt8] = [
            UInt8(header24 & 255), UInt8(header24 >> 8 & 255), UInt8(header24 >> 16 & 255), UInt8(header16 & 255), UInt8(header16 >> 8 & 255),
        ]
        if let aChannel { hash.append(UInt8(quantise(15 * aChannel.dc) | quantise(15 * aChannel.scale) << 4)) }
        let start = hash.count
        let factors = lChannel.ac + pChannel.ac + qChannel.ac + (aChannel?.ac ?? [])
        hash += [UInt8](repeating: 0, count: (factors.count + 1) / 2)
        for (index, f) in factors.enumerated() {
            hash[start + index >> 1] |= UInt8(quantise(15 * f)) << ((index & 1) << 2)
        }
        return (hash, (avgR, avgG, avgB))
    }

    /// Math.round of the reference for the non-negative values quantised here.
    private static func quantise(_ value: Double) -> Int { Int((value + 0.5).rounded(.down)) }

    /// One channel's DCT: the DC term, and the AC terms normalised to 0…1 by their largest magnitude.
    struct Channel {
        var dc = 0.0
        var ac: [Double] = []
        var scale = 0.0

        /// The terms (cx, cy) with cx·ny < nx·(ny − cy): a triangle of the lowest frequencies, row by row.
        static func encode(_ values: [Double], width w: Int, height h: Int, nx: Int, ny: Int) -> Channel {
            var channel = Channel()
            var fx = [Double](repeating: 0, count: w)
            for cy in 0..<ny {
                var cx = 0
                while cx * ny < nx * (ny - cy) {
                    for x in 0..<w { fx[x] = cos(Double.pi / Double(w) * Double(cx) * (Double(x) + 0.5)) }
                    var f = 0.0
                    for y in 0..<h {
                        let fy = cos(Double.pi / Double(h) * Double(cy) * (Double(y) + 0.5))
                        for x in 0..<w { f += values[x + y * w] * fx[x] * fy }
                    }
                    f /= Double(w * h)
                    if cx > 0 || cy > 0 {
                        channel.ac.append(f)
                        channel.scale = max(channel.scale, abs(f))
                    } else {
                        channel.dc = f
                    }
                    cx += 1
                }
            }
            if channel.scale > 0 {
                channel.ac = channel.ac.map { 0.5 + 0.5 / channel.scale * $0 }
            }
            return channel
        }
    }

    // MARK: Decoding

    /// What a hash's header says.
    struct Header {
        var lDC: Double, pDC: Double, qDC: Double
        var lScale: Double, pScale: Double, qScale: Double
        var hasAlpha: Bool
        var isLandscape: Bool
        var lx: Int, ly: Int
        var aDC = 1.0, aScale = 1.0

        init?(_ hash: [UInt8]) {
            guard hash.count >= 5 else { return nil }
            let header24 = Int(hash[0]) | Int(hash[1]) << 8 | Int(hash[2]) << 16
            let header16 = Int(hash[3]) | Int(hash[4]) << 8
            lDC = Double(header24 & 63) / 63
            pDC = Double(header24 >> 6 & 63) / 31.5 - 1
            qDC = Double(header24 >> 12 & 63) / 31.5 - 1
            lScale = Double(header24 >> 18 & 31) / 31
            hasAlpha = header24 >> 23 != 0
            pScale = Double(header16 >> 3 & 63) / 63
            qScale = Double(header16 >> 9 & 63) / 63
            isLandscape = header16 >> 15 != 0
            let long = hasAlpha ? 5 : 7
            lx = max(3, isLandscape ? long : header16 & 7)
            ly = max(3, isLandscape ? header16 & 7 : long)
            if hasAlpha {
                guard hash.count >= 6 else { return nil }
                aDC = Double(hash[5] & 15) / 15
                aScale = Double(hash[5] >> 4) / 15
            }
        }
    }

    /// The approximate aspect ratio (width / height) a hash records, nil for a malformed hash.
    public static func approximateAspectRatio(_ hash: [UInt8]) -> Double? {
        guard hash.count >= 5 else { return nil }
        let hasAlpha = hash[2] & 0x80 != 0
        let isLandscape = hash[4] & 0x80 != 0
        let long = hasAlpha ? 5 : 7
        let short = Int(hash[3] & 7)
        guard short > 0 else { return nil }
        return isLandscape ? Double(long) / Double(short) : Double(short) / Double(long)
    }

    /// The average colour a hash records, RGBA in 0…1 (not premultiplied); nil for a malformed hash.
    public static func averageRGBA(_ hash: [UInt8]) -> (r: Double, g: Double, b: Double, a: Double)? {
        guard let header = Header(hash) else { return nil }
        let rgb = toRGB(l: header.lDC, p: header.pDC, q: header.qDC)
        return (clamp(rgb.r), clamp(rgb.g), clamp(rgb.b), header.hasAlpha ? header.aDC : 1)
    }

    /// Renders a hash into RGBA (not premultiplied), 32 px on its long side; nil for a malformed hash.
    public static func decode(_ hash: [UInt8]) -> (width: Int, height: Int, rgba: [UInt8])? {
        guard let header = Header(hash), let ratio = approximateAspectRatio(hash) else { return nil }
        // The factors, boosting P and Q by 1.25 against quantisation (as the reference does).
        let start = header.hasAlpha ? 6 : 5
        var index = 0
        func factors(nx: Int, ny: Int, scale: Double) -> [Double]? {
            var ac: [Double] = []
            for cy in 0..<ny {
                var cx = cy > 0 ? 0 : 1
                while cx * ny < nx * (ny - cy) {
                    let at = start + index >> 1
                    guard at < hash.count else { return nil }
                    let nibble = hash[at] >> ((index & 1) << 2) & 15
                    ac.append((Double(nibble) / 7.5 - 1) * scale)
                    index += 1
                    cx += 1
                }
            }
            return ac
        }
        guard let lAC = factors(nx: header.lx, ny: header.ly, scale: header.lScale),
            let pAC = factors(nx: 3, ny: 3, scale: header.pScale * 1.25),
            let qAC = factors(nx: 3, ny: 3, scale: header.qScale * 1.25)
        else { return nil }
        var aAC: [Double] = []
        if header.hasAlpha {
            guard let factors = factors(nx: 5, ny: 5, scale: header.aScale) else { return nil }
            aAC = factors
        }
        let w = Int((ratio > 1 ? 32 : 32 * ratio).rounded())
        let h = Int((ratio > 1 ? 32 / ratio : 32).rounded())
        var rgba = [UInt8](repeating: 0, count: w * h * 4)
        let cxStop = max(header.lx, header.hasAlpha ? 5 : 3)
        let cyStop = max(header.ly, header.hasAlpha ? 5 : 3)
        var fx = [Double](repeating: 0, count: cxStop)
        var fy = [Double](repeating: 0, count: cyStop)
        for y in 0..<h {
            for cy in 0..<cyStop { fy[cy] = cos(Double.pi / Double(h) * (Double(y) + 0.5) * Double(cy)) }
            for x in 0..<w {
                for cx in 0..<cxStop { fx[cx] = cos(Double.pi / Double(w) * (Double(x) + 0.5) * Double(cx)) }
                var l = header.lDC, p = header.pDC, q = header.qDC, a = header.aDC
                var j = 0
                for cy in 0..<header.ly {
                    var cx = cy > 0 ? 0 : 1
                    let fy2 = fy[cy] * 2
                    while cx * header.ly < header.lx * (header.ly - cy) {
                        l += lAC[j] * fx[cx] * fy2
                        j += 1
                        cx += 1
                    }
                }
                j = 0
                for cy in 0..<3 {
                    let fy2 = fy[cy] * 2
                    for cx in (cy > 0 ? 0 : 1)..<(3 - cy) {
                        let f = fx[cx] * fy2
                        p += pAC[j] * f
                        q += qAC[j] * f
                        j += 1
                    }
                }
                if header.hasAlpha {
                    j = 0
                    for cy in 0..<5 {
                        let fy2 = fy[cy] * 2
                        for cx in (cy > 0 ? 0 : 1)..<(5 - cy) {
                            a += aAC[j] * fx[cx] * fy2
                            j += 1
                        }
                    }
                }
                let rgb = toRGB(l: l, p: p, q: q)
                let i = (y * w + x) * 4
                rgba[i] = byte(rgb.r)
                rgba[i + 1] = byte(rgb.g)
                rgba[i + 2] = byte(rgb.b)
                rgba[i + 3] = byte(a)
            }
        }
        return (w, h, rgba)
    }

    private static func toRGB(l: Double, p: Double, q: Double) -> (r: Double, g: Double, b: Double) {
        let b = l - 2.0 / 3.0 * p
        let r = (3 * l - b + q) / 2
        return (r, r - q, b)
    }

    private static func clamp(_ v: Double) -> Double { max(0, min(1, v)) }

    private static func byte(_ v: Double) -> UInt8 { UInt8((255 * clamp(v)).rounded()) }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
