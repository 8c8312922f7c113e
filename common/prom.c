/*
** prom.c: the metrics registry and its text exposition (see prom.h).
**
** A registry is a list of families (name, help, type, label names), each a
** list of series.  Lists only grow, under the registry's mutex; values are
** atomics updated without it.  A histogram keeps one count per bucket (not
** cumulative) and its sum; the writer accumulates the buckets and prints
** their total as _count, so +Inf and _count always agree even when an
** observation lands between two reads.
*/
#include "prom.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "trim_assert.h"

typedef enum { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM } prom_type_t;

struct prom_counter {
    _Atomic uint64_t v;
};

struct prom_gauge {
    _Atomic double v;
};

struct prom_histogram {
    size_t nbounds;
    const double *bounds;    /* the family's */
    _Atomic uint64_t *count; /* nbounds + 1: the last is +Inf */
    _Atomic double sum;
};

typedef struct series {
    struct series *next;
    char *labels; /* rendered: `a="x",b="y"`, or "" */
    union {
        prom_counter_t c;
        prom_gauge_t g;
        prom_histogram_t h;
    } m;
} series_t;

typedef struct family {
    struct family *next;
    char *name, *help, *label_names; /* label names joined by ',' */
    prom_type_t type;
    double *bounds; /* histograms */
    size_t nbounds;
    series_t *series, **tail;
} family_t;

struct prom_registry {
    pthread_mutex_t mu;
    family_t *families, **tail;
};

const double prom_latency_buckets[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
const size_t prom_latency_nbuckets =
    sizeof prom_latency_buckets / sizeof *prom_latency_buckets;


prom_registry_t *
prom_registry_new(void)
{
    prom_registry_t *r = calloc(1, sizeof *r);

    if (r == NULL)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->tail = &r->families;
    return r;
}


void
prom_registry_destroy(prom_registry_t **rp)
{
    prom_registry_t *r = rp ? *rp : NULL;

    if (r == NULL)
        return;
    for (family_t *f = r->families, *fn; f != NULL; f = fn) {
        fn = f->next;
        for (series_t *s = f->series, *sn; s != NULL; s = sn) {
            sn = s->next;
            if (f->type == PROM_HISTOGRAM)
                free(s->m.h.count);
            free(s->labels);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f->label_names);
        free(f->bounds);
        free(f);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
    *rp = NULL;
}


static int
valid_name(const char *s, int label)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || (*s == ':' && !label)))
            return 0;
    return 1;
}


/* Write s to f with the exposition format's escapes: backslash and newline,
** and the double quote when quote (label values; HELP leaves it). */
static void
put_escaped(FILE *f, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (*s == '"' && quote)
            fputs("\\\"", f);
        else
            fputc(*s, f);
    }
}


/* A value as Prometheus reads it: NaN, +Inf, -Inf, or the shortest %g
** that reads back as the same double. */
static void
put_double(FILE *f, double v)
{
    char buf[32];

    if (isnan(v)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "+Inf" : "-Inf", f);
        return;
    }
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, f);
}


/*
** Render labels {"a","x",...,NULL} as `a="x",...` into a malloc'd string
** and their names as `a,...` into *names.  NULL when out of memory.
*/
static char *
render_labels(const char *const *labels, char **names)
{
    char *out = NULL, *nm = NULL;
    size_t outlen, nmlen;
    FILE *f = open_memstream(&out, &outlen);
    FILE *g = f ? open_memstream(&nm, &nmlen) : NULL;
    int bad;

    if (g == NULL) {
        if (f)
            fclose(f);
        free(out);
        return NULL;
    }
    for (size_t i = 0; labels && labels[i]; i += 2) {
        TRIM_ASSERT(valid_name(labels[i], 1) && labels[i + 1] != NULL);
        TRIM_ASSERT(strncmp(labels[i], "__", 2) != 0);
        fprintf(f, "%s%s=\"", i ? "," : "", labels[i]);
        put_escaped(f, labels[i + 1], 1);
        fputc('"', f);
        fprintf(g, "%s%s", i ? "," : "", labels[i]);
    }
    bad = fclose(f) != 0;
    bad |= fclose(g) != 0;
    if (bad) {
        free(out);
        free(nm);
        return NULL;
    }
    *names = nm;
    return out;
}


