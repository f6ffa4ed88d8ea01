// libavif (Debian 12: 0.11.1, encoding with libaom 3.6). Used only to write the AVIF rendition from
// pixels the image pipeline made; the processor never decodes AVIF input (the sniffer refuses it).
#include <avif/avif.h>
