import Foundation
import QueueKit

/// The policy that decides whether a directly uploaded blob becomes a job: its size, what its
/// first bytes are, and its MD5. Pure: `DirectUploads` feeds it what storage says.
///
/// MD5, decided here once:
/// - the blob's `Content-MD5` property (Azure sets it for Put Blob; Put Block List sets it when the
///   client sends `x-ms-blob-content-md5`, e.g. the SDK's `content_settings.content_md5`) is the
///   blob's MD5;
/// - an `md5` in the completion request must equal it;
/// - without the property, the uploader computes the MD5 by reading the blob once (a read inside
///   Azure, the client sends nothing more) and an `md5` in the request must equal that.
/// The job carries the verified MD5, and the processor checks its download against it, so a blob
/// rewritten through the SAS after completion fails as `corrupt` rather than being processed.
enum DirectUploadCheck {
    /// Failure codes written to the job's status document.
    static let emptyCode = "empty"
    static let tooLargeCode = "tooLarge"
    static let unsupportedCode = "unsupported"
    static let md5MismatchCode = "md5Mismatch"

    /// A blob of `bytes` against the limit the grant named.
    static func size(bytes: Int, maxBytes: Int) -> JobStatus.Failure? {
        if bytes <= 0 { return JobStatus.Failure(code: emptyCode, reason: "the uploaded blob is empty") }
        if bytes > maxBytes {
            return JobStatus.Failure(code: tooLargeCode, reason: "the uploaded blob has \(bytes) bytes, more than the limit of \(maxBytes)")
        }
        return nil
    }

    /// What the first bytes say.
    enum TypeVerdict: Equatable {
        case media(MediaType)
        case refused(JobStatus.Failure)
    }

    /// The media type of the blob's first bytes (image, video or audio), or why it is refused.
    static func mediaType(prefix: some Collection<UInt8>) -> TypeVerdict {
        guard let type = MediaType.sniff(prefix) else {
            return .refused(
                JobStatus.Failure(
                    code: unsupportedCode,
                    reason: "the content is not a supported image, video or audio file (\(MediaType.acceptedFormats))"))
        }
        return .media(type)
    }

    /// What to do about the MD5.
    enum MD5Plan: Equatable {
        /// The blob's MD5 is known and agrees with any claim.
        case use(String)
        /// The blob's MD5 property and the claim differ.
        case mismatch(JobStatus.Failure)
        /// No property: compute it, then compare with `expected` when there is one.
        case compute(expected: String?)
    }

    static func md5Plan(property: String?, claimed: String?) -> MD5Plan {
        guard let property, !property.isEmpty else { return .compute(expected: claimed) }
        if let claimed, claimed != property { return .mismatch(mismatch(actual: property, claimed: claimed)) }
        return .use(property)
    }

    /// A computed MD5 against the claim, if any.
    static func computed(_ md5: String, expected: String?) -> JobStatus.Failure? {
        guard let expected, expected != md5 else { return nil }
        return mismatch(actual: md5, claimed: expected)
    }

    static func mismatch(actual: String, claimed: String) -> JobStatus.Failure {
        JobStatus.Failure(code: md5MismatchCode, reason: "the uploaded blob's MD5 is \(actual), not the \(claimed) the client named")
    }

    /// A base64 MD5 as clients send it: 16 bytes.
    static func isMD5(_ value: String) -> Bool {
        value.count == 24 && Data(base64Encoded: value)?.count == 16
    }
}
