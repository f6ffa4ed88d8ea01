/// Still and animated image formats the pipeline reads. Which one a file is, the caller decides from
/// its first bytes with the pipeline's one sniffer (`MediaType`, module MediaTypes) and passes its MIME type.
public enum ImageFormat: String, Sendable {
    case jpeg, png, webp, gif, heif

    /// The decoder for a sniffed MIME type; nil for anything that is not an image the pipeline reads.
    public init?(mime: String) {
        switch mime {
        case "image/jpeg": self = .jpeg
        case "image/png": self = .png
        case "image/webp": self = .webp
        case "image/gif": self = .gif
        case "image/heic", "image/heif": self = .heif
        default: return nil
        }
    }
}
