/*
** test_cli_args.c: every trim command's arguments, checked in this process.
**
** Each command (the cli.h entry points that `trim COMMAND` calls) answers
** --help with its usage, refuses a flag it does not know, and refuses each
** bad invocation with exit code 2 and a message naming the command and what
** is wrong, before it starts anything; what it cannot find or use as it
** starts (a file, an address) fails it with exit code 1.  These run the
** entry points in this process (a trim process under ASan costs a tenth of
** a second each); test_cli.c runs the binary for what commands do.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "testutil.h"

typedef int (*cmd_fn)(int argc, char **argv);

static const struct {
    const char *name;
    cmd_fn fn;
} commands[] = {
    {"run", cmd_run},
    {"audit", cmd_audit},
    {"roi", cmd_roi},
    {"export", cmd_export},
    {"stats", cmd_stats},
    {"prune", cmd_prune},
    {"migrate", cmd_migrate},
    {"console", cmd_console},
    {"eval", cmd_eval},
    {"coordinator", cmd_coordinator},
    {"worker", cmd_worker},
    {"router", cmd_router},
    {"submit", cmd_submit},
    {"gateway", cmd_gateway},
    {"status", cmd_status},
    {"wait", cmd_wait},
    {"watch", cmd_watch},
    {"calibrate", cmd_calibrate},
    {"grade", cmd_grade},
    {"keygen", cmd_keygen},
    {"sim-server", cmd_sim_server},
    {"sim-problems", cmd_sim_problems},
    {"train", cmd_train},
};
#define N_COMMANDS (sizeof commands / sizeof *commands)

static char g_dir[64];


static int
setup(void **state)
{
    (void)state;
    test_scratch_dir(g_dir, sizeof g_dir, "cli-args");
    if (chdir(g_dir) != 0)
        return -1;
    /* The input files the cases read. */
    test_write_file("notes.txt", "not json\n");
    test_write_file("empty.jsonl", "");
    test_write_file("real.jsonl",
                    "\n{\"problem\": \"What is 1+1?\", \"answer\": \"2\"}\n");
    return 0;
}


static int
teardown(void **state)
{
    (void)state;
    return chdir("/") == 0 ? test_remove_tree(g_dir) : -1;
}


/*
** Run `trim ARGS` in this process: args is split at spaces into the
** command's argv.  *out and *err get what it printed (malloc'd).  Returns
** the exit code.
*/
static int
run(const char *args, char **out, char **err)
{
    char buf[1024], *argv[32];
    int argc = 0;
    cmd_fn fn = NULL;

    snprintf(buf, sizeof buf, "%s", args);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save);
         t != NULL && argc < 31; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[0], commands[i].name) == 0)
            fn = commands[i].fn;
    assert_non_null(fn);

    test_redirect_t o, e;
    test_redirect_begin(&o, 1);
    test_redirect_begin(&e, 2);
    int rc = fn(argc, argv);
    *err = test_redirect_end(&e);
    *out = test_redirect_end(&o);
    return rc;
}


static void
test_every_command_help(void **state)
{
    (void)state;
    char args[64], want[64], *out, *err, cmd[600];
    int st;

    /* The commands here are the ones `trim --help` lists. */
    snprintf(cmd, sizeof cmd, "%s --help", test_bin());
    char *list = test_capture(cmd, &st);
    assert_int_equal(st, 0);
    size_t listed = 0;
    for (const char *p = strstr(list, "\n  "); p; p = strstr(p + 1, "\n  "))
        listed++;
    assert_int_equal(listed, N_COMMANDS);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        snprintf(want, sizeof want, "\n  %-12s ", commands[i].name);
        assert_non_null(strstr(list, want));
    }
    free(list);

    for (size_t i = 0; i < N_COMMANDS; i++) {
        snprintf(args, sizeof args, "%s --help", commands[i].name);
        assert_int_equal(run(args, &out, &err), 0);
        snprintf(want, sizeof want, "usage: trim %s ", commands[i].name);
        if (strncmp(out, want, strlen(want)) != 0)
            fail_msg("trim %s printed '%.80s'", args, out);
        assert_string_equal(err, "");
        free(out);
        free(err);
    }
    /* A command's flags are listed with their variables. */
    assert_int_equal(run("worker --help", &out, &err), 0);
    assert_non_null(strstr(out, "\n  --pool X "));
    assert_non_null(strstr(out, "[TRIM_POOL]\n"));
    assert_non_null(strstr(out, "[TRIM_BASE_URL]\n")); /* the HTTP flags */
    free(out);
    free(err);
}


