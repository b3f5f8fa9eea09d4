/*
 * lab_buffer.c - the stages of chapter 1's lab, in the order of the
 * lesson: the four indexes, relative put and get, flip/rewind/clear, mark
 * and reset, compact, absolute access, byte order, views. Each stage
 * checks behaviour through buffer.h only, so that any correct buffer.c
 * passes, whatever it looks like inside.
 */
#include "01-buffer/buffer.h"
#include "lab_check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define STATUS(s) buffer_status_name(s)

/* "position=3 limit=8 capacity=8 mark=2" */
static const char *state(const buffer *b)
{
    static char text[128];
    size_t m;
    char mark[32] = "none";
    if (buffer_mark_value(b, &m))
        snprintf(mark, sizeof mark, "%zu", m);
    snprintf(text, sizeof text, "position=%zu limit=%zu capacity=%zu mark=%s",
             buffer_position(b), buffer_limit(b), buffer_capacity(b), mark);
    return text;
}

static bool at_state(const buffer *b, size_t p, size_t l, size_t c, size_t m)
{
    size_t got;
    bool has = buffer_mark_value(b, &got);
    return buffer_position(b) == p && buffer_limit(b) == l &&
           buffer_capacity(b) == c &&
           (m == SIZE_MAX ? !has : (has && got == m));
}

#define NO_MARK_ SIZE_MAX

static buffer *new_buffer(size_t capacity)
{
    buffer *b = buffer_allocate(capacity);
    if (b == NULL)
        lab_fail("buffer_allocate to return a buffer", "NULL");
    return b;
}

/* Puts "abcdef..." (n bytes), one byte at a time. */
static void put_letters(buffer *b, size_t n)
{
    lab_did("put %zu bytes 'a', 'b', ... one at a time into a buffer with %s",
            n, state(b));
    for (size_t i = 0; i < n; i++) {
        buffer_status s = buffer_put(b, (uint8_t)('a' + i));
        LAB_EXPECT(s == BUFFER_OK,
                   "BUFFER_OK from each put while there is room",
                   "%s at byte %zu (%s)", STATUS(s), i, state(b));
    }
}

static void stage_indexes(void)
{
    buffer *b = new_buffer(8);
    lab_did("buffer_set_position(b, 5) on a new 8-byte buffer");
    buffer_status s = buffer_set_position(b, 5);
    LAB_EXPECT(s == BUFFER_OK && at_state(b, 5, 8, 8, NO_MARK_),
               "BUFFER_OK, position=5 limit=8 capacity=8 mark=none", "%s, %s",
               STATUS(s), state(b));

    lab_did("buffer_set_position(b, 9) when the limit is 8");
    s = buffer_set_position(b, 9);
    LAB_EXPECT(s == BUFFER_BAD_ARGUMENT && at_state(b, 5, 8, 8, NO_MARK_),
               "BUFFER_BAD_ARGUMENT and nothing changed (position=5 limit=8)",
               "%s, %s", STATUS(s), state(b));

    lab_did("buffer_set_limit(b, 3) when the position is 5");
    s = buffer_set_limit(b, 3);
    LAB_EXPECT(s == BUFFER_OK && at_state(b, 3, 3, 8, NO_MARK_),
               "BUFFER_OK; the position follows the limit down: position=3 "
               "limit=3",
               "%s, %s", STATUS(s), state(b));

    lab_did("buffer_set_limit(b, 9) on an 8-byte buffer");
    s = buffer_set_limit(b, 9);
    LAB_EXPECT(s == BUFFER_BAD_ARGUMENT && at_state(b, 3, 3, 8, NO_MARK_),
               "BUFFER_BAD_ARGUMENT and nothing changed (position=3 limit=3)",
               "%s, %s", STATUS(s), state(b));

    lab_did("buffer_set_limit(b, 8), then buffer_set_position(b, 8)");
    s = buffer_set_limit(b, 8);
    buffer_status s2 = buffer_set_position(b, 8);
    LAB_EXPECT(s == BUFFER_OK && s2 == BUFFER_OK &&
                   at_state(b, 8, 8, 8, NO_MARK_),
               "BUFFER_OK twice; position=8 limit=8 (position may equal the "
               "limit)",
               "%s and %s, %s", STATUS(s), STATUS(s2), state(b));

    lab_did("buffer_set_position(b, 4) with a mark at 6 (mark, then move "
            "back)");
    buffer_set_position(b, 6);
    buffer_mark(b);
    s = buffer_set_position(b, 4);
    LAB_EXPECT(s == BUFFER_OK && at_state(b, 4, 8, 8, NO_MARK_),
               "BUFFER_OK, position=4 and the mark discarded (it would lie "
               "past the position)",
               "%s, %s", STATUS(s), state(b));

    lab_did("buffer_set_limit(b, 5) with a mark at 6 and the position at 6");
    buffer_set_position(b, 6);
    buffer_mark(b);
    s = buffer_set_limit(b, 5);
    LAB_EXPECT(s == BUFFER_OK && at_state(b, 5, 5, 8, NO_MARK_),
               "BUFFER_OK, position=5 limit=5, the mark discarded", "%s, %s",
               STATUS(s), state(b));
    buffer_free(b);
}

