import Foundation
/// The operations devstorage serves, named as Azure names them. Used for fault filters and SAS
/// permission checks.
public enum StorageOperation: String, Sendable, Hashable, CaseIterable {
    // Blob service
    case listContainers = "ListContainers"
    case getServiceProperties = "GetServiceProperties"
    case getAccountInformation = "GetAccountInformation"
    case blobBatch = "BlobBatch"
    case createContainer = "CreateContainer"
    case deleteContainer = "DeleteContainer"
    case getContainerProperties = "GetContainerProperties"
    case getContainerMetadata = "GetContainerMetadata"
    case setContainerMetadata = "SetContainerMetadata"
    case listBlobs = "ListBlobs"
    case putBlob = "PutBlob"
    case putBlock = "PutBlock"
    case putBlockList = "PutBlockList"
    case getBlockList = "GetBlockList"
    case getBlob = "GetBlob"
    case getBlobProperties = "GetBlobProperties"
    case getBlobMetadata = "GetBlobMetadata"
    case setBlobMetadata = "SetBlobMetadata"
    case setBlobProperties = "SetBlobProperties"
    case setBlobTier = "SetBlobTier"
    case copyBlob = "CopyBlob"
    case putBlobFromURL = "PutBlobFromURL"
    case abortCopyBlob = "AbortCopyBlob"
    case putBlockFromURL = "PutBlockFromURL"
    case deleteBlob = "DeleteBlob"
    // Queue service
    case listQueues = "ListQueues"
    case createQueue = "CreateQueue"
    case deleteQueue = "DeleteQueue"
    case getQueueMetadata = "GetQueueMetadata"
    case setQueueMetadata = "SetQueueMetadata"
    case putMessage = "PutMessage"
    case getMessages = "GetMessages"
    case peekMessages = "PeekMessages"
    case deleteMessage = "DeleteMessage"
    case updateMessage = "UpdateMessage"
    case clearMessages = "ClearMessages"
    /// A request devstorage does not support.
    case unsupported = "Unsupported"

    /// Parses `PutBlock,PutMessage` (unknown names are ignored).
    public static func parseList(_ text: String) -> Set<StorageOperation> {
        Set(text.split(separator: ",").compactMap { StorageOperation(rawValue: $0.trimmingCharacters(in: .whitespaces)) })
    }
}
