/*
** queue.c: the rows waiting for the writer, copied into chunks.
**
** A producer's record and every string it points to are copied into the
** tail chunk, so the producer may reuse its buffers as soon as put returns.
** Allocating and freeing one block per row from two threads made glibc's
** heap grow and shrink under the writer (page faults and TLB shootdowns cost
** more than SQLite did); chunks are allocated once and cycle between the
** queue and the spare list instead.
*/
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN(n)                                                               \
    (((n) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))


static size_t
s_len(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}


size_t
store_rec_size(store_rec_type_t type, const void *rec)
{
    const store_rec_layout_t *l = store_rec_layout(type);
    size_t n = 0;

    for (size_t i = 0; i < l->n_strings; i++)
        n += s_len(*(const char *const *)((const char *)rec + l->strings[i]));
    return ALIGN(sizeof(store_rec_t) + n);
}


/* Copy s to *at, advance *at, return the copy (NULL stays NULL). */
static const char *
s_copy(char **at, const char *s)
{
    char *out;
    size_t n;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    out = memcpy(*at, s, n);
    *at += n;
    return out;
}


/* Copy the record and its strings into r (sized by store_rec_size). */
static void
s_fill(store_rec_t *r, store_rec_type_t type, const void *rec)
{
    const store_rec_layout_t *l = store_rec_layout(type);
    char *at = r->strings;

    r->type = type;
    memcpy(&r->u, rec, l->size);
    for (size_t i = 0; i < l->n_strings; i++) {
        const char **f = store_rec_string(&r->u, l->strings[i]);
        *f = s_copy(&at, *f);
    }
}


/* A chunk with room for size more bytes at the tail, or NULL. */
static store_chunk_t *
s_room(store_queue_t *q, size_t size)
{
    store_chunk_t *c = q->tail;
    size_t cap = size > STORE_CHUNK_BYTES ? size : STORE_CHUNK_BYTES;

    if (c != NULL && c->cap - c->used >= size)
        return c;
    if (q->spare != NULL && q->spare->cap >= size) {
        c = q->spare;
        q->spare = c->next;
        q->nspare--;
    } else {
        c = malloc(sizeof *c + cap);
        if (c == NULL)
            return NULL;
        c->cap = cap;
    }
    c->next = NULL;
    c->used = 0;
    if (q->tail != NULL)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    return c;
}


int
store_queue_push(store_queue_t *q, store_rec_type_t type, const void *rec,
                 size_t size, int64_t ticket)
{
    store_chunk_t *c;
    store_rec_t *r;

    if (size > UINT32_MAX || (c = s_room(q, size)) == NULL)
        return -1;
    r = (store_rec_t *)(c->data + c->used);
    s_fill(r, type, rec);
    r->size = (uint32_t)size;
    r->ticket = ticket;
    c->used += size;
    q->rows++;
    return 0;
}


store_chunk_t *
store_queue_take(store_queue_t *q)
{
    store_chunk_t *c = q->head;

    q->head = q->tail = NULL;
    q->rows = 0;
    return c;
}


void
store_queue_recycle(store_queue_t *q, store_chunk_t *c)
{
    /* Oversized chunks (a huge row) are not worth keeping. */
    if (q->nspare >= q->max_spare || c->cap != STORE_CHUNK_BYTES) {
        free(c);
        return;
    }
    c->next = q->spare;
    q->spare = c;
    q->nspare++;
}


void
store_chunks_destroy(store_chunk_t **list)
{
    store_chunk_t *c = *list;

    while (c != NULL) {
        store_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    *list = NULL;
}


void
store_queue_clear(store_queue_t *q)
{
    store_chunks_destroy(&q->head);
    store_chunks_destroy(&q->spare);
    q->tail = NULL;
    q->nspare = q->rows = 0;
}
