import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit
import Testing

@testable import Uploader

@Suite("Tenants: keys, job ids that sort newest first, cursors, and jobs only their tenant sees")
struct TenantTests {
    @Test("`tenant:key` entries name a tenant; a bare key is its own tenant (its id)")
    func keyEntries() throws {
        let keys = APIKeys(keys: ["alpha:key-a1", "alpha:key-a2", "beta:key-b", "bare-key", "not a tenant:key-x", "gamma:"])
        let a1 = try #require(keys.authenticate("key-a1"))
        let a2 = try #require(keys.authenticate("key-a2"))
        #expect(a1.tenant == "alpha" && a2.tenant == "alpha" && a1.keyID != a2.keyID)
        #expect(keys.authenticate("key-b")?.tenant == "beta")
        let bare = try #require(keys.authenticate("bare-key"))
        #expect(bare.tenant == bare.keyID && bare.keyID.count == 16)
        // Not `tenant:key`: the whole entry is the key.
        #expect(keys.authenticate("not a tenant:key-x")?.tenant == keys.authenticate("not a tenant:key-x")?.keyID)
        #expect(keys.authenticate("key-x") == nil)
        #expect(keys.authenticate("gamma:") != nil && keys.authenticate("") == nil)
        #expect(keys.authenticate("alpha:key-a1") == nil)  // the tenant is not part of the key
        #expect(keys.namedTenants == ["alpha", "beta"])
        #expect(Tenant.isValid("72f988bf-86f1-41af-91ab-2d7cd011db47") && Tenant.isValid("a") && !Tenant.isValid(""))
        #expect(!Tenant.isValid("-a") && !Tenant.isValid("a/b") && !Tenant.isValid("a b") && !Tenant.isValid(String(repeating: "a", count: 65)))
    }

