/*
** sim_internal.h: declarations shared by the files of sim/, not part of the
** public contract (sim.h).
**
** Values.  Every quantity in a problem or a step is a fixed-point number in
** hundredths (int64_t, SIM_ONE = 1.00).  True values are always integers; a
** derailed trajectory can reach fractions (a wrong value that no longer
** divides evenly), which the models write with up to two decimals.
*/
#ifndef TRIM_SIM_INTERNAL_H
#define TRIM_SIM_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "errf.h"
#include "hash.h"
#include "sim.h"

#define SIM_ONE       100 /* fixed point: hundredths */
#define SIM_MAX_OPS   64  /* parser limit; generated problems have <= 30 */
#define SIM_MIN_STEPS 2   /* the solution-length pmf starts at 2 steps */
#define SIM_MAX_STEPS 30
/* Saturation bound of values (hundredths), far above any true value (<1e7),
** so a derailed value that grows without bound can never overflow. */
#define SIM_VALUE_MAX ((int64_t)1000000000000000)

/* Hash keys that separate the uses of one prompt hash. */
#define SIM_KEY_PROBLEM  0x70726f626c656dULL /* problem generator */
#define SIM_KEY_TEXT     0x74657874ULL       /* problem text bytes */
#define SIM_KEY_STEP     0x73746570ULL       /* one step's bytes */
#define SIM_KEY_CRITICAL 0x637269746963ULL   /* step hardness */
#define SIM_KEY_TOKENS   0x746f6b656e73ULL   /* completion length */
#define SIM_KEY_PRM      0x70726dULL         /* PRM score sampling */
#define SIM_KEY_CLASS    0x636c617373ULL     /* problem difficulty class */
#define SIM_KEY_REPAIR   0x726570616972ULL   /* strong repair of a derailment */
#define SIM_KEY_BLIND    0x626c696e64ULL     /* PRM missing a wrong step */
#define SIM_KEY_NOISE    0x6e6f697365ULL     /* PRM unable to tell */

#define SIM_N_LENGTHS (SIM_MAX_STEPS - SIM_MIN_STEPS + 1)

struct sim_world {
    sim_params_t p;
    double err_rate[2][SIM_CLASSES][2]; /* [model][class][critical] */
    double class_cut[SIM_CLASSES];      /* cumulative class shares */
    double step_tokens[2][2];           /* mean tokens [model][critical] */
    double length_cdf[SIM_N_LENGTHS];   /* solution length, last = 1 */
    double length_mean;                 /* mean of that distribution */
    double pmf[3][SIM_BINS][SIM_BINS];  /* [state][minprev][cur] */
    double cdf[3][SIM_BINS][SIM_BINS];  /* cumulative pmf, last = 1 */
};

/* Operation kinds.  ADD2/SUB2 only appear in a wrong step's expression
** (a + b where a * b was meant). */
typedef enum {
    SIM_OP_ADD,  /* v + a */
    SIM_OP_ADDG, /* v + a * b (a groups of b) */
    SIM_OP_SUB,  /* v - a */
    SIM_OP_SUBG, /* v - a * b */
    SIM_OP_MUL,  /* v * a */
    SIM_OP_DIV,  /* v / a */
    SIM_OP_ADD2, /* v + a + b */
    SIM_OP_SUB2  /* v - a - b */
} sim_opkind_t;

/* A piece of some text, not NUL-terminated. */
typedef struct {
    const char *s;
    size_t n;
} sim_span_t;

typedef struct {
    sim_opkind_t kind;
    int64_t a, b;      /* integer operands; b only for the group kinds */
    sim_span_t clause; /* the sentence without connector and final period */
} sim_op_t;

/* A problem text read back into its parts (spans point into the text). */
typedef struct {
    sim_span_t name, object;
    int gender;      /* 0: she/her, 1: he/his */
    int64_t initial; /* hundredths */
    int n_ops;
    sim_op_t ops[SIM_MAX_OPS];
} sim_text_t;

/* Words a template placeholder reads or writes. */
typedef struct {
    sim_span_t name, object, container;
    int gender;
    int n_nums;
    int64_t nums[2];
} sim_fill_t;

/* Sentence templates (templates.c). */
typedef struct {
    sim_opkind_t kind;
    const char *fmt;
} sim_tmpl_t;

extern const sim_tmpl_t sim_op_templates[];
extern const int sim_n_op_templates;
extern const char sim_intro_template[];
extern const char sim_question_template[];
extern const char *const sim_connectors[];
extern const int sim_n_connectors;
extern const char *const sim_subject_pronoun[2];

/* A bounded output buffer: never overflows, remembers that it was cut. */
typedef struct {
    char *p;
    size_t len, cap; /* cap includes the terminating NUL */
    int overflow;
} sim_buf_t;

/* text.c */
void sim_buf_init(sim_buf_t *b, char *mem, size_t cap);
void sim_buf_put(sim_buf_t *b, const char *s, size_t n);
void sim_buf_puts(sim_buf_t *b, const char *s);
void sim_buf_putc(sim_buf_t *b, char c);
void sim_buf_int(sim_buf_t *b, int64_t v);
void sim_buf_value(sim_buf_t *b, int64_t hundredths);
const char *sim_parse_value(const char *s, const char *end, int64_t *out);

/* templates.c */
void sim_tmpl_render(sim_buf_t *b, const char *fmt, const sim_fill_t *f);
long sim_tmpl_match(const char *fmt, const char *s, const char *end,
                    sim_fill_t *f);

/* arith.c */
int64_t sim_apply(sim_opkind_t kind, int64_t v, int64_t a, int64_t b);
void sim_truth(const sim_text_t *t, int64_t *truth);

/* parse.c */
int sim_text_parse(const char *text, sim_text_t *t, char *err, size_t errlen);
int sim_step_value(const char *step, int64_t *value);

/* length.c */
double sim_length_mean(void);
double sim_length_tilt(double mean_steps);
double sim_length_cdf(double tilt, double cdf[SIM_N_LENGTHS]);
int sim_length_sample(const sim_world_t *w, rng_t *r);

/* params.c, world.c */
int sim_params_check(const sim_params_t *p, char *err, size_t errlen);
void sim_params_rebase(sim_params_t *p, const sim_params_t *from);

/* prm_fit.c, calib.c */
void sim_fit_grid(double grid[3][SIM_BINS][SIM_BINS]);
int sim_calib_load(const char *path, double grid[3][SIM_BINS][SIM_BINS],
                   char *err, size_t errlen);

/* slip.c */
int64_t sim_slip(rng_t *r, const sim_op_t *op, int64_t v, int64_t right,
                 sim_opkind_t *shown);

/*
** cache.c: read problem into *t (spans point into problem) through cache c
** (may be NULL: parse every time), with *plen its length and *hp its
** sim_problem_hash.  Returns 0, or -1 with "not a simulated problem: ..."
** in err.
*/
int sim_cache_read(sim_cache_t *c, const char *problem, sim_text_t *t,
                   size_t *plen, uint64_t *hp, char *err, size_t errlen);

/* prompt.c */
uint64_t sim_problem_hash(const char *problem, size_t len);
uint64_t sim_step_hash_bytes(uint64_t h, const char *step, size_t *bytes);
int sim_prompt_tokens_of(size_t bytes);
int sim_step_critical(const sim_world_t *w, uint64_t problem_hash,
                      size_t index);
int sim_class_of(const sim_world_t *w, uint64_t problem_hash);
double sim_unit(uint64_t h, uint64_t key);

#endif
