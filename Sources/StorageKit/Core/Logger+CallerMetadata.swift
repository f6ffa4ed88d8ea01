import Logging

extension Logger {
    /// This logger with the metadata of the caller's task-local logger (swift-log's
    /// `Logger.current`, bound with `withLogger(_:_:)`) added where this logger has none for a key:
    /// a storage call made for a job logs the job's `job.id` and `trace.id` without every
    /// operation taking a logger. Outside any `withLogger` scope nothing is added.
    func mergingCallerMetadata() -> Logger {
        let caller = Logger.current.handler.metadata
        guard !caller.isEmpty else { return self }
        var merged = self
        for (key, value) in caller where merged[metadataKey: key] == nil { merged[metadataKey: key] = value }
        return merged
    }
}
