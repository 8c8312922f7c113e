/*
** train_loop.c: the run-and-update loop of TRIM-Agg and TRIM-Seq (see
** train_runs.h); what differs between them is the kind (train_kinds.c).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errf.h"
#include "store.h"
#include "train_runs.h"

#define VAL_SEED_OFFSET 1000003
#define SPEC_MAX        64 /* policy specs are short: agg:FILE, seq:FILE */

/* The loop's kind of model. */
static const train_kind_t *
kind_of(const agg_loop_opts_t *o)
{
    return o->kind ? o->kind : &train_kind_agg;
}

typedef struct paths {
    char dir[256];
    char cur[320], spec[SPEC_MAX], explore_db[320], val_db[320];
    int made_dir;
} paths_t;


/* The work folder and the files in it; 0 or -1 with err. */
static int
paths_make(paths_t *p, const char *work_dir, const char *kind, char *err,
           size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (work_dir != NULL) {
        snprintf(p->dir, sizeof p->dir, "%s", work_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        if (tmp == NULL || *tmp == '\0' || strlen(tmp) > 24)
            tmp = "/tmp";
        snprintf(p->dir, sizeof p->dir, "%s/trim-%s-XXXXXX", tmp, kind);
        if (mkdtemp(p->dir) == NULL)
            return errf(err, errlen, "cannot make a temporary folder in %s",
                        tmp);
        p->made_dir = 1;
    }
    snprintf(p->cur, sizeof p->cur, "%s/cur.%s", p->dir, kind);
    snprintf(p->explore_db, sizeof p->explore_db, "%s/explore.db", p->dir);
    snprintf(p->val_db, sizeof p->val_db, "%s/val.db", p->dir);
    if ((size_t)snprintf(p->spec, sizeof p->spec, "%s:%s", kind, p->cur) >=
        sizeof p->spec)
        return errf(err, errlen,
                    "work folder %s: path too long for a policy spec (at "
                    "most %d bytes with %s: and /cur.%s)",
                    p->dir, SPEC_MAX - 1, kind, kind);
    return 0;
}


/* Remove the files and the folder paths_make made (not a given one). */
static void
paths_remove(paths_t *p)
{
    if (!p->made_dir)
        return;
    unlink(p->cur);
    store_remove(p->explore_db);
    store_remove(p->val_db);
    rmdir(p->dir);
}


/* Solve problems of set seed with the policy spec in a fresh store db. */
static int
run(const agg_loop_opts_t *o, const char *spec, int explore, uint64_t seed,
    int64_t problems, const char *db, agg_run_stats_t *st, char *err,
    size_t errlen)
{
    store_remove(db);
    memset(st, 0, sizeof *st);
    return o->runner.run(o->runner.ctx, spec, explore, seed, problems, db, st,
                         err, errlen);
}


/*
** Evaluate the greedy policy in the file at path on the validation set;
** the audit goes to p->val_db (removed afterwards).  Returns 0 with *pt
** filled, or -1 with err.
*/
static int
evaluate(const agg_loop_opts_t *o, const paths_t *p, const char *path,
         uint64_t seed, agg_point_t *pt, char *err, size_t errlen)
{
    char spec[SPEC_MAX];
    agg_run_stats_t st;
    int rc;

    if ((size_t)snprintf(spec, sizeof spec, "%s:%s", kind_of(o)->name, path) >=
        sizeof spec)
        return errf(err, errlen, "%s: path too long for a policy spec", path);
    rc = run(o, spec, 0, seed, o->val_problems, p->val_db, &st, err, errlen);
    store_remove(p->val_db);
    if (rc == 0) {
        double n = st.problems > 0 ? (double)st.problems : 1.0;
        pt->accuracy = (double)st.correct / n;
        pt->strong_per_problem = (double)st.strong_tokens / n;
        pt->objective = pt->accuracy - o->lambda * pt->strong_per_problem;
    }
    return rc;
}


/* One exploring run and one PPO update of m; 0 or -1 with err. */
static int
improve(void *m, const agg_loop_opts_t *o, const paths_t *p, int it,
        ppo_stats_t *st, agg_read_info_t *info, char *err, size_t errlen)
{
    agg_batch_t batch = {0};
    agg_run_stats_t rs;
    ppo_opts_t po = o->ppo;
    double left = 1.0 - (double)(it - 1) / (double)o->iterations;
    int rc = -1;

    if (run(o, p->spec, 1, o->seed + (uint64_t)it, o->problems, p->explore_db,
            &rs, err, errlen) < 0 ||
        agg_episodes_read(p->explore_db, rs.run_id, o->lambda, &batch, info,
                          err, errlen) < 0)
        goto done;
    po.lr = o->ppo.lr * left;
    po.entropy_coef = o->ppo.entropy_coef * (0.1 + 0.9 * left);
    po.seed = o->ppo.seed + (uint64_t)it;
    if (kind_of(o)->update(m, &batch, &po, st, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    store_remove(p->explore_db);
    agg_batch_clear(&batch);
    return rc;
}


/*
** Replace *m by the threshold rule (the kind's init) with the best greedy
** validation objective; *pt receives its point.
*/
static int
sweep_start(const agg_loop_opts_t *o, const paths_t *p, uint64_t val_seed,
            void *m, agg_point_t *pt, char *err, size_t errlen)
{
    const train_kind_t *k = kind_of(o);
    static const double ks[] = {0.05, 0.1, 0.2,  0.3,  0.4, 0.5,  0.6,  0.7,
                                0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96};
    double best_k = -1;
    agg_point_t q;
    _Static_assert(sizeof ks / sizeof *ks == AGG_SWEEP_RUNS, "the sweep");

    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        k->init(m, ks[i], o->sharpness, o->init_seed);
        if (k->save(m, p->cur, err, errlen) < 0 ||
            evaluate(o, p, p->cur, val_seed, &q, err, errlen) < 0)
            return -1;
        if (best_k < 0 || q.objective > pt->objective) {
            *pt = q;
            best_k = ks[i];
        }
    }
    k->init(m, best_k, o->sharpness, o->init_seed);
    if (o->log)
        fprintf(o->log, "start: the best threshold rule is %g\n", best_k);
    return 0;
}


/*
** PPO optimises a stochastic policy; the router acts greedily.  Shift the
** best policy's decision boundary by the logit offset that maximises the
** greedy validation objective (offset 0 wins ties), and write it back.
*/
static int
calibrate(const agg_loop_opts_t *o, const paths_t *p, uint64_t val_seed,
          agg_loop_result_t *res, char *err, size_t errlen)
{
    static const double offsets[] = {-3,  -2,  -1.5, -1,  -0.6, -0.3,
                                     0.3, 0.6, 1,    1.5, 2,    3};
    const train_kind_t *k = kind_of(o);
    void *base = NULL, *m = NULL;
    agg_point_t pt, best = res->best;
    _Static_assert(sizeof offsets / sizeof *offsets == AGG_CALIBRATION_RUNS,
                   "the calibration");
    double best_offset = 0;
    int rc = -1;

    if (k->load(o->out, &base, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        k->destroy(m);
        if ((m = k->clone(base)) == NULL) {
            errf(err, errlen, "out of memory");
            goto done;
        }
        k->shift_logit(m, offsets[i]);
        if (k->save(m, p->cur, err, errlen) < 0 ||
            evaluate(o, p, p->cur, val_seed, &pt, err, errlen) < 0)
            goto done;
        if (pt.objective > best.objective) {
            best = pt;
            best_offset = offsets[i];
        }
    }
    if (best_offset != 0) {
        k->shift_logit(base, best_offset);
        if (k->save(base, o->out, err, errlen) < 0)
            goto done;
    }
    if (o->log)
        fprintf(o->log,
                "calibrated: logit offset %+.1f  val acc %.4f  "
                "strong/problem %7.1f  objective %.4f\n",
                best_offset, best.accuracy, best.strong_per_problem,
                best.objective);
    res->best = best;
    res->offset = best_offset;
    rc = 0;
done:
    k->destroy(base);
    k->destroy(m);
    return rc;
}


/*
** The first policy: o->start, or with o->sweep the best threshold rule.
** It is evaluated (*pt) and written to the work file and to o->out.
*/
static int
first_policy(const agg_loop_opts_t *o, const paths_t *p, uint64_t val_seed,
             void *m, agg_point_t *pt, char *err, size_t errlen)
{
    const train_kind_t *k = kind_of(o);

    if (o->sweep) {
        if (sweep_start(o, p, val_seed, m, pt, err, errlen) < 0)
            return -1;
    } else if (k->save(m, p->cur, err, errlen) < 0 ||
               evaluate(o, p, p->cur, val_seed, pt, err, errlen) < 0) {
        return -1;
    }
    if (k->save(m, p->cur, err, errlen) < 0 ||
        k->save(m, o->out, err, errlen) < 0)
        return -1;
    if (o->log)
        fprintf(o->log,
                "iteration %3d of %d  val acc %.4f  strong/problem %7.1f  "
                "objective %.4f  (initial)\n",
                0, o->iterations, pt->accuracy, pt->strong_per_problem,
                pt->objective);
    return 0;
}


/*
** Iteration it: improve m, evaluate it, and keep it in o->out when it beats
** res->best.  *better tells whether it did.  0 or -1 with err.
*/
static int
iterate(const agg_loop_opts_t *o, const paths_t *p, uint64_t val_seed, int it,
        void *m, agg_loop_result_t *res, int *better, char *err, size_t errlen)
{
    ppo_stats_t st = {0};
    agg_read_info_t info = {0};
    agg_point_t pt;

    if (improve(m, o, p, it, &st, &info, err, errlen) < 0 ||
        kind_of(o)->save(m, p->cur, err, errlen) < 0 ||
        evaluate(o, p, p->cur, val_seed, &pt, err, errlen) < 0)
        return -1;
    res->iterations = it;
    *better = pt.objective > res->best.objective;
    if (*better) {
        if (kind_of(o)->save(m, o->out, err, errlen) < 0)
            return -1;
        res->best = pt;
        res->best_iteration = it;
    }
    if (o->log) {
        fprintf(o->log,
                "iteration %3d of %d  val acc %.4f  strong/problem %7.1f  "
                "objective %.4f%s  | explore acc %.3f strong %.1f  kl %.4f  "
                "entropy %.3f\n",
                it, o->iterations, pt.accuracy, pt.strong_per_problem,
                pt.objective, *better ? "  best" : "", info.accuracy,
                info.strong_per_problem, st.approx_kl, st.entropy);
        fflush(o->log);
    }
    return 0;
}


int
agg_train_loop(const agg_loop_opts_t *o, agg_loop_result_t *res, char *err,
               size_t errlen)
{
    paths_t p;
    const train_kind_t *k = kind_of(o);
    void *m = NULL;
    uint64_t val_seed = o->seed + VAL_SEED_OFFSET;
    int rc = -1, since = 0;

    memset(res, 0, sizeof *res);
    if (paths_make(&p, o->work_dir, k->name, err, errlen) < 0)
        return -1;
    if ((m = k->clone(o->start)) == NULL) {
        errf(err, errlen, "out of memory");
        goto done;
    }
    *k->lambda(m) = o->lambda;
    if (o->on_iteration)
        o->on_iteration(o->on_iteration_ctx, 0);
    if (first_policy(o, &p, val_seed, m, &res->initial, err, errlen) < 0)
        goto done;
    res->saved = 1;
    res->best = res->initial;
    for (int it = 1; it <= o->iterations; it++) {
        int better;
        if (o->on_iteration)
            o->on_iteration(o->on_iteration_ctx, it);
        if (iterate(o, &p, val_seed, it, m, res, &better, err, errlen) < 0)
            goto done;
        since = better ? 0 : since + 1;
        if (o->patience > 0 && since >= o->patience)
            break;
    }
    if (o->calibrate && o->on_iteration)
        o->on_iteration(o->on_iteration_ctx, o->iterations + 1);
    if (o->calibrate && calibrate(o, &p, val_seed, res, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    k->destroy(m);
    paths_remove(&p);
    return rc;
}
