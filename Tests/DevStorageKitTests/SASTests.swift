import DevStorageKit
import Foundation
import NIOHTTP1
import StorageKit
import Testing
import TestSupport

@Suite("Shared access signatures", .timeLimit(.minutes(2)))
struct SASTests {
    let signer = try! SharedKeySigner(accountName: StorageDefaults.developmentAccountName, accountKey: StorageDefaults.developmentAccountKey)

    func blobSAS(_ permissions: String, start: Date? = nil, expiry: Date = Date().addingTimeInterval(3600), resource: String = "b",
        blob: String? = "clip 01.mp4", configure: (inout SASValues) -> Void = { _ in }) -> String {
        var values = SASValues(permissions: permissions, start: start.map(HTTPDate.iso8601), expiry: HTTPDate.iso8601(expiry))
        values.resource = resource
        configure(&values)
        return signer.signBlobSAS(values, container: "media", blobName: resource == "c" ? nil : blob).encodedQuery
    }

    func seed(_ storage: RunningDevStorage) async throws {
        let client = StorageTestClient(storage)
        try await client.createContainer("media")
        try await client.putBlob("media", "clip%2001.mp4", Data("0123456789".utf8), headers: [("x-ms-blob-content-type", "video/mp4")])
    }

    @Test("a read SAS reads the blob, with response header overrides")
    func readOK() async throws {
        try await withDevStorage { storage in
            try await seed(storage)
            let sas = blobSAS("r", start: Date().addingTimeInterval(-300)) { values in
                values.contentDisposition = "attachment; filename=\"clip.mp4\""
                values.contentType = "application/octet-stream"
            }
            let response = try await StorageTestClient(storage, auth: .sas(sas)).send(.GET, "/media/clip%2001.mp4")
            #expect(response.status == 200)
            #expect(response.text == "0123456789")
            #expect(response.header("Content-Disposition") == "attachment; filename=\"clip.mp4\"")
            #expect(response.header("Content-Type") == "application/octet-stream")
        }
    }

    @Test("an expired (or not yet valid) SAS is 403 AuthenticationFailed")
    func expired() async throws {
        try await withDevStorage { storage in
            try await seed(storage)
            for sas in [
                blobSAS("r", expiry: Date().addingTimeInterval(-60)),
                blobSAS("r", start: Date().addingTimeInterval(600), expiry: Date().addingTimeInterval(3600)),
            ] {
                let response = try await StorageTestClient(storage, auth: .sas(sas)).send(.GET, "/media/clip%2001.mp4")
                #expect(response.status == 403)
                #expect(response.errorCode == "AuthenticationFailed")
            }
        }
    }

    @Test("a SAS without the operation's permission is 403 AuthorizationPermissionMismatch")
    func missingPermission() async throws {
        try await withDevStorage { storage in
            try await seed(storage)
            let readOnly = StorageTestClient(storage, auth: .sas(blobSAS("r")))
            let write = try await readOnly.putBlob("media", "clip%2001.mp4", Data("x".utf8))
            #expect(write.status == 403)
            #expect(write.errorCode == "AuthorizationPermissionMismatch")
            let delete = try await readOnly.send(.DELETE, "/media/clip%2001.mp4")
            #expect(delete.errorCode == "AuthorizationPermissionMismatch")
            // Create-only may create but not overwrite.
            let createOnly = StorageTestClient(storage, auth: .sas(blobSAS("c")))
            #expect(try await createOnly.putBlob("media", "clip%2001.mp4", Data("x".utf8)).errorCode == "AuthorizationPermissionMismatch")
            let listSAS = blobSAS("r", resource: "c")
            let list = try await StorageTestClient(storage, auth: .sas(listSAS)).send(
                .GET, "/media", query: [("restype", "container"), ("comp", "list")])
            #expect(list.errorCode == "AuthorizationPermissionMismatch")
            let listOK = try await StorageTestClient(storage, auth: .sas(blobSAS("rl", resource: "c"))).send(
                .GET, "/media", query: [("restype", "container"), ("comp", "list")])
            #expect(listOK.status == 200)
        }
    }

    @Test("spr=https on plain http is 403 AuthorizationProtocolMismatch")
    func protocolMismatch() async throws {
        try await withDevStorage { storage in
            try await seed(storage)
            let sas = blobSAS("r") { $0.protocols = "https" }
            let response = try await StorageTestClient(storage, auth: .sas(sas)).send(.GET, "/media/clip%2001.mp4")
            #expect(response.status == 403)
            #expect(response.errorCode == "AuthorizationProtocolMismatch")
            let both = blobSAS("r") { $0.protocols = "https,http" }
            #expect(try await StorageTestClient(storage, auth: .sas(both)).send(.GET, "/media/clip%2001.mp4").status == 200)
        }
    }

    @Test("a SAS for one blob does not open another; a tampered SAS fails")
    func wrongResource() async throws {
        try await withDevStorage { storage in
            try await seed(storage)
            try await StorageTestClient(storage).putBlob("media", "other.mp4", Data("y".utf8))
            let sas = blobSAS("r")
            let other = try await StorageTestClient(storage, auth: .sas(sas)).send(.GET, "/media/other.mp4")
            #expect(other.status == 403)
            #expect(other.errorCode == "AuthenticationFailed")
            let tampered = sas.replacingOccurrences(of: "sp=r", with: "sp=rw")
            let response = try await StorageTestClient(storage, auth: .sas(tampered)).send(.GET, "/media/clip%2001.mp4")
            #expect(response.errorCode == "AuthenticationFailed")
        }
    }

