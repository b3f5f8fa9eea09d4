/*
 * test_buffer.c - every operation of buffer.h and every error it can
 * return, checked against the rules of java.nio.ByteBuffer.
 *
 * Two habits run through the file: every failing call is checked to leave
 * the buffer exactly as it was (indexes, mark, order and bytes), and every
 * state the tests look at is also checked against the invariant
 * 0 <= mark <= position <= limit <= capacity.
 */
#include "01-buffer/buffer.h"
#include "tap.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NONE      SIZE_MAX /* "no mark" in expectations */
#define MAX_BYTES 64       /* the largest buffer a snapshot can hold */

/* --- snapshots: what "nothing changed" means ------------------------- */

typedef struct snapshot {
    size_t capacity, limit, position, mark;
    buffer_order order;
    bool read_only;
    uint8_t bytes[MAX_BYTES];
} snapshot;

static snapshot snap(const buffer *b)
{
    snapshot s;
    memset(&s, 0, sizeof s);
    s.capacity = buffer_capacity(b);
    s.limit = buffer_limit(b);
    s.position = buffer_position(b);
    if (!buffer_mark_value(b, &s.mark))
        s.mark = NONE;
    s.order = buffer_get_order(b);
    s.read_only = buffer_is_read_only(b);
    if (s.capacity > 0 && s.capacity <= MAX_BYTES)
        memcpy(s.bytes, buffer_const_array(b), s.capacity);
    return s;
}

