/// The names the two daemons agree on.
public enum PipelineNames {
    /// Container for uploaded originals.
    public static let rawContainer = "rawfiles"
    /// Container for processed outputs.
    public static let processedContainer = "processed"
    /// Container for job status documents (`{jobId}.json`).
    public static let statusContainer = "jobstatus"
    /// The job queue.
    public static let jobQueue = "jobqueue"
    /// Where hopeless jobs go, with a reason (never expires).
    public static let poisonQueue = "jobqueue-poison"
}
