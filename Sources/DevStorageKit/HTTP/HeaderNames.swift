import HTTPTypes

/// The `x-ms-*` and other header names devstorage reads or writes.
extension HTTPField.Name {
    static let xMsVersion = Self("x-ms-version")!
    static let xMsDate = Self("x-ms-date")!
    static let xMsRequestID = Self("x-ms-request-id")!
    static let xMsClientRequestID = Self("x-ms-client-request-id")!
    static let xMsErrorCode = Self("x-ms-error-code")!
    static let xMsRange = Self("x-ms-range")!
    static let xMsRangeGetContentMD5 = Self("x-ms-range-get-content-md5")!
    static let xMsBlobType = Self("x-ms-blob-type")!
    static let xMsBlobContentType = Self("x-ms-blob-content-type")!
    static let xMsBlobContentEncoding = Self("x-ms-blob-content-encoding")!
    static let xMsBlobContentLanguage = Self("x-ms-blob-content-language")!
    static let xMsBlobContentDisposition = Self("x-ms-blob-content-disposition")!
    static let xMsBlobCacheControl = Self("x-ms-blob-cache-control")!
    static let xMsBlobContentMD5 = Self("x-ms-blob-content-md5")!
    static let xMsCreationTime = Self("x-ms-creation-time")!
    static let xMsServerEncrypted = Self("x-ms-server-encrypted")!
    static let xMsRequestServerEncrypted = Self("x-ms-request-server-encrypted")!
    static let xMsLeaseState = Self("x-ms-lease-state")!
    static let xMsLeaseStatus = Self("x-ms-lease-status")!
    static let xMsAccessTier = Self("x-ms-access-tier")!
    static let xMsAccessTierInferred = Self("x-ms-access-tier-inferred")!
    static let xMsDeleteTypePermanent = Self("x-ms-delete-type-permanent")!
    static let xMsHasImmutabilityPolicy = Self("x-ms-has-immutability-policy")!
    static let xMsHasLegalHold = Self("x-ms-has-legal-hold")!
    static let xMsApproximateMessagesCount = Self("x-ms-approximate-messages-count")!
    static let xMsPopReceipt = Self("x-ms-popreceipt")!
    static let xMsTimeNextVisible = Self("x-ms-time-next-visible")!
    static let xMsCopySource = Self("x-ms-copy-source")!
    static let xMsCopyID = Self("x-ms-copy-id")!
    static let xMsCopyStatus = Self("x-ms-copy-status")!
    static let xMsCopyProgress = Self("x-ms-copy-progress")!
    static let xMsCopyCompletionTime = Self("x-ms-copy-completion-time")!
    static let xMsCopyAction = Self("x-ms-copy-action")!
    static let xMsSourceRange = Self("x-ms-source-range")!
    static let xMsSourceContentMD5 = Self("x-ms-source-content-md5")!
    static let xMsAccessTierChangeTime = Self("x-ms-access-tier-change-time")!
    static let contentMD5 = Self("Content-MD5")!
    static let retryAfter = Self("Retry-After")!
}
