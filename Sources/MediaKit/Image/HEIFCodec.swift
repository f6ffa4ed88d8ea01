internal import CHeif

/// HEIC/HEIF (iPhone photos) through libheif, which applies the container's rotation and mirroring.
enum HEIFCodec {
    static var canDecode: Bool { heif_have_decoder_for_format(heif_compression_HEVC) != 0 }

    private static func withPrimaryImage<R>(_ data: [UInt8], _ body: (OpaquePointer) throws(MediaError) -> R) throws(MediaError) -> R {
        guard canDecode else { throw MediaError(.unsupported, "HEIC/HEIF: this build of libheif has no HEVC decoder") }
        guard let context = heif_context_alloc() else { throw MediaError(.internal, "libheif context") }
        defer { heif_context_free(context) }
        let read = data.withUnsafeBytes { heif_context_read_from_memory(context, $0.baseAddress, $0.count, nil) }
        guard read.code == heif_error_Ok else { throw MediaError(.corrupt, "HEIF: \(String(cString: read.message))") }
        var handle: OpaquePointer?
        let primary = heif_context_get_primary_image_handle(context, &handle)
        guard primary.code == heif_error_Ok, let handle else { throw MediaError(.corrupt, "HEIF: \(String(cString: primary.message))") }
        defer { heif_image_handle_release(handle) }
        // Once the file is read, libheif's own size limit (its default is 32768 a side) becomes the
        // primary image's declared size (`ispe`, which the caller checks against the limits). A
        // decode checks it against the output size of a grid or overlay (refusing a side >= it),
        // which need not match `ispe`: mutated 1 KB files whose grid says 26,988 pixels a side made
        // libheif allocate 2 GB and write past it.
        let side = max(heif_image_handle_get_ispe_width(handle), heif_image_handle_get_ispe_height(handle))
        heif_context_set_maximum_image_size_limit(context, max(side, 0) &+ 1)
        return try body(handle)
    }

    /// The displayed size (after rotation), from the header.
    static func header(_ data: [UInt8]) throws(MediaError) -> (width: Int, height: Int, icc: [UInt8]?) {
        try withPrimaryImage(data) { handle throws(MediaError) in
            let size = heif_image_handle_get_raw_color_profile_size(handle)
            var icc: [UInt8]?
            if size > 0 {
                var bytes = [UInt8](repeating: 0, count: size)
                if heif_image_handle_get_raw_color_profile(handle, &bytes).code == heif_error_Ok { icc = bytes }
            }
            return (Int(heif_image_handle_get_width(handle)), Int(heif_image_handle_get_height(handle)), icc)
        }
    }

    /// The primary image. The items it is made of are checked first (`HEIFItemGraph`), and nothing
    /// libheif assembles may be larger than the primary image declares.
    static func decode(_ data: [UInt8]) throws(MediaError) -> Pixels {
        try HEIFItemGraph.check(data)
        return try withPrimaryImage(data) { handle throws(MediaError) in
            let alpha = heif_image_handle_has_alpha_channel(handle) != 0
            var image: OpaquePointer?
            let decoded = heif_decode_image(handle, &image, heif_colorspace_RGB, alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, nil)
            guard decoded.code == heif_error_Ok, let image else { throw MediaError(.corrupt, "HEIF: \(String(cString: decoded.message))") }
            defer { heif_image_release(image) }
            let width = Int(heif_image_get_width(image, heif_channel_interleaved))
            let height = Int(heif_image_get_height(image, heif_channel_interleaved))
            // The limits were checked against the header (`ispe`), but the picture's size comes from
            // the HEVC stream: a 1.4 KB file whose header says 48×36 decodes to 48×6144 (found by
            // FuzzHEIF). Only a picture of the size the header declared goes further.
            let declared = (Int(heif_image_handle_get_width(handle)), Int(heif_image_handle_get_height(handle)))
            guard width > 0, height > 0, width == declared.0, height == declared.1 else {
                throw MediaError(.corrupt, "HEIF: the coded picture is \(width)×\(height) but the header declares \(declared.0)×\(declared.1)")
            }
            var stride: Int32 = 0
            guard let plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride) else {
                throw MediaError(.corrupt, "HEIF: no pixel plane")
            }
            let channels = alpha ? 4 : 3
            var pixels = Pixels(width: width, height: height, channels: channels)
            pixels.bytes.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    let row = plane + y * Int(stride)
                    for x in 0..<(width * channels) { out[y * width * channels + x] = row[x] }
                }
            }
            return pixels
        }
    }

    /// The primary image's luma bit depth and its EXIF block (the `Exif` item, past its 4-byte offset
    /// to the TIFF header), for the status document's facts.
    static func metadata(_ data: [UInt8]) throws(MediaError) -> (bitDepth: Int, exif: [UInt8]?) {
        try withPrimaryImage(data) { handle in
            let depth = Int(heif_image_handle_get_luma_bits_per_pixel(handle))
            var id = heif_item_id()
            guard heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &id, 1) == 1 else { return (depth, nil) }
            let size = heif_image_handle_get_metadata_size(handle, id)
            guard size > 4 else { return (depth, nil) }
            var block = [UInt8](repeating: 0, count: size)
            guard heif_image_handle_get_metadata(handle, id, &block).code == heif_error_Ok else { return (depth, nil) }
            let skip = 4 + (Int(block[0]) << 24 | Int(block[1]) << 16 | Int(block[2]) << 8 | Int(block[3]))
            guard skip < block.count else { return (depth, nil) }
            return (depth, Array(block[skip...]))
        }
    }

    static var version: String { MediaLibrary.heif.version(loaded: { String(cString: heif_get_version()) }, headers: LIBHEIF_VERSION) }
}