static void stage_put_get(void)
{
    buffer *b = new_buffer(4);
    lab_did("put 'a', 'b', 'c' into a new 4-byte buffer");
    put_letters(b, 3);
    LAB_EXPECT(at_state(b, 3, 4, 4, NO_MARK_),
               "position=3 limit=4: each put moves the position by one", "%s",
               state(b));
    LAB_EXPECT(memcmp(buffer_const_array(b), "abc", 3) == 0,
               "the bytes 'abc' at indexes 0..2", "'%.3s'",
               (const char *)buffer_const_array(b));

    lab_did("buffer_put_bytes(b, \"xy\", 2) with one byte of room left");
    buffer_status s = buffer_put_bytes(b, "xy", 2);
    LAB_EXPECT(s == BUFFER_OVERFLOW && at_state(b, 3, 4, 4, NO_MARK_),
               "BUFFER_OVERFLOW and nothing written, position still 3",
               "%s, %s", STATUS(s), state(b));
    LAB_EXPECT(buffer_const_array(b)[3] == 0,
               "index 3 still 0: a failed put writes nothing", "index 3 = %d",
               buffer_const_array(b)[3]);

    lab_did("put 'd' into the last free byte, then one more put");
    s = buffer_put(b, 'd');
    buffer_status s2 = buffer_put(b, 'e');
    LAB_EXPECT(s == BUFFER_OK && s2 == BUFFER_OVERFLOW &&
                   at_state(b, 4, 4, 4, NO_MARK_),
               "BUFFER_OK, then BUFFER_OVERFLOW at the limit; position=4",
               "%s, then %s; %s", STATUS(s), STATUS(s2), state(b));

    lab_did("on a new 8-byte buffer, set the limit to 2 and put 3 bytes");
    buffer *small = new_buffer(8);
    buffer_set_limit(small, 2);
    s = buffer_put(small, 'a');
    s2 = buffer_put(small, 'b');
    buffer_status s3 = buffer_put(small, 'c');
    LAB_EXPECT(s == BUFFER_OK && s2 == BUFFER_OK && s3 == BUFFER_OVERFLOW &&
                   at_state(small, 2, 2, 8, NO_MARK_) &&
                   buffer_const_array(small)[2] == 0,
               "BUFFER_OK twice, then BUFFER_OVERFLOW at the limit (not the "
               "capacity), and index 2 untouched",
               "%s, %s, %s; %s; index 2 = %d", STATUS(s), STATUS(s2),
               STATUS(s3), state(small), buffer_const_array(small)[2]);
    buffer_free(small);

    lab_did("set the position to 1, then get two bytes");
    buffer_set_position(b, 1);
    char two[3] = {0};
    s = buffer_get_bytes(b, two, 2);
    LAB_EXPECT(s == BUFFER_OK && strcmp(two, "bc") == 0 &&
                   at_state(b, 3, 4, 4, NO_MARK_),
               "BUFFER_OK, the bytes \"bc\", position=3", "%s, \"%s\", %s",
               STATUS(s), two, state(b));

    lab_did("get two bytes when one remains");
    memset(two, 0, sizeof two);
    s = buffer_get_bytes(b, two, 2);
    LAB_EXPECT(s == BUFFER_UNDERFLOW && two[0] == 0 &&
                   at_state(b, 3, 4, 4, NO_MARK_),
               "BUFFER_UNDERFLOW, nothing copied, position still 3",
               "%s, first byte %d, %s", STATUS(s), two[0], state(b));

    lab_did("get one byte, then one more at the limit");
    uint8_t one = 0;
    s = buffer_get(b, &one);
    s2 = buffer_get(b, &one);
    LAB_EXPECT(s == BUFFER_OK && one == 'd' && s2 == BUFFER_UNDERFLOW,
               "BUFFER_OK with 'd', then BUFFER_UNDERFLOW",
               "%s with %d, then %s", STATUS(s), one, STATUS(s2));

    lab_did("put into a read-only view of the buffer");
    buffer *ro = buffer_as_read_only(b);
    if (ro != NULL) {
        buffer_set_position(ro, 0);
        s = buffer_put(ro, 'z');
        LAB_EXPECT(s == BUFFER_READ_ONLY && buffer_const_array(b)[0] == 'a',
                   "BUFFER_READ_ONLY and the byte unchanged", "%s, byte '%c'",
                   STATUS(s), buffer_const_array(b)[0]);
        buffer_free(ro);
    }
    buffer_free(b);
}

