/// "Do this to the next `count` requests that match": a deterministic fault for tests.
public struct FaultRule: Sendable, Equatable {
    /// What happens to a matching request.
    public enum Action: Sendable, Equatable {
        /// Answer with this status (503 `ServerBusy`, 500 `InternalError`) without processing.
        case fail(status: Int)
        /// Process the request, then close the connection without answering: the client cannot
        /// tell whether it succeeded (an "ambiguous success").
        case dropResponse
        /// Process the request, then close the connection after this many response body bytes.
        case cutResponse(afterBytes: Int)
    }

    /// How many more requests this rule applies to.
    public var count: Int
    /// What it does to them.
    public var action: Action
    /// Only requests for this operation (any when nil).
    public var operation: StorageOperation?
    /// Only requests with this HTTP method, upper case (any when nil).
    public var method: String?

    /// Creates a rule.
    public init(count: Int, action: Action, operation: StorageOperation? = nil, method: String? = nil) {
        self.count = count
        self.action = action
        self.operation = operation
        self.method = method?.uppercased()
    }

    /// Creates a rule that fails requests with `status`.
    public init(count: Int, status: Int = 503, operation: StorageOperation? = nil, method: String? = nil) {
        self.init(count: count, action: .fail(status: status), operation: operation, method: method)
    }

    func matches(_ operation: StorageOperation, method: String) -> Bool {
        (self.operation == nil || self.operation == operation) && (self.method == nil || self.method == method)
    }
}
