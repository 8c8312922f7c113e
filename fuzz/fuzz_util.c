/*
** fuzz_util.c: the harnesses' shared helpers (see fuzz_util.h).
*/
#define _GNU_SOURCE /* memfd_create */
#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>


void
fuzz_quiet(void)
{
    static int done;
    FILE *null;

    if (done)
        return;
    done = 1;
    if ((null = fopen("/dev/null", "w")) != NULL)
        stderr = null;
}


const char *
fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];

    if (fd < 0) {
        if ((fd = memfd_create("trim-fuzz", 0)) < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 ||
        (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    return path;
}


char *
fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
