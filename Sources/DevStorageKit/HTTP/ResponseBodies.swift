import HTTPTypes
import Hummingbird
import NIOCore

/// Response bodies: streamed files and connection-cutting (fault injection).
enum ResponseBodies {
    /// Streams `count` bytes of a blob from `offset`; backpressure comes from the channel. The lease
    /// keeps the data files on disk until the body is done (or dropped).
    static func blob(_ lease: BlobReadLease, offset: Int64, count: Int64) -> ResponseBody {
        ResponseBody(contentLength: Int(count)) { writer in
            try await lease.read(offset: offset, count: count) { chunk in try await writer.write(chunk) }
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
