// CMediaShims: the C that Swift cannot express for MediaKit.
// - libjpeg reports errors with longjmp, which must never cross Swift frames: every libjpeg call
//   sequence runs inside one C function here with its own setjmp trap, returning 0 or an error
//   text in `error` (JMSG_LENGTH_MAX bytes).
// - libexif's entry lookup and lcms2's pixel-type constants are macros.
#ifndef CMEDIASHIMS_H
#define CMEDIASHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <gif_lib.h>

#define MP_ERROR_LENGTH 200

/// What a JPEG header says, read without decoding any pixels.
typedef struct {
    int width;
    int height;
    int components;      // 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK
    int is_cmyk;         // CMYK or YCCK: converted to RGB on decode
    int progressive;
    uint8_t *icc;        // embedded ICC profile (malloc'd; free with mp_free) or NULL
    unsigned int icc_length;
} mp_jpeg_info;

/// Reads the header (and the ICC profile markers). Returns 0, or -1 with `error` set.
int mp_jpeg_read_info(const uint8_t *data, size_t size, mp_jpeg_info *info, char *error);

/// The size a decode at 1/denom produces (denom 1, 2, 4 or 8).
void mp_jpeg_scaled_size(int width, int height, int denom, int *out_width, int *out_height);

/// Decodes to 8-bit RGB at 1/denom of the size into `rgb` (out_width × out_height × 3 bytes, as
/// given by mp_jpeg_scaled_size). CMYK/YCCK is converted to RGB. `cancel` (may be NULL) is polled
/// between scanlines. Returns 0, 1 when cancelled, or -1 with `error` set.
int mp_jpeg_decode_rgb(const uint8_t *data, size_t size, int denom, uint8_t *rgb, int out_width, int out_height,
                       const volatile int *cancel, char *error);

/// Encodes 8-bit RGB (channels 3) or RGBA (channels 4, alpha dropped) as a JPEG. `*out` is
/// malloc'd (free with mp_free). Returns 0, or -1 with `error` set.
int mp_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, int progressive,
                   uint8_t **out, unsigned long *out_length, char *error);

/// The EXIF orientation (1…8) in JPEG data or a raw EXIF block; 1 when absent or invalid.
int mp_exif_orientation(const uint8_t *data, size_t size);

/// What an image's EXIF says that the status document reports (GPS only as "present": its values
/// are never read). Texts are NUL-terminated, "" when absent.
typedef struct {
    int orientation;                 // 1…8, 1 when absent or invalid
    int has_gps;                     // the GPS IFD has entries
    char make[64];
    char model[64];
    char date_time_original[32];     // "YYYY:MM:DD HH:MM:SS"
    char offset_time_original[16];   // "+02:00"
} mp_exif_facts;

/// Reads `facts` from JPEG data (APP1) or a raw EXIF block ("Exif\0\0" + TIFF). Returns 1 when the
/// data held EXIF, 0 when not (facts then hold the defaults).
int mp_exif_read_facts(const uint8_t *data, size_t size, mp_exif_facts *facts);

/// Converts pixels (RGB or RGBA, 8-bit, in place) from the given ICC profile to sRGB.
/// Returns 0, 1 when the profile is not an RGB profile (nothing done), -1 when it is unusable.
int mp_icc_to_srgb(const uint8_t *icc, unsigned int icc_length, uint8_t *pixels, size_t pixel_count, int channels);

/// The description of an ICC profile (e.g. "Display P3") into `out`, or an empty string.
void mp_icc_description(const uint8_t *icc, unsigned int icc_length, char *out, int out_length);

/// libjpeg-turbo's version as a number (e.g. 2001005 for 2.1.5), from the header it was built with.
int mp_jpeg_lib_version(void);

/// giflib reading from memory: `source` must stay valid while the GifFileType is open.
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
} mp_gif_source;

/// Opens a GIF held in memory (giflib's DGifOpen with a memory reader). NULL with *error set on failure.
GifFileType *mp_gif_open(mp_gif_source *source, int *error);

/// Walks the GIF's records without decoding pixels: frame count, and the sum of frame areas.
/// Returns 0, or a giflib error code.
int mp_gif_scan(GifFileType *gif, int *frames, long long *frame_pixels);

/// Frees memory these functions returned.
void mp_free(void *pointer);

/// prctl(PR_SET_NO_NEW_PRIVS): this process and its children can never gain privileges (setuid,
/// file capabilities). 0 on success. (Swift's Glibc module does not export prctl.)
int mp_set_no_new_privs(void);

/// The fork server behind crash isolation (zygote.c): a job is the callback run in a fresh child,
/// with the request line's payload (`length` bytes, NUL-terminated where the newline was). If the
/// callback returns, the child exits with status 0.
typedef void (*mp_fork_server_job)(const char *payload, size_t length);
/// Serves requests from `sock` until it closes: one forked child per line, its pid, exit status or
/// signal written back (see zygote.c). Before each fork, `prepare` (may be NULL) gets the same
/// payload in the server itself (it loads the libraries the job needs, once for all its children).
/// Dies with `parent`. Returns an errno on failure, 0 on EOF.
int mp_fork_server(int sock, pid_t parent, mp_fork_server_job prepare, mp_fork_server_job job);
/// In a child of the fork server: tells the parent its outcome is written ("<id> done 0"). 0 on success.
int mp_fork_server_done(void);
/// For a single-threaded process that forks its job children itself (`processor process`): fork()
/// with the child set up as the fork server's are (default crash signals, dies with its parent).
/// The first call blocks SIGCHLD in this process (children get the mask as it was before).
pid_t mp_fork_job(void);
/// Waits up to `timeout_ms` (-1: for ever) for a child of mp_fork_job to end: 1 with its pid and
/// exit status (-1 if signalled) or signal (0 if it exited), 0 on timeout, -1 on error (errno;
/// ECHILD: no children). SIGCHLD must be blocked (mp_fork_job does it).
int mp_wait_job(int timeout_ms, pid_t *pid, int *exit_status, int *signal_number);
/// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC).
int mp_socketpair(int fds[2]);
/// Threads of this process (/proc/self/status), -1 if unknown.
int mp_thread_count(void);

#endif
