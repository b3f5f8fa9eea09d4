/*
 * fuzz_buffer.c - libFuzzer target for chapter 1's Buffer. The input is a
 * program: each byte picks an operation, the following bytes are its
 * arguments. Whatever the program, no call may crash, leak or break
 * 0 <= mark <= position <= limit <= capacity; and a failed call must leave
 * the indexes as they were.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "01-buffer/buffer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Takes the next byte of the input, or 0 once it is used up. */
static uint8_t take(const uint8_t **p, const uint8_t *end)
{
    return *p < end ? *(*p)++ : 0;
}

static void check(const buffer *b)
{
    if (!buffer_invariant_holds(b))
        abort(); /* a finding for the fuzzer, never reachable by design */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    buffer *views[4] = {buffer_allocate(take(&p, end) % 64), NULL, NULL, NULL};
    if (views[0] == NULL)
        return 0;
    uint8_t scratch[256];
    memset(scratch, 0xA5, sizeof scratch);
    while (p < end) {
        uint8_t op = take(&p, end);
        buffer *b =
            views[(op >> 5) & 3] != NULL ? views[(op >> 5) & 3] : views[0];
        size_t arg = take(&p, end) % 80; /* sometimes past the capacity */
        size_t before_pos = buffer_position(b), before_lim = buffer_limit(b);
        buffer_status s = BUFFER_OK;
        int8_t b8;
        int16_t s16;
        int32_t i32;
        int64_t i64;
        switch (op & 31) {
        case 0: s = buffer_set_position(b, arg); break;
        case 1: s = buffer_set_limit(b, arg); break;
        case 2: buffer_mark(b); break;
        case 3: s = buffer_reset(b); break;
        case 4: buffer_clear(b); break;
        case 5: buffer_flip(b); break;
        case 6: buffer_rewind(b); break;
        case 7: s = buffer_compact(b); break;
        case 8: s = buffer_put(b, (uint8_t)arg); break;
        case 9: s = buffer_get(b, (uint8_t *)&b8); break;
        case 10: s = buffer_put_at(b, arg, 7); break;
        case 11: s = buffer_get_at(b, arg, (uint8_t *)&b8); break;
        case 12: s = buffer_put_bytes(b, scratch, arg); break;
        case 13: s = buffer_get_bytes(b, scratch, arg); break;
        case 14: s = buffer_put_short(b, (int16_t)arg); break;
        case 15: s = buffer_get_int(b, &i32); break;
        case 16: s = buffer_put_long_at(b, arg, -1); break;
        case 17: s = buffer_get_short_at(b, arg, &s16); break;
        case 18: s = buffer_get_long(b, &i64); break;
        case 19:
            buffer_set_order(b, (arg & 1) ? BUFFER_LITTLE_ENDIAN
                                          : BUFFER_BIG_ENDIAN);
            break;
        case 20: s = buffer_put_buffer(b, views[arg & 3]); break;
        case 21: (void)buffer_compare(b, views[arg & 3]); break;
        case 22: (void)buffer_equals(b, views[arg & 3]); break;
        default: {
            /* Make or drop a view; dropping the original is allowed:
             * views keep the shared bytes alive. */
            size_t slot = 1 + arg % 3;
            buffer *made;
            switch (op % 4) {
            case 0: made = buffer_slice(b); break;
            case 1: made = buffer_duplicate(b); break;
            case 2: made = buffer_as_read_only(b); break;
            default: made = buffer_slice_range(b, arg / 2, arg / 3);
            }
            /* Made before the old view goes: b may be that view. */
            buffer_free(views[slot]);
            views[slot] = made;
            if ((op & 3) == 3 && views[slot] != NULL && slot == 1) {
                buffer_free(views[0]);
                views[0] = views[1];
                views[1] = NULL;
            }
            break;
        }
        }
        if (s != BUFFER_OK &&
            (buffer_position(b) != before_pos || buffer_limit(b) != before_lim))
            abort(); /* a failed operation changed the buffer */
        for (int i = 0; i < 4; i++)
            if (views[i] != NULL)
                check(views[i]);
    }
    for (int i = 0; i < 4; i++)
        buffer_free(views[i]);
    return 0;
}
