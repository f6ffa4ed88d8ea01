import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Prometheus
import QueueKit
import StorageKit

/// The processor's small HTTP port: `/healthz` (the process answers), `/readyz` (storage and the
/// queue answer within 2 s), `/metrics` (Prometheus text).
enum HealthServer {
    static func build(
        configuration: ProcessorConfiguration, blobs: BlobClient, queues: QueueClient, registry: PrometheusCollectorRegistry?, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("readyz") { _, _ in
            async let blob = probe { _ = try await blobs.listBlobs(PipelineNames.rawContainer, maxResults: 1) }
            async let queue = probe { _ = try await queues.approximateMessageCount(PipelineNames.jobQueue) }
            let (blobError, queueError) = await (blob, queue)
            let ok = blobError == nil && queueError == nil
            let body = try JSONSerialization.data(withJSONObject: ["status": ok ? "ready" : "unavailable", "blob": blobError ?? "ok", "queue": queueError ?? "ok"], options: [.sortedKeys])
            return Response(status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: body)))
        }
        if let registry {
            router.get("metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            }
        }
        return Application(
            router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "mediapipeline-processor"),
            logger: logger)
    }

    /// Runs `check` with a 2 s limit; nil on success, else what went wrong.
    private static func probe(_ check: @escaping @Sendable () async throws -> Void) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await check()
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
