import Configuration
import DevStorageKit
import Logging
import ServiceLifecycle
import UnixSignals

/// `devstorage`: the local Azure-compatible Blob + Queue server. Configuration comes from flags
/// (`--devstorage-blob-port 10000`), then environment variables (`DEVSTORAGE_BLOB_PORT`), then
/// defaults; the keys are documented on `DevStorageConfiguration.init(reader:)`.
let reader = ConfigReader(providers: [
    CommandLineArgumentsProvider(),
    EnvironmentVariablesProvider(),
])
let configuration = DevStorageConfiguration(reader: reader)
var logger = Logger(label: "devstorage")
logger.logLevel = configuration.logLevel
let devstorage = buildDevStorage(configuration: configuration, logger: logger)
let group = ServiceGroup(
    configuration: .init(
        services: [.init(service: devstorage)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
try await group.run()
