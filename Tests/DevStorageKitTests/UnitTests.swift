import Configuration
import Foundation
import Logging
import NIOHTTP1
import Testing

@testable import DevStorageKit

@Suite("Parsing and paging", .timeLimit(.minutes(2)))
struct UnitTests {
    @Test("BlockList XML keeps the order of mixed Latest/Committed/Uncommitted entries")
    func blockList() throws {
        let xml = #"<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>AA==</Latest><Committed>AQ==</Committed><Uncommitted>Ag==</Uncommitted><Latest>Aw==</Latest></BlockList>"#
        let list = try BlockListRequest(xml: Data(xml.utf8))
        #expect(list.entries.map(\.1) == ["AA==", "AQ==", "Ag==", "Aw=="])
        #expect(list.entries.map { "\($0.0)" } == ["latest", "committed", "uncommitted", "latest"])
        let single = try BlockListRequest(xml: Data("<BlockList><Latest>AA==</Latest></BlockList>".utf8))
        #expect(single.entries.count == 1)
        #expect(try BlockListRequest(xml: Data("<BlockList />".utf8)).entries.isEmpty)
        #expect(throws: StorageServiceError.self) { try BlockListRequest(xml: Data("<BlockList><Latest>".utf8)) }
    }

    @Test("QueueMessage XML keeps whitespace and unescapes entities")
    func queueMessage() throws {
        let parsed = try QueueMessageRequest.parse(Data("<QueueMessage>\n  <MessageText>  a &amp; &lt;b&gt; </MessageText>\n</QueueMessage>".utf8))
        #expect(parsed.messageText == "  a & <b> ")
        let empty = try QueueMessageRequest.parse(Data("<QueueMessage><MessageText></MessageText></QueueMessage>".utf8))
        #expect(empty.messageText == "" || empty.messageText == nil)
    }

    @Test("ranges")
    func ranges() throws {
        #expect(ByteRange("bytes=0-9")?.end == 9)
        #expect(ByteRange("bytes=5-")?.end == nil)
        #expect(ByteRange("bytes=5-1") == nil)
        #expect(ByteRange("items=0-1") == nil)
        #expect(try ByteRange("bytes=5-100")!.resolve(size: 10) == 5...9)
        #expect(throws: StorageServiceError.self) { try ByteRange("bytes=0-")!.resolve(size: 0) }
    }

    @Test("listing pages group by delimiter and resume at the next name")
    func listingPages() {
        let names = ["a/1", "a/2", "a/b/3", "b", "c/1"]
        func record(_ name: String) -> BlobRecord? {
            BlobRecord(
                name: name, segments: [], size: 0, properties: .init(), contentMD5: nil, metadata: [:], etag: "\"0x1\"",
                created: Date(), lastModified: Date(), committedBlocks: [])
        }
        let page = BlobListing.page(names: names, prefix: "", delimiter: "/", start: nil, maxResults: 2, record: record)
        #expect(page.nextName == "c/1")
        let next = BlobListing.page(names: names, prefix: "", delimiter: "/", start: page.nextName, maxResults: 2, record: record)
        #expect(next.nextName == nil)
        #expect(next.items.count == 1)
    }

    @Test("configuration keys from a ConfigReader")
    func configuration() {
        let reader = ConfigReader(provider: InMemoryProvider(values: [
            "devstorage.host": "0.0.0.0", "devstorage.blob.port": 0, "devstorage.queue.port": 12,
            "devstorage.data.dir": "/tmp/x", "devstorage.accounts": "acct2:a2V5MQ==:a2V5Mg==;acct3:a2V5Mw==",
            "devstorage.loose": true, "devstorage.faults.rate": 0.5, "devstorage.faults.status": 500,
            "devstorage.faults.latency.ms": 10, "devstorage.faults.cut.after.bytes": 100,
            "devstorage.faults.next.count": 3, "devstorage.faults.next.operation": "PutBlock",
            "devstorage.log.level": "debug",
        ]))
        let configuration = DevStorageConfiguration(reader: reader)
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.blobPort == 0)
        #expect(configuration.queuePort == 12)
        #expect(configuration.dataDirectory == "/tmp/x")
        #expect(configuration.accounts.map(\.name) == ["devstoreaccount1", "acct2", "acct3"])
        #expect(configuration.accounts[1].keys == ["a2V5MQ==", "a2V5Mg=="])
        #expect(configuration.loose)
        #expect(configuration.faults.failureRate == 0.5)
        #expect(configuration.faults.failureStatus == 500)
        #expect(configuration.faults.latencyMilliseconds == 10)
        #expect(configuration.faults.cutAfterBytes == 100)
        #expect(configuration.faults.rules == [FaultRule(count: 3, status: 500, operation: .putBlock)])
        #expect(configuration.logLevel == .debug)
        let defaults = DevStorageConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: [:])))
        #expect(defaults.blobPort == 10000 && defaults.queuePort == 10001 && defaults.dataDirectory == ".devstorage" && !defaults.loose)
    }
}