static void
test_every_command_refuses_unknown_flags(void **state)
{
    (void)state;
    char args[64], want[128], *out, *err;

    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *name = commands[i].name;
        snprintf(args, sizeof args, "%s --no-such-flag", name);
        if (strcmp(name, "keygen") == 0) /* it takes no flags at all */
            snprintf(want, sizeof want, "usage: trim keygen PREFIX");
        else
            snprintf(want, sizeof want,
                     "trim %s: unknown flag --no-such-flag (see 'trim %s "
                     "--help')",
                     name, name);
        int rc = run(args, &out, &err);
        if (rc != 2 || strstr(err, want) == NULL)
            fail_msg("trim %s: exit %d, '%s'; want 2 and '%s'", args, rc, err,
                     want);
        free(out);
        free(err);
    }
}


/* Refused before anything starts: exit 2, the command and the fault named. */
static void
test_bad_invocations(void **state)
{
    (void)state;
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"coordinator extra", "trim coordinator: unexpected argument 'extra'"},
        /* A deadline ceiling always applies: there is no "none". */
        {"coordinator --request-deadline-ms 0",
         "trim coordinator: --request-deadline-ms expects an integer in [1, "
         "86400000], got '0'"},
        {"coordinator --router-fallback maybe",
         "trim coordinator: --router-fallback expects local or wait, got "
         "'maybe'"},
        {"coordinator --curve-secret x.secret",
         "trim coordinator: CURVE needs both --curve-secret and "
         "--curve-clients"},
        {"coordinator --log-level loud",
         "trim coordinator: --log-level expects debug, info, warn, error or "
         "off, got 'loud'"},
        {"worker extra", "trim worker: unexpected argument 'extra'"},
        {"worker --pool medium",
         "trim worker: --pool expects small, large or prm, got 'medium'"},
        {"worker --pool prm --backend openai",
         "trim worker: --backend openai generates steps: use it with --pool "
         "small or large, not prm"},
        {"worker --pool small --backend vllm-pooling",
         "trim worker: --backend vllm-pooling scores steps: use it with "
         "--pool prm, not small"},
        {"worker --pool small --backend gpt",
         "trim worker: --backend 'gpt' is not known (known: sim, openai, "
         "openai-chat, vllm-pooling)"},
        {"worker --pool small --backend openai",
         "trim worker: --backend openai needs --base-url http://host:port"},
        {"worker --pool small --backend openai --base-url ftp://x",
         "trim worker: base URL 'ftp://x' must start with http:// or "
         "https://"},
        {"worker --pool small --backend openai-chat --base-url http://h:1 "
         "--template nosuch",
         "trim worker: --template expects chatml, llama3 or raw, got "
         "'nosuch'"},
        {"worker --pool prm --backend vllm-pooling --base-url http://h:1 "
         "--prm-input nosuch",
         "trim worker: --prm-input expects text or messages, got 'nosuch'"},
        {"worker --pool small --backend openai --base-url http://h:1 "
         "--backoff-ms 500 --backoff-max-ms 100",
         "trim worker: --backoff-max-ms (100) is below --backoff-ms (500)"},
        {"worker --pool small --sim-profile nosuch",
         "trim worker: --sim-profile: unknown simulator profile 'nosuch'"},
        {"worker --pool small --curve-secret a.secret",
         "trim worker: CURVE needs both --curve-secret (this side's key "
         "pair) and --curve-server-key (the server's public key)"},
        {"router extra", "trim router: unexpected argument 'extra'"},
        {"router --log-level loud", "trim router: --log-level expects"},
        {"router --curve-server-key abc", "trim router: CURVE needs both"},
        {"status extra", "trim status: unexpected argument 'extra'"},
        {"status --curve-secret /nonexistent.secret --curve-server-key x",
         "trim status: cannot open secret key file '/nonexistent.secret'"},
        {"status --curve-secret . --curve-server-key x",
         "trim status: secret key file '.' is not a regular file"},
        {"wait extra", "trim wait: unexpected argument 'extra'"},
        {"wait --curve-server-key abc", "trim wait: CURVE needs both"},
        {"watch extra", "trim watch: unexpected argument 'extra'"},
        {"watch --feed=", "trim watch: --feed names no router feed"},
        {"submit", "trim submit: give one JSONL file or --sim N"},
        {"submit a.jsonl b.jsonl",
         "trim submit: give one JSONL file or --sim N"},
        {"submit --sim 3 a.jsonl",
         "trim submit: give one JSONL file or --sim N"},
        {"submit --sim 3 --format nosuch",
         "trim submit: --format: unknown layout 'nosuch' (one of: "},
        {"audit 1 2", "trim audit: one problem id at most, got '2' too"},
        {"stats extra", "trim stats: unexpected argument 'extra'"},
        {"prune", "trim prune: say what to prune: --run N or --older-than"},
        {"prune --run 1 --older-than 3",
         "trim prune: --run or --older-than, not both"},
        {"audit abc",
         "trim audit: PROBLEM_ID must be a positive integer, got 'abc'"},
        {"keygen", "usage: trim keygen PREFIX"},
        {"keygen a b", "usage: trim keygen PREFIX"},
        {"sim-server extra", "trim sim-server: unexpected argument 'extra'"},
        {"sim-server --sim-model medium",
         "trim sim-server: --sim-model expects weak, strong or prm, got "
         "'medium'"},
        {"sim-server --sim-model weak --sim-profile nosuch",
         "trim sim-server: --sim-profile: unknown simulator profile "
         "'nosuch'"},
        {"calibrate extra",
         "trim calibrate: give --out FILE (and no other argument)"},
        {"train", "trim train: say what to train: 'trim train agg'"},
        {"train agg",
         "trim train: give exactly one of --init, --db FILE or --sim"},
        {"train agg --init", "trim train: --out FILE is needed"},
        {"train agg --db x.db --out o.agg",
         "trim train: --db needs --in, the policy the run used"},
        {"train agg --sim --out o.agg --sim-profile nosuch",
         "trim train: unknown simulator profile 'nosuch' (known: math500, "
         "hard, easy, aime"},
        {"grade", "trim grade: give one JSONL file or --db FILE"},
        {"eval extra", "trim eval: unknown subcommand 'extra'"},
        {"eval --policies thr,bogus",
         "trim eval: --policies: unknown family 'bogus'"},
        {"eval --sim-profile nosuch",
         "trim eval: unknown simulator profile 'nosuch'"},
        {"eval --curve x", "trim eval: --curve 'x': expected NAME=SPEC"},
        {"eval sweep extra", "trim eval sweep: unexpected argument 'extra'"},
        {"eval sweep --policy bogus",
         "trim eval sweep: --policy bogus cannot be swept yet (thr can)"},
        {"eval sweep --from 0.5 --to 0.1",
         "trim eval sweep: --from 0.5 is above --to 0.1"},
        {"run extra", "trim run: unexpected argument 'extra'"},
        /* A bad value is a usage error, whichever part of trim reads it. */
        {"run --policy nope:1 --problems 1 --db x.db",
         "trim run: --policy: unknown policy 'nope:1' (known: weak, strong"},
        {"run --policy thr:5", "trim run: --policy: policy 'thr:5': needs a "
                               "number in [0, 1] after the colon"},
        {"run --sim-profile nosuch",
         "trim run: --sim-profile: unknown simulator profile 'nosuch'"},
        {"run --small-url ftp://x",
         "trim run: --small-url: base URL 'ftp://x' must start with http:// "
         "or https://"},
        {"eval sweep --sim-profile nosuch",
         "trim eval sweep: --sim-profile: unknown simulator profile "
         "'nosuch'"},
        {"sim-problems --profile nosuch",
         "trim sim-problems: --profile: unknown simulator profile 'nosuch'"},
        {"submit --sim 1 --sim-profile nosuch",
         "trim submit: --sim-profile: unknown simulator profile 'nosuch'"},
        {"run --problems empty.jsonl",
         "trim run: empty.jsonl is empty: no problems in it"},
        {"run --problems .",
         "trim run: . is a directory, not a JSONL file of problems"},
        /* Before anything connects or starts: a policy for the
        ** coordinator, a gateway's route, a file a flag names. */
        {"submit --sim 1 --policy bad",
         "trim submit: --policy: unknown policy 'bad' (known: weak"},
        {"submit --sim 1 --policy thr:5",
         "trim submit: --policy: policy 'thr:5': needs a number in [0, 1]"},
        {"gateway --route x=bad",
         "trim gateway: --route x=bad: unknown policy 'bad'"},
        {"gateway --route x=thr:5,max-strong-tokens=9",
         "trim gateway: --route x=thr:5,max-strong-tokens=9: policy 'thr:5'"},
        {"run --calibration /nonexist",
         "trim run: --calibration /nonexist: No such file or directory\n"},
        {"run --prices /nonexist",
         "trim run: --prices /nonexist: No such file or directory\n"},
        {"run --prices .", "trim run: --prices .: is a directory\n"},
        /* Every address flag: a port out of range would bind a random one
        ** (libzmq takes 99999 modulo 65536). */
        {"coordinator --bind tcp://127.0.0.1:99999",
         "trim coordinator: --bind 'tcp://127.0.0.1:99999': port '99999' is "
         "not in 1..65535 (or *: any free port)"},
        {"coordinator --bind tcp://127.0.0.1:0",
         "trim coordinator: --bind 'tcp://127.0.0.1:0': port '0' is not in "
         "1..65535"},
        {"coordinator --bind 127.0.0.1:5555",
         "trim coordinator: --bind '127.0.0.1:5555': expected a ZeroMQ "
         "endpoint"},
        {"coordinator --metrics-listen 127.0.0.1:70000",
         "trim coordinator: --metrics-listen '127.0.0.1:70000': port '70000' "
         "is not in 0..65535 (0: any free port)"},
        {"router --pub tcp://127.0.0.1:65536",
         "trim router: --pub 'tcp://127.0.0.1:65536': port '65536' is not "
         "in 1..65535"},
        {"router --connect tcp://127.0.0.1:*",
         "trim router: --connect 'tcp://127.0.0.1:*': port '*' is not in "
         "1..65535\n"},
        {"router --connect 127.0.0.1:5555",
         "trim router: --connect '127.0.0.1:5555': expected a ZeroMQ "
         "endpoint, e.g. tcp://127.0.0.1:5555"},
        {"worker --pool small --connect tcp://localhost:x",
         "trim worker: --connect 'tcp://localhost:x': port 'x' is not in "
         "1..65535"},
        {"worker --pool small --metrics-listen 127.0.0.1",
         "trim worker: --metrics-listen '127.0.0.1': expected HOST:PORT"},
        {"gateway --listen 127.0.0.1:99999",
         "trim gateway: --listen '127.0.0.1:99999': port '99999' is not in "
         "0..65535"},
        {"gateway --listen http://127.0.0.1:8000",
         "trim gateway: --listen 'http://127.0.0.1:8000': expected HOST:PORT, "
         "not a URL"},
        {"gateway --connect tcp://[::1]:123456",
         "trim gateway: --connect 'tcp://[::1]:123456': port '123456' is "
         "not in 1..65535"},
        {"sim-server --sim-model weak --bind 127.0.0.1:99999",
         "trim sim-server: --bind '127.0.0.1:99999': port '99999' is not in "
         "0..65535"},
        {"sim-server --sim-model weak --bind [::1:80",
         "trim sim-server: --bind '[::1:80': expected [IPV6]:PORT"},
        {"status --connect tcp://127.0.0.1:99999",
         "trim status: --connect 'tcp://127.0.0.1:99999': port"},
        {"wait --connect tcp://127.0.0.1:",
         "trim wait: --connect 'tcp://127.0.0.1:': port '' is not in"},
        {"submit --sim 1 --connect tcp://127.0.0.1:99999",
         "trim submit: --connect 'tcp://127.0.0.1:99999': port"},
        {"watch --feed tcp://127.0.0.1:5556,tcp://127.0.0.1:99999",
         "trim watch: --feed 'tcp://127.0.0.1:5556,tcp://127.0.0.1:99999': "
         "port '99999' is not in 1..65535"},
    };
    char *out, *err;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = run(cases[i].args, &out, &err);
        if (rc != 2 || strstr(err, cases[i].message) == NULL)
            fail_msg("trim %s: exit %d, stderr '%s'; want 2 and '%s'",
                     cases[i].args, rc, err, cases[i].message);
        free(out);
        free(err);
    }
}


