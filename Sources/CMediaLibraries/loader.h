// What stubs.c needs: the real headers (each stub is checked against its declaration), the
// resolver and the stubs' visibility (hidden: they serve this executable's own calls; the loaded
// libraries bind to each other, never to a stub).
#ifndef MP_LOADER_H
#define MP_LOADER_H

#include "CMediaLibraries.h"
#include "../CFFmpeg/shim.h"
#include "../CHeif/shim.h"
#include "../CAVIF/shim.h"

#define MP_STUB __attribute__((visibility("hidden")))

extern const char *const mp_library_sonames[MP_LIBRARY_COUNT];

/// Every function that has a stub, with its library (mp_library_verify).
struct mp_library_function {
    mp_library library;
    const char *name;
};
extern const struct mp_library_function mp_library_functions[];
extern const size_t mp_library_function_count;

/// The address of `name` in `library`, cached in `*slot`; loads the library first if need be.
/// Ends the process with a message on standard error when the library or the name is missing.
void *mp_library_symbol(mp_library library, const char *name, void **slot);

/// The address of `name` in `library`: after the first call, one load of the stub's own slot.
#define MP_RESOLVE(library, name)                                                    \
    ({                                                                               \
        static void *slot;                                                           \
        void *address = __atomic_load_n(&slot, __ATOMIC_ACQUIRE);                    \
        address ? address : mp_library_symbol(library, #name, &slot);                \
    })

#endif
