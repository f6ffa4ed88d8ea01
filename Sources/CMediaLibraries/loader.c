// Loads the heavy media libraries on first use (CMediaLibraries.h): one dlopen handle per library,
// one cached address per stub.
#include "loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *handles[MP_LIBRARY_COUNT];

// The library's handle, loaded if need be; NULL with the message in `error` when it cannot be.
static void *handle(mp_library library, char *error, size_t length) {
    void *loaded = __atomic_load_n(&handles[library], __ATOMIC_ACQUIRE);
    if (loaded) return loaded;
    pthread_mutex_lock(&lock);
    loaded = handles[library];
    if (!loaded) {
        // RTLD_NOW: everything bound here, once (in the parent that forks job children, not in
        // each child); RTLD_LOCAL: nothing of it is seen by later lookups outside its handle.
        loaded = dlopen(mp_library_sonames[library], RTLD_NOW | RTLD_LOCAL);
        if (loaded) __atomic_store_n(&handles[library], loaded, __ATOMIC_RELEASE);
        else if (error && length) snprintf(error, length, "cannot load %s: %s", mp_library_sonames[library], dlerror());
    }
    pthread_mutex_unlock(&lock);
    return loaded;
}

int mp_library_load(mp_library library, char *error, size_t length) {
    if ((unsigned)library >= MP_LIBRARY_COUNT) {
        if (error && length) snprintf(error, length, "no library %d", (int)library);
        return -1;
    }
    return handle(library, error, length) ? 0 : -1;
}

int mp_library_loaded(mp_library library) {
    return (unsigned)library < MP_LIBRARY_COUNT && __atomic_load_n(&handles[library], __ATOMIC_ACQUIRE) != NULL;
}

const char *mp_library_soname(mp_library library) {
    return (unsigned)library < MP_LIBRARY_COUNT ? mp_library_sonames[library] : "";
}

void *mp_library_symbol(mp_library library, const char *name, void **slot) {
    void *address = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (address) return address;
    char error[512] = "";
    void *loaded = handle(library, error, sizeof error);
    if (loaded) {
        dlerror();
        address = dlsym(loaded, name);
        if (!address) snprintf(error, sizeof error, "%s: %s", mp_library_sonames[library], dlerror());
    }
    if (!address) {
        // No way to go on: the caller expects the function. A job child's parent sees the abort.
        fprintf(stderr, "processor: %s\n", error);
        abort();
    }
    __atomic_store_n(slot, address, __ATOMIC_RELEASE);
    return address;
}

int mp_library_verify(char *error, size_t length) {
    int missing = 0;
    if (error && length) error[0] = 0;
    for (size_t i = 0; i < mp_library_function_count; i++) {
        mp_library library = mp_library_functions[i].library;
        char message[512] = "";
        void *loaded = handle(library, message, sizeof message);
        if (loaded) {
            dlerror();
            if (!dlsym(loaded, mp_library_functions[i].name)) snprintf(message, sizeof message, "%s: %s", mp_library_sonames[library], dlerror());
        }
        if (message[0]) {
            if (!missing && error && length) snprintf(error, length, "%s", message);
            missing++;
        }
    }
    return missing;
}