static bool same(const snapshot *a, const snapshot *b)
{
    return a->capacity == b->capacity && a->limit == b->limit &&
           a->position == b->position && a->mark == b->mark &&
           a->order == b->order && a->read_only == b->read_only &&
           memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

/* Runs CALL, which must return WANT and change nothing in B. */
#define FAILS(t, b, call, want)                                                \
    do {                                                                       \
        snapshot before_ = snap(b);                                            \
        buffer_status got_ = (call);                                           \
        snapshot after_ = snap(b);                                             \
        TAP_OK(t,                                                              \
               got_ == (want) && same(&before_, &after_) &&                    \
                   buffer_invariant_holds(b),                                  \
               "%s -> %s (got %s), buffer unchanged", #call,                   \
               buffer_status_name(want), buffer_status_name(got_));            \
    } while (0)

/* Runs CALL on DST with SRC as well: both must be left as they were. */
#define FAILS2(t, dst, src, call, want)                                        \
    do {                                                                       \
        snapshot d_ = snap(dst), s_ = snap(src);                               \
        buffer_status got_ = (call);                                           \
        snapshot d2_ = snap(dst), s2_ = snap(src);                             \
        TAP_OK(t, got_ == (want) && same(&d_, &d2_) && same(&s_, &s2_),        \
               "%s -> %s (got %s), both unchanged", #call,                     \
               buffer_status_name(want), buffer_status_name(got_));            \
    } while (0)

#define OK(t, call)                                                            \
    do {                                                                       \
        buffer_status got_ = (call);                                           \
        TAP_OK(t, got_ == BUFFER_OK, "%s -> BUFFER_OK (got %s)", #call,        \
               buffer_status_name(got_));                                      \
    } while (0)

/* The indexes of B are exactly these, and the invariant holds. */
static void state(tap *t, const buffer *b, size_t position, size_t limit,
                  size_t mark, const char *what)
{
    size_t m = NONE;
    bool marked = buffer_mark_value(b, &m);
    bool mark_ok = mark == NONE ? !marked : marked && m == mark;
    TAP_OK(t,
           buffer_position(b) == position && buffer_limit(b) == limit &&
               mark_ok && buffer_invariant_holds(b) &&
               buffer_remaining(b) == limit - position &&
               buffer_has_remaining(b) == (limit > position),
           "%s: position %zu limit %zu mark %s (got %zu %zu %s)", what,
           position, limit, mark == NONE ? "none" : "set", buffer_position(b),
           buffer_limit(b), marked ? "set" : "none");
}

static bool bytes_are(const buffer *b, const char *want, size_t n)
{
    return buffer_capacity(b) >= n &&
           memcmp(buffer_const_array(b), want, n) == 0;
}

/* A buffer of `capacity` bytes holding "abcdefgh..." and cleared. */
static buffer *letters(size_t capacity)
{
    buffer *b = buffer_allocate(capacity);
    for (size_t i = 0; b != NULL && i < capacity; i++)
        buffer_put(b, (uint8_t)('a' + i % 26));
    buffer_clear(b);
    return b;
}

/* --- creating ---------------------------------------------------------- */

static void test_allocate(tap *t)
{
    buffer *b = buffer_allocate(8);
    TAP_OK(t, b != NULL, "allocate(8) succeeds");
    TAP_OK(t, buffer_capacity(b) == 8, "capacity is 8");
    state(t, b, 0, 8, NONE, "a new buffer");
    TAP_OK(t, bytes_are(b, "\0\0\0\0\0\0\0\0", 8), "a new buffer is zeroed");
    TAP_OK(t, buffer_get_order(b) == BUFFER_BIG_ENDIAN,
           "a new buffer is big-endian");
    TAP_OK(t, !buffer_is_read_only(b) && buffer_array(b) != NULL,
           "a new buffer is writable and has an array");
    TAP_OK(t, buffer_array(b) == buffer_const_array(b),
           "array and const_array are the same bytes");
    buffer_free(b);

    b = buffer_allocate(0);
    TAP_OK(t, b != NULL && buffer_capacity(b) == 0, "allocate(0) works");
    state(t, b, 0, 0, NONE, "an empty buffer");
    FAILS(t, b, buffer_put(b, 1), BUFFER_OVERFLOW);
    uint8_t x;
    FAILS(t, b, buffer_get(b, &x), BUFFER_UNDERFLOW);
    OK(t, buffer_compact(b));
    buffer_free(b);

    errno = 0;
    b = buffer_allocate((size_t)-1);
    TAP_OK(t, b == NULL && errno == EINVAL,
           "allocate(-1), a size_t of SIZE_MAX: EINVAL, as Java's "
           "IllegalArgumentException");
    errno = 0;
    b = buffer_allocate((size_t)PTRDIFF_MAX + 1);
    TAP_OK(t, b == NULL && errno == EINVAL,
           "any size above PTRDIFF_MAX is a negative one: EINVAL");
}

static void test_wrap(tap *t)
{
    uint8_t mem[8] = "abcdefgh";
    buffer *b = buffer_wrap(mem, sizeof mem);
    TAP_OK(t, b != NULL && buffer_capacity(b) == 8, "wrap: capacity 8");
    state(t, b, 0, 8, NONE, "wrap");
    TAP_OK(t, buffer_array(b) == mem, "wrap: the array is the caller's");
    OK(t, buffer_put(b, 'X'));
    TAP_OK(t, mem[0] == 'X', "wrap: a put writes the caller's memory");
    mem[1] = 'Y';
    uint8_t got = 0;
    OK(t, buffer_get(b, &got));
    TAP_OK(t, got == 'Y', "wrap: the caller's writes are seen by get");
    buffer_free(b);
    TAP_OK(t, mem[7] == 'h', "free leaves borrowed memory alone");

    b = buffer_wrap_range(mem, sizeof mem, 2, 3);
    TAP_OK(t, b != NULL && buffer_capacity(b) == 8,
           "wrap_range: capacity is the whole array");
    state(t, b, 2, 5, NONE, "wrap_range(2, 3)");
    TAP_OK(t, buffer_array(b) == mem, "wrap_range: array offset is 0");
    buffer_free(b);

    b = buffer_wrap_range(mem, sizeof mem, 8, 0);
    TAP_OK(t, b != NULL, "wrap_range(offset = capacity, length 0) works");
    if (b != NULL)
        state(t, b, 8, 8, NONE, "wrap_range(8, 0)");
    buffer_free(b);

    errno = 0;
    b = buffer_wrap_range(mem, sizeof mem, 9, 0);
    TAP_OK(t, b == NULL && errno == EINVAL, "wrap_range: offset past end");
    errno = 0;
    b = buffer_wrap_range(mem, sizeof mem, 4, 5);
    TAP_OK(t, b == NULL && errno == EINVAL, "wrap_range: length past end");
    errno = 0;
    b = buffer_wrap_range(mem, sizeof mem, 1, SIZE_MAX);
    TAP_OK(t, b == NULL && errno == EINVAL,
           "wrap_range: offset + length overflowing size_t");
    errno = 0;
    b = buffer_wrap(NULL, 4);
    TAP_OK(t, b == NULL && errno == EINVAL, "wrap(NULL, 4) fails");

    /* An empty wrap of NULL is allowed; nothing may touch the bytes. */
    b = buffer_wrap(NULL, 0);
    buffer *e = buffer_allocate(0);
    TAP_OK(t, b != NULL && buffer_capacity(b) == 0, "wrap(NULL, 0) works");
    FAILS(t, b, buffer_put(b, 1), BUFFER_OVERFLOW);
    OK(t, buffer_compact(b));
    TAP_OK(t, buffer_equals(b, e) && buffer_compare(b, e) == 0,
           "wrap(NULL, 0) equals an empty buffer");
    OK(t, buffer_put_buffer(e, b));
    buffer *s = buffer_slice(b);
    TAP_OK(t, s != NULL && buffer_capacity(s) == 0, "slice of wrap(NULL, 0)");
    buffer_free(s);
    buffer_free(e);
    buffer_free(b);
}

/* --- the indexes ------------------------------------------------------- */

static void test_position_and_limit(tap *t)
{
    buffer *b = buffer_allocate(8);
    OK(t, buffer_set_position(b, 8));
    state(t, b, 8, 8, NONE, "position may equal the limit");
    OK(t, buffer_set_limit(b, 6));
    state(t, b, 6, 6, NONE, "a limit below position pulls position down");
    FAILS(t, b, buffer_set_position(b, 7), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_set_limit(b, 9), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_set_position(b, SIZE_MAX), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_set_limit(b, SIZE_MAX), BUFFER_BAD_ARGUMENT);
    OK(t, buffer_set_limit(b, 8));
    state(t, b, 6, 8, NONE, "raising the limit leaves position alone");

    /* The mark goes when it ends up above the new position... */
    OK(t, buffer_set_position(b, 4));
    buffer_mark(b);
    OK(t, buffer_set_position(b, 4));
    state(t, b, 4, 8, 4, "position = mark keeps the mark");
    OK(t, buffer_set_position(b, 6));
    state(t, b, 6, 8, 4, "position above the mark keeps it");
    OK(t, buffer_set_position(b, 3));
    state(t, b, 3, 8, NONE, "position below the mark discards it");
    FAILS(t, b, buffer_reset(b), BUFFER_INVALID_MARK);

    /* ...and when it ends up above the new limit. */
    OK(t, buffer_set_position(b, 5));
    buffer_mark(b);
    OK(t, buffer_set_limit(b, 5));
    state(t, b, 5, 5, 5, "limit = mark keeps the mark");
    OK(t, buffer_set_limit(b, 8));
    OK(t, buffer_set_position(b, 6));
    OK(t, buffer_set_limit(b, 5));
    state(t, b, 5, 5, 5, "limit below position, mark = new limit: kept");
    OK(t, buffer_set_limit(b, 8));
    OK(t, buffer_set_position(b, 6));
    buffer_mark(b);
    OK(t, buffer_set_limit(b, 4));
    state(t, b, 4, 4, NONE, "a limit below the mark discards it");
    OK(t, buffer_set_limit(b, 8));
    OK(t, buffer_set_position(b, 6));
    OK(t, buffer_set_position(b, 2));
    buffer_mark(b);
    OK(t, buffer_set_position(b, 6));
    OK(t, buffer_set_limit(b, 4));
    state(t, b, 4, 4, 2, "a limit above the mark keeps it");
    buffer_free(b);
}

static void test_mark_reset(tap *t)
{
    buffer *b = letters(8);
    FAILS(t, b, buffer_reset(b), BUFFER_INVALID_MARK);
    OK(t, buffer_set_position(b, 2));
    buffer_mark(b);
    state(t, b, 2, 8, 2, "mark at 2");
    uint8_t x;
    OK(t, buffer_get(b, &x));
    OK(t, buffer_get(b, &x));
    OK(t, buffer_reset(b));
    state(t, b, 2, 8, 2, "reset returns to the mark and keeps it");
    OK(t, buffer_get(b, &x));
    TAP_OK(t, x == 'c', "the byte after reset is the one at the mark");
    OK(t, buffer_reset(b));
    state(t, b, 2, 8, 2, "reset works twice");
    OK(t, buffer_set_position(b, 5));
    buffer_mark(b);
    state(t, b, 5, 8, 5, "a new mark replaces the old");

    buffer_flip(b);
    state(t, b, 0, 5, NONE, "flip discards the mark");
    buffer_mark(b);
    buffer_rewind(b);
    state(t, b, 0, 5, NONE, "rewind discards the mark");
    buffer_mark(b);
    buffer_clear(b);
    state(t, b, 0, 8, NONE, "clear discards the mark");
    buffer_mark(b);
    OK(t, buffer_compact(b));
    FAILS(t, b, buffer_reset(b), BUFFER_INVALID_MARK);
    buffer_free(b);
}

static void test_flip_rewind_clear(tap *t)
{
    buffer *b = buffer_allocate(8);
    OK(t, buffer_put_bytes(b, "hello", 5));
    state(t, b, 5, 8, NONE, "after putting 5 bytes");
    buffer_flip(b);
    state(t, b, 0, 5, NONE, "flip: limit = old position, position = 0");
    TAP_OK(t, bytes_are(b, "hello", 5), "flip moves no byte");
    uint8_t x;
    OK(t, buffer_get(b, &x));
    OK(t, buffer_get(b, &x));
    buffer_rewind(b);
    state(t, b, 0, 5, NONE, "rewind: position = 0, limit kept");
    buffer_flip(b);
    state(t, b, 0, 0, NONE, "flip twice leaves nothing to read");
    buffer_clear(b);
    state(t, b, 0, 8, NONE, "clear: position = 0, limit = capacity");
    TAP_OK(t, bytes_are(b, "hello", 5), "clear does not erase the bytes");
    buffer_free(b);
}

static void test_compact(tap *t)
{
    /* 5 unread bytes moved 3 places: the ranges overlap. */
    buffer *b = letters(8);
    buffer_set_limit(b, 7);
    uint8_t x[3];
    OK(t, buffer_get_bytes(b, x, 3));
    buffer_mark(b);
    OK(t, buffer_compact(b));
    state(t, b, 4, 8, NONE,
          "compact: position = bytes moved, limit = capacity, no mark");
    TAP_OK(t, bytes_are(b, "defgefgh", 8),
           "compact moved d..g to the front and left the rest alone");

    /* Nothing read yet: compact keeps everything where it is. */
    buffer_clear(b);
    OK(t, buffer_put_bytes(b, "wxyz", 4));
    buffer_flip(b);
    OK(t, buffer_compact(b));
    state(t, b, 4, 8, NONE, "compact with nothing read");
    TAP_OK(t, bytes_are(b, "wxyz", 4), "compact with nothing read moves none");

    /* Everything read: compact is clear. */
    buffer_flip(b);
    OK(t, buffer_get_bytes(b, x, 3));
    OK(t, buffer_get(b, x));
    OK(t, buffer_compact(b));
    state(t, b, 0, 8, NONE, "compact with nothing left");

    /* The last byte alone: position at capacity - 1. */
    buffer_clear(b);
    OK(t, buffer_set_position(b, 7));
    OK(t, buffer_compact(b));
    state(t, b, 1, 8, NONE, "compact of the last byte");
    TAP_OK(t, bytes_are(b, "hxyzefgh", 8), "the last byte is now first");

    buffer *r = buffer_as_read_only(b);
    FAILS(t, r, buffer_compact(r), BUFFER_READ_ONLY);
    buffer_free(r);
    buffer_free(b);
}

static void test_order(tap *t)
{
    buffer *b = buffer_allocate(4);
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    TAP_OK(t, buffer_get_order(b) == BUFFER_LITTLE_ENDIAN, "order set");
    buffer_set_order(b, (buffer_order)42);
    TAP_OK(t, buffer_get_order(b) == BUFFER_LITTLE_ENDIAN,
           "an unknown order is ignored");
    buffer_set_order(b, BUFFER_BIG_ENDIAN);
    TAP_OK(t, buffer_get_order(b) == BUFFER_BIG_ENDIAN, "order set back");
    buffer_free(b);
}

/* --- single bytes and bulk ------------------------------------------- */

static void test_single_bytes(tap *t)
{
    buffer *b = buffer_allocate(4);
    for (uint8_t i = 0; i < 4; i++)
        OK(t, buffer_put(b, (uint8_t)(0xf0 + i)));
    state(t, b, 4, 4, NONE, "four puts");
    FAILS(t, b, buffer_put(b, 9), BUFFER_OVERFLOW);
    buffer_flip(b);
    uint8_t x = 0;
    OK(t, buffer_get(b, &x));
    TAP_OK(t, x == 0xf0, "get returns the first byte put");
    OK(t, buffer_set_limit(b, 2));
    OK(t, buffer_get(b, &x));
    FAILS(t, b, buffer_get(b, &x), BUFFER_UNDERFLOW);

    /* Absolute access: below the limit, and position never moves. */
    OK(t, buffer_set_position(b, 1));
    OK(t, buffer_get_at(b, 0, &x));
    TAP_OK(t, x == 0xf0, "get_at(0)");
    OK(t, buffer_put_at(b, 1, 'Q'));
    OK(t, buffer_get_at(b, 1, &x));
    TAP_OK(t, x == 'Q', "put_at then get_at");
    state(t, b, 1, 2, NONE, "absolute access leaves position alone");
    FAILS(t, b, buffer_get_at(b, 2, &x), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_put_at(b, 2, 1), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get_at(b, 3, &x), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_put_at(b, SIZE_MAX, 1), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get_at(b, SIZE_MAX, &x), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get(b, NULL), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_get_at(b, 0, NULL), BUFFER_BAD_ARGUMENT);
    buffer_free(b);
}

static void test_bulk(tap *t)
{
    buffer *b = buffer_allocate(8);
    OK(t, buffer_put_bytes(b, "abc", 3));
    FAILS(t, b, buffer_put_bytes(b, "123456", 6), BUFFER_OVERFLOW);
    OK(t, buffer_put_bytes(b, "12345", 5));
    state(t, b, 8, 8, NONE, "put_bytes filled the buffer exactly");
    TAP_OK(t, bytes_are(b, "abc12345", 8), "the bytes of both puts");
    OK(t, buffer_put_bytes(b, NULL, 0));
    FAILS(t, b, buffer_put_bytes(b, NULL, 1), BUFFER_BAD_ARGUMENT);

    buffer_flip(b);
    uint8_t dst[9];
    memset(dst, '#', sizeof dst);
    FAILS(t, b, buffer_get_bytes(b, dst, 9), BUFFER_UNDERFLOW);
    TAP_OK(t, dst[0] == '#', "an underflowing get writes nothing to dst");
    OK(t, buffer_get_bytes(b, dst, 3));
    TAP_OK(t, memcmp(dst, "abc", 3) == 0, "get_bytes copies in order");
    state(t, b, 3, 8, NONE, "get_bytes moved position");
    OK(t, buffer_get_bytes(b, NULL, 0));
    FAILS(t, b, buffer_get_bytes(b, NULL, 1), BUFFER_BAD_ARGUMENT);

    /* Absolute bulk: inside [0, limit), position untouched. */
    OK(t, buffer_set_limit(b, 6));
    memset(dst, '#', sizeof dst);
    OK(t, buffer_get_bytes_at(b, 2, dst, 4));
    TAP_OK(t, memcmp(dst, "c123", 4) == 0, "get_bytes_at(2, 4)");
    FAILS(t, b, buffer_get_bytes_at(b, 3, dst, 4), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get_bytes_at(b, 7, dst, 0), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get_bytes_at(b, 1, dst, SIZE_MAX),
          BUFFER_INDEX_OUT_OF_RANGE);
    OK(t, buffer_get_bytes_at(b, 6, dst, 0));
    OK(t, buffer_put_bytes_at(b, 4, "XY", 2));
    TAP_OK(t, bytes_are(b, "abc1XY45", 8), "put_bytes_at(4, \"XY\")");
    FAILS(t, b, buffer_put_bytes_at(b, 5, "XY", 2), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_put_bytes_at(b, SIZE_MAX, "X", 1),
          BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_put_bytes_at(b, 0, NULL, 1), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_get_bytes_at(b, 0, NULL, 1), BUFFER_BAD_ARGUMENT);
    state(t, b, 3, 6, NONE, "absolute bulk access leaves position alone");

    /* A get into the buffer's own array: the two ranges overlap, as in
     * Java's b.get(b.array(), 0, n). */
    buffer_clear(b);
    OK(t, buffer_put_bytes(b, "abcdefgh", 8));
    OK(t, buffer_set_position(b, 2));
    OK(t, buffer_get_bytes(b, buffer_array(b), 6));
    TAP_OK(t, bytes_are(b, "cdefghgh", 8), "get into overlapping memory");
    OK(t, buffer_get_bytes_at(b, 0, buffer_array(b) + 1, 7));
    TAP_OK(t, bytes_are(b, "ccdefghg", 8), "get_at into overlapping memory");
    buffer_free(b);
}

static void test_put_buffer(tap *t)
{
    buffer *dst = buffer_allocate(8), *src = letters(6);
    OK(t, buffer_set_position(src, 1));
    OK(t, buffer_set_limit(src, 4));
    OK(t, buffer_put(dst, '>'));
    OK(t, buffer_put_buffer(dst, src));
    state(t, dst, 4, 8, NONE, "put_buffer moved dst's position");
    state(t, src, 4, 4, NONE, "put_buffer drained src");
    TAP_OK(t, bytes_are(dst, ">bcd", 4), "put_buffer copied src's window");
    OK(t, buffer_put_buffer(dst, src));
    state(t, dst, 4, 8, NONE, "an empty src moves nothing");

    FAILS(t, dst, buffer_put_buffer(dst, dst), BUFFER_BAD_ARGUMENT);
    buffer_clear(src);
    OK(t, buffer_set_position(dst, 3));
    FAILS2(t, dst, src, buffer_put_buffer(dst, src), BUFFER_OVERFLOW);
    OK(t, buffer_set_position(src, 1));
    OK(t, buffer_put_buffer(dst, src));
    state(t, dst, 8, 8, NONE, "a src that just fits");

    buffer *ro = buffer_as_read_only(dst);
    buffer_clear(src);
    OK(t, buffer_set_position(ro, 0));
    FAILS2(t, ro, src, buffer_put_buffer(ro, src), BUFFER_READ_ONLY);
    buffer_clear(dst);
    OK(t, buffer_put_buffer(dst, ro));
    state(t, ro, 8, 8, NONE, "a read-only src may be read");
    FAILS(t, dst, buffer_put_buffer(dst, NULL), BUFFER_BAD_ARGUMENT);
    FAILS(t, src, buffer_put_buffer(NULL, src), BUFFER_BAD_ARGUMENT);
    FAILS(t, ro, buffer_put_buffer(ro, ro), BUFFER_READ_ONLY);
    buffer_free(ro);

    /* Two views of one block, overlapping: the copy must act as if it
     * went through a temporary array, as Java's does. */
    buffer *b = letters(8), *d = buffer_duplicate(b);
    OK(t, buffer_set_limit(d, 5));
    OK(t, buffer_set_position(b, 2));
    OK(t, buffer_put_buffer(b, d));
    TAP_OK(t, bytes_are(b, "ababcdeh", 8),
           "put_buffer between overlapping views");
    buffer_free(d);
    buffer_free(b);
    buffer_free(src);
    buffer_free(dst);
}

/* --- integers ---------------------------------------------------------- */

static void test_integers(tap *t)
{
    buffer *b = buffer_allocate(16);
    OK(t, buffer_put_short(b, 0x0102));
    OK(t, buffer_put_int(b, 0x03040506));
    OK(t, buffer_put_long(b, 0x0708090a0b0c0d0eLL));
    state(t, b, 14, 16, NONE, "2 + 4 + 8 bytes put");
    TAP_OK(t, bytes_are(b, "\1\2\3\4\5\6\7\10\11\12\13\14\15\16", 14),
           "big-endian: most significant byte first");

    buffer_clear(b);
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    OK(t, buffer_put_short(b, 0x0102));
    OK(t, buffer_put_int(b, 0x03040506));
    OK(t, buffer_put_long(b, 0x0708090a0b0c0d0eLL));
    TAP_OK(t, bytes_are(b, "\2\1\6\5\4\3\16\15\14\13\12\11\10\7", 14),
           "little-endian: least significant byte first");

    buffer_flip(b);
    int16_t s = 0;
    int32_t i = 0;
    int64_t l = 0;
    OK(t, buffer_get_short(b, &s));
    OK(t, buffer_get_int(b, &i));
    OK(t, buffer_get_long(b, &l));
    TAP_OK(t, s == 0x0102 && i == 0x03040506 && l == 0x0708090a0b0c0d0eLL,
           "little-endian values read back");
    state(t, b, 14, 14, NONE, "relative gets moved position");

    /* The same bytes read in the other order. */
    buffer_set_order(b, BUFFER_BIG_ENDIAN);
    OK(t, buffer_get_short_at(b, 0, &s));
    OK(t, buffer_get_int_at(b, 2, &i));
    TAP_OK(t, s == 0x0201 && i == 0x06050403, "read back in the other order");
    state(t, b, 14, 14, NONE, "absolute gets leave position alone");

    /* Sign extension, in both orders. */
    buffer_clear(b);
    OK(t, buffer_put_bytes(b, "\xff\xfe\x80\0\0\0\x7f\xff\xff\xff", 10));
    OK(t, buffer_get_short_at(b, 0, &s));
    TAP_OK(t, s == -2, "ff fe is the short -2 (got %d)", s);
    OK(t, buffer_get_int_at(b, 2, &i));
    TAP_OK(t, i == INT32_MIN, "80 00 00 00 is INT32_MIN");
    OK(t, buffer_get_int_at(b, 6, &i));
    TAP_OK(t, i == INT32_MAX, "7f ff ff ff is INT32_MAX");
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    OK(t, buffer_get_short_at(b, 0, &s));
    TAP_OK(t, s == -257, "little-endian ff fe is -257 (got %d)", s);
    OK(t, buffer_get_short_at(b, 1, &s));
    TAP_OK(t, s == -32514, "little-endian fe 80 is -32514 (got %d)", s);

    const int64_t longs[] = {INT64_MIN, -1, 0, 1, INT64_MAX};
    for (size_t k = 0; k < sizeof longs / sizeof longs[0]; k++) {
        for (int o = 0; o < 2; o++) {
            buffer_set_order(b, o ? BUFFER_LITTLE_ENDIAN : BUFFER_BIG_ENDIAN);
            OK(t, buffer_put_long_at(b, 3, longs[k]));
            l = 42;
            OK(t, buffer_get_long_at(b, 3, &l));
            TAP_OK(t, l == longs[k], "long %lld round-trips (order %d)",
                   (long long)longs[k], o);
        }
    }
    const int16_t shorts[] = {INT16_MIN, -1, 0, INT16_MAX};
    for (size_t k = 0; k < sizeof shorts / sizeof shorts[0]; k++) {
        OK(t, buffer_put_short_at(b, 14, shorts[k]));
        OK(t, buffer_get_short_at(b, 14, &s));
        TAP_OK(t, s == shorts[k], "short %d round-trips at the end", s);
    }
    OK(t, buffer_put_int_at(b, 12, INT32_MIN));
    OK(t, buffer_get_int_at(b, 12, &i));
    TAP_OK(t, i == INT32_MIN, "INT32_MIN round-trips in the last 4 bytes");

    /* Boundaries: 3 bytes left is not enough for an int. */
    OK(t, buffer_set_limit(b, 11));
    OK(t, buffer_set_position(b, 8));
    FAILS(t, b, buffer_put_int(b, 1), BUFFER_OVERFLOW);
    FAILS(t, b, buffer_get_int(b, &i), BUFFER_UNDERFLOW);
    FAILS(t, b, buffer_put_long(b, 1), BUFFER_OVERFLOW);
    FAILS(t, b, buffer_get_long(b, &l), BUFFER_UNDERFLOW);
    OK(t, buffer_set_position(b, 10));
    FAILS(t, b, buffer_put_short(b, 1), BUFFER_OVERFLOW);
    FAILS(t, b, buffer_get_short(b, &s), BUFFER_UNDERFLOW);
    OK(t, buffer_get_int_at(b, 7, &i));
    FAILS(t, b, buffer_get_int_at(b, 8, &i), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_put_int_at(b, 8, 1), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get_long_at(b, 4, &l), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_put_long_at(b, 4, 1), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get_short_at(b, 10, &s), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_put_short_at(b, 10, 1), BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get_long_at(b, SIZE_MAX - 3, &l),
          BUFFER_INDEX_OUT_OF_RANGE);
    FAILS(t, b, buffer_get_short(b, NULL), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_get_int(b, NULL), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_get_long(b, NULL), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_get_short_at(b, 0, NULL), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_get_int_at(b, 0, NULL), BUFFER_BAD_ARGUMENT);
    FAILS(t, b, buffer_get_long_at(b, 0, NULL), BUFFER_BAD_ARGUMENT);

    buffer *r = buffer_as_read_only(b);
    FAILS(t, r, buffer_put_short(r, 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_int_at(r, 0, 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_long_at(r, 0, 1), BUFFER_READ_ONLY);
    OK(t, buffer_get_int_at(r, 0, &i));
    buffer_free(r);
    buffer_free(b);
}

/* --- comparing ---------------------------------------------------------- */

static buffer *holding(const char *bytes, size_t n)
{
    buffer *b = buffer_allocate(n);
    buffer_put_bytes(b, bytes, n);
    buffer_flip(b);
    return b;
}

static void test_compare(tap *t)
{
    buffer *a = holding("xxabc", 5), *b = holding("abcyy", 5);
    OK(t, buffer_set_position(a, 2));
    OK(t, buffer_set_limit(b, 3));
    TAP_OK(t, buffer_equals(a, b) && buffer_compare(a, b) == 0,
           "only the remaining bytes count, wherever they sit");
    snapshot sa = snap(a), sb = snap(b);
    (void)buffer_compare(a, b);
    (void)buffer_equals(a, b);
    snapshot sa2 = snap(a), sb2 = snap(b);
    TAP_OK(t, same(&sa, &sa2) && same(&sb, &sb2), "comparing moves nothing");
    OK(t, buffer_set_limit(b, 4));
    TAP_OK(t,
           !buffer_equals(a, b) && buffer_compare(a, b) < 0 &&
               buffer_compare(b, a) > 0,
           "a prefix sorts first");
    buffer_free(a);
    buffer_free(b);

    /* Java's bytes are signed: 0x80 is -128 and sorts before 0x7f. */
    a = holding("\x80", 1);
    b = holding("\x7f", 1);
    TAP_OK(t, buffer_compare(a, b) < 0 && buffer_compare(b, a) > 0,
           "0x80 < 0x7f, as signed bytes");
    TAP_OK(t, !buffer_equals(a, b), "0x80 != 0x7f");
    buffer_free(b);
    b = holding("\xff", 1);
    TAP_OK(t, buffer_compare(a, b) < 0, "0x80 (-128) < 0xff (-1)");
    buffer_free(b);
    b = holding("\0", 1);
    TAP_OK(t, buffer_compare(b, a) > 0, "0x00 > 0x80");
    buffer_free(b);

    b = holding("", 0);
    buffer *e = buffer_allocate(3);
    buffer_flip(e);
    TAP_OK(t, buffer_equals(b, e) && buffer_compare(b, e) == 0,
           "two empty buffers are equal");
    TAP_OK(t, buffer_compare(b, a) < 0 && buffer_compare(a, b) > 0,
           "empty sorts first");
    TAP_OK(t, buffer_equals(a, a) && buffer_compare(a, a) == 0,
           "a buffer equals itself");
    TAP_OK(t,
           buffer_equals(NULL, NULL) && !buffer_equals(a, NULL) &&
               !buffer_equals(NULL, a),
           "NULL equals only NULL");
    TAP_OK(t,
           buffer_compare(NULL, a) < 0 && buffer_compare(a, NULL) > 0 &&
               buffer_compare(NULL, NULL) == 0,
           "NULL sorts first");
    buffer_free(e);
    buffer_free(b);
    buffer_free(a);
}

/* --- views ------------------------------------------------------------- */

static void test_slice(tap *t)
{
    buffer *b = letters(8);
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    OK(t, buffer_set_position(b, 2));
    buffer_mark(b);
    OK(t, buffer_set_position(b, 3));
    OK(t, buffer_set_limit(b, 7));
    buffer *s = buffer_slice(b);
    TAP_OK(t, s != NULL && buffer_capacity(s) == 4,
           "slice: capacity = the original's remaining");
    state(t, s, 0, 4, NONE, "slice: position 0, limit = capacity, no mark");
    TAP_OK(t, buffer_get_order(s) == BUFFER_BIG_ENDIAN,
           "slice starts big-endian, whatever the original's order");
    TAP_OK(t, bytes_are(s, "defg", 4), "slice sees the window's bytes");
    OK(t, buffer_put(s, 'D'));
    TAP_OK(t, bytes_are(b, "abcDefgh", 8), "a put through the slice shows");
    OK(t, buffer_put_at(b, 4, 'E'));
    uint8_t x;
    OK(t, buffer_get_at(s, 1, &x));
    TAP_OK(t, x == 'E', "a put through the original shows in the slice");
    FAILS(t, s, buffer_put_at(s, 4, 1), BUFFER_INDEX_OUT_OF_RANGE);
    state(t, b, 3, 7, 2, "slicing leaves the original alone");

    buffer *ss = buffer_slice_range(s, 1, 2);
    TAP_OK(t, ss != NULL && buffer_capacity(ss) == 2 && bytes_are(ss, "Ef", 2),
           "slice_range of a slice: offsets add up");
    OK(t, buffer_put_at(ss, 1, 'F'));
    TAP_OK(t, bytes_are(b, "abcDEFgh", 8), "through two slices");
    buffer_free(ss);

    ss = buffer_slice_range(b, 0, 7);
    TAP_OK(t, ss != NULL && buffer_capacity(ss) == 7,
           "slice_range may start below position");
    state(t, ss, 0, 7, NONE, "slice_range's indexes");
    buffer_free(ss);
    ss = buffer_slice_range(b, 7, 0);
    TAP_OK(t, ss != NULL && buffer_capacity(ss) == 0,
           "slice_range(limit, 0) is empty");
    buffer_free(ss);
    errno = 0;
    TAP_OK(t, buffer_slice_range(b, 6, 2) == NULL && errno == EINVAL,
           "slice_range past the limit fails");
    errno = 0;
    TAP_OK(t, buffer_slice_range(b, 8, 0) == NULL && errno == EINVAL,
           "slice_range starting past the limit fails");
    errno = 0;
    TAP_OK(t, buffer_slice_range(b, 1, SIZE_MAX) == NULL && errno == EINVAL,
           "slice_range with index + length overflowing fails");
    buffer_free(s);
    buffer_free(b);
}

static void test_duplicate_and_read_only(tap *t)
{
    buffer *b = letters(8);
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    OK(t, buffer_set_position(b, 1));
    buffer_mark(b);
    OK(t, buffer_set_position(b, 3));
    OK(t, buffer_set_limit(b, 6));
    buffer *d = buffer_duplicate(b);
    TAP_OK(t, d != NULL && buffer_capacity(d) == 8, "duplicate: capacity");
    state(t, d, 3, 6, 1, "duplicate copies position, limit and mark");
    TAP_OK(t, buffer_get_order(d) == BUFFER_BIG_ENDIAN,
           "duplicate starts big-endian");
    OK(t, buffer_reset(d));
    OK(t, buffer_put(d, 'B'));
    state(t, b, 3, 6, 1, "the duplicate's indexes are its own");
    TAP_OK(t, bytes_are(b, "aBcdefgh", 8), "the duplicate's bytes are not");

    buffer *r = buffer_as_read_only(b);
    TAP_OK(t, r != NULL && buffer_is_read_only(r), "as_read_only");
    state(t, r, 3, 6, 1, "read-only view copies the indexes and mark");
    TAP_OK(t, buffer_get_order(r) == BUFFER_BIG_ENDIAN,
           "read-only view starts big-endian");
    TAP_OK(t, buffer_array(r) == NULL, "array() of a read-only view is NULL");
    TAP_OK(t, buffer_const_array(r) == buffer_const_array(b),
           "const_array of a read-only view is the shared bytes");
    FAILS(t, r, buffer_put(r, 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_at(r, 0, 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_bytes(r, "x", 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_bytes_at(r, 0, "x", 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_bytes(r, "", 0), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_int(r, 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_long(r, 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_put_short_at(r, 0, 1), BUFFER_READ_ONLY);
    FAILS(t, r, buffer_compact(r), BUFFER_READ_ONLY);
    uint8_t x;
    OK(t, buffer_get(r, &x));
    TAP_OK(t, x == 'd', "a read-only view can be read");
    OK(t, buffer_put_at(b, 4, 'E'));
    OK(t, buffer_get(r, &x));
    TAP_OK(t, x == 'E', "a read-only view sees later writes");
    /* The indexes of a read-only view still move. */
    buffer_flip(r);
    buffer_clear(r);
    OK(t, buffer_set_limit(r, 2));
    state(t, r, 0, 2, NONE, "a read-only view's indexes move");

    buffer *rs = buffer_slice(r), *rd = buffer_duplicate(r);
    TAP_OK(t,
           buffer_is_read_only(rs) && buffer_is_read_only(rd) &&
               buffer_array(rs) == NULL && buffer_array(rd) == NULL,
           "views of a read-only view are read-only");
    buffer *rr = buffer_as_read_only(d);
    buffer_free(rr);
    TAP_OK(t, !buffer_is_read_only(d) && !buffer_is_read_only(b),
           "making a read-only view leaves the source writable");
    buffer_free(rs);
    buffer_free(rd);
    buffer_free(r);
    buffer_free(d);
    buffer_free(b);
}

/* Free the original first, then use the views: the storage must stay
 * alive. Under AddressSanitizer, a use after free here fails the test. */
static void test_views_outlive_original(tap *t)
{
    buffer *b = letters(8);
    buffer *s = buffer_slice_range(b, 2, 4);
    buffer *d = buffer_duplicate(b);
    buffer *r = buffer_as_read_only(b);
    buffer_free(b);
    OK(t, buffer_put(s, 'C'));
    uint8_t x = 0;
    OK(t, buffer_get_at(d, 2, &x));
    TAP_OK(t, x == 'C', "views still share the bytes after the original");
    buffer_free(d);
    OK(t, buffer_get_at(r, 2, &x));
    TAP_OK(t, x == 'C', "the read-only view outlives two others");
    buffer *s2 = buffer_slice(s);
    buffer_free(s);
    buffer_free(r);
    OK(t, buffer_put_at(s2, 0, 'Z'));
    OK(t, buffer_get_at(s2, 0, &x));
    TAP_OK(t, x == 'Z', "a view of a view outlives both");
    buffer_free(s2);

    /* Borrowed memory: views keep the storage record, never free the
     * caller's bytes. */
    uint8_t mem[4] = "wxyz";
    b = buffer_wrap(mem, 4);
    s = buffer_slice(b);
    buffer_free(b);
    OK(t, buffer_put(s, 'W'));
    buffer_free(s);
    TAP_OK(t, mem[0] == 'W', "a view of wrapped memory writes it");
}

/* --- NULL and odd arguments ------------------------------------------- */

static void test_null(tap *t)
{
    uint8_t x = 0, mem[4] = {0};
    int16_t s;
    int32_t i;
    int64_t l;
    size_t m = 7;
    buffer_free(NULL);
    buffer_mark(NULL);
    buffer_clear(NULL);
    buffer_flip(NULL);
    buffer_rewind(NULL);
    buffer_set_order(NULL, BUFFER_LITTLE_ENDIAN);
    TAP_OK(t,
           buffer_capacity(NULL) == 0 && buffer_position(NULL) == 0 &&
               buffer_limit(NULL) == 0 && buffer_remaining(NULL) == 0 &&
               !buffer_has_remaining(NULL) && !buffer_is_read_only(NULL),
           "the index getters return 0 for NULL");
    TAP_OK(t, !buffer_mark_value(NULL, &m) && m == 7,
           "mark_value(NULL) is false and writes nothing");
    TAP_OK(t, buffer_get_order(NULL) == BUFFER_BIG_ENDIAN,
           "get_order(NULL) is big-endian");
    TAP_OK(t, !buffer_invariant_holds(NULL), "invariant_holds(NULL) is false");
    TAP_OK(t, buffer_array(NULL) == NULL && buffer_const_array(NULL) == NULL,
           "array(NULL) is NULL");
    errno = 0;
    TAP_OK(t, buffer_slice(NULL) == NULL && errno == EINVAL, "slice(NULL)");
    errno = 0;
    TAP_OK(t, buffer_slice_range(NULL, 0, 0) == NULL && errno == EINVAL,
           "slice_range(NULL)");
    errno = 0;
    TAP_OK(t, buffer_duplicate(NULL) == NULL && errno == EINVAL,
           "duplicate(NULL)");
    errno = 0;
    TAP_OK(t, buffer_as_read_only(NULL) == NULL && errno == EINVAL,
           "as_read_only(NULL)");

    const buffer_status calls[] = {
        buffer_set_position(NULL, 0),
        buffer_set_limit(NULL, 0),
        buffer_reset(NULL),
        buffer_compact(NULL),
        buffer_get(NULL, &x),
        buffer_put(NULL, 1),
        buffer_get_at(NULL, 0, &x),
        buffer_put_at(NULL, 0, 1),
        buffer_get_bytes(NULL, mem, 1),
        buffer_put_bytes(NULL, mem, 1),
        buffer_get_bytes(NULL, NULL, 0),
        buffer_get_bytes_at(NULL, 0, mem, 1),
        buffer_put_bytes_at(NULL, 0, mem, 1),
        buffer_put_buffer(NULL, NULL),
        buffer_get_short(NULL, &s),
        buffer_get_int(NULL, &i),
        buffer_get_long(NULL, &l),
        buffer_put_short(NULL, 1),
        buffer_put_int(NULL, 1),
        buffer_put_long(NULL, 1),
        buffer_get_short_at(NULL, 0, &s),
        buffer_get_int_at(NULL, 0, &i),
        buffer_get_long_at(NULL, 0, &l),
        buffer_put_short_at(NULL, 0, 1),
        buffer_put_int_at(NULL, 0, 1),
        buffer_put_long_at(NULL, 0, 1),
    };
    size_t bad = 0;
    for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++)
        bad += calls[k] != BUFFER_BAD_ARGUMENT;
    TAP_OK(t, bad == 0,
           "all %zu operations on a NULL buffer return BAD_ARGUMENT "
           "(%zu did not)",
           sizeof calls / sizeof calls[0], bad);

    buffer *b = letters(4);
    size_t mark = 99;
    buffer_mark(b);
    TAP_OK(t, buffer_mark_value(b, NULL), "mark_value with no out pointer");
    TAP_OK(t, buffer_mark_value(b, &mark) && mark == 0, "mark_value");
    buffer_free(b);
}

/* --- the seed's pitfalls, in buffer terms ------------------------------ */

/* Puts `text` the way a read(2) of that piece would. */
static void arrive(buffer *b, const char *text)
{
    buffer_put_bytes(b, text, strlen(text));
}

/* A buffer that is being filled holds its data in 0..position. */
static bool holds(const buffer *b, const char *text)
{
    size_t n = strlen(text);
    return buffer_position(b) == n &&
           memcmp(buffer_const_array(b), text, n) == 0;
}

static void test_seed_pitfalls(tap *t)
{
    /* One read buffer for every client, cleared before each read: client
     * A's first half is gone by the time its second half arrives. */
    buffer *shared = buffer_allocate(32);
    buffer_clear(shared);
    arrive(shared, "GET /a");
    buffer_clear(shared); /* client B is readable */
    arrive(shared, "GET /b");
    buffer_clear(shared); /* client A again */
    arrive(shared, " HTTP/1.1\r\n");
    TAP_OK(t, !holds(shared, "GET /a HTTP/1.1\r\n"),
           "pitfall: a shared, cleared buffer loses A's first half");
    buffer_free(shared);

    /* The fix: one buffer per connection, never cleared mid-message. */
    buffer *a = buffer_allocate(32), *b = buffer_allocate(32);
    arrive(a, "GET /a");
    arrive(b, "GET /b");
    arrive(a, " HTTP/1.1\r\n");
    TAP_OK(t, holds(a, "GET /a HTTP/1.1\r\n"),
           "fix: a buffer per connection keeps the whole request");
    TAP_OK(t, holds(b, "GET /b"), "fix: B's half waits in B's buffer");
    buffer_free(a);
    buffer_free(b);

    /* array() is the whole backing store: after a long message and a
     * short one, the bytes past the limit are the old message's. Only
     * position..limit is the data. */
    buffer *r = buffer_allocate(16);
    arrive(r, "a long message");
    buffer_clear(r);
    arrive(r, "short");
    buffer_flip(r);
    TAP_OK(t, memcmp(buffer_const_array(r), "shortg message", 14) == 0,
           "pitfall: the whole array still shows the old message's tail");
    TAP_OK(t,
           buffer_position(r) == 0 && buffer_remaining(r) == 5 &&
               memcmp(buffer_const_array(r), "short", 5) == 0,
           "fix: position..limit is exactly the new message");
    buffer_free(r);

    /* A short write followed by clear drops the unsent bytes; compact
     * keeps them in front of whatever is read next. */
    buffer *w = buffer_allocate(8);
    uint8_t sent[3];
    arrive(w, "abcdef");
    buffer_flip(w);
    buffer_get_bytes(w, sent, 3); /* write(2) took only 3 */
    buffer *w2 = buffer_duplicate(w);
    buffer_clear(w);
    arrive(w, "gh");
    TAP_OK(t, holds(w, "gh"), "pitfall: clear after a short write loses def");
    OK(t, buffer_compact(w2));
    arrive(w2, "gh");
    TAP_OK(t, holds(w2, "defgh"), "fix: compact keeps def before gh");
    buffer_free(w2);
    buffer_free(w);
}

static void test_status_names(tap *t)
{
    const char *names[] = {
        "BUFFER_OK",           "BUFFER_OVERFLOW",           "BUFFER_UNDERFLOW",
        "BUFFER_INVALID_MARK", "BUFFER_INDEX_OUT_OF_RANGE", "BUFFER_READ_ONLY",
        "BUFFER_BAD_ARGUMENT"};
    const buffer_status values[] = {
        BUFFER_OK,           BUFFER_OVERFLOW,           BUFFER_UNDERFLOW,
        BUFFER_INVALID_MARK, BUFFER_INDEX_OUT_OF_RANGE, BUFFER_READ_ONLY,
        BUFFER_BAD_ARGUMENT};
    for (size_t k = 0; k < sizeof values / sizeof values[0]; k++)
        TAP_OK(t, strcmp(buffer_status_name(values[k]), names[k]) == 0,
               "status %zu is named %s", k, names[k]);
    TAP_OK(t,
           strcmp(buffer_status_name((buffer_status)99),
                  "BUFFER_UNKNOWN_STATUS") == 0,
           "an unknown status has a name too");
}

int main(void)
{
    tap t = {0};
    test_allocate(&t);
    test_wrap(&t);
    test_position_and_limit(&t);
    test_mark_reset(&t);
    test_flip_rewind_clear(&t);
    test_compact(&t);
    test_order(&t);
    test_single_bytes(&t);
    test_bulk(&t);
    test_put_buffer(&t);
    test_integers(&t);
    test_compare(&t);
    test_slice(&t);
    test_duplicate_and_read_only(&t);
    test_views_outlive_original(&t);
    test_null(&t);
    test_seed_pitfalls(&t);
    test_status_names(&t);
    return tap_done(&t);
}
