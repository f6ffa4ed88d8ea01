#include "CMediaShims.h"

#include <string.h>
#include <libexif/exif-data.h>
#include <lcms2.h>

int mp_exif_orientation(const uint8_t *data, size_t size) {
    ExifData *exif = exif_data_new_from_data(data, (unsigned int)size);
    if (!exif) return 1;
    int orientation = 1;
    ExifEntry *entry = exif_content_get_entry(exif->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (entry && entry->format == EXIF_FORMAT_SHORT && entry->components >= 1 && entry->data) {
        int value = exif_get_short(entry->data, exif_data_get_byte_order(exif));
        if (value >= 1 && value <= 8) orientation = value;
    }
    exif_data_unref(exif);
    return orientation;
}

int mp_icc_to_srgb(const uint8_t *icc, unsigned int icc_length, uint8_t *pixels, size_t pixel_count, int channels) {
    cmsHPROFILE source = cmsOpenProfileFromMem(icc, icc_length);
    if (!source) return -1;
    if (cmsGetColorSpace(source) != cmsSigRgbData) {
        cmsCloseProfile(source);
        return 1;
    }
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsUInt32Number format = channels == 4 ? TYPE_RGBA_8 : TYPE_RGB_8;
    // Alpha (an extra channel) is copied through unchanged.
    cmsHTRANSFORM transform = cmsCreateTransform(source, format, srgb, format, INTENT_PERCEPTUAL,
                                                 channels == 4 ? cmsFLAGS_COPY_ALPHA : 0);
    cmsCloseProfile(source);
    cmsCloseProfile(srgb);
    if (!transform) return -1;
    // In place, in slices so the cmsUInt32Number pixel count never overflows.
    const size_t slice = 1 << 20;
    for (size_t done = 0; done < pixel_count; done += slice) {
        size_t n = pixel_count - done < slice ? pixel_count - done : slice;
        uint8_t *start = pixels + done * (size_t)channels;
        cmsDoTransform(transform, start, start, (cmsUInt32Number)n);
    }
    cmsDeleteTransform(transform);
    return 0;
}

void mp_icc_description(const uint8_t *icc, unsigned int icc_length, char *out, int out_length) {
    if (out_length <= 0) return;
    out[0] = 0;
    cmsHPROFILE profile = cmsOpenProfileFromMem(icc, icc_length);
    if (!profile) return;
    cmsGetProfileInfoASCII(profile, cmsInfoDescription, "en", "US", out, (cmsUInt32Number)out_length);
    cmsCloseProfile(profile);
}

/// An ASCII entry's text (up to its first NUL, at most `length` - 1 bytes), or "".
static void mp_exif_ascii(ExifContent *ifd, ExifTag tag, char *out, size_t length) {
    out[0] = 0;
    ExifEntry *entry = ifd ? exif_content_get_entry(ifd, tag) : NULL;
    if (!entry || entry->format != EXIF_FORMAT_ASCII || !entry->data || entry->size == 0) return;
    size_t n = entry->size < length - 1 ? entry->size : length - 1;
    memcpy(out, entry->data, n);
    out[n] = 0;
}

int mp_exif_read_facts(const uint8_t *data, size_t size, mp_exif_facts *facts) {
    memset(facts, 0, sizeof *facts);
    facts->orientation = 1;
    ExifData *exif = exif_data_new();
    if (!exif) return 0;
    // As stored: no tags dropped, none added or "fixed" (the spec-following fix-up fills in missing
    // mandatory tags, a DateTimeOriginal among them, with today's date).
    exif_data_unset_option(exif, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
    exif_data_unset_option(exif, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(exif, data, (unsigned int)size);
    ExifByteOrder order = exif_data_get_byte_order(exif);
    int found = 0;
    for (int i = 0; i < EXIF_IFD_COUNT; i++) {
        if (exif->ifd[i] && exif->ifd[i]->count > 0) found = 1;
    }
    ExifEntry *entry = exif_content_get_entry(exif->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (entry && entry->format == EXIF_FORMAT_SHORT && entry->components >= 1 && entry->data && entry->size >= 2) {
        int value = exif_get_short(entry->data, order);
        if (value >= 1 && value <= 8) facts->orientation = value;
    }
    mp_exif_ascii(exif->ifd[EXIF_IFD_0], EXIF_TAG_MAKE, facts->make, sizeof facts->make);
    mp_exif_ascii(exif->ifd[EXIF_IFD_0], EXIF_TAG_MODEL, facts->model, sizeof facts->model);
    mp_exif_ascii(exif->ifd[EXIF_IFD_EXIF], EXIF_TAG_DATE_TIME_ORIGINAL, facts->date_time_original, sizeof facts->date_time_original);
    mp_exif_ascii(exif->ifd[EXIF_IFD_EXIF], EXIF_TAG_OFFSET_TIME_ORIGINAL, facts->offset_time_original, sizeof facts->offset_time_original);
    facts->has_gps = exif->ifd[EXIF_IFD_GPS] && exif->ifd[EXIF_IFD_GPS]->count > 0;
    exif_data_unref(exif);
    return found;
}
