internal import CFFmpeg
import Foundation
import Testing

@testable import MediaKit

/// HDR to SDR (issue 17 item 5): the policy alone, and the filter graph on frames made here.
@Suite("HDR tone mapping")
struct ToneMappingTests {
    // H.273 transfer characteristics.
    static let bt709 = 1, unspecified = 2, smpte170m = 6, linear = 8, srgb = 13, bt2020ten = 14, bt2020twelve = 15, pq = 16, hlg = 18

    @Test("only PQ and HLG frames are tone-mapped; a frame's own tag wins over the stream's")
    func detection() {
        #expect(ToneMapPolicy.transfer(frame: Self.pq, stream: Self.unspecified) == .pq)
        #expect(ToneMapPolicy.transfer(frame: Self.hlg, stream: Self.unspecified) == .hlg)
        #expect(ToneMapPolicy.transfer(frame: Self.unspecified, stream: Self.hlg) == .hlg)
        #expect(ToneMapPolicy.transfer(frame: 0, stream: Self.pq) == .pq)
        #expect(ToneMapPolicy.transfer(frame: Self.bt709, stream: Self.pq) == nil)
        for sdr in [Self.bt709, Self.unspecified, Self.smpte170m, Self.linear, Self.srgb, Self.bt2020ten, Self.bt2020twelve, 0, 17, 255] {
            #expect(ToneMapPolicy.transfer(frame: sdr, stream: Self.unspecified) == nil, "transfer \(sdr)")
        }
    }

    @Test("the peak: HLG's display is 1000 cd/m²; PQ's is MaxCLL, else the mastering display, else 1000, within 203…10 000")
    func peak() {
        #expect(ToneMapPolicy.peakNits(.hlg, maxContentLight: 4000, masteringPeak: 4000) == 1000)
        #expect(ToneMapPolicy.peakNits(.pq) == 1000)
        #expect(ToneMapPolicy.peakNits(.pq, maxContentLight: 600, masteringPeak: 4000) == 600)
        #expect(ToneMapPolicy.peakNits(.pq, maxContentLight: 0, masteringPeak: 4000) == 4000)
        #expect(ToneMapPolicy.peakNits(.pq, maxContentLight: .nan, masteringPeak: nil) == 1000)
        #expect(ToneMapPolicy.peakNits(.pq, maxContentLight: 65535) == 10000)
        #expect(ToneMapPolicy.peakNits(.pq, maxContentLight: 50) == 203)
    }

