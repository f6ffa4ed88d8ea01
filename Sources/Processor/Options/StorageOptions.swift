import ArgumentParser
import Configuration

/// The storage account keys (StorageKit's `StorageAccount.Configuration`) as command-line options,
/// shared by `processor serve` and `processor replay`. Each flag is its key spelled as
/// swift-configuration spells keys on a command line (`azure.storage.connectionString` →
/// `--azure-storage-connection-string`) and wins over the key's environment variable.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("azure-storage-connection-string"), help: "Storage connection string (secret: prefer AZURE_STORAGE_CONNECTION_STRING).")
    var connectionString: String?
    @Option(name: .customLong("azure-storage-account"), help: "Account name, for workload identity without a connection string.")
    var account: String?
    @Option(name: .customLong("azure-storage-endpoint-suffix"), help: "Endpoint suffix for derived endpoints.")
    var endpointSuffix: String?
    @Option(name: .customLong("azure-client-id"), help: "Workload identity: client id.")
    var clientId: String?
    @Option(name: .customLong("azure-tenant-id"), help: "Workload identity: tenant id.")
    var tenantId: String?
    @Option(name: .customLong("azure-federated-token-file"), help: "Workload identity: the projected token file.")
    var federatedTokenFile: String?
    @Option(name: .customLong("azure-authority-host"), help: "Workload identity: the Entra authority.")
    var authorityHost: String?

    /// The options given, by configuration key.
    var values: [AbsoluteConfigKey: ConfigValue] {
        var values = ConfigValues()
        values.set("azure.storage.connectionString", connectionString, isSecret: true)
        values.set("azure.storage.account", account)
        values.set("azure.storage.endpointSuffix", endpointSuffix)
        values.set("azure.clientId", clientId)
        values.set("azure.tenantId", tenantId)
        values.set("azure.federatedTokenFile", federatedTokenFile)
        values.set("azure.authorityHost", authorityHost)
        return values.values
    }
}
