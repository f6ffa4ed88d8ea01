import Foundation
import NIOCore
import StorageKit

/// Validates a shared access signature (wire doc §4.7) for one request.
struct SASVerifier: Sendable {
    let service: StorageService
    let account: String
    let keys: [String]

    func verify(
        _ sas: SASValues, target: RequestTarget, operation: StorageOperation, remoteAddress: SocketAddress?, now: Date
    ) throws(StorageServiceError) -> AccessGrant {
        guard !sas.version.isEmpty, !sas.permissions.isEmpty, sas.expiry != nil else {
            throw .authenticationFailed("Signature fields not well formed.")
        }
        // "Create a service SAS": sv is required from 2012-02-12 on, and its layouts go back to
        // 2012-02-12; older (blob-only, sv-less) signatures are not taken (SASLayout).
        guard SASLayout.isSupported(signedVersion: sas.version) else {
            throw .authenticationFailed("Signed version (sv) '\(sas.version)' is not a supported version (2012-02-12 or later).")
        }
        guard sas.identifier == nil else {
            throw .authenticationFailed("Stored access policies (si) are not supported by devstorage.")
        }
        let kind = sas.kind(isQueueEndpoint: service == .queue)
        let stringToSign: String
        switch kind {
        case .account:
            // "Create an account SAS": sv must be 2015-04-05 or later; ss is any of b q t f, srt any of s c o.
            guard sas.version >= "2015-04-05" else {
                throw .authenticationFailed("An account SAS needs a signed version (sv) of 2015-04-05 or later.")
            }
            guard let services = sas.services, !services.isEmpty, services.allSatisfy({ "bqtf".contains($0) }),
                let types = sas.resourceTypes, !types.isEmpty, types.allSatisfy({ "sco".contains($0) })
            else { throw .authenticationFailed("Signature fields not well formed: ss must be letters of bqtf and srt of sco.") }
            stringToSign = sas.accountStringToSign(account: account)
        case .queueService:
            stringToSign = sas.queueServiceStringToSign(account: account, queue: target.resource ?? "")
        case .blobService:
            guard sas.delegationKey == nil else {
                throw .authenticationFailed("User delegation SAS is not supported by devstorage (no Entra ID).")
            }
            guard let resource = sas.resource, resource == "b" || resource == "c" else {
                throw .authenticationFailed("Signature fields not well formed: sr must be b or c.")
            }
            stringToSign = sas.blobServiceStringToSign(
                account: account, container: target.resource ?? "", blobName: resource == "b" ? target.rest : nil)
        }
        let signature = sas.signature ?? ""
        var matched = false
        for key in keys {
            if let expected = SASValues.sign(stringToSign, base64Key: key), constantTimeEquals(expected, signature) { matched = true }
        }
        guard matched else {
            throw .authenticationFailed(
                "Signature did not match. String to sign used was \(stringToSign.replacingOccurrences(of: "\n", with: "\\n"))")
        }
        guard let expiry = sas.expiry.flatMap(HTTPDate.parseISO8601) else {
            throw .authenticationFailed("Signature fields not well formed: se is not a valid time.")
        }
        let start = try sas.start.map { (text: String) throws(StorageServiceError) -> Date in
            guard let date = HTTPDate.parseISO8601(text) else {
                throw .authenticationFailed("Signature fields not well formed: st is not a valid time.")
            }
            return date
        }
        guard start.map({ $0 <= now }) ?? true, now < expiry else {
            throw .authenticationFailed("Signed expiry time [\(sas.expiry ?? "")] must be after signed start time [\(sas.start ?? "")] and the current time [\(HTTPDate.iso8601(now))] within them.")
        }
        if let protocols = sas.protocols {
            let allowed = protocols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard allowed.contains("http") else { throw .authorizationProtocolMismatch }
        }
        if let ip = sas.ip, !Self.address(remoteAddress, isIn: ip) { throw .authorizationSourceIPMismatch }
        if kind == .account {
            guard sas.services?.contains(service == .queue ? "q" : "b") == true else { throw .authorizationServiceMismatch }
            guard sas.resourceTypes?.contains(Self.resourceType(of: operation)) == true else {
                throw .authorizationResourceTypeMismatch
            }
        } else if kind == .blobService, sas.resource == "b", target.rest == nil {
            throw .authorizationResourceTypeMismatch
        }
        let grant = AccessGrant.sas(sas)
        try grant.require(anyOf: SASPermissions.letters(for: operation, kind: kind))
        return grant
    }

    /// Account SAS resource type: `s` service, `c` container/queue, `o` object/message.
    static func resourceType(of operation: StorageOperation) -> Character {
        switch operation {
        case .listContainers, .listQueues, .unsupported, .getServiceProperties, .getAccountInformation: "s"
        case .createContainer, .deleteContainer, .getContainerProperties, .getContainerMetadata, .setContainerMetadata,
            .listBlobs, .createQueue, .deleteQueue, .getQueueMetadata, .setQueueMetadata:
            "c"
        default: "o"
        }
    }

    /// Whether an IPv4 peer is `sip` (`a.b.c.d`) or within `a.b.c.d-e.f.g.h`.
    static func address(_ address: SocketAddress?, isIn range: String) -> Bool {
        guard let ip = address?.ipAddress, let value = ipv4(ip) else { return false }
        let bounds = range.split(separator: "-").compactMap { ipv4(String($0)) }
        switch bounds.count {
        case 1: return value == bounds[0]
        case 2: return bounds[0] <= value && value <= bounds[1]
        default: return false
        }
    }

    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 < 256 }) else { return nil }
        return parts.reduce(0) { $0 << 8 | $1 }
    }
}
