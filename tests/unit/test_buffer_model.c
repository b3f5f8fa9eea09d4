/*
 * test_buffer_model.c - the buffer against a model of itself.
 *
 * A fixed-seed generator picks random operations, with random arguments,
 * for a handful of live buffers (originals and views of them). Each one
 * runs on the real buffer and on a model written in the plainest possible
 * way: an array, three indexes and a mark, with Java's rules spelled out
 * one by one. After every operation the two must agree on the status, on
 * whatever was read, and on the indexes, mark, order and bytes of every
 * live buffer. One TAP line per batch keeps the output short.
 *
 * Usage: test_buffer_model [SEED] (a decimal or 0x number; the default is
 * fixed, so that a failure is reproducible).
 */
#include "01-buffer/buffer.h"
#include "tap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SEED  UINT64_C(0x5eed0001c0ffee)
#define BATCHES       100
#define OPS_PER_BATCH 1000
#define HANDLES       6
#define MAX_CAP       24
#define HUGE_INDEX    1000 /* the model's stand-in for "far too big" */

/* --- xorshift64*: small, fast, and the same everywhere --------------- */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t next(rng *r)
{
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * UINT64_C(2685821657736338717);
}

static size_t below(rng *r, size_t n)
{
    return (size_t)(next(r) % n);
}

/* An index or a length: mostly near the buffer's size, sometimes huge,
 * to reach the overflow checks. */
static size_t any_size(rng *r, size_t cap)
{
    size_t k = below(r, 20);
    if (k == 0)
        return SIZE_MAX - below(r, 3);
    if (k == 1)
        return (SIZE_MAX >> 1) + below(r, 3);
    return below(r, cap + 4);
}

/* --- the model ---------------------------------------------------------- */

typedef struct model {
    uint8_t *bytes; /* index 0 of this buffer, inside a shared array */
    size_t cap, lim, pos;
    long mark; /* -1: no mark */
    bool little, ro;
} model;

/* The model never does arithmetic on a huge argument: every value above
 * HUGE_INDEX behaves the same, since no buffer is that big. */
static size_t clamp(size_t v)
{
    return v > HUGE_INDEX ? HUGE_INDEX : v;
}

static buffer_status m_set_position(model *m, size_t p)
{
    p = clamp(p);
    if (p > m->lim)
        return BUFFER_BAD_ARGUMENT;
    if (m->mark > (long)p)
        m->mark = -1;
    m->pos = p;
    return BUFFER_OK;
}

static buffer_status m_set_limit(model *m, size_t l)
{
    l = clamp(l);
    if (l > m->cap)
        return BUFFER_BAD_ARGUMENT;
    m->lim = l;
    if (m->pos > l)
        m->pos = l;
    if (m->mark > (long)l)
        m->mark = -1;
    return BUFFER_OK;
}

static buffer_status m_reset(model *m)
{
    if (m->mark < 0)
        return BUFFER_INVALID_MARK;
    m->pos = (size_t)m->mark;
    return BUFFER_OK;
}

static buffer_status m_compact(model *m)
{
    if (m->ro)
        return BUFFER_READ_ONLY;
    size_t n = m->lim - m->pos;
    for (size_t i = 0; i < n; i++) /* forwards: the target is lower */
        m->bytes[i] = m->bytes[m->pos + i];
    m->pos = n;
    m->lim = m->cap;
    m->mark = -1;
    return BUFFER_OK;
}

static buffer_status m_get_bytes(model *m, uint8_t *dst, size_t n)
{
    n = clamp(n);
    if (m->pos + n > m->lim)
        return BUFFER_UNDERFLOW;
    uint8_t tmp[HUGE_INDEX];
    for (size_t i = 0; i < n; i++)
        tmp[i] = m->bytes[m->pos + i];
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[i];
    m->pos += n;
    return BUFFER_OK;
}

static buffer_status m_put_bytes(model *m, const uint8_t *src, size_t n)
{
    n = clamp(n);
    if (m->ro)
        return BUFFER_READ_ONLY;
    if (m->pos + n > m->lim)
        return BUFFER_OVERFLOW;
    uint8_t tmp[HUGE_INDEX];
    for (size_t i = 0; i < n; i++)
        tmp[i] = src[i];
    for (size_t i = 0; i < n; i++)
        m->bytes[m->pos + i] = tmp[i];
    m->pos += n;
    return BUFFER_OK;
}

