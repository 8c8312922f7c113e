/*
** backend_openai.h: step generation over OpenAI-compatible HTTP servers
** (vLLM, SGLang, llama.cpp's llama-server, Ollama, TGI).
**
** openai:      POST {base}/v1/completions with the prompt rendered here
**              (template.h), stop ["\n\n"]: what the TRIM release sends.
** openai-chat: POST {base}/v1/chat/completions with [system], user and the
**              open assistant turn, continue_final_message: the server
**              applies the model's own chat template.
**
** Both send model, max_tokens (the request's, capped by opts->max_tokens),
** temperature, top_p and seed from the request (the seed makes vLLM
** reproducible and `trim sim-server` answer exactly as the in-process
** simulator), and top_k when set.  The seed is the request's 64-bit seed
** reinterpreted as a signed JSON integer (vLLM's range); a server reads it
** back with a cast to uint64.
*/
#ifndef TRIM_BACKEND_OPENAI_H
#define TRIM_BACKEND_OPENAI_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "http_opts.h"

/*
** A generation backend on opts->base_url (opts is copied).  credit is the
** worker's credit: calls and connections at once.  Named
** "openai:BASE_URL" / "openai-chat:BASE_URL".  Returns NULL with a reason
** in err (bad settings, an API key variable or file that cannot be read).
*/
backend_t *backend_openai_new(const http_backend_opts_t *opts, uint32_t credit,
                              char *err, size_t errlen);
backend_t *backend_openai_chat_new(const http_backend_opts_t *opts,
                                   uint32_t credit, char *err, size_t errlen);

#endif
