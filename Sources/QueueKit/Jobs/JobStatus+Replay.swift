import Foundation

extension JobStatus {
    /// Back to `queued` for a replay from the poison queue: the failure and any outputs are
    /// cleared (the processor deletes a delivery of a `failed` job as already done), and so is the
    /// first attempt's time (the replayed job gets the retry policy's full patience again); the
    /// history (creation time, attempts, timings) stays.
    public func requeued(now: Date = Date()) -> JobStatus {
        var next = self
        next.status = .queued
        next.error = nil
        next.outputs = []
        next.compressionRatio = nil
        next.firstAttemptAt = nil
        next.updatedAt = now.jobPrecision
        return next
    }
}
