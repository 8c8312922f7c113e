/*
** test_audit_cli.c: what `trim audit` and `trim export` read back from a
** store two real runs wrote (thr:0.6, then pomdp:0.5), checked against
** plain SQL over the same file.
**
** A strong step's PRM score is on its row whenever a later draft was scored
** (and every draft's min previous score is the minimum of the visible
** accepted rows before it); each routed draft has PRM and route times;
** `--run N K` is the Kth problem of run N, with errors naming the run; the
** --json output parses with jansson and the --csv output with Python's csv
** module (an independent RFC 4180 reader), row for row as SQL counts them,
** a text with quotes, commas and CRLF included; with --prices, dollars
** that add up per step and per problem.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "testutil.h"

static char g_dir[64]; /* scratch directory; commands run inside it */
static char g_db[128];

/* A step text a CSV writer must quote: quotes, a comma, CRLF, a comma. */
#define NASTY "He said \"a, b\"\r\nthen, c"

/* Reads a CSV file (argv[1]) with Python's csv module and prints what the
** test compares with SQL, as JSON. */
static const char s_csv_py[] =
    "import csv, json, sys\n"
    "with open(sys.argv[1], newline='') as f:\n"
    "    rows = list(csv.DictReader(f))\n"
    "print(json.dumps({\n"
    "    'rows': len(rows),\n"
    "    'columns': list(rows[0].keys()) if rows else [],\n"
    "    'tokens': sum(int(r.get('completion_tokens') or 0) for r in rows),\n"
    "    'strong': sum(r.get('kind') == 'strong' for r in rows),\n"
    "    'unscored': sum(r.get('prm_score') == '' for r in rows),\n"
    "    'texts': [r['text'] for r in rows if 'text' in r and\n"
    "              r.get('problem_id') == '1' and r['step_index'] == '0'\n"
    "              and r['kind'] == 'draft'],\n"
    "}))\n";


/* Run `trim ARGS` in the scratch directory (test_trim_in). */
#define trim(out, err, ...) test_trim_in(g_dir, out, err, __VA_ARGS__)


static json_t *
parse_json(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);

    if (j == NULL)
        fail_msg("not JSON (%s at line %d): %.200s", jerr.text, jerr.line,
                 text);
    return j;
}


/* Python's reading of the CSV file at path (see s_csv_py). */
static json_t *
read_csv(const char *path)
{
    char cmd[512];
    int st;

    snprintf(cmd, sizeof cmd, "python3 %s/read_csv.py %s", g_dir, path);
    char *out = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    json_t *j = parse_json(out);
    free(out);
    return j;
}


static int64_t
jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("no integer '%s'", key);
    return json_integer_value(v);
}


static sqlite3 *
open_db(void)
{
    sqlite3 *h;

    assert_int_equal(sqlite3_open(g_db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    return h;
}


static int
setup(void **state)
{
    char *out, *err, py[128];

    (void)state;
    test_scratch_dir(g_dir, sizeof g_dir, "audit");
    snprintf(g_db, sizeof g_db, "%s/audit.db", g_dir);
    snprintf(py, sizeof py, "%s/read_csv.py", g_dir);
    test_write_file(py, s_csv_py);
    assert_int_equal(trim(&out, &err,
                          "run --problems 30 --seed 5 --policy thr:0.6 "
                          "--db audit.db --no-progress"),
                     0);
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err,
                          "run --problems 20 --seed 6 --policy pomdp:0.5 "
                          "--db audit.db --no-progress"),
                     0);
    free(out);
    free(err);
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return test_remove_tree(g_dir);
}


