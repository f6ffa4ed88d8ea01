/// HDR to SDR (issue 17 item 5): which frames are tone-mapped, and to what. A pure policy, tested alone;
/// `ToneMapper` (libavfilter) carries it out.
///
/// Only frames whose transfer is PQ (SMPTE ST 2084) or HLG (ARIB STD-B67) go through the filter graph;
/// every other frame (BT.709, BT.601, sRGB, BT.2020 SDR, untagged) keeps today's libswscale path, so SDR
/// outputs keep their bytes.
///
/// The mapping follows ITU-R BT.2408's display-light conversion: HDR reference white (203 cd/m², HLG
/// 75 %, PQ 58 %) is linear 1.0, i.e. SDR white (zscale `npl=203`; the common `npl=100` recipe puts
/// reference white at 2.03, above SDR white, and leans on the curve to pull it back). Everything below
/// `linearBelow` × 203 cd/m² (≈ 100 cd/m²: shadows, faces, the 18 % grey card at 26 cd/m²) passes
/// unchanged — `tonemap=mobius`, linear up to its `param` — and only highlights above it are rolled off
/// towards the source's peak. zimg's BT.709 output is display-referred (BT.1886 inverse EOTF, γ 2.4),
/// so the 18 % grey card lands on SDR's 42.5 % (8-bit luma 109), as in an SDR camera's picture.
/// Hable, the usual recipe's curve, has a toe that darkens every mid-tone (grey card at 85 with
/// `npl=203`, 99 with `npl=100`: the "dull" look) and needs a peak to normalise by.
/// `desat=0`: the curve scales R, G and B by one factor, so hue and saturation stay.
enum ToneMapPolicy {
    /// The transfers tone-mapped.
    enum Transfer: String, Sendable, Equatable {
        case pq, hlg
    }

    /// ITU-R BT.2408 HDR reference white, cd/m²: linear 1.0 in the graph.
    static let referenceWhiteNits = 203.0
    /// Mobius is the identity below this (linear, relative to reference white).
    static let linearBelow = 0.5
    /// The nominal peak of an HLG display (BT.2100), which zimg decodes HLG for; a PQ source's
    /// peak when it declares none (what phones and HDR10 grading use).
    static let nominalPeakNits = 1000.0
    /// PQ's ceiling.
    static let maximumPeakNits = 10000.0

    /// H.273 code points (FFmpeg's `AVColorTransferCharacteristic` values).
    static let smpte2084: Int = 16
    static let aribSTDB67: Int = 18
    static let unspecified: Int = 2

    /// The transfer a frame is tone-mapped for, from its own tag, or the stream's when the frame has
    /// none (a container's colour atom on a bitstream without one). nil: SDR, today's path.
    static func transfer(frame: Int, stream: Int) -> Transfer? {
        let tag = frame == unspecified || frame == 0 ? stream : frame
        switch tag {
        case smpte2084: return .pq
        case aribSTDB67: return .hlg
        default: return nil
        }
    }

    /// The highlight that maps to SDR white, cd/m². HLG is relative to its display: 1000. PQ is
    /// absolute: the brightest pixel the source declares (MaxCLL), else its mastering display's peak,
    /// else 1000; never under reference white nor over PQ's 10 000.
    static func peakNits(_ transfer: Transfer, maxContentLight: Double? = nil, masteringPeak: Double? = nil) -> Double {
        guard transfer == .pq else { return nominalPeakNits }
        let declared = [maxContentLight, masteringPeak].compactMap { $0 }.first { $0.isFinite && $0 > 0 } ?? nominalPeakNits
        return min(max(declared, referenceWhiteNits), maximumPeakNits)
    }

    /// The source's colour as zscale takes it (FFmpeg's enum values, which are H.273's).
    struct Input: Sendable, Equatable, Hashable {
        var transfer: Transfer
        /// `color_primaries`; 2 (unspecified) is read as BT.2020, what an HDR source is.
        var primaries: Int
        /// `colorspace`; unspecified is read as BT.2020 non-constant luminance.
        var matrix: Int
        var fullRange: Bool

        init(transfer: Transfer, primaries: Int, matrix: Int, fullRange: Bool) {
            self.transfer = transfer
            self.primaries = primaries
            self.matrix = matrix
            self.fullRange = fullRange
        }
    }

    /// The filter chain between the buffer source and the sink: to linear light in BT.709 primaries
    /// (the gamut change is done in linear light, in one zimg pass), float RGB, the curve, then back to
    /// 8-bit BT.709 limited-range `yuv420p` at the same size (scaling and rotation stay with
    /// libswscale and `FrameConverter`, after this, in today's order). zimg takes no subsampled
    /// picture of an odd size: such a frame is brought to 4:4:4 by libswscale first (same matrix,
    /// chroma only) and comes out as 4:4:4, which the scaler after this takes to 4:2:0.
    static func filters(_ input: Input, peakNits: Double, oddSize: Bool = false) -> String {
        let bt2020 = 9
        let primaries = input.primaries == unspecified || input.primaries <= 0 ? bt2020 : input.primaries
        let matrix = input.matrix == unspecified || input.matrix < 0 ? bt2020 : input.matrix
        let transfer = input.transfer == .pq ? smpte2084 : aribSTDB67
        let peak = peakNits / referenceWhiteNits
        return (oddSize ? "scale,format=yuv444p16le," : "") + "zscale=tin=\(transfer):pin=\(primaries):min=\(matrix):rin=\(input.fullRange ? "pc" : "tv")"
            + ":t=linear:npl=\(format(referenceWhiteNits)):p=bt709,format=gbrpf32le,"
            + "tonemap=mobius:param=\(format(linearBelow)):desat=0:peak=\(format(peak)),"
            + "zscale=t=bt709:m=bt709:r=tv,format=\(oddSize ? "yuv444p" : "yuv420p")"
    }

    private static func format(_ value: Double) -> String {
        let rounded = (value * 10000).rounded() / 10000
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
