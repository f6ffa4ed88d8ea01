import ArgumentParser
import Configuration
import Foundation
import Logging
import MediaKit
import Metrics
import Prometheus
import ServiceLifecycle
import StorageKit
import UnixSignals

/// `processor`: the worker daemon (`processor serve`, the default) and the same pipeline on local
/// files (`processor process INPUT... --out DIR`). Started from main.swift.
struct Processor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "processor",
        abstract: "Turns uploads into web-ready media.",
        subcommands: [Serve.self, Process.self, Replay.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Poll the job queue and process jobs.",
        discussion: "Configuration: these flags, then the PROCESSOR_* and AZURE_* environment variables, then the defaults.")

    @OptionGroup var options: ServeOptions

    /// The configuration these options and `environment` (the process's when nil) give.
    func processorConfiguration(environment: [String: String]? = nil) throws -> ProcessorConfiguration {
        do {
            return try ProcessorConfiguration(reader: .processor(options: options.values, environment: environment))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() async throws {
        let configuration = try processorConfiguration()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "processor")
        logger.info("codec libraries", metadata: ImagePipeline.libraryVersions.mapValues { .string($0) })
        let account = try StorageAccount(configuration: configuration.storage)
        let (services, _) = try await buildServices(
            configuration: configuration, account: account, registry: registry, retryPolicy: configuration.retryPolicy, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Running jobs get the grace period; then they are cancelled and release their messages.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}

struct Process: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the processing pipeline on local files, without storage or queue.",
        discussion: "Writes OUT/<input name>/image.webp, thumb.webp (images; also image.avif when the profile enables image.avif) or video.mp4, poster.webp, storyboard.webp, storyboard.vtt (videos) or audio.m4a, waveform.png (audio-only files), … and prints one JSON line per input.")

    @Argument(help: "Input files.") var inputs: [String]
    @Option(name: .shortAndLong, help: "Output directory.") var out: String
    @Option(help: "A processing profile (JSON or YAML); default: the built-in profile.") var profile: String?
    @Option(help: "Files processed at once.") var jobs: Int = 1
    @Option(help: "Where each file is decoded: process (a child process under the profile's limits.child) or none (in this process).")
    var isolation: IsolationMode = .process

    func run() async throws {
        try await run(profile: loadProfile())
    }

    func loadProfile() throws -> ProcessingProfile {
        try profile.map(ProcessingProfile.load(path:)) ?? ProcessingProfile()
    }

    /// (main.swift calls this when it does not fork the children itself: `--isolation none`.)
    func run(profile: ProcessingProfile) async throws {
        let runner = MediaRunner(mode: isolation, limits: profile.limits)
        var failures = 0
        try await withThrowingTaskGroup(of: (String, Result<OneShot.Report, MediaError>).self) { group in
            var pending = inputs[...]
            func next() {
                guard let input = pending.popFirst() else { return }
                group.addTask { (input, await OneShot.process(input: input, out: out, profile: profile, runner: runner)) }
            }
            for _ in 0..<max(1, jobs) { next() }
            while let (input, result) = try await group.next() {
                switch result {
                case .success(let report): print(report.json)
                case .failure(let error):
                    failures += 1
                    OneShot.printFailure(input: input, error)
                }
                next()
            }
        }
        // The children's CPU time and memory count in this process's, as `time` reports them.
        ForkServer.stop(wait: true)
        if failures > 0 { throw ExitCode(1) }
    }
}

extension IsolationMode: ExpressibleByArgument {}
