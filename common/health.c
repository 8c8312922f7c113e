/*
** health.c: the health file's touches (see health.h).
*/
#include "health.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define TOUCH_EVERY_MS 1000


void
health_beat(health_t *h, uint64_t heard)
{
    int64_t now;
    int fd;

    if (h->path == NULL || *h->path == '\0' || heard == h->heard ||
        (now = clock_now_ms()) < h->next_ms)
        return;
    fd = open(h->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || futimens(fd, NULL) < 0) {
        if (!h->warned++)
            tlog(TLOG_WARN, h->name, "cannot touch health file %s: %s", h->path,
                 strerror(errno));
    } else {
        h->heard = heard;
    }
    if (fd >= 0)
        close(fd);
    h->next_ms = now + TOUCH_EVERY_MS;
}