    @Test("the filter chain: explicit input colour (BT.2020 when untagged), reference white at 1.0, mobius, BT.709 out")
    func filters() {
        let untagged = ToneMapPolicy.Input(transfer: .pq, primaries: 2, matrix: 2, fullRange: false)
        #expect(
            ToneMapPolicy.filters(untagged, peakNits: 1000)
                == "zscale=tin=16:pin=9:min=9:rin=tv:t=linear:npl=203:p=bt709,format=gbrpf32le,tonemap=mobius:param=0.5:desat=0:peak=4.9261,"
                + "zscale=t=bt709:m=bt709:r=tv,format=yuv420p")
        let tagged = ToneMapPolicy.Input(transfer: .hlg, primaries: 9, matrix: 10, fullRange: true)
        #expect(ToneMapPolicy.filters(tagged, peakNits: 2030).hasPrefix("zscale=tin=18:pin=9:min=10:rin=pc:t=linear:npl=203:p=bt709,"))
        #expect(ToneMapPolicy.filters(tagged, peakNits: 2030).contains("peak=10,"))
        // zimg takes no odd-sized 4:2:0: such frames go through 4:4:4 and come out as 4:4:4.
        let odd = ToneMapPolicy.filters(tagged, peakNits: 1000, oddSize: true)
        #expect(odd.hasPrefix("scale,format=yuv444p16le,zscale=tin=18:") && odd.hasSuffix("zscale=t=bt709:m=bt709:r=tv,format=yuv444p"))
    }

    /// A 10-bit 4:2:0 frame whose every luma sample is `code` (0…1 of the limited range), chroma neutral.
    static func field(code: Double, transfer: AVColorTransferCharacteristic, width: Int = 64, height: Int = 48) throws -> Owned<AVFrame> {
        let frame = try FrameConverter.allocate(width: width, height: height, format: AV_PIX_FMT_YUV420P10LE)
        let f = frame.pointer
        f.pointee.color_trc = transfer
        f.pointee.color_primaries = AVCOL_PRI_BT2020
        f.pointee.colorspace = AVCOL_SPC_BT2020_NCL
        f.pointee.color_range = AVCOL_RANGE_MPEG
        let values: [UInt16] = [UInt16((64 + 876 * code).rounded()), 512, 512]
        for plane in 0..<3 {
            let rows = plane == 0 ? height : (height + 1) / 2
            let columns = plane == 0 ? width : (width + 1) / 2
            let (data, stride) = Self.plane(f, plane)
            for y in 0..<rows {
                let row = UnsafeMutableRawPointer(data + y * stride).assumingMemoryBound(to: UInt16.self)
                for x in 0..<columns { row[x] = values[plane] }
            }
        }
        return frame
    }

    static func plane(_ frame: UnsafeMutablePointer<AVFrame>, _ index: Int) -> (UnsafeMutablePointer<UInt8>, Int) {
        let data = withUnsafePointer(to: &frame.pointee.data) { $0.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { $0[index]! } }
        let stride = withUnsafePointer(to: &frame.pointee.linesize) { $0.withMemoryRebound(to: Int32.self, capacity: 8) { Int($0[index]) } }
        return (data, stride)
    }

    static func meanLuma(_ frame: UnsafeMutablePointer<AVFrame>) -> Double {
        let (data, stride) = plane(frame, 0)
        var sum = 0
        for y in 0..<Int(frame.pointee.height) { for x in 0..<Int(frame.pointee.width) { sum += Int(data[y * stride + x]) } }
        return Double(sum) / Double(Int(frame.pointee.width) * Int(frame.pointee.height))
    }

    static func parameters(transfer: AVColorTransferCharacteristic) -> UnsafeMutablePointer<AVCodecParameters> {
        let parameters = avcodec_parameters_alloc()!
        parameters.pointee.color_trc = transfer
        parameters.pointee.format = AV_PIX_FMT_YUV420P10LE.rawValue
        return parameters
    }

    @Test(
        "the 18 % grey card (HLG/PQ 38 %) comes out at SDR's 42.5 % (luma 109) and reference white at 88 %, tagged BT.709",
        arguments: [(AVCOL_TRC_ARIB_STD_B67, 0.75), (AVCOL_TRC_SMPTE2084, 0.58)])
    func greyStaysGrey(transfer: AVColorTransferCharacteristic, white: Double) throws {
        var parameters: UnsafeMutablePointer<AVCodecParameters>? = Self.parameters(transfer: transfer)
        defer { avcodec_parameters_free(&parameters) }
        let range = DynamicRange(stream: parameters!, threads: 2, maxPixels: 1 << 20)
        for (code, expected) in [(0.38, 109.0...109.0), (white, 205.0...219.0)] {
            let frame = try Self.field(code: code, transfer: transfer)
            let sdr = try range.standard(frame.pointer)
            #expect(sdr != frame.pointer)
            #expect(sdr.pointee.format == AV_PIX_FMT_YUV420P.rawValue && sdr.pointee.width == 64 && sdr.pointee.height == 48)
            #expect(sdr.pointee.color_trc == AVCOL_TRC_BT709 && sdr.pointee.color_primaries == AVCOL_PRI_BT709 && sdr.pointee.colorspace == AVCOL_SPC_BT709)
            let luma = Self.meanLuma(sdr)
            #expect(luma >= expected.lowerBound - 2 && luma <= expected.upperBound + 2, "code \(code): luma \(luma)")
        }
        #expect(range.hdrTransfer == (transfer == AVCOL_TRC_SMPTE2084 ? .pq : .hlg))
        #expect(range.toneMappedFrames == 2 && range.bitDepth == 10 && range.seconds != nil)
    }

    @Test("an odd-sized HDR frame is tone-mapped too (4:4:4 out, at its size), and a new size rebuilds the graph")
    func oddSize() throws {
        var parameters: UnsafeMutablePointer<AVCodecParameters>? = Self.parameters(transfer: AVCOL_TRC_ARIB_STD_B67)
        defer { avcodec_parameters_free(&parameters) }
        let range = DynamicRange(stream: parameters!, threads: 1, maxPixels: 1 << 20)
        for (width, height, format) in [(63, 47, AV_PIX_FMT_YUV444P), (64, 48, AV_PIX_FMT_YUV420P)] {
            let frame = try Self.field(code: 0.38, transfer: AVCOL_TRC_ARIB_STD_B67, width: width, height: height)
            let sdr = try range.standard(frame.pointer)
            #expect(sdr.pointee.format == format.rawValue && Int(sdr.pointee.width) == width && Int(sdr.pointee.height) == height)
            #expect(abs(Self.meanLuma(sdr) - 109) <= 2, "\(width)×\(height): luma \(Self.meanLuma(sdr))")
        }
    }

    @Test("an SDR frame passes as it is and no filter graph is built")
    func sdrPasses() throws {
        var parameters: UnsafeMutablePointer<AVCodecParameters>? = Self.parameters(transfer: AVCOL_TRC_BT709)
        defer { avcodec_parameters_free(&parameters) }
        let range = DynamicRange(stream: parameters!, threads: 2, maxPixels: 1 << 20)
        for transfer in [AVCOL_TRC_BT709, AVCOL_TRC_UNSPECIFIED, AVCOL_TRC_BT2020_10, AVCOL_TRC_SMPTE170M] {
            let frame = try Self.field(code: 0.5, transfer: transfer)
            #expect(try range.standard(frame.pointer) == frame.pointer)
        }
        #expect(range.hdrTransfer == nil && range.toneMappedFrames == 0 && range.seconds == nil && range.bitDepth == 10)
    }

    @Test("a frame over the pixel limit is refused before it reaches the graph")
    func pixelLimit() throws {
        var parameters: UnsafeMutablePointer<AVCodecParameters>? = Self.parameters(transfer: AVCOL_TRC_SMPTE2084)
        defer { avcodec_parameters_free(&parameters) }
        let range = DynamicRange(stream: parameters!, threads: 1, maxPixels: 1000)
        let frame = try Self.field(code: 0.38, transfer: AVCOL_TRC_SMPTE2084)
        #expect(throws: MediaError.self) { try range.standard(frame.pointer) }
    }
}