/*
** Every draft's min previous score is the minimum of the accepted rows
** before it, strong steps included; a strong step is unscored only when it
** is the problem's last step; timings are where they belong.
*/
static void
test_strong_scores_and_timings(void **state)
{
    (void)state;
    sqlite3 *h = open_db();
    char *out, *err;

    const char *accepted_before =
        "FROM steps a WHERE a.problem_id = d.problem_id AND a.accepted = 1 "
        "AND a.step_index < d.step_index";
    int64_t drafts = sql_int(h, "SELECT count(*) FROM steps d JOIN problems p "
                                "USING (problem_id) WHERE p.run_id = 1 AND "
                                "d.kind = 'draft' AND d.step_index > 0");
    assert_true(drafts > 50);
    assert_int_equal(sql_int(h,
                             "SELECT count(*) FROM steps d JOIN problems p "
                             "USING (problem_id) WHERE p.run_id = 1 AND "
                             "d.kind = 'draft' AND d.step_index > 0 AND "
                             "abs(d.min_prev_score - (SELECT min(prm_score) "
                             "%s)) < 1e-6 AND NOT EXISTS (SELECT 1 %s AND "
                             "a.prm_score IS NULL)",
                             accepted_before, accepted_before),
                     drafts);
    /* Strong steps: scored unless last, never when last. */
    assert_true(sql_int(h, "SELECT count(*) FROM steps WHERE kind = 'strong'"
                           " AND prm_score IS NOT NULL") > 0);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM steps s JOIN problems p"
                                " USING (problem_id) WHERE s.kind = 'strong'"
                                " AND (s.prm_score IS NULL) <>"
                                " (s.step_index = p.steps - 1)"),
                     0);
    /* Drafts went through the PRM and a router; strong steps did not. */
    assert_int_equal(sql_int(h, "SELECT count(*) FROM steps WHERE kind ="
                                " 'draft' AND (prm_us <= 0 OR route_us <= 0)"),
                     0);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM steps WHERE kind ="
                                " 'strong' AND (prm_us <> 0 OR route_us <> 0)"),
                     0);
    assert_int_equal(sql_int(h, "SELECT count(*) FROM steps WHERE queue_us < 0"
                                " OR latency_us < 0"),
                     0);

    /* The trace says where a strong step's score came from. */
    int64_t id = sql_int(h, "SELECT min(s.problem_id) FROM steps s JOIN "
                            "problems p USING (problem_id) WHERE s.kind = "
                            "'strong' AND s.step_index < p.steps - 1");
    sqlite3_close(h);
    assert_int_equal(
        trim(&out, &err, "audit --db audit.db %lld", (long long)id), 0);
    assert_non_null(strstr(out, "(scored in the next draft's history)\n"));
    assert_non_null(strstr(out, "\n    time     queue "));
    assert_non_null(strstr(out, " ms  PRM "));
    free(out);
    free(err);
}


