import Configuration
import Foundation
import StorageKit

/// How devstorage listens, where it keeps data, which accounts it knows and which faults it injects.
public struct DevStorageConfiguration: Sendable {
    /// Host to bind (default `127.0.0.1`).
    public var host: String
    /// Blob service port (default 10000; 0 picks a free one).
    public var blobPort: Int
    /// Queue service port (default 10001; 0 picks a free one).
    public var queuePort: Int
    /// Data directory (default `./.devstorage`).
    public var dataDirectory: String
    /// Accounts: name → keys (base64). Always includes the development account.
    public var accounts: [String: [String]]
    /// Loose mode: requests without credentials are allowed (never the default).
    public var loose: Bool
    /// Faults to inject from the start.
    public var faults: FaultSettings

    /// Creates a configuration.
    public init(
        host: String = "127.0.0.1", blobPort: Int = StorageDefaults.developmentBlobPort,
        queuePort: Int = StorageDefaults.developmentQueuePort, dataDirectory: String = ".devstorage",
        extraAccounts: String? = nil, loose: Bool = false, faults: FaultSettings = .init()
    ) {
        self.host = host
        self.blobPort = blobPort
        self.queuePort = queuePort
        self.dataDirectory = dataDirectory
        self.loose = loose
        self.faults = faults
        var accounts = [StorageDefaults.developmentAccountName: [StorageDefaults.developmentAccountKey]]
        for entry in (extraAccounts ?? "").split(separator: ";") {
            let parts = entry.split(separator: ":").map(String.init)
            if parts.count >= 2 { accounts[parts[0]] = Array(parts.dropFirst()) }
        }
        self.accounts = accounts
    }

    /// Reads the configuration. Keys (environment variable in brackets):
    /// - `devstorage.host` (`DEVSTORAGE_HOST`), default `127.0.0.1`
    /// - `devstorage.blob.port` (`DEVSTORAGE_BLOB_PORT`), default 10000
    /// - `devstorage.queue.port` (`DEVSTORAGE_QUEUE_PORT`), default 10001
    /// - `devstorage.data.dir` (`DEVSTORAGE_DATA_DIR`), default `.devstorage`
    /// - `devstorage.accounts` (`DEVSTORAGE_ACCOUNTS`): extra accounts, `name1:key1[:key2];name2:key1`
    /// - `devstorage.loose` (`DEVSTORAGE_LOOSE`): accept requests without credentials, default false
    /// - `devstorage.faults.rate` (`DEVSTORAGE_FAULTS_RATE`): fraction of requests failed, default 0
    /// - `devstorage.faults.status` (`DEVSTORAGE_FAULTS_STATUS`): 500 or 503 (default 503 ServerBusy)
    /// - `devstorage.faults.latency.ms` (`DEVSTORAGE_FAULTS_LATENCY_MS`): added latency, default 0
    /// - `devstorage.faults.cut.after.bytes` (`DEVSTORAGE_FAULTS_CUT_AFTER_BYTES`): cut response bodies
    ///   after this many bytes, default off
    public init(reader: ConfigReader) {
        self.init(
            host: reader.string(forKey: "devstorage.host", default: "127.0.0.1"),
            blobPort: reader.int(forKey: "devstorage.blob.port", default: StorageDefaults.developmentBlobPort),
            queuePort: reader.int(forKey: "devstorage.queue.port", default: StorageDefaults.developmentQueuePort),
            dataDirectory: reader.string(forKey: "devstorage.data.dir", default: ".devstorage"),
            extraAccounts: reader.string(forKey: "devstorage.accounts", isSecret: true),
            loose: reader.bool(forKey: "devstorage.loose", default: false),
            faults: FaultSettings(
                failureRate: reader.double(forKey: "devstorage.faults.rate", default: 0),
                failureStatus: reader.int(forKey: "devstorage.faults.status", default: 503),
                latencyMilliseconds: reader.int(forKey: "devstorage.faults.latency.ms", default: 0),
                cutAfterBytes: reader.int(forKey: "devstorage.faults.cut.after.bytes")))
    }
}