static buffer_status m_get_bytes_at(const model *m, size_t at, uint8_t *dst,
                                    size_t n)
{
    at = clamp(at);
    n = clamp(n);
    if (at + n > m->lim)
        return BUFFER_INDEX_OUT_OF_RANGE;
    uint8_t tmp[HUGE_INDEX];
    for (size_t i = 0; i < n; i++)
        tmp[i] = m->bytes[at + i];
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[i];
    return BUFFER_OK;
}

static buffer_status m_put_bytes_at(model *m, size_t at, const uint8_t *src,
                                    size_t n)
{
    at = clamp(at);
    n = clamp(n);
    if (m->ro)
        return BUFFER_READ_ONLY;
    if (at + n > m->lim)
        return BUFFER_INDEX_OUT_OF_RANGE;
    uint8_t tmp[HUGE_INDEX];
    for (size_t i = 0; i < n; i++)
        tmp[i] = src[i];
    for (size_t i = 0; i < n; i++)
        m->bytes[at + i] = tmp[i];
    return BUFFER_OK;
}

static buffer_status m_put_buffer(model *dst, model *src)
{
    if (dst->ro)
        return BUFFER_READ_ONLY;
    if (dst == src)
        return BUFFER_BAD_ARGUMENT;
    size_t n = src->lim - src->pos;
    if (dst->pos + n > dst->lim)
        return BUFFER_OVERFLOW;
    uint8_t tmp[MAX_CAP];
    for (size_t i = 0; i < n; i++)
        tmp[i] = src->bytes[src->pos + i];
    for (size_t i = 0; i < n; i++)
        dst->bytes[dst->pos + i] = tmp[i];
    src->pos += n;
    dst->pos += n;
    return BUFFER_OK;
}

/* Integers as Java lays them out: big-endian is the value's bytes from the
 * most significant down; little-endian is the same list reversed. */
static void m_encode(const model *m, uint8_t *out, int64_t value, size_t n)
{
    uint64_t u = (uint64_t)value;
    uint8_t be[8];
    for (size_t i = 0; i < n; i++)
        be[n - 1 - i] = (uint8_t)((u >> (8 * i)) & 0xff);
    for (size_t i = 0; i < n; i++)
        out[i] = m->little ? be[n - 1 - i] : be[i];
}

static int64_t m_decode(const model *m, const uint8_t *in, size_t n)
{
    uint64_t u = 0;
    for (size_t i = 0; i < n; i++)
        u = (u << 8) | (m->little ? in[n - 1 - i] : in[i]);
    if (n < 8 && u >= (UINT64_C(1) << (8 * n - 1)))
        u |= ~UINT64_C(0) << (8 * n); /* sign-extend */
    int64_t v;
    memcpy(&v, &u, sizeof v); /* int64_t is two's complement */
    return v;
}

static buffer_status m_get_int(model *m, size_t n, int64_t *out)
{
    uint8_t raw[8];
    buffer_status s = m_get_bytes(m, raw, n);
    if (s == BUFFER_OK)
        *out = m_decode(m, raw, n);
    return s;
}

static buffer_status m_put_int(model *m, size_t n, int64_t value)
{
    uint8_t raw[8];
    m_encode(m, raw, value, n);
    return m_put_bytes(m, raw, n);
}

static buffer_status m_get_int_at(const model *m, size_t at, size_t n,
                                  int64_t *out)
{
    uint8_t raw[8];
    buffer_status s = m_get_bytes_at(m, at, raw, n);
    if (s == BUFFER_OK)
        *out = m_decode(m, raw, n);
    return s;
}

static buffer_status m_put_int_at(model *m, size_t at, size_t n, int64_t value)
{
    uint8_t raw[8];
    m_encode(m, raw, value, n);
    return m_put_bytes_at(m, at, raw, n);
}

static bool m_equals(const model *a, const model *b)
{
    if (a->lim - a->pos != b->lim - b->pos)
        return false;
    for (size_t i = 0; i < a->lim - a->pos; i++)
        if (a->bytes[a->pos + i] != b->bytes[b->pos + i])
            return false;
    return true;
}

