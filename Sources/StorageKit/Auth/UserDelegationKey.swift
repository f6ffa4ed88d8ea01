import Foundation

/// A user-delegation key from Get User Delegation Key: lets an identity without the account key
/// sign blob SAS URLs (used when running on Microsoft Entra workload identity).
public struct UserDelegationKey: Sendable, Equatable {
    /// The key's signed fields, carried in the SAS as `skoid`, `sktid`, `skt`, `ske`, `sks`, `skv`.
    public struct Fields: Sendable, Equatable {
        public var objectID: String
        public var tenantID: String
        public var start: String
        public var expiry: String
        public var service: String
        public var version: String

        /// Creates the fields.
        public init(objectID: String, tenantID: String, start: String, expiry: String, service: String, version: String) {
            self.objectID = objectID
            self.tenantID = tenantID
            self.start = start
            self.expiry = expiry
            self.service = service
            self.version = version
        }
    }

    /// The signed fields.
    public var fields: Fields
    /// The base64 key value.
    public var value: String

    /// Creates a key.
    public init(fields: Fields, value: String) {
        self.fields = fields
        self.value = value
    }

    /// When the key stops working.
    public var expiresAt: Date? { HTTPDate.parseISO8601(fields.expiry) }

    /// Signs blob SAS values with this key.
    public func signBlobSAS(_ values: SASValues, account: String, container: String, blobName: String?) -> SASValues {
        var signed = values
        signed.delegationKey = fields
        signed.signature = SASValues.sign(
            signed.blobServiceStringToSign(account: account, container: container, blobName: blobName), base64Key: value)
        return signed
    }
}
