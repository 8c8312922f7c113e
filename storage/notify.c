/*
** notify.c: the writer's notify fd, an eventfd that tells an event loop a
** commit (or the failure) happened, so it can acknowledge durable work
** without ever waiting on the writer.
**
** The writer adds 1 after each commit (and on failure) while it still holds
** the lock under which it published the new durable ticket (or the error).
** So whoever reads store_writer_durable after draining sees at least the
** commit that woke it, and whoever has seen a commit through
** store_writer_durable, store_writer_wait or store_writer_error finds its
** signal already in the fd: a drain after that leaves nothing to arrive late
** for it.  One write(2) to an eventfd under the lock, once per commit, is
** cheap beside the commit.  The counter is only a doorbell: how many commits
** happened is not its business.
*/
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "errf.h"
#include "log.h"


int
store_notify_open(const char *path, char *err, size_t errlen)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (fd < 0)
        errf(err, errlen, "%s: cannot create the writer's notify fd: %s", path,
             strerror(errno));
    return fd;
}


void
store_notify_signal(int fd, const char *path)
{
    uint64_t one = 1;
    ssize_t n;

    do
        n = write(fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is full, so the fd is readable anyway. */
    if (n < 0 && errno != EAGAIN)
        tlog(TLOG_ERROR, "storage", "%s: signalling the notify fd: %s", path,
             strerror(errno));
}


int
store_writer_notify_fd(store_writer_t *w)
{
    return w->notify_fd;
}


void
store_writer_notify_drain(store_writer_t *w)
{
    uint64_t count;
    ssize_t n;

    /* One read takes the whole count (not EFD_SEMAPHORE); EAGAIN: empty. */
    do
        n = read(w->notify_fd, &count, sizeof count);
    while (n < 0 && errno == EINTR);
}
