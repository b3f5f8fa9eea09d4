/*
 * fuzz_static_path.c - libFuzzer target for chapter 7's path normaliser.
 * The input is a request target. Whatever it is:
 *   - the normaliser must agree with a second, deliberately different
 *     implementation written here (split on '/' first, decode each piece,
 *     then resolve dot segments on a stack of segments);
 *   - a result must be safe to hand to openat: it starts with '/', holds
 *     no NUL, no '\', no control byte, no empty, "." or ".." segment, no
 *     dotfile (unless allowed), and only well-formed UTF-8;
 *   - a result is never longer than the target, so length + 1 bytes of
 *     output always suffice; a smaller array gives the same result or
 *     STATIC_PATH_TOO_LONG, never a write past its end (ASan watches);
 *   - percent-encoding a result and normalising it again gives it back.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "07-http-server/static_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hex(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Well-formed UTF-8, by decoding each code point and judging its value:
 * a different method from the table the normaliser uses. */
static bool utf8_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len;
        if (s[i] < 0x80) {
            i++;
            continue;
        } else if ((s[i] & 0xE0) == 0xC0) {
            cp = s[i] & 0x1F, len = 2;
        } else if ((s[i] & 0xF0) == 0xE0) {
            cp = s[i] & 0x0F, len = 3;
        } else if ((s[i] & 0xF8) == 0xF0) {
            cp = s[i] & 0x07, len = 4;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F))
            return false;
        i += len;
    }
    return true;
}

/* The reference: returns the status and writes the path into `out`
 * (size + 2 bytes). */
static static_path_status reference(const uint8_t *t, size_t size,
                                    unsigned flags, char *out, size_t *length)
{
    size_t end = 0;
    while (end < size && t[end] != '?')
        end++;
    if (end == 0 || t[0] != '/')
        return STATIC_PATH_BAD_REQUEST;
    /* A stack of segments, each decoded into its own slot of `store`. */
    uint8_t *store = malloc(end + 1);
    size_t *starts = malloc(sizeof(size_t) * (end + 1));
    size_t *lengths = malloc(sizeof(size_t) * (end + 1));
    size_t depth = 0, used = 0;
    bool trailing = false;
    static_path_status status = STATIC_PATH_OK;
    size_t i = 1;
    while (status == STATIC_PATH_OK && i <= end) {
        size_t j = i;
        while (j < end && t[j] != '/')
            j++;
        /* The raw piece t[i..j); decode it. */
        size_t start = used;
        for (size_t k = i; k < j && status == STATIC_PATH_OK; k++) {
            uint8_t c = t[k];
            if (c == '%') {
                if (j - k < 3 || hex(t[k + 1]) < 0 || hex(t[k + 2]) < 0) {
                    status = STATIC_PATH_BAD_REQUEST;
                    break;
                }
                c = (uint8_t)(hex(t[k + 1]) * 16 + hex(t[k + 2]));
                k += 2;
                if (c == '/')
                    status = STATIC_PATH_BAD_REQUEST;
            } else if (c == '#') {
                status = STATIC_PATH_BAD_REQUEST;
            }
            if (c < 0x20 || c == 0x7F || c == '\\')
                status = STATIC_PATH_BAD_REQUEST;
            store[used++] = c;
        }
        if (status != STATIC_PATH_OK)
            break;
        size_t n = used - start;
        const uint8_t *seg = store + start;
        bool last = j >= end;
        if (!utf8_ok(seg, n)) {
            status = STATIC_PATH_BAD_REQUEST;
        } else if (n == 0 || (n == 1 && seg[0] == '.')) {
            trailing = true;
        } else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth == 0)
                status = STATIC_PATH_BAD_REQUEST;
            else
                depth--;
            trailing = true;
        } else if (seg[0] == '.' && !(flags & STATIC_PATH_ALLOW_DOTFILES) &&
                   !(depth == 0 && n == 11 &&
                     memcmp(seg, ".well-known", 11) == 0)) {
            status = STATIC_PATH_HIDDEN;
        } else {
            starts[depth] = start;
            lengths[depth] = n;
            depth++;
            trailing = !last;
        }
        i = j + 1;
    }
    if (status == STATIC_PATH_OK) {
        size_t o = 0;
        out[o++] = '/';
        for (size_t d = 0; d < depth; d++) {
            memcpy(out + o, store + starts[d], lengths[d]);
            o += lengths[d];
            if (d + 1 < depth || trailing)
                out[o++] = '/';
        }
        out[o] = '\0';
        *length = o;
    }
    free(store);
    free(starts);
    free(lengths);
    return status;
}

static void check_safe(const char *path, size_t length, unsigned flags)
{
    if (length == 0 || path[0] != '/' || strlen(path) != length)
        abort();
    const char *p = path + 1;
    bool first = true;
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        bool well_known = first && n == 11 && memcmp(p, ".well-known", 11) == 0;
        if (n == 0 || (n <= 2 && p[0] == '.' && (n == 1 || p[1] == '.')))
            abort(); /* an empty, "." or ".." segment */
        if (!well_known && !static_path_name_is_servable(p, n, flags))
            abort();
        if (slash == NULL)
            break;
        p = slash + 1;
        first = false;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *target = (const char *)data;
    for (unsigned flags = 0; flags <= STATIC_PATH_ALLOW_DOTFILES; flags++) {
        /* Exactly length + 1 bytes, on the heap, so that ASan sees a write
         * one byte too far. */
        char *out = malloc(size + 1);
        size_t length = 0;
        static_path_status s =
            static_path_normalize(target, size, flags, out, size + 1, &length);
        char *expected = malloc(size + 2);
        size_t expected_length = 0;
        static_path_status r =
            reference(data, size, flags, expected, &expected_length);
        if (s == STATIC_PATH_TOO_LONG || s != r)
            abort();
        if (s == STATIC_PATH_OK) {
            if (length != expected_length || strcmp(out, expected) != 0)
                abort();
            check_safe(out, length, flags);
            if (length > size)
                abort();
            /* Encoded and read again, it comes back unchanged. */
            char *url = malloc(3 * length + 1), *back = malloc(3 * length + 1);
            size_t n = static_path_encode(out, url, 3 * length + 1), m = 0;
            if (n == 0 ||
                static_path_normalize(url, n, flags, back, 3 * length + 1,
                                      &m) != STATIC_PATH_OK ||
                m != length || strcmp(back, out) != 0)
                abort();
            free(url);
            free(back);
        }
        /* A smaller array: the same answer, or TOO_LONG. */
        size_t small = size > 0 ? data[0] % (size + 1) : 0;
        char *tight = malloc(small > 0 ? small : 1);
        size_t tight_length = 0;
        static_path_status t = static_path_normalize(target, size, flags, tight,
                                                     small, &tight_length);
        if (t != STATIC_PATH_TOO_LONG && t != s)
            abort();
        if (t == STATIC_PATH_OK &&
            (tight_length != length || strcmp(tight, out) != 0))
            abort();
        free(tight);
        free(expected);
        free(out);
    }
    return 0;
}
