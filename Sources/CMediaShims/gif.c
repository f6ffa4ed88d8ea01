#include "CMediaShims.h"

#include <string.h>

static int read_memory(GifFileType *gif, GifByteType *buffer, int length) {
    mp_gif_source *source = (mp_gif_source *)gif->UserData;
    size_t left = source->size - source->offset;
    size_t n = (size_t)length < left ? (size_t)length : left;
    memcpy(buffer, source->data + source->offset, n);
    source->offset += n;
    return (int)n;
}

GifFileType *mp_gif_open(mp_gif_source *source, int *error) {
    source->offset = 0;
    return DGifOpen(source, read_memory, error);
}

int mp_gif_scan(GifFileType *gif, int *frames, long long *frame_pixels) {
    GifRecordType type;
    *frames = 0;
    *frame_pixels = 0;
    do {
        if (DGifGetRecordType(gif, &type) == GIF_ERROR) return gif->Error;
        switch (type) {
        case IMAGE_DESC_RECORD_TYPE: {
            if (DGifGetImageDesc(gif) == GIF_ERROR) return gif->Error;
            *frames += 1;
            *frame_pixels += (long long)gif->Image.Width * (long long)gif->Image.Height;
            // Skip the compressed data block by block: nothing is decoded.
            int code_size;
            GifByteType *block;
            if (DGifGetCode(gif, &code_size, &block) == GIF_ERROR) return gif->Error;
            while (block != NULL) {
                if (DGifGetCodeNext(gif, &block) == GIF_ERROR) return gif->Error;
            }
            break;
        }
        case EXTENSION_RECORD_TYPE: {
            int ext_code;
            GifByteType *ext;
            if (DGifGetExtension(gif, &ext_code, &ext) == GIF_ERROR) return gif->Error;
            while (ext != NULL) {
                if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR) return gif->Error;
            }
            break;
        }
        default:
            break;
        }
    } while (type != TERMINATE_RECORD_TYPE);
    return 0;
}
