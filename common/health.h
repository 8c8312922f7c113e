/*
** health.h: a file whose age tells a healthcheck that a service is alive.
**
** A worker or router given --health-file PATH calls health_beat on every
** loop turn with the number of messages its peer has heard from the
** coordinator (peer_stats()->heard, heartbeats included).  When that number
** grew since the last touch, the file's modification time is set to now (at
** most once a second), so a container's healthcheck can test the file's
** age: a service that is wedged, cut off, or never admitted (the
** coordinator heartbeats only peers it knows) stops touching it.
*/
#ifndef TRIM_HEALTH_H
#define TRIM_HEALTH_H

#include <stdint.h>

typedef struct health {
    const char *path; /* NULL or "": no file, health_beat does nothing */
    const char *name; /* for the one WARN when the file cannot be written */
    uint64_t heard;   /* the count at the last touch */
    int64_t next_ms;  /* no touch before this (monotonic ms) */
    int warned;
} health_t;

/* Touch h->path when heard has grown since the last touch; see above. */
void health_beat(health_t *h, uint64_t heard);

#endif
