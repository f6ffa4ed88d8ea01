import DevStorageKit
import Foundation
import NIOHTTP1
import StorageKit
import Testing
import TestSupport

@Suite("Shared Key authentication", .timeLimit(.minutes(2)))
struct AuthenticationTests {
    @Test("a signed Put Blob / Get Blob round trip")
    func signedRoundTrip() async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            #expect(try await client.createContainer("media").status == 201)
            let data = Data("hello world".utf8)
            let put = try await client.putBlob(
                "media", "uploads/clip%2001.mp4", data,
                headers: [
                    ("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="), ("x-ms-blob-content-type", "video/mp4"),
                    ("x-ms-meta-Origin", "uploader"), ("x-ms-client-request-id", "client-1"),
                ])
            #expect(put.status == 201)
            #expect(put.header("Content-MD5") == "XrY7u+Ae7tCTyyK7j1rNww==")
            #expect(put.header("x-ms-request-server-encrypted") == "true")
            #expect(put.header("x-ms-client-request-id") == "client-1")
            #expect(put.header("x-ms-version") == StorageDefaults.serviceVersion)
            #expect(put.header("x-ms-request-id").flatMap(UUID.init(uuidString:)) != nil)
            #expect(put.header("Date") != nil)
            #expect(put.header("Server") != nil)
            let etag = try #require(put.header("ETag"))
            #expect(etag.hasPrefix("\"0x") && etag.hasSuffix("\""))

            let get = try await client.send(.GET, "/media/uploads/clip%2001.mp4")
            #expect(get.status == 200)
            #expect(get.body == data)
            #expect(get.header("ETag") == etag)
            #expect(get.header("Content-Type") == "video/mp4")
            #expect(get.header("Content-MD5") == "XrY7u+Ae7tCTyyK7j1rNww==")
            #expect(get.header("x-ms-meta-Origin") == "uploader")
            #expect(get.header("x-ms-blob-type") == "BlockBlob")
            #expect(get.header("Accept-Ranges") == "bytes")
            #expect(get.header("x-ms-creation-time") != nil)
            #expect(get.header("Last-Modified") != nil)

