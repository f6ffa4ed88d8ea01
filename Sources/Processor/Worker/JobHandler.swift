import Crypto
import Foundation
import Logging
import MediaKit
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// Handles one queue message, end to end: parse, lease, idempotency check, quarantine, download,
/// process, upload, status, webhook, delete; failures are settled by the `FailurePolicy`
/// (`JobHandler+Failure.swift`). Every path ends with the message deleted (done or
/// poisoned), released for a later retry, or left to a worker that took the lease over.
struct JobHandler: Sendable {
    let blobs: BlobClient
    let queues: QueueClient
    let configuration: ProcessorConfiguration
    let webhook: Webhooks
    let names: Names
    /// Where codec work runs (a child process per job by default).
    let runner: MediaRunner

    struct Names: Sendable {
        var queue = PipelineNames.jobQueue
        var poisonQueue = PipelineNames.poisonQueue
        var rawContainer = PipelineNames.rawContainer
        var processedContainer = PipelineNames.processedContainer
        var statusContainer = PipelineNames.statusContainer
    }

    /// How a message ended, for metrics and tests.
    enum Outcome: String, Sendable {
        case succeeded, alreadyDone = "already_done", poisoned, retrying, released, leaseLost = "lease_lost"
    }

    /// The retry policy (from the profile).
    var policy: FailurePolicy { configuration.profile.retry }

    /// Handles one message received at `receivedAt` (when the receive request was sent: the lease's
    /// held time counts from it).
    func handle(_ message: QueueMessage, receivedAt: ContinuousClock.Instant = .now, logger baseLogger: Logger) async -> Outcome {
        var logger = baseLogger
        logger[metadataKey: "queue.message_id"] = "\(message.id)"
        let job: MediaJob
        do {
            job = try JobMessage.job(from: message.text, rawContainer: names.rawContainer)
        } catch {
            await poison(message, job: nil, code: "malformed", reason: "\(error)", lease: nil, logger: logger)
            return .poisoned
        }
        logger[metadataKey: "job.id"] = "\(job.jobId)"
        logger[metadataKey: "trace.id"] = "\(job.traceId)"
        if let tenant = job.tenant { logger[metadataKey: "tenant"] = "\(tenant)" }
        let media = job.input.mediaType.hasPrefix("video/") ? "video" : job.input.mediaType.hasPrefix("audio/") ? "audio" : "image"
        do {
            // Bound as the task's logger too: StorageKit's own lines (retries, failed calls) for this
            // job carry its job id and trace id.
            let jobLogger = logger
            let outcome = try await withLogger(jobLogger) { jobLogger in
                try await queues.withLease(
                    message, in: names.queue, visibilityTimeout: configuration.visibilityTimeout, receivedAt: receivedAt, logger: jobLogger
                ) { lease in
                    try await run(job, message: message, lease: lease, logger: jobLogger)
                }
            }
            ProcessorMetrics.job(outcome: outcome.rawValue, media: media)
            return outcome
        } catch let error as LeaseLostError {
            logger.warning("lease lost; another worker has the job", metadata: ["reason": "\(error.reason)"])
            ProcessorMetrics.job(outcome: "lease_lost", media: media)
            return .leaseLost
        } catch is CancellationError {
            ProcessorMetrics.job(outcome: "released", media: media)
            return .released
        } catch {
            // A failure of the lease itself (releasing or deleting): the message comes back when
            // its visibility ends.
            logger.error("job failed unexpectedly", metadata: ["error": "\(error)"])
            return .retrying
        }
    }

