/*
** store_internal.h: declarations shared by the files of storage/ and by
** nothing else.
**
** conn.c opens connections with the pragmas every connection needs;
** schema.c holds the migrations; rows.c maps records to and from SQL rows;
** queue.c holds the rows waiting for the writer; writer.c and writer_loop.c
** are the writer and notify.c its notify fd; reader.c answers read queries.
*/
#ifndef TRIM_STORE_INTERNAL_H
#define TRIM_STORE_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"
#include "store_testing.h" /* store_migrate_to (schema.c) */

#define STORE_BUSY_MS          5000       /* busy_timeout on every connection */
#define STORE_APP_ID           0x5452494d /* PRAGMA application_id: "TRIM" */
#define STORE_CHECKPOINT_PAGES "10000"    /* WAL pages between checkpoints */
#define STORE_WRITE_CACHE_KIB  "65536" /* page cache of the write connection */

/*
** Pragmas of write connections, after journal_mode and synchronous.  The
** larger page cache keeps the steps key index in memory: with many problems
** in flight its inserts land all over the index, and the default 2 MiB cache
** sent most of them to pread.
*/
#define STORE_WRITE_PRAGMAS                                                    \
    "PRAGMA foreign_keys=ON;"                                                  \
    "PRAGMA cache_size=-" STORE_WRITE_CACHE_KIB ";"                            \
    "PRAGMA wal_autocheckpoint=" STORE_CHECKPOINT_PAGES

/*
** Column lists, in the order rows.c binds and reads them.  The writer's
** INSERT statements and the readers' SELECTs are built from these, so the two
** sides cannot disagree about positions.
*/
#define STORE_RUN_COLUMNS                                                      \
    "run_id, policy, seed, config, started_ms, finished_ms, explore, "         \
    "max_strong_tokens, target_share"

#define STORE_PROBLEM_COLUMNS                                                  \
    "problem_id, run_id, source, text, ground_truth, status, final_answer, "   \
    "correct, steps, regenerated_steps, weak_tokens, strong_tokens, "          \
    "discarded_tokens, prm_tokens, error, created_ms, finished_ms, seed, "     \
    "key_id"

/*
** The problems a restarted coordinator resumes.  Part of schema v2: the
** partial index problems_unfinished is declared with this WHERE and the
** reader's query uses it verbatim (SQLite matches a partial index by the
** terms of its WHERE), so it cannot change without a new migration.
*/
#define STORE_UNFINISHED_WHERE "status IN ('queued', 'running')"

#define STORE_STEP_COLUMNS                                                     \
    "problem_id, step_index, kind, attempt, text, prompt_tokens, "             \
    "completion_tokens, finish, prm_score, min_prev_score, prod_prev_score, "  \
    "prm_tokens, decision, policy, reason, action_prob, belief, decided_by, "  \
    "accepted, latency_us, worker, created_ms, prm_padded, queue_us, prm_us, " \
    "route_us, speculative, prm_queue_us, route_queue_us, step_us, "           \
    "cached_tokens, prm_cached_tokens"

/* ---- conn.c -------------------------------------------------------------- */

typedef enum {
    STORE_CONN_READ = 0, /* read-only; the file must exist */
    STORE_CONN_WRITE = 1 /* read-write, created if missing, WAL, foreign keys */
} store_conn_mode_t;

/*
** Open a connection to path with the pragmas of its mode: busy_timeout and
** synchronous=NORMAL always; journal_mode=WAL and foreign_keys=ON for
** writers.  The connection must be used by one thread at a time.  Returns the
** handle (close with sqlite3_close), or NULL with a reason naming path in
** err.
*/
sqlite3 *store_conn_open(const char *path, store_conn_mode_t mode, char *err,
                         size_t errlen);

