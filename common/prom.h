/*
** prom.h: Prometheus metrics: a registry of counters, gauges and histograms
** and the text exposition format (0.0.4) that /metrics serves.
**
** A process makes one registry, asks it for the series it updates (one per
** name and set of label values; asking again returns the same series), and
** updates them from any thread: a value is a C11 atomic, so the event loops
** never take a lock and the HTTP thread reads while they write.  Asking for a
** series takes the registry's mutex, so do it once (at start, or when a new
** label value first appears, e.g. a run's policy) and keep the pointer.
**
** Every update function accepts NULL and then does nothing, so code that
** runs with and without a registry (trim run, the tests) needs no checks.
**
** Names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in
** _total; units in the name (_seconds, _rows, _ratio).  A bad name, a name
** reused with another type, help or label names, or a histogram's buckets
** not increasing are programming errors: TRIM_ASSERT aborts.
*/
#ifndef TRIM_PROM_H
#define TRIM_PROM_H

#include <stddef.h>
#include <stdint.h>

typedef struct prom_registry prom_registry_t;
typedef struct prom_counter prom_counter_t;
typedef struct prom_gauge prom_gauge_t;
typedef struct prom_histogram prom_histogram_t;

/* A new, empty registry, or NULL when out of memory. */
prom_registry_t *prom_registry_new(void);

/* Free the registry and every series in it (NULL-safe); clears *r.  No
** thread may update a series or serve the registry any more. */
void prom_registry_destroy(prom_registry_t **r);

/*
** The series of family `name` with these label values, made on first use.
** labels is NULL (no labels) or {"name1", "value1", "name2", "value2", NULL};
** the strings are copied.  Every series of a family has the same label names
** in the same order.  help is the family's one-line description (copied).
** Returns NULL when r is NULL or memory runs out (updates of NULL are
** no-ops); aborts on a programming error (see above).
*/
prom_counter_t *prom_counter(prom_registry_t *r, const char *name,
                             const char *help, const char *const *labels);
prom_gauge_t *prom_gauge(prom_registry_t *r, const char *name, const char *help,
                         const char *const *labels);

/*
** As prom_counter, for a histogram with nbounds upper bounds, strictly
** increasing, finite (the +Inf bucket is implied).  bounds NULL: the
** default latency buckets (prom_latency_buckets).
*/
prom_histogram_t *prom_histogram(prom_registry_t *r, const char *name,
                                 const char *help, const char *const *labels,
                                 const double *bounds, size_t nbounds);

/* Latency buckets in seconds, 100 us to 60 s: the default of prom_histogram. */
extern const double prom_latency_buckets[];
extern const size_t prom_latency_nbuckets;

/*
** A label whose values a client chooses (a run's policy spec) would make a
** series per value without end.  prom_label_value passes the first
** PROM_LABEL_VALUES distinct values through and maps every later one to
** "other" (also when memory runs out).  One set per label; not thread-safe
** (the loop that makes the series owns it).  Zero-initialise; clear frees.
*/
#define PROM_LABEL_VALUES 32

typedef struct prom_label_values {
    char *seen[PROM_LABEL_VALUES];
    size_t n;
} prom_label_values_t;

/* value itself (borrowed, as given) or "other"; see above. */
const char *prom_label_value(prom_label_values_t *v, const char *value);

/* Forget the values seen and free them (NULL-safe). */
void prom_label_values_clear(prom_label_values_t *v);

/* Add n to a counter. */
void prom_counter_add(prom_counter_t *c, uint64_t n);

/*
** Set a counter to v: for a counter that mirrors a monotonic count kept
** elsewhere (a loop's stats), published now and then.  v must never go down.
*/
void prom_counter_set(prom_counter_t *c, uint64_t v);

/* A counter's value (0 for NULL). */
uint64_t prom_counter_value(const prom_counter_t *c);

/* Set, add to, and read a gauge (NAN allowed; read of NULL: 0). */
void prom_gauge_set(prom_gauge_t *g, double v);
void prom_gauge_add(prom_gauge_t *g, double d);
double prom_gauge_value(const prom_gauge_t *g);

/* Count one observation v (e.g. seconds) in its bucket and the sum. */
void prom_histogram_observe(prom_histogram_t *h, double v);

/* Observations made so far (0 for NULL). */
uint64_t prom_histogram_count(const prom_histogram_t *h);

/*
** The series every trim process exports: trim_build_info{version,role} 1 and
** trim_process_start_time_seconds (now, Unix time).  No-op for NULL r.
*/
void prom_register_process(prom_registry_t *r, const char *role);

/*
** The registry in the text exposition format 0.0.4: families in the order
** they were first registered, each with its HELP and TYPE lines once, then
** its series in the order they were made.  Returns a malloc'd NUL-terminated
** string (the caller frees it) with its length in *len, or NULL when out of
** memory.
*/
char *prom_render(prom_registry_t *r, size_t *len);

#endif
