/*
** signals.c: stop flag for SIGINT and SIGTERM (see signals.h).
*/
#include "signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static atomic_int g_stop;
static atomic_int g_last;      /* the last signal caught */
static atomic_int g_hard_exit; /* the second signal ends the process */


static void
on_signal(int sig)
{
    static const char note[] =
        "\ntrim: second interrupt, exiting now (the audit store keeps every "
        "committed row)\n";

    atomic_store(&g_last, sig);
    if (atomic_fetch_add(&g_stop, 1) >= 1 && atomic_load(&g_hard_exit)) {
        /* Only async-signal-safe calls here.  SQLite's WAL discards a
        ** transaction cut short, so the store stays consistent. */
        ssize_t w = write(STDERR_FILENO, note, sizeof note - 1);
        (void)w;
        _exit(128 + sig);
    }
}


static atomic_int *
install(int hard_exit)
{
    struct sigaction sa;

    atomic_store(&g_hard_exit, hard_exit);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &g_stop;
}


atomic_int *
signals_stop_flag(void)
{
    return install(0);
}


atomic_int *
signals_interrupt_flag(void)
{
    return install(1);
}


int
signals_last(void)
{
    return atomic_load(&g_last);
}
