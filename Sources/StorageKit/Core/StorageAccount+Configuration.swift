import Configuration

extension StorageAccount {
    /// Which account to use and how to authenticate, read from configuration.
    ///
    /// Keys (environment variable in brackets):
    /// - `azure.storage.connectionString` (`AZURE_STORAGE_CONNECTION_STRING`, secret): a connection
    ///   string; when unset and no account is named, the development account on 127.0.0.1:10000/10001.
    /// - `azure.storage.account` (`AZURE_STORAGE_ACCOUNT`): an account name, for workload identity
    ///   without a connection string.
    /// - `azure.storage.endpointSuffix` (`AZURE_STORAGE_ENDPOINT_SUFFIX`, default `core.windows.net`).
    /// - `azure.clientId`, `azure.tenantId`, `azure.federatedTokenFile`, `azure.authorityHost`
    ///   (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST`):
    ///   Microsoft Entra workload identity as AKS injects it; used when the connection string carries
    ///   no key or SAS.
    public struct Configuration: Sendable {
        /// The connection string, if any.
        public var connectionString: String?
        /// The account name for workload identity, if any.
        public var accountName: String?
        /// The endpoint suffix for derived endpoints.
        public var endpointSuffix: String
        /// Workload identity settings, when all three variables are present.
        public var workloadIdentity: WorkloadIdentityCredential.Settings?

        /// Creates a configuration.
        public init(
            connectionString: String? = nil, accountName: String? = nil, endpointSuffix: String = "core.windows.net",
            workloadIdentity: WorkloadIdentityCredential.Settings? = nil
        ) {
            self.connectionString = connectionString
            self.accountName = accountName
            self.endpointSuffix = endpointSuffix
            self.workloadIdentity = workloadIdentity
        }

        /// Reads the keys above from a root-level reader.
        public init(reader: ConfigReader) {
            self.connectionString = reader.string(forKey: "azure.storage.connectionString", isSecret: true)
                .flatMap { $0.isEmpty ? nil : $0 }
            self.accountName = reader.string(forKey: "azure.storage.account").flatMap { $0.isEmpty ? nil : $0 }
            self.endpointSuffix = reader.string(forKey: "azure.storage.endpointSuffix", default: "core.windows.net")
            if let clientID = reader.string(forKey: "azure.clientId"),
                let tenantID = reader.string(forKey: "azure.tenantId"),
                let tokenFile = reader.string(forKey: "azure.federatedTokenFile")
            {
                self.workloadIdentity = WorkloadIdentityCredential.Settings(
                    clientID: clientID, tenantID: tenantID, tokenFile: tokenFile,
                    authorityHost: reader.string(forKey: "azure.authorityHost", default: "https://login.microsoftonline.com/"))
            }
        }
    }
}
