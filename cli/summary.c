/*
** summary.c: printing the end-of-run summary (see summary.h).
*/
#include "summary.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>


double
summary_strong_share(const run_summary_t *s)
{
    int64_t all = s->weak_tokens + s->strong_tokens + s->discarded_tokens;
    return all > 0 ? (double)s->strong_tokens / (double)all : 0.0;
}


double
summary_accuracy(const run_summary_t *s)
{
    return s->graded > 0 ? (double)s->correct / (double)s->graded : 0.0;
}


static void
print_json(const run_summary_t *s)
{
    json_t *j = json_pack(
        "{s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I, s:f}",
        "run_id", (json_int_t)s->run_id, "policy", s->policy, "seed",
        (json_int_t)s->seed, s->db ? "db" : "coordinator",
        s->db ? s->db : s->coordinator, "problems", (json_int_t)s->problems,
        "finished", (json_int_t)s->finished, "failed", (json_int_t)s->failed,
        "correct", (json_int_t)s->correct, "accuracy", summary_accuracy(s),
        "steps", (json_int_t)s->steps, "routed_steps",
        (json_int_t)s->routed_steps, "regenerated_steps",
        (json_int_t)s->regenerated_steps, "weak_tokens",
        (json_int_t)s->weak_tokens, "strong_tokens",
        (json_int_t)s->strong_tokens, "discarded_tokens",
        (json_int_t)s->discarded_tokens, "prm_tokens",
        (json_int_t)s->prm_tokens, "strong_token_share",
        summary_strong_share(s));
    if (j != NULL && s->seconds >= 0)
        json_object_set_new(j, "elapsed_s", json_real(s->seconds));
    char *text =
        j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (text)
        puts(text);
    free(text);
    json_decref(j);
}


void
summary_print(const run_summary_t *s, int json)
{
    if (json) {
        print_json(s);
        return;
    }
    printf("run %lld   policy %s   seed %llu   %s %s\n", (long long)s->run_id,
           s->policy, (unsigned long long)s->seed,
           s->db ? "database" : "coordinator", s->db ? s->db : s->coordinator);
    printf("  problems            %lld (%lld finished, %lld failed)\n",
           (long long)s->problems, (long long)s->finished,
           (long long)s->failed);
    printf("  accuracy            %.3f (%lld of %lld graded correct)\n",
           summary_accuracy(s), (long long)s->correct, (long long)s->graded);
    printf("  steps               %lld accepted, %lld routed, %lld "
           "regenerated\n",
           (long long)s->steps, (long long)s->routed_steps,
           (long long)s->regenerated_steps);
    printf("  tokens              weak %lld, strong %lld, discarded draft "
           "%lld, PRM input %lld\n",
           (long long)s->weak_tokens, (long long)s->strong_tokens,
           (long long)s->discarded_tokens, (long long)s->prm_tokens);
    printf("  strong-token share  %.3f of generated tokens\n",
           summary_strong_share(s));
    if (s->seconds > 0)
        printf("  elapsed             %.2f s (%.0f routed steps/s)\n",
               s->seconds, (double)s->routed_steps / s->seconds);
}
