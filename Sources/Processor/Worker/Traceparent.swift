/// W3C Trace Context (`traceparent: 00-<trace id>-<parent id>-<flags>`) for the requests the
/// processor makes on a job's behalf: the job's trace id (from the upload's `traceparent`), a new
/// span id for this request, sampled.
enum Traceparent {
    /// The header for `traceId`; nil unless it is 32 lower-case hex digits, not all zero (the
    /// specification's rule: an invalid trace id must not be propagated).
    static func header(traceId: String, spanId: UInt64 = UInt64.random(in: 1...UInt64.max)) -> String? {
        guard traceId.utf8.count == 32, traceId.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            traceId.utf8.contains(where: { $0 != 48 })
        else { return nil }
        let span = String(spanId, radix: 16)
        return "00-\(traceId)-\(String(repeating: "0", count: 16 - span.count))\(span)-01"
    }
}
