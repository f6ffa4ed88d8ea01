// CMediaLibraries: libavformat, libavcodec, libavfilter, libswresample, libheif and libavif are
// loaded with dlopen when a job first calls one of their functions, not at every start of the
// processor. Loading them is most of a start-up (≈0.1 s of CPU and wall time, ≈150 shared objects
// mapped and relocated: measured with bench/startup.sh), and an image job — most jobs — uses none
// of them (it uses libavutil and libswscale, which stay linked).
// The processor is linked against none of these six: each function MediaPipeline calls is a stub
// here (stubs.c, written by generate.py) with the header's signature, which loads its library on
// first use and calls the real function. A library that cannot be loaded there ends the process
// with a message (the isolated child: its parent reports the crash); mp_library_load says so
// as an error instead, before a job starts.
#ifndef CMEDIALIBRARIES_H
#define CMEDIALIBRARIES_H

#include <stddef.h>

/// The lazily loaded libraries.
typedef enum {
    MP_LIBRARY_AVFORMAT,
    MP_LIBRARY_AVCODEC,
    MP_LIBRARY_AVFILTER,
    MP_LIBRARY_SWRESAMPLE,
    MP_LIBRARY_HEIF,
    MP_LIBRARY_AVIF,
    MP_LIBRARY_COUNT
} mp_library;

/// Loads `library` (and the libraries it needs) into this process now, if not done yet. Returns 0,
/// or -1 with the loader's message in `error` (`length` bytes).
int mp_library_load(mp_library library, char *error, size_t length);

/// Whether this process has loaded `library` through mp_library_load or a stub.
int mp_library_loaded(mp_library library);

/// Loads every library and looks up every function that has a stub (tests: the stubs and the
/// installed libraries agree). Returns how many could not be found; the first one's message is in
/// `error`.
int mp_library_verify(char *error, size_t length);

/// The library's file name (its soname, `libavcodec.so.59`).
const char *mp_library_soname(mp_library library);

#endif
