import AsyncHTTPClient
import Foundation

/// A storage account: where its blob and queue services are and how to authorise requests.
public struct StorageAccount: Sendable {
    /// The account name (used in Shared Key and SAS strings).
    public var name: String
    /// The blob service endpoint, e.g. `https://acct.blob.core.windows.net` or
    /// `http://127.0.0.1:10000/devstoreaccount1`.
    public var blobEndpoint: URL
    /// The queue service endpoint.
    public var queueEndpoint: URL
    /// The credential.
    public var credential: StorageCredential

    /// Creates an account description.
    public init(name: String, blobEndpoint: URL, queueEndpoint: URL, credential: StorageCredential) {
        self.name = name
        self.blobEndpoint = blobEndpoint
        self.queueEndpoint = queueEndpoint
        self.credential = credential
    }

    /// Creates an account from a connection string. A key wins over a SAS; with neither, the account
    /// uses `fallbackCredential` (e.g. workload identity), else anonymous access.
    public init(connectionString: ConnectionString, fallbackCredential: StorageCredential? = nil) throws(StorageError) {
        guard let name = connectionString.accountName else {
            throw StorageError(.invalidConfiguration, message: "the connection string names no account")
        }
        let credential: StorageCredential
        if let key = connectionString.accountKey {
            credential = .sharedKey(try SharedKeySigner(accountName: name, accountKey: key))
        } else if let sas = connectionString.sharedAccessSignature {
            credential = .sharedAccessSignature(sas)
        } else {
            credential = fallbackCredential ?? .anonymous
        }
        self.init(
            name: name, blobEndpoint: connectionString.blobEndpoint, queueEndpoint: connectionString.queueEndpoint,
            credential: credential)
    }

    /// The development account on 127.0.0.1:10000/10001 (devstorage or Azurite).
    public static var development: StorageAccount {
        // The development connection string is a constant known to parse.
        try! StorageAccount(connectionString: .development)
    }

    /// Builds the account from configuration values (see `StorageAccount.Configuration`).
    public init(configuration: Configuration, transport: any StorageTransport = StorageHTTPClient.shared) throws(StorageError) {
        let identity = configuration.workloadIdentity.map {
            StorageCredential.bearer(WorkloadIdentityCredential(settings: $0, transport: transport))
        }
        if let string = configuration.connectionString {
            try self.init(connectionString: ConnectionString(string), fallbackCredential: identity)
        } else if let accountName = configuration.accountName {
            guard let identity else {
                throw StorageError(
                    .invalidConfiguration,
                    message: "AZURE_STORAGE_ACCOUNT is set but no credential: set AZURE_STORAGE_CONNECTION_STRING or the workload identity variables")
            }
            let suffix = configuration.endpointSuffix
            self.init(
                name: accountName,
                blobEndpoint: URL(string: "https://\(accountName).blob.\(suffix)")!,
                queueEndpoint: URL(string: "https://\(accountName).queue.\(suffix)")!,
                credential: identity)
        } else {
            self = .development
        }
    }
}