/*
** The columns of a step row's usage (store_usage_t's order; usage.c).  The
** cached parts are the counts the servers reported (v11) where a row has
** them, else the rule: the window functions give each row the prompt of the
** previous call of its kind, the previous PRM input and the previous
** accepted row's prompt within its problem.  'draft' < 'strong', so the key
** order is draft before strong, as the calls were made.  One definition in
** SQL for the per-step statements and run totals; store_usage_add (usage.c)
** is the same in C for the writer's callers.
*/
#define STORE_USAGE_COLUMNS                                                    \
    "problem_id, step_index, kind = 'strong' AS strong, accepted,"             \
    " prompt_tokens, completion_tokens,"                                       \
    " coalesce(cached_tokens, min(prompt_tokens, coalesce(lag(prompt_tokens)"  \
    "   OVER (PARTITION BY problem_id, kind ORDER BY step_index), 0)))"        \
    "   AS prompt_cached,"                                                     \
    " prm_tokens,"                                                             \
    " CASE WHEN prm_tokens > 0 THEN coalesce(prm_cached_tokens,"               \
    "   min(prm_tokens, coalesce(lag(prm_tokens) OVER (PARTITION BY"           \
    "   problem_id, prm_tokens > 0 ORDER BY step_index, kind), 0)))"           \
    "   ELSE 0 END AS prm_cached,"                                             \
    " CASE WHEN accepted THEN min(prompt_tokens, coalesce(lag(prompt_tokens)"  \
    "   OVER (PARTITION BY problem_id, accepted ORDER BY step_index, kind),"   \
    "   0)) ELSE 0 END AS solution_cached "

/*
** STORE_USAGE_COLUMNS as the v7 migration read it, the rule alone (the
** steps had no reported counts before v11).  A migration never changes, so
** this text does not either.
*/
#define STORE_USAGE_COLUMNS_V7                                                 \
    "problem_id, step_index, kind = 'strong' AS strong, accepted,"             \
    " prompt_tokens, completion_tokens,"                                       \
    " min(prompt_tokens, coalesce(lag(prompt_tokens) OVER"                     \
    "   (PARTITION BY problem_id, kind ORDER BY step_index), 0))"              \
    "   AS prompt_cached,"                                                     \
    " prm_tokens,"                                                             \
    " CASE WHEN prm_tokens > 0 THEN min(prm_tokens, coalesce(lag(prm_tokens)"  \
    "   OVER (PARTITION BY problem_id, prm_tokens > 0"                         \
    "         ORDER BY step_index, kind), 0)) ELSE 0 END AS prm_cached,"       \
    " CASE WHEN accepted THEN min(prompt_tokens, coalesce(lag(prompt_tokens)"  \
    "   OVER (PARTITION BY problem_id, accepted ORDER BY step_index, kind),"   \
    "   0)) ELSE 0 END AS solution_cached "

/*
** problem_usage's columns after problem_id (store_usage_total_t's order),
** as sums over rows of STORE_USAGE_COLUMNS grouped by problem_id.
*/
#define STORE_USAGE_TOTALS                                                     \
    " sum(CASE WHEN strong THEN 0 ELSE prompt_tokens END),"                    \
    " sum(CASE WHEN strong THEN prompt_tokens ELSE 0 END),"                    \
    " sum(CASE WHEN strong THEN 0 ELSE prompt_cached END),"                    \
    " sum(CASE WHEN strong THEN prompt_cached ELSE 0 END),"                    \
    " sum(CASE WHEN strong THEN 0 ELSE completion_tokens END),"                \
    " sum(CASE WHEN strong THEN completion_tokens ELSE 0 END),"                \
    " sum(prm_tokens), sum(prm_cached),"                                       \
    " sum(CASE WHEN accepted THEN prompt_tokens ELSE 0 END),"                  \
    " sum(solution_cached),"                                                   \
    " sum(CASE WHEN accepted THEN completion_tokens ELSE 0 END) "

#define STORE_USAGE_TOTAL_NAMES                                                \
    "draft_input, strong_input, draft_cached, strong_cached, draft_output,"    \
    " strong_output, prm_input, prm_cached, solution_input,"                   \
    " solution_cached, solution_output"

