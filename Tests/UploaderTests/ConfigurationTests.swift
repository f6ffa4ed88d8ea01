import Configuration
import Foundation
import Testing

@testable import Uploader

@Suite("Uploader configuration")
struct ConfigurationTests {
    @Test("keys come from the variable and from a mounted secret file")
    func keys() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        try "# mounted secret\nfile-key-1\nfile-key-2\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let reader = ConfigReader(provider: InMemoryProvider(values: [
            "uploader.api.keys": "env-key-1,env-key-2", "uploader.api.keys.file": .init(stringLiteral: file),
            "uploader.port": 9090, "uploader.max.upload.bytes": 1024, "uploader.links": "proxy",
            "uploader.rate.per.second": 2.5,
        ]))
        let configuration = try UploaderConfiguration(reader: reader)
        #expect(configuration.apiKeys == ["env-key-1", "env-key-2", "file-key-1", "file-key-2"])
        #expect(configuration.port == 9090)
        #expect(configuration.maxUploadBytes == 1024)
        #expect(configuration.links == .proxy)
        #expect(configuration.ratePerSecond == 2.5)
    }

    @Test("the fairness, readiness and link keys are read (issue 13 items 5 and 8)")
    func fairnessKeys() throws {
        let defaults = try UploaderConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: ["uploader.api.keys": "k"])))
        #expect(defaults.uploadsPerKey == 8)
        #expect(defaults.minimumBodyRate == .default)
        #expect(defaults.readyFailureWindowSeconds == 30)
        #expect(defaults.linksSecret == nil)
        let reader = ConfigReader(provider: InMemoryProvider(values: [
            "uploader.api.keys": "k", "uploader.max.uploads.per.key": 3, "uploader.body.min.rate": 0,
            "uploader.body.min.rate.window.seconds": 60, "uploader.body.min.rate.grace.seconds": 5,
            "uploader.ready.failure.window.seconds": 10, "uploader.links.secret": "shared-secret",
        ]))
        let configuration = try UploaderConfiguration(reader: reader)
        #expect(configuration.uploadsPerKey == 3)
        #expect(configuration.minimumBodyRate == MinimumBodyRate(bytesPerSecond: 0, window: .seconds(60), grace: .seconds(5)))
        #expect(configuration.readyFailureWindowSeconds == 10)
        #expect(configuration.linksSecret == "shared-secret")
        #expect(throws: UploaderConfiguration.Invalid.self) {
            try UploaderConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: ["uploader.api.keys": "k", "uploader.max.uploads.per.key": 33])))
        }
    }

    @Test("no keys and auth not explicitly disabled: refuse to start")
    func noKeys() throws {
        #expect(throws: UploaderConfiguration.Invalid.self) {
            try UploaderConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: [:])))
        }
        let open = try UploaderConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: ["uploader.auth.disabled": true])))
        #expect(open.authDisabled)
        #expect(throws: UploaderConfiguration.Invalid.self) {
            try UploaderConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: ["uploader.api.keys": "k", "uploader.links": "ftp"])))
        }
    }
}
