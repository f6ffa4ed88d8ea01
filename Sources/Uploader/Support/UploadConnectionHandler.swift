import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Connection-level help for large uploads, placed after HTTP decoding:
///
/// - A header deadline: a request head must arrive complete within 10 s (slowloris).
/// - Larger socket reads (up to 256 KiB) for large bodies.
/// - `Expect: 100-continue`: answers `100 Continue` when the declared length is within the limit,
///   so curl (which asks for every body over 1 MB) starts sending at once instead of after a 1 s
///   wait. Over the limit it stays silent: the handler's 413 reaches the client before the body.
/// - A response that carries `Connection: close` (413, 431: answered before the body was read)
///   ends the connection once written (half-close, then close after 5 s), instead of the server
///   draining gigabytes nobody wants.
final class UploadConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let maxUploadBytes: Int
    private let headerTimeout: TimeAmount
    private var closeAfterResponse = false
    private var headerDeadline: Scheduled<Void>?

    init(maxUploadBytes: Int, headerTimeout: TimeAmount = .seconds(10)) {
        self.maxUploadBytes = maxUploadBytes
        self.headerTimeout = headerTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Reads of up to 256 KiB instead of NIO's default 64 KiB: a large upload arrives in a quarter
        // of the reads, parser calls and body chunks (the buffer grows only while reads fill it).
        _ = context.channel.setOption(
            ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 << 10))
        if context.channel.isActive { armHeaderDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armHeaderDeadline(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
    }

    /// A request head must be complete within `headerTimeout` of the connection opening (or of the
    /// previous response): the idle timeout alone lets a client drip one header byte at a time.
    private func armHeaderDeadline(context: ChannelHandlerContext) {
        headerDeadline?.cancel()
        headerDeadline = context.eventLoop.scheduleTask(in: headerTimeout) { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            headerDeadline?.cancel()
            headerDeadline = nil
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                let declared = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
                if declared <= maxUploadBytes {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        switch part {
        case .head(let head):
            if head.status.code >= 200, head.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                armHeaderDeadline(context: context)  // keep-alive: the next head has the same deadline
                return
            }
            closeAfterResponse = false
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            // Lingering close: stop writing, let the client read the answer and stop sending (an
            // immediate close while it still sends would reset the connection and can lose the
            // answer); whatever still arrives is discarded; close fully after a few seconds.
            written.futureResult.whenComplete { _ in
                context.close(mode: .output, promise: nil)
                context.eventLoop.scheduleTask(in: .seconds(5)) { context.close(promise: nil) }
            }
        }
    }
}
