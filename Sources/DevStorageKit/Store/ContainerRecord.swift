import Foundation

/// A container as stored in `container.json`.
struct ContainerRecord: Codable, Sendable, Equatable {
    var name: String
    var etag: String
    var lastModified: Date
    var metadata: [String: String]
}
