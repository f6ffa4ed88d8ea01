import DevStorageKit
import Foundation
import QueueKit
import StorageKit
import TestSupport
import Testing

@Suite("Queue client: list queues and queue metadata against devstorage")
struct QueueListingTests {
    @Test("listQueues follows markers across pages, filters by prefix and reads metadata; metadata set and read back")
    func listAndMetadata() async throws {
        try await withDevStorage { devstorage in
            let queues = QueueClient(account: devstorage.account, retryPolicy: .fast)
            for name in ["jobs-a", "jobs-b", "jobs-c", "other"] { try await queues.createQueue(name) }
            try await queues.setMetadata("jobs-b", ["Owner": "media", "tier": "2"])
            #expect(try await queues.metadata("jobs-b") == ["Owner": "media", "tier": "2"])
            let paged = try await queues.listQueues(prefix: "jobs-", includeMetadata: true, pageSize: 2)
            #expect(paged.map(\.name) == ["jobs-a", "jobs-b", "jobs-c"])
            #expect(paged[1].metadata == ["Owner": "media", "tier": "2"])
            #expect(paged[0].metadata.isEmpty)
            #expect(try await queues.listQueues().map(\.name) == ["jobs-a", "jobs-b", "jobs-c", "other"])
            try await queues.setMetadata("jobs-b", [:])
            #expect(try await queues.metadata("jobs-b").isEmpty)
            let missing = await #expect(throws: StorageError.self) { try await queues.metadata("missing") }
            #expect(missing?.code == .queueNotFound)
        }
    }
}
