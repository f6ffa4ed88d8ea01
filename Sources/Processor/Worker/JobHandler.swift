import Crypto
import Foundation
import Logging
import MediaKit
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// Handles one queue message, end to end: quarantine, parse, idempotency check, lease, download,
/// process, upload, status, webhook, delete. Every path ends with the message deleted (done or
/// poisoned), released for a later retry, or left to a worker that took the lease over.
struct JobHandler: Sendable {
    let blobs: BlobClient
    let queues: QueueClient
    let configuration: ProcessorConfiguration
    let webhook: Webhook?
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

    func handle(_ message: QueueMessage, logger baseLogger: Logger) async -> Outcome {
        var logger = baseLogger
        logger[metadataKey: "queue.message_id"] = "\(message.id)"
        // A message delivered more often than allowed is quarantined before anything decodes it:
        // a file that crashes the worker cannot crash it forever.
        let job: MediaJob
        do {
            job = try JobMessage.job(from: message.text, rawContainer: names.rawContainer)
        } catch {
            await poison(message, job: nil, code: "malformed", reason: "\(error)", logger: logger)
            return .poisoned
        }
        logger[metadataKey: "job.id"] = "\(job.jobId)"
        logger[metadataKey: "trace.id"] = "\(job.traceId)"
        let media = job.input.mediaType.hasPrefix("video/") ? "video" : "image"
        if message.dequeueCount > configuration.maxDequeueCount {
            await poison(
                message, job: job, code: "max_deliveries",
                reason: "max deliveries exceeded: delivered \(message.dequeueCount) times (limit \(configuration.maxDequeueCount)); not processed again",
                logger: logger)
            ProcessorMetrics.job(outcome: "poisoned", media: media)
            return .poisoned
        }

        do {
            let jobLogger = logger
            let outcome = try await queues.withLease(message, in: names.queue, visibilityTimeout: configuration.visibilityTimeout, logger: logger) { lease in
                try await run(job, message: message, lease: lease, logger: jobLogger)
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
            logger.error("job failed unexpectedly", metadata: ["error": "\(error)"])
            return .retrying
        }
    }

    /// The work under the lease.
    private func run(_ job: MediaJob, message: QueueMessage, lease: MessageLease, logger: Logger) async throws -> Outcome {
        var clock = Stopwatch()
        let existing: JobStatus?
        do {
            existing = try await status(of: job.jobId)
        } catch {
            return try await retryLater(lease, message: message, job: job, reason: "reading the job status: \(error)", logger: logger)
        }
        if let existing, existing.status == .succeeded || existing.status == .failed {
            logger.info("already done; deleting the redelivered message", metadata: ["status": "\(existing.status.rawValue)"])
            try await lease.complete()
            return .alreadyDone
        }
        let base = (existing ?? JobStatus(queued: job)).processing(attempt: message.dequeueCount)
        do {
            // The ETag of our `processing` document: the final write is conditional on it, so when two
            // deliveries of one job race, exactly one writes the done marker.
            let claimed = try await write(base)
            var timings: [String: Double] = [:]
            let work = WorkDirectory(parent: configuration.tempDirectory, jobId: job.jobId)
            defer { work.remove() }  // a video's input and outputs, on every path
            let produced = try await produce(job, work: work, clock: &clock, timings: &timings, logger: logger)
            _ = clock.lap()
            var outputs: [JobStatus.Output] = []
            for output in produced.outputs {
                try Task.checkCancellation()  // a lost lease cancels us: no further outputs
                let blob = "\(job.jobId)/\(output.name)"
                let options = BlobUploadOptions(contentType: output.contentType, cacheControl: "public, max-age=31536000, immutable")
                _ = try await blobs.upload(names.processedContainer, blob, fromFile: output.path, options: options)
                outputs.append(
                    .init(
                        name: output.name, contentType: output.contentType, bytes: output.bytes, width: output.width, height: output.height,
                        durationSeconds: output.durationSeconds, container: names.processedContainer, blob: blob))
            }
            timings["upload"] = clock.lap()
            ProcessorMetrics.stage("upload", seconds: timings["upload"]!)
            try Task.checkCancellation()
            var done = base.succeeded(outputs: outputs, timings: timings)
            done.media = produced.media
            if let main = outputs.first, job.input.bytes > 0 {
                done.compressionRatio = (Double(main.bytes) / Double(job.input.bytes) * 10_000).rounded() / 10_000
            }
            do {
                try await write(done, ifMatch: claimed)  // the status document, written last, marks the job done
            } catch let error as StorageError where error.status == 412 {
                logger.info("already done by another delivery; deleting this one")
                try await lease.complete()
                return .alreadyDone
            }
            try await lease.complete()
            logger.info("job succeeded", metadata: ["outputs": "\(outputs.count)", "seconds": "\(timings.values.reduce(0, +))"])
            await notify(done, logger: logger)
            return .succeeded
        } catch let error as MediaError where error.isPermanent {
            let failed = base.failed(code: error.code.rawValue, reason: error.reason)
            _ = try? await write(failed)
            await poison(message, job: job, code: error.code.rawValue, reason: error.reason, logger: logger, lease: lease)
            await notify(failed, logger: logger)
            return .poisoned
        } catch let error where error is CancellationError || (error as? MediaError)?.code == .cancelled {
            // Shutdown past the grace period (or a lost lease): make the message visible again at
            // once. The request runs in its own task because this one is cancelled.
            let released = await Task { () -> (any Error)? in
                do {
                    try await lease.release(after: 0)
                    return nil
                } catch {
                    return error
                }
            }.value
            if let released {
                logger.warning("stopped; releasing the message failed, it returns after its visibility timeout", metadata: ["error": "\(released)"])
            } else {
                logger.info("stopped; the message was released for another worker")
            }
            throw CancellationError()
        } catch {
            return try await retryLater(lease, message: message, job: job, reason: "\(error)", logger: logger)
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
        }
        guard let type = MediaType.sniff(head.bytes.readableBytesView) else {
            throw MediaError(.unsupported, "not a supported image or video format")
        }
        if type.kind == .audio { throw MediaError(.unsupported, MediaType.audioRefusal) }
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
            media: report.media.map { info in
                JobStatus.SourceMedia(
                    container: info.container, durationSeconds: info.durationSeconds, width: info.width, height: info.height,
                    videoCodec: info.videoCodec, audioCodec: info.audioCodec, bitRate: info.bitRate, frameRate: info.frameRate,
                    rotation: info.rotation)
            })
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

    /// Transient failure: visible again after a growing delay — or, on the last allowed delivery,
    /// poisoned with the reason.
    private func retryLater(_ lease: MessageLease, message: QueueMessage, job: MediaJob, reason: String, logger: Logger) async throws -> Outcome {
        if message.dequeueCount >= configuration.maxDequeueCount {
            let current = (try? await status(of: job.jobId)).flatMap { $0 } ?? JobStatus(queued: job)
            _ = try? await write(current.failed(code: "transient", reason: "gave up after \(message.dequeueCount) attempts: \(reason)"))
            await poison(message, job: job, code: "transient", reason: "gave up after \(message.dequeueCount) attempts: \(reason)", logger: logger, lease: lease)
            return .poisoned
        }
        let delay = configuration.retryDelaySeconds * message.dequeueCount
        logger.warning("transient failure; retrying later", metadata: ["reason": "\(reason)", "retry.after.seconds": "\(delay)"])
        try await lease.release(after: delay)
        return .retrying
    }

    /// Sends the message to the poison queue (never expiring) with the reason, then deletes it.
    private func poison(_ message: QueueMessage, job: MediaJob?, code: String, reason: String, logger: Logger, lease: MessageLease? = nil) async {
        let entry = PoisonMessage(
            jobId: job?.jobId, code: code, reason: reason, dequeueCount: message.dequeueCount, originalMessageId: message.id, input: job?.input,
            originalText: message.text)
        do {
            if let job, lease == nil {
                // Quarantined before processing: record the failure too, before the poison entry,
                // so whoever sees the entry finds the status document already `failed`.
                let current = (try? await status(of: job.jobId)).flatMap { $0 } ?? JobStatus(queued: job)
                if current.status != .succeeded { _ = try? await write(current.failed(code: code, reason: reason)) }
            }
            _ = try await queues.send(names.poisonQueue, text: try entry.messageText(), timeToLive: -1)
            if let lease {
                try await lease.complete()
            } else {
                try await queues.delete(names.queue, messageID: message.id, popReceipt: message.popReceipt)
            }
            ProcessorMetrics.poisoned()
            logger.error("job poisoned", metadata: ["code": "\(code)", "reason": "\(reason)"])
        } catch {
            // The message stays; it comes back and is quarantined again (the poison entry is keyed
            // by the original message id for whoever inspects duplicates).
            logger.error("could not poison the message", metadata: ["error": "\(error)"])
        }
    }

    private func notify(_ status: JobStatus, logger: Logger) async {
        guard let webhook, let body = try? status.json() else { return }
        await webhook.deliver(body, jobId: status.jobId, logger: logger)
    }

    func status(of jobId: String) async throws -> JobStatus? {
        do {
            let buffer = try await blobs.downloadData(names.statusContainer, "\(jobId).json", limit: 1 << 20)
            return try JobStatus.decode(Data(buffer: buffer))
        } catch let error as StorageError where error.isNotFound {
            return nil
        }
    }

    /// Writes a status document; returns its ETag.
    @discardableResult
    private func write(_ status: JobStatus, ifMatch etag: String? = nil) async throws -> String {
        try await blobs.putBlob(
            names.statusContainer, "\(status.jobId).json", body: ByteBuffer(data: try status.json()),
            options: BlobUploadOptions(contentType: "application/json", conditions: BlobConditions(ifMatch: etag))
        ).etag
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