static void
test_audit_run_addressing(void **state)
{
    (void)state;
    sqlite3 *h = open_db();
    char *out, *err;

    int64_t third = sql_int(h, "SELECT problem_id FROM problems WHERE run_id"
                               " = 2 ORDER BY problem_id LIMIT 1 OFFSET 2");
    int64_t steps = sql_int(h,
                            "SELECT count(*) FROM steps WHERE problem_id"
                            " = %lld",
                            (long long)third);
    assert_int_equal(third, 33); /* run 1 has 30: ids are global */
    assert_int_equal(trim(&out, &err, "audit --db audit.db --run 2 3 --json"),
                     0);
    json_t *j = parse_json(out);
    json_t *p = json_object_get(j, "problem");
    assert_int_equal(jint(p, "problem_id"), third);
    assert_int_equal(jint(p, "run_id"), 2);
    assert_int_equal(jint(p, "nth"), 3);
    assert_string_equal(json_string_value(json_object_get(p, "policy")),
                        "pomdp:0.5");
    assert_true(json_is_string(json_object_get(p, "text")));
    assert_int_equal(json_array_size(json_object_get(j, "steps")), steps);
    json_t *s0 = json_array_get(json_object_get(j, "steps"), 0);
    assert_int_equal(json_array_size(json_object_get(s0, "belief")), 4);
    json_decref(j);
    free(out);
    free(err);

    /* Without --run the id is global: 3 is run 1's. */
    assert_int_equal(trim(&out, &err, "audit --db audit.db 3"), 0);
    assert_non_null(strstr(out, "problem 3  run 1 (#3, policy thr:0.6)"));
    free(out);
    free(err);

    assert_int_equal(trim(&out, &err, "audit --db audit.db --run 2 21"), 1);
    assert_non_null(strstr(err, "run 2 has 20 problems, no #21"));
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err, "audit --db audit.db --run 7 1"), 1);
    assert_non_null(strstr(err, "no run 7 in audit.db"));
    free(out);
    free(err);

    /* The list: a header, then each problem with its run, place, policy. */
    assert_int_equal(trim(&out, &err, "audit --db audit.db"), 0);
    assert_int_equal(
        strncmp(out, "id      run  #     policy         outcome", 41), 0);
    assert_non_null(strstr(out, "\n33      2    3     pomdp:0.5      "));
    free(out);
    free(err);
    assert_int_equal(trim(&out, &err, "audit --db audit.db --json"), 0);
    j = parse_json(out);
    assert_int_equal(json_array_size(j), 50);
    for (size_t i = 30; i < 50; i++) {
        json_t *e = json_array_get(j, i);
        assert_int_equal(jint(e, "run_id"), 2);
        assert_int_equal(jint(e, "nth"), (int64_t)i - 29);
    }
    json_decref(j);
    free(out);
    free(err);

    /* The list and a trace as CSV, as Python reads them. */
    assert_int_equal(trim(&out, &err, "audit --db audit.db --csv > list.csv"),
                     0);
    free(out);
    free(err);
    char path[256];
    snprintf(path, sizeof path, "%s/list.csv", g_dir);
    j = read_csv(path);
    assert_int_equal(jint(j, "rows"), 50);
    json_t *cols = json_object_get(j, "columns");
    assert_string_equal(json_string_value(json_array_get(cols, 1)), "run_id");
    assert_string_equal(json_string_value(json_array_get(cols, 2)), "nth");
    assert_string_equal(json_string_value(json_array_get(cols, 3)), "policy");
    json_decref(j);
    assert_int_equal(
        trim(&out, &err, "audit --db audit.db --run 2 3 --csv > trace.csv"), 0);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/trace.csv", g_dir);
    j = read_csv(path);
    assert_int_equal(jint(j, "rows"), steps);
    json_decref(j);
    sqlite3_close(h);
}


/*
** --prices: a book where a draft's completion token costs $1 and a strong
** one's $2 (nothing else costs) makes every dollar figure a token count SQL
** gives: per problem in the list, per step and per problem in a trace.
*/
static const char s_prices[] =
    "{\"models\": {"
    " \"w\": {\"input_usd_per_mtok\": 0, \"output_usd_per_mtok\": 1e6},"
    " \"s\": {\"input_usd_per_mtok\": 0, \"output_usd_per_mtok\": 2e6},"
    " \"p\": {\"input_usd_per_mtok\": 0, \"output_usd_per_mtok\": 0}},"
    " \"roles\": {\"weak\": \"w\", \"strong\": \"s\", \"prm\": \"p\"}}";


static void
test_audit_prices(void **state)
{
    (void)state;
    sqlite3 *h = open_db();
    char *out, *err, path[256];

    snprintf(path, sizeof path, "%s/prices.json", g_dir);
    test_write_file(path, s_prices);
    const char *usd_sql =
        "SELECT sum(completion_tokens * (1 + (kind = 'strong'))) FROM steps";
    int64_t id = sql_int(h, "SELECT min(problem_id) FROM problems WHERE"
                            " strong_tokens > 0 AND run_id = 1");
    int64_t want =
        sql_int(h, "%s WHERE problem_id = %lld", usd_sql, (long long)id);
    int64_t want_all = sql_int(h, "%s", usd_sql);
    sqlite3_close(h);

    assert_int_equal(trim(&out, &err,
                          "audit --db audit.db --prices prices.json "
                          "--json %lld",
                          (long long)id),
                     0);
    json_t *j = parse_json(out);
    json_t *usd = json_object_get(json_object_get(j, "problem"), "usd");
    assert_true(json_real_value(json_object_get(usd, "total")) == want);
    double steps = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(j, "steps"), i, s)
    {
        steps += json_real_value(json_object_get(s, "usd"));
    }
    assert_true(steps == want);
    json_decref(j);
    free(out);
    free(err);

    assert_int_equal(
        trim(&out, &err, "audit --db audit.db --prices prices.json --json"), 0);
    j = parse_json(out);
    double all = 0;
    json_array_foreach(j, i, s)
    {
        all += json_real_value(
            json_object_get(json_object_get(s, "usd"), "total"));
    }
    assert_true(all == want_all);
    json_decref(j);
    free(out);
    free(err);

    assert_int_equal(trim(&out, &err,
                          "audit --db audit.db --prices prices.json %lld",
                          (long long)id),
                     0);
    char line[64];
    snprintf(line, sizeof line, "\ndollars %lld.000000: ", (long long)want);
    assert_non_null(strstr(out, line));
    assert_non_null(strstr(out, "\n    cost     $"));
    free(out);
    free(err);
    assert_int_equal(
        trim(&out, &err, "audit --db audit.db --prices nosuch.json 1"), 1);
    assert_non_null(strstr(err, "nosuch.json"));
    free(out);
    free(err);
}


