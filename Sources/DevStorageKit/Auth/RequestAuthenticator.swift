import Foundation
import HTTPTypes
import Hummingbird
import StorageKit

/// What a request is allowed to do once authenticated.
enum Grant: Sendable {
    /// Shared Key (or loose mode): everything.
    case full
    /// A SAS: only these permission letters, plus its response overrides.
    case sas(SASValues)

    func allows(_ letter: Character) -> Bool {
        switch self {
        case .full: true
        case .sas(let values): values.permissions.contains(letter)
        }
    }
}

/// Verifies Shared Key and SAS on every request with StorageKit's own canonicalisation.
struct RequestAuthenticator: Sendable {
    let accounts: [String: [String]]
    let loose: Bool
    let isQueueService: Bool

    /// The resource a request addresses, for SAS checks: container or queue, and blob name (decoded).
    struct Resource {
        var account: String
        var container: String?
        var blob: String?
    }

    func authenticate(_ request: Request, resource: Resource, now: Date) throws -> Grant {
        guard let keys = accounts[resource.account] else {
            throw StorageServiceError(.badRequest, "InvalidResourceName", "The specifed resource name contains invalid characters.")
        }
        let headers = request.headers.map { ($0.name.rawName, $0.value) }
        let query = QueryString.decode(request.uri.query ?? "")
        if let authorization = request.headers[.authorization] {
            if authorization.hasPrefix("Bearer ") {
                throw StorageServiceError(.forbidden, "AuthorizationFailure", "devstorage accepts Shared Key and SAS only.")
            }
            guard authorization.hasPrefix("SharedKey "), authorization.contains(":") else {
                throw StorageServiceError(.badRequest, "InvalidAuthenticationInfo", "Authentication information is not given in the correct format.")
            }
            let dateHeader = request.headers[.init("x-ms-date")!] ?? request.headers[.date]
            guard let date = dateHeader.flatMap(HTTPDate.parse), abs(date.timeIntervalSince(now)) <= 15 * 60 else {
                throw StorageServiceError.authenticationFailed("Request date header too old or missing: '\(dateHeader ?? "")'")
            }
            let canonical = CanonicalRequest(method: request.method.rawValue, encodedPath: request.uri.path, query: query, headers: headers)
            for key in keys {
                guard let signer = try? SharedKeySigner(accountName: resource.account, accountKey: key) else { continue }
                if signer.verify(canonical, authorization: authorization) { return .full }
            }
            let stringToSign = SharedKeySigner.stringToSign(canonical, accountName: resource.account)
            throw StorageServiceError.authenticationFailed("The MAC signature found in the HTTP request is not the same as any computed signature. Server used following string to sign: '\(stringToSign)'.")
        }
        if let sas = SASValues(query: query) {
            return try verify(sas, resource: resource, keys: keys, request: request, now: now)
        }
        if loose { return .full }
        throw StorageServiceError(.notFound, "ResourceNotFound", "The specified resource does not exist.")
    }

    func verify(_ sas: SASValues, resource: Resource, keys: [String], request: Request, now: Date) throws -> Grant {
        let stringToSign: String
        switch sas.kind(isQueueEndpoint: isQueueService) {
        case .account:
            guard sas.services?.contains(isQueueService ? "q" : "b") == true else {
                throw StorageServiceError(.forbidden, "AuthorizationServiceMismatch", "This request is not authorized to perform this operation using this service.")
            }
            stringToSign = sas.accountStringToSign(account: resource.account)
        case .queueService:
            stringToSign = sas.queueServiceStringToSign(account: resource.account, queue: resource.container ?? "")
        case .blobService:
            guard sas.delegationKey == nil else {
                throw StorageServiceError.authenticationFailed("User delegation SAS is not supported by devstorage.")
            }
            let blobName = sas.resource == "c" ? nil : resource.blob
            stringToSign = sas.blobServiceStringToSign(account: resource.account, container: resource.container ?? "", blobName: blobName)
        }
        let valid = keys.contains { key in
            SASValues.sign(stringToSign, base64Key: key).map { constantTimeEquals($0, sas.signature ?? "") } ?? false
        }
        guard valid else {
            throw StorageServiceError.authenticationFailed("Signature did not match. String to sign used was \(stringToSign)")
        }
        let start = sas.start.flatMap(HTTPDate.parseISO8601)
        guard let expiry = sas.expiry.flatMap(HTTPDate.parseISO8601), start.map({ $0 <= now }) ?? true, now < expiry else {
            throw StorageServiceError.authenticationFailed("Signed expiry time must be after signed start time and the request time must be within them.")
        }
        if sas.protocols == "https" {
            throw StorageServiceError(.forbidden, "AuthorizationProtocolMismatch", "This request is not authorized to perform this operation using this protocol.")
        }
        return .sas(sas)
    }
}
