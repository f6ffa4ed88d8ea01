import Foundation
import QueueKit

/// How `processor replay` prints entries: a tab-separated table for people, or JSON lines.
enum ReplayReport {
    static let header = ["action", "failedAt", "jobId", "code", "status", "deliveries", "reason"].joined(separator: "\t")

    static func line(_ item: PoisonReplay.Item) -> String {
        let entry = item.entry
        var reason = entry?.reason ?? ""
        if let detail = item.detail { reason += reason.isEmpty ? detail : " — \(detail)" }
        return [
            item.action.rawValue, entry.map { JobCoding.encoder().dateString($0.failedAt) } ?? "-", entry?.jobId ?? "-", entry?.code ?? "-",
            item.status?.rawValue ?? "-", entry.map { "\($0.dequeueCount)" } ?? "-", reason.replacingOccurrences(of: "\n", with: " "),
        ].joined(separator: "\t")
    }

    /// One entry as JSON: the entry's fields (without the original text), the action and the status.
    struct Line: Encodable {
        var messageId: String
        var action: String
        var status: String?
        var detail: String?
        var jobId: String?
        var code: String?
        var reason: String?
        var dequeueCount: Int?
        var failedAt: Date?
        var input: BlobReference?
        var originalMessageId: String?
        var originalTextTruncated: Bool?
    }

    static func json(_ item: PoisonReplay.Item) -> String {
        let entry = item.entry
        let line = Line(
            messageId: item.messageId, action: item.action.rawValue, status: item.status?.rawValue, detail: item.detail, jobId: entry?.jobId,
            code: entry?.code, reason: entry?.reason, dequeueCount: entry?.dequeueCount, failedAt: entry?.failedAt, input: entry?.input,
            originalMessageId: entry?.originalMessageId, originalTextTruncated: entry?.originalTextTruncated)
        return (try? String(decoding: JobCoding.encoder().encode(line), as: UTF8.self)) ?? "{}"
    }

    static func summary(_ items: [PoisonReplay.Item], dryRun: Bool) -> String {
        var counts: [String: Int] = [:]
        for item in items { counts[item.action.rawValue, default: 0] += 1 }
        let parts = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        return "\(items.count) poison entr\(items.count == 1 ? "y" : "ies")\(dryRun ? " (dry run, nothing changed)" : "")" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
    }
}

extension JSONEncoder {
    /// A date as this encoder writes it (without quotes).
    fileprivate func dateString(_ date: Date) -> String {
        ((try? String(decoding: encode([date]), as: UTF8.self)) ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "[]\""))
    }
}
