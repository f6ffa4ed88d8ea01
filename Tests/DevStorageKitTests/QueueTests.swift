import DevStorageKit
import Foundation
import NIOHTTP1
import StorageKit
import Testing
import TestSupport

@Suite("Queue service", .timeLimit(.minutes(2)))
struct QueueTests {
    @Test("create 201, same metadata 204, different metadata 409; metadata and count; delete 204")
    func queues() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            #expect(try await client.send(.PUT, .queue, "/jobs", headers: [("x-ms-meta-Owner", "a")]).status == 201)
            #expect(try await client.send(.PUT, .queue, "/jobs", headers: [("x-ms-meta-owner", "a")]).status == 204)
            let conflict = try await client.send(.PUT, .queue, "/jobs", headers: [("x-ms-meta-owner", "b")])
            #expect(conflict.status == 409)
            #expect(conflict.errorCode == "QueueAlreadyExists")
            #expect(try await client.createQueue("Bad").errorCode == "InvalidResourceName")
            try await client.putMessage("jobs", "1")
            try await client.putMessage("jobs", "2", query: [("visibilitytimeout", "60")])
            let metadata = try await client.send(.GET, .queue, "/jobs", query: [("comp", "metadata")])
            #expect(metadata.header("x-ms-approximate-messages-count") == "2")
            #expect(metadata.header("x-ms-meta-Owner") == "a")
            let set = try await client.send(.PUT, .queue, "/jobs", query: [("comp", "metadata")], headers: [("x-ms-meta-k", "v")])
            #expect(set.status == 204)
            #expect(try await client.send(.HEAD, .queue, "/jobs", query: [("comp", "metadata")]).header("x-ms-meta-k") == "v")
            #expect(try await client.send(.DELETE, .queue, "/jobs").status == 204)
            let gone = try await client.send(.GET, .queue, "/jobs/messages")
            #expect(gone.errorCode == "QueueNotFound")
        }
    }

    @Test("put, get, visibility, dequeue count, update with a new receipt, stale receipt rejected, delete")
    func lifecycle() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            let text = "job <1> & \"quoted\" 'text' é"
            let put = try await client.putMessage("jobs", text)
            #expect(put.status == 201)
            let id = try #require(put.element("MessageId"))
            #expect(put.element("PopReceipt") != nil)
            #expect(put.element("TimeNextVisible") != nil)
            #expect(put.element("MessageText") == nil)

            let first = try await client.send(.GET, .queue, "/jobs/messages", query: [("visibilitytimeout", "30")])
            #expect(first.element("MessageId") == id)
            #expect(first.element("MessageText") == text)
            #expect(first.element("DequeueCount") == "1")
            let receipt = try #require(first.element("PopReceipt"))
            #expect(receipt.contains("+") && receipt.contains("/") && receipt.hasSuffix("="))
            // Invisible now.
            #expect(try await client.send(.GET, .queue, "/jobs/messages").text.contains("<QueueMessagesList />"))

            // Update: new receipt; the old one is dead.
            let update = try await client.send(
                .PUT, .queue, "/jobs/messages/\(id)", query: [("popreceipt", receipt), ("visibilitytimeout", "0")],
                body: Data("<QueueMessage><MessageText>updated</MessageText></QueueMessage>".utf8))
            #expect(update.status == 204)
            let newReceipt = try #require(update.header("x-ms-popreceipt"))
            #expect(newReceipt != receipt)
            #expect(update.header("x-ms-time-next-visible") != nil)
            let stale = try await client.send(.DELETE, .queue, "/jobs/messages/\(id)", query: [("popreceipt", receipt)])
            #expect(stale.status == 400)
            #expect(stale.errorCode == "PopReceiptMismatch")

            // Visible again (visibilitytimeout 0): second dequeue.
            let second = try await client.send(.GET, .queue, "/jobs/messages", query: [("numofmessages", "32")])
            #expect(second.element("DequeueCount") == "2")
            #expect(second.element("MessageText") == "updated")
            let secondReceipt = try #require(second.element("PopReceipt"))
            #expect(try await client.send(.DELETE, .queue, "/jobs/messages/\(id)", query: [("popreceipt", newReceipt)]).errorCode == "PopReceiptMismatch")
            #expect(try await client.send(.DELETE, .queue, "/jobs/messages/\(id)", query: [("popreceipt", secondReceipt)]).status == 204)
            let unknown = try await client.send(.DELETE, .queue, "/jobs/messages/\(id)", query: [("popreceipt", secondReceipt)])
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "MessageNotFound")
        }
    }

    @Test("visibility timeout elapses with the clock; order is FIFO; numofmessages limits")
    func visibilityAndOrder() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            for index in 0..<5 { try await client.putMessage("jobs", "m\(index)") }
            let batch = try await client.send(.GET, .queue, "/jobs/messages", query: [("numofmessages", "3"), ("visibilitytimeout", "10")])
            #expect(batch.elements("MessageText") == ["m0", "m1", "m2"])
            let rest = try await client.send(.GET, .queue, "/jobs/messages", query: [("numofmessages", "32"), ("visibilitytimeout", "10")])
            #expect(rest.elements("MessageText") == ["m3", "m4"])
            #expect(try await client.send(.GET, .queue, "/jobs/messages").elements("MessageText").isEmpty)
            storage.clock.advance(by: 11)
            let again = try await client.send(.GET, .queue, "/jobs/messages", query: [("numofmessages", "32")])
            #expect(again.elements("MessageText") == ["m0", "m1", "m2", "m3", "m4"])
            #expect(again.elements("DequeueCount") == ["2", "2", "2", "2", "2"])
            for bad in ["0", "33", "x"] {
                let response = try await client.send(.GET, .queue, "/jobs/messages", query: [("numofmessages", bad)])
                #expect(response.status == 400)
            }
            let vt = try await client.send(.GET, .queue, "/jobs/messages", query: [("visibilitytimeout", "0")])
            #expect(vt.errorCode == "OutOfRangeQueryParameterValue")
        }
    }

    @Test("peek changes nothing and omits receipt and visibility")
    func peek() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            try await client.putMessage("jobs", "a")
            let peek = try await client.send(.GET, .queue, "/jobs/messages", query: [("peekonly", "true")])
            #expect(peek.element("MessageText") == "a")
            #expect(peek.element("DequeueCount") == "0")
            #expect(peek.element("PopReceipt") == nil)
            #expect(peek.element("TimeNextVisible") == nil)
            let order = ["MessageId", "InsertionTime", "ExpirationTime", "DequeueCount", "MessageText"].map { peek.text.range(of: "<\($0)>")!.lowerBound }
            #expect(order == order.sorted())
            let get = try await client.send(.GET, .queue, "/jobs/messages")
            #expect(get.element("DequeueCount") == "1")
        }
    }

    @Test("clear removes every message")
    func clear() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            for index in 0..<3 { try await client.putMessage("jobs", "\(index)") }
            #expect(try await client.send(.DELETE, .queue, "/jobs/messages").status == 204)
            #expect(try await client.send(.GET, .queue, "/jobs", query: [("comp", "metadata")]).header("x-ms-approximate-messages-count") == "0")
        }
    }

    @Test("TTL: messages expire when the clock passes their TTL; -1 never expires (Q7: advance 8 days)")
    func timeToLive() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            try await client.putMessage("jobs", "short", query: [("messagettl", "60")])
            try await client.putMessage("jobs", "default")
            let forever = try await client.putMessage("jobs", "forever", query: [("messagettl", "-1")])
            #expect(forever.element("ExpirationTime") == "Fri, 31 Dec 9999 23:59:59 GMT")
            storage.clock.advance(by: 61)
            #expect(try await client.send(.GET, .queue, "/jobs/messages", query: [("peekonly", "true"), ("numofmessages", "32")]).elements("MessageText") == ["default", "forever"])
            storage.clock.advance(by: 8 * 86_400)
            let left = try await client.send(.GET, .queue, "/jobs/messages", query: [("peekonly", "true"), ("numofmessages", "32")])
            #expect(left.elements("MessageText") == ["forever"])
            #expect(try await client.send(.GET, .queue, "/jobs", query: [("comp", "metadata")]).header("x-ms-approximate-messages-count") == "1")
        }
    }

    @Test("put message parameter limits")
    func putLimits() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            for (name, value) in [("messagettl", "0"), ("messagettl", "-2"), ("visibilitytimeout", "604801"), ("visibilitytimeout", "-1")] {
                let response = try await client.putMessage("jobs", "x", query: [(name, value)])
                #expect(response.status == 400)
                #expect(response.errorCode == "OutOfRangeQueryParameterValue")
            }
            let notBelowTTL = try await client.putMessage("jobs", "x", query: [("messagettl", "10"), ("visibilitytimeout", "10")])
            #expect(notBelowTTL.errorCode == "OutOfRangeQueryParameterValue")
            let invalidXML = try await client.send(.POST, .queue, "/jobs/messages", body: Data("<nope".utf8))
            #expect(invalidXML.errorCode == "InvalidXmlDocument")
        }
    }

    @Test("64 KiB of text is accepted, one byte more is 400 MessageTooLarge")
    func messageSize() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            let limit = String(repeating: "a", count: 65_536)
            #expect(try await client.putMessage("jobs", limit).status == 201)
            let tooLarge = try await client.putMessage("jobs", limit + "a")
            #expect(tooLarge.status == 400)
            #expect(tooLarge.errorCode == "MessageTooLarge")
            let got = try await client.send(.GET, .queue, "/jobs/messages")
            #expect(got.element("MessageText")?.utf8.count == 65_536)
        }
    }
}