static void stage_flip_rewind_clear(void)
{
    buffer *b = new_buffer(8);
    put_letters(b, 5);
    buffer_mark(b);
    lab_did("put 5 bytes into an 8-byte buffer, mark, then buffer_flip");
    buffer_flip(b);
    LAB_EXPECT(at_state(b, 0, 5, 8, NO_MARK_),
               "position=0 limit=5 mark=none: the end of the data becomes the "
               "limit",
               "%s", state(b));

    lab_did("after the flip, get 2 bytes, then buffer_rewind");
    uint8_t x;
    buffer_get(b, &x);
    buffer_get(b, &x);
    buffer_mark(b);
    buffer_rewind(b);
    LAB_EXPECT(at_state(b, 0, 5, 8, NO_MARK_),
               "position=0, the limit kept at 5, mark=none", "%s", state(b));

    lab_did("buffer_flip twice in a row (the second flip of nothing read)");
    buffer_set_position(b, 2);
    buffer_flip(b);
    buffer_flip(b);
    LAB_EXPECT(at_state(b, 0, 0, 8, NO_MARK_),
               "position=0 limit=0: flipping again leaves nothing to read",
               "%s", state(b));

    lab_did("buffer_clear after the above");
    buffer_set_position(b, 0);
    buffer_mark(b);
    buffer_clear(b);
    LAB_EXPECT(
        at_state(b, 0, 8, 8, NO_MARK_),
        "position=0 limit=8 mark=none (clear forgets; it does not erase)", "%s",
        state(b));
    LAB_EXPECT(memcmp(buffer_const_array(b), "abcde", 5) == 0,
               "the bytes 'abcde' still there", "'%.5s'",
               (const char *)buffer_const_array(b));
    buffer_free(b);
}

static void stage_mark_reset(void)
{
    buffer *b = new_buffer(8);
    lab_did("buffer_reset on a new buffer (no mark)");
    buffer_status s = buffer_reset(b);
    LAB_EXPECT(s == BUFFER_INVALID_MARK && at_state(b, 0, 8, 8, NO_MARK_),
               "BUFFER_INVALID_MARK and nothing changed", "%s, %s", STATUS(s),
               state(b));

    lab_did("put 2 bytes, buffer_mark, put 3 more, buffer_reset");
    put_letters(b, 2);
    buffer_mark(b);
    LAB_EXPECT(at_state(b, 2, 8, 8, 2), "mark=2 after buffer_mark at 2", "%s",
               state(b));
    put_letters(b, 3);
    s = buffer_reset(b);
    LAB_EXPECT(s == BUFFER_OK && at_state(b, 2, 8, 8, 2),
               "BUFFER_OK, back at position=2, the mark kept", "%s, %s",
               STATUS(s), state(b));

    lab_did("buffer_reset a second time");
    s = buffer_reset(b);
    LAB_EXPECT(s == BUFFER_OK && at_state(b, 2, 8, 8, 2),
               "BUFFER_OK again: reset does not use the mark up", "%s, %s",
               STATUS(s), state(b));
    buffer_free(b);
}

