import StorageKit

/// The SAS permission letters an operation needs (any one of them).
enum SASPermissions {
    /// r read/peek, a add, c create, w write, d delete, l list, u update, p process, t set tier.
    ///
    /// Per operation as in "Create a service SAS" → "Permissions for a blob" and "Create an account
    /// SAS" → "Blob service operations" (learn.microsoft.com/rest/api/storageservices/create-service-sas,
    /// …/create-account-sas): Copy Blob and Put Blob From URL need write or create on the
    /// destination, Put Block From URL / Set Blob Properties / Abort Copy need write, Set Blob Tier
    /// needs set-tier (t, version 2019-12-12 on) or write.
    static func letters(for operation: StorageOperation, kind: SASValues.Kind) -> String {
        switch operation {
        case .getServiceProperties, .getAccountInformation: "r"
        // The batch itself needs no letter of its own: every sub-request is checked for its operation.
        case .blobBatch: "rwdlacuptx"
        case .copyBlob, .putBlobFromURL: "wc"
        case .putBlockFromURL, .setBlobProperties, .abortCopyBlob: "w"
        case .setBlobTier: "tw"
        case .listContainers, .listBlobs, .listQueues: "l"
        case .createContainer, .createQueue: "c"
        case .deleteContainer, .deleteBlob, .deleteQueue: "d"
        case .getContainerProperties, .getContainerMetadata, .getBlob, .getBlobProperties, .getBlobMetadata, .getBlockList,
            .getQueueMetadata, .peekMessages:
            "r"
        case .setContainerMetadata, .setBlobMetadata, .setQueueMetadata: "w"
        // Create (c) alone may only create a new blob; the blob controller re-checks for overwrites.
        case .putBlob, .putBlock, .putBlockList: "wc"
        case .putMessage: "a"
        case .updateMessage: "u"
        case .getMessages, .deleteMessage: "p"
        case .clearMessages: kind == .account ? "d" : "dp"
        case .unsupported: ""
        }
    }
}
