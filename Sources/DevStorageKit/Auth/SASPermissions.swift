import StorageKit

/// The SAS permission letters an operation needs (any one of them).
enum SASPermissions {
    /// r read/peek, a add, c create, w write, d delete, l list, u update, p process.
    static func letters(for operation: StorageOperation, kind: SASValues.Kind) -> String {
        switch operation {
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