static void stage_compact(void)
{
    buffer *b = new_buffer(8);
    put_letters(b, 6);
    buffer_flip(b);
    uint8_t x;
    buffer_get(b, &x);
    buffer_get(b, &x);
    lab_did("put 'abcdef', flip, get 2 bytes, then buffer_compact");
    buffer_status s = buffer_compact(b);
    LAB_EXPECT(s == BUFFER_OK && at_state(b, 4, 8, 8, NO_MARK_),
               "BUFFER_OK, position=4 (after the 4 unread bytes) limit=8",
               "%s, %s", STATUS(s), state(b));
    LAB_EXPECT(memcmp(buffer_const_array(b), "cdef", 4) == 0,
               "the unread bytes 'cdef' moved to the front", "'%.4s'",
               (const char *)buffer_const_array(b));

    lab_did("compact a buffer whose bytes were all read");
    buffer_clear(b);
    put_letters(b, 3);
    buffer_flip(b);
    char three[3];
    buffer_get_bytes(b, three, 3);
    s = buffer_compact(b);
    LAB_EXPECT(s == BUFFER_OK && at_state(b, 0, 8, 8, NO_MARK_),
               "BUFFER_OK, position=0 limit=8", "%s, %s", STATUS(s), state(b));

    lab_did("the reading loop: put 5, flip, get 3, compact, put 2, flip, "
            "get all");
    buffer_clear(b);
    buffer_put_bytes(b, "hello", 5);
    buffer_flip(b);
    buffer_get_bytes(b, three, 3);
    buffer_compact(b);
    buffer_put_bytes(b, "!?", 2);
    buffer_flip(b);
    char all[8] = {0};
    size_t n = buffer_remaining(b);
    s = n < sizeof all ? buffer_get_bytes(b, all, n) : BUFFER_OVERFLOW;
    LAB_EXPECT(s == BUFFER_OK && n == 4 && memcmp(all, "lo!?", 4) == 0,
               "4 bytes \"lo!?\": nothing lost, nothing read twice",
               "%zu bytes \"%.*s\" (%s)", n, (int)(n < 8 ? n : 7), all,
               STATUS(s));

    lab_did("buffer_compact on a read-only view");
    buffer *ro = buffer_as_read_only(b);
    if (ro != NULL) {
        s = buffer_compact(ro);
        LAB_EXPECT(s == BUFFER_READ_ONLY, "BUFFER_READ_ONLY", "%s", STATUS(s));
        buffer_free(ro);
    }
    buffer_free(b);
}

