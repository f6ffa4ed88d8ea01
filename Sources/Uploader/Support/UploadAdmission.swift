import Foundation
import Logging
import StorageKit

/// Who may start an upload and how many run at once, for every way in (`POST /upload`, resumable
/// uploads, direct-to-Blob): the tenant's rate limit, its daily quota and the upload slots, with the
/// answers a refused client gets. The limits are the tenant's: its keys and tokens share them.
struct UploadAdmission: Sendable {
    let rateLimiter: RateLimiter
    let quotas: TenantQuotas
    let slots: UploadSlots
    let metrics: UploaderMetrics

    /// Refuses the request (429 with Retry-After) when the tenant's rate limit is used up.
    func checkRate(tenant: String) throws {
        if let retryAfter = rateLimiter.acquire(tenant) {
            throw UploaderError(.rateLimited, "too many uploads for this tenant; retry in \(retryAfter) s", retryAfter: retryAfter)
        }
    }

    /// Counts one upload against the tenant's daily quota at `now`, or refuses it (429 when the quota
    /// is used up, 503 when the usage cannot be read). Every admission is settled once with
    /// `quotas.settle(…, admittedAt: now)`, with what was really stored.
    func admitQuota(tenant: String, now: Date, logger: Logger) async throws {
        do {
            try await quotas.admit(tenant: tenant, now: now)
        } catch let exceeded as TenantQuotas.Exceeded {
            throw UploaderError(.quotaExceeded, exceeded.message, retryAfter: exceeded.retryAfter)
        } catch let error as StorageError {
            logger.error("cannot read the tenant's quota usage", metadata: ["error": "\(error)"])
            throw UploaderError(.storageUnavailable, "storage is unavailable; nothing was stored, try again", retryAfter: 5)
        }
    }

    /// The rate limit, then the quota: what a new upload passes before anything is stored for it.
    /// Returns the admission time, which the quota is settled with.
    func admit(tenant: String, logger: Logger, now: Date = Date()) async throws -> Date {
        try checkRate(tenant: tenant)
        try await admitQuota(tenant: tenant, now: now, logger: logger)
        return now
    }

    /// Runs `body` holding one of the tenant's upload slots (the in-flight gauge follows), or refuses
    /// at once: 429 when the tenant has its share of uploads in progress, 503 when every slot is taken.
    func withSlot<T>(tenant: String, _ body: () async throws -> T) async throws -> T {
        switch slots.tryEnter(key: tenant) {
        case .admitted: break
        case .keyAtLimit:
            throw UploaderError(
                .tooManyUploadsForKey, "this tenant already has \(slots.perKeyLimit) uploads in progress; retry when one ends", retryAfter: 2)
        case .full:
            throw UploaderError(.busy, "the uploader is at its limit of \(slots.limit) concurrent uploads", retryAfter: 2)
        }
        metrics.setInFlight(slots.inUse)
        defer {
            slots.leave(key: tenant)
            metrics.setInFlight(slots.inUse)
        }
        return try await body()
    }
}
