import ArgumentParser
import Configuration
import Foundation
import StorageKit
import Synchronization
import Testing

@testable import Processor

/// `processor serve`'s flags (issue 13 item 8): the README says every key can be given as a flag,
/// but the command read the environment only.
@Suite("Processor command-line flags")
struct ServeOptionsTests {
    @Test("a flag wins over its environment variable, which wins over the default")
    func flagsOverrideEnvironment() throws {
        let serve = try Serve.parse([
            "--processor-concurrency", "3", "--processor-port", "9191", "--processor-temp-dir", "/var/tmp/x", "--processor-storage-create", "false",
            "--processor-isolation", "none", "--azure-storage-connection-string", "UseDevelopmentStorage=true",
        ])
        let configuration = try serve.processorConfiguration(environment: [
            "PROCESSOR_CONCURRENCY": "5", "PROCESSOR_PORT": "9000", "PROCESSOR_MAX_DEQUEUE_COUNT": "7",
            "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=a2V5",
        ])
        #expect(configuration.concurrency == 3)
        #expect(configuration.port == 9191)
        #expect(configuration.tempDirectory == "/var/tmp/x")
        #expect(configuration.createStorage == false)
        #expect(configuration.isolation == .none)
        #expect(configuration.storage.connectionString == "UseDevelopmentStorage=true")
        #expect(configuration.profile.retry.poisonAfterDeliveries == 7)  // no flag: the environment
        #expect(configuration.visibilityTimeout == 300)  // neither: the default
    }

    @Test("the default command takes the flags too")
    func defaultCommand() throws {
        let parsed = try Processor.parseAsRoot(["--processor-concurrency", "2"])
        let serve = try #require(parsed as? Serve)
        #expect(try serve.processorConfiguration(environment: [:]).concurrency == 2)
    }

    @Test("every key ProcessorConfiguration reads has a flag")
    func everyKeyHasAFlag() throws {
        let reporter = KeyRecorder()
        _ = try ProcessorConfiguration(reader: ConfigReader(providers: [InMemoryProvider(values: [:])], accessReporter: reporter))
        let keys = reporter.keys
        #expect(keys.count > 20)
        for key in keys {
            let flag = "--" + key.components.map(Self.dashed).joined(separator: "-")
            let value = key.components.last == "create" ? "true" : "7"
            let serve = try Serve.parse([flag, value])
            #expect(serve.options.values[key] != nil, "\(flag) sets \(key.components.joined(separator: "."))")
        }
    }

    /// camelCase → dash-case, as swift-configuration spells keys on a command line.
    static func dashed(_ component: String) -> String {
        var result = ""
        for character in component {
            if character.isUppercase {
                result += "-" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// Records the keys a reader was asked for.
final class KeyRecorder: AccessReporter {
    private let recorded = Mutex<[AbsoluteConfigKey]>([])
    var keys: [AbsoluteConfigKey] { recorded.withLock { $0 } }

    func report(_ event: AccessEvent) {
        recorded.withLock { if !$0.contains(event.metadata.key) { $0.append(event.metadata.key) } }
    }
}