static int m_compare(const model *a, const model *b)
{
    size_t na = a->lim - a->pos, nb = b->lim - b->pos;
    for (size_t i = 0; i < na && i < nb; i++) {
        int x = a->bytes[a->pos + i], y = b->bytes[b->pos + i];
        x = x >= 128 ? x - 256 : x; /* Java's byte is signed */
        y = y >= 128 ? y - 256 : y;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return na < nb ? -1 : na > nb ? 1 : 0;
}

static model m_view(const model *m, size_t offset, size_t cap)
{
    model v = {m->bytes + offset, cap, cap, 0, -1, false, m->ro};
    return v;
}

/* --- the pairs ------------------------------------------------------- */

typedef struct pair {
    buffer *real; /* NULL: this slot is free */
    model model;
} pair;

/* Every block of memory either side ever used; freed at the very end so
 * that the model's views never dangle. The real side's blocks from
 * buffer_allocate are freed by buffer_free as usual. */
typedef struct arena {
    uint8_t **blocks;
    size_t count, size;
} arena;

static uint8_t *arena_new(arena *a, size_t n)
{
    if (a->count == a->size) {
        a->size = a->size ? 2 * a->size : 64;
        uint8_t **grown = realloc(a->blocks, a->size * sizeof *grown);
        if (grown == NULL)
            abort(); /* out of memory in a test: nothing to recover */
        a->blocks = grown;
    }
    uint8_t *p = calloc(n + 1, 1);
    if (p == NULL)
        abort();
    a->blocks[a->count++] = p;
    return p;
}

static void arena_free(arena *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->blocks[i]);
    free(a->blocks);
}

/* The first difference between a real buffer and its model, or NULL. */
static const char *differs(pair *p)
{
    buffer *b = p->real;
    const model *m = &p->model;
    size_t mark = 0;
    bool marked = buffer_mark_value(b, &mark);
    if (!buffer_invariant_holds(b))
        return "the invariant";
    if (buffer_capacity(b) != m->cap)
        return "capacity";
    if (buffer_limit(b) != m->lim)
        return "limit";
    if (buffer_position(b) != m->pos)
        return "position";
    if (buffer_remaining(b) != m->lim - m->pos)
        return "remaining";
    if (marked != (m->mark >= 0) || (marked && (long)mark != m->mark))
        return "mark";
    if ((buffer_get_order(b) == BUFFER_LITTLE_ENDIAN) != m->little)
        return "order";
    if (buffer_is_read_only(b) != m->ro || (buffer_array(b) == NULL) != m->ro)
        return "read-only";
    if (m->cap > 0 && memcmp(buffer_const_array(b), m->bytes, m->cap) != 0)
        return "bytes";
    return NULL;
}

enum op {
    OP_SET_POSITION,
    OP_SET_LIMIT,
    OP_MARK,
    OP_RESET,
    OP_CLEAR,
    OP_FLIP,
    OP_REWIND,
    OP_COMPACT,
    OP_ORDER,
    OP_GET,
    OP_PUT,
    OP_GET_AT,
    OP_PUT_AT,
    OP_GET_BYTES,
    OP_PUT_BYTES,
    OP_GET_BYTES_AT,
    OP_PUT_BYTES_AT,
    OP_GET_OWN,
    OP_PUT_OWN,
    OP_PUT_BUFFER,
    OP_GET_INT,
    OP_PUT_INT,
    OP_GET_INT_AT,
    OP_PUT_INT_AT,
    OP_COMPARE,
    OP_SLICE,
    OP_SLICE_RANGE,
    OP_DUPLICATE,
    OP_READ_ONLY,
    OP_ALLOCATE,
    OP_WRAP,
    OP_FREE,
    OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "set_position", "set_limit",    "mark",       "reset",        "clear",
    "flip",         "rewind",       "compact",    "set_order",    "get",
    "put",          "get_at",       "put_at",     "get_bytes",    "put_bytes",
    "get_bytes_at", "put_bytes_at", "get_own",    "put_own",      "put_buffer",
    "get_int",      "put_int",      "get_int_at", "put_int_at",   "compare",
    "slice",        "slice_range",  "duplicate",  "as_read_only", "allocate",
    "wrap_range",   "free"};

typedef struct world {
    rng rng;
    pair pairs[HANDLES];
    arena arena;
    unsigned long op_runs[OP_COUNT];
    unsigned long statuses[BUFFER_BAD_ARGUMENT + 1];
} world;

