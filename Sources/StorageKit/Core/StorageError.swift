/// Every failure StorageKit and QueueKit report: a service error decoded from `x-ms-error-code`
/// and the XML body, a transport failure, or a local misuse.
///
/// `code` is opaque: new codes never break a caller's `switch` over the static members.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// An error code: Azure's `x-ms-error-code` value, or one of StorageKit's own.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code as Azure spells it.
        public let rawValue: String
        /// Creates a code.
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // Azure Storage codes (the subset we act on; others pass through as they are).
        public static let authenticationFailed = Code(rawValue: "AuthenticationFailed")
        public static let authorizationFailure = Code(rawValue: "AuthorizationFailure")
        public static let authorizationPermissionMismatch = Code(rawValue: "AuthorizationPermissionMismatch")
        public static let blobAlreadyExists = Code(rawValue: "BlobAlreadyExists")
        public static let blobNotFound = Code(rawValue: "BlobNotFound")
        public static let conditionNotMet = Code(rawValue: "ConditionNotMet")
        public static let containerAlreadyExists = Code(rawValue: "ContainerAlreadyExists")
        public static let containerNotFound = Code(rawValue: "ContainerNotFound")
        public static let internalError = Code(rawValue: "InternalError")
        public static let invalidBlockList = Code(rawValue: "InvalidBlockList")
        public static let invalidRange = Code(rawValue: "InvalidRange")
        public static let md5Mismatch = Code(rawValue: "Md5Mismatch")
        public static let messageNotFound = Code(rawValue: "MessageNotFound")
        public static let messageTooLarge = Code(rawValue: "MessageTooLarge")
        public static let operationTimedOut = Code(rawValue: "OperationTimedOut")
        public static let popReceiptMismatch = Code(rawValue: "PopReceiptMismatch")
        public static let queueAlreadyExists = Code(rawValue: "QueueAlreadyExists")
        public static let queueNotFound = Code(rawValue: "QueueNotFound")
        public static let requestBodyTooLarge = Code(rawValue: "RequestBodyTooLarge")
        public static let resourceNotFound = Code(rawValue: "ResourceNotFound")
        public static let serverBusy = Code(rawValue: "ServerBusy")

        // StorageKit's own codes.
        /// A response with no error code (e.g. 304, or a HEAD error).
        public static let unknown = Code(rawValue: "Unknown")
        /// The connection failed, was reset, or no response arrived in time.
        public static let transport = Code(rawValue: "TransportError")
        /// The HTTP client was shut down (the process is stopping): never retried.
        public static let clientShutDown = Code(rawValue: "ClientShutDown")
        /// An attempt or the whole operation ran past its deadline.
        public static let timeout = Code(rawValue: "Timeout")
        /// The connection string, key or identity settings are unusable.
        public static let invalidConfiguration = Code(rawValue: "InvalidConfiguration")
        /// The service answered something StorageKit could not read.
        public static let invalidResponse = Code(rawValue: "InvalidResponse")
        /// A token request to Microsoft Entra ID failed.
        public static let tokenRequestFailed = Code(rawValue: "TokenRequestFailed")
        /// A caller-supplied argument is out of range.
        public static let invalidArgument = Code(rawValue: "InvalidArgument")
        /// The credential cannot sign what was asked (a SAS credential asked for a download link).
        public static let cannotSign = Code(rawValue: "CannotSign")
    }

    /// What went wrong.
    public let code: Code
    /// The HTTP status, when the service answered.
    public let status: Int?
    /// The service's `x-ms-request-id`, when it answered.
    public let requestID: String?
    /// The service's or StorageKit's message.
    public let message: String?
    /// The operation that failed, e.g. `PutBlob`.
    public var operation: String?
    /// An earlier attempt of the same call may have taken effect: it timed out, lost its connection
    /// or got a 5xx before this error ended the call. A 404 from a retried Delete, a 409 from a
    /// retried create-only write or a stale pop receipt from a retried Update Message can then be
    /// the caller's own earlier success (the execute core sets it).
    public var afterUncertainAttempt = false

    /// Creates an error.
    public init(_ code: Code, status: Int? = nil, requestID: String? = nil, message: String? = nil, operation: String? = nil) {
        self.code = code
        self.status = status
        self.requestID = requestID
        self.message = message
        self.operation = operation
    }

    public var description: String {
        var text = "StorageError(\(code)"
        if let operation { text += ", operation: \(operation)" }
        if let status { text += ", status: \(status)" }
        if let requestID { text += ", requestID: \(requestID)" }
        if let message { text += ", message: \(message.split(separator: "\n").first ?? "")" }
        return text + ")"
    }

    /// Whether the failure is worth another attempt (throttling, server faults, transport, timeouts).
    public var isTransient: Bool {
        if code == .transport || code == .timeout { return true }
        guard let status else { return false }
        return [408, 429, 500, 502, 503, 504].contains(status)
    }

    /// A 404 of any kind.
    public var isNotFound: Bool { status == 404 }

    /// The request may have been carried out although no success answer arrived: no response
    /// (transport failure, timeout) or a 5xx other than 503 `ServerBusy` (which Azure sends before
    /// doing anything).
    var mayHaveTakenEffect: Bool {
        guard let status else { return code == .transport || code == .timeout }
        return status >= 500 && code != .serverBusy
    }
}
