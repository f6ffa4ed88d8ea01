import Foundation
import Logging
import StorageKit

/// Moves entries of the poison queue back onto the job queue (`processor replay`): the operator
/// inspects the entries, fixes what made them fail, and replays them — all, by job id or by code.
///
/// For each selected entry, in this order, so that a replay killed between two steps loses
/// nothing (the entry is deleted last; a step repeated by a second run gives at most a duplicate
/// delivery, which the processor's conditional status write makes harmless):
/// 1. the job's status document goes back to `queued`, written conditionally on the ETag read (a
///    concurrent writer is never overwritten: the step is read again) — the processor deletes a
///    delivery of a job whose status is `failed` or `succeeded` as already done;
/// 2. the original job message is sent again, never expiring (TTL −1). An entry whose original text
///    was cut to fit (`originalTextTruncated`) is rebuilt from its job id, its input blob reference
///    and the status document;
/// 3. the poison entry is deleted.
///
/// Entries are read with Get Messages under a lease (`leaseSeconds`), so a listing sees every
/// entry, not just the 32 Peek Messages shows; every entry not deleted is made visible again at
/// the end (or by itself when the lease runs out, if the run was killed).
public struct PoisonReplay: Sendable {
    /// The queues and the status container.
    public struct Names: Sendable {
        public var queue: String
        public var poisonQueue: String
        public var statusContainer: String

        /// The pipeline's names by default.
        public init(queue: String = PipelineNames.jobQueue, poisonQueue: String = PipelineNames.poisonQueue, statusContainer: String = PipelineNames.statusContainer) {
            self.queue = queue
            self.poisonQueue = poisonQueue
            self.statusContainer = statusContainer
        }
    }

    /// Which entries to replay: those whose job id is among `jobIds` (when not empty) and whose code
    /// is among `codes` (when not empty). Empty sets: every entry.
    public struct Selection: Sendable, Equatable {
        public var jobIds: Set<String>
        public var codes: Set<String>

        /// Creates a selection.
        public init(jobIds: Set<String> = [], codes: Set<String> = []) {
            self.jobIds = jobIds
            self.codes = codes
        }

        /// Every entry.
        public static let all = Selection()

        /// Whether `entry` is selected.
        public func matches(_ entry: PoisonMessage) -> Bool {
            (jobIds.isEmpty || entry.jobId.map(jobIds.contains) == true) && (codes.isEmpty || codes.contains(entry.code))
        }
    }

    /// What happened to one entry.
    public enum Action: String, Sendable, Codable {
        /// Back on the job queue, status `queued`, entry deleted.
        case replayed
        /// Dry run: would be replayed.
        case wouldReplay = "would_replay"
        /// The job has succeeded since (another delivery finished it): left as it is.
        case alreadySucceeded = "already_succeeded"
        /// Not selected: left as it is.
        case notSelected = "not_selected"
        /// Cannot be replayed (not an entry, or no job in it): left as it is.
        case unreadable
        /// Another entry of a job replayed in this run, quarantined before the run began: deleted.
        case duplicate
        /// An entry of a job replayed in this run, written after the run began: the job failed
        /// again. Left as it is.
        case failedAgain = "failed_again"
        /// A storage call failed; the entry is left as it is (run again).
        case error
    }

    /// One entry and what happened to it.
    public struct Item: Sendable {
        /// The poison message's id.
        public var messageId: String
        /// The entry, when it could be read.
        public var entry: PoisonMessage?
        public var action: Action
        /// The job's status before the run, when read.
        public var status: JobStatus.State?
        /// Details for people (why it was left, what failed).
        public var detail: String?
    }

    public let blobs: BlobClient
    public let queues: QueueClient
    public let names: Names
    /// How long entries stay invisible to others while a run holds them.
    public let leaseSeconds: Int
    /// The input blobs were replaced (the fix for a corrupt upload): a replayed job takes the
    /// blob's current size and MD5, instead of the ones it was uploaded with (which the processor
    /// checks the input against).
    public let refreshInput: Bool
    let logger: Logger

    /// Creates a replayer.
    public init(
        blobs: BlobClient, queues: QueueClient, names: Names = .init(), leaseSeconds: Int = 120, refreshInput: Bool = false,
        logger: Logger = Logger(label: "QueueKit.replay")
    ) {
        self.blobs = blobs
        self.queues = queues
        self.names = names
        self.leaseSeconds = leaseSeconds
        self.refreshInput = refreshInput
        self.logger = logger
    }

    /// Goes through every entry of the poison queue once: replays the selected ones (or, with
    /// `dryRun`, only says what it would do) and reports each entry to `report` as it goes.
    /// Returns the items in the order seen.
    @discardableResult
    public func run(selection: Selection, dryRun: Bool, now: Date = Date(), report: (Item) -> Void = { _ in }) async throws -> [Item] {
        var run = Run(startedAt: now.jobPrecision)
        do {
            while true {
                let batch = try await queues.receive(names.poisonQueue, count: 32, visibilityTimeout: leaseSeconds)
                var fresh = false
                for message in batch {
                    if run.seen.contains(message.id) {
                        // Back after its lease ran out (a long run): keep holding it with the new receipt.
                        if run.deleted.contains(message.id) {
                            try? await queues.delete(names.poisonQueue, messageID: message.id, popReceipt: message.popReceipt)
                        } else {
                            run.held[message.id] = message.popReceipt
                        }
                        continue
                    }
                    fresh = true
                    run.seen.insert(message.id)
                    let item = await handle(message, selection: selection, dryRun: dryRun, run: &run)
                    run.items.append(item)
                    report(item)
                }
                if !fresh { break }
            }
        } catch {
            await release(run.held)
            throw error
        }
        await release(run.held)
        return run.items
    }

    /// One run's bookkeeping.
    struct Run {
        let startedAt: Date
        var seen: Set<String> = []
        /// Entries left in the poison queue, by id: their latest pop receipt, to make them visible again.
        var held: [String: String] = [:]
        /// Entries this run deleted or meant to (their lease may have run out first).
        var deleted: Set<String> = []
        /// Jobs replayed (or, in a dry run, that would be) in this run.
        var jobs: Set<String> = []
        var items: [Item] = []
    }

    /// Makes the entries this run held visible again.
    private func release(_ held: [String: String]) async {
        for (id, receipt) in held {
            do {
                _ = try await queues.update(names.poisonQueue, messageID: id, popReceipt: receipt, visibilityTimeout: 0)
            } catch {
                logger.warning("could not release a poison entry; it is visible again when its lease ends", metadata: ["message.id": "\(id)", "error": "\(error)"])
            }
        }
    }
}