    /// The work under the lease. Every failure goes to `settle`, which asks the policy.
    private func run(_ job: MediaJob, message: QueueMessage, lease: MessageLease, logger: Logger) async throws -> Outcome {
        var clock = Stopwatch()
        var attempt = Attempt(job: job)
        do {
            attempt.stored = try await storedStatus(of: job.jobId, tenant: job.tenant)
        } catch {
            return try await settle(error, message: message, attempt: attempt, lease: lease, logger: logger)
        }
        if let existing = attempt.stored?.status, existing.status == .succeeded || existing.status == .failed {
            logger.info("already done; deleting the redelivered message", metadata: ["status": "\(existing.status.rawValue)"])
            try await lease.complete()
            return .alreadyDone
        }
        // A message that keeps coming back without an answer (a worker that dies on it) has had its
        // chances by the same rule as transient failures; it is quarantined before anything decodes
        // it. Never tried: its age counts from when it was queued.
        let previous = message.dequeueCount - 1
        if previous >= policy.poisonAfterDeliveries,
            policy.gaveUp(delivery: previous, age: attempt.age(orSince: message.insertionTime))
        {
            let reason =
                "max deliveries exceeded: delivered \(message.dequeueCount) times (limit \(policy.poisonAfterDeliveries) over \(policy.poisonAfterSeconds) s) without an answer; not processed again"
            return try await giveUp(code: "max_deliveries", reason: reason, message: message, attempt: attempt, lease: lease, logger: logger)
        }
        let base = attempt.document.processing(attempt: message.dequeueCount)
        do {
            // The ETag of our `processing` document: the final write (succeeded or failed) is
            // conditional on it, so when two deliveries of one job race, exactly one writes it.
            attempt.claim(base, etag: try await write(base))
            var timings: [String: Double] = [:]
            let work = WorkDirectory(parent: configuration.tempDirectory, jobId: job.jobId)
            defer { work.remove() }  // a video's input and outputs, on every path
            let produced = try await produce(job, work: work, clock: &clock, timings: &timings, logger: logger)
            _ = clock.lap()
            var outputs: [JobStatus.Output] = []
            for output in produced.outputs {
                try Task.checkCancellation()  // a lost lease cancels us: no further outputs
                // An output's companions first (the HLS ladder's playlists and segments under
                // `hls/`), so the output that names them (`hls/master.m3u8`) is there only when they are.
                if let companions = output.companions { try await uploadCompanions(companions, of: job) }
                let blob = "\(job.jobId)/\(output.name)"
                let options = BlobUploadOptions(contentType: output.contentType, cacheControl: "public, max-age=31536000, immutable")
                _ = try await blobs.upload(names.processedContainer, blob, fromFile: output.path, options: options)
                outputs.append(
                    .init(
                        name: output.name, contentType: output.contentType, bytes: output.bytes, width: output.width, height: output.height,
                        durationSeconds: output.durationSeconds, container: names.processedContainer, blob: blob,
                        thumbHash: output.placeholder?.hash, averageColor: output.placeholder?.averageColor))
            }
            timings["upload"] = clock.lap()
            ProcessorMetrics.stage("upload", seconds: timings["upload"]!)
            try Task.checkCancellation()
            var done = base.succeeded(outputs: outputs, timings: timings)
            done.media = produced.media
            if let main = outputs.first, job.input.bytes > 0 {
                done.compressionRatio = (Double(main.bytes) / Double(job.input.bytes) * 10_000).rounded() / 10_000
            }
            guard try await writeFinal(done, attempt: attempt) else {
                logger.info("already done by another delivery; deleting this one")
                try await lease.complete()
                return .alreadyDone
            }
            try await lease.complete()
            logger.info("job succeeded", metadata: ["outputs": "\(outputs.count)", "seconds": "\(timings.values.reduce(0, +))"])
            await notify(done, logger: logger)
            return .succeeded
        } catch {
            return try await settle(error, message: message, attempt: attempt, lease: lease, logger: logger)
        }
    }

