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
            let produced = try await produce(job, work: work, clock: &clock, timings: &timings)
            _ = clock.lap()
            var outputs: [JobStatus.Output] = []
            for output in produced.outputs {
                try Task.checkCancellation()  // a lost lease cancels us: no further outputs
                let blob = "\(job.jobId)/\(output.name)"
                let options = BlobUploadOptions(contentType: output.contentType, cacheControl: "public, max-age=31536000, immutable")
                switch output.body {
                case .memory(let data): _ = try await blobs.putBlob(names.processedContainer, blob, body: ByteBuffer(bytes: data), options: options)
                case .file(let path): _ = try await blobs.upload(names.processedContainer, blob, fromFile: path, options: options)
                }
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

    /// One output ready to upload: bytes in memory (images) or a file in the job's work directory (videos).
    struct Produced {
        struct Output {
            enum Body { case memory([UInt8]), file(String) }
            var name: String
            var contentType: String
            var body: Body
            var bytes: Int
            var width: Int?
            var height: Int?
            var durationSeconds: Double?
        }
        var outputs: [Output]
        var media: JobStatus.SourceMedia?
    }

    /// Downloads the input and runs the pipeline for its kind. Images are processed in memory;
    /// videos are streamed to a per-job directory under the temp directory, transcoded there and
    /// uploaded from there, and the directory is always removed.
    private func produce(_ job: MediaJob, work: WorkDirectory, clock: inout Stopwatch, timings: inout [String: Double]) async throws -> Produced {
        let limits = configuration.profile.limits
        if job.input.bytes > limits.maxInputBytes {
            throw MediaError(.limit, "the file is over the \(limits.maxInputBytes)-byte limit")
        }
        if job.input.mediaType.hasPrefix("video/") {
            return try await produceVideo(job, work: work, clock: &clock, timings: &timings)
        }
        let input = try await blobs.downloadData(job.input.container, job.input.blob, limit: limits.maxInputBytes)
        let data = Array(input.readableBytesView)
        timings["download"] = clock.lap()
        ProcessorMetrics.stage("download", seconds: timings["download"]!)
        try verify(md5: Data(Insecure.MD5.hash(data: data)).base64EncodedString(), of: job)
        guard ImageFormat.sniff(data) != nil else {
            if VideoPipeline.sniff(data) {  // a video whose declared type said otherwise (e.g. an Event Grid job)
                return try await produceVideo(job, work: work, clock: &clock, timings: &timings)
            }
            throw MediaError(.unsupported, "not a supported image or video format")
        }
        let result = try await ImagePipeline.process(data, profile: configuration.profile.image, limits: limits)
        record(result.timings, into: &timings)
        return Produced(
            outputs: result.outputs.map {
                .init(
                    name: $0.name, contentType: $0.contentType, body: .memory($0.data), bytes: $0.data.count, width: $0.width, height: $0.height,
                    durationSeconds: $0.durationSeconds)
            }, media: nil)
    }

    private func produceVideo(_ job: MediaJob, work: WorkDirectory, clock: inout Stopwatch, timings: inout [String: Double]) async throws -> Produced {
        try work.create()
        let inputPath = work.path("input")
        _ = try await blobs.download(job.input.container, job.input.blob, toFile: inputPath)
        timings["download"] = clock.lap()
        ProcessorMetrics.stage("download", seconds: timings["download"]!)
        if !job.input.md5.isEmpty { try verify(md5: try WorkDirectory.md5(ofFile: inputPath), of: job) }
        let outputDirectory = work.path("out")
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        let result = try await VideoPipeline.process(
            inputPath: inputPath, workDirectory: outputDirectory, profile: configuration.profile.video, limits: configuration.profile.limits)
        unlink(inputPath)
        record(result.timings, into: &timings)
        let info = result.info
        let produced = Produced(
            outputs: result.outputs.map {
                .init(
                    name: $0.name, contentType: $0.contentType, body: .file($0.path), bytes: $0.bytes, width: $0.width, height: $0.height,
                    durationSeconds: $0.durationSeconds)
            },
            media: JobStatus.SourceMedia(
                container: info.container, durationSeconds: info.durationSeconds, width: info.width, height: info.height,
                videoCodec: info.videoCodec, audioCodec: info.audioCodec, bitRate: info.bitRate, frameRate: info.frameRate,
                rotation: info.rotation))
        return produced
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
