#include "CMediaShims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

// libjpeg's error handler jumps back here instead of calling exit().
typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
} trap_error_mgr;

static void trap_error_exit(j_common_ptr cinfo) {
    trap_error_mgr *trap = (trap_error_mgr *)cinfo->err;
    if (trap->message) {
        (*cinfo->err->format_message)(cinfo, trap->message);
    }
    longjmp(trap->jump, 1);
}

// Damage that libjpeg steps over is a warning, as in djpeg, libvips, Pillow and every browser:
// extraneous bytes before a marker are skipped, a truncated tail is filled with grey (jpeg_mem_src
// supplies an EOI), a broken restart interval resynchronises. Three cases stay errors:
// - the data ends before the first row of blocks of the first scan: there is no picture;
// - more than MP_MAX_WARNINGS warnings: a file built to make the decoder resynchronise for ever;
// - (every libjpeg *error* still ends in trap_error_exit).
#define MP_MAX_WARNINGS 1000

static void trap_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    cinfo->err->num_warnings++;
    trap_error_mgr *trap = (trap_error_mgr *)cinfo->err;
    if (cinfo->err->num_warnings > MP_MAX_WARNINGS) {
        if (trap->message) snprintf(trap->message, MP_ERROR_LENGTH, "more than %d damaged places", MP_MAX_WARNINGS);
        longjmp(trap->jump, 1);
    }
    if (cinfo->err->msg_code == JWRN_JPEG_EOF && cinfo->is_decompressor) {
        j_decompress_ptr d = (j_decompress_ptr)cinfo;
        if (d->input_scan_number <= 1 && d->input_iMCU_row == 0) {
            if (trap->message) snprintf(trap->message, MP_ERROR_LENGTH, "the data ends before the first row of the picture");
            longjmp(trap->jump, 1);
        }
    }
}

// A progressive JPEG can carry thousands of scans, each a pass over the whole image; real encoders
// write about ten. Refuse more than this many.
#define MP_MAX_SCANS 256

static void trap_progress(j_common_ptr cinfo) {
    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > MP_MAX_SCANS) {
        trap_error_mgr *trap = (trap_error_mgr *)cinfo->err;
        if (trap->message) snprintf(trap->message, MP_ERROR_LENGTH, "more than %d progressive scans", MP_MAX_SCANS);
        longjmp(trap->jump, 1);
    }
}

static void trap_install(struct jpeg_decompress_struct *cinfo, trap_error_mgr *trap, char *error) {
    cinfo->err = jpeg_std_error(&trap->base);
    trap->base.error_exit = trap_error_exit;
    trap->base.emit_message = trap_emit_message;
    trap->message = error;
    if (error) error[0] = 0;
}

