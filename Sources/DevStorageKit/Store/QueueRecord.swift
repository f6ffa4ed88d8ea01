import Foundation

/// A queue as stored in `queue.json`.
struct QueueRecord: Codable, Sendable, Equatable {
    var name: String
    var metadata: [String: String]
}
