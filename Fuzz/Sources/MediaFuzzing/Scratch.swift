import Foundation

/// A private temporary directory per target: each input is written to `input` and the pipeline
/// writes into a fresh, empty `out`, as the processor does with a download.
struct Scratch {
    let directory: String

    init(_ name: String) {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("fuzz-\(name)-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp: \(errno)") }
        directory = String(cString: made)
    }

    /// Writes `input` and empties the output directory; returns both paths.
    func prepare(_ input: [UInt8]) -> (inputPath: String, work: String) {
        let inputPath = (directory as NSString).appendingPathComponent("input")
        let work = (directory as NSString).appendingPathComponent("out")
        try? FileManager.default.removeItem(atPath: work)
        guard FileManager.default.createFile(atPath: inputPath, contents: Data(input)),
            (try? FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: false)) != nil
        else { fatalError("cannot write into \(directory)") }
        return (inputPath, work)
    }
}