static pair *live(world *w)
{
    size_t start = below(&w->rng, HANDLES);
    for (size_t i = 0; i < HANDLES; i++) {
        pair *p = &w->pairs[(start + i) % HANDLES];
        if (p->real != NULL)
            return p;
    }
    return NULL;
}

static pair *free_slot(world *w)
{
    for (size_t i = 0; i < HANDLES; i++)
        if (w->pairs[i].real == NULL)
            return &w->pairs[i];
    return NULL;
}

static size_t live_count(const world *w)
{
    size_t n = 0;
    for (size_t i = 0; i < HANDLES; i++)
        n += w->pairs[i].real != NULL;
    return n;
}

/* A new original: allocated (zeroed) or wrapping fresh memory, with the
 * model over a zeroed array of the same size. */
static const char *new_root(world *w, pair *slot, bool wrap)
{
    size_t cap = below(&w->rng, MAX_CAP + 1);
    uint8_t *model_bytes = arena_new(&w->arena, cap);
    slot->model = (model){model_bytes, cap, cap, 0, -1, false, false};
    if (!wrap) {
        slot->real = buffer_allocate(cap);
        return slot->real == NULL ? "allocate returned NULL" : NULL;
    }
    uint8_t *real_bytes = arena_new(&w->arena, cap);
    size_t offset = any_size(&w->rng, cap), length = any_size(&w->rng, cap);
    slot->real = buffer_wrap_range(real_bytes, cap, offset, length);
    bool fits = clamp(offset) + clamp(length) <= cap;
    if ((slot->real != NULL) != fits)
        return "wrap_range accepted or refused the wrong range";
    if (slot->real == NULL)
        return NULL;
    slot->model.pos = offset;
    slot->model.lim = offset + length;
    return NULL;
}

/* One random operation on both sides. Returns NULL when they agree on
 * what the operation returned, or a description of the disagreement. */
