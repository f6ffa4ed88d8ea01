import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StorageKit

/// Authenticates every request with StorageKit's own canonicalisation: Shared Key (§3.6) or SAS
/// (§4.7); optionally bearer tokens and anonymous access (loose mode).
struct RequestAuthenticator: Sendable {
    let accounts: AccountRegistry
    let service: StorageService
    let loose: Bool
    let allowBearer: Bool
    /// Allowed difference between the request's `x-ms-date`/`Date` and real time.
    let maximumClockSkew: TimeInterval = 15 * 60

    /// The grant for `request`, or the Azure error: 400 `InvalidAuthenticationInfo` (malformed
    /// header), 403 `AuthenticationFailed` (signature, date, SAS time window), 403
    /// `Authorization*Mismatch` (SAS protocol, service, resource type, permission, IP), 404
    /// `ResourceNotFound` (no credentials).
    func authenticate(
        _ request: Request, target: RequestTarget, query: QueryParameters, operation: StorageOperation,
        remoteAddress: SocketAddress?, now: Date
    ) throws(StorageServiceError) -> AccessGrant {
        if let authorization = request.headers[.authorization] {
            if authorization.hasPrefix("Bearer ") {
                guard allowBearer else {
                    throw .authenticationFailed("Bearer tokens are not accepted (devstorage.allow.bearer is off).")
                }
                guard accounts.keys(for: target.account) != nil else { throw .resourceNotFound }
                return .full
            }
            return try verifySharedKey(request, authorization: authorization, target: target, query: query, now: now)
        }
        if let sas = SASValues(query: query.pairs) {
            try Self.refuseDuplicatedSASFields(query)
            guard let keys = accounts.keys(for: target.account) else {
                throw .authenticationFailed("The account \(target.account) does not exist.")
            }
            return try SASVerifier(service: service, account: target.account, keys: keys)
                .verify(sas, target: target, operation: operation, remoteAddress: remoteAddress, now: now)
        }
        if loose, accounts.keys(for: target.account) != nil { return .full }
        throw .resourceNotFound
    }

    /// A SAS field given twice (`sp=r&sp=rw`) is refused: the signature covers one value per field,
    /// and which copy a service would read is undefined. (Microsoft's SAS references define each
    /// field as a single value; they do not state the error, so this uses the one Azure gives for a
    /// malformed SAS, 403 AuthenticationFailed "Signature fields not well formed".)
    static func refuseDuplicatedSASFields(_ query: QueryParameters) throws(StorageServiceError) {
        let fields: Set<String> = [
            "sv", "ss", "srt", "sp", "st", "se", "sip", "spr", "sr", "si", "ses", "sig", "rscc", "rscd", "rsce", "rscl", "rsct",
            "skoid", "sktid", "skt", "ske", "sks", "skv",
        ]
        var seen = Set<String>()
        for (name, _) in query.pairs where fields.contains(name) {
            guard seen.insert(name).inserted else {
                throw .authenticationFailed("Signature fields not well formed: '\(name)' appears more than once.")
            }
        }
    }

    /// Shared Key: rebuilds the string-to-sign from the request as received and compares in
    /// constant time with every key of the account.
    func verifySharedKey(
        _ request: Request, authorization: String, target: RequestTarget, query: QueryParameters, now: Date
    ) throws(StorageServiceError) -> AccessGrant {
        let scheme = "SharedKey "
        guard authorization.hasPrefix(scheme) else {
            throw .invalidAuthenticationInfo("Only the SharedKey and Bearer schemes are supported.")
        }
        let credential = authorization.dropFirst(scheme.count)
        guard let colon = credential.lastIndex(of: ":"), colon != credential.startIndex,
            credential.index(after: colon) != credential.endIndex
        else {
            throw .invalidAuthenticationInfo("The Authorization header must be 'SharedKey account:signature'.")
        }
        let signedAccount = String(credential[..<colon])
        guard let keys = accounts.keys(for: target.account) else {
            throw .authenticationFailed("The account \(target.account) does not exist.")
        }
        guard signedAccount == target.account else {
            throw .authenticationFailed("The account in the Authorization header (\(signedAccount)) is not the account of the URL (\(target.account)).")
        }
        let dateValue = request.headers[.xMsDate] ?? request.headers[.date]
        guard let dateValue else {
            throw .authenticationFailed("Request must contain an x-ms-date or Date header.")
        }
        guard let date = HTTPDate.parse(dateValue) else {
            throw .authenticationFailed("The date header '\(dateValue)' is not an RFC 1123 date.")
        }
        guard abs(date.timeIntervalSince(now)) <= maximumClockSkew else {
            throw .authenticationFailed(
                "Request date header too old or too far in the future: '\(dateValue)'; the server time is '\(HTTPDate.format(now))'.")
        }
        let canonical = CanonicalRequest(
            method: request.method.rawValue, encodedPath: target.rawPath, query: query.pairs,
            headers: request.headers.map { (name: $0.name.rawName, value: $0.value) })
        var matched = false
        for key in keys {
            guard let signer = try? SharedKeySigner(accountName: target.account, accountKey: key) else { continue }
            // Check every key (no early exit) so timing does not reveal which key matched.
            if signer.verify(canonical, authorization: authorization) { matched = true }
        }
        guard matched else {
            let stringToSign = SharedKeySigner.stringToSign(canonical, accountName: target.account)
            throw .authenticationFailed(
                "The MAC signature found in the HTTP request '\(credential[credential.index(after: colon)...])' is not the same as any computed signature. Server used following string to sign: '\(stringToSign)'.")
        }
        return .full
    }
}
