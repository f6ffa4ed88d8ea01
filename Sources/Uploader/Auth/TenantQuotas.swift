import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import QueueKit
import StorageKit

/// Daily quotas of uploads and bytes per tenant (`uploader.quota.daily.*`, off by default) that hold
/// across uploader replicas: each tenant's usage of a UTC day is a small document in storage
/// (`jobstatus/_quotas/{day}/{tenant}.json`; tenant names start with a letter or digit, so the
/// prefix is no tenant's), changed only under an ETag condition, read again on a conflict.
///
/// An upload is counted when it is admitted, before its body is read, so concurrent requests on
/// any replica cannot together pass the upload quota; one that then fails gives its count back.
/// Bytes are known only at the end: a request is admitted while the tenant is under its byte
/// quota, and its bytes are added when it is accepted (so the last upload of a day may cross it).
struct TenantQuotas: Sendable {
    struct Limits: Sendable, Equatable {
        /// Uploads (files) per tenant per UTC day; 0 = no limit.
        var uploadsPerDay = 0
        /// Bytes per tenant per UTC day; 0 = no limit.
        var bytesPerDay = 0

        var isOff: Bool { uploadsPerDay <= 0 && bytesPerDay <= 0 }
    }

    /// A tenant at its quota: 429 until the next UTC midnight.
    struct Exceeded: Error, Equatable {
        let message: String
        let retryAfter: Int
    }

    /// One tenant's usage of one day.
    struct Usage: Codable, Equatable {
        var day: String
        var uploads = 0
        var bytes = 0
    }

    let blobs: BlobClient
    let container: String
    let limits: Limits
    let logger: Logger

    static let prefix = "_quotas/"
    /// Read-change-write rounds before giving up on a document many replicas are changing at once.
    static let maxRounds = 20

    /// Counts one upload for `tenant`, or throws `Exceeded` when the tenant is at a quota.
    func admit(tenant: String, now: Date = Date()) async throws {
        guard !limits.isOff else { return }
        try await update(tenant: tenant, now: now) { usage in
            if limits.uploadsPerDay > 0, usage.uploads >= limits.uploadsPerDay {
                throw Exceeded(
                    message: "this tenant has used its daily quota of \(limits.uploadsPerDay) uploads; it resets at 00:00 UTC",
                    retryAfter: Self.secondsToMidnight(now))
            }
            if limits.bytesPerDay > 0, usage.bytes >= limits.bytesPerDay {
                throw Exceeded(
                    message: "this tenant has used its daily quota of \(limits.bytesPerDay) bytes; it resets at 00:00 UTC",
                    retryAfter: Self.secondsToMidnight(now))
            }
            usage.uploads += 1
        }
    }

    /// An admitted request ended: `files` uploads (0 when it failed; the admission counted one)
    /// and `bytes` are its share of the day. Best effort: a failure to count is logged.
    func settle(tenant: String, files: Int, bytes: Int, admittedAt: Date) async {
        guard !limits.isOff, files != 1 || bytes > 0 else { return }
        do {
            try await update(tenant: tenant, now: admittedAt) { usage in
                usage.uploads = max(0, usage.uploads + files - 1)
                usage.bytes += bytes
            }
        } catch {
            logger.warning("could not record a tenant's quota usage", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
        }
    }

    /// The tenant's usage of the day of `now` (tests, operators).
    func usage(tenant: String, now: Date = Date()) async throws -> Usage {
        try await read(Self.documentName(tenant: tenant, day: Self.day(now))).usage ?? Usage(day: Self.day(now))
    }

    private func update(tenant: String, now: Date, _ change: (inout Usage) throws -> Void) async throws {
        let day = Self.day(now)
        let name = Self.documentName(tenant: tenant, day: day)
        for _ in 1...Self.maxRounds {
            let current = try await read(name)
            var usage = current.usage ?? Usage(day: day)
            try change(&usage)
            let conditions = current.etag.map { BlobConditions(ifMatch: $0) } ?? .createOnly
            do {
                _ = try await blobs.putBlob(
                    container, name, body: ByteBuffer(data: try JSONEncoder().encode(usage)),
                    options: BlobUploadOptions(contentType: "application/json", conditions: conditions))
                return
            } catch let error as StorageError where error.status == 412 || error.status == 409 {
                // Another request (here or on another replica) changed it first: read it again.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...20)))
            }
        }
        throw UploaderError(.busy, "the tenant's quota is being updated by too many requests at once; retry", retryAfter: 1)
    }

    private func read(_ name: String) async throws -> (usage: Usage?, etag: String?) {
        do {
            let document = try await blobs.downloadDocument(container, name, limit: 64 << 10)
            return (try? JSONDecoder().decode(Usage.self, from: Data(buffer: document.bytes)), document.properties.etag)
        } catch let error as StorageError where error.isNotFound {
            return (nil, nil)
        }
    }

    static func documentName(tenant: String, day: String) -> String { "\(prefix)\(day)/\(tenant).json" }

    /// `2026-11-26`: the UTC day of `date`.
    static func day(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
    }

    /// Seconds until the next 00:00 UTC (at least 1).
    static func secondsToMidnight(_ date: Date) -> Int {
        let seconds = Int(date.timeIntervalSince1970)
        return max(1, 86_400 - seconds % 86_400)
    }
}
