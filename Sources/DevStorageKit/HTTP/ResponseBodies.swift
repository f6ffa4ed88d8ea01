import HTTPTypes
import Hummingbird
import NIOCore

/// Response bodies: streamed files and connection-cutting (fault injection).
enum ResponseBodies {
    /// Streams `count` bytes of `file` from `offset` in chunks; backpressure comes from the channel.
    static func file(_ file: OpenFile, offset: Int64, count: Int64, chunkSize: Int = 256 * 1024) -> ResponseBody {
        ResponseBody(contentLength: Int(count)) { writer in
            var position = offset
            let end = offset + count
            while position < end {
                let chunk = try await file.read(offset: position, count: Int(min(Int64(chunkSize), end - position)))
                guard chunk.readableBytes > 0 else { throw StorageServiceError.internalError }
                try await writer.write(chunk)
                position += Int64(chunk.readableBytes)
            }
            try await writer.finish(nil)
        }
    }

    /// The same body, but the connection is closed after `limit` bytes (the response is cut short).
    static func cutting(_ body: ResponseBody, after limit: Int) -> ResponseBody {
        ResponseBody(contentLength: body.contentLength) { writer in
            try await body.write(CuttingWriter(base: writer, remaining: limit))
        }
    }

    /// Thrown to abort the response: Hummingbird closes the connection.
    struct ConnectionCut: Error {}

    /// Passes through `remaining` bytes, then throws `ConnectionCut`.
    struct CuttingWriter: ResponseBodyWriter {
        var base: any ResponseBodyWriter
        var remaining: Int

        mutating func write(_ buffer: ByteBuffer) async throws {
            if buffer.readableBytes <= remaining {
                try await base.write(buffer)
                remaining -= buffer.readableBytes
                return
            }
            if remaining > 0, let prefix = buffer.getSlice(at: buffer.readerIndex, length: remaining) {
                try await base.write(prefix)
            }
            throw ConnectionCut()
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
            try await base.finish(trailingHeaders)
        }
    }

    /// An XML document body.
    static func xml(_ writer: XMLWriter) -> (HTTPFields, ResponseBody) {
        let buffer = ByteBuffer(string: writer.text)
        return ([.contentType: "application/xml"], ResponseBody(byteBuffer: buffer))
    }
}
