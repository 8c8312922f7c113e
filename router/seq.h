/*
** seq.h: the TRIM-Seq model: a small recurrent policy over the sequence of
** per-step observations, its GRU and its policy file.
**
** Where TRIM-Agg (agg.h) sees five aggregated features, TRIM-Seq reads the
** problem's routed steps one by one.  Each step's input, in this order:
**
**   x[0] = the draft's PRM score
**   x[1] = the draft's completion tokens / 300
**   x[2] = the 0-based step index / 30
**   x[3] = 1 when the previous routed step was regenerated, else 0
**
** A GRU folds them into a hidden state h (h_0 = 0); a head network reads
** [h_t, x_t] and gives two logits (keep, regenerate), like agg's actor.  The
** policy carries h_t and its action to the problem's next step in the
** route result's belief (hidden + 1 values), so any router decides alike.
** A critic of the same shape (training only) gives the expected return.
**
** The policy file is text, checked like agg's: magic and version, lambda,
** the input names, each network's GRU sizes and parameters and head sizes
** and parameters, and a checksum over everything before its line.
**
**   trim-seq 1
**   lambda 0.0008
**   inputs 4 score draft_tokens/300 step/30 prev_regenerated
**   actor.gru 4 8
**   <parameters, 8 a line>
**   actor.head 12 32 2
**   <parameters>
**   critic.gru 4 8
**   ...
**   critic.head 12 32 1
**   ...
**   checksum 0123456789abcdef
*/
#ifndef TRIM_SEQ_H
#define TRIM_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "mlp.h"
#include "policy.h"

#define SEQ_INPUTS      4
#define SEQ_MAGIC       "trim-seq"
#define SEQ_VERSION     1
#define SEQ_MAX_HIDDEN  (POLICY_MAX_BELIEF - 1) /* h and the last action */
#define SEQ_INPUT_NAMES "score draft_tokens/300 step/30 prev_regenerated"

/*
** A gated recurrent unit (Cho et al. 2014):
**   z = sigmoid(Wz x + Uz h + bz)       r = sigmoid(Wr x + Ur h + br)
**   n = tanh(Wn x + Un (r * h) + bn)    h' = (1 - z) * n + z * h
** params: W [3 hidden][inputs] (rows z, r, n), U [3 hidden][hidden], then
** b [3 hidden].
*/
typedef struct gru {
    int inputs, hidden;
    size_t n_params;
    float *params;
} gru_t;

/* Floats one step's trace holds: z, r, n and h'. */
#define GRU_TRACE(hidden) (4 * (size_t)(hidden))

/* A GRU with zero parameters; NULL with a reason in err. */
gru_t *gru_new(int inputs, int hidden, char *err, size_t errlen);

/* A deep copy, or NULL when out of memory. */
gru_t *gru_clone(const gru_t *g);

/* Free a GRU and clear the pointer; NULL-safe. */
void gru_destroy(gru_t **g);

/*
** One step from h (hidden values) and x (inputs): trace receives z, r, n and
** h' (GRU_TRACE floats); h' is its last hidden values.  No allocation.
*/
void gru_forward_trace(const gru_t *g, const float *h, const float *x,
                       float *trace);

/*
** Backward through one step: gh is dL/dh' (hidden values), h and x the
** step's inputs and trace its gru_forward_trace.  Adds the parameter
** gradient into grad (n_params doubles) and writes dL/dh into gh_prev.
*/
void gru_backward(const gru_t *g, const float *h, const float *x,
                  const float *trace, const double *gh, double *grad,
                  double *gh_prev);

/* An actor or a critic: a GRU and a head over [h, x]. */
typedef struct seq_net {
    gru_t *gru;
    mlp_t *head; /* hidden + SEQ_INPUTS inputs */
} seq_net_t;

typedef struct seq_model {
    double lambda;    /* penalty per strong token it was trained for */
    seq_net_t actor;  /* -> 2 logits (keep, regenerate) */
    seq_net_t critic; /* -> 1 value */
} seq_model_t;

/*
** A model with a GRU of `hidden` units (1..SEQ_MAX_HIDDEN) and heads of
** n_hidden layers of width units, every parameter zero.  NULL with err.
*/
seq_model_t *seq_model_new(int hidden, int n_hidden, int width, double lambda,
                           char *err, size_t errlen);

/* A deep copy, or NULL when out of memory. */
seq_model_t *seq_model_clone(const seq_model_t *m);

/* Free a model and clear the pointer; NULL-safe. */
void seq_model_destroy(seq_model_t **m);

/*
** A step's inputs from TRIM-Agg's features of the draft (agg.h: score,
** tokens and step are scaled alike) and whether the previous routed step
** was regenerated.  Routing and training both build inputs this way.
*/
void seq_input(const float agg_x[5], int prev_regenerated, float x[SEQ_INPUTS]);

/*
** One step of net: h (hidden values) and x give h' (hidden values) and the
** head's outputs (2 logits or 1 value) in out.
*/
void seq_net_step(const seq_net_t *net, const float *h, const float *x,
                  float *h_next, float *out);

/*
** Initialise m's parameters, seeded, as agg_init does its networks: small
** random weights, the actor head a soft threshold rule on the current score
** (threshold < 0: random), the critic's output bias 0.5.
*/
void seq_init(seq_model_t *m, double threshold, double sharpness,
              uint64_t seed);

/*
** Load a policy file, checking magic, version, checksum, inputs, sizes and
** that every number is finite.  0 with *out (the caller destroys it), or -1
** with err naming the file and the problem.
*/
int seq_model_load(const char *path, seq_model_t **out, char *err,
                   size_t errlen);

/* Write m to path atomically.  0, or -1 with err naming the file. */
int seq_model_save(const seq_model_t *m, const char *path, char *err,
                   size_t errlen);

#endif
