import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Request-body rules shared by the uploads.
enum RequestBodies {
    /// The declared `Content-Length`: 411 when absent (chunked uploads), 413 above `limit`.
    static func contentLength(_ request: Request, limit: Int64) throws(StorageServiceError) -> Int64 {
        guard request.headers[.transferEncoding] == nil, let text = request.headers[.contentLength] else {
            throw .lengthRequired
        }
        guard let length = Int64(text), length >= 0 else { throw .invalidHeaderValue("Content-Length", text) }
        guard length <= limit else { throw .requestBodyTooLarge(limit: limit) }
        return length
    }

    /// The decoded `Content-MD5` header, if sent: 400 `InvalidMd5` unless it is base64 of 16 bytes.
    static func contentMD5(_ request: Request) throws(StorageServiceError) -> Data? {
        guard let text = request.headers[.contentMD5] else { return nil }
        guard let data = Data(base64Encoded: text), data.count == 16 else { throw .invalidMD5 }
        return data
    }

    /// Collects a small XML body (block lists, queue messages) up to `limit` bytes (else 413).
    static func collect(_ request: Request, limit: Int) async throws -> Data {
        var collected = ByteBuffer()
        for try await var chunk in request.body {
            guard collected.readableBytes + chunk.readableBytes <= limit else {
                throw StorageServiceError.requestBodyTooLarge(limit: Int64(limit))
            }
            collected.writeBuffer(&chunk)
        }
        return Data(collected.readableBytesView)
    }
}
