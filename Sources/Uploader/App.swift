import Configuration
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StorageKit
import UnixSignals

/// `uploader`: the HTTP front door. Configuration: flags, then environment variables, then
/// defaults (keys on `UploaderConfiguration`).
@main
struct App {
    static func main() async throws {
        let reader = ConfigReader(providers: [CommandLineArgumentsProvider(), EnvironmentVariablesProvider()])
        let configuration: UploaderConfiguration
        do {
            configuration = try UploaderConfiguration(reader: reader)
        } catch {
            FileHandle.standardError.write(Data("uploader: \(error)\n".utf8))
            exit(1)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "uploader")
        let account = try StorageAccount(configuration: configuration.storage)
        let app = try await buildApplication(configuration: configuration, account: account, registry: registry, logger: logger)
        if configuration.apiKeys.isEmpty { logger.warning("API keys are disabled: anyone who can reach this port can upload") }
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // In-flight uploads get the grace period to finish; then they are cancelled (nothing is
        // committed or queued for a cancelled upload).
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}
