/// The accounts devstorage serves, by name.
struct AccountRegistry: Sendable {
    private let keysByName: [String: [String]]

    init(_ accounts: [DevStorageAccount]) {
        var keys: [String: [String]] = [:]
        for account in accounts { keys[account.name] = account.keys }
        keysByName = keys
    }

    /// The account's base64 keys, or nil for an unknown account.
    func keys(for account: String) -> [String]? { keysByName[account] }
}
