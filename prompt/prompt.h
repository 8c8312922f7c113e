/*
** prompt.h: the prompts workers send to model servers, and reading them
** back; shared by workers/ (which render them) and the simulator's server
** (which reads them).
**
** A step request is a problem and the accepted steps.  For a completions
** server the worker renders the whole prompt itself; for a chat server it
** sends messages and lets the server template them, continuing the
** assistant's turn.  Either way the text follows the TRIM release:
**
**   user:      INSTRUCTION "\nQuestion: " PROBLEM
**   assistant: "Solution:\n\n"                      (before the first step)
**              "Solution: " S1 "\n\n" S2 "\n\n"     (after two steps)
**
** so the model's next output, cut at the step delimiter "\n\n", is the next
** step.  The PRM input is the Qwen2.5-Math-PRM format: system = the
** instruction, user = the problem, assistant = every step followed by
** "<extra_0>", and one score comes back per "<extra_0>".
**
** The parsers invert the renderers: `trim sim-server` reads prompts back
** into a problem and its steps to answer like the in-process simulator.
*/
#ifndef TRIM_PROMPT_H
#define TRIM_PROMPT_H

#include <stddef.h>

#define TPL_STEP_TAG "<extra_0>"

typedef enum {
    TPL_CHATML = 0, /* Qwen, and most models trained on ChatML */
    TPL_LLAMA3 = 1, /* Llama 3 instruct */
    TPL_RAW = 2     /* plain text, no chat markup */
} tpl_kind_t;

typedef struct tpl {
    tpl_kind_t kind;
    const char *system;      /* NULL: the template's default; "": none */
    const char *instruction; /* NULL: TPL_DEFAULT_INSTRUCTION */
} tpl_t;

/* The TRIM release's instruction (with single braces around X). */
extern const char TPL_DEFAULT_INSTRUCTION[];

/* The system prompt ChatML uses when none is given (Qwen2.5's default). */
extern const char TPL_QWEN_SYSTEM[];

/* Parse "chatml", "llama3" or "raw".  Returns 0, or -1 for other names. */
int tpl_parse_kind(const char *name, tpl_kind_t *out);

/* The name of a kind. */
const char *tpl_kind_name(tpl_kind_t kind);

/*
** The user message: instruction, "\nQuestion: ", problem.  The assistant
** prefix: "Solution:\n\n" or "Solution: " + steps joined by "\n\n" + "\n\n".
** The full completions prompt: both wrapped in the template's markup, with
** the assistant turn left open.  Each returns a malloc'd string, or NULL on
** allocation failure.
*/
char *tpl_user(const tpl_t *t, const char *problem);
char *tpl_assistant(const char *const *steps, size_t n);
char *tpl_prompt(const tpl_t *t, const char *problem, const char *const *steps,
                 size_t n);

/*
** The PRM's assistant message ("S1<extra_0>S2<extra_0>") and its full
** input, always ChatML whatever t->kind (the PRM is a Qwen model): system =
** the instruction, user = the problem, the turn closed, as
** Qwen2.5-Math-PRM expects.  malloc'd, or NULL.
*/
char *tpl_prm_assistant(const char *const *steps, size_t n);
char *tpl_prm_input(const tpl_t *t, const char *problem,
                    const char *const *steps, size_t n);

/* A problem and its steps read back from a prompt. */
typedef struct tpl_parsed {
    char *problem;
    char **steps;
    size_t n_steps;
} tpl_parsed_t;

/*
** Read a rendered completions prompt (any kind, recognised by its markup)
** back into *out.  Returns 0, or -1 with a reason in err.
*/
int tpl_parse_prompt(const char *prompt, tpl_parsed_t *out, char *err,
                     size_t errlen);

/* The same from chat messages: the user's text and the open assistant one. */
int tpl_parse_chat(const char *user, const char *assistant, tpl_parsed_t *out,
                   char *err, size_t errlen);

/*
** Read PRM input back: either the full ChatML text (assistant NULL) or the
** user and assistant messages.  The steps are the pieces ended by
** "<extra_0>".  Returns 0, or -1 with err.
*/
int tpl_parse_prm(const char *input_or_user, const char *assistant,
                  tpl_parsed_t *out, char *err, size_t errlen);

/* Free what a parse filled in; NULL-safe, idempotent. */
void tpl_parsed_clear(tpl_parsed_t *p);

#endif
