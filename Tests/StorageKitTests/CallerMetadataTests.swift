import Logging
import Testing

@testable import StorageKit

@Suite("Storage log lines carry the caller's task-local metadata")
struct CallerMetadataTests {
    @Test("inside withLogger the caller's keys join; the storage logger's own keys win; outside nothing joins")
    func merging() {
        var caller = Logger(label: "job")
        caller[metadataKey: "trace.id"] = "4bf92f3577b34da6a3ce929d0e0e4736"
        caller[metadataKey: "storage.operation"] = "not-this"
        var own = Logger(label: "StorageKit")
        own[metadataKey: "storage.operation"] = "GetBlob"
        let merged = withLogger(caller) { _ in own.mergingCallerMetadata() }
        #expect(merged[metadataKey: "trace.id"] == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(merged[metadataKey: "storage.operation"] == "GetBlob")
        #expect(own.mergingCallerMetadata()[metadataKey: "trace.id"] == nil)
    }
}