/* The family called name, made if new; NULL when out of memory.  Holds mu. */
static family_t *
family_get(prom_registry_t *r, const char *name, const char *help,
           prom_type_t type, const char *label_names, const double *bounds,
           size_t nbounds)
{
    family_t *f;

    for (f = r->families; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0) {
            TRIM_ASSERT(f->type == type && strcmp(f->help, help) == 0);
            TRIM_ASSERT(strcmp(f->label_names, label_names) == 0);
            TRIM_ASSERT(
                f->nbounds == nbounds &&
                (nbounds == 0 ||
                 memcmp(f->bounds, bounds, nbounds * sizeof *bounds) == 0));
            return f;
        }
    TRIM_ASSERT(valid_name(name, 0));
    if ((f = calloc(1, sizeof *f)) == NULL)
        return NULL;
    f->type = type;
    f->name = strdup(name);
    f->help = strdup(help);
    f->label_names = strdup(label_names);
    f->nbounds = nbounds;
    f->bounds = nbounds ? malloc(nbounds * sizeof *bounds) : NULL;
    f->tail = &f->series;
    if (f->name == NULL || f->help == NULL || f->label_names == NULL ||
        (nbounds && f->bounds == NULL)) {
        free(f->name);
        free(f->help);
        free(f->label_names);
        free(f->bounds);
        free(f);
        return NULL;
    }
    if (nbounds)
        memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
    *r->tail = f;
    r->tail = &f->next;
    return f;
}


/* The series of a family with these labels, made if new; NULL when out of
** memory or r is NULL. */
static series_t *
series_get(prom_registry_t *r, const char *name, const char *help,
           prom_type_t type, const char *const *labels, const double *bounds,
           size_t nbounds)
{
    char *names = NULL, *rendered;
    family_t *f;
    series_t *s = NULL;

    if (r == NULL)
        return NULL;
    TRIM_ASSERT(help != NULL);
    if ((rendered = render_labels(labels, &names)) == NULL)
        return NULL;
    pthread_mutex_lock(&r->mu);
    f = family_get(r, name, help, type, names, bounds, nbounds);
    for (s = f ? f->series : NULL; s != NULL; s = s->next)
        if (strcmp(s->labels, rendered) == 0)
            goto done;
    if (f == NULL || (s = calloc(1, sizeof *s)) == NULL)
        goto done;
    if (type == PROM_HISTOGRAM) {
        s->m.h.nbounds = nbounds;
        s->m.h.bounds = f->bounds;
        s->m.h.count = calloc(nbounds + 1, sizeof *s->m.h.count);
        if (s->m.h.count == NULL) {
            free(s);
            s = NULL;
            goto done;
        }
    }
    s->labels = rendered;
    rendered = NULL;
    *f->tail = s;
    f->tail = &s->next;
done:
    pthread_mutex_unlock(&r->mu);
    free(rendered);
    free(names);
    return s;
}


const char *
prom_label_value(prom_label_values_t *v, const char *value)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->seen[i], value) == 0)
            return value;
    if (v->n == PROM_LABEL_VALUES || (v->seen[v->n] = strdup(value)) == NULL)
        return "other";
    v->n++;
    return value;
}


void
prom_label_values_clear(prom_label_values_t *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->seen[i]);
    v->n = 0;
}


prom_counter_t *
prom_counter(prom_registry_t *r, const char *name, const char *help,
             const char *const *labels)
{
    size_t n = strlen(name);
    series_t *s;

    TRIM_ASSERT(n > 6 && strcmp(name + n - 6, "_total") == 0);
    s = series_get(r, name, help, PROM_COUNTER, labels, NULL, 0);
    return s ? &s->m.c : NULL;
}


prom_gauge_t *
prom_gauge(prom_registry_t *r, const char *name, const char *help,
           const char *const *labels)
{
    series_t *s = series_get(r, name, help, PROM_GAUGE, labels, NULL, 0);

    return s ? &s->m.g : NULL;
}


prom_histogram_t *
prom_histogram(prom_registry_t *r, const char *name, const char *help,
               const char *const *labels, const double *bounds, size_t nbounds)
{
    series_t *s;

    if (bounds == NULL) {
        bounds = prom_latency_buckets;
        nbounds = prom_latency_nbuckets;
    }
    for (size_t i = 0; i < nbounds; i++)
        TRIM_ASSERT(isfinite(bounds[i]) &&
                    (i == 0 || bounds[i - 1] < bounds[i]));
    if (labels)
        for (size_t i = 0; labels[i]; i += 2)
            TRIM_ASSERT(strcmp(labels[i], "le") != 0);
    s = series_get(r, name, help, PROM_HISTOGRAM, labels, bounds, nbounds);
    return s ? &s->m.h : NULL;
}


void
prom_counter_add(prom_counter_t *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}


void
prom_counter_set(prom_counter_t *c, uint64_t v)
{
    if (c)
        atomic_store_explicit(&c->v, v, memory_order_relaxed);
}


