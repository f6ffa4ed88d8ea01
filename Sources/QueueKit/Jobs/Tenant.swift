import Foundation
import StorageKit

/// Tenants: every credential belongs to one, every job records its tenant, and only its tenant
/// sees it. A tenant name is also a path segment of its status documents
/// (`jobstatus/{tenant}/{jobId}.json`), so names are restricted to what is safe there.
public enum Tenant {
    /// `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`: an Entra ID tenant id (a GUID), a configured name, a key id.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), isAlphanumeric(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

extension MediaJob {
    /// A new job id: a lowercase UUID (version 8) whose first 48 bits are the milliseconds left until
    /// the end of the 48-bit Unix-millisecond range, then random bits. Ids made later sort first, so
    /// listing a tenant's status documents by name lists its jobs newest first, and a page boundary
    /// (the listing's marker) stays put while new jobs arrive before it.
    public static func newJobId(at date: Date = Date()) -> String {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let inverted = (UInt64(1) << 48) - 1 - min(milliseconds, (UInt64(1) << 48) - 1)
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: inverted >> (8 * (5 - index))) }
        var generator = SystemRandomNumberGenerator()
        for index in 6..<16 { bytes[index] = generator.next() }
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: custom layout (RFC 9562)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }
}

extension JobStatus {
    /// Where a job's status document lives in `jobstatus`: `{tenant}/{jobId}.json`, or
    /// `{jobId}.json` for a job without a tenant (jobs from before tenants).
    public static func documentName(jobId: String, tenant: String?) -> String {
        guard let tenant else { return "\(jobId).json" }
        return "\(tenant)/\(jobId).json"
    }

    /// This document's name in `jobstatus`.
    public var documentName: String { Self.documentName(jobId: jobId, tenant: tenant) }

    /// The blob metadata key that repeats the document's `status`, so a listing (with metadata)
    /// can filter by status without reading each document.
    public static let statusMetadataKey = "status"

    /// How every writer stores a status document: JSON, with its status in the blob's metadata.
    public func uploadOptions(conditions: BlobConditions = .none) -> BlobUploadOptions {
        BlobUploadOptions(contentType: "application/json", metadata: [Self.statusMetadataKey: status.rawValue], conditions: conditions)
    }
}