static const char *step(world *w, enum op op)
{
    rng *r = &w->rng;
    pair *p = live(w), *q = live(w);
    buffer *b = p->real;
    model *m = &p->model;
    buffer_status s = BUFFER_OK, ms = BUFFER_OK;
    uint8_t data[MAX_CAP + 8], got[MAX_CAP + 8], mgot[MAX_CAP + 8];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)next(r);
    memset(got, 0, sizeof got);
    memset(mgot, 0, sizeof mgot);
    size_t at = any_size(r, m->cap);
    size_t n = below(r, 8) == 0 ? any_size(r, m->cap) : below(r, m->cap + 3);
    size_t width = (size_t)1 << below(r, 4); /* 1, 2, 4 or 8 bytes */
    if (width == 1)
        width = 2;
    uint64_t bits = next(r);

    switch (op) {
    case OP_SET_POSITION:
        s = buffer_set_position(b, at);
        ms = m_set_position(m, at);
        break;
    case OP_SET_LIMIT:
        s = buffer_set_limit(b, at);
        ms = m_set_limit(m, at);
        break;
    case OP_MARK:
        buffer_mark(b);
        m->mark = (long)m->pos;
        break;
    case OP_RESET:
        s = buffer_reset(b);
        ms = m_reset(m);
        break;
    case OP_CLEAR:
        buffer_clear(b);
        m->pos = 0, m->lim = m->cap, m->mark = -1;
        break;
    case OP_FLIP:
        buffer_flip(b);
        m->lim = m->pos, m->pos = 0, m->mark = -1;
        break;
    case OP_REWIND:
        buffer_rewind(b);
        m->pos = 0, m->mark = -1;
        break;
    case OP_COMPACT:
        s = buffer_compact(b);
        ms = m_compact(m);
        break;
    case OP_ORDER:
        m->little = below(r, 2);
        buffer_set_order(b,
                         m->little ? BUFFER_LITTLE_ENDIAN : BUFFER_BIG_ENDIAN);
        break;
    case OP_GET:
        s = buffer_get(b, got);
        ms = m_get_bytes(m, mgot, 1);
        break;
    case OP_PUT:
        s = buffer_put(b, data[0]);
        ms = m_put_bytes(m, data, 1);
        break;
    case OP_GET_AT:
        s = buffer_get_at(b, at, got);
        ms = m_get_bytes_at(m, at, mgot, 1);
        break;
    case OP_PUT_AT:
        s = buffer_put_at(b, at, data[0]);
        ms = m_put_bytes_at(m, at, data, 1);
        break;
    case OP_GET_BYTES:
        s = buffer_get_bytes(b, got, n);
        ms = m_get_bytes(m, mgot, n);
        break;
    case OP_PUT_BYTES:
        s = buffer_put_bytes(b, data, n);
        ms = m_put_bytes(m, data, n);
        break;
    case OP_GET_BYTES_AT:
        s = buffer_get_bytes_at(b, at, got, n);
        ms = m_get_bytes_at(m, at, mgot, n);
        break;
    case OP_PUT_BYTES_AT:
        s = buffer_put_bytes_at(b, at, data, n);
        ms = m_put_bytes_at(m, at, data, n);
        break;
    case OP_GET_OWN:
    case OP_PUT_OWN: {
        /* Bulk transfers whose other end lies in q's bytes, which may be
         * the same block: the ranges may overlap. */
        size_t qcap = q->model.cap, k = qcap ? below(r, qcap) : 0;
        size_t len = qcap ? below(r, qcap - k + 1) : 0;
        if (op == OP_GET_OWN) {
            if (q->model.ro)
                return NULL;
            uint8_t *qa = buffer_array(q->real);
            s = buffer_get_bytes(b, qa ? qa + k : NULL, len);
            ms = m_get_bytes(m, q->model.bytes + k, len);
        } else {
            const uint8_t *qa = buffer_const_array(q->real);
            s = buffer_put_bytes(b, qa ? qa + k : NULL, len);
            ms = m_put_bytes(m, q->model.bytes + k, len);
        }
        break;
    }
    case OP_PUT_BUFFER:
        s = buffer_put_buffer(b, q->real);
        ms = m_put_buffer(m, &q->model);
        break;
    case OP_GET_INT:
    case OP_GET_INT_AT: {
        int64_t v = 0, mv = 0;
        if (width == 2) {
            int16_t x = 0;
            s = op == OP_GET_INT ? buffer_get_short(b, &x)
                                 : buffer_get_short_at(b, at, &x);
            v = x;
        } else if (width == 4) {
            int32_t x = 0;
            s = op == OP_GET_INT ? buffer_get_int(b, &x)
                                 : buffer_get_int_at(b, at, &x);
            v = x;
        } else {
            s = op == OP_GET_INT ? buffer_get_long(b, &v)
                                 : buffer_get_long_at(b, at, &v);
        }
        ms = op == OP_GET_INT ? m_get_int(m, width, &mv)
                              : m_get_int_at(m, at, width, &mv);
        if (s == BUFFER_OK && ms == BUFFER_OK && v != mv)
            return "the integer read";
        break;
    }
    case OP_PUT_INT:
    case OP_PUT_INT_AT: {
        /* Exact-width integers are two's complement, so memcpy gives every
         * bit pattern, INT16_MIN and -1 included, without a conversion. */
        int64_t value;
        if (width == 2) {
            uint16_t u = (uint16_t)bits;
            int16_t x;
            memcpy(&x, &u, sizeof x);
            value = x;
            s = op == OP_PUT_INT ? buffer_put_short(b, x)
                                 : buffer_put_short_at(b, at, x);
        } else if (width == 4) {
            uint32_t u = (uint32_t)bits;
            int32_t x;
            memcpy(&x, &u, sizeof x);
            value = x;
            s = op == OP_PUT_INT ? buffer_put_int(b, x)
                                 : buffer_put_int_at(b, at, x);
        } else {
            memcpy(&value, &bits, sizeof value);
            s = op == OP_PUT_INT ? buffer_put_long(b, value)
                                 : buffer_put_long_at(b, at, value);
        }
        ms = op == OP_PUT_INT ? m_put_int(m, width, value)
                              : m_put_int_at(m, at, width, value);
        break;
    }
    case OP_COMPARE: {
        int c = buffer_compare(b, q->real), mc = m_compare(m, &q->model);
        if ((c > 0) - (c < 0) != mc)
            return "compare";
        if (buffer_equals(b, q->real) != m_equals(m, &q->model))
            return "equals";
        break;
    }
    case OP_SLICE:
    case OP_SLICE_RANGE:
    case OP_DUPLICATE:
    case OP_READ_ONLY: {
        pair *v = free_slot(w);
        if (v == NULL)
            return NULL;
        if (op == OP_SLICE) {
            v->real = buffer_slice(b);
            v->model = m_view(m, m->pos, m->lim - m->pos);
        } else if (op == OP_SLICE_RANGE) {
            size_t len =
                below(r, 4) == 0 ? any_size(r, m->cap) : below(r, m->cap + 2);
            v->real = buffer_slice_range(b, at, len);
            if (clamp(at) + clamp(len) > m->lim) {
                bool refused = v->real == NULL;
                buffer_free(v->real);
                v->real = NULL;
                return refused ? NULL : "slice_range accepted a bad range";
            }
            v->model = m_view(m, at, len);
        } else {
            v->real = op == OP_DUPLICATE ? buffer_duplicate(b)
                                         : buffer_as_read_only(b);
            v->model = *m;
            v->model.little = false;
            v->model.ro = m->ro || op == OP_READ_ONLY;
        }
        if (v->real == NULL)
            return "a view was refused";
        break;
    }
    case OP_ALLOCATE:
    case OP_WRAP: {
        pair *v = free_slot(w);
        return v == NULL ? NULL : new_root(w, v, op == OP_WRAP);
    }
    case OP_FREE:
        if (live_count(w) > 1) {
            buffer_free(b);
            p->real = NULL;
        }
        return NULL;
    case OP_COUNT: break;
    }
    w->statuses[s]++;
    if (s != ms)
        return "the status";
    if (s == BUFFER_OK && memcmp(got, mgot, sizeof got) != 0)
        return "the bytes read";
    return NULL;
}

