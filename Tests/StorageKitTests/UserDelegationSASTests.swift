import Foundation
import Testing

@testable import StorageKit

/// A blob SAS signed with a user-delegation key (`Fixtures/make_user_delegation_sas_vectors.py`):
/// made by Microsoft's Python SDK (`generate_blob_sas(..., user_delegation_key=...)`) at its own
/// signed version, and from the documented layout at StorageKit's version.
struct UserDelegationSASVector: Decodable, Sendable, CustomTestStringConvertible {
    struct Key: Decodable, Sendable {
        var objectID, tenantID, start, expiry, service, version, value: String
    }
    var name: String
    var version: String
    var source: String
    var query: String
    var stringToSign: String
    var container: String
    var blob: String
    var key: Key

    var testDescription: String { name }

    static let account = "mediaprod"

    static let all: [UserDelegationSASVector] = {
        let url = Bundle.module.url(forResource: "user-delegation-sas-vectors", withExtension: "json", subdirectory: "Fixtures")!
        // The fixture is committed and generated; a decoding failure is a broken fixture.
        return try! JSONDecoder().decode([UserDelegationSASVector].self, from: Data(contentsOf: url))
    }()

    var delegationKey: UserDelegationKey {
        UserDelegationKey(
            fields: .init(objectID: key.objectID, tenantID: key.tenantID, start: key.start, expiry: key.expiry, service: key.service, version: key.version),
            value: key.value)
    }
}

@Suite("User-delegation SAS, pinned by Microsoft's SDK and documentation")
struct UserDelegationSASTests {
    @Test("both layouts are covered: the SDK's (2025-07-05 on) and StorageKit's signed version")
    func coverage() {
        #expect(UserDelegationSASVector.all.contains { $0.source == "sdk" && $0.version >= "2025-07-05" })
        #expect(UserDelegationSASVector.all.contains { $0.version == StorageDefaults.serviceVersion })
    }

    @Test("parsed from the query: the same string-to-sign and signature", arguments: UserDelegationSASVector.all)
    func parsedVector(vector: UserDelegationSASVector) throws {
        let values = try #require(SASValues(query: QueryString.decode(vector.query)))
        #expect(values.delegationKey == vector.delegationKey.fields)
        #expect(values.blobServiceStringToSign(account: UserDelegationSASVector.account, container: vector.container, blobName: vector.blob) == vector.stringToSign)
        var unsigned = values
        unsigned.signature = nil
        let signed = vector.delegationKey.signBlobSAS(unsigned, account: UserDelegationSASVector.account, container: vector.container, blobName: vector.blob)
        #expect(signed.signature == values.signature)
    }

    @Test("built as the uploader builds an upload SAS (cw, sr=b, https): the vector's signature")
    func builtVector() throws {
        let vector = try #require(UserDelegationSASVector.all.first { $0.version == StorageDefaults.serviceVersion })
        let parsed = try #require(SASValues(query: QueryString.decode(vector.query)))
        var values = SASValues(permissions: "cw", start: parsed.start, expiry: parsed.expiry)
        values.resource = "b"
        values.protocols = "https"
        let signed = vector.delegationKey.signBlobSAS(values, account: UserDelegationSASVector.account, container: vector.container, blobName: vector.blob)
        #expect(signed.blobServiceStringToSign(account: UserDelegationSASVector.account, container: vector.container, blobName: vector.blob) == vector.stringToSign)
        #expect(signed.signature == parsed.signature)
        // Another blob name signs differently: the SAS opens one blob only.
        let other = vector.delegationKey.signBlobSAS(values, account: UserDelegationSASVector.account, container: vector.container, blobName: vector.blob + "x")
        #expect(other.signature != parsed.signature)
    }
}