static void stage_absolute(void)
{
    buffer *b = new_buffer(6);
    put_letters(b, 4);
    lab_did("with position 4 and limit 6: buffer_put_at(b, 1, 'X'), then "
            "buffer_get_at(b, 1)");
    buffer_status s = buffer_put_at(b, 1, 'X');
    uint8_t x = 0;
    buffer_status s2 = buffer_get_at(b, 1, &x);
    LAB_EXPECT(s == BUFFER_OK && s2 == BUFFER_OK && x == 'X' &&
                   at_state(b, 4, 6, 6, NO_MARK_),
               "BUFFER_OK twice, 'X', and the position left at 4",
               "%s, %s, %d, %s", STATUS(s), STATUS(s2), x, state(b));

    lab_did("buffer_get_at(b, 5) with limit 6, then the limit set to 5");
    s = buffer_get_at(b, 5, &x);
    buffer_set_limit(b, 5);
    s2 = buffer_get_at(b, 5, &x);
    LAB_EXPECT(s == BUFFER_OK && s2 == BUFFER_INDEX_OUT_OF_RANGE,
               "BUFFER_OK below the limit, then BUFFER_INDEX_OUT_OF_RANGE at "
               "the limit",
               "%s, then %s", STATUS(s), STATUS(s2));

    lab_did("buffer_put_bytes_at(b, 4, \"12\", 2) with limit 5 (one byte "
            "would fall past it)");
    s = buffer_put_bytes_at(b, 4, "12", 2);
    uint8_t before = buffer_const_array(b)[4];
    s2 = buffer_put_bytes_at(b, 4, "1", 1);
    LAB_EXPECT(
        s == BUFFER_INDEX_OUT_OF_RANGE && before == 0 && s2 == BUFFER_OK &&
            buffer_const_array(b)[4] == '1' && buffer_const_array(b)[5] == 0,
        "BUFFER_INDEX_OUT_OF_RANGE writing nothing, then BUFFER_OK for "
        "the one byte that fits",
        "%s (byte 4 then %d), then %s; bytes 4..5 = %d %d", STATUS(s), before,
        STATUS(s2), buffer_const_array(b)[4], buffer_const_array(b)[5]);

    lab_did("buffer_get_bytes_at with an index near SIZE_MAX");
    char two[2];
    s = buffer_get_bytes_at(b, SIZE_MAX - 1, two, 2);
    LAB_EXPECT(s == BUFFER_INDEX_OUT_OF_RANGE,
               "BUFFER_INDEX_OUT_OF_RANGE (index + length must not wrap "
               "around)",
               "%s", STATUS(s));
    buffer_free(b);
}

static void stage_byte_order(void)
{
    buffer *b = new_buffer(16);
    lab_did("buffer_put_int(b, 0x01020304) in the default (big-endian) order");
    buffer_status s = buffer_put_int(b, 0x01020304);
    const uint8_t *a = buffer_const_array(b);
    LAB_EXPECT(s == BUFFER_OK && a[0] == 1 && a[1] == 2 && a[2] == 3 &&
                   a[3] == 4 && buffer_position(b) == 4,
               "BUFFER_OK, bytes 01 02 03 04, position=4",
               "%s, bytes %02x %02x %02x %02x, position=%zu", STATUS(s), a[0],
               a[1], a[2], a[3], buffer_position(b));

    lab_did("buffer_set_order(b, BUFFER_LITTLE_ENDIAN), then "
            "buffer_put_short(b, 0x0506)");
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    s = buffer_put_short(b, 0x0506);
    LAB_EXPECT(s == BUFFER_OK && a[4] == 6 && a[5] == 5,
               "BUFFER_OK, bytes 06 05 (least significant first)",
               "%s, bytes %02x %02x", STATUS(s), a[4], a[5]);

    lab_did("buffer_put_long(b, -2) little-endian, then read it back with "
            "buffer_get_long_at(b, 6)");
    s = buffer_put_long(b, -2);
    int64_t l = 0;
    buffer_status s2 = buffer_get_long_at(b, 6, &l);
    LAB_EXPECT(s == BUFFER_OK && s2 == BUFFER_OK && l == -2 && a[6] == 0xfe &&
                   a[13] == 0xff,
               "-2 back, stored as fe ff ff ff ff ff ff ff",
               "%s, %s, %lld, first byte %02x, last %02x", STATUS(s),
               STATUS(s2), (long long)l, a[6], a[13]);

    lab_did("read the first 4 bytes as a big-endian int and as a "
            "little-endian int");
    int32_t big = 0, little = 0;
    buffer_set_order(b, BUFFER_BIG_ENDIAN);
    buffer_get_int_at(b, 0, &big);
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    buffer_get_int_at(b, 0, &little);
    LAB_EXPECT(big == 0x01020304 && little == 0x04030201,
               "0x01020304 big-endian, 0x04030201 little-endian",
               "0x%08x and 0x%08x", (unsigned)big, (unsigned)little);

    lab_did("buffer_put_short(b, -32768) big-endian, then buffer_get_short");
    buffer_set_order(b, BUFFER_BIG_ENDIAN);
    buffer_clear(b);
    buffer_put_short(b, INT16_MIN);
    buffer_flip(b);
    int16_t sh = 0;
    s = buffer_get_short(b, &sh);
    LAB_EXPECT(s == BUFFER_OK && sh == INT16_MIN && a[0] == 0x80 && a[1] == 0,
               "-32768 back, stored as 80 00", "%s, %d, stored as %02x %02x",
               STATUS(s), sh, a[0], a[1]);
    buffer_free(b);
}