/* Counts over the JSONL export in file path (one object per line). */
static void
read_jsonl(const char *path, int64_t *rows, int64_t *tokens, int64_t *strong,
           int64_t *unscored, char *nasty, size_t nastylen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;

    assert_non_null(f);
    *rows = *tokens = *strong = *unscored = 0;
    nasty[0] = '\0';
    while (getline(&line, &cap, f) > 0) {
        json_t *o = parse_json(line);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        (*rows)++;
        *tokens += jint(o, "completion_tokens");
        *strong += kind && strcmp(kind, "strong") == 0;
        *unscored += json_is_null(json_object_get(o, "prm_score"));
        if (jint(o, "problem_id") == 1 && jint(o, "step_index") == 0 &&
            strcmp(kind, "draft") == 0)
            snprintf(nasty, nastylen, "%s",
                     json_string_value(json_object_get(o, "text")));
        json_decref(o);
    }
    free(line);
    fclose(f);
}


static void
test_export_round_trip(void **state)
{
    (void)state;
    sqlite3 *h = open_db();
    char *out, *err, path[256], nasty[128];
    int64_t rows, tokens, strong, unscored;

    assert_int_equal(sqlite3_exec(h,
                                  "UPDATE steps SET text = '" NASTY "' WHERE "
                                  "problem_id = 1 AND step_index = 0 AND "
                                  "kind = 'draft'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    int64_t all = sql_int(h, "SELECT count(*) FROM steps");
    int64_t all_tokens = sql_int(h, "SELECT sum(completion_tokens) FROM steps");
    int64_t all_strong =
        sql_int(h, "SELECT count(*) FROM steps WHERE kind = 'strong'");
    int64_t all_unscored =
        sql_int(h, "SELECT count(*) FROM steps WHERE prm_score IS NULL");
    int64_t run2 = sql_int(h, "SELECT count(*) FROM steps JOIN problems "
                              "USING (problem_id) WHERE run_id = 2");

    assert_int_equal(trim(&out, &err,
                          "export --db audit.db --format jsonl "
                          "--out all.jsonl"),
                     0);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "step rows to all.jsonl"));
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/all.jsonl", g_dir);
    read_jsonl(path, &rows, &tokens, &strong, &unscored, nasty, sizeof nasty);
    assert_int_equal(rows, all);
    assert_int_equal(tokens, all_tokens);
    assert_int_equal(strong, all_strong);
    assert_int_equal(unscored, all_unscored);
    assert_string_equal(nasty, NASTY);

    assert_int_equal(trim(&out, &err,
                          "export --db audit.db --format csv "
                          "> all.csv"),
                     0);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/all.csv", g_dir);
    json_t *j = read_csv(path);
    assert_int_equal(jint(j, "rows"), all);
    assert_int_equal(jint(j, "tokens"), all_tokens);
    assert_int_equal(jint(j, "strong"), all_strong);
    assert_int_equal(jint(j, "unscored"), all_unscored);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(j, "texts"), 0)),
        NASTY);
    json_decref(j);

    assert_int_equal(trim(&out, &err,
                          "export --db audit.db --format csv "
                          "--run 2 > run2.csv"),
                     0);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/run2.csv", g_dir);
    j = read_csv(path);
    assert_int_equal(jint(j, "rows"), run2);
    json_decref(j);

    assert_int_equal(trim(&out, &err, "export --db audit.db --format xml"), 2);
    assert_non_null(strstr(err, "--format must be jsonl or csv, got 'xml'"));
    free(out);
    free(err);
    sqlite3_close(h);
}


