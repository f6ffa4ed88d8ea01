import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import XMLCoder

/// The one execute core every Blob and Queue call goes through:
/// sign (afresh for every attempt) → send → decode errors → retry transient failures with jittered
/// exponential backoff honouring `Retry-After`, within the per-attempt and overall deadlines of the
/// request's class (`StorageRequest.DeadlineClass`); with logger metadata and metrics per operation.
///
/// Cancellation stays cancellation: when the calling task is cancelled, `execute` throws
/// `CancellationError` (never a `StorageError`, never retried), whatever the transport reported.
public struct StorageClient: Sendable {
    /// The account called.
    public let account: StorageAccount
    /// The transport (StorageKit's own AsyncHTTPClient, `StorageHTTPClient.shared`, unless the caller
    /// passes one made by `StorageHTTPClient.make(_:)` or a test swaps it).
    public let transport: any StorageTransport
    /// The retry policy.
    public let retryPolicy: RetryPolicy
    /// The base logger; each call adds `storage.operation` and `storage.request_id`.
    public let logger: Logger

    /// Creates a client.
    public init(
        account: StorageAccount, transport: any StorageTransport = StorageHTTPClient.shared, retryPolicy: RetryPolicy = .default,
        logger: Logger = Logger(label: "StorageKit")
    ) {
        self.account = account
        self.transport = transport
        self.retryPolicy = retryPolicy
        self.logger = logger
    }

    /// The service a request is for.
    public enum Service: Sendable { case blob, queue }

    /// Runs a request and returns the response with its body still streaming.
    /// The caller must consume or drop the body.
    public func execute(_ request: StorageRequest, service: Service) async throws -> HTTPClientResponse {
        let start = ContinuousClock.now
        let deadlines = retryPolicy.deadlines(for: request.deadlineClass)
        let deadline = start + min(deadlines.overall, request.timeLimit ?? deadlines.overall)
        let clientRequestID = UUID().uuidString.lowercased()
        var logger = self.logger.mergingCallerMetadata()
        logger[metadataKey: "storage.operation"] = "\(request.operation)"
        logger[metadataKey: "storage.client_request_id"] = "\(clientRequestID)"
        let dimensions = [("operation", request.operation)]
        var attempt = 0
        var refreshedToken = false
        var uncertain = false  // an earlier attempt may have taken effect
        defer {
            let elapsed = ContinuousClock.now - start
            Timer(label: StorageMetrics.duration, dimensions: dimensions).recordNanoseconds(Int64(elapsed.seconds * 1e9))
        }
        while true {
            attempt += 1
            let remaining = deadline - ContinuousClock.now
            let attemptTimeout = min(deadlines.attempt, remaining)
            var failure: StorageError
            var retryAfter: Duration?
            do {
                let httpRequest = try await prepare(
                    request, service: service, clientRequestID: clientRequestID, forceTokenRefresh: refreshedToken && attempt > 1)
                let response = try await transport.execute(httpRequest, timeout: attemptTimeout.timeAmount, logger: logger)
                let status = Int(response.status.code)
                let requestID = response.headers.first(name: "x-ms-request-id")
                Counter(label: StorageMetrics.requests, dimensions: dimensions + [("status", "\(status)")]).increment()
                if request.expectedStatus.contains(status) {
                    logger.trace("storage call succeeded", metadata: ["storage.status": "\(status)", "storage.request_id": "\(requestID ?? "-")"])
                    return response
                }
                failure = await Self.decodeError(response, operation: request.operation)
                retryAfter = RetryPolicy.retryAfter(headers: response.headers)
                if status == 401, case .bearer = account.credential, !refreshedToken {
                    refreshedToken = true
                    logger.debug("401 with a bearer token: refreshing it once")
                    continue
                }
            } catch let error as StorageError {
                failure = error
            } catch {
                if error is CancellationError { throw error }
                failure = Self.transportError(error, operation: request.operation)
            }
            // Whatever the transport made of it (a reset connection, a timeout), a cancelled task
            // gets cancellation: never retried, never counted as a storage failure.
            if Task.isCancelled { throw CancellationError() }
            failure.afterUncertainAttempt = uncertain
            uncertain = uncertain || failure.mayHaveTakenEffect
            let retriable = failure.isTransient && attempt <= retryPolicy.maxRetries
            let delay = retryPolicy.delay(beforeRetry: attempt, retryAfter: retryAfter)
            guard retriable, ContinuousClock.now + delay < deadline else {
                Counter(label: StorageMetrics.errors, dimensions: dimensions + [("code", failure.code.rawValue)]).increment()
                if failure.status == 404 || failure.status == 409 || failure.status == 412 || failure.status == 304 {
                    logger.debug("storage call failed", metadata: ["storage.error": "\(failure)"])
                } else {
                    logger.warning("storage call failed", metadata: ["storage.error": "\(failure)", "storage.attempts": "\(attempt)"])
                }
                throw failure
            }
            Counter(label: StorageMetrics.retries, dimensions: dimensions).increment()
            logger.info(
                "retrying storage call",
                metadata: ["storage.error": "\(failure)", "storage.attempt": "\(attempt)", "storage.delay_ms": "\(Int(delay.seconds * 1000))"])
            try await Task.sleep(for: delay)
        }
    }

