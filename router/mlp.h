/*
** mlp.h: a small multi-layer perceptron, forward pass only.
**
** Layers are fully connected; hidden layers use tanh (a rational
** approximation within 4e-7 of it, see mlp.c), the last layer is linear.  All
*parameters live in one array (per layer: the weights, row
** major [out][in], then the biases), so a trainer can treat them as one
** vector.  The forward pass does no allocation and is safe to call from any
** number of threads on one network.
*/
#ifndef TRIM_MLP_H
#define TRIM_MLP_H

#include <stddef.h>

#define MLP_MAX_LAYERS 4   /* weight layers */
#define MLP_MAX_WIDTH  256 /* units in any layer, inputs included */

typedef struct mlp {
    int n_layers; /* weight layers, 1..MLP_MAX_LAYERS */
    int size[MLP_MAX_LAYERS +
             1]; /* size[0] inputs ... size[n_layers] outputs */
    size_t n_params;
    float *params; /* owned; see the layout above */
} mlp_t;

/*
** A network with n_layers weight layers and the given sizes (n_layers + 1 of
** them, each in 1..MLP_MAX_WIDTH), parameters all zero.  Returns NULL with a
** reason in err.
*/
mlp_t *mlp_new(int n_layers, const int *size, char *err, size_t errlen);

/* A deep copy of m, or NULL when out of memory. */
mlp_t *mlp_clone(const mlp_t *m);

/* Free a network and clear the pointer; NULL-safe. */
void mlp_destroy(mlp_t **m);

/* Offsets into params of layer l's weights and biases. */
size_t mlp_weight_offset(const mlp_t *m, int layer);
size_t mlp_bias_offset(const mlp_t *m, int layer);

/* Units over all layers, inputs included: the size of a trace. */
size_t mlp_trace_size(const mlp_t *m);

/*
** Forward pass keeping every layer's activations in trace (mlp_trace_size
** floats: the inputs, each hidden layer after tanh, then the outputs), for
** a trainer's backward pass.  The outputs are the last size[n_layers].
*/
void mlp_forward_trace(const mlp_t *m, const float *in, float *trace);

/* Forward pass: out receives size[n_layers] values. */
void mlp_forward(const mlp_t *m, const float *in, float *out);

#endif