uint64_t
prom_counter_value(const prom_counter_t *c)
{
    return c ? atomic_load_explicit(&c->v, memory_order_relaxed) : 0;
}


void
prom_gauge_set(prom_gauge_t *g, double v)
{
    if (g)
        atomic_store_explicit(&g->v, v, memory_order_relaxed);
}


/* old + d into *a, by compare-and-swap (C11 has no atomic add of doubles). */
static void
add_double(_Atomic double *a, double d)
{
    double old = atomic_load_explicit(a, memory_order_relaxed);

    while (!atomic_compare_exchange_weak_explicit(
        a, &old, old + d, memory_order_relaxed, memory_order_relaxed))
        ;
}


void
prom_gauge_add(prom_gauge_t *g, double d)
{
    if (g)
        add_double(&g->v, d);
}


double
prom_gauge_value(const prom_gauge_t *g)
{
    return g ? atomic_load_explicit(&((prom_gauge_t *)g)->v,
                                    memory_order_relaxed)
             : 0;
}


void
prom_histogram_observe(prom_histogram_t *h, double v)
{
    size_t lo = 0, hi;

    if (h == NULL)
        return;
    /* the first bucket whose bound is >= v (le is inclusive); NaN: +Inf */
    hi = h->nbounds;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v <= h->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->count[lo], 1, memory_order_relaxed);
    add_double(&h->sum, v);
}


uint64_t
prom_histogram_count(const prom_histogram_t *h)
{
    uint64_t n = 0;

    for (size_t i = 0; h && i <= h->nbounds; i++)
        n += atomic_load_explicit(&h->count[i], memory_order_relaxed);
    return n;
}


void
prom_register_process(prom_registry_t *r, const char *role)
{
    const char *info[] = {"version", TRIM_VERSION, "role", role, NULL};

    prom_gauge_set(prom_gauge(r, "trim_build_info",
                              "trim's version and this process's role", info),
                   1);
    prom_gauge_set(prom_gauge(r, "trim_process_start_time_seconds",
                              "Start time of the process since the Unix "
                              "epoch, in seconds",
                              NULL),
                   (double)clock_wall_ms() / 1000.0);
}


/* name{labels} or name{labels,le="..."}: a sample's name and labels. */
static void
put_sample_name(FILE *f, const char *name, const char *suffix,
                const char *labels, const double *le)
{
    fprintf(f, "%s%s", name, suffix);
    if (*labels == '\0' && le == NULL)
        return;
    fprintf(f, "{%s", labels);
    if (le) {
        fputs(*labels ? ",le=\"" : "le=\"", f);
        put_double(f, *le);
        fputc('"', f);
    }
    fputc('}', f);
}


static void
put_histogram(FILE *f, const char *name, const series_t *s)
{
    const prom_histogram_t *h = &s->m.h;
    uint64_t cum = 0;
    double inf = INFINITY;

    for (size_t i = 0; i <= h->nbounds; i++) {
        cum += atomic_load_explicit(&h->count[i], memory_order_relaxed);
        put_sample_name(f, name, "_bucket", s->labels,
                        i < h->nbounds ? &h->bounds[i] : &inf);
        fprintf(f, " %llu\n", (unsigned long long)cum);
    }
    put_sample_name(f, name, "_sum", s->labels, NULL);
    fputc(' ', f);
    put_double(f, atomic_load_explicit(&((prom_histogram_t *)h)->sum,
                                       memory_order_relaxed));
    fputc('\n', f);
    put_sample_name(f, name, "_count", s->labels, NULL);
    fprintf(f, " %llu\n", (unsigned long long)cum);
}


char *
prom_render(prom_registry_t *r, size_t *len)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    char *out = NULL;
    FILE *f = open_memstream(&out, len);

    if (f == NULL)
        return NULL;
    pthread_mutex_lock(&r->mu);
    for (const family_t *fam = r->families; fam != NULL; fam = fam->next) {
        fprintf(f, "# HELP %s ", fam->name);
        put_escaped(f, fam->help, 0);
        fprintf(f, "\n# TYPE %s %s\n", fam->name, types[fam->type]);
        for (const series_t *s = fam->series; s != NULL; s = s->next) {
            if (fam->type == PROM_HISTOGRAM) {
                put_histogram(f, fam->name, s);
                continue;
            }
            put_sample_name(f, fam->name, "", s->labels, NULL);
            fputc(' ', f);
            if (fam->type == PROM_COUNTER)
                fprintf(f, "%llu",
                        (unsigned long long)prom_counter_value(&s->m.c));
            else
                put_double(f, prom_gauge_value(&s->m.g));
            fputc('\n', f);
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (ferror(f)) {
        fclose(f);
        free(out);
        return NULL;
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
