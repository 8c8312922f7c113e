/*
** fuzz_util.h: what the harnesses share.
*/
#ifndef TRIM_FUZZ_UTIL_H
#define TRIM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
** Send the stderr FILE of the code under test (a loader's "FILE:LINE: ...;
** skipped") to /dev/null, once: libFuzzer and the sanitizers write to
** descriptor 2 themselves and still reach the terminal.
*/
void fuzz_quiet(void);

/*
** A file holding exactly data[0..size), for loaders that take a path: one
** memory file per process, rewritten on every call.  Returns its path
** ("/proc/self/fd/N"); aborts when it cannot be made.
*/
const char *fuzz_file(const uint8_t *data, size_t size);

/* data[0..size) as a NUL-terminated string in a buffer of exactly size + 1
** bytes (so ASan sees a read past the end); the caller frees it. */
char *fuzz_string(const uint8_t *data, size_t size);

#endif