    @Test("a blob-scoped create+write SAS (a direct upload's): uploads its one blob, nothing else")
    func blobScopedUploadSAS() async throws {
        try await withDevStorage { storage in
            try await seed(storage)
            let sas = blobSAS("cw", start: Date().addingTimeInterval(-300), blob: "2026/11/27/job.upload")
            let client = StorageTestClient(storage, auth: .sas(sas))
            // Put Blob, then overwrite it with Put Block + Put Block List: both on its own name.
            #expect(try await client.putBlob("media", "2026/11/27/job.upload", Data("first".utf8)).status == 201)
            #expect(try await client.putBlock("media", "2026/11/27/job.upload", id: blockID(0), Data("sec".utf8)).status == 201)
            #expect(try await client.putBlock("media", "2026/11/27/job.upload", id: blockID(1), Data("ond".utf8)).status == 201)
            #expect(try await client.putBlockList("media", "2026/11/27/job.upload", latest: [blockID(0), blockID(1)]).status == 201)
            let stored = try await StorageTestClient(storage).send(.GET, "/media/2026/11/27/job.upload")
            #expect(stored.text == "second")
            // Another name, the same name's neighbour, a read, a listing, a delete: all 403.
            for other in ["2026/11/27/other.upload", "2026/11/27/job.uploadx", "clip%2001.mp4"] {
                let write = try await client.putBlob("media", other, Data("x".utf8))
                #expect(write.status == 403)
                #expect(write.errorCode == "AuthenticationFailed")
                #expect(try await client.putBlock("media", other, id: blockID(0), Data("x".utf8)).status == 403)
            }
            let read = try await client.send(.GET, "/media/2026/11/27/job.upload")
            #expect(read.status == 403)
            #expect(read.errorCode == "AuthorizationPermissionMismatch")
            #expect(try await client.send(.HEAD, "/media/2026/11/27/job.upload").status == 403)
            #expect(try await client.send(.GET, "/media/2026/11/27/job.upload", query: [("comp", "blocklist")]).status == 403)
            let list = try await client.send(.GET, "/media", query: [("restype", "container"), ("comp", "list")])
            #expect(list.status == 403)
            #expect(try await client.send(.DELETE, "/media/2026/11/27/job.upload").status == 403)
            // The blob's SAS used on another container's same name: 403.
            try await StorageTestClient(storage).createContainer("other")
            #expect(try await client.putBlob("other", "2026/11/27/job.upload", Data("x".utf8)).status == 403)
            // Nothing but the one blob was written.
            let names = try await StorageTestClient(storage).send(.GET, "/media", query: [("restype", "container"), ("comp", "list")]).elements("Name")
            #expect(names.sorted() == ["2026/11/27/job.upload", "clip 01.mp4"])
        }
    }

    @Test("queue service SAS: add may put but not dequeue")
    func queueSAS() async throws {
        try await withDevStorage { storage in
            try await StorageTestClient(storage).createQueue("jobs")
            var values = SASValues(permissions: "a", expiry: HTTPDate.iso8601(Date().addingTimeInterval(3600)))
            values.protocols = "https,http"
            let sas = signer.signQueueSAS(values, queue: "jobs").encodedQuery
            let client = StorageTestClient(storage, auth: .sas(sas))
            #expect(try await client.putMessage("jobs", "hello").status == 201)
            let get = try await client.send(.GET, .queue, "/jobs/messages")
            #expect(get.errorCode == "AuthorizationPermissionMismatch")
        }
    }

    @Test("account SAS: service and resource types are enforced")
    func accountSAS() async throws {
        try await withDevStorage { storage in
            try await seed(storage)
            func sas(services: String, types: String, permissions: String = "rl") -> String {
                var values = SASValues(permissions: permissions, expiry: HTTPDate.iso8601(Date().addingTimeInterval(3600)))
                values.services = services
                values.resourceTypes = types
                return signer.signAccountSAS(values).encodedQuery
            }
            let ok = try await StorageTestClient(storage, auth: .sas(sas(services: "b", types: "sco"))).send(.GET, "/media/clip%2001.mp4")
            #expect(ok.status == 200)
            let wrongService = try await StorageTestClient(storage, auth: .sas(sas(services: "q", types: "sco"))).send(.GET, "/media/clip%2001.mp4")
            #expect(wrongService.errorCode == "AuthorizationServiceMismatch")
            let wrongType = try await StorageTestClient(storage, auth: .sas(sas(services: "b", types: "c"))).send(.GET, "/media/clip%2001.mp4")
            #expect(wrongType.errorCode == "AuthorizationResourceTypeMismatch")
            let create = try await StorageTestClient(storage, auth: .sas(sas(services: "b", types: "c", permissions: "c"))).createContainer("fresh")
            #expect(create.status == 201)
        }
    }
}
