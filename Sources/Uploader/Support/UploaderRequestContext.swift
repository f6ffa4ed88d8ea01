import Hummingbird
import NIOCore

/// The uploader's per-request context: Hummingbird's core storage plus the authenticated key.
struct UploaderRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `APIKeyMiddleware`: the id of the key that authenticated the request (for an OIDC
    /// token, `oidc:` and a hash of its issuer and subject).
    var apiKeyID: String?
    /// Set by `APIKeyMiddleware`: the tenant the request acts for (its jobs, its limits): a key's,
    /// an OIDC token's tenant claim, a signed link's.
    var tenant: String?
    /// The connection, for `continueUpload()`.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.apiKeyID = nil
        self.tenant = nil
        self.channel = source.channel
    }

    /// Tells a client that sent `Expect: 100-continue` to send its body: called once every check
    /// that can refuse the request before its body (key, rate, upload slot) has passed.
    func continueUpload() {
        channel.triggerUserOutboundEvent(UploadConnectionHandler.ContinueEvent(), promise: nil)
    }
}
