import Hummingbird

/// The uploader's per-request context: Hummingbird's core storage plus the authenticated key.
struct UploaderRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by `APIKeyMiddleware`: the id of the key that authenticated the request.
    var apiKeyID: String?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.apiKeyID = nil
    }
}
