import Crypto
import Foundation
import QueueKit

/// What a queue message asks for: a `MediaJob` from the uploader, or an Event Grid
/// `Microsoft.Storage.BlobCreated` event (Event Grid or CloudEvents schema, base64 or plain text)
/// for a file dropped straight into the raw container.
enum JobMessage {
    struct Malformed: Error, CustomStringConvertible { let description: String }

    /// The job the message describes. Events get a job id derived from the blob's URL and ETag, so a
    /// redelivered event is the same job.
    static func job(from text: String, rawContainer: String) throws -> MediaJob {
        if let job = try? MediaJob.decode(messageText: text) { return job }
        let json = JobCoding.json(fromMessageText: text)
        guard let object = try? JSONSerialization.jsonObject(with: json) else {
            throw Malformed(description: "the message is neither a job nor an Event Grid event")
        }
        let event = (object as? [[String: Any]])?.first ?? (object as? [String: Any]) ?? [:]
        let type = event["eventType"] as? String ?? event["type"] as? String
        guard let type else { throw Malformed(description: "the message is neither a job nor an Event Grid event") }
        guard type == "Microsoft.Storage.BlobCreated" else { throw Malformed(description: "unsupported event type \(type)") }
        let data = event["data"] as? [String: Any] ?? [:]
        guard let url = data["url"] as? String, let parsed = URL(string: url) else { throw Malformed(description: "BlobCreated event without a blob URL") }
        // Path-style (devstorage: /account/container/blob) or host-style (/container/blob).
        var components = parsed.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if let index = components.firstIndex(of: rawContainer) { components.removeFirst(index) }
        guard components.count >= 2, components[0] == rawContainer else {
            throw Malformed(description: "BlobCreated event for \(parsed.path), not in \(rawContainer)")
        }
        let blob = components.dropFirst().joined(separator: "/").removingPercentEncoding ?? components.dropFirst().joined(separator: "/")
        let etag = data["eTag"] as? String ?? ""
        let digest = Array(SHA256.hash(data: Data("\(url)\n\(etag)".utf8)))
        let hex = digest.prefix(16).map { String(format: "%02x", $0) }.joined()
        let jobId = "\(hex.prefix(8))-\(hex.dropFirst(8).prefix(4))-\(hex.dropFirst(12).prefix(4))-\(hex.dropFirst(16).prefix(4))-\(hex.dropFirst(20))"
        let input = BlobReference(
            container: rawContainer, blob: blob, bytes: data["contentLength"] as? Int ?? 0,
            mediaType: data["contentType"] as? String ?? "application/octet-stream", md5: "")
        let time = (event["eventTime"] as? String ?? event["time"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date()
        return MediaJob(jobId: jobId, input: input, originalName: blob.split(separator: "/").last.map(String.init), submittedAt: time.jobPrecision)
    }
}
