/*
** bench_storage.c: audit rows per second through the store's writer, beside a
** raw batched SQLite insert of the same rows into the same schema.
**
**   bench_storage [--rows N] [--dir DIR] [--flush-every K]
**
** Each round writes N step rows into a fresh database file: once through the
** writer (put every row, then wait for the last), once through one prepared
** INSERT committed every 1000 rows on a connection with the writer's pragmas
** (WAL, synchronous=NORMAL, foreign_keys=ON, wal_autocheckpoint=10000).  Rounds
** alternate, three of each; the medians and their ratio are printed.  Nothing
** is asserted.
**
** The producer's side is timed too: the first PUT_SAMPLE puts of a writer
** round, which never wait for room (the default queue holds 100,000 rows), so
** their ns/row is the cost of store_writer_put_step itself while the writer
** thread drains the queue beside it.
**
** --flush-every K calls store_writer_flush after every K-th put, as a
** coordinator acknowledging submissions does: the writer then commits as soon
** as it has written the flushed rows, so transactions get smaller.
**
** The rows look like a run's: 1000 problems in flight, each getting its next
** step in turn (so keys do not arrive in order), ~120 bytes of step text and
** every column filled.  The problems the steps refer to are written before
** the clock starts.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "store.h"

#define ROUNDS     3
#define IN_FLIGHT  1000 /* problems written round-robin */
#define PER_PROB   10   /* step rows per problem */
#define POOL       1024 /* distinct step texts */
#define RAW_BATCH  1000 /* rows per transaction in the raw insert */
#define TEXT_BYTES 128
#define PUT_SAMPLE 50000 /* puts timed on their own: fewer than the queue */

typedef struct {
    long rows;
    long flush_every; /* 0: never flush */
    const char *dir;
    char texts[POOL][TEXT_BYTES];
} bench_t;

/* One writer round: rows per second end to end, ns per put. */
typedef struct {
    double rate;
    double put_ns;
} writer_round_t;


static void
make_texts(bench_t *b)
{
    for (int i = 0; i < POOL; i++) {
        int a = 17 + i % 83, k = 2 + i % 7, c = i % 29;
        snprintf(b->texts[i], TEXT_BYTES,
                 "Step %d: the basket holds %d apples; multiplying by %d "
                 "gives %d, and removing the %d the goat ate leaves %d.",
                 i % 30, a, k, a * k, c, a * k - c);
    }
}


/*
** Row i of the run: problem and step follow the in-flight round robin; every
** fifth row of a problem is a strong regeneration of the draft before it.
*/
static store_step_t
make_row(const bench_t *b, long i)
{
    long group = i / (IN_FLIGHT * PER_PROB), j = i % (IN_FLIGHT * PER_PROB);
    int round = (int)(j / IN_FLIGHT);
    int strong = round % 5 == 4;
    store_step_t s;

    memset(&s, 0, sizeof s);
    s.problem_id = group * IN_FLIGHT + j % IN_FLIGHT + 1;
    s.step_index = strong ? round - 1 : round;
    s.kind = strong ? STORE_STRONG : STORE_DRAFT;
    s.attempt = 1;
    s.text = b->texts[i % POOL];
    s.prompt_tokens = 180 + 40 * round;
    s.completion_tokens = 30 + (int)(i % 50);
    s.finish = round == PER_PROB - 1;
    s.prm_score = (double)(i % 1000) / 1000.0;
    s.min_prev_score = 0.5;
    s.prod_prev_score = 0.25;
    s.prm_tokens = 220 + 40 * round;
    s.decision = strong ? STORE_NO_DECISION : STORE_KEEP;
    s.policy = strong ? "strong" : "thr:0.5";
    s.reason = "score 0.734 >= threshold 0.500";
    s.action_prob = 0.97;
    s.belief = "{\"S0\":0.91,\"S1\":0.04,\"S2\":0.05}";
    s.decided_by = "router:r1";
    s.accepted = 1;
    s.latency_us = 1500 + i % 700;
    s.worker = strong ? "large-1" : "small-3";
    s.created_ms = 1700000000000 + i;
    return s;
}


static long
problems_for(long rows)
{
    long groups = (rows + IN_FLIGHT * PER_PROB - 1) / (IN_FLIGHT * PER_PROB);
    return groups * IN_FLIGHT;
}


static int
exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_storage: %s: %s\n", sql, msg);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}


