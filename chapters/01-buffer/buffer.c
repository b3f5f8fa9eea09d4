/*
 * buffer.c - Java's ByteBuffer in C. See buffer.h for the contract.
 *
 * Every operation checks all of its arguments before it changes anything,
 * so a failed call leaves the buffer exactly as it was.
 */
#include "buffer.h"

#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#define NO_MARK SIZE_MAX

/* The shared bytes. Views point at the same block and count in `refs`. */
struct storage {
    uint8_t *bytes;
    size_t refs;
    bool owned; /* allocated here (freed with the block) or borrowed */
};

struct buffer {
    struct storage *storage;
    size_t offset; /* where this buffer's index 0 sits in storage->bytes */
    size_t capacity;
    size_t limit;
    size_t position;
    size_t mark; /* NO_MARK when undefined */
    bool read_only;
    buffer_order order;
};

const char *buffer_status_name(buffer_status status)
{
    switch (status) {
    case BUFFER_OK: return "BUFFER_OK";
    case BUFFER_OVERFLOW: return "BUFFER_OVERFLOW";
    case BUFFER_UNDERFLOW: return "BUFFER_UNDERFLOW";
    case BUFFER_INVALID_MARK: return "BUFFER_INVALID_MARK";
    case BUFFER_INDEX_OUT_OF_RANGE: return "BUFFER_INDEX_OUT_OF_RANGE";
    case BUFFER_READ_ONLY: return "BUFFER_READ_ONLY";
    case BUFFER_BAD_ARGUMENT: return "BUFFER_BAD_ARGUMENT";
    case BUFFER_UNSUPPORTED: return "BUFFER_UNSUPPORTED";
    }
    return "BUFFER_UNKNOWN_STATUS";
}

/* --- creating and releasing ------------------------------------------- */

