/*
 * static_path.c - percent-decoding and dot-segment removal for the static
 * file server. See static_path.h for the policy.
 *
 * One pass over the target, writing into the caller's array: each segment
 * is decoded into place right after the '/' that precedes it, then judged
 * as a whole. A ".." moves the end of the output back to the previous '/',
 * as RFC 3986's remove_dot_segments does, so nothing is ever copied twice.
 */
#include "07-http-server/static_path.h"

#include <string.h>

const char *static_path_status_name(static_path_status status)
{
    switch (status) {
    case STATIC_PATH_OK: return "STATIC_PATH_OK";
    case STATIC_PATH_BAD_REQUEST: return "STATIC_PATH_BAD_REQUEST";
    case STATIC_PATH_HIDDEN: return "STATIC_PATH_HIDDEN";
    case STATIC_PATH_TOO_LONG: return "STATIC_PATH_TOO_LONG";
    }
    return "STATIC_PATH_UNKNOWN_STATUS";
}

int static_path_http_status(static_path_status status)
{
    switch (status) {
    case STATIC_PATH_OK: return 200;
    case STATIC_PATH_BAD_REQUEST: return 400;
    case STATIC_PATH_HIDDEN: return 404;
    case STATIC_PATH_TOO_LONG: return 414;
    }
    return 500;
}

/* lab:begin hex_value "Decoding" */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
/* lab:end hex_value */

/* Bytes that never belong in a served name, however they arrived. */
static bool is_refused_byte(unsigned char c)
{
    return c < 0x20 || c == 0x7f || c == '\\';
}

/* Well-formed UTF-8 as the Unicode standard's table 3-7 defines it: no
 * overlong forms (C0, C1, E0 80..9F, F0 80..8F), no surrogates (ED A0..BF),
 * nothing above U+10FFFF, no stray or missing continuation bytes. The C1
 * controls U+0080..U+009F (C2 80..9F) are refused like the C0 ones. */
static bool is_valid_utf8(const unsigned char *s, size_t length)
{
    size_t i = 0;
    while (i < length) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        unsigned char low = 0x80, high = 0xBF;
        size_t more;
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
            if (c == 0xC2)
                low = 0xA0; /* C2 80..9F are the C1 controls */
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0)
                low = 0xA0;
            else if (c == 0xED)
                high = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0)
                low = 0x90;
            else if (c == 0xF4)
                high = 0x8F;
        } else {
            return false; /* 80..C1 and F5..FF never start a character */
        }
        if (length - i - 1 < more)
            return false;
        if (s[i + 1] < low || s[i + 1] > high)
            return false;
        for (size_t k = 2; k <= more; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += more + 1;
    }
    return true;
}

/* lab:begin is_well_known "Decoding" */
static bool is_well_known(const char *segment, size_t length)
{
    return length == 11 && memcmp(segment, ".well-known", 11) == 0;
}
/* lab:end is_well_known */

bool static_path_name_is_servable(const char *name, size_t length,
                                  unsigned flags)
{
    if (length == 0)
        return false;
    if (name[0] == '.') {
        bool dots = length == 1 || (length == 2 && name[1] == '.');
        if (dots || (flags & STATIC_PATH_ALLOW_DOTFILES) == 0)
            return false;
    }
    for (size_t i = 0; i < length; i++)
        if (name[i] == '/' || is_refused_byte((unsigned char)name[i]))
            return false;
    return is_valid_utf8((const unsigned char *)name, length);
}

/* excerpt:begin normalize */
static_path_status static_path_normalize(const char *target, size_t length,
                                         unsigned flags, char *out,
                                         size_t out_size, size_t *out_length)
{
    /* lab:begin normalize "Decoding" return STATIC_PATH_BAD_REQUEST; */
    const char *query = memchr(target, '?', length);
    size_t end = query != NULL ? (size_t)(query - target) : length;
    if (end == 0 || target[0] != '/')
        return STATIC_PATH_BAD_REQUEST;
    if (out_size < 2)
        return STATIC_PATH_TOO_LONG;
    size_t o = 0, i = 1;
    out[o++] = '/';
    while (i < end) {
        /* Invariant: out[o - 1] == '/'. Decode one segment after it. */
        size_t start = o;
        while (i < end && target[i] != '/') {
            unsigned char c = (unsigned char)target[i];
            if (c == '%') {
                int high = end - i >= 3 ? hex_value(target[i + 1]) : -1;
                int low = end - i >= 3 ? hex_value(target[i + 2]) : -1;
                if (high < 0 || low < 0)
                    return STATIC_PATH_BAD_REQUEST; /* "%", "%2", "%g1" */
                c = (unsigned char)(high * 16 + low);
                if (c == '/')
                    return STATIC_PATH_BAD_REQUEST; /* a hidden separator */
                i += 3;
            } else if (c == '#') {
                return STATIC_PATH_BAD_REQUEST; /* never sent by a client */
            } else {
                i++;
            }
            if (is_refused_byte(c))
                return STATIC_PATH_BAD_REQUEST; /* NUL, controls, '\' */
            if (o + 1 >= out_size)
                return STATIC_PATH_TOO_LONG;
            out[o++] = (char)c;
        }
        bool slash_follows = i < end;
        if (slash_follows)
            i++;
        size_t n = o - start;
        const char *segment = out + start;
        if (!is_valid_utf8((const unsigned char *)segment, n))
            return STATIC_PATH_BAD_REQUEST; /* overlong "%c0%ae", ... */
        if (n == 0 || (n == 1 && segment[0] == '.')) {
            o = start; /* "//" and "/./" */
        } else if (n == 2 && segment[0] == '.' && segment[1] == '.') {
            if (start == 1)
                return STATIC_PATH_BAD_REQUEST; /* above the root */
            o = start - 1; /* back over this segment's '/', then the last */
            while (out[o - 1] != '/')
                o--;
        } else {
            if (segment[0] == '.' &&
                (flags & STATIC_PATH_ALLOW_DOTFILES) == 0 &&
                !(start == 1 && is_well_known(segment, n)))
                return STATIC_PATH_HIDDEN;
            if (slash_follows) {
                if (o + 1 >= out_size)
                    return STATIC_PATH_TOO_LONG;
                out[o++] = '/';
            }
        }
    }
    out[o] = '\0';
    if (out_length != NULL)
        *out_length = o;
    return STATIC_PATH_OK;
    /* lab:end normalize */
}
/* excerpt:end normalize */

static bool is_kept_in_url(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

size_t static_path_encode(const char *path, char *out, size_t out_size)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        size_t need = is_kept_in_url(*p) ? 1 : 3;
        if (o + need >= out_size)
            return 0;
        if (need == 1) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = digits[*p >> 4];
            out[o++] = digits[*p & 15];
        }
    }
    if (o >= out_size)
        return 0;
    out[o] = '\0';
    return o;
}
