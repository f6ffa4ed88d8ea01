import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StorageKit

/// The responder of one listener: faults, version check, authentication, dispatch, the single
/// error-to-response mapping, and the headers every answer carries.
struct StorageResponder: HTTPResponder {
    typealias Context = StorageRequestContext

    let service: StorageService
    let authenticator: RequestAuthenticator
    let blobs: BlobController
    let queues: QueueController
    let faults: FaultInjector
    let clock: DevStorageClock
    let metrics: DevStorageMetrics

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = UUID().uuidString.lowercased()
        var logger = context.logger
        logger[metadataKey: "devstorage.request.id"] = .string(requestID)
        let target = RequestTarget(requestTarget: request.head.path ?? "/")
        let query = QueryParameters(rawQuery: target.rawQuery)
        let operation = switch service {
        case .blob: BlobController.operation(method: request.method, target: target, query: query, headers: request.headers)
        case .queue: QueueController.operation(method: request.method, target: target, query: query)
        }
        logger[metadataKey: "devstorage.operation"] = .string(operation.rawValue)
        let decision = faults.decide(operation: operation, method: request.method.rawValue, resource: target.resource)
        metrics.injected(decision, operation: operation)
        var response: Response
        do {
            if decision.latencyMilliseconds > 0 { try await Task.sleep(for: .milliseconds(decision.latencyMilliseconds)) }
            if let status = decision.failureStatus {
                throw StorageServiceError.injected(status: status, retryAfterSeconds: decision.retryAfterSeconds)
            }
            if let version = request.headers[.xMsVersion], !Self.isVersion(version) {
                throw StorageServiceError.invalidHeaderValue("x-ms-version", version)
            }
            let grant = try authenticator.authenticate(
                request, target: target, query: query, operation: operation, remoteAddress: context.remoteAddress, now: Date())
            let call = StorageCall(
                request: request, target: target, query: query, operation: operation, grant: grant, now: clock.now, logger: logger,
                remoteAddress: context.remoteAddress)
            response = switch service {
            case .blob: try await blobs.handle(call)
            case .queue: try await queues.handle(call)
            }
        } catch let error as StorageServiceError {
            if error.status.code >= 500, decision.failureStatus == nil {
                logger.warning("request failed", metadata: ["devstorage.error": "\(error)"])
            } else {
                logger.debug("request rejected", metadata: ["devstorage.error": "\(error)"])
            }
            response = error.response(requestID: requestID, isHead: request.method == .head, now: Date())
        } catch {
            logger.error("request failed", metadata: ["devstorage.error": "\(error)", "devstorage.path": "\(target.rawPath)"])
            response = StorageServiceError.internalError.response(requestID: requestID, isHead: request.method == .head, now: Date())
        }
        response.headers[.xMsRequestID] = requestID
        response.headers[.xMsVersion] = request.headers[.xMsVersion] ?? StorageDefaults.serviceVersion
        response.headers[.date] = HTTPDate.format(Date())
        if let clientRequestID = request.headers[.xMsClientRequestID] {
            response.headers[.xMsClientRequestID] = clientRequestID
        }
        let hasNoBody = response.status == .noContent || response.status == .notModified
        if response.headers[.contentLength] == nil, request.method != .head, !hasNoBody {
            response.headers[.contentLength] = "\(response.body.contentLength ?? 0)"
        }
        if let limit = decision.cutAfterBytes, request.method != .head {
            response.body = ResponseBodies.cutting(response.body, after: limit)
        }
        if decision.dropResponse {
            // Processed, but the client never hears back: close the connection before answering.
            try? await context.channel.close()
        }
        logger.debug("request", metadata: ["devstorage.status": "\(response.status.code)", "devstorage.path": "\(target.rawPath)"])
        metrics.request(service: service, operation: operation, status: response.status.code, duration: ContinuousClock.now - started)
        return response
    }

    /// `YYYY-MM-DD`.
    static func isVersion(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else { return false }
        return bytes.enumerated().allSatisfy { index, byte in index == 4 || index == 7 || (0x30...0x39).contains(byte) }
    }
}
