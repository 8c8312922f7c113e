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

/*
** The same for a command a person runs and may interrupt (run, eval,
** train): the first signal sets the flag, and the command records what is
** finished and says so; the second ends the process at once with status
** 128 + the signal, leaving only committed transactions in SQLite files.
*/
atomic_int *signals_interrupt_flag(void);

/* The last signal caught (SIGINT, SIGTERM), or 0 when none was. */
int signals_last(void);

#endif