/* Failures a command finds as it starts: exit 1, the reason named. */
static void
test_start_up_failures(void **state)
{
    (void)state;
    static const struct {
        const char *args, *message;
    } cases[] = {
        {"coordinator --curve-secret /nonexistent.secret --curve-clients "
         "/nonexistent.txt",
         "trim coordinator: cannot open secret key file "
         "'/nonexistent.secret': No such file or directory"},
        {"worker --pool small --calibration /nonexistent.json",
         "trim worker: /nonexistent.json: unable to open"},
        {"router --connect bogus://x",
         "trim router: cannot connect to bogus://x: Protocol not supported"},
        {"status --connect bogus://x",
         "trim status: cannot connect to bogus://x: Protocol not supported"},
        {"audit --db /nonexistent/x.db",
         "trim audit: /nonexistent/x.db: No such file or directory"},
        {"audit --db notes.txt",
         "trim audit: notes.txt: not an SQLite database"},
        {"stats --db /nonexistent/x.db",
         "trim stats: /nonexistent/x.db: No such file or directory"},
        {"prune --db missing.db --run 1",
         "trim prune: missing.db: No such file or directory"},
        {"prune --db notes.txt --vacuum",
         "trim prune: notes.txt: not an SQLite database"},
        {"submit /nonexistent.jsonl",
         "trim submit: cannot read /nonexistent.jsonl: No such file"},
        /* Files that hold no problem: refused before connecting. */
        {"submit empty.jsonl",
         "trim submit: empty.jsonl is empty: no problems in it"},
        {"submit .", "trim submit: . is a directory, not a JSONL file of "
                     "problems"},
        {"grade empty.jsonl",
         "trim grade: empty.jsonl is empty: no answers to grade in it"},
        {"grade .",
         "trim grade: . is a directory, not a JSONL file of answers to grade"},
        {"grade notes.txt",
         "notes.txt:1: not a JSON object (invalid token near 'not'); "
         "skipped\ntrim grade: no line of notes.txt could be graded (1 "
         "skipped, see above)"},
        {"run --problems notes.txt --db x.db",
         "notes.txt:1: not a JSON object (invalid token near 'not'); "
         "skipped\ntrim run: no problem in notes.txt (1 lines skipped)"},
        /* The simulator solves only its own problems: refused at start. */
        {"run --problems real.jsonl --db x.db",
         "trim run: real.jsonl:2: the built-in simulator solves only "
         "problems it generated (print some with `trim sim-problems`); this "
         "text is not one: "},
        {"run --problems real.jsonl --db x.db --small-url http://127.0.0.1:9 "
         "--large-url http://127.0.0.1:9",
         "; for other problems give every pool a model server (--small-url, "
         "--large-url, --prm-url)"},
        {"sim-server --sim-model weak --bind 999.1.1.1:1",
         "trim sim-server: --bind '999.1.1.1:1': "},
        {"keygen /nonexistent/k", "trim keygen: cannot create "
                                  "'/nonexistent/k.secret': No such file or "
                                  "directory"},
        {"train agg --db x.db --in missing.agg --out o.agg",
         "trim train: missing.agg: cannot open: No such file"},
        {"train agg --init --out /nonexistent/o.agg",
         "trim train: /nonexistent/o.agg: cannot create a temporary file "
         "beside it"},
    };
    char *out, *err;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = run(cases[i].args, &out, &err);
        if (rc != 1 || strstr(err, cases[i].message) == NULL)
            fail_msg("trim %s: exit %d, stderr '%s'; want 1 and '%s'",
                     cases[i].args, rc, err, cases[i].message);
        free(out);
        free(err);
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_help),
        cmocka_unit_test(test_every_command_refuses_unknown_flags),
        cmocka_unit_test(test_bad_invocations),
        cmocka_unit_test(test_start_up_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
