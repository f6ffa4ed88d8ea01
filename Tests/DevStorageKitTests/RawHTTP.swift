import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StorageKit

/// Sends an already signed `CanonicalRequest` as is (for accounts other than the development one).
enum RawHTTP {
    static func send(_ method: String, port: Int, _ canonical: CanonicalRequest, body: Data? = nil) async throws -> TestResponse {
        let query = canonical.encodedQuery
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(canonical.encodedPath)" + (query.isEmpty ? "" : "?" + query))
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in canonical.headers where name.lowercased() != "content-length" {
            request.headers.add(name: name, value: value)
        }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return TestResponse(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
    }
}
