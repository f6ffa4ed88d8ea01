import Foundation
import Testing

@testable import MediaKit

/// Debian 12's libheif 1.15.1 follows a HEIF's item references (grid tiles, alpha items) without a
/// bound; `HEIFItemGraph` reads them first and refuses cycles, deep nesting and runaway fan-out.
@Suite("HEIF item references")
struct HEIFItemGraphTests {
    static func regression(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fuzz-regressions/libheif-1.15.1-\(name).heic")
    }

    /// One ISOBMFF box; `size` overrides the real one (as a mutated file has it).
    static func box(_ type: String, _ body: [UInt8], size: UInt32? = nil) -> [UInt8] {
        let length = size ?? UInt32(8 + body.count)
        return withUnsafeBytes(of: length.bigEndian, Array.init) + Array(type.utf8) + body
    }

    static func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    /// A reference box of `iref` version 0.
    static func reference(_ type: String, from: Int, to: [Int], size: UInt32? = nil) -> [UInt8] {
        box(type, u16(from) + u16(to.count) + to.flatMap(u16), size: size)
    }

    /// `ftyp` and a `meta` with `pitm` (version 0) and `iref` (version 0) holding `references`.
    static func file(primary: Int, _ references: [[UInt8]]) -> [UInt8] {
        let ftyp = box("ftyp", Array("heic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8))
        let hdlr = box("hdlr", [0, 0, 0, 0, 0, 0, 0, 0] + Array("pict".utf8) + [UInt8](repeating: 0, count: 13))
        let pitm = box("pitm", [0, 0, 0, 0] + u16(primary))
        let iref = box("iref", [0, 0, 0, 0] + references.flatMap { $0 })
        return ftyp + box("meta", [0, 0, 0, 0] + hdlr + pitm + iref)
    }

    static func refusal(_ data: [UInt8]) -> MediaError? {
        do {
            try HEIFItemGraph.check(data)
            return nil
        } catch {
            return error
        }
    }

    @Test("a photo's grid of tiles with an alpha grid is decoded")
    func ordinaryGrid() throws {
        // Item 1: the primary grid of 48 tiles (10...57); item 2: its alpha, a grid of 48 tiles (60...107).
        let data = Self.file(primary: 1, [
            Self.reference("dimg", from: 1, to: Array(10...57)),
            Self.reference("dimg", from: 2, to: Array(60...107)),
            Self.reference("auxl", from: 2, to: [1]),
            Self.reference("thmb", from: 200, to: [1]),
        ])
        let graph = try #require(HEIFItemGraph(data))
        #expect(graph.primary == 1)
        #expect(graph.decodes[1] == Array(10...57) + [2])
        #expect(Self.refusal(data) == nil)
    }

    @Test("an alpha item that is a grid of the primary image is a reference cycle")
    func alphaCycle() {
        let data = Self.file(primary: 2, [
            Self.reference("dimg", from: 2, to: [1]),
            Self.reference("dimg", from: 4, to: [2]),
            Self.reference("auxl", from: 4, to: [2]),
        ])
        #expect(Self.refusal(data)?.code == .corrupt)
        #expect(Self.refusal(data)?.reason.contains("cycle") == true)
    }

    @Test("a reference box whose size field is wrong counts, as libheif reads it")
    func wrongReferenceSize() {
        let data = Self.file(primary: 2, [
            Self.reference("dimg", from: 2, to: [1]),
            Self.reference("dimg", from: 4, to: [2]),
            Self.reference("auxl", from: 4, to: [2], size: 0xFFFF_F70E),
        ])
        #expect(Self.refusal(data)?.code == .corrupt)
    }

    @Test("grids that each use the next one many times are over the limit")
    func fanOut() {
        // 3 levels of 20 references: 8,000 tile decodes from a few hundred bytes.
        let data = Self.file(primary: 1, [
            Self.reference("dimg", from: 1, to: Array(repeating: 2, count: 20)),
            Self.reference("dimg", from: 2, to: Array(repeating: 3, count: 20)),
            Self.reference("dimg", from: 3, to: Array(repeating: 4, count: 20)),
        ])
        let refusal = Self.refusal(data)
        #expect(refusal?.code == .limit)
        #expect(refusal?.reason.contains("4096") == true)
    }

    @Test("items nested deeper than the limit are refused")
    func depth() {
        let chain = (1...HEIFItemGraph.maxDepth).map { Self.reference("dimg", from: $0, to: [$0 + 1]) }
        #expect(Self.refusal(Self.file(primary: 1, chain))?.code == .limit)
        #expect(Self.refusal(Self.file(primary: 1, Array(chain.dropLast()))) == nil)
    }

    @Test("a file without a readable meta box is left to libheif")
    func unreadable() {
        #expect(HEIFItemGraph([]) == nil)
        #expect(HEIFItemGraph(Array("not a heif at all".utf8)) == nil)
        #expect(Self.refusal(Self.box("ftyp", [1, 2, 3]) + Self.box("meta", [0, 0], size: 0xFFFF)) == nil)
    }

    @Test("the fuzzer's HEICs on which libheif recursed on a new thread per level fail as corrupt", arguments: ["alpha-grid-cycle", "oom-abort"])
    func cycles(name: String) throws {
        let data = [UInt8](try Data(contentsOf: Self.regression(name)))
        #expect(Self.refusal(data)?.code == .corrupt)
        #expect(throws: MediaError(.corrupt, "HEIF: item 2 refers back to itself through its tiles or alpha (a reference cycle)")) {
            _ = try HEIFCodec.decode(data)
        }
    }

    /// Without libheif's size limit at the primary image's size these two crash the process
    /// (SIGSEGV after allocating 2 GB): the limits of the child process were their only stop.
    @Test("the fuzzer's HEICs whose grid is far larger than the image fail as corrupt in the process", arguments: ["segv", "slow-segv"])
    func oversizedGrids(name: String) throws {
        let data = [UInt8](try Data(contentsOf: Self.regression(name)))
        let header = try HEIFCodec.header(data)
        #expect(header.width < 100 && header.height < 100)
        do {
            _ = try HEIFCodec.decode(data)
            Issue.record("a grid of 26,988 pixels a side decoded")
        } catch {
            #expect(error.code == .corrupt)
            #expect(error.reason.contains("exceeds the maximum image size"))
        }
    }
}
