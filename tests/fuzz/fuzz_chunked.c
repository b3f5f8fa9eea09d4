/*
 * fuzz_chunked.c - libFuzzer target for the chunked body decoder
 * (chapter 7) and the trailer section that follows a chunked body.
 *
 * The input is a chunked body. It is decoded three ways - in place all at
 * once, into a separate buffer in pieces whose sizes come from the first
 * byte, and with one output byte per call - and the three must agree on
 * the status, the data and the bytes consumed. Decoding never writes more
 * than it was given room for (AddressSanitizer watches), never produces
 * more bytes than it consumed, and never exceeds the body limit.
 *
 *   clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -Ichapters -Icommon \
 *     tests/fuzz/fuzz_chunked.c chapters/07-http-server/http_parser.c
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

typedef struct run {
    http_chunked_status status;
    int http_status;
    size_t consumed;
    size_t produced;
    uint8_t *out;
} run;

/* Decodes in[0..n) in pieces of `step` input bytes and `room` output bytes
 * per call (0: everything at once, in place). */
static run decode(const uint8_t *in, size_t n, size_t step, size_t room,
                  uint64_t max_body)
{
    run r = {HTTP_CHUNKED_MORE, 0, 0, 0, malloc(n ? n : 1)};
    check(r.out != NULL);
    http_chunked_decoder d;
    http_chunked_init(&d, max_body, 32);
    if (step == 0) {
        memcpy(r.out, in, n);
        r.status = http_chunked_decode(&d, r.out, n, r.out, n, &r.consumed,
                                       &r.produced);
    } else {
        size_t fed = 0;
        while (r.status == HTTP_CHUNKED_MORE && r.consumed < n) {
            fed = fed + step < n ? fed + step : n;
            size_t used, made;
            size_t space = n - r.produced;
            if (room && space > room)
                space = room;
            r.status =
                http_chunked_decode(&d, in + r.consumed, fed - r.consumed,
                                    r.out + r.produced, space, &used, &made);
            check(used <= fed - r.consumed && made <= space);
            r.consumed += used;
            r.produced += made;
            if (r.status == HTTP_CHUNKED_MORE && used == 0 && made == 0 &&
                fed == n)
                break;
        }
    }
    r.http_status = d.status;
    check(r.produced <= r.consumed && d.total == r.produced);
    check(d.total <= max_body);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = data[0] % 8 + 1;
    uint64_t max_body = (data[0] & 0x80) ? 32 : 1 << 20;
    const uint8_t *in = data + 1;
    size_t n = size - 1;

    run whole = decode(in, n, 0, 0, max_body);
    run split = decode(in, n, step, 0, max_body);
    run narrow = decode(in, n, n ? n : 1, 1, max_body);
    check(whole.status == split.status && whole.status == narrow.status);
    check(whole.http_status == split.http_status &&
          whole.http_status == narrow.http_status);
    if (whole.status != HTTP_CHUNKED_ERROR) {
        check(whole.produced == split.produced &&
              whole.produced == narrow.produced);
        check(memcmp(whole.out, split.out, whole.produced) == 0);
        check(memcmp(whole.out, narrow.out, whole.produced) == 0);
        check(whole.consumed == split.consumed &&
              whole.consumed == narrow.consumed);
    }
    if (whole.status == HTTP_CHUNKED_DONE) {
        http_header fields[8];
        http_parser p;
        http_limits limits = HTTP_LIMITS_DEFAULT;
        http_parser_init(&p, &limits, fields, 8);
        http_parser_begin_trailers(&p, fields, 8);
        size_t count = 0, consumed = 0;
        const char *t = (const char *)in + whole.consumed;
        size_t tn = n - whole.consumed;
        if (http_parser_parse_trailers(&p, t, tn, &count, &consumed) ==
            HTTP_PARSE_DONE) {
            check(consumed <= tn && count <= 8);
            for (size_t i = 0; i < count; i++)
                check(fields[i].name.data >= t &&
                      fields[i].value.data + fields[i].value.length <= t + tn);
        }
    }
    free(whole.out);
    free(split.out);
    free(narrow.out);
    return 0;
}
