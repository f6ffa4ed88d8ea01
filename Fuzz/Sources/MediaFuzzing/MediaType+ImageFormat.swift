import MediaKit
import MediaTypes

extension MediaType {
    /// The MediaKit decoder for an image type (what the processor passes to `ImagePipeline.process`).
    var imageFormat: ImageFormat? { ImageFormat(mime: mime) }
}
