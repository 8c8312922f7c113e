/*
** fuzz_problems.c: a JSONL problem file (eval/problems.h) in each layout.
**
** The first byte picks the layout, the rest is the file.  Every problem
** handed out must have its text; an unreadable file is not an outcome here.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "problems.h"

static const char *const formats[] = {
    "auto", "plain", "math", "gsm8k", "aime", "olympiadbench", "minerva"};


static int
on_problem(void *ctx, const problem_rec_t *p)
{
    size_t *bytes = ctx;

    if (p->text == NULL || p->format == NULL || p->line < 1)
        abort();
    *bytes += strlen(p->text) + (p->id ? strlen(p->id) : 0) +
              (p->ground_truth ? strlen(p->ground_truth) : 0);
    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    size_t bytes = 0;
    long skipped;

    if (size == 0)
        return 0;
    fuzz_quiet();
    if (problems_read_file(
            fuzz_file(data + 1, size - 1),
            formats[data[0] % (sizeof formats / sizeof *formats)], on_problem,
            &bytes, &skipped, err, sizeof err) < 0)
        abort();
    return 0;
}
