import StorageKit

/// Where a running devstorage listens, and the connection string for it.
public struct DevStorageEndpoints: Sendable, Equatable {
    /// The host both listeners bound.
    public var host: String
    /// The bound blob port.
    public var blobPort: Int
    /// The bound queue port.
    public var queuePort: Int

    /// Creates endpoints.
    public init(host: String, blobPort: Int, queuePort: Int) {
        self.host = host
        self.blobPort = blobPort
        self.queuePort = queuePort
    }

    /// `http://{host}:{blobPort}/devstoreaccount1`.
    public var blobEndpoint: String { "http://\(urlHost):\(blobPort)/\(StorageDefaults.developmentAccountName)" }
    /// `http://{host}:{queuePort}/devstoreaccount1`.
    public var queueEndpoint: String { "http://\(urlHost):\(queuePort)/\(StorageDefaults.developmentAccountName)" }

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