    /// Uploads files that go with an output (each under `{jobId}/{name}`, not listed in the status),
    /// four at a time.
    private func uploadCompanions(_ files: [MediaFile], of job: MediaJob) async throws {
        let blobs = self.blobs
        let container = names.processedContainer
        let jobId = job.jobId
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, file) in files.enumerated() {
                if index >= 4 { try await group.next() }  // at most four at once
                group.addTask {
                    try Task.checkCancellation()
                    let options = BlobUploadOptions(contentType: file.contentType, cacheControl: "public, max-age=31536000, immutable")
                    _ = try await blobs.upload(container, "\(jobId)/\(file.name)", fromFile: file.path, options: options)
                }
            }
            try await group.waitForAll()
        }
    }

    /// The outputs to upload (files in the job's work directory) and the source's facts.
    struct Produced {
        var outputs: [MediaFile]
        var media: JobStatus.SourceMedia?
    }

    /// Decides what the input is from its first bytes (one ranged read, the shared sniffer: the
    /// declared type of an Event Grid job was never checked), refuses it under the cap for its kind
    /// before anything large is downloaded, streams it to the job's work directory, and runs the
    /// pipeline there — in a child process under limits unless isolation is off. The directory is
    /// always removed by the caller.
    private func produce(_ job: MediaJob, work: WorkDirectory, clock: inout Stopwatch, timings: inout [String: Double], logger: Logger) async throws
        -> Produced
    {
        let limits = configuration.profile.limits
        let head: (bytes: ByteBuffer, properties: BlobProperties)
        do {
            head = try await blobs.downloadPrefix(job.input.container, job.input.blob, count: MediaType.sniffLength)
        } catch let error as StorageError where error.status == 416 {
            throw MediaError(.corrupt, "the file is empty")
        } catch let error as StorageError where error.isNotFound {
            throw PermanentJobFailure(code: "input_missing", reason: "the uploaded file \(job.input.container)/\(job.input.blob) no longer exists (\(error.code))")
        }
        guard let type = MediaType.sniff(head.bytes.readableBytesView) else {
            throw MediaError(.unsupported, "not a supported image, video or audio format")
        }
        let cap = limits.maxInputBytes(isImage: type.kind == .image)
        let size = max(head.properties.contentLength, job.input.bytes)
        if size > cap {
            throw MediaError(.limit, "the \(type.kind == .image ? "image" : "file") is \(size) bytes, over the \(cap)-byte limit\(type.kind == .image ? " for images" : "")")
        }
        try work.create()
        let inputPath = work.path("input")
        _ = try await blobs.download(job.input.container, job.input.blob, toFile: inputPath)
        timings["download"] = clock.lap()
        ProcessorMetrics.stage("download", seconds: timings["download"]!)
        if !job.input.md5.isEmpty { try verify(md5: try WorkDirectory.md5(ofFile: inputPath), of: job) }
        let outputDirectory = work.path("out")
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let report = try await runner.run(input: inputPath, type: type, directory: outputDirectory, profile: configuration.profile, logger: logger)
        unlink(inputPath)
        record(report.timings, into: &timings)
        return Produced(
            outputs: report.outputs,
            media: report.media.map(JobStatus.SourceMedia.init(video:)) ?? report.image.map(JobStatus.SourceMedia.init(image:))
                ?? report.audio.map(JobStatus.SourceMedia.init(audio:)))
    }

    private func verify(md5: String, of job: MediaJob) throws {
        guard job.input.md5.isEmpty || md5 == job.input.md5 else {
            throw MediaError(.corrupt, "the input's MD5 \(md5) is not the \(job.input.md5) it was uploaded with")
        }
    }

    private func record(_ stages: [String: Double], into timings: inout [String: Double]) {
        for (stage, seconds) in stages {
            timings[stage] = seconds
            ProcessorMetrics.stage(stage, seconds: seconds)
        }
    }
}

/// Seconds between laps.
struct Stopwatch {
    private var last = ContinuousClock.now
    mutating func lap() -> Double {
        let now = ContinuousClock.now
        defer { last = now }
        let elapsed = now - last
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
