import Foundation
import Testing

@testable import StorageKit

/// A SAS of one signed version (`Fixtures/make_sas_version_vectors.py`): made by Microsoft's Python
/// SDK for 2020-12-06 and later, from the documented string-to-sign (signed with the SDK's
/// sign_string) for older layouts.
struct SASVersionVector: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var kind: String
    var version: String
    var source: String
    var query: String
    var stringToSign: String
    var container: String?
    var blob: String?
    var queue: String?

    var testDescription: String { name }

    static let account = "devstoreaccount1"
    static let key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

    static let all: [SASVersionVector] = {
        let url = Bundle.module.url(forResource: "sas-version-vectors", withExtension: "json", subdirectory: "Fixtures")!
        // The fixture is committed and generated; a decoding failure is a broken fixture.
        return try! JSONDecoder().decode([SASVersionVector].self, from: Data(contentsOf: url))
    }()

    var values: SASValues? { SASValues(query: QueryString.decode(query)) }
}

@Suite("SAS string-to-sign layouts by signed version, pinned by Microsoft's SDK and documentation")
struct SASVersionTests {
    @Test("every layout from 2012-02-12 on is covered, with SDK vectors from 2020-12-06")
    func coverage() {
        let layouts = Set(SASVersionVector.all.map { SASLayout(signedVersion: $0.version) })
        #expect(layouts == [.v2012_02_12, .v2013_08_15, .v2015_02_21, .v2015_04_05, .v2018_11_09, .v2020_12_06])
        #expect(SASVersionVector.all.filter { $0.version >= "2020-12-06" }.allSatisfy { $0.source == "sdk" })
        #expect(Set(SASVersionVector.all.map(\.kind)) == ["blobService", "queueService", "account"])
    }

    @Test("string-to-sign and signature", arguments: SASVersionVector.all)
    func stringToSign(vector: SASVersionVector) throws {
        let values = try #require(vector.values)
        #expect(values.version == vector.version)
        let stringToSign: String
        switch vector.kind {
        case "account": stringToSign = values.accountStringToSign(account: SASVersionVector.account)
        case "queueService": stringToSign = values.queueServiceStringToSign(account: SASVersionVector.account, queue: vector.queue ?? "")
        default:
            stringToSign = values.blobServiceStringToSign(
                account: SASVersionVector.account, container: vector.container ?? "", blobName: values.resource == "c" ? nil : vector.blob)
        }
        #expect(stringToSign == vector.stringToSign)
        #expect(SASValues.sign(stringToSign, base64Key: SASVersionVector.key) == values.signature)
    }

    @Test("SASLayout: version boundaries and what is accepted")
    func layouts() {
        #expect(SASLayout(signedVersion: "2012-02-12") == .v2012_02_12)
        #expect(SASLayout(signedVersion: "2013-08-14") == .v2012_02_12)
        #expect(SASLayout(signedVersion: "2015-02-21") == .v2015_02_21)
        #expect(SASLayout(signedVersion: "2015-04-04") == .v2015_02_21)
        #expect(SASLayout(signedVersion: "2020-10-02") == .v2018_11_09)
        #expect(SASLayout(signedVersion: "2026-10-06") == .v2020_12_06)
        #expect(SASLayout.isSupported(signedVersion: "2012-02-12"))
        #expect(!SASLayout.isSupported(signedVersion: "2011-08-18"))
        #expect(!SASLayout.isSupported(signedVersion: ""))
        #expect(!SASLayout.isSupported(signedVersion: "2020-1-06"))
    }
}
