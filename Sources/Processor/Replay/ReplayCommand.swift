import ArgumentParser
import AsyncHTTPClient
import Configuration
import Foundation
import Logging
import NIOPosix
import QueueKit
import StorageKit

/// `processor replay`: moves poison entries back onto the job queue (`PoisonReplay` does the work).
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move entries of the poison queue back onto the job queue.",
        discussion: """
            Inspect first (--dry-run lists every entry: job id, code, reason, when, and what a replay \
            would do), fix what made the jobs fail, then replay them: --all, --job-id ID (repeatable) \
            or --code CODE (repeatable; with --job-id both must match). Each replayed job's status goes \
            back to `queued`, its message goes back on the queue (never expiring), and only then is \
            its entry deleted. Storage: the AZURE_* variables or the --azure-* flags.
            """)

    @Flag(help: "Replay every entry.") var all = false
    @Option(name: .customLong("job-id"), help: "Replay the entries of this job (repeatable).") var jobIds: [String] = []
    @Option(name: .customLong("code"), help: "Replay the entries with this code, e.g. transient (repeatable).") var codes: [String] = []
    @Flag(name: [.customLong("dry-run"), .customLong("list")], help: "Change nothing: list the entries and what a replay would do.")
    var dryRun = false
    @Flag(help: "One JSON object per entry and line.") var json = false
    @Flag(help: "The input blobs were replaced: replayed jobs take their current size and MD5 (else the processor refuses a replaced input).")
    var refreshInput = false
    @Option(help: "Seconds the entries stay invisible to others while this run holds them.") var leaseSeconds = 120
    @OptionGroup var storage: StorageOptions

    func validate() throws {
        if all, !jobIds.isEmpty || !codes.isEmpty { throw ValidationError("--all replays every entry: give it without --job-id or --code") }
        if !dryRun, !all, jobIds.isEmpty, codes.isEmpty {
            throw ValidationError("say which entries to replay: --all, --job-id ID or --code CODE (or list them with --dry-run)")
        }
        if !(1...604_800).contains(leaseSeconds) { throw ValidationError("--lease-seconds must be 1…604800") }
    }

    var selection: PoisonReplay.Selection { .init(jobIds: Set(jobIds), codes: Set(codes)) }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "processor.replay")
        let reader = ConfigReader.processor(options: storage.values)
        let account = try StorageAccount(configuration: StorageAccount.Configuration(reader: reader))
        let httpClient = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: StorageHTTPClient.Configuration().httpClientConfiguration)
        let replay = PoisonReplay(
            blobs: BlobClient(account: account, transport: httpClient, logger: logger), queues: QueueClient(account: account, transport: httpClient, logger: logger),
            leaseSeconds: leaseSeconds, refreshInput: refreshInput, logger: logger)
        let items: [PoisonReplay.Item]
        do {
            if !json { print(ReplayReport.header) }
            items = try await replay.run(selection: selection, dryRun: dryRun) { item in
                print(json ? ReplayReport.json(item) : ReplayReport.line(item))
            }
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
        FileHandle.standardError.write(Data((ReplayReport.summary(items, dryRun: dryRun) + "\n").utf8))
        if items.contains(where: { $0.action == .error }) { throw ExitCode(1) }
    }
}
