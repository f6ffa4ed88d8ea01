/// Constants every Azure Storage client and the emulator agree on.
public enum StorageDefaults {
    /// The `x-ms-version` StorageKit sends (the version the wire doc and the test vectors use).
    public static let serviceVersion = "2024-11-04"
    /// The development account every Azure tool knows (Azurite's published, public key).
    public static let developmentAccountName = "devstoreaccount1"
    /// The development account's key (public and well known; never a secret).
    public static let developmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    /// Azurite's blob port.
    public static let developmentBlobPort = 10000
    /// Azurite's queue port.
    public static let developmentQueuePort = 10001
    /// The development connection string (path-style endpoints on 127.0.0.1).
    public static let developmentConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=\(developmentAccountName);AccountKey=\(developmentAccountKey);"
        + "BlobEndpoint=http://127.0.0.1:\(developmentBlobPort)/\(developmentAccountName);"
        + "QueueEndpoint=http://127.0.0.1:\(developmentQueuePort)/\(developmentAccountName);"
}