/* Sums over a JSONL export (one object per line): rows, and per key the
** rows where it is not null and the sum of its values. */
typedef struct jsonl_sums {
    int64_t rows, cached_rows, cached, prm_cached_rows, prm_cached, speculative,
        accepted, decided, scored, tokens;
} jsonl_sums_t;

static jsonl_sums_t
sum_jsonl(const char *text)
{
    jsonl_sums_t t = {0};
    char *copy = strdup(text), *save = NULL;

    assert_non_null(copy);
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *o = parse_json(line);
        json_t *c = json_object_get(o, "cached_tokens");
        json_t *pc = json_object_get(o, "prm_cached_tokens");
        assert_true(json_is_null(c) || json_is_integer(c));
        assert_true(json_is_null(pc) || json_is_integer(pc));
        t.rows++;
        t.cached_rows += json_is_integer(c);
        t.cached += json_integer_value(c);
        t.prm_cached_rows += json_is_integer(pc);
        t.prm_cached += json_integer_value(pc);
        t.speculative += jint(o, "speculative");
        t.accepted += jint(o, "accepted");
        t.decided += !json_is_null(json_object_get(o, "decision"));
        t.scored += !json_is_null(json_object_get(o, "prm_score"));
        t.tokens += jint(o, "completion_tokens");
        assert_true(jint(o, "run_id") == 1);
        json_decref(o);
    }
    free(copy);
    return t;
}


/*
** A speculative run's store: the step rows export the speculative flag and
** the prefix-cache counts a server reported (null where none did: here set
** with SQL, as the simulator in one process reports none), and --wasted
** exports the unused speculative drafts row for row, in JSONL and CSV;
** the trace shows both.
*/
static void
test_export_speculative_and_cached(void **state)
{
    (void)state;
    char *out, *err, path[256];
    sqlite3 *h;

    assert_int_equal(trim(&out, &err,
                          "run --problems 40 --seed 8 --policy thr:0.5 "
                          "--speculate on --db spec.db --no-progress"),
                     0);
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/spec.db", g_dir);
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "UPDATE steps SET cached_tokens = prompt_tokens / 2"
                     " WHERE rowid % 3 = 0;"
                     "UPDATE steps SET prm_cached_tokens = prm_tokens / 3"
                     " WHERE rowid % 2 = 0 AND prm_tokens > 0;"
                     "UPDATE wasted_drafts SET cached_tokens ="
                     " prompt_tokens / 4 WHERE rowid % 2 = 0",
                     NULL, NULL, NULL),
        SQLITE_OK);
    int64_t wasted = sql_int(h, "SELECT count(*) FROM wasted_drafts");
    assert_true(wasted > 0);

    assert_int_equal(trim(&out, &err, "export --db spec.db --format jsonl"), 0);
    jsonl_sums_t t = sum_jsonl(out);
    free(out);
    free(err);
    assert_int_equal(t.rows, sql_int(h, "SELECT count(*) FROM steps"));
    assert_int_equal(t.cached_rows,
                     sql_int(h, "SELECT count(cached_tokens) FROM steps"));
    assert_int_equal(t.cached,
                     sql_int(h, "SELECT sum(cached_tokens) FROM steps"));
    assert_int_equal(t.prm_cached_rows,
                     sql_int(h, "SELECT count(prm_cached_tokens) FROM steps"));
    assert_int_equal(t.prm_cached,
                     sql_int(h, "SELECT sum(prm_cached_tokens) FROM steps"));
    assert_true(t.speculative > 0);
    assert_int_equal(t.speculative, sql_int(h, "SELECT count(*) FROM steps"
                                               " WHERE speculative = 1"));

    assert_int_equal(trim(&out, &err,
                          "export --db spec.db --format jsonl --wasted "
                          "--run 1"),
                     0);
    t = sum_jsonl(out);
    free(out);
    free(err);
    assert_int_equal(t.rows, wasted);
    assert_int_equal(t.speculative, wasted);
    assert_int_equal(t.accepted + t.decided + t.scored + t.prm_cached_rows, 0);
    assert_int_equal(t.tokens, sql_int(h, "SELECT sum(completion_tokens)"
                                          " FROM wasted_drafts"));
    assert_int_equal(t.cached_rows, sql_int(h, "SELECT count(cached_tokens)"
                                               " FROM wasted_drafts"));
    assert_int_equal(t.cached, sql_int(h, "SELECT sum(cached_tokens)"
                                          " FROM wasted_drafts"));

    assert_int_equal(trim(&out, &err,
                          "export --db spec.db --format csv --wasted "
                          "--out wasted.csv"),
                     0);
    assert_non_null(strstr(err, "wasted drafts to wasted.csv"));
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/wasted.csv", g_dir);
    json_t *j = read_csv(path);
    assert_int_equal(jint(j, "rows"), wasted);
    assert_int_equal(jint(j, "tokens"), sql_int(h, "SELECT sum("
                                                   "completion_tokens) FROM"
                                                   " wasted_drafts"));
    json_decref(j);

    /* The trace of a problem with a reported count says so. */
    int64_t pid = sql_int(h, "SELECT min(problem_id) FROM steps WHERE"
                             " cached_tokens IS NOT NULL AND speculative = 1");
    assert_true(pid > 0);
    assert_int_equal(
        trim(&out, &err, "audit --db spec.db %lld", (long long)pid), 0);
    assert_non_null(strstr(out, "held by the model server's prefix cache"));
    assert_non_null(strstr(out, ", speculative)"));
    free(out);
    free(err);
    sqlite3_close(h);
}


