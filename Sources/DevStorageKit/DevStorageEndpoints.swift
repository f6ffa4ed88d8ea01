import StorageKit

/// Where a running devstorage listens, and the connection string for it.
public struct DevStorageEndpoints: Sendable, Equatable {
    /// The host both listeners bound.
    public var host: String
    /// The bound blob port.
    public var blobPort: Int
    /// The bound queue port.
    public var queuePort: Int
    /// The bound metrics port (nil when the metrics listener is off).
    public var metricsPort: Int?

    /// Creates endpoints.
    public init(host: String, blobPort: Int, queuePort: Int, metricsPort: Int? = nil) {
        self.host = host
        self.blobPort = blobPort
        self.queuePort = queuePort
        self.metricsPort = metricsPort
    }

    /// `http://{host}:{blobPort}/devstoreaccount1`.
    public var blobEndpoint: String { "http://\(urlHost):\(blobPort)/\(StorageDefaults.developmentAccountName)" }
    /// `http://{host}:{queuePort}/devstoreaccount1`.
    public var queueEndpoint: String { "http://\(urlHost):\(queuePort)/\(StorageDefaults.developmentAccountName)" }

    /// `http://{host}:{metricsPort}/metrics` when the metrics listener is on.
    public var metricsURL: String? { metricsPort.map { "http://\(urlHost):\($0)/metrics" } }

    /// The development-account connection string for these ports.
    public var connectionString: String {
        "DefaultEndpointsProtocol=http;AccountName=\(StorageDefaults.developmentAccountName);"
            + "AccountKey=\(StorageDefaults.developmentAccountKey);"
            + "BlobEndpoint=\(blobEndpoint);QueueEndpoint=\(queueEndpoint);"
    }

    private var urlHost: String {
        switch host {
        case "0.0.0.0", "": "127.0.0.1"
        case "::": "[::1]"
        default: host.contains(":") ? "[\(host)]" : host
        }
    }
}
