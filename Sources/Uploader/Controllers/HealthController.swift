import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Prometheus
import QueueKit
import StorageKit

/// `/healthz` (the process answers), `/readyz` (storage and queue answer within 2 s, or have
/// failed for no longer than the readiness window) and `/metrics` (Prometheus text).
struct HealthController: Sendable {
    let ingest: Ingest
    let registry: PrometheusCollectorRegistry?
    let readiness: ReadinessWindow

    func addRoutes(to router: Router<UploaderRequestContext>) {
        router.get("healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("readyz", use: ready)
        if let registry {
            router.get("metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            }
        }
    }

    @Sendable func ready(request: Request, context: UploaderRequestContext) async throws -> Response {
        async let blob = check { _ = try await ingest.blobs.listBlobs(ingest.rawContainer, maxResults: 1) }
        async let queue = check { _ = try await ingest.queues.approximateMessageCount(ingest.queue) }
        let (blobError, queueError) = await (blob, queue)
        let state = readiness.record(healthy: blobError == nil && queueError == nil)
        if state != .ready {
            context.logger.warning("storage check failed", metadata: ["blob": "\(blobError ?? "ok")", "queue": "\(queueError ?? "ok")", "readiness": "\(state.rawValue)"])
        }
        let body = try JSONEncoder.uploader.encode([
            "status": state.rawValue,
            "blob": blobError ?? "ok",
            "queue": queueError ?? "ok",
        ])
        return Response(
            status: state == .unavailable ? .serviceUnavailable : .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    /// Runs `probe` with a 2 s limit; nil when it succeeded, else what went wrong.
    private func check(_ probe: @escaping @Sendable () async throws -> Void) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await probe()
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return "no answer within 2 s"
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
    }
}
