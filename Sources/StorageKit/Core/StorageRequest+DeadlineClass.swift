extension StorageRequest {
    /// Which deadlines a request gets. The one place that decides it is
    /// `classify(operation:bodyBytes:responseLimit:)`; `RetryPolicy.deadlines(for:)` maps a class
    /// to its per-attempt and overall durations.
    ///
    /// Opaque like `StorageError.Code`: a new class never breaks a caller's `switch`.
    public struct DeadlineClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The class's name (for logs).
        public let rawValue: String
        /// Creates a class.
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Small operations: queue messages (Put, Get, Peek, Update, Delete), status documents
        /// (small blob puts and capped reads), properties, metadata, deletes, listings, containers and
        /// queues. Short per-attempt timeout and a short overall deadline
        /// (`RetryPolicy.smallAttemptTimeout`, `smallOverallTimeout`).
        public static let small = DeadlineClass(rawValue: "small")
        /// Data transfers: Put Block, Put Block From URL, Copy Blob, Put Block List, Put Blob with a
        /// large body and uncapped or large reads. Each request is one block, so the general
        /// per-attempt and overall deadlines are per block (`RetryPolicy.attemptTimeout`,
        /// `overallTimeout`).
        public static let transfer = DeadlineClass(rawValue: "transfer")

        /// Bodies (sent or read) up to this size keep an operation small: 1 MiB.
        public static let smallBodyLimit = 1 << 20

        /// Operations that move blob data whatever their size.
        static let transferOperations: Set<String> = ["PutBlock", "PutBlockFromURL", "PutBlockList", "CopyBlob"]

        /// The classification: transfers are the data-moving operations above, any request whose
        /// body is over `smallBodyLimit`, and a Get Blob whose caller reads more than that (or does
        /// not cap what it reads); everything else is small.
        public static func classify(operation: String, bodyBytes: Int, responseLimit: Int?) -> DeadlineClass {
            if transferOperations.contains(operation) || bodyBytes > smallBodyLimit { return .transfer }
            if operation == "GetBlob" {
                guard let responseLimit, responseLimit <= smallBodyLimit else { return .transfer }
            }
            return .small
        }
    }
}
