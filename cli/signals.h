/*
** signals.h: SIGINT and SIGTERM ask a long-running command to stop.
*/
#ifndef TRIM_SIGNALS_H
#define TRIM_SIGNALS_H

#include <stdatomic.h>

/*
** Install handlers for SIGINT and SIGTERM that count the signals in the
** returned flag, which the service loops poll: 1 asks for a graceful stop
** (a worker drains its calls in flight), 2 or more for a prompt one.  A
** signal handler can only reach static storage, so the flag is the one
** process-wide variable of the services.
*/
atomic_int *signals_stop_flag(void);

#endif
