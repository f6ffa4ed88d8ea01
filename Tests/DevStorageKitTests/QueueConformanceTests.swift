import DevStorageKit
import Foundation
import NIOHTTP1
import StorageKit
import Testing
import TestSupport

/// Queue behaviour as Azure documents it (Put/Get/Peek/Update/Delete Message references), one case a test.
@Suite("Queue conformance", .serialized, .timeLimit(.minutes(2)))
struct QueueConformanceTests {
    @Test("visibility timeout bounds: Get 1 s…7 days, Update 0…7 days, Put 0…7 days and below the TTL")
    func visibilityBounds() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            let put = try await client.putMessage("jobs", "x")
            let id = try #require(put.element("MessageId"))
            let receipt = try #require(put.element("PopReceipt"))
            for value in ["0", "604801"] {
                let get = try await client.send(.GET, .queue, "/jobs/messages", query: [("visibilitytimeout", value)])
                #expect(get.errorCode == "OutOfRangeQueryParameterValue")
            }
            let update = try await client.send(
                .PUT, .queue, "/jobs/messages/\(id)", query: [("popreceipt", receipt), ("visibilitytimeout", "604801")],
                body: Data("<QueueMessage><MessageText>y</MessageText></QueueMessage>".utf8))
            #expect(update.errorCode == "OutOfRangeQueryParameterValue")
            #expect(try await client.putMessage("jobs", "x", query: [("visibilitytimeout", "604800"), ("messagettl", "-1")]).status == 201)
            #expect(try await client.putMessage("jobs", "x", query: [("visibilitytimeout", "604801"), ("messagettl", "-1")]).status == 400)
            // With the default TTL (7 days) the largest visibility is one second less.
            #expect(try await client.putMessage("jobs", "x", query: [("visibilitytimeout", "604799")]).status == 201)
            #expect(try await client.putMessage("jobs", "x", query: [("visibilitytimeout", "604800")]).status == 400)
            #expect(try await client.putMessage("jobs", "x", query: [("messagettl", "30"), ("visibilitytimeout", "29")]).status == 201)
            #expect(try await client.putMessage("jobs", "x", query: [("messagettl", "30"), ("visibilitytimeout", "30")]).status == 400)
        }
    }

    @Test("TTL bounds: any positive number of seconds (beyond 7 days too) or -1; 0 and below -1 are 400")
    func timeToLiveBounds() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            #expect(try await client.putMessage("jobs", "x", query: [("messagettl", "1")]).status == 201)
            #expect(try await client.putMessage("jobs", "x", query: [("messagettl", "\(30 * 86_400)")]).status == 201)
            #expect(try await client.putMessage("jobs", "x", query: [("messagettl", "-1")]).status == 201)
            for value in ["0", "-2"] {
                #expect(try await client.putMessage("jobs", "x", query: [("messagettl", value)]).errorCode == "OutOfRangeQueryParameterValue")
            }
            #expect(try await client.putMessage("jobs", "x", query: [("messagettl", "soon")]).errorCode == "InvalidQueryParameterValue")
        }
    }

    @Test("peek shows dequeue count 0 for a message never received, and changes nothing")
    func peekDequeueCount() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            try await client.putMessage("jobs", "x")
            for _ in 0..<2 {
                let peek = try await client.send(.GET, .queue, "/jobs/messages", query: [("peekonly", "true")])
                #expect(peek.element("DequeueCount") == "0")
                #expect(peek.element("PopReceipt") == nil)
            }
            let got = try await client.send(.GET, .queue, "/jobs/messages", query: [("visibilitytimeout", "1")])
            #expect(got.element("DequeueCount") == "1")
            storage.clock.advance(by: 2)
            #expect(try await client.send(.GET, .queue, "/jobs/messages", query: [("peekonly", "true")]).element("DequeueCount") == "1")
        }
    }

    @Test("an expired message cannot be updated or deleted, even with its current pop receipt: 404 MessageNotFound")
    func expiredMessages() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            try await client.putMessage("jobs", "short", query: [("messagettl", "60")])
            let got = try await client.send(.GET, .queue, "/jobs/messages", query: [("visibilitytimeout", "300")])
            let id = try #require(got.element("MessageId"))
            let receipt = try #require(got.element("PopReceipt"))
            storage.clock.advance(by: 61)
            let update = try await client.send(
                .PUT, .queue, "/jobs/messages/\(id)", query: [("popreceipt", receipt), ("visibilitytimeout", "0")],
                body: Data("<QueueMessage><MessageText>late</MessageText></QueueMessage>".utf8))
            #expect(update.status == 404)
            #expect(update.errorCode == "MessageNotFound")
            let delete = try await client.send(.DELETE, .queue, "/jobs/messages/\(id)", query: [("popreceipt", receipt)])
            #expect(delete.status == 404)
            #expect(delete.errorCode == "MessageNotFound")
        }
    }

    @Test("64 KiB is measured on the message text as stored, in UTF-8 bytes after XML decoding, not in characters or escaped bytes")
    func sizeAfterEncoding() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            let twoByte = String(repeating: "é", count: 32_768)  // 65,536 UTF-8 bytes
            #expect(try await client.putMessage("jobs", twoByte).status == 201)
            #expect(try await client.putMessage("jobs", twoByte + "é").errorCode == "MessageTooLarge")
            // 65,536 bytes as stored, 98,304 on the wire (each & sent as &amp;).
            let escaped = String(repeating: "&", count: 8_192) + String(repeating: "a", count: 57_344)
            #expect(try await client.putMessage("jobs", escaped).status == 201)
            #expect(try await client.putMessage("jobs", escaped + "&").errorCode == "MessageTooLarge")
            let base64 = Data(repeating: 7, count: 49_152).base64EncodedString()  // what a base64-encoding client sends: 65,536 bytes
            #expect(try await client.putMessage("jobs", base64).status == 201)
            #expect(try await client.putMessage("jobs", Data(repeating: 7, count: 49_155).base64EncodedString()).errorCode == "MessageTooLarge")
        }
    }

    @Test("messagettl=-1: Put, Peek, Get and Update all report ExpirationTime Fri, 31 Dec 9999 23:59:59 GMT, as Azure does")
    func neverExpiresEverywhere() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createQueue("jobs")
            let never = "Fri, 31 Dec 9999 23:59:59 GMT"
            let put = try await client.putMessage("jobs", "forever", query: [("messagettl", "-1")])
            #expect(put.status == 201)
            #expect(put.element("ExpirationTime") == never)
            let peek = try await client.send(.GET, .queue, "/jobs/messages", query: [("peekonly", "true")])
            #expect(peek.element("ExpirationTime") == never)
            let get = try await client.send(.GET, .queue, "/jobs/messages", query: [("visibilitytimeout", "30")])
            #expect(get.element("ExpirationTime") == never)
            let id = try #require(get.element("MessageId"))
            let receipt = try #require(get.element("PopReceipt"))
            let update = try await client.send(
                .PUT, .queue, "/jobs/messages/\(id)", query: [("popreceipt", receipt), ("visibilitytimeout", "0")],
                body: Data("<QueueMessage><MessageText>still forever</MessageText></QueueMessage>".utf8))
            #expect(update.status == 204)
            storage.clock.advance(by: 3_650 * 86_400)
            let later = try await client.send(.GET, .queue, "/jobs/messages", query: [("peekonly", "true")])
            #expect(later.elements("MessageText") == ["still forever"])
            #expect(later.element("ExpirationTime") == never)
        }
    }
}