    /// Runs a request and collects its body (for small XML answers).
    public func executeCollecting(_ request: StorageRequest, service: Service, limit: Int = 16 << 20) async throws
        -> (response: HTTPClientResponse, body: ByteBuffer)
    {
        let response = try await execute(request, service: service)
        do {
            return (response, try await response.body.collect(upTo: limit))
        } catch {
            throw Self.bodyError(error, operation: request.operation)
        }
    }

    /// Builds the HTTP request for one attempt: URL, standard headers, fresh signature or token.
    func prepare(_ request: StorageRequest, service: Service, clientRequestID: String, forceTokenRefresh: Bool) async throws
        -> HTTPClientRequest
    {
        let endpoint = service == .blob ? account.blobEndpoint : account.queueEndpoint
        var basePath = endpoint.path(percentEncoded: true)
        if basePath.hasSuffix("/") { basePath.removeLast() }
        let encodedPath = basePath + (request.encodedPath.isEmpty ? "/" : request.encodedPath)
        var headers = request.headers
        headers.replaceOrAdd(name: "x-ms-version", value: StorageDefaults.serviceVersion)
        headers.replaceOrAdd(name: "x-ms-client-request-id", value: clientRequestID)
        let length = request.body?.readableBytes ?? 0
        if request.body != nil || request.method == .PUT || request.method == .POST {
            headers.replaceOrAdd(name: "Content-Length", value: "\(length)")
        }
        var query = QueryString.encode(request.query)
        switch account.credential {
        case .sharedKey(let signer):
            var canonical = CanonicalRequest(
                method: request.method.rawValue, encodedPath: encodedPath, query: request.query,
                headers: headers.map { ($0.name, $0.value) })
            signer.sign(&canonical)
            for (name, value) in canonical.headers where ["x-ms-date", "authorization"].contains(name.lowercased()) {
                headers.replaceOrAdd(name: name, value: value)
            }
        case .sharedAccessSignature(let token):
            headers.replaceOrAdd(name: "x-ms-date", value: HTTPDate.format(Date()))
            query = query.isEmpty ? token : query + "&" + token
        case .bearer(let credential):
            let token = try await credential.token(forceRefresh: forceTokenRefresh)
            headers.replaceOrAdd(name: "x-ms-date", value: HTTPDate.format(Date()))
            headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token.token)")
        case .anonymous:
            headers.replaceOrAdd(name: "x-ms-date", value: HTTPDate.format(Date()))
        }
        var origin = "\(endpoint.scheme ?? "https")://\(endpoint.host ?? "")"
        if let port = endpoint.port { origin += ":\(port)" }
        var httpRequest = HTTPClientRequest(url: origin + encodedPath + (query.isEmpty ? "" : "?" + query))
        httpRequest.method = request.method
        httpRequest.headers = headers
        if let body = request.body {
            httpRequest.body = .bytes(body)
        }
        return httpRequest
    }

    /// Decodes `x-ms-error-code` and the XML `<Error>` body into a `StorageError`.
    static func decodeError(_ response: HTTPClientResponse, operation: String) async -> StorageError {
        let status = Int(response.status.code)
        let requestID = response.headers.first(name: "x-ms-request-id")
        var code = response.headers.first(name: "x-ms-error-code")
        var message: String?
        if let body = try? await response.body.collect(upTo: 64 << 10), body.readableBytes > 0,
            let error = try? StorageXML.decoder().decode(ServiceErrorBody.self, from: Data(buffer: body))
        {
            code = code ?? error.code
            message = error.message
        }
        let fallback: StorageError.Code = switch status {
        case 404: .resourceNotFound
        case 500: .internalError
        case 503: .serverBusy
        default: .unknown
        }
        return StorageError(
            code.map { StorageError.Code(rawValue: $0) } ?? fallback, status: status, requestID: requestID,
            message: message ?? "HTTP \(status)", operation: operation)
    }

    /// A failure while reading a response body: `CancellationError` when the task was cancelled,
    /// else the transport error.
    static func bodyError(_ error: any Error, operation: String) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        return transportError(error, operation: operation)
    }

    /// Wraps a transport failure (connection refused or reset, timeout, …).
    static func transportError(_ error: any Error, operation: String) -> StorageError {
        if let error = error as? StorageError { return error }
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return StorageError(.timeout, message: "\(error)", operation: operation)
        }
        if let error = error as? HTTPClientError, error == .alreadyShutdown {
            return StorageError(.clientShutDown, message: "\(error)", operation: operation)
        }
        return StorageError(.transport, message: "\(error)", operation: operation)
    }
}

/// Azure's XML error body: `<Error><Code>…</Code><Message>…</Message>…</Error>`.
struct ServiceErrorBody: Decodable {
    var code: String?
    var message: String?

    enum CodingKeys: String, CodingKey {
        case code = "Code"
        case message = "Message"
    }
}
