import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Microsoft Entra workload identity, as AKS injects it: reads the projected service-account token
/// from `AZURE_FEDERATED_TOKEN_FILE` (re-read on every request: kubelet rotates it), exchanges it for
/// a bearer token for `https://storage.azure.com/` and caches that until five minutes before expiry.
/// Concurrent callers share one token request.
public actor WorkloadIdentityCredential: TokenCredential {
    /// The settings AKS's webhook injects.
    public struct Settings: Sendable, Equatable {
        /// `AZURE_CLIENT_ID`.
        public var clientID: String
        /// `AZURE_TENANT_ID`.
        public var tenantID: String
        /// `AZURE_FEDERATED_TOKEN_FILE`.
        public var tokenFile: String
        /// `AZURE_AUTHORITY_HOST` (default `https://login.microsoftonline.com/`).
        public var authorityHost: String
        /// The scope requested.
        public var scope: String

        /// Creates the settings.
        public init(
            clientID: String, tenantID: String, tokenFile: String,
            authorityHost: String = "https://login.microsoftonline.com/",
            scope: String = "https://storage.azure.com/.default"
        ) {
            self.clientID = clientID
            self.tenantID = tenantID
            self.tokenFile = tokenFile
            self.authorityHost = authorityHost
            self.scope = scope
        }

        /// The token endpoint: `{authority}/{tenant}/oauth2/v2.0/token`.
        public var tokenURL: String {
            let authority = authorityHost.hasSuffix("/") ? authorityHost : authorityHost + "/"
            return "\(authority)\(tenantID)/oauth2/v2.0/token"
        }
    }

    let settings: Settings
    let transport: any StorageTransport
    let refreshMargin: TimeInterval
    let logger: Logger
    var cached: AccessToken?
    var inFlight: Task<AccessToken, any Error>?

    /// Creates the credential.
    public init(
        settings: Settings, transport: any StorageTransport = StorageHTTPClient.shared, refreshMargin: TimeInterval = 300,
        logger: Logger = Logger(label: "StorageKit.WorkloadIdentity")
    ) {
        self.settings = settings
        self.transport = transport
        self.refreshMargin = refreshMargin
        self.logger = logger
    }

    public func token(forceRefresh: Bool) async throws -> AccessToken {
        if !forceRefresh, let cached, cached.expiresOn.timeIntervalSinceNow > refreshMargin { return cached }
        if let inFlight { return try await inFlight.value }
        let task = Task { [settings, transport, logger] in
            try await Self.requestToken(settings: settings, transport: transport, logger: logger)
        }
        inFlight = task
        defer { inFlight = nil }
        let token = try await task.value
        cached = token
        return token
    }

    static func requestToken(settings: Settings, transport: any StorageTransport, logger: Logger) async throws
        -> AccessToken
    {
        let assertion: String
        do {
            assertion = try String(contentsOfFile: settings.tokenFile, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw StorageError(.tokenRequestFailed, message: "cannot read AZURE_FEDERATED_TOKEN_FILE \(settings.tokenFile): \(error)")
        }
        let form: [(name: String, value: String)] = [
            ("grant_type", "client_credentials"), ("client_id", settings.clientID), ("scope", settings.scope),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ]
        var request = HTTPClientRequest(url: settings.tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: QueryString.encode(form)))
        let response: HTTPClientResponse
        do {
            response = try await transport.execute(request, timeout: .seconds(30), logger: logger)
        } catch {
            throw StorageError(.tokenRequestFailed, message: "token request to \(settings.tokenURL) failed: \(error)")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        struct TokenResponse: Decodable {
            var access_token: String?
            var expires_in: Double?
            var error: String?
            var error_description: String?
        }
        let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(buffer: body))
        guard response.status == .ok, let token = decoded?.access_token else {
            let reason = decoded?.error_description ?? decoded?.error ?? String(buffer: body).prefix(300).description
            throw StorageError(.tokenRequestFailed, status: Int(response.status.code), message: reason)
        }
        let lifetime = decoded?.expires_in ?? 3600
        logger.debug("got a storage access token", metadata: ["storage.token.lifetime": "\(Int(lifetime))"])
        return AccessToken(token: token, expiresOn: Date().addingTimeInterval(lifetime))
    }
}