/*
** The writer's statement for problem_usage: the totals its caller kept
** (store_writer_put_usage).  Reading them back from the steps, by a window
** query or a walk per problem, cost bench_pipeline a third of its routed
** steps/s.
*/
#define STORE_USAGE_PUT_SQL                                                    \
    "INSERT OR REPLACE INTO problem_usage "                                    \
    "(problem_id, " STORE_USAGE_TOTAL_NAMES                                    \
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"                            \
    " ?10, ?11, ?12)"

/*
** Read PRAGMA user_version into *version and refuse what this build cannot
** read: a file that is not SQLite, or a schema newer than
** STORE_SCHEMA_VERSION.  Returns 0, or -1 with a reason naming path in err.
*/
int store_conn_version(sqlite3 *db, const char *path, int *version, char *err,
                       size_t errlen);

/*
** Run sql (one or more statements, no results).  Returns 0, or -1 with
** "path: what: sqlite message" in err.
*/
int store_conn_exec(sqlite3 *db, const char *sql, const char *path,
                    const char *what, char *err, size_t errlen);

/* Write "path: what: sqlite message" for the last error on db into err. */
void store_conn_error(sqlite3 *db, const char *path, const char *what,
                      char *err, size_t errlen);

/* ---- rows.c -------------------------------------------------------------- */

/* The kinds of record; also the index of the writer's INSERT statements. */
typedef enum {
    STORE_REC_RUN,
    STORE_REC_PROBLEM,
    STORE_REC_STEP,
    STORE_REC_USAGE, /* a store_usage_row_t */
    STORE_REC_WASTED /* a store_step_t: an unused speculative draft */
} store_rec_type_t;

#define STORE_REC_TYPES 5

/* A problem's usage totals (store_writer_put_usage). */
typedef struct store_usage_row {
    int64_t problem_id;
    store_usage_total_t t;
} store_usage_row_t;

/*
** Where a record's strings are: the size of its struct and the byte offsets
** of its const char * fields.  Queuing, copying and keeping a record's
** strings walk this instead of naming each field again.
*/
typedef struct store_rec_layout {
    size_t size;
    const size_t *strings;
    size_t n_strings;
} store_rec_layout_t;

/* The layout of records of this type. */
const store_rec_layout_t *store_rec_layout(store_rec_type_t type);

/* The string field at byte offset off of the record at rec. */
static inline const char **
store_rec_string(void *rec, size_t off)
{
    return (const char **)((char *)rec + off);
}


/*
** Bind a record to the parameters of st, an INSERT over the matching
** column list.  Strings are bound SQLITE_STATIC: they must outlive the
** statement's next reset.  NAN doubles and NULL strings bind as NULL.
** Returns SQLITE_OK, or non-zero if a bind failed (the message is on the
** connection).
*/
int store_bind_run(sqlite3_stmt *st, const store_run_t *run);
int store_bind_problem(sqlite3_stmt *st, const store_problem_t *p);
int store_bind_step(sqlite3_stmt *st, const store_step_t *s);
int store_bind_wasted(sqlite3_stmt *st, const store_step_t *s); /* v9 */

/*
** Fill a record from the current row of st (a SELECT of the matching column
** list, starting at column 0).  Strings point into st and stay valid until it
** is stepped, reset or finalized; NULL columns give NULL strings and NAN
** doubles.
*/
void store_read_run(sqlite3_stmt *st, store_run_t *run);
void store_read_problem(sqlite3_stmt *st, store_problem_t *p);
void store_read_step(sqlite3_stmt *st, store_step_t *s);

/*
** A step row followed by its problem's and run's context columns (the
** reader's STORE_Q_CONTEXT: run_id, the run's policy, source, status,
** correct), as store_read_step leaves them.
*/
void store_read_step_context(sqlite3_stmt *st, store_step_context_t *row);

/* ---- queue.c ------------------------------------------------------------- */

#define STORE_CHUNK_BYTES (64 << 10) /* data bytes of an ordinary chunk */

