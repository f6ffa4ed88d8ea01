import Foundation
import MediaKit

/// `processor process`: the pipeline on a local file.
enum OneShot {
    struct Report: Encodable {
        let input: String
        let outputs: [String: Int]
        let width: Int?
        let height: Int?
        let timings: [String: Double]

        var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
        }
    }

    static func process(input: String, out: String, profile: ProcessingProfile) async -> Result<Report, MediaError> {
        guard let data = FileManager.default.contents(atPath: input) else { return .failure(MediaError(.corrupt, "cannot read \(input)")) }
        do {
            let result = try await ImagePipeline.process(Array(data), profile: profile.image, limits: profile.limits)
            let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
            let directory = (out as NSString).appendingPathComponent(stem)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var sizes: [String: Int] = [:]
            for output in result.outputs {
                try Data(output.data).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(output.name)))
                sizes[output.name] = output.data.count
            }
            return .success(Report(input: input, outputs: sizes, width: result.outputs.first?.width, height: result.outputs.first?.height, timings: result.timings))
        } catch let error as MediaError {
            return .failure(error)
        } catch {
            return .failure(MediaError(.internal, "\(error)"))
        }
    }
}
