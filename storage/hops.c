/*
** hops.c: where a run's time went, hop by hop and pool by pool, from the
** step rows' timings (schema v6 and v10, docs/audit-schema.md).
**
** Each hop is one query giving its values in order; the percentiles are
** nearest-rank (the value at rank ceil(q * n)), exact, read off the sorted
** stream.  SQLite sorts in bounded memory (spilling to temporary files), so
** a run of any size is summarised without holding its rows.  A hop counts
** only the rows where it happened: a PRM call where the row was scored
** (prm_us > 0), a routing decision where it was routed (route_us > 0).
*/
#include "store_internal.h"

#include <stdio.h>

#include "errf.h"

/* The run filter, substituted for %s: one run (?1), or every run. */
#define S_ONE_RUN  "p.run_id = ?1"
#define S_ANY_RUN  "?1 = 0"
#define S_STEPS_OF "FROM steps s JOIN problems p USING (problem_id) WHERE %s"

static const struct {
    const char *hop, *pool;
    const char *sql; /* the hop's values, in order; %s: the run filter */
} s_hops[STORE_HOPS] = {
    [STORE_HOP_QUEUE_SMALL] =
        {"queue wait", "small",
         "SELECT s.queue_us - s.prm_queue_us - s.route_queue_us " S_STEPS_OF
         " AND s.kind = 'draft' ORDER BY 1"},
    [STORE_HOP_QUEUE_LARGE] = {"queue wait", "large",
                               "SELECT s.queue_us " S_STEPS_OF
                               " AND s.kind = 'strong' ORDER BY 1"},
    [STORE_HOP_QUEUE_PRM] = {"queue wait", "prm",
                             "SELECT s.prm_queue_us " S_STEPS_OF
                             " AND s.prm_us > 0 ORDER BY 1"},
    [STORE_HOP_QUEUE_ROUTER] = {"queue wait", "router",
                                "SELECT s.route_queue_us " S_STEPS_OF
                                " AND s.route_us > 0 ORDER BY 1"},
    [STORE_HOP_DRAFT] = {"draft call", "small",
                         "SELECT s.latency_us " S_STEPS_OF
                         " AND s.kind = 'draft' ORDER BY 1"},
    [STORE_HOP_STRONG] = {"strong call", "large",
                          "SELECT s.latency_us " S_STEPS_OF
                          " AND s.kind = 'strong' ORDER BY 1"},
    [STORE_HOP_PRM] = {"PRM call", "prm",
                       "SELECT s.prm_us " S_STEPS_OF
                       " AND s.prm_us > 0 ORDER BY 1"},
    [STORE_HOP_ROUTE] = {"routing decision", "router",
                         "SELECT s.route_us " S_STEPS_OF
                         " AND s.route_us > 0 ORDER BY 1"},
    [STORE_HOP_OTHER] = {"other", "-",
                         "SELECT s.step_us - s.queue_us - s.latency_us"
                         " - s.prm_us - s.route_us " S_STEPS_OF
                         " AND s.step_us > 0 ORDER BY 1"},
    /* A step: its draft and the strong step that replaced it, if any;
    ** rows older than v10 have no step_us and are left out. */
    [STORE_HOP_STEP] = {"whole step", "-",
                        "SELECT sum(s.step_us) " S_STEPS_OF
                        " GROUP BY s.problem_id, s.step_index"
                        " HAVING sum(s.step_us) > 0 ORDER BY 1"},
    [STORE_HOP_PROBLEM] = {"whole problem", "-",
                           "SELECT (p.finished_ms - p.created_ms) * 1000"
                           " FROM problems p WHERE %s AND p.finished_ms > 0"
                           " ORDER BY 1"},
};


void
store_hop_label(store_hop_t h, const char **hop, const char **pool)
{
    *hop = s_hops[h].hop;
    *pool = s_hops[h].pool;
}


/* The nearest rank of share q among n values, from 1. */
static int64_t
s_rank(int64_t n, int q_percent)
{
    int64_t k = (n * q_percent + 99) / 100;
    return k < 1 ? 1 : k;
}


/* Fill *d from the ordered values of sql over run_id. */
static int
s_dist(store_reader_t *r, const char *sql, int64_t run_id, store_dist_t *d,
       char *err, size_t errlen)
{
    char text[512], count[600];
    sqlite3_stmt *st = NULL;
    int64_t i = 0, k50, k99;
    int rc;

    *d = (store_dist_t){0};
    snprintf(text, sizeof text, sql, run_id > 0 ? S_ONE_RUN : S_ANY_RUN);
    snprintf(count, sizeof count, "SELECT count(*) FROM (%s)", text);
    if (sqlite3_prepare_v2(r->db, count, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, run_id) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    d->n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (d->n == 0)
        return 0;
    k50 = s_rank(d->n, 50);
    k99 = s_rank(d->n, 99);
    if (sqlite3_prepare_v2(r->db, text, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, run_id) != SQLITE_OK)
        goto fail;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        if (++i == k50)
            d->p50 = v;
        if (i == k99)
            d->p99 = v;
        d->max = v;
        d->sum += v;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    return 0;
fail:
    store_conn_error(r->db, r->path, "reading timings", err, errlen);
    sqlite3_finalize(st);
    return -1;
}


int
store_hops(store_reader_t *r, int64_t run_id, store_dist_t out[STORE_HOPS],
           char *err, size_t errlen)
{
    int rc = 0;

    /* One snapshot for every hop, a live writer notwithstanding. */
    if (store_conn_exec(r->db, "BEGIN", r->path, "reading timings", err,
                        errlen) < 0)
        return -1;
    for (int h = 0; h < STORE_HOPS && rc == 0; h++)
        rc = s_dist(r, s_hops[h].sql, run_id, &out[h], err, errlen);
    sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}
