import Crypto
import Foundation

/// The fields of a shared access signature and the string-to-sign layouts for each kind
/// (blob service SAS, queue service SAS, account SAS, user-delegation SAS), as Microsoft's SDKs
/// build them. StorageKit generates SAS URLs with these; DevStorage verifies incoming ones with them.
public struct SASValues: Sendable, Equatable {
    /// `sv`: the signed version, which selects the layout.
    public var version: String
    /// `sp`: permission letters.
    public var permissions: String
    /// `st`: start time (ISO 8601), optional.
    public var start: String?
    /// `se`: expiry time (ISO 8601).
    public var expiry: String?
    /// `si`: stored access policy id.
    public var identifier: String?
    /// `sip`: allowed IP or range.
    public var ip: String?
    /// `spr`: `https` or `https,http`.
    public var protocols: String?
    /// `sr`: blob resource (`b`, `c`, `bs`, `bv`, `d`).
    public var resource: String?
    /// `ss`: services, account SAS only.
    public var services: String?
    /// `srt`: resource types, account SAS only.
    public var resourceTypes: String?
    /// `ses`: encryption scope.
    public var encryptionScope: String?
    /// `rscc`, `rscd`, `rsce`, `rscl`, `rsct`: response header overrides.
    public var cacheControl: String?
    public var contentDisposition: String?
    public var contentEncoding: String?
    public var contentLanguage: String?
    public var contentType: String?
    /// The user-delegation key fields (`skoid`, `sktid`, `skt`, `ske`, `sks`, `skv`), when signed with one.
    public var delegationKey: UserDelegationKey.Fields?
    /// `sig`: the signature, once signed.
    public var signature: String?

    /// Creates a set of SAS values.
    public init(version: String = StorageDefaults.serviceVersion, permissions: String, start: String? = nil, expiry: String?) {
        self.version = version
        self.permissions = permissions
        self.start = start
        self.expiry = expiry
    }

    /// Which kind of SAS these values describe.
    public enum Kind: Sendable { case blobService, queueService, account }

    /// The query parameters in the order the SDKs emit them (signature last).
    public var queryItems: [(name: String, value: String)] {
        var items: [(String, String?)] = [
            ("sv", version), ("ss", services), ("srt", resourceTypes), ("sp", permissions), ("st", start),
            ("se", expiry), ("sip", ip), ("spr", protocols), ("sr", resource), ("si", identifier),
            ("ses", encryptionScope),
        ]
        if let key = delegationKey {
            items += [
                ("skoid", key.objectID), ("sktid", key.tenantID), ("skt", key.start), ("ske", key.expiry),
                ("sks", key.service), ("skv", key.version),
            ]
        }
        items += [
            ("rscc", cacheControl), ("rscd", contentDisposition), ("rsce", contentEncoding), ("rscl", contentLanguage),
            ("rsct", contentType), ("sig", signature),
        ]
        return items.compactMap { name, value in value.map { (name: name, value: $0) } }
    }

    /// The query string (`sv=…&sp=…&sig=…`), every value percent-encoded.
    public var encodedQuery: String { QueryString.encode(queryItems) }

    /// Reads SAS values from decoded query parameters; `nil` when there is no `sig`.
    public init?(query: [(name: String, value: String)]) {
        func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
        guard let signature = value("sig") else { return nil }
        self.init(version: value("sv") ?? "", permissions: value("sp") ?? "", start: value("st"), expiry: value("se"))
        self.identifier = value("si")
        self.ip = value("sip")
        self.protocols = value("spr")
        self.resource = value("sr")
        self.services = value("ss")
        self.resourceTypes = value("srt")
        self.encryptionScope = value("ses")
        self.cacheControl = value("rscc")
        self.contentDisposition = value("rscd")
        self.contentEncoding = value("rsce")
        self.contentLanguage = value("rscl")
        self.contentType = value("rsct")
        if let objectID = value("skoid") {
            self.delegationKey = UserDelegationKey.Fields(
                objectID: objectID, tenantID: value("sktid") ?? "", start: value("skt") ?? "",
                expiry: value("ske") ?? "", service: value("sks") ?? "", version: value("skv") ?? ""
            )
        }
        self.signature = signature
    }

    /// The kind, judged as a service judges it: `ss`+`srt` → account; otherwise by the endpoint.
    public func kind(isQueueEndpoint: Bool) -> Kind {
        if services != nil, resourceTypes != nil { return .account }
        return isQueueEndpoint ? .queueService : .blobService
    }

    // MARK: Strings to sign