/* One queued row in a chunk: the record, then the strings it points to. */
typedef struct store_rec {
    uint32_t size; /* bytes from this record to the next one */
    store_rec_type_t type;
    int64_t ticket;
    union {
        store_run_t run;
        store_problem_t problem;
        store_step_t step;
        store_usage_row_t usage;
    } u;
    char strings[];
} store_rec_t;

/* A block of queued rows, filled front to back, in ticket order. */
typedef struct store_chunk {
    struct store_chunk *next; /* the next chunk, newer rows */
    size_t used;              /* bytes of data holding records */
    size_t cap;               /* bytes of data */
    alignas(max_align_t) char data[];
} store_chunk_t;

/*
** The rows waiting for the writer.  Rows are copied into chunks, so queuing
** a row allocates nothing once the queue has warmed up and the writer frees
** nothing per row; chunks go back and forth between producers and the
** writer.  Not locked here: the writer's mutex guards it.
*/
typedef struct store_queue {
    store_chunk_t *head; /* waiting rows, oldest first */
    store_chunk_t *tail;
    store_chunk_t *spare; /* emptied chunks kept for reuse */
    int nspare;
    int max_spare; /* keep at most this many */
    int rows;      /* rows waiting */
} store_queue_t;

/* Bytes a record takes in a chunk: itself and its strings, aligned. */
size_t store_rec_size(store_rec_type_t type, const void *rec);

/*
** Append a copy of rec (a store_run_t, store_problem_t or store_step_t as
** type says; size from store_rec_size) and its strings.  Returns 0, or -1
** when out of memory (the queue is unchanged).
*/
int store_queue_push(store_queue_t *q, store_rec_type_t type, const void *rec,
                     size_t size, int64_t ticket);

/* Take every waiting chunk as a list (oldest first); the queue is empty. */
store_chunk_t *store_queue_take(store_queue_t *q);

/* Give back a chunk whose rows are written: kept as a spare, or freed. */
void store_queue_recycle(store_queue_t *q, store_chunk_t *c);

/* Free a list of chunks and clear the caller's pointer; NULL-safe. */
void store_chunks_destroy(store_chunk_t **list);

/*
** Free the waiting rows and the spares and leave q empty (max_spare kept),
** ready for reuse; q is embedded in the writer, so this is its clear.
*/
void store_queue_clear(store_queue_t *q);

/* ---- writer.c and writer_loop.c ----------------------------------------- */

/*
** The writer.  Producers and waiters touch only the fields under mu; the
** connection, its statements and the open transaction belong to the writer
** thread alone (SQLite connections are not shared between threads).
**
** flush_to is the highest ticket someone asked to be committed now (by
** store_writer_wait or store_writer_flush); the writer commits as soon as it
** has written it, instead of waiting for batch_rows or batch_ms.
*/
struct store_writer {
    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the writer: rows, a waiter, stop */
    pthread_cond_t room; /* to producers: the queue has room again */
    pthread_cond_t done; /* to waiters: a commit, or the writer failed */
    store_queue_t queue; /* rows waiting for the writer */
    int64_t issued;      /* last ticket handed out */
    int64_t durable;     /* every ticket <= durable is committed */
    int64_t committed;   /* rows committed */
    int64_t flush_to;    /* commit as soon as this ticket is written */
    int waiting;         /* threads inside store_writer_wait */
    int idle;            /* the writer sleeps on wake */
    int stop;            /* destroy asked the writer to drain and exit */
    int failed;          /* error holds why; nothing more is written */
    char error[512];

    /* the writer thread's own */
    sqlite3 *db;
    sqlite3_stmt *insert[STORE_REC_TYPES]; /* by store_rec_type_t */
    int64_t *twice; /* problems with a step row put again: their usage
                       totals counted it twice and are not stored */
    size_t n_twice, cap_twice;
    int no_usage; /* out of memory growing twice: store no totals */
    sqlite3_stmt *begin;
    sqlite3_stmt *commit;
    int64_t commit_at;    /* flush_to as last read, INT64_MAX if none due */
    int in_txn;           /* a transaction is open */
    int txn_rows;         /* rows written in it */
    int64_t txn_last;     /* last ticket written in it */
    int64_t txn_deadline; /* monotonic ms by which it must commit */

