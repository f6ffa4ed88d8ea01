import StorageKit

/// What an authenticated request may do.
enum AccessGrant: Sendable {
    /// Shared Key, an accepted bearer token, or loose mode: everything.
    case full
    /// A SAS: its permission letters, and response overrides for Get Blob.
    case sas(SASValues)

    /// Requires one of `letters` (e.g. `"wc"` = write or create); 403 `AuthorizationPermissionMismatch`.
    func require(anyOf letters: String) throws(StorageServiceError) {
        guard case .sas(let values) = self else { return }
        guard values.permissions.contains(where: { letters.contains($0) }) else { throw .authorizationPermissionMismatch }
    }

    /// Whether the grant includes `letter`.
    func allows(_ letter: Character) -> Bool {
        guard case .sas(let values) = self else { return true }
        return values.permissions.contains(letter)
    }

    /// The SAS values, if this is a SAS grant.
    var sas: SASValues? {
        if case .sas(let values) = self { return values }
        return nil
    }
}
