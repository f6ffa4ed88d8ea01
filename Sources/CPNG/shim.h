#include <png.h>

// The simplified API's format constants are macro expressions; give Swift plain values.
static const png_uint_32 CPNG_FORMAT_RGBA = PNG_FORMAT_RGBA;
static const png_uint_32 CPNG_FORMAT_RGB = PNG_FORMAT_RGB;
static const png_uint_32 CPNG_IMAGE_VERSION = PNG_IMAGE_VERSION;
static inline int cpng_image_failed(png_imagep image) { return PNG_IMAGE_FAILED(*image); }