static buffer *buffer_new(struct storage *storage, size_t offset,
                          size_t capacity)
{
    buffer *b = malloc(sizeof *b);
    if (b == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    *b = (buffer){.storage = storage,
                  .offset = offset,
                  .capacity = capacity,
                  .limit = capacity,
                  .position = 0,
                  .mark = NO_MARK,
                  .read_only = false,
                  .order = BUFFER_BIG_ENDIAN};
    storage->refs++;
    return b;
}

static struct storage *storage_new(uint8_t *bytes, bool owned)
{
    struct storage *s = malloc(sizeof *s);
    if (s == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    *s = (struct storage){.bytes = bytes, .refs = 0, .owned = owned};
    return s;
}

buffer *buffer_allocate(size_t capacity)
{
    /* Java's allocate(-1) is an IllegalArgumentException. In C a negative
     * size arrives as a size_t above PTRDIFF_MAX, which no object can
     * have: EINVAL, not ENOMEM. (Refused before calloc, too: under
     * AddressSanitizer an impossible size aborts instead of failing.) */
    if (capacity > PTRDIFF_MAX) {
        errno = EINVAL;
        return NULL;
    }
    /* calloc: Java zero-fills a new buffer; +1 so capacity 0 still works. */
    uint8_t *bytes = calloc(capacity + (capacity == 0), 1);
    if (bytes == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    struct storage *s = storage_new(bytes, true);
    buffer *b = s != NULL ? buffer_new(s, 0, capacity) : NULL;
    if (b == NULL) {
        free(s);
        free(bytes);
        errno = ENOMEM;
    }
    return b;
}

buffer *buffer_wrap_range(void *bytes, size_t capacity, size_t offset,
                          size_t length)
{
    if ((bytes == NULL && capacity > 0) || offset > capacity ||
        length > capacity - offset) {
        errno = EINVAL;
        return NULL;
    }
    struct storage *s = storage_new(bytes, false);
    buffer *b = s != NULL ? buffer_new(s, 0, capacity) : NULL;
    if (b == NULL) {
        free(s);
        return NULL;
    }
    b->position = offset;
    b->limit = offset + length;
    return b;
}

buffer *buffer_wrap(void *bytes, size_t capacity)
{
    return buffer_wrap_range(bytes, capacity, 0, capacity);
}

void buffer_free(buffer *b)
{
    if (b == NULL)
        return;
    if (--b->storage->refs == 0) {
        if (b->storage->owned)
            free(b->storage->bytes);
        free(b->storage);
    }
    free(b);
}

/* lab:begin view "Views" */
/* A view: same storage, its own indexes. Java starts views big-endian. */
static buffer *view(const buffer *b, size_t offset, size_t capacity)
{
    buffer *v = buffer_new(b->storage, b->offset + offset, capacity);
    if (v != NULL)
        v->read_only = b->read_only;
    return v;
}
/* lab:end view */

buffer *buffer_slice_range(const buffer *b, size_t index, size_t length)
{
    /* lab:begin slice_range "Views" errno = ENOSYS; return NULL; */
    if (b == NULL || index > b->limit || length > b->limit - index) {
        errno = EINVAL;
        return NULL;
    }
    return view(b, index, length);
    /* lab:end slice_range */
}

buffer *buffer_slice(const buffer *b)
{
    /* lab:begin slice "Views" errno = ENOSYS; return NULL; */
    if (b == NULL) {
        errno = EINVAL;
        return NULL;
    }
    return view(b, b->position, b->limit - b->position);
    /* lab:end slice */
}

buffer *buffer_duplicate(const buffer *b)
{
    /* lab:begin duplicate "Views" errno = ENOSYS; return NULL; */
    if (b == NULL) {
        errno = EINVAL;
        return NULL;
    }
    buffer *v = view(b, 0, b->capacity);
    if (v != NULL) {
        v->limit = b->limit;
        v->position = b->position;
        v->mark = b->mark;
    }
    return v;
    /* lab:end duplicate */
}

buffer *buffer_as_read_only(const buffer *b)
{
    buffer *v = buffer_duplicate(b);
    if (v != NULL)
        v->read_only = true;
    return v;
}

/* --- the four indexes ------------------------------------------------- */

size_t buffer_capacity(const buffer *b)
{
    return b ? b->capacity : 0;
}
size_t buffer_position(const buffer *b)
{
    return b ? b->position : 0;
}
size_t buffer_limit(const buffer *b)
{
    return b ? b->limit : 0;
}
size_t buffer_remaining(const buffer *b)
{
    return b ? b->limit - b->position : 0;
}
bool buffer_has_remaining(const buffer *b)
{
    return buffer_remaining(b) > 0;
}
bool buffer_is_read_only(const buffer *b)
{
    return b ? b->read_only : false;
}

bool buffer_mark_value(const buffer *b, size_t *mark)
{
    if (b == NULL || b->mark == NO_MARK)
        return false;
    if (mark != NULL)
        *mark = b->mark;
    return true;
}

buffer_status buffer_set_position(buffer *b, size_t position)
{
    /* lab:begin set_position "Four indexes" return BUFFER_UNSUPPORTED; */
    if (b == NULL || position > b->limit)
        return BUFFER_BAD_ARGUMENT;
    if (b->mark != NO_MARK && b->mark > position)
        b->mark = NO_MARK;
    b->position = position;
    return BUFFER_OK;
    /* lab:end set_position */
}

buffer_status buffer_set_limit(buffer *b, size_t limit)
{
    /* lab:begin set_limit "Four indexes" return BUFFER_UNSUPPORTED; */
    if (b == NULL || limit > b->capacity)
        return BUFFER_BAD_ARGUMENT;
    if (b->position > limit)
        b->position = limit;
    if (b->mark != NO_MARK && b->mark > limit)
        b->mark = NO_MARK;
    b->limit = limit;
    return BUFFER_OK;
    /* lab:end set_limit */
}

void buffer_mark(buffer *b)
{
    /* lab:begin mark "The pictures" */
    if (b != NULL)
        b->mark = b->position;
    /* lab:end mark */
}

buffer_status buffer_reset(buffer *b)
{
    /* lab:begin reset "The pictures" return BUFFER_UNSUPPORTED; */
    if (b == NULL)
        return BUFFER_BAD_ARGUMENT;
    if (b->mark == NO_MARK)
        return BUFFER_INVALID_MARK;
    b->position = b->mark;
    return BUFFER_OK;
    /* lab:end reset */
}

void buffer_clear(buffer *b)
{
    /* lab:begin clear "The pictures" */
    if (b == NULL)
        return;
    b->position = 0;
    b->limit = b->capacity;
    b->mark = NO_MARK;
    /* lab:end clear */
}

/* excerpt:begin flip */
/* After writing, flip makes the bytes just written readable: the end of
 * the data becomes the limit and reading starts again from index 0. */
void buffer_flip(buffer *b)
{
    /* lab:begin flip "The code of flip" */
    if (b == NULL)
        return;
    b->limit = b->position;
    b->position = 0;
    b->mark = NO_MARK;
    /* lab:end flip */
}
/* excerpt:end flip */

void buffer_rewind(buffer *b)
{
    /* lab:begin rewind "The pictures" */
    if (b == NULL)
        return;
    b->position = 0;
    b->mark = NO_MARK;
    /* lab:end rewind */
}

/* excerpt:begin compact */
/* Keep the unread bytes, move them to the front, and get ready to write
 * after them. memmove, not memcpy: the two ranges may overlap. */
buffer_status buffer_compact(buffer *b)
{
    /* lab:begin compact "The code of flip" return BUFFER_UNSUPPORTED; */
    if (b == NULL)
        return BUFFER_BAD_ARGUMENT;
    if (b->read_only)
        return BUFFER_READ_ONLY;
    size_t unread = b->limit - b->position;
    if (unread > 0) {
        uint8_t *base = b->storage->bytes + b->offset;
        memmove(base, base + b->position, unread);
    }
    b->position = unread;
    b->limit = b->capacity;
    b->mark = NO_MARK;
    return BUFFER_OK;
    /* lab:end compact */
}
/* excerpt:end compact */

buffer_order buffer_get_order(const buffer *b)
{
    return b ? b->order : BUFFER_BIG_ENDIAN;
}

void buffer_set_order(buffer *b, buffer_order order)
{
    if (b != NULL &&
        (order == BUFFER_BIG_ENDIAN || order == BUFFER_LITTLE_ENDIAN))
        b->order = order;
}

/* --- bytes: every transfer goes through these two checks -------------- */

static uint8_t *at(const buffer *b, size_t index)
{
    /* buffer_wrap(NULL, 0) has no bytes, and NULL + 0 is undefined in C. */
    if (b->storage->bytes == NULL)
        return NULL;
    return b->storage->bytes + b->offset + index;
}

/* lab:begin check_range "Java ↔ C" */
/* Absolute access to [index, index + length) must lie below the limit. */
static buffer_status check_range(const buffer *b, size_t index, size_t length)
{
    if (index > b->limit || length > b->limit - index)
        return BUFFER_INDEX_OUT_OF_RANGE;
    return BUFFER_OK;
}
/* lab:end check_range */

buffer_status buffer_get_bytes(buffer *b, void *dst, size_t length)
{
    /* lab:begin get_bytes "The pictures" return BUFFER_UNSUPPORTED; */
    if (b == NULL || (dst == NULL && length > 0))
        return BUFFER_BAD_ARGUMENT;
    if (length > b->limit - b->position)
        return BUFFER_UNDERFLOW;
    if (length > 0)
        memmove(dst, at(b, b->position), length); /* dst may overlap */
    b->position += length;
    return BUFFER_OK;
    /* lab:end get_bytes */
}

buffer_status buffer_put_bytes(buffer *b, const void *src, size_t length)
{
    /* lab:begin put_bytes "The pictures" return BUFFER_UNSUPPORTED; */
    if (b == NULL || (src == NULL && length > 0))
        return BUFFER_BAD_ARGUMENT;
    if (b->read_only)
        return BUFFER_READ_ONLY;
    if (length > b->limit - b->position)
        return BUFFER_OVERFLOW;
    if (length > 0)
        memmove(at(b, b->position), src, length); /* src may be a view */
    b->position += length;
    return BUFFER_OK;
    /* lab:end put_bytes */
}

buffer_status buffer_get_bytes_at(const buffer *b, size_t index, void *dst,
                                  size_t length)
{
    /* lab:begin get_bytes_at "Java ↔ C" return BUFFER_UNSUPPORTED; */
    if (b == NULL || (dst == NULL && length > 0))
        return BUFFER_BAD_ARGUMENT;
    buffer_status s = check_range(b, index, length);
    if (s == BUFFER_OK && length > 0)
        memmove(dst, at(b, index), length);
    return s;
    /* lab:end get_bytes_at */
}

buffer_status buffer_put_bytes_at(buffer *b, size_t index, const void *src,
                                  size_t length)
{
    /* lab:begin put_bytes_at "Java ↔ C" return BUFFER_UNSUPPORTED; */
    if (b == NULL || (src == NULL && length > 0))
        return BUFFER_BAD_ARGUMENT;
    if (b->read_only)
        return BUFFER_READ_ONLY;
    buffer_status s = check_range(b, index, length);
    if (s == BUFFER_OK && length > 0)
        memmove(at(b, index), src, length);
    return s;
    /* lab:end put_bytes_at */
}

buffer_status buffer_get(buffer *b, uint8_t *out)
{
    return buffer_get_bytes(b, out, 1);
}

buffer_status buffer_put(buffer *b, uint8_t value)
{
    return buffer_put_bytes(b, &value, 1);
}

buffer_status buffer_get_at(const buffer *b, size_t index, uint8_t *out)
{
    return buffer_get_bytes_at(b, index, out, 1);
}

buffer_status buffer_put_at(buffer *b, size_t index, uint8_t value)
{
    return buffer_put_bytes_at(b, index, &value, 1);
}

buffer_status buffer_put_buffer(buffer *dst, buffer *src)
{
    if (dst == NULL || src == NULL)
        return BUFFER_BAD_ARGUMENT;
    /* Java's read-only buffers refuse every put before looking at the
     * argument, even a put of the buffer into itself. */
    if (dst->read_only)
        return BUFFER_READ_ONLY;
    if (dst == src)
        return BUFFER_BAD_ARGUMENT;
    size_t n = src->limit - src->position;
    if (n > dst->limit - dst->position)
        return BUFFER_OVERFLOW;
    buffer_status s = buffer_put_bytes(dst, at(src, src->position), n);
    if (s == BUFFER_OK)
        src->position += n;
    return s;
}

/* --- integers --------------------------------------------------------- */

/* Encode and decode `size` bytes in the buffer's order. Shifts on uint64_t
 * keep this free of undefined behaviour whatever the value's sign. */
static void encode(const buffer *b, uint8_t *p, uint64_t v, size_t size)
{
    /* lab:begin encode "Java ↔ C" */
    for (size_t i = 0; i < size; i++) {
        size_t shift = b->order == BUFFER_BIG_ENDIAN ? size - 1 - i : i;
        p[i] = (uint8_t)(v >> (8 * shift));
    }
    /* lab:end encode */
}

static uint64_t decode(const buffer *b, const uint8_t *p, size_t size)
{
    /* lab:begin decode "Java ↔ C" return 0; */
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++) {
        size_t shift = b->order == BUFFER_BIG_ENDIAN ? size - 1 - i : i;
        v |= (uint64_t)p[i] << (8 * shift);
    }
    return v;
    /* lab:end decode */
}

static buffer_status get_rel(buffer *b, uint64_t *v, size_t size)
{
    uint8_t raw[8];
    buffer_status s = buffer_get_bytes(b, raw, size);
    if (s == BUFFER_OK)
        *v = decode(b, raw, size);
    return s;
}

static buffer_status get_abs(const buffer *b, size_t i, uint64_t *v,
                             size_t size)
{
    uint8_t raw[8];
    buffer_status s = buffer_get_bytes_at(b, i, raw, size);
    if (s == BUFFER_OK)
        *v = decode(b, raw, size);
    return s;
}

static buffer_status put_rel(buffer *b, uint64_t v, size_t size)
{
    if (b == NULL)
        return BUFFER_BAD_ARGUMENT;
    uint8_t raw[8];
    encode(b, raw, v, size);
    return buffer_put_bytes(b, raw, size);
}

static buffer_status put_abs(buffer *b, size_t i, uint64_t v, size_t size)
{
    if (b == NULL)
        return BUFFER_BAD_ARGUMENT;
    uint8_t raw[8];
    encode(b, raw, v, size);
    return buffer_put_bytes_at(b, i, raw, size);
}

/* Two's complement back from the unsigned bits, without
 * implementation-defined conversions. */
static int64_t to_signed(uint64_t v, size_t size)
{
    if (size < 8) {
        uint64_t sign = (uint64_t)1 << (8 * size - 1);
        v &= (sign << 1) - 1;
        return (int64_t)(v ^ sign) - (int64_t)sign;
    }
    return v > INT64_MAX ? -(int64_t)(~v) - 1 : (int64_t)v;
}

#define GETTERS(NAME, TYPE)                                                    \
    buffer_status buffer_get_##NAME(buffer *b, TYPE *out)                      \
    {                                                                          \
        uint64_t v;                                                            \
        if (out == NULL)                                                       \
            return BUFFER_BAD_ARGUMENT;                                        \
        buffer_status s = get_rel(b, &v, sizeof(TYPE));                        \
        if (s == BUFFER_OK)                                                    \
            *out = (TYPE)to_signed(v, sizeof(TYPE));                           \
        return s;                                                              \
    }                                                                          \
    buffer_status buffer_get_##NAME##_at(const buffer *b, size_t i, TYPE *out) \
    {                                                                          \
        uint64_t v;                                                            \
        if (out == NULL)                                                       \
            return BUFFER_BAD_ARGUMENT;                                        \
        buffer_status s = get_abs(b, i, &v, sizeof(TYPE));                     \
        if (s == BUFFER_OK)                                                    \
            *out = (TYPE)to_signed(v, sizeof(TYPE));                           \
        return s;                                                              \
    }                                                                          \
    buffer_status buffer_put_##NAME(buffer *b, TYPE value)                     \
    {                                                                          \
        return put_rel(b, (uint64_t)value, sizeof(TYPE));                      \
    }                                                                          \
    buffer_status buffer_put_##NAME##_at(buffer *b, size_t i, TYPE value)      \
    {                                                                          \
        return put_abs(b, i, (uint64_t)value, sizeof(TYPE));                   \
    }

GETTERS(short, int16_t)
GETTERS(int, int32_t)
GETTERS(long, int64_t)

/* --- comparing -------------------------------------------------------- */

bool buffer_equals(const buffer *a, const buffer *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    size_t n = a->limit - a->position;
    if (n != b->limit - b->position)
        return false;
    return n == 0 || memcmp(at(a, a->position), at(b, b->position), n) == 0;
}

int buffer_compare(const buffer *a, const buffer *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    size_t na = a->limit - a->position, nb = b->limit - b->position;
    const uint8_t *pa = at(a, a->position), *pb = at(b, b->position);
    for (size_t i = 0; i < na && i < nb; i++) {
        /* Java's bytes are signed: 0x80 (-128) sorts before 0x7f (127). */
        int x = pa[i] < 128 ? pa[i] : pa[i] - 256;
        int y = pb[i] < 128 ? pb[i] : pb[i] - 256;
        if (x != y)
            return x < y ? -1 : 1;
    }
    return (na > nb) - (na < nb);
}

/* --- raw access ------------------------------------------------------- */

uint8_t *buffer_array(buffer *b)
{
    return b == NULL || b->read_only ? NULL : at(b, 0);
}

const uint8_t *buffer_const_array(const buffer *b)
{
    return b == NULL ? NULL : at(b, 0);
}

bool buffer_invariant_holds(const buffer *b)
{
    if (b == NULL)
        return false;
    bool mark_ok = b->mark == NO_MARK || b->mark <= b->position;
    return mark_ok && b->position <= b->limit && b->limit <= b->capacity;
}
