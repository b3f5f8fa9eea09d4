/*
 * fuzz_http_parser.c - libFuzzer target for the request parser (chapter 7).
 *
 * Each input is parsed twice: all at once, and cut into pieces whose sizes
 * come from the input's first byte. The two answers must agree exactly,
 * every string the parser returns must lie inside the input, and a request
 * with a chunked body has that body decoded (in place, as the server does)
 * and its trailer section parsed. Any disagreement aborts, which libFuzzer
 * reports as a crash; AddressSanitizer catches every read past the input.
 *
 *   clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -Ichapters -Icommon \
 *     tests/fuzz/fuzz_http_parser.c chapters/07-http-server/http_parser.c
 */
#include "07-http-server/http_parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int condition)
{
    if (!condition)
        abort();
}

static void inside(http_string s, const char *base, size_t size)
{
    if (s.data == NULL || s.length == 0)
        return;
    /* "/" for an absolute-form target without a path is the one string
     * that is not the caller's. */
    if (s.length == 1 && s.data[0] == '/' &&
        !((uintptr_t)s.data >= (uintptr_t)base &&
          (uintptr_t)s.data < (uintptr_t)base + size))
        return;
    check((uintptr_t)s.data >= (uintptr_t)base &&
          (uintptr_t)s.data + s.length <= (uintptr_t)base + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned step = data[0] % 16 + 1; /* piece size for the split run */
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    /* Small limits half of the time, so that 414/431/413 are reached. */
    http_limits limits = HTTP_LIMITS_DEFAULT;
    if (data[0] & 0x80) {
        limits.max_request_line = 40;
        limits.max_header_bytes = 120;
        limits.max_headers = 4;
        limits.max_body = 64;
    }

    http_header h1[16], h2[16];
    http_parser p1, p2;
    http_request r1, r2;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    http_parser_init(&p1, &limits, h1, 16);
    http_parser_init(&p2, &limits, h2, 16);

    http_parse_status s1 = http_parser_parse_request(&p1, text, n, &r1);
    http_parse_status s2 = HTTP_PARSE_MORE;
    for (size_t at = 0; s2 == HTTP_PARSE_MORE;) {
        at = at + step < n ? at + step : n;
        s2 = http_parser_parse_request(&p2, text, at, &r2);
        if (at == n)
            break;
    }
    check(s1 == s2);
    check(p1.status == p2.status && p1.reason == p2.reason);
    if (s1 == HTTP_PARSE_ERROR)
        check(p1.status >= 400 && p1.status <= 505 && p1.reason != NULL);
    if (s1 != HTTP_PARSE_DONE)
        return 0;

    check(r1.head_length == r2.head_length && r1.head_length <= n);
    check(r1.header_count == r2.header_count && r1.method == r2.method);
    check(r1.body_kind == r2.body_kind &&
          r1.content_length == r2.content_length);
    check(r1.keep_alive == r2.keep_alive);
    check(r1.minor_version == 0 || r1.minor_version == 1);
    check(r1.head_length <= limits.max_header_bytes);
    inside(r1.method_name, text, n);
    inside(r1.target, text, n);
    inside(r1.path, text, n);
    inside(r1.query, text, n);
    inside(r1.host, text, n);
    for (size_t i = 0; i < r1.header_count; i++) {
        inside(r1.headers[i].name, text, n);
        inside(r1.headers[i].value, text, n);
        check(r1.headers[i].name.length > 0);
    }
    if (r1.body_kind == HTTP_BODY_LENGTH)
        check(r1.content_length > 0 && r1.content_length <= limits.max_body);
    if (r1.body_kind != HTTP_BODY_CHUNKED)
        return 0;

    /* Decode the body in place, in a copy, as the server does. */
    size_t rest = n - r1.head_length;
    uint8_t *body = malloc(rest ? rest : 1);
    check(body != NULL);
    memcpy(body, text + r1.head_length, rest);
    http_chunked_decoder d;
    http_chunked_init(&d, limits.max_body, 64);
    size_t used = 0, made = 0;
    http_chunked_status cs =
        http_chunked_decode(&d, body, rest, body, rest, &used, &made);
    check(used <= rest && made <= used && d.total == made);
    check(d.total <= limits.max_body);
    if (cs == HTTP_CHUNKED_DONE) {
        http_header trailers[8];
        http_parser_begin_trailers(&p1, trailers, 8);
        size_t count = 0, consumed = 0;
        http_parse_status ts = http_parser_parse_trailers(
            &p1, (const char *)body + used, rest - used, &count, &consumed);
        if (ts == HTTP_PARSE_DONE)
            check(consumed <= rest - used && count <= 8);
    }
    free(body);
    return 0;
}
