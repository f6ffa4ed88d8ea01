/// Content headers kept with a blob (`x-ms-blob-content-*`, or the request's own for Put Blob).
struct BlobProperties: Codable, Sendable, Equatable {
    var contentType: String?
    var contentEncoding: String?
    var contentLanguage: String?
    var contentDisposition: String?
    var cacheControl: String?
}
