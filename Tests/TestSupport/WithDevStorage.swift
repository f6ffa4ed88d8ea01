import DevStorageKit
import Foundation
import Logging
import ServiceLifecycle

extension DevStorageConfiguration {
    /// A configuration for tests: 127.0.0.1, port 0 for both services, the given data directory.
    /// An empty `dataDirectory` means "a fresh temporary directory" to `withDevStorage`.
    public static func testing(dataDirectory: String = "", loose: Bool = false, faults: FaultSettings = .init()) -> Self {
        DevStorageConfiguration(
            host: "127.0.0.1", blobPort: 0, queuePort: 0, dataDirectory: dataDirectory, loose: loose, faults: faults,
            logLevel: .warning)
    }
}

/// Runs `body` with devstorage started in-process on 127.0.0.1 (ports 0) and stops it afterwards.
///
/// - Parameters:
///   - configuration: how to run it; its `host` and ports are overridden with 127.0.0.1:0 unless
///     `keepAddresses` is set. Its data directory is used when `dataDirectory` is nil and the
///     configuration's is not the default, else a fresh temporary directory that is removed afterwards.
///   - dataDirectory: an existing directory to use and keep (restart tests: run twice on the same one,
///     e.g. inside `withTemporaryDirectory`).
///   - body: the test; gets the endpoints, connection string and runtime handles.
@discardableResult
public func withDevStorage<T>(
    configuration: DevStorageConfiguration = .testing(),
    dataDirectory: String? = nil,
    keepAddresses: Bool = false,
    logger: Logger = Logger(label: "devstorage.test"),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RunningDevStorage) async throws -> T
) async throws -> T {
    if let dataDirectory {
        return try await run(configuration, dataDirectory: dataDirectory, keepAddresses: keepAddresses, logger: logger, body)
    }
    if !configuration.dataDirectory.isEmpty, configuration.dataDirectory != DevStorageConfiguration().dataDirectory {
        return try await run(configuration, dataDirectory: configuration.dataDirectory, keepAddresses: keepAddresses, logger: logger, body)
    }
    return try await withTemporaryDirectory { directory in
        try await run(configuration, dataDirectory: directory, keepAddresses: keepAddresses, logger: logger, body)
    }
}

/// Starts devstorage on an existing data directory (kept afterwards: restart tests run this twice
/// on one directory), runs `body`, stops it.
@discardableResult
public func runDevStorage<T>(
    dataDirectory: String,
    faults: FaultSettings = .init(),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RunningDevStorage) async throws -> T
) async throws -> T {
    try await withDevStorage(configuration: .testing(faults: faults), dataDirectory: dataDirectory, body)
}

/// Creates a fresh temporary directory, runs `body` with its path, and removes it afterwards.
@discardableResult
public func withTemporaryDirectory<T>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (String) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("devstorage-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}

private func run<T>(
    _ configuration: DevStorageConfiguration, dataDirectory: String, keepAddresses: Bool, logger: Logger,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RunningDevStorage) async throws -> T
) async throws -> T {
    var configuration = configuration
    configuration.dataDirectory = dataDirectory
    if !keepAddresses {
        configuration.host = "127.0.0.1"
        configuration.blobPort = 0
        configuration.queuePort = 0
    }
    let server = buildDevStorage(configuration: configuration, logger: logger)
    let services = ServiceGroup(configuration: .init(services: [server], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
        group.addTask { try await services.run() }
        let result: Result<T, any Error>
        do {
            let endpoints = try await server.waitUntilListening()
            result = .success(try await body(RunningDevStorage(server: server, endpoints: endpoints)))
        } catch {
            result = .failure(error)
        }
        // Graceful shutdown: both listeners stop accepting, finish in-flight requests and close.
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
        return try result.get()
    }
}
