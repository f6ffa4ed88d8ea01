import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Connection-level help for large uploads, placed after HTTP decoding:
///
/// - A header deadline: a request head must arrive complete within 10 s (slowloris).
/// - Larger socket reads (up to 256 KiB) for large bodies.
/// - `Expect: 100-continue`: `100 Continue` is sent only when the handler asks for it
///   (`ContinueEvent`, sent by `UploaderRequestContext.continueUpload()` once the key, the rate
///   limit and an upload slot are granted), so a refused client never starts sending its body.
/// - A final response written before the request's end arrived (every early refusal: 401, 408, 413,
///   415, 429, 503, …) carries `Connection: close` and ends the connection once written (half-close,
///   then close after 5 s), instead of the server draining a body nobody wants.
final class UploadConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Asks the handler to send `100 Continue` for the current request if its client expects one
    /// and no final response has started.
    struct ContinueEvent: Sendable {}

    /// Asks the handler to send an informational (1xx) response for the current request if no final
    /// response has started (the resumable-upload draft's `104 Upload Resumption Supported`).
    struct InformationalEvent: Sendable {
        let head: HTTPResponse
    }

    private let headerTimeout: TimeAmount
    private var closeAfterResponse = false
    private var headerDeadline: Scheduled<Void>?
    /// The current request asked for `100 Continue` and has not had it (nor a final answer) yet.
    private var continuePending = false
    /// The current request's `.end` has arrived: its body is read (or buffered) in full.
    private var requestComplete = true

    init(headerTimeout: TimeAmount = .seconds(10)) {
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
        switch unwrapInboundIn(data) {
        case .head(let head):
            headerDeadline?.cancel()
            headerDeadline = nil
            requestComplete = false
            continuePending = head.headerFields[.expect]?.lowercased() == "100-continue"
        case .body:
            break
        case .end:
            requestComplete = true
            continuePending = false
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let informational = event as? InformationalEvent {
            // Sent by a handler before its answer, so no final response has started.
            context.writeAndFlush(wrapOutboundOut(.head(informational.head)), promise: nil)
            promise?.succeed()
            return
        }
        guard event is ContinueEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if continuePending {
            continuePending = false
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        promise?.succeed()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        switch part {
        case .head(var head):
            guard head.status.code >= 200 else {
                context.write(data, promise: promise)
                return
            }
            continuePending = false
            if !requestComplete || head.headerFields[.connection]?.lowercased() == "close" {
                closeAfterResponse = true
                head.headerFields[.connection] = "close"
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
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
