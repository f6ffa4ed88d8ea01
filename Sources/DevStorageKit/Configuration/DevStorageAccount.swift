import Foundation

import StorageKit

/// A storage account devstorage serves: a name and one or two base64 keys (either verifies).
public struct DevStorageAccount: Sendable, Equatable {
    /// Account name (first path segment of every URL).
    public var name: String
    /// Base64 account keys.
    public var keys: [String]

    /// Creates an account.
    public init(name: String, keys: [String]) {
        self.name = name
        self.keys = keys
    }

    /// `devstoreaccount1` with the well-known development key.
    public static let development = DevStorageAccount(
        name: StorageDefaults.developmentAccountName, keys: [StorageDefaults.developmentAccountKey])

    /// Parses Azurite's `AZURITE_ACCOUNTS` format: `name1:key1[:key2];name2:key1`. Entries without a
    /// key are skipped. Keys are base64 and may contain `=` and `/` but never `:` or `;`.
    public static func parseList(_ text: String) -> [DevStorageAccount] {
        text.split(separator: ";").compactMap { entry in
            let parts = entry.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 2, !parts[0].isEmpty else { return nil }
            return DevStorageAccount(name: parts[0], keys: Array(parts.dropFirst().filter { !$0.isEmpty }))
        }
    }
}