static void stage_views(void)
{
    buffer *b = new_buffer(8);
    put_letters(b, 6);
    buffer_set_position(b, 2);
    buffer_set_limit(b, 5);
    lab_did("slice a buffer at position 2, limit 5");
    buffer *s = buffer_slice(b);
    if (s == NULL)
        lab_fail("a view", "NULL");
    LAB_EXPECT(at_state(s, 0, 3, 3, NO_MARK_),
               "position=0 limit=3 capacity=3: the slice is the remaining "
               "bytes",
               "%s", state(s));
    uint8_t x = 0;
    buffer_get_at(s, 0, &x);
    LAB_EXPECT(x == 'c', "index 0 of the slice is 'c' (index 2 of the buffer)",
               "'%c'", x);

    lab_did("put 'Z' at index 1 of the slice, read index 3 of the buffer");
    buffer_put_at(s, 1, 'Z');
    buffer_get_at(b, 3, &x);
    LAB_EXPECT(x == 'Z', "'Z': a view shares the bytes", "'%c'", x);

    lab_did("buffer_slice_range(b, 1, 2)");
    buffer *r = buffer_slice_range(b, 1, 2);
    if (r == NULL)
        lab_fail("a view", "NULL");
    buffer_get_at(r, 0, &x);
    LAB_EXPECT(at_state(r, 0, 2, 2, NO_MARK_) && x == 'b',
               "position=0 limit=2 capacity=2, index 0 = 'b'", "%s, '%c'",
               state(r), x);
    lab_did("buffer_slice_range(b, 4, 2) past the limit of 5");
    buffer *bad = buffer_slice_range(b, 4, 2);
    LAB_EXPECT(bad == NULL, "NULL: a slice lies below the limit", "a view");

    lab_did("mark at 3, then buffer_duplicate");
    buffer_set_position(b, 3);
    buffer_mark(b);
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    buffer *d = buffer_duplicate(b);
    if (d == NULL)
        lab_fail("a view", "NULL");
    LAB_EXPECT(at_state(d, 3, 5, 8, 3) &&
                   buffer_get_order(d) == BUFFER_BIG_ENDIAN,
               "the same indexes and mark (position=3 limit=5 capacity=8 "
               "mark=3), big-endian",
               "%s, %s", state(d),
               buffer_get_order(d) == BUFFER_BIG_ENDIAN ? "big-endian"
                                                        : "little-endian");
    lab_did("move the duplicate's position; the original must not move");
    buffer_set_position(d, 0);
    LAB_EXPECT(buffer_position(b) == 3,
               "the original still at position 3: own indexes, shared bytes",
               "position=%zu", buffer_position(b));

    lab_did("free the original first, then use and free the views");
    buffer_free(b);
    buffer_get_at(d, 3, &x);
    LAB_EXPECT(x == 'Z', "the views still read the bytes ('Z' at index 3)",
               "'%c'", x);
    buffer_free(r);
    buffer_free(s);
    buffer_free(d);
}

int main(int argc, char **argv)
{
    static const lab_stage stages[] = {
        {"indexes", stage_indexes},
        {"put-get", stage_put_get},
        {"flip-rewind-clear", stage_flip_rewind_clear},
        {"mark-reset", stage_mark_reset},
        {"compact", stage_compact},
        {"absolute", stage_absolute},
        {"byte-order", stage_byte_order},
        {"views", stage_views},
    };
    return lab_main(argc, argv, stages, sizeof stages / sizeof stages[0]);
}