    /// Blob service SAS: the string-to-sign of the layout `version` selects (`SASLayout`).
    /// `blobName` is the decoded name; the account appears once.
    public func blobServiceStringToSign(account: String, container: String, blobName: String?) -> String {
        let layout = SASLayout(signedVersion: version)
        var path = "/\(account)/\(container)"
        if let blobName, !blobName.isEmpty { path += "/\(blobName)" }
        let canonical = (layout.hasServicePrefix ? "/blob" : "") + path
        if let key = delegationKey {
            // User-delegation layout ("Create a user delegation SAS"): from 2020-12-06 the key fields,
            // then the unused authorized/unauthorized object id and correlation id; from 2025-07-05
            // also the delegated user's tenant and object id after them, and the signed request
            // headers and query parameters after the encryption scope (all empty here).
            let from2025 = version >= "2025-07-05"
            var fields = [
                permissions, start ?? "", expiry ?? "", canonical, key.objectID, key.tenantID, key.start, key.expiry,
                key.service, key.version, "", "", "",
            ]
            if from2025 { fields += ["", ""] }
            fields += [ip ?? "", protocols ?? "", version, resource ?? "", "", encryptionScope ?? ""]
            if from2025 { fields += ["", ""] }
            fields += [cacheControl ?? "", contentDisposition ?? "", contentEncoding ?? "", contentLanguage ?? "", contentType ?? ""]
            return fields.joined(separator: "\n")
        }
        var fields = [permissions, start ?? "", expiry ?? "", canonical, identifier ?? ""]
        if layout >= .v2015_04_05 { fields += [ip ?? "", protocols ?? ""] }
        fields.append(version)
        if layout >= .v2018_11_09 { fields += [resource ?? "", ""] }  // signedResource, signedSnapshotTime
        if layout >= .v2020_12_06 { fields.append(encryptionScope ?? "") }
        if layout >= .v2013_08_15 {
            fields += [cacheControl ?? "", contentDisposition ?? "", contentEncoding ?? "", contentLanguage ?? "", contentType ?? ""]
        }
        return fields.joined(separator: "\n")
    }

    /// Queue service SAS: `sp st se resource si [sip spr] sv`, no trailing newline; `sip`/`spr` from
    /// 2015-04-05, the `/queue` prefix of the resource from 2015-02-21 (`SASLayout`).
    public func queueServiceStringToSign(account: String, queue: String) -> String {
        let layout = SASLayout(signedVersion: version)
        var fields = [permissions, start ?? "", expiry ?? "", (layout.hasServicePrefix ? "/queue" : "") + "/\(account)/\(queue)", identifier ?? ""]
        if layout >= .v2015_04_05 { fields += [ip ?? "", protocols ?? ""] }
        fields.append(version)
        return fields.joined(separator: "\n")
    }

    /// Account SAS (`sv` ≥ 2015-04-05): each field followed by a newline; `ses` only from 2020-12-06.
    public func accountStringToSign(account: String) -> String {
        var fields = [account, permissions, services ?? "", resourceTypes ?? "", start ?? "", expiry ?? "", ip ?? "", protocols ?? "", version]
        if SASLayout(signedVersion: version) >= .v2020_12_06 { fields.append(encryptionScope ?? "") }
        return fields.map { $0 + "\n" }.joined()
    }

    /// Base64 HMAC-SHA256 of a string-to-sign with a base64 key.
    public static func sign(_ stringToSign: String, base64Key: String) -> String? {
        guard let key = Data(base64Encoded: base64Key) else { return nil }
        return Data(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: SymmetricKey(data: key)))
            .base64EncodedString()
    }
}

/// Makes read-only (or other) SAS URLs for blobs with an account key.
extension SharedKeySigner {
    /// Signs blob service SAS values for a blob (or a container when `blobName` is nil).
    public func signBlobSAS(_ values: SASValues, container: String, blobName: String?) -> SASValues {
        var signed = values
        signed.signature = signature(for: values.blobServiceStringToSign(account: accountName, container: container, blobName: blobName))
        return signed
    }

    /// Signs queue service SAS values for a queue.
    public func signQueueSAS(_ values: SASValues, queue: String) -> SASValues {
        var signed = values
        signed.signature = signature(for: values.queueServiceStringToSign(account: accountName, queue: queue))
        return signed
    }

    /// Signs account SAS values.
    public func signAccountSAS(_ values: SASValues) -> SASValues {
        var signed = values
        signed.signature = signature(for: values.accountStringToSign(account: accountName))
        return signed
    }
}