/* A run that is not there is an error, not an empty listing. */
static void
test_no_such_run(void **state)
{
    (void)state;
    char *out, *err;

    assert_int_equal(trim(&out, &err, "audit --db audit.db --run 9"), 1);
    assert_non_null(strstr(err, "trim audit: no run 9 in audit.db"));
    free(out);
    free(err);
    assert_int_equal(
        trim(&out, &err, "export --db audit.db --format csv --run 9"), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "trim export: no run 9 in audit.db"));
    free(out);
    free(err);

    /* trim migrate, for readers of an older store, adds no run. */
    assert_int_equal(trim(&out, &err, "migrate --db audit.db"), 0);
    free(out);
    free(err);
    sqlite3 *h = open_db();
    assert_int_equal(sql_int(h, "SELECT count(*) FROM runs"), 2);
    sqlite3_close(h);
}


/*
** Text stored as it came (a Latin-1 problems file): its bytes that are not
** UTF-8 reach JSON as U+FFFD, and nothing is dropped.  Runs last: it
** changes problem 1.
*/
static void
test_invalid_utf8_in_json(void **state)
{
    (void)state;
    sqlite3 *h = open_db();
    char *out, *err;

    assert_int_equal(
        sqlite3_exec(h,
                     "UPDATE problems SET text = CAST(X'41FF42' AS TEXT) "
                     "WHERE problem_id = 1;"
                     "UPDATE steps SET text = CAST(X'43FE44' AS TEXT) "
                     "WHERE problem_id = 1",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(trim(&out, &err, "audit --db audit.db 1 --json"), 0);
    json_t *j = parse_json(out);
    json_t *p = json_object_get(j, "problem");
    assert_string_equal(json_string_value(json_object_get(p, "text")),
                        "A\xef\xbf\xbd"
                        "B");
    json_t *s0 = json_array_get(json_object_get(j, "steps"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "text")),
                        "C\xef\xbf\xbd"
                        "D");
    json_decref(j);
    free(out);
    free(err);
    assert_int_equal(
        trim(&out, &err, "export --db audit.db --format jsonl --run 1"), 0);
    char *line = strtok(out, "\n");
    assert_non_null(line);
    j = parse_json(line);
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "C\xef\xbf\xbd"
                        "D");
    json_decref(j);
    free(out);
    free(err);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strong_scores_and_timings),
        cmocka_unit_test(test_audit_run_addressing),
        cmocka_unit_test(test_audit_prices),
        cmocka_unit_test(test_export_round_trip),
        cmocka_unit_test(test_export_speculative_and_cached),
        cmocka_unit_test(test_no_such_run),
        cmocka_unit_test(test_invalid_utf8_in_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
