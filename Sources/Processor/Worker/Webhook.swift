import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import QueueKit
import Yams

/// POSTs a final status document to a configured URL, signed with HMAC-SHA256
/// (`X-MediaPipeline-Signature: sha256=<hex>` over the exact body), retried with backoff.
struct Webhook: Sendable {
    let url: String
    let secret: String?
    let client: HTTPClient
    var attempts = 5
    var baseDelay = Duration.milliseconds(500)

    static func signature(body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Delivers `body`; returns whether a 2xx answer came back. Never throws: a webhook is a
    /// notification, the status document is the record. With a trace id, the request carries a W3C
    /// `traceparent` continuing the job's trace (`Traceparent`).
    @discardableResult
    func deliver(_ body: Data, jobId: String, traceId: String? = nil, logger: Logger) async -> Bool {
        var delay = baseDelay
        for attempt in 1...attempts {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "X-MediaPipeline-Job", value: jobId)
            if let parent = traceId.flatMap({ Traceparent.header(traceId: $0) }) { request.headers.add(name: "traceparent", value: parent) }
            if let secret { request.headers.add(name: "X-MediaPipeline-Signature", value: Self.signature(body: body, secret: secret)) }
            request.body = .bytes(ByteBuffer(data: body))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 16)
                if (200..<300).contains(response.status.code) { return true }
                logger.warning("webhook answered \(response.status.code)", metadata: ["job.id": "\(jobId)", "attempt": "\(attempt)"])
                if (400..<500).contains(response.status.code), response.status.code != 429, response.status.code != 408 { return false }
            } catch {
                logger.warning("webhook failed", metadata: ["job.id": "\(jobId)", "attempt": "\(attempt)", "error": "\(error)"])
            }
            if attempt < attempts {
                try? await Task.sleep(for: delay)
                delay *= 2
            }
        }
        return false
    }
}

/// Where a job's final status goes: its tenant's own webhook (`processor.webhook.tenants.file`), so
/// each application hears only about its own jobs, or else the deployment's (`processor.webhook.url`).
struct Webhooks: Sendable {
    /// One tenant's webhook, as the file gives it.
    struct Target: Codable, Sendable, Equatable {
        var url: String
        var secret: String?
    }

    var fallback: Webhook?
    var byTenant: [String: Webhook] = [:]

    static let none = Webhooks(fallback: nil)

    func target(for tenant: String?) -> Webhook? {
        tenant.flatMap { byTenant[$0] } ?? fallback
    }

    /// Reads `{tenant: {url, secret}}` (YAML or JSON: a mounted Secret).
    static func load(path: String) throws -> [String: Target] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WebhookFileError(description: "cannot read the tenant webhook file \(path)")
        }
        let targets: [String: Target]
        do {
            targets = try YAMLDecoder().decode([String: Target].self, from: data)
        } catch {
            throw WebhookFileError(description: "\(path) is not a map of tenant → {url, secret}: \(error)")
        }
        for (tenant, target) in targets {
            guard Tenant.isValid(tenant) else { throw WebhookFileError(description: "\(path): \(tenant) is not a tenant name") }
            guard let url = URL(string: target.url), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw WebhookFileError(description: "\(path): the webhook of \(tenant) is not an http(s) URL")
            }
        }
        return targets
    }

    struct WebhookFileError: Error, CustomStringConvertible {
        let description: String
    }
}
