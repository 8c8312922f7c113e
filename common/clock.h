/*
** clock.h: monotonic and wall-clock time.
*/
#ifndef TRIM_CLOCK_H
#define TRIM_CLOCK_H

#include <stdint.h>

/* Microseconds on the monotonic clock (for intervals and deadlines). */
int64_t clock_now_us(void);

/* Milliseconds on the monotonic clock. */
int64_t clock_now_ms(void);

/* Milliseconds since the Unix epoch (for records people read). */
int64_t clock_wall_ms(void);

#endif