/* Runs one batch; returns the number of disagreements and describes the
 * first one. */
static unsigned long batch(world *w, char *first, size_t first_size)
{
    unsigned long bad = 0;
    for (int i = 0; i < OPS_PER_BATCH; i++) {
        enum op op = (enum op)below(&w->rng, OP_COUNT);
        /* Views and frees are rarer, so buffers live long enough for
         * their indexes to wander. */
        if (op >= OP_SLICE && below(&w->rng, 3) != 0)
            op = (enum op)below(&w->rng, OP_SLICE);
        w->op_runs[op]++;
        const char *why = step(w, op);
        for (size_t h = 0; why == NULL && h < HANDLES; h++)
            if (w->pairs[h].real != NULL)
                why = differs(&w->pairs[h]);
        if (why != NULL) {
            if (bad++ == 0)
                snprintf(first, first_size, "op %d (%s): %s differs", i,
                         op_names[op], why);
            /* Start again from agreement so later checks mean something. */
            for (size_t h = 0; h < HANDLES; h++) {
                buffer_free(w->pairs[h].real);
                w->pairs[h].real = NULL;
            }
            new_root(w, &w->pairs[0], false);
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    tap t = {0};
    uint64_t seed = DEFAULT_SEED;
    if (argc > 1)
        seed = strtoull(argv[1], NULL, 0);
    printf("# seed 0x%" PRIx64 " (run again with: test_buffer_model 0x%" PRIx64
           ")\n",
           seed, seed);

    world w;
    memset(&w, 0, sizeof w);
    w.rng.state = seed ? seed : 1; /* xorshift never leaves 0 */
    const char *why = new_root(&w, &w.pairs[0], false);
    TAP_OK(&t, why == NULL, "the first buffer is made");

    for (int i = 0; i < BATCHES; i++) {
        char first[160] = "";
        unsigned long bad = batch(&w, first, sizeof first);
        TAP_OK(&t, bad == 0,
               "batch %d: %d operations, buffer and model agree%s%s", i + 1,
               OPS_PER_BATCH, bad ? "; first difference: " : "", first);
    }

    /* The randomness must really have reached every operation and every
     * status; otherwise the batches above prove less than they claim. */
    unsigned long total = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        total += w.op_runs[op];
        TAP_OK(&t, w.op_runs[op] >= 500, "%s ran %lu times", op_names[op],
               w.op_runs[op]);
    }
    TAP_OK(&t, total >= 100000, "%lu operations in all", total);
    for (int s = 0; s <= BUFFER_BAD_ARGUMENT; s++)
        TAP_OK(&t, w.statuses[s] >= 100, "%s returned %lu times",
               buffer_status_name((buffer_status)s), w.statuses[s]);

    for (size_t h = 0; h < HANDLES; h++)
        buffer_free(w.pairs[h].real);
    arena_free(&w.arena);
    return tap_done(&t);
}
