/*
** signals.c: stop flag for SIGINT and SIGTERM (see signals.h).
*/
#include "signals.h"

#include <signal.h>
#include <string.h>

static atomic_int g_stop;


static void
on_signal(int sig)
{
    (void)sig;
    atomic_fetch_add(&g_stop, 1);
}


atomic_int *
signals_stop_flag(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &g_stop;
}
