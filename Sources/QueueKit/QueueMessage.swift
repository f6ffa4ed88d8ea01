import Foundation

/// A message received from a queue: its text and what is needed to delete or update it.
public struct QueueMessage: Sendable, Equatable {
    /// The message id (a GUID).
    public var id: String
    /// The pop receipt of this delivery (changes on every receive and update).
    public var popReceipt: String
    /// The message text.
    public var text: String
    /// How many times it has been received, this delivery included.
    public var dequeueCount: Int
    /// When it was put.
    public var insertionTime: Date?
    /// When it expires (`nil` when it never does).
    public var expirationTime: Date?
    /// When it becomes visible again.
    public var nextVisibleTime: Date?
}

/// A message seen by Peek Messages: no receipt, no state change.
public struct PeekedMessage: Sendable, Equatable {
    /// The message id.
    public var id: String
    /// The message text.
    public var text: String
    /// Deliveries so far.
    public var dequeueCount: Int
    /// When it was put.
    public var insertionTime: Date?
    /// When it expires (`nil` when it never does: sent with TTL −1).
    public var expirationTime: Date?
}

/// What Put Message answers.
public struct EnqueuedMessage: Sendable, Equatable {
    /// The new message's id.
    public var id: String
    /// A receipt usable to update or delete it before anyone receives it.
    public var popReceipt: String
    /// When it becomes visible.
    public var nextVisibleTime: Date?
    /// When it expires (`nil` = never).
    public var expirationTime: Date?
}

/// The XML of `<QueueMessagesList>`.
struct QueueMessagesList: Decodable {
    struct Item: Decodable {
        var MessageId: String
        var InsertionTime: String?
        var ExpirationTime: String?
        var PopReceipt: String?
        var TimeNextVisible: String?
        var DequeueCount: Int?
        var MessageText: String?
    }
    var QueueMessage: [Item]?
}