    @Test("job ids are lowercase UUIDs that sort newest first")
    func jobIds() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let ids = (0..<200).map { MediaJob.newJobId(at: start + Double($0) * 0.002) }
        #expect(Set(ids).count == ids.count)
        #expect(ids.reversed() == ids.sorted())  // later → smaller
        for id in ids {
            #expect(JobsController.isJobId(id))
            #expect(Array(id)[14] == "8")  // version 8
            #expect("89ab".contains(Array(id)[19]))  // RFC 9562 variant
        }
        // Two ids of the same millisecond differ in their random bits.
        #expect(MediaJob.newJobId(at: start) != MediaJob.newJobId(at: start))
        #expect(MediaJob.newJobId(at: Date()) < MediaJob.newJobId(at: Date() - 1))
    }

    @Test("quota days are UTC days; Retry-After runs to the next UTC midnight")
    func quotaDays() {
        let date = Date(timeIntervalSince1970: 1_795_737_599)  // 2026-11-26 23:59:59 UTC
        #expect(TenantQuotas.day(date) == "2026-11-26")
        #expect(TenantQuotas.day(date + 1) == "2026-11-27")
        #expect(TenantQuotas.secondsToMidnight(date) == 1)
        #expect(TenantQuotas.secondsToMidnight(date + 1) == 86_400)
        #expect(TenantQuotas.documentName(tenant: "alpha", day: "2026-11-26") == "_quotas/2026-11-26/alpha.json")
        #expect(!Tenant.isValid("_quotas"))  // no tenant's prefix
        #expect(TenantQuotas.Limits().isOff && !TenantQuotas.Limits(uploadsPerDay: 1).isOff)
    }

    @Test("a listing cursor is opaque, round-trips, and is refused for another tenant or when forged")
    func cursors() throws {
        let cursor = JobCursor.cursor(marker: "alpha/0123.json", tenant: "alpha")
        #expect(!cursor.contains("alpha"))
        #expect(try JobCursor.marker(from: cursor, tenant: "alpha") == "alpha/0123.json")
        #expect(throws: JobCursor.Invalid.self) { try JobCursor.marker(from: cursor, tenant: "beta") }
        #expect(throws: JobCursor.Invalid.self) { try JobCursor.marker(from: "not-a-cursor!", tenant: "alpha") }
        #expect(throws: JobCursor.Invalid.self) { try JobCursor.marker(from: "", tenant: "alpha") }
    }

    @Test("another tenant's job is 404 exactly like an unknown id — status, outputs and list; the owner's other key sees it")
    func isolation() async throws {
        try await UploaderHarness.run(configure: { $0.apiKeys = ["alpha:alpha-key-1", "alpha:alpha-key-2", "beta:beta-key-1"] }) { h in
            let photo = try #require(try Photos.smallest(1).first)
            let alpha: HTTPFields = [APIKeyMiddleware.apiKeyHeader: "alpha-key-1"]
            let alphaAgain: HTTPFields = [APIKeyMiddleware.apiKeyHeader: "alpha-key-2"]
            let beta: HTTPFields = [APIKeyMiddleware.apiKeyHeader: "beta-key-1"]
            let upload = try await h.client.execute(uri: "/upload", method: .post, headers: alpha, body: ByteBuffer(data: photo.data))
            #expect(upload.status == .accepted)
            let jobId = try #require(upload.json["jobId"] as? String)

            // Stored under its tenant, and the message and document say whose it is.
            let document = try JobStatus.decode(Data(buffer: try await h.blobs.downloadData("jobstatus", "alpha/\(jobId).json")))
            #expect(document.tenant == "alpha")
            #expect(try await h.queuedJobs().first?.tenant == "alpha")
            try await h.completeAsProcessor(jobId, tenant: "alpha")

            #expect(try await h.client.execute(uri: "/jobs/\(jobId)", method: .get, headers: alphaAgain).status == .ok)
            let unknown = "00000000-0000-4000-8000-000000000000"
            for path in ["/jobs/\(jobId)", "/jobs/\(jobId)/outputs/image.webp"] {
                let theirs = try await h.client.execute(uri: path, method: .get, headers: beta)
                let none = try await h.client.execute(uri: path.replacingOccurrences(of: jobId, with: unknown), method: .get, headers: beta)
                #expect(theirs.status == .notFound)
                #expect(String(buffer: theirs.body) == String(buffer: none.body).replacingOccurrences(of: unknown, with: jobId))
            }
            let theirs = try await h.client.execute(uri: "/jobs", method: .get, headers: beta)
            #expect(theirs.status == .ok)
            #expect((theirs.json["jobs"] as? [Any])?.isEmpty == true)
            let mine = try await h.client.execute(uri: "/jobs", method: .get, headers: alphaAgain)
            let listed = try #require(mine.json["jobs"] as? [[String: Any]])
            #expect(listed.map { $0["jobId"] as? String } == [jobId])
            // The output link in the list opens without a key, and is the owner's only.
            let outputs = try #require(listed.first?["outputs"] as? [[String: Any]])
            let link = try #require(outputs.first?["url"] as? String)
            if link.hasPrefix("/") {
                #expect(try await h.client.execute(uri: link, method: .get).status == .ok)
                let forged = link.replacingOccurrences(of: "tenant=alpha", with: "tenant=beta")
                #expect(try await h.client.execute(uri: forged, method: .get).status == .unauthorized)
            }
        }
    }

    @Test("the list pages newest first with a cursor, filters by status, and refuses bad parameters")
    func listing() async throws {
        try await UploaderHarness.run { h in
            let photo = try #require(try Photos.smallest(1).first)
            var ids: [String] = []
            for _ in 0..<7 {
                let upload = try await h.client.execute(uri: "/upload", method: .post, headers: h.keyHeader, body: ByteBuffer(data: photo.data))
                ids.append(try #require(upload.json["jobId"] as? String))
                try await Task.sleep(for: .milliseconds(3))  // distinct milliseconds: a defined order
            }
            try await h.completeAsProcessor(ids[2])
            var seen: [String] = []
            var cursor: String?
            repeat {
                let query = "/jobs?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await h.client.execute(uri: query, method: .get, headers: h.keyHeader)
                #expect(page.status == .ok)
                let jobs = try #require(page.json["jobs"] as? [[String: Any]])
                #expect(jobs.count <= 3)
                seen += jobs.compactMap { $0["jobId"] as? String }
                cursor = page.json["nextCursor"] as? String
            } while cursor != nil
            #expect(seen == ids.reversed())

            let succeeded = try await h.client.execute(uri: "/jobs?status=succeeded", method: .get, headers: h.keyHeader)
            #expect((succeeded.json["jobs"] as? [[String: Any]])?.compactMap { $0["jobId"] as? String } == [ids[2]])
            let queued = try await h.client.execute(uri: "/jobs?status=queued&limit=100", method: .get, headers: h.keyHeader)
            #expect((queued.json["jobs"] as? [[String: Any]])?.count == 6)
            // The other key is another tenant: nothing.
            let other = try await h.client.execute(uri: "/jobs", method: .get, headers: [APIKeyMiddleware.apiKeyHeader: UploaderHarness.otherKey])
            #expect((other.json["jobs"] as? [Any])?.isEmpty == true)

            for bad in ["/jobs?limit=0", "/jobs?limit=101", "/jobs?limit=x", "/jobs?status=done", "/jobs?cursor=forged"] {
                let response = try await h.client.execute(uri: bad, method: .get, headers: h.keyHeader)
                #expect(response.status == .badRequest, "\(bad)")
            }
            #expect(try await h.client.execute(uri: "/jobs", method: .get).status == .unauthorized)
        }
    }

    @Test("a status document from before tenants stays readable at its old place")
    func legacyDocument() async throws {
        try await UploaderHarness.run { h in
            let job = MediaJob(
                jobId: UUID().uuidString.lowercased(), input: BlobReference(container: "rawfiles", blob: "x.jpg", bytes: 1, mediaType: "image/jpeg", md5: ""))
            let legacy = JobStatus(queued: job)
            #expect(legacy.tenant == nil && legacy.documentName == "\(job.jobId).json")
            _ = try await h.blobs.putBlob("jobstatus", legacy.documentName, body: ByteBuffer(data: try legacy.json()))
            let response = try await h.client.execute(uri: "/jobs/\(job.jobId)", method: .get, headers: h.keyHeader)
            #expect(response.status == .ok)
            #expect(response.json["jobId"] as? String == job.jobId)
        }
    }
}
