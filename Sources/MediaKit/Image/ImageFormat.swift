/// Still and animated image formats the pipeline reads. Which one a file is, the caller decides from
/// its first bytes with the pipeline's one sniffer (QueueKit's `MediaType`).
public enum ImageFormat: String, Sendable {
    case jpeg, png, webp, gif, heif
}