            let head = try await client.send(.HEAD, "/media/uploads/clip%2001.mp4")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "11")
            #expect(head.body.isEmpty)
        }
    }

    @Test("any x-ms-version of the form YYYY-MM-DD is accepted and echoed; others are 400")
    func versionEcho() async throws {
        try await withDevStorage { storage in
            var client = StorageTestClient(storage)
            client.version = "2031-01-01"
            let response = try await client.createContainer("versions")
            #expect(response.status == 201)
            #expect(response.header("x-ms-version") == "2031-01-01")
            client.version = "latest"
            let bad = try await client.send(.GET, "/versions", query: [("restype", "container")])
            #expect(bad.status == 400)
            #expect(bad.errorCode == "InvalidHeaderValue")
        }
    }

    @Test("a wrong key is 403 AuthenticationFailed with the server's string-to-sign")
    func wrongKey() async throws {
        try await withDevStorage { storage in
            let wrongKey = Data(repeating: 7, count: 64).base64EncodedString()
            let response = try await StorageTestClient(storage, auth: .key(wrongKey)).createContainer("media")
            #expect(response.status == 403)
            #expect(response.errorCode == "AuthenticationFailed")
            let detail = try #require(response.element("AuthenticationErrorDetail"))
            #expect(detail.contains("PUT\n"))
            #expect(detail.contains("/devstoreaccount1/devstoreaccount1/media\nrestype:container"))
            #expect(response.element("Code") == "AuthenticationFailed")
            #expect(response.element("Message")?.contains("RequestId:") == true)
            #expect(response.header("Content-Type") == "application/xml")
        }
    }

    @Test("a header or query parameter changed after signing is 403", arguments: ["header", "query", "path"])
    func tampered(_ what: String) async throws {
        try await withDevStorage { storage in
            let client = StorageTestClient(storage)
            try await client.createContainer("media")
            try await client.putBlob("media", "a.txt", Data("x".utf8))
            let response = try await client.send(
                .GET, "/media/a.txt", query: [("timeout", "30")], headers: [("x-ms-meta-color", "red")]
            ) { request in
                switch what {
                case "header": request.headers = request.headers.map { $0.name == "x-ms-meta-color" ? ($0.name, "blue") : $0 }
                case "query": request.query = [("timeout", "31")]
                default: request.encodedPath = "/devstoreaccount1/media/b.txt"
                }
            }
            #expect(response.status == 403)
            #expect(response.errorCode == "AuthenticationFailed")
        }
    }

    @Test("an x-ms-date 20 minutes old (or ahead) is 403", arguments: [-20.0, 20.0])
    func clockSkew(_ minutes: Double) async throws {
        try await withDevStorage { storage in
            let response = try await StorageTestClient(storage).send(
                .PUT, "/media", query: [("restype", "container")], date: Date().addingTimeInterval(minutes * 60))
            #expect(response.status == 403)
            #expect(response.errorCode == "AuthenticationFailed")
            #expect(response.element("AuthenticationErrorDetail")?.contains("date") == true)
        }
    }

    @Test("an x-ms-date 14 minutes old is still accepted")
    func clockSkewWithinWindow() async throws {
        try await withDevStorage { storage in
            let response = try await StorageTestClient(storage).send(
                .PUT, "/media", query: [("restype", "container")], date: Date().addingTimeInterval(-14 * 60))
            #expect(response.status == 201)
        }
    }

    @Test("a malformed Authorization header is 400 InvalidAuthenticationInfo")
    func malformed() async throws {
        try await withDevStorage { storage in
            let response = try await StorageTestClient(storage).send(.PUT, "/media", query: [("restype", "container")]) { request in
                request.headers = request.headers.map { $0.name == "Authorization" ? ($0.name, "SharedKey nocolon") : $0 }
            }
            #expect(response.status == 400)
            #expect(response.errorCode == "InvalidAuthenticationInfo")
        }
    }

    @Test("no credentials: 404 ResourceNotFound; loose mode allows it")
    func anonymous() async throws {
        try await withDevStorage { storage in
            let response = try await StorageTestClient(storage, auth: .none).createContainer("media")
            #expect(response.status == 404)
            #expect(response.errorCode == "ResourceNotFound")
        }
        try await withDevStorage(configuration: .testing(loose: true)) { storage in
            let response = try await StorageTestClient(storage, auth: .none).createContainer("media")
            #expect(response.status == 201)
        }
    }

    @Test("a bearer token is refused unless allowBearer is on")
    func bearer() async throws {
        func create(_ storage: RunningDevStorage) async throws -> TestResponse {
            try await StorageTestClient(storage, auth: .none).send(.PUT, "/media", query: [("restype", "container")]) { request in
                request.headers.append((name: "Authorization", value: "Bearer token"))
            }
        }
        try await withDevStorage { storage in
            let response = try await create(storage)
            #expect(response.status == 403)
        }
        var configuration = DevStorageConfiguration.testing()
        configuration.allowBearer = true
        try await withDevStorage(configuration: configuration) { storage in
            let response = try await create(storage)
            #expect(response.status == 201)
        }
    }

    @Test("extra accounts in AZURITE_ACCOUNTS format verify with either key")
    func extraAccounts() async throws {
        let key1 = Data(repeating: 1, count: 32).base64EncodedString()
        let key2 = Data(repeating: 2, count: 32).base64EncodedString()
        var configuration = DevStorageConfiguration.testing()
        configuration.extraAccounts = DevStorageAccount.parseList("acct2:\(key1):\(key2);acct3:\(key1)")
        try await withDevStorage(configuration: configuration) { storage in
            for key in [key1, key2] {
                var canonical = CanonicalRequest(
                    method: "PUT", encodedPath: "/acct2/c-\(key == key1 ? 1 : 2)", query: [("restype", "container")],
                    headers: [("x-ms-version", StorageDefaults.serviceVersion)])
                try SharedKeySigner(accountName: "acct2", accountKey: key).sign(&canonical)
                let response = try await RawHTTP.send("PUT", port: storage.blobPort, canonical)
                #expect(response.status == 201)
            }
            // The development account still works, and its key does not open acct2.
            #expect(try await StorageTestClient(storage).createContainer("dev").status == 201)
            var canonical = CanonicalRequest(
                method: "PUT", encodedPath: "/acct2/c-3", query: [("restype", "container")],
                headers: [("x-ms-version", StorageDefaults.serviceVersion)])
            try SharedKeySigner(accountName: "acct2", accountKey: StorageDefaults.developmentAccountKey).sign(&canonical)
            #expect(try await RawHTTP.send("PUT", port: storage.blobPort, canonical).status == 403)
        }
    }
}
