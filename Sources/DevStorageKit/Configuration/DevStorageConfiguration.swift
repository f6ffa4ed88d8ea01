import Logging
import StorageKit

/// How devstorage listens, where it keeps its data, which accounts it knows, how strict it is and
/// which faults it injects from the start. Build it in code (tests) or from a `ConfigReader`
/// (`init(reader:)`, which documents the configuration keys).
public struct DevStorageConfiguration: Sendable {
    /// Host to bind (default `127.0.0.1`).
    public var host: String
    /// Blob service port (default 10000; 0 picks a free port).
    public var blobPort: Int
    /// Queue service port (default 10001; 0 picks a free port).
    public var queuePort: Int
    /// Metrics port: `GET /metrics` (Prometheus text) on a listener of its own, so the storage URL
    /// space is untouched (default nil: off; 0 picks a free port).
    public var metricsPort: Int?
    /// Data directory (default `./.devstorage`); created if missing.
    public var dataDirectory: String
    /// Extra accounts besides `devstoreaccount1`.
    public var extraAccounts: [DevStorageAccount]
    /// Loose mode: requests without credentials are allowed (default off: 404 `ResourceNotFound`).
    public var loose: Bool
    /// Accept `Authorization: Bearer <anything>` as fully authorised (default off).
    public var allowBearer: Bool
    /// Faults injected from the start (changeable at runtime through `DevStorage.faults`).
    public var faults: FaultSettings
    /// Initial clock offset in seconds (changeable at runtime through `DevStorage.clock`).
    public var clockOffsetSeconds: Double
    /// Log level of the server's logger.
    public var logLevel: Logger.Level

    /// Creates a configuration; every parameter has the documented default.
    public init(
        host: String = "127.0.0.1",
        blobPort: Int = StorageDefaults.developmentBlobPort,
        queuePort: Int = StorageDefaults.developmentQueuePort,
        metricsPort: Int? = nil,
        dataDirectory: String = ".devstorage",
        extraAccounts: [DevStorageAccount] = [],
        loose: Bool = false,
        allowBearer: Bool = false,
        faults: FaultSettings = .init(),
        clockOffsetSeconds: Double = 0,
        logLevel: Logger.Level = .info
    ) {
        self.host = host
        self.blobPort = blobPort
        self.queuePort = queuePort
        self.metricsPort = metricsPort
        self.dataDirectory = dataDirectory
        self.extraAccounts = extraAccounts
        self.loose = loose
        self.allowBearer = allowBearer
        self.faults = faults
        self.clockOffsetSeconds = clockOffsetSeconds
        self.logLevel = logLevel
    }

    /// All accounts: the development account first, then the extra ones (an extra account with the
    /// development account's name replaces its keys).
    public var accounts: [DevStorageAccount] {
        var result = [DevStorageAccount.development]
        for account in extraAccounts {
            result.removeAll { $0.name == account.name }
            result.append(account)
        }
        return result
    }
}
