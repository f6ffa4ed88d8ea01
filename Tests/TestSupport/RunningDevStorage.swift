import DevStorageKit
import Foundation
import StorageKit

/// A devstorage instance running in-process for a test: its endpoints, credentials, data directory
/// and the runtime handles (fault injector, clock).
public struct RunningDevStorage: Sendable {
    /// Blob endpoint, `http://127.0.0.1:{port}/devstoreaccount1`.
    public let blobEndpoint: URL
    /// Queue endpoint, `http://127.0.0.1:{port}/devstoreaccount1`.
    public let queueEndpoint: URL
    /// The bound blob port.
    public let blobPort: Int
    /// The bound queue port.
    public let queuePort: Int
    /// The development connection string for these ports.
    public let connectionString: String
    /// The data directory in use.
    public let dataDirectory: String
    /// The account name (`devstoreaccount1`).
    public let accountName: String
    /// The account key (the well-known development key).
    public let accountKey: String
    /// Fault injection, changeable while the test runs.
    public let faults: FaultInjector
    /// The emulator clock; `clock.advance(by:)` moves time for TTL/visibility tests.
    public let clock: DevStorageClock
    /// The server itself.
    public let server: DevStorage

    /// The development account on the bound ports, for StorageKit clients.
    public var account: StorageAccount {
        // Built from the server's own ports and the constant development key: always valid.
        try! StorageAccount(connectionString: ConnectionString(connectionString))
    }

    init(server: DevStorage, endpoints: DevStorageEndpoints) {
        self.server = server
        self.blobEndpoint = URL(string: endpoints.blobEndpoint)!
        self.queueEndpoint = URL(string: endpoints.queueEndpoint)!
        self.blobPort = endpoints.blobPort
        self.queuePort = endpoints.queuePort
        self.connectionString = endpoints.connectionString
        self.dataDirectory = server.configuration.dataDirectory
        self.accountName = StorageDefaults.developmentAccountName
        self.accountKey = StorageDefaults.developmentAccountKey
        self.faults = server.faults
        self.clock = server.clock
    }
}