int mp_jpeg_read_info(const uint8_t *data, size_t size, mp_jpeg_info *info, char *error) {
    struct jpeg_decompress_struct cinfo;
    trap_error_mgr trap;
    memset(info, 0, sizeof(*info));
    trap_install(&cinfo, &trap, error);
    if (setjmp(trap.jump)) {
        jpeg_destroy_decompress(&cinfo);
        if (info->icc) { free(info->icc); info->icc = NULL; }
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);  // ICC_PROFILE
    jpeg_read_header(&cinfo, TRUE);
    info->width = (int)cinfo.image_width;
    info->height = (int)cinfo.image_height;
    info->components = cinfo.num_components;
    info->is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    info->progressive = cinfo.progressive_mode;
    JOCTET *icc = NULL;
    unsigned int icc_length = 0;
    if (jpeg_read_icc_profile(&cinfo, &icc, &icc_length)) {
        info->icc = icc;
        info->icc_length = icc_length;
    }
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

void mp_jpeg_scaled_size(int width, int height, int denom, int *out_width, int *out_height) {
    *out_width = (width + denom - 1) / denom;
    *out_height = (height + denom - 1) / denom;
}

int mp_jpeg_decode_rgb(const uint8_t *data, size_t size, int denom, uint8_t *rgb, int out_width, int out_height,
                       const volatile int *cancel, char *error) {
    struct jpeg_decompress_struct cinfo;
    trap_error_mgr trap;
    JSAMPLE *cmyk_row = NULL;
    trap_install(&cinfo, &trap, error);
    if (setjmp(trap.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(cmyk_row);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    struct jpeg_progress_mgr progress = { .progress_monitor = trap_progress };
    cinfo.progress = &progress;
    jpeg_read_header(&cinfo, TRUE);
    int is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = is_cmyk ? JCS_CMYK : JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned int)denom;
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&cinfo);
    if ((int)cinfo.output_width != out_width || (int)cinfo.output_height != out_height) {
        if (error) snprintf(error, MP_ERROR_LENGTH, "unexpected scaled size %ux%u", cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    size_t stride = (size_t)out_width * 3;
    if (is_cmyk) {
        cmyk_row = malloc((size_t)out_width * 4);
        if (!cmyk_row) { jpeg_destroy_decompress(&cinfo); return -1; }
    }
    int inverted = is_cmyk && cinfo.saw_Adobe_marker;  // Adobe (Photoshop) CMYK is stored inverted
    while (cinfo.output_scanline < cinfo.output_height) {
        if (cancel && *cancel) {
            jpeg_destroy_decompress(&cinfo);
            free(cmyk_row);
            return 1;
        }
        uint8_t *row = rgb + stride * cinfo.output_scanline;
        if (is_cmyk) {
            JSAMPROW rows[1] = { cmyk_row };
            jpeg_read_scanlines(&cinfo, rows, 1);
            for (int x = 0; x < out_width; x++) {
                int c = cmyk_row[4 * x], m = cmyk_row[4 * x + 1], y = cmyk_row[4 * x + 2], k = cmyk_row[4 * x + 3];
                if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
                row[3 * x] = (uint8_t)((c * k + 127) / 255);
                row[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
                row[3 * x + 2] = (uint8_t)((y * k + 127) / 255);
            }
        } else {
            JSAMPROW rows[1] = { row };
            jpeg_read_scanlines(&cinfo, rows, 1);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    return 0;
}

int mp_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, int progressive,
                   uint8_t **out, unsigned long *out_length, char *error) {
    struct jpeg_compress_struct cinfo;
    trap_error_mgr trap;
    unsigned char *buffer = NULL;
    unsigned long length = 0;
    uint8_t *row_rgb = NULL;
    cinfo.err = jpeg_std_error(&trap.base);
    trap.base.error_exit = trap_error_exit;
    trap.message = error;
    if (error) error[0] = 0;
    if (setjmp(trap.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        free(row_rgb);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &length);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (progressive) jpeg_simple_progression(&cinfo);
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    if (channels == 4) {
        row_rgb = malloc((size_t)width * 3);
        if (!row_rgb) { jpeg_destroy_compress(&cinfo); free(buffer); return -1; }
    }
    while (cinfo.next_scanline < cinfo.image_height) {
        const uint8_t *source = pixels + (size_t)cinfo.next_scanline * (size_t)width * (size_t)channels;
        JSAMPROW rows[1];
        if (channels == 4) {
            for (int x = 0; x < width; x++) {
                row_rgb[3 * x] = source[4 * x];
                row_rgb[3 * x + 1] = source[4 * x + 1];
                row_rgb[3 * x + 2] = source[4 * x + 2];
            }
            rows[0] = row_rgb;
        } else {
            rows[0] = (JSAMPROW)source;
        }
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row_rgb);
    *out = buffer;
    *out_length = length;
    return 0;
}

int mp_jpeg_lib_version(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    return LIBJPEG_TURBO_VERSION_NUMBER;
#else
    return JPEG_LIB_VERSION;
#endif
}

void mp_free(void *pointer) { free(pointer); }
