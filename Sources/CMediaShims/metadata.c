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
