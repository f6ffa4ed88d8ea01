import DevStorageKit
import Foundation
import Logging
import ServiceLifecycle
import StorageKit

/// A devstorage running in-process on 127.0.0.1, ports chosen by the system, data in a fresh
/// temporary directory: what StorageKit and QueueKit tests talk to over real sockets.
public struct RunningDevStorage: Sendable {
    /// The server (its `faults` injector and clock are live).
    public let server: DevStorage
    /// The data directory (kept across `restart`).
    public let dataDirectory: String

    /// The development connection string for the bound ports.
    public var connectionString: String { server.connectionString }

    /// The development account on the bound ports.
    public var account: StorageAccount {
        // The connection string is built from the server's own ports and the constant dev key.
        try! StorageAccount(connectionString: ConnectionString(connectionString))
    }

    /// Fault injection and the emulator clock.
    public var faults: FaultInjector { server.faults }
}

/// Starts devstorage in-process, runs `body`, stops it and removes its data.
public func withDevStorage<T: Sendable>(
    dataDirectory: String? = nil, faults: FaultSettings = .init(), _ body: @Sendable (RunningDevStorage) async throws -> T
) async throws -> T {
    let directory = dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("devstorage-test-\(UUID().uuidString)").path
    defer { if dataDirectory == nil { try? FileManager.default.removeItem(atPath: directory) } }
    return try await runDevStorage(dataDirectory: directory, faults: faults, body)
}

/// Starts devstorage on an existing data directory (for restart tests), runs `body`, stops it.
public func runDevStorage<T: Sendable>(
    dataDirectory: String, faults: FaultSettings = .init(), _ body: @Sendable (RunningDevStorage) async throws -> T
) async throws -> T {
    var logger = Logger(label: "devstorage.test")
    logger.logLevel = .warning
    let server = try DevStorage(
        configuration: DevStorageConfiguration(blobPort: 0, queuePort: 0, dataDirectory: dataDirectory, faults: faults), logger: logger)
    let group = ServiceGroup(services: [server], logger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        await server.waitUntilListening()
        let result = try await body(RunningDevStorage(server: server, dataDirectory: dataDirectory))
        await group.triggerGracefulShutdown()
        while let next = try await tasks.next() { if next != nil { break } }
        return result
    }
}
