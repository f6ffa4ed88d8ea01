import Configuration
import Logging

/// Builds devstorage from configuration (tests pass a `DevStorageConfiguration` with port 0 and a
/// temporary data directory). Run the result in a `ServiceGroup`.
public func buildDevStorage(configuration: DevStorageConfiguration, logger: Logger = Logger(label: "devstorage")) -> DevStorage {
    var logger = logger
    logger.logLevel = configuration.logLevel
    return DevStorage(configuration: configuration, logger: logger)
}

/// Builds devstorage from a `ConfigReader` (keys documented on `DevStorageConfiguration.init(reader:)`).
public func buildDevStorage(reader: ConfigReader, logger: Logger = Logger(label: "devstorage")) -> DevStorage {
    buildDevStorage(configuration: DevStorageConfiguration(reader: reader), logger: logger)
}
