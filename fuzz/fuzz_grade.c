/*
** fuzz_grade.c: answer extraction and equivalence (eval/grade.h) on text
** from a model.
**
** The input up to its first NUL byte is a solution and a prediction; the
** rest is a ground truth.  The solution is also read as steps, one a line.
** (An answer need not equal itself: one that does not parse, "\\text{"
** say, is "not equal" by the rules.)
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "grade.h"

#define MAX_STEPS 16


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t n_first = nul ? (size_t)(nul - data) : size;
    char *first = fuzz_string(data, n_first);
    char *truth = nul ? fuzz_string(nul + 1, size - n_first - 1) : NULL;
    char answer[GRADE_MAX_ANSWER + 1], *steps[MAX_STEPS], *line, *save;
    size_t n = 0;

    grade_extract(first, answer, sizeof answer);
    grade_equal(answer, answer);
    grade_equal(first, truth);
    grade_equal(truth, first);
    grade_equal(answer, truth);
    for (line = strtok_r(first, "\n", &save); line != NULL && n < MAX_STEPS;
         line = strtok_r(NULL, "\n", &save))
        steps[n++] = line;
    grade_extract_steps((const char *const *)steps, n, answer, sizeof answer);
    free(first);
    free(truth);
    return 0;
}
