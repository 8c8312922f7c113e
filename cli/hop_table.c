/*
** hop_table.c: printing store_hops' distributions (hop_table.h).
*/
#include "hop_table.h"


void
hop_table_print(FILE *f, const store_dist_t d[STORE_HOPS])
{
    /* The share of the steps' time: the hops before STORE_HOP_STEP are its
    ** parts (other: the rest), so they add up to it, rows older than v10
    ** aside. */
    int64_t whole = d[STORE_HOP_STEP].sum;
    fprintf(f, "%-17s %-6s %9s %10s %10s %10s %6s\n", "hop", "pool", "count",
            "p50 ms", "p99 ms", "max ms", "share");
    for (int h = 0; h < STORE_HOPS; h++) {
        const char *hop, *pool;
        store_hop_label((store_hop_t)h, &hop, &pool);
        fprintf(f, "%-17s %-6s %9lld", hop, pool, (long long)d[h].n);
        if (d[h].n == 0) {
            fprintf(f, " %10s %10s %10s\n", "-", "-", "-");
            continue;
        }
        fprintf(f, " %10.3f %10.3f %10.3f", (double)d[h].p50 / 1e3,
                (double)d[h].p99 / 1e3, (double)d[h].max / 1e3);
        if (h < STORE_HOP_STEP && whole > 0)
            fprintf(f, " %5.1f%%", 100.0 * (double)d[h].sum / (double)whole);
        fputc('\n', f);
    }
}


json_t *
hop_table_json(const store_dist_t d[STORE_HOPS])
{
    json_t *a = json_array();

    for (int h = 0; a != NULL && h < STORE_HOPS; h++) {
        const char *hop, *pool;
        store_hop_label((store_hop_t)h, &hop, &pool);
        json_t *o = json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "hop", hop, "pool", pool,
            "n", (json_int_t)d[h].n, "p50_us", (json_int_t)d[h].p50, "p99_us",
            (json_int_t)d[h].p99, "max_us", (json_int_t)d[h].max, "sum_us",
            (json_int_t)d[h].sum);
        if (o == NULL || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}