/*
** A connection with the pragmas of the writer's connection (storage/conn.c),
** so the ratio measures the writer's queue and thread, not a setting.
*/
static sqlite3 *
open_raw(const char *path)
{
    sqlite3 *db = NULL;

    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "bench_storage: %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    if (exec(db,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
             "PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=10000") < 0) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}


/* A migrated file with the run and the problems the steps refer to. */
static int
prepare_db(const bench_t *b, const char *path)
{
    char err[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;

    store_remove(path);
    if (store_migrate(path, err, sizeof err) < 0) {
        fprintf(stderr, "bench_storage: %s\n", err);
        return -1;
    }
    if ((db = open_raw(path)) == NULL)
        return -1;
    if (exec(db, "BEGIN; INSERT INTO runs (run_id, policy, seed, config,"
                 " started_ms) VALUES (1, 'thr:0.5', 7, '{}', 0)") < 0 ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO problems (problem_id, run_id, source,"
                           " text, status, correct, steps, regenerated_steps,"
                           " weak_tokens, strong_tokens, discarded_tokens,"
                           " prm_tokens, created_ms) VALUES (?1, 1, 'bench',"
                           " 'problem text', 'running', -1, 0, 0, 0, 0, 0, 0,"
                           " 0)",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    for (long p = 1; p <= problems_for(b->rows); p++) {
        sqlite3_bind_int64(st, 1, p);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto done;
        sqlite3_reset(st);
    }
    if (exec(db, "COMMIT") < 0)
        goto done;
    rc = 0;
done:
    if (rc < 0)
        fprintf(stderr, "bench_storage: preparing %s: %s\n", path,
                sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}


/*
** Rows per second through the writer, and ns per put over the first
** PUT_SAMPLE puts.  Returns 0, or -1.
*/
static int
run_writer(const bench_t *b, const char *path, writer_round_t *out)
{
    char err[512];
    store_writer_t *w;
    long sample = b->rows < PUT_SAMPLE ? b->rows : PUT_SAMPLE;
    int64_t t0, tp = 0, t1;
    int rc = -1;

    if (prepare_db(b, path) < 0)
        return -1;
    w = store_writer_new(path, NULL, err, sizeof err);
    if (w == NULL) {
        fprintf(stderr, "bench_storage: %s\n", err);
        return -1;
    }
    t0 = clock_now_us();
    for (long i = 0; i < b->rows; i++) {
        store_step_t s = make_row(b, i);
        if (store_writer_put_step(w, &s) < 0)
            goto done;
        if (b->flush_every > 0 && (i + 1) % b->flush_every == 0)
            store_writer_flush(w);
        if (i + 1 == sample)
            tp = clock_now_us();
    }
    if (store_writer_wait(w, 0) < 0)
        goto done;
    t1 = clock_now_us();
    out->rate = (double)b->rows * 1e6 / (double)(t1 - t0);
    out->put_ns = (double)(tp - t0) * 1e3 / (double)sample;
    rc = 0;
done:
    if (rc < 0)
        fprintf(stderr, "bench_storage: writer: %s\n", store_writer_error(w));
    store_writer_destroy(&w);
    store_remove(path);
    return rc;
}


static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
             : sqlite3_bind_null(st, i);
}


static int
insert_raw(sqlite3_stmt *st, const store_step_t *s)
{
    static const char *const kinds[] = {"draft", "strong"};

    sqlite3_bind_int64(st, 1, s->problem_id);
    sqlite3_bind_int(st, 2, s->step_index);
    sqlite3_bind_text(st, 3, kinds[s->kind], -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, s->attempt);
    bind_text(st, 5, s->text);
    sqlite3_bind_int(st, 6, s->prompt_tokens);
    sqlite3_bind_int(st, 7, s->completion_tokens);
    sqlite3_bind_int(st, 8, s->finish);
    sqlite3_bind_double(st, 9, s->prm_score);
    sqlite3_bind_double(st, 10, s->min_prev_score);
    sqlite3_bind_double(st, 11, s->prod_prev_score);
    sqlite3_bind_int(st, 12, s->prm_tokens);
    bind_text(st, 13, s->decision == STORE_KEEP ? "keep" : NULL);
    bind_text(st, 14, s->policy);
    bind_text(st, 15, s->reason);
    sqlite3_bind_double(st, 16, s->action_prob);
    bind_text(st, 17, s->belief);
    bind_text(st, 18, s->decided_by);
    sqlite3_bind_int(st, 19, s->accepted);
    sqlite3_bind_int64(st, 20, s->latency_us);
    bind_text(st, 21, s->worker);
    sqlite3_bind_int64(st, 22, s->created_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        return -1;
    sqlite3_reset(st);
    return 0;
}


/* Rows per second through one prepared INSERT, or -1. */
static double
run_raw(const bench_t *b, const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t t0, t1;
    double rate = -1;

    if (prepare_db(b, path) < 0 || (db = open_raw(path)) == NULL)
        goto done;
    if (sqlite3_prepare_v2(
            db,
            "INSERT INTO steps (problem_id, step_index, kind, attempt, text,"
            " prompt_tokens, completion_tokens, finish, prm_score,"
            " min_prev_score, prod_prev_score, prm_tokens, decision, policy,"
            " reason, action_prob, belief, decided_by, accepted, latency_us,"
            " worker, created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
            "?,?,?,?)",
            -1, &st, NULL) != SQLITE_OK)
        goto done;
    t0 = clock_now_us();
    if (exec(db, "BEGIN") < 0)
        goto done;
    for (long i = 0; i < b->rows; i++) {
        store_step_t s = make_row(b, i);
        if (insert_raw(st, &s) < 0)
            goto done;
        if ((i + 1) % RAW_BATCH == 0 &&
            (exec(db, "COMMIT") < 0 || exec(db, "BEGIN") < 0))
            goto done;
    }
    if (exec(db, "COMMIT") < 0)
        goto done;
    t1 = clock_now_us();
    rate = (double)b->rows * 1e6 / (double)(t1 - t0);
done:
    if (rate < 0 && db != NULL)
        fprintf(stderr, "bench_storage: raw: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    store_remove(path);
    return rate;
}


static double
median3(const double *x)
{
    double a = x[0], b = x[1], c = x[2];

    if ((a <= b && b <= c) || (c <= b && b <= a))
        return b;
    if ((b <= a && a <= c) || (c <= a && a <= b))
        return a;
    return c;
}


static int
parse_args(bench_t *b, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--rows") == 0 ||
             strcmp(argv[i], "--flush-every") == 0) &&
            i + 1 < argc) {
            long *to = argv[i][2] == 'r' ? &b->rows : &b->flush_every;
            const char *flag = argv[i];
            char *end;
            *to = strtol(argv[++i], &end, 10);
            if (*end != '\0' || *to <= 0) {
                fprintf(stderr,
                        "bench_storage: %s wants a positive "
                        "count, not %s\n",
                        flag, argv[i]);
                return -1;
            }
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            b->dir = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_storage [--rows N] [--dir DIR] "
                            "[--flush-every K]\n");
            return -1;
        }
    }
    return 0;
}


int
main(int argc, char **argv)
{
    static bench_t b; /* the text pool is large for a stack */
    double writer[ROUNDS], put_ns[ROUNDS], raw[ROUNDS], mw, mr;
    writer_round_t wr;
    char wpath[512], rpath[512];

    b.rows = 500000;
    b.dir = "/tmp";
    if (parse_args(&b, argc, argv) < 0)
        return 2;
    make_texts(&b);
    snprintf(wpath, sizeof wpath, "%s/bench-storage-%d-writer.db", b.dir,
             (int)getpid());
    snprintf(rpath, sizeof rpath, "%s/bench-storage-%d-raw.db", b.dir,
             (int)getpid());

    printf("bench_storage: %ld step rows per round, files in %s, SQLite %s\n",
           b.rows, b.dir, sqlite3_libversion());
    if (b.flush_every > 0)
        printf("  writer rounds flush after every %ld puts\n", b.flush_every);
    for (int r = 0; r < ROUNDS; r++) {
        if (run_writer(&b, wpath, &wr) < 0)
            return 1;
        writer[r] = wr.rate;
        put_ns[r] = wr.put_ns;
        raw[r] = run_raw(&b, rpath);
        if (raw[r] < 0)
            return 1;
        printf("  round %d: writer %10.0f rows/s   raw %10.0f rows/s   "
               "put %6.1f ns/row\n",
               r + 1, writer[r], raw[r], put_ns[r]);
    }
    mw = median3(writer);
    mr = median3(raw);
    printf("median: writer %.0f rows/s, raw batched insert %.0f rows/s, "
           "writer/raw %.2f\n",
           mw, mr, mw / mr);
    printf("median put: %.1f ns/row (first %ld puts of a writer round)\n",
           median3(put_ns), b.rows < PUT_SAMPLE ? b.rows : (long)PUT_SAMPLE);
    return 0;
}
