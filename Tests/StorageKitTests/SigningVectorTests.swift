import Foundation
import Testing

@testable import StorageKit

/// A vector produced by Microsoft's Python SDK (`Fixtures/make_signing_vectors.py`).
struct SigningVector: Decodable, Sendable, CustomTestStringConvertible {
    var kind: String
    var name: String
    var account: String
    var key: String
    var method: String?
    var url: String?
    var headers: [[String]]?
    var stringToSign: String?
    var authorization: String?
    var container: String?
    var blob: String?
    var queue: String?
    var query: String?
    var fields: [String: String]?

    var testDescription: String { name }

    static let all: [SigningVector] = {
        let url = Bundle.module.url(forResource: "signing-vectors", withExtension: "json", subdirectory: "Fixtures")!
        // The fixture is committed and generated; a decoding failure is a broken fixture.
        return try! JSONDecoder().decode([SigningVector].self, from: Data(contentsOf: url))
    }()
}

@Suite("Shared Key and SAS signing, pinned by Microsoft's Python SDK")
struct SigningVectorTests {
    @Test("Shared Key string-to-sign and signature", arguments: SigningVector.all.filter { $0.kind == "sharedKey" })
    func sharedKey(vector: SigningVector) throws {
        let url = try #require(URL(string: vector.url!))
        let request = CanonicalRequest(
            method: vector.method!, encodedPath: url.path(percentEncoded: true), rawQuery: url.query(percentEncoded: true),
            headers: vector.headers!.map { ($0[0], $0[1]) })
        // Compared as whole strings, so a failure shows the line that differs.
        #expect(SharedKeySigner.stringToSign(request, accountName: vector.account) == vector.stringToSign)
        let signer = try SharedKeySigner(accountName: vector.account, accountKey: vector.key)
        #expect("SharedKey \(vector.account):" + signer.signature(for: vector.stringToSign!) == vector.authorization)
        #expect(signer.verify(request, authorization: vector.authorization!))
    }

    @Test("SAS signatures", arguments: SigningVector.all.filter { $0.kind.hasSuffix("SAS") })
    func sas(vector: SigningVector) throws {
        let values = try #require(SASValues(query: vector.fields!.map { (name: $0.key, value: $0.value) }))
        let stringToSign: String = switch vector.kind {
        case "blobSAS": values.blobServiceStringToSign(account: vector.account, container: vector.container!, blobName: values.resource == "c" ? nil : vector.blob)
        case "queueSAS": values.queueServiceStringToSign(account: vector.account, queue: vector.queue!)
        default: values.accountStringToSign(account: vector.account)
        }
        #expect(SASValues.sign(stringToSign, base64Key: vector.key) == vector.fields!["sig"])
        // Signing the same values ourselves gives the SDK's signature, and the query round-trips.
        let signer = try SharedKeySigner(accountName: vector.account, accountKey: vector.key)
        var unsigned = values
        unsigned.signature = nil
        let ours: SASValues = switch vector.kind {
        case "blobSAS": signer.signBlobSAS(unsigned, container: vector.container!, blobName: values.resource == "c" ? nil : vector.blob)
        case "queueSAS": signer.signQueueSAS(unsigned, queue: vector.queue!)
        default: signer.signAccountSAS(unsigned)
        }
        #expect(ours.signature == vector.fields!["sig"])
        #expect(SASValues(query: QueryString.decode(ours.encodedQuery)) == ours)
    }

    @Test("the wire doc's worked examples are among the vectors")
    func workedExamples() {
        #expect(SigningVector.all.first { $0.name == "put_blob_with_metadata" }?.authorization == "SharedKey devstoreaccount1:mf4pK8moOTYTXLeUpUl1pgXRva2SP+EmpIG5DoVYHKE=")
    }

    @Test("the service's header collation: '-' ignored, '_' before digits before letters")
    func collation() {
        let names = ["x-ms-meta-step2", "x-ms-meta-step_2", "x-ms-version", "x-ms-date", "x-ms-meta-a1", "x-ms-meta-a_", "x-ms-blob-type"]
        #expect(names.sorted(by: SharedKeySigner.serviceCollationLess) == [
            "x-ms-blob-type", "x-ms-date", "x-ms-meta-a_", "x-ms-meta-a1", "x-ms-meta-step_2", "x-ms-meta-step2", "x-ms-version",
        ])
    }

    @Test("percent-encoding and dates")
    func encodingAndDates() {
        #expect(QueryString.percentEncode("uploads/clip 01+ü.mp4", keepSlash: true) == "uploads/clip%2001%2B%C3%BC.mp4")
        #expect(QueryString.percentDecode("a%2Fb%2Bc+d") == "a/b+c d")
        let date = Date(timeIntervalSince1970: 1_736_935_200)
        #expect(HTTPDate.format(date) == "Wed, 15 Jan 2025 10:00:00 GMT")
        #expect(HTTPDate.parse("Wed, 15 Jan 2025 10:00:00 GMT") == date)
        #expect(HTTPDate.iso8601(date) == "2025-01-15T10:00:00Z")
        #expect(HTTPDate.parseISO8601("2025-01-15T10:00Z") == date)
        #expect(HTTPDate.parseISO8601("2025-01-15") == Date(timeIntervalSince1970: 1_736_899_200))
    }
}
