/*
** fuzz_envelope.c: one frame from a peer, as the coordinator and the
** workers read it (common/envelope.h).
**
** Both unpackers must agree on what they accept, and an accepted envelope
** must pack again into a frame that is accepted too.
*/
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "envelope.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static arena_t *arena;
    char err[256];
    Trim__Envelope *env, *in_arena, *again;
    zmq_msg_t msg;

    if (arena == NULL && (arena = arena_new(64 << 10)) == NULL)
        abort();
    env = env_unpack(data, size, err, sizeof err);
    in_arena = env_unpack_in(arena, data, size, err, sizeof err);
    if ((env == NULL) != (in_arena == NULL))
        abort();
    arena_reset(arena);
    if (env != NULL && env_pack(env, &msg) == 0) {
        again =
            env_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg), err, sizeof err);
        if (again == NULL)
            abort();
        env_destroy(&again);
        zmq_msg_close(&msg);
    }
    env_destroy(&env);
    return 0;
}
