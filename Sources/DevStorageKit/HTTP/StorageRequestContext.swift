import Hummingbird
import NIOCore

/// The request context of both listeners: Hummingbird's core storage plus the peer address
/// (for SAS `sip` checks).
struct StorageRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's address.
    let remoteAddress: SocketAddress?
    /// The connection (fault injection closes it to drop a response).
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