    store_writer_opts_t opts;
    int notify_fd; /* eventfd: a commit or the failure; -1 until made */
    pthread_t thread;
    int sync_ready; /* mu and the condition variables are initialised */
    int started;    /* thread is running (join it) */
    char *path;
};

/* Prepare the writer's persistent statements.  Returns 0, or -1 with err. */
int store_writer_prepare(store_writer_t *w, char *err, size_t errlen);

/*
** The writer thread: take everything queued, write it in transactions of at
** most batch_rows rows, commit when batch_ms has passed since the transaction
** began, when a waiter waits, or on stop; exit after draining on stop or on
** the first error (recorded with store_writer_fail).  Closes the connection
** before returning.
*/
void *store_writer_main(void *arg);

/*
** Finalize the writer's statements and close its connection (the last one
** checkpoints the WAL); all left NULL, so a second call does nothing.
*/
void store_writer_close_db(store_writer_t *w);

/*
** Mark the writer failed with a reason (the first reason wins), log it, drop
** what is queued, wake every producer and waiter so they return -1, and make
** the notify fd readable.  Call without holding mu.
*/
void store_writer_fail(store_writer_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- notify.c ------------------------------------------------------------ */

/*
** Create the notify fd (a non-blocking eventfd).  Returns it, or -1 with a
** reason naming path in err.
*/
int store_notify_open(const char *path, char *err, size_t errlen);

/*
** Make fd readable; a failure is logged (path names the store), not fatal.
** The writer calls it holding mu, right after publishing durable or failed.
*/
void store_notify_signal(int fd, const char *path);

/* ---- reader.c --------------------------------------------------------- */

typedef enum {
    STORE_Q_PROBLEM,      /* one problem by id */
    STORE_Q_PROBLEMS,     /* the problems of a run */
    STORE_Q_ALL_PROBLEMS, /* every problem */
    STORE_Q_UNFINISHED,   /* every problem queued or running */
    STORE_Q_RUN,          /* one run by id */
    STORE_Q_RUNS,         /* every run */
    STORE_Q_STEPS,        /* the steps of a problem */
    STORE_Q_SUMMARY,      /* totals over a run */
    STORE_Q_TOTALS,       /* the same but routed_steps */
    STORE_Q_NTH,          /* the nth problem of a run */
    STORE_Q_RANK,         /* a problem's place in its run */
    STORE_Q_CONTEXT,      /* every step row with its problem and run */
    STORE_Q_CONTEXT_RUN,  /* the same for one run */
    STORE_Q_WASTED,       /* every unused speculative draft, as step rows */
    STORE_Q_WASTED_RUN,   /* the same for one run */
    STORE_Q_COUNT
} store_query_t;

/* Strings copied out of a statement so they outlive it. */
typedef struct store_strbuf {
    char *buf;
    size_t cap;
} store_strbuf_t;

/* A read-only connection and its statements; one thread at a time. */
struct store_reader {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[STORE_Q_COUNT]; /* prepared on first use, kept */
    store_strbuf_t problem;          /* strings of the last get_problem */
    store_strbuf_t run;              /* strings of the last get_run */
};

/*
** The statement for query q, ready to bind.  The cached one is used unless it
** is in the middle of a scan (a callback calling back into the reader); then
** a fresh one is prepared and *fresh set.  Give it back with
** store_reader_release.  Returns NULL with err.
*/
sqlite3_stmt *store_reader_stmt(store_reader_t *r, store_query_t q, int *fresh,
                                char *err, size_t errlen);

/* Reset (or, if fresh, finalize) a statement from store_reader_stmt. */
void store_reader_release(sqlite3_stmt *st, int fresh);

#endif
