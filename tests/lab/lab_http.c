/*
 * lab_http.c - the unit stages of chapter 7's lab, in the order of the
 * lesson: part 1, the parser (request line, field lines, the fields that
 * frame the body, the chunked decoder); part 2, the response's framing;
 * part 3, the path normaliser. The shell stages (keep-alive, pipelining,
 * traversal over loopback) are in 07-http-server.stages. Every check goes
 * through the public headers, so any correct implementation passes, a
 * plain scan as well as a tuned one.
 */
#include "01-buffer/buffer.h"
#include "07-http-server/http_parser.h"
#include "07-http-server/http_response.h"
#include "07-http-server/static_path.h"
#include "lab_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the parser -------------------------------------------------------- */

#define FIELDS 8

static const char *parse_status_name(http_parse_status s)
{
    switch (s) {
    case HTTP_PARSE_DONE: return "DONE";
    case HTTP_PARSE_MORE: return "MORE";
    case HTTP_PARSE_ERROR: return "ERROR";
    }
    return "(not a status)";
}

/* A request as C source would write it: "\r" and "\n" spelled out. */
static const char *shown(const char *text, size_t length)
{
    static char out[4][256];
    static int turn;
    char *o = out[turn++ % 4];
    size_t n = 0;
    for (size_t i = 0; i < length && n + 6 < sizeof out[0]; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r')
            n += (size_t)snprintf(o + n, 8, "\\r");
        else if (c == '\n')
            n += (size_t)snprintf(o + n, 8, "\\n");
        else if (c == '\t')
            n += (size_t)snprintf(o + n, 8, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            n += (size_t)snprintf(o + n, 8, "\\x%02x", c);
        else
            o[n++] = (char)c;
    }
    o[n] = '\0';
    return o;
}

typedef struct parsed {
    http_parse_status status;
    int error; /* the status to answer, after ERROR */
    const char *reason;
    http_request request;
    http_header fields[FIELDS];
} parsed;

static const char *outcome(const parsed *p)
{
    static char text[2][160];
    static int turn;
    char *t = text[turn++ % 2];
    if (p->status == HTTP_PARSE_ERROR)
        snprintf(t, sizeof text[0], "ERROR %d (%s)", p->error,
                 p->reason ? p->reason : "no reason");
    else
        snprintf(t, sizeof text[0], "%s", parse_status_name(p->status));
    return t;
}

/* Parses `text` whole, with the default limits but `max_body`. The result
 * points into `text`. */
static void parse_with(parsed *p, const char *text, size_t length,
                       const http_limits *limits)
{
    http_parser parser;
    memset(p, 0, sizeof *p);
    http_parser_init(&parser, limits, p->fields, FIELDS);
    p->status = http_parser_parse_request(&parser, text, length, &p->request);
    p->error = parser.status;
    p->reason = parser.reason;
}

static void parse(parsed *p, const char *text)
{
    http_limits limits = HTTP_LIMITS_DEFAULT;
    parse_with(p, text, strlen(text), &limits);
}

/* Parses `text` fed one byte more each call, as a slow client sends it:
 * the same address, more bytes each time. */
static void parse_bytewise(parsed *p, const char *text)
{
    http_limits limits = HTTP_LIMITS_DEFAULT;
    http_parser parser;
    size_t length = strlen(text);
    memset(p, 0, sizeof *p);
    http_parser_init(&parser, &limits, p->fields, FIELDS);
    p->status = HTTP_PARSE_MORE;
    for (size_t n = 1; n <= length && p->status == HTTP_PARSE_MORE; n++) {
        p->status = http_parser_parse_request(&parser, text, n, &p->request);
        LAB_EXPECT(p->status == HTTP_PARSE_MORE || n == length ||
                       p->status == HTTP_PARSE_ERROR,
                   "MORE until the last byte has come", "%s after %zu of %zu",
                   parse_status_name(p->status), n, length);
    }
    p->error = parser.status;
    p->reason = parser.reason;
}

static bool str_is(http_string s, const char *text)
{
    return s.data != NULL && s.length == strlen(text) &&
           memcmp(s.data, text, s.length) == 0;
}

static const char *str(http_string s)
{
    static char out[4][128];
    static int turn;
    char *o = out[turn++ % 4];
    if (s.data == NULL)
        return "(none)";
    snprintf(o, sizeof out[0], "\"%s\"", shown(s.data, s.length));
    return o;
}

/* Expects the request to be refused with `status`. */
static void expect_refused(const char *text, int status, const char *why)
{
    parsed p;
    lab_did("parsed \"%s\" (%s)", shown(text, strlen(text)), why);
    parse(&p, text);
    char expected[64];
    snprintf(expected, sizeof expected, "ERROR with status %d", status);
    LAB_EXPECT(p.status == HTTP_PARSE_ERROR && p.error == status, expected,
               "%s", outcome(&p));
}

static void expect_done(parsed *p, const char *text)
{
    lab_did("parsed \"%s\" whole", shown(text, strlen(text)));
    parse(p, text);
    LAB_EXPECT(p->status == HTTP_PARSE_DONE, "DONE: the head is complete", "%s",
               outcome(p));
}

static void stage_request_line(void)
{
    parsed p;
    const char *get = "GET /a/b?x=1&y HTTP/1.0\r\n\r\n";
    expect_done(&p, get);
    LAB_EXPECT(p.request.method == HTTP_GET &&
                   str_is(p.request.method_name, "GET"),
               "method HTTP_GET, method_name \"GET\"", "method %d, %s",
               (int)p.request.method, str(p.request.method_name));
    LAB_EXPECT(str_is(p.request.target, "/a/b?x=1&y") &&
                   str_is(p.request.path, "/a/b") &&
                   str_is(p.request.query, "x=1&y"),
               "target \"/a/b?x=1&y\", path \"/a/b\", query \"x=1&y\"",
               "target %s, path %s, query %s", str(p.request.target),
               str(p.request.path), str(p.request.query));
    LAB_EXPECT(p.request.minor_version == 0 &&
                   p.request.head_length == strlen(get),
               "minor_version 0 and head_length 27 (every byte of the head)",
               "minor_version %d, head_length %zu", p.request.minor_version,
               p.request.head_length);

    expect_done(&p, "PATCH /x HTTP/1.0\r\n\r\n");
    LAB_EXPECT(p.request.method == HTTP_PATCH, "method HTTP_PATCH", "method %d",
               (int)p.request.method);
    expect_done(&p, "get / HTTP/1.0\r\n\r\n");
    LAB_EXPECT(p.request.method == HTTP_METHOD_OTHER &&
                   str_is(p.request.method_name, "get"),
               "HTTP_METHOD_OTHER: methods are case-sensitive, \"get\" is a "
               "token but not GET",
               "method %d, method_name %s", (int)p.request.method,
               str(p.request.method_name));
    expect_done(&p, "\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    LAB_EXPECT(str_is(p.request.path, "/"),
               "empty lines before the request line skipped, path \"/\"",
               "path %s", str(p.request.path));

    lab_did("parsed \"GET / HTTP/1.1\\r\\n\", a request line and no more");
    parse(&p, "GET / HTTP/1.1\r\n");
    LAB_EXPECT(p.status == HTTP_PARSE_MORE,
               "MORE: the line is valid, the fields have not come yet", "%s",
               outcome(&p));

    parse_bytewise(&p, get);
    LAB_EXPECT(p.status == HTTP_PARSE_DONE && str_is(p.request.path, "/a/b") &&
                   str_is(p.request.query, "x=1&y") &&
                   p.request.minor_version == 0,
               "fed one byte at a time: DONE, path \"/a/b\", query \"x=1&y\"",
               "%s, path %s, query %s", outcome(&p), str(p.request.path),
               str(p.request.query));

    expect_refused("\nGET / HTTP/1.0\r\n\r\n", 400, "a bare LF before it");
    expect_refused("\rGET / HTTP/1.0\r\n\r\n", 400, "a bare CR before it");
    expect_refused(" GET / HTTP/1.0\r\n\r\n", 400, "an empty method");
    expect_refused(" / HTTP/1.0\r\n\r\n", 400, "an empty method");
    expect_refused("GE(T / HTTP/1.0\r\n\r\n", 400, "'(' is not a token byte");
    expect_refused("GET  / HTTP/1.0\r\n\r\n", 400, "two spaces");
    expect_refused("GET / HTTP/1.0\n\r\n", 400, "the line ends in a bare LF");
    expect_refused("GET / HTTP/1.0\rX\r\n", 400, "a bare CR after the version");
    expect_refused("GET / http/1.0\r\n\r\n", 400, "the version in lower case");
    expect_refused("GET / HTTP/1.10\r\n\r\n", 400, "a version of 3 digits");
    expect_refused("GET / HTTP/1.0 \r\n\r\n", 400, "a space after the version");
    expect_refused("GET / HTTP/1\r\n\r\n", 400, "a version without minor");

    lab_did("parsed \"GET / HTTP/1.0\\r\\n\\r\\n\" fed one byte at a time, "
            "then \"\\rX\" after a valid request line, fed byte by byte");
    parse_bytewise(&p, "GET / HTTP/1.0\rX");
    LAB_EXPECT(p.status == HTTP_PARSE_ERROR && p.error == 400,
               "ERROR 400 once the byte after the CR has come", "%s",
               outcome(&p));
}

static void stage_fields(void)
{
    parsed p;
    const char *head = "GET / HTTP/1.0\r\n"
                       "Accept: */*\r\n"
                       "X-Words:  two words \t\r\n"
                       "Empty:\r\n"
                       "X-Bytes: a\tb\x80\xff\r\n"
                       "\r\n";
    expect_done(&p, head);
    LAB_EXPECT(p.request.header_count == 4, "4 fields, in the order they came",
               "%zu fields", p.request.header_count);
    LAB_EXPECT(str_is(p.request.headers[0].name, "Accept") &&
                   str_is(p.request.headers[0].value, "*/*"),
               "field 1: name \"Accept\", value \"*/*\"", "name %s, value %s",
               str(p.request.headers[0].name), str(p.request.headers[0].value));
    LAB_EXPECT(str_is(p.request.headers[1].value, "two words"),
               "field 2's value \"two words\": the spaces and tabs around a "
               "value are not part of it, the ones inside are",
               "%s", str(p.request.headers[1].value));
    LAB_EXPECT(str_is(p.request.headers[2].name, "Empty") &&
                   p.request.headers[2].value.length == 0,
               "field 3: name \"Empty\", an empty value", "name %s, value %s",
               str(p.request.headers[2].name), str(p.request.headers[2].value));
    LAB_EXPECT(str_is(p.request.headers[3].value, "a\tb\x80\xff"),
               "field 4's value \"a\\tb\\x80\\xff\": a tab and bytes above "
               "0x7f (obs-text) are allowed in a value",
               "%s", str(p.request.headers[3].value));
    const http_header *h = http_request_header(&p.request, "x-WORDS");
    LAB_EXPECT(h == &p.request.headers[1],
               "http_request_header(\"x-WORDS\") finds X-Words: names ignore "
               "case",
               "%s", h == NULL ? "NULL" : str(h->name));

    /* Long values go through the eight-at-a-time path of a tuned scan. */
    char longer[512];
    char value[201];
    for (int i = 0; i < 200; i++)
        value[i] = (char)('a' + i % 26);
    value[200] = '\0';
    snprintf(longer, sizeof longer, "GET / HTTP/1.0\r\nLong: %s\r\n\r\n",
             value);
    expect_done(&p, longer);
    LAB_EXPECT(p.request.header_count == 1 &&
                   str_is(p.request.headers[0].value, value),
               "one field whose value is the 200 letters sent",
               "%zu fields, "
               "value of %zu bytes",
               p.request.header_count,
               p.request.header_count ? p.request.headers[0].value.length : 0);
    static const char bad_bytes[] = {'\0',   '\x01', '\x0b',
                                     '\x1f', '\x7f', '\n'};
    for (size_t k = 0; k < sizeof bad_bytes; k++) {
        for (size_t at = 0; at < 12; at += 5) {
            char text[512];
            snprintf(text, sizeof text, "GET / HTTP/1.0\r\nLong: %s", value);
            size_t n = strlen(text);
            text[n - 180 + at] = bad_bytes[k];
            memcpy(text + n, "\r\n\r\n", 5);
            lab_did("parsed a head whose 200-byte value holds the byte 0x%02x "
                    "at offset %zu",
                    (unsigned char)bad_bytes[k], 20 + at);
            parse_with(&p, text, n + 4, &(http_limits)HTTP_LIMITS_DEFAULT);
            LAB_EXPECT(p.status == HTTP_PARSE_ERROR && p.error == 400,
                       "ERROR 400: no control byte but HTAB (and no DEL, no "
                       "bare LF) in a value",
                       "%s", outcome(&p));
        }
    }

    parse_bytewise(&p, head);
    LAB_EXPECT(p.status == HTTP_PARSE_DONE && p.request.header_count == 4 &&
                   str_is(p.request.headers[1].value, "two words") &&
                   str_is(p.request.headers[3].name, "X-Bytes"),
               "fed one byte at a time: the same 4 fields", "%s, %zu fields",
               outcome(&p), p.request.header_count);

    expect_refused("GET / HTTP/1.0\r\nHost : a\r\n\r\n", 400,
                   "whitespace before the colon");
    expect_refused("GET / HTTP/1.0\r\nHost\r\n\r\n", 400, "no colon");
    expect_refused("GET / HTTP/1.0\r\nHo\"st: a\r\n\r\n", 400,
                   "'\"' in a field name");
    expect_refused("GET / HTTP/1.0\r\nA: 1\nB: 2\r\n\r\n", 400,
                   "a field ended by a bare LF");
    expect_refused("GET / HTTP/1.0\r\nA: 1\rB: 2\r\n\r\n", 400,
                   "a field ended by a bare CR");
    expect_refused("GET / HTTP/1.0\r\nA: 1\r\n folded\r\n\r\n", 400,
                   "an obsolete folded line");
    expect_refused("GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"
                   "E: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\n\r\n",
                   431, "9 fields where the parser has room for 8");
}

static void stage_framing(void)
{
    parsed p;
    expect_done(&p, "POST /f HTTP/1.1\r\nHost: example.com\r\n"
                    "Content-Length: 5\r\n\r\nhello");
    LAB_EXPECT(
        p.request.body_kind == HTTP_BODY_LENGTH &&
            p.request.content_length == 5 &&
            str_is(p.request.host, "example.com") && p.request.keep_alive,
        "a body of Content-Length 5, host \"example.com\", keep_alive "
        "(the default of HTTP/1.1)",
        "body_kind %d, content_length %llu, host %s, keep_alive %d",
        (int)p.request.body_kind, (unsigned long long)p.request.content_length,
        str(p.request.host), p.request.keep_alive);
    expect_done(&p,
                "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 010\r\n\r\n");
    LAB_EXPECT(p.request.content_length == 10,
               "Content-Length \"010\" is ten: decimal, a leading 0 is not "
               "octal",
               "%llu", (unsigned long long)p.request.content_length);
    expect_done(&p, "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    LAB_EXPECT(p.request.body_kind == HTTP_BODY_NONE,
               "Content-Length 0: no body (HTTP_BODY_NONE)", "body_kind %d",
               (int)p.request.body_kind);
    expect_done(&p, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    LAB_EXPECT(p.request.body_kind == HTTP_BODY_NONE && p.request.keep_alive,
               "no framing field: no body; keep_alive",
               "body_kind %d, "
               "keep_alive %d",
               (int)p.request.body_kind, p.request.keep_alive);
    expect_done(&p, "POST /f HTTP/1.1\r\nHost: a\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n");
    LAB_EXPECT(p.request.body_kind == HTTP_BODY_CHUNKED,
               "Transfer-Encoding: chunked gives HTTP_BODY_CHUNKED",
               "body_kind %d", (int)p.request.body_kind);
    expect_done(&p, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    LAB_EXPECT(!p.request.keep_alive, "Connection: close: keep_alive false",
               "keep_alive %d", p.request.keep_alive);
    expect_done(&p, "GET / HTTP/1.0\r\n\r\n");
    LAB_EXPECT(!p.request.keep_alive,
               "HTTP/1.0 without Connection: keep-alive: keep_alive false",
               "keep_alive %d", p.request.keep_alive);
    expect_done(&p, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    LAB_EXPECT(p.request.keep_alive,
               "HTTP/1.0 with Connection: Keep-Alive (any case): keep_alive "
               "true",
               "keep_alive %d", p.request.keep_alive);
    expect_done(&p, "POST /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                    "Content-Length: 3\r\n\r\n");
    LAB_EXPECT(p.request.expect_continue,
               "Expect: 100-continue with a body: expect_continue true",
               "expect_continue %d", p.request.expect_continue);

    expect_refused("GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400,
                   "two Host fields");
    expect_refused("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400,
                   "a Host with a space in it");
    static const char *const lengths[] = {"-1",
                                          "+1",
                                          "4 2",
                                          "1,1",
                                          "0x5",
                                          "",
                                          "5a",
                                          "18446744073709551616",
                                          "99999999999999999999999"};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        char text[160];
        snprintf(text, sizeof text,
                 "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n",
                 lengths[i]);
        expect_refused(text, 400,
                       "Content-Length must be digits only, and "
                       "fit in 64 bits");
    }
    expect_refused("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                   "Content-Length: 3\r\n\r\n",
                   400, "two Content-Length fields, even equal ones");
    expect_refused("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n",
                   400, "Content-Length, then Transfer-Encoding");
    expect_refused("POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
                   "chunked\r\nContent-Length: 3\r\n\r\n",
                   400, "Transfer-Encoding, then Content-Length");
    expect_refused("POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
                   "chunked, identity\r\n\r\n",
                   400, "chunked is not the last coding");
    expect_refused("POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
                   "chunkedchunked\r\n\r\n",
                   400, "\"chunkedchunked\" is not chunked");
    expect_refused("POST /f HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
                   "gzip, chunked\r\n\r\n",
                   501, "a coding this server does not do, before chunked");
    expect_refused("POST /f HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                   400, "Transfer-Encoding in HTTP/1.0");
    expect_refused("GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n",
                   417, "an expectation other than 100-continue");

    http_limits small = HTTP_LIMITS_DEFAULT;
    small.max_body = 100;
    const char *big =
        "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n";
    lab_did("parsed a head announcing 101 bytes of body, with max_body 100");
    parse_with(&p, big, strlen(big), &small);
    LAB_EXPECT(p.status == HTTP_PARSE_ERROR && p.error == 413,
               "ERROR 413, before a byte of the body is read", "%s",
               outcome(&p));
}

/* --- the chunked decoder ----------------------------------------------- */

static const char *chunked_status_name(http_chunked_status s)
{
    switch (s) {
    case HTTP_CHUNKED_MORE: return "MORE";
    case HTTP_CHUNKED_DONE: return "DONE";
    case HTTP_CHUNKED_ERROR: return "ERROR";
    }
    return "(not a status)";
}

typedef struct decoded {
    http_chunked_status status;
    int error;
    size_t consumed; /* input bytes, in all */
    size_t produced; /* data bytes, in all */
    uint8_t data[256];
} decoded;

/* Decodes `text` fed `step` bytes at a time (all at once when step is 0),
 * into an output of `room` bytes that the caller empties after each call,
 * as a server does with its body buffer. */
static void decode(decoded *d, const char *text, size_t step, size_t room,
                   uint64_t max_body)
{
    http_chunked_decoder dec;
    http_chunked_init(&dec, max_body, 64);
    memset(d, 0, sizeof *d);
    size_t length = strlen(text), fed = 0, guard = 0;
    d->status = HTTP_CHUNKED_MORE;
    while (d->status == HTTP_CHUNKED_MORE && guard++ < 4 * length + 8) {
        if (fed < length)
            fed += step == 0 || length - fed < step ? length - fed : step;
        size_t used = 0, made = 0;
        uint8_t out[256];
        size_t cap = room < sizeof out ? room : sizeof out;
        d->status =
            http_chunked_decode(&dec, (const uint8_t *)text + d->consumed,
                                fed - d->consumed, out, cap, &used, &made);
        LAB_EXPECT(used <= fed - d->consumed && made <= cap,
                   "consumed within the input given, produced within the room "
                   "given",
                   "consumed %zu of %zu, produced %zu into %zu", used,
                   fed - d->consumed, made, cap);
        if (d->produced + made <= sizeof d->data)
            memcpy(d->data + d->produced, out, made);
        d->consumed += used;
        d->produced += made;
        if (d->status == HTTP_CHUNKED_MORE && fed == length && used == 0 &&
            made == 0)
            break; /* wants input there is no more of */
    }
    d->error = dec.status;
}

static void expect_decoded(const char *text, size_t step, size_t room,
                           const char *data, size_t consumed)
{
    decoded d;
    lab_did("decoded \"%s\" fed %s, into %zu bytes of room at a time",
            shown(text, strlen(text)),
            step == 0   ? "whole"
            : step == 1 ? "one byte at a time"
                        : "in pieces",
            room);
    decode(&d, text, step, room, 1000);
    LAB_EXPECT(d.status == HTTP_CHUNKED_DONE, "DONE after the last chunk", "%s",
               chunked_status_name(d.status));
    LAB_EXPECT(d.produced == strlen(data) &&
                   memcmp(d.data, data, d.produced) == 0,
               "the data without the framing", "%zu bytes: \"%s\"", d.produced,
               shown((const char *)d.data, d.produced));
    LAB_EXPECT(d.consumed == consumed,
               "every byte up to the last chunk's CRLF consumed, no more (the "
               "trailer section is the parser's)",
               "%zu consumed where %zu were expected", d.consumed, consumed);
}

static void expect_chunk_error(const char *text, int status, const char *why)
{
    decoded d;
    lab_did("decoded \"%s\" (%s)", shown(text, strlen(text)), why);
    decode(&d, text, 0, 256, 1000);
    char expected[64];
    snprintf(expected, sizeof expected, "ERROR with status %d", status);
    LAB_EXPECT(d.status == HTTP_CHUNKED_ERROR && d.error == status, expected,
               "%s %d", chunked_status_name(d.status), d.error);
    decode(&d, text, 1, 256, 1000);
    LAB_EXPECT(d.status == HTTP_CHUNKED_ERROR && d.error == status,
               "the same error when fed one byte at a time", "%s %d",
               chunked_status_name(d.status), d.error);
}

static void stage_chunked(void)
{
    const char *two = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    size_t upto = strlen(two) - 2; /* "\r\n" is the empty trailer section */
    expect_decoded(two, 0, 256, "hello world", upto);
    expect_decoded(two, 1, 256, "hello world", upto);
    expect_decoded(two, 0, 3, "hello world", upto);
    expect_decoded(two, 1, 1, "hello world", upto);
    expect_decoded("a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\nX-T: 1\r\n", 0,
                   256, "0123456789abcdefghijk", 34);
    expect_decoded("0\r\n", 0, 256, "", 3);

    /* Decoded in place: the data only ever moves towards the front. */
    char in_place[] = "3\r\nabc\r\n4\r\ndefg\r\n0\r\n";
    http_chunked_decoder dec;
    http_chunked_init(&dec, 1000, 64);
    size_t used = 0, made = 0;
    lab_did("decoded \"%s\" in place (out == in)",
            shown(in_place, strlen(in_place)));
    http_chunked_status st = http_chunked_decode(
        &dec, (const uint8_t *)in_place, strlen(in_place), (uint8_t *)in_place,
        strlen(in_place), &used, &made);
    LAB_EXPECT(st == HTTP_CHUNKED_DONE && made == 7 &&
                   memcmp(in_place, "abcdefg", 7) == 0,
               "DONE, and the 7 bytes \"abcdefg\" at the front",
               "%s, %zu bytes: \"%s\"", chunked_status_name(st), made,
               shown(in_place, made));

    expect_chunk_error("g\r\nx\r\n0\r\n\r\n", 400, "a size that is not hex");
    expect_chunk_error("\r\n", 400, "a size line without a digit");
    expect_chunk_error(" 5\r\nhello\r\n0\r\n\r\n", 400, "a space before size");
    expect_chunk_error("-5\r\nhello\r\n0\r\n\r\n", 400, "a sign");
    expect_chunk_error("5\nhello\r\n0\r\n\r\n", 400, "a bare LF after size");
    expect_chunk_error("5\rhello\r\n0\r\n\r\n", 400, "a bare CR after size");
    expect_chunk_error("5\r\nhelloX\r\n0\r\n\r\n", 400,
                       "more data than the size said");
    expect_chunk_error("5\r\nhello\n0\r\n\r\n", 400,
                       "data followed by a bare LF");
    expect_chunk_error("5\r\nhelloXY3\r\nabc\r\n0\r\n\r\n", 400,
                       "two bytes after the data that are not CRLF");
    expect_chunk_error("10000000000000000\r\n", 400,
                       "a size of 17 hex digits: it overflows 64 bits");
    decoded d;
    lab_did("decoded \"9\\r\\n123456789\\r\\n0\\r\\n\" with max_body 8");
    decode(&d, "9\r\n123456789\r\n0\r\n", 0, 256, 8);
    LAB_EXPECT(d.status == HTTP_CHUNKED_ERROR && d.error == 413,
               "ERROR 413 as soon as the size line says 9 > 8", "%s %d",
               chunked_status_name(d.status), d.error);
}

/* --- the response ------------------------------------------------------ */

/* The bytes the response would send: every buffer, from its position to
 * its limit. */
static char sent[8192];

static const char *finish(http_response *r, bool head, int minor,
                          bool keep_alive)
{
    static const char date[] = "Date: Tue, 01 Dec 2026 10:00:00 GMT\r\n";
    http_finish how = {.head = head,
                       .minor_version = minor,
                       .keep_alive = keep_alive,
                       .date = date,
                       .date_length = sizeof date - 1};
    bool ok = http_response_finish(r, &how);
    LAB_EXPECT(ok, "http_response_finish to return true", "false");
    size_t count = 0, n = 0;
    buffer *const *out = http_response_buffers(r, &count);
    for (size_t i = 0; i < count; i++) {
        size_t len = buffer_remaining(out[i]);
        LAB_EXPECT(n + len < sizeof sent, "a response of a few hundred bytes",
                   "more than %zu bytes", sizeof sent);
        memcpy(sent + n, buffer_array(out[i]) + buffer_position(out[i]), len);
        n += len;
    }
    sent[n] = '\0';
    return sent;
}

static http_response *new_response(void)
{
    http_response *r = http_response_create(1024, 1024, 1 << 20);
    if (r == NULL)
        lab_fail("http_response_create to return a response", "NULL");
    return r;
}

static size_t count_of(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static bool ends_with(const char *text, const char *end)
{
    size_t a = strlen(text), b = strlen(end);
    return a >= b && memcmp(text + a - b, end, b) == 0;
}

static bool starts_with(const char *text, const char *start)
{
    return strncmp(text, start, strlen(start)) == 0;
}

/* The head alone, for messages: up to the empty line. */
static const char *head_of(const char *text)
{
    static char out[512];
    const char *end = strstr(text, "\r\n\r\n");
    size_t n = end ? (size_t)(end - text) + 4 : strlen(text);
    return shown(text, n < sizeof out ? n : sizeof out - 1);
}

static void stage_response(void)
{
    http_response *r = new_response();
    lab_did("wrote \"hello\" and finished it for GET, HTTP/1.1, keep-alive");
    http_response_add_header(r, "X-A", "b");
    http_response_write(r, "hello", 5);
    const char *s = finish(r, false, 1, true);
    LAB_EXPECT(starts_with(s, "HTTP/1.1 200 OK\r\n"),
               "the status line \"HTTP/1.1 200 OK\\r\\n\" first", "%s",
               head_of(s));
    LAB_EXPECT(count_of(s, "Content-Length: 5\r\n") == 1 &&
                   count_of(s, "Transfer-Encoding") == 0,
               "one \"Content-Length: 5\", no Transfer-Encoding", "%s",
               head_of(s));
    LAB_EXPECT(count_of(s, "Date: Tue, 01 Dec 2026 10:00:00 GMT\r\n") == 1 &&
                   count_of(s, "X-A: b\r\n") == 1,
               "the Date line given, and the handler's X-A field, once each",
               "%s", head_of(s));
    LAB_EXPECT(count_of(s, "Connection:") == 0,
               "no Connection field: HTTP/1.1 stays open by default", "%s",
               head_of(s));
    LAB_EXPECT(ends_with(s, "\r\n\r\nhello"),
               "the empty line, then the 5 bytes of the body", "%s",
               shown(s, strlen(s)));
    http_response_free(r);

    r = new_response();
    lab_did("wrote \"hello\" and finished it for HEAD");
    http_response_write(r, "hello", 5);
    s = finish(r, true, 1, true);
    LAB_EXPECT(count_of(s, "Content-Length: 5\r\n") == 1 &&
                   ends_with(s, "\r\n\r\n"),
               "the fields GET would get, Content-Length: 5 included, and no "
               "body",
               "%s", shown(s, strlen(s)));
    http_response_free(r);

    r = new_response();
    lab_did("wrote \"hello\", asked for chunked, finished for HTTP/1.1");
    http_response_set_chunked(r, true);
    http_response_write(r, "hello", 5);
    s = finish(r, false, 1, true);
    LAB_EXPECT(count_of(s, "Transfer-Encoding: chunked\r\n") == 1 &&
                   count_of(s, "Content-Length") == 0,
               "Transfer-Encoding: chunked and no Content-Length", "%s",
               head_of(s));
    LAB_EXPECT(ends_with(s, "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
               "the body as one chunk and the last chunk: "
               "\"5\\r\\nhello\\r\\n0\\r\\n\\r\\n\"",
               "%s", shown(s, strlen(s)));
    http_response_free(r);

    r = new_response();
    lab_did("asked for chunked, wrote nothing, finished for HTTP/1.1");
    http_response_set_chunked(r, true);
    s = finish(r, false, 1, true);
    LAB_EXPECT(ends_with(s, "\r\n\r\n0\r\n\r\n"),
               "only the last chunk: \"0\\r\\n\\r\\n\"", "%s",
               shown(s, strlen(s)));
    http_response_free(r);

    r = new_response();
    lab_did("wrote 300 bytes, asked for chunked, finished for HTTP/1.1");
    http_response_set_chunked(r, true);
    char block[300];
    memset(block, 'x', sizeof block);
    http_response_write(r, block, sizeof block);
    s = finish(r, false, 1, true);
    LAB_EXPECT(strstr(s, "\r\n\r\n12c\r\nxxx") != NULL,
               "the chunk size in hex: 300 is \"12c\"", "%s",
               shown(s, strlen(s) < 120 ? strlen(s) : 120));
    http_response_free(r);

    r = new_response();
    lab_did("wrote \"hello\", asked for chunked, finished for HTTP/1.0 with "
            "keep-alive");
    http_response_set_chunked(r, true);
    http_response_write(r, "hello", 5);
    s = finish(r, false, 0, true);
    LAB_EXPECT(count_of(s, "Transfer-Encoding") == 0 &&
                   count_of(s, "Content-Length: 5\r\n") == 1 &&
                   ends_with(s, "\r\n\r\nhello"),
               "no chunked for HTTP/1.0 (it does not know it): "
               "Content-Length: 5 and the body as is",
               "%s", shown(s, strlen(s)));
    LAB_EXPECT(count_of(s, "Connection: keep-alive\r\n") == 1,
               "\"Connection: keep-alive\": HTTP/1.0 must be told", "%s",
               head_of(s));
    http_response_free(r);

    r = new_response();
    lab_did("finished a response for a connection that will close");
    http_response_write(r, "bye", 3);
    s = finish(r, false, 1, false);
    LAB_EXPECT(count_of(s, "Connection: close\r\n") == 1,
               "\"Connection: close\" said once", "%s", head_of(s));
    http_response_free(r);

    static const int bodiless[] = {204, 304};
    for (size_t i = 0; i < 2; i++) {
        r = new_response();
        lab_did("set status %d, wrote \"x\", finished for GET", bodiless[i]);
        http_response_set_status(r, bodiless[i]);
        http_response_write(r, "x", 1);
        s = finish(r, false, 1, true);
        char line[32];
        snprintf(line, sizeof line, "HTTP/1.1 %d ", bodiless[i]);
        LAB_EXPECT(
            starts_with(s, line) && count_of(s, "Content-Length") == 0 &&
                count_of(s, "Transfer-Encoding") == 0 &&
                ends_with(s, "\r\n\r\n"),
            "its status line, no Content-Length, no Transfer-Encoding, no "
            "body: 204 and 304 never carry one",
            "%s", shown(s, strlen(s)));
        http_response_free(r);
    }

    r = new_response();
    lab_did("set status 404, wrote \"Not Found\\n\", finished for GET");
    http_response_set_status(r, 404);
    http_response_write(r, "Not Found\n", 10);
    s = finish(r, false, 1, true);
    LAB_EXPECT(starts_with(s, "HTTP/1.1 404 Not Found\r\n") &&
                   count_of(s, "Content-Length: 10\r\n") == 1,
               "\"HTTP/1.1 404 Not Found\" and Content-Length: 10", "%s",
               head_of(s));
    http_response_free(r);
}

/* --- the path normaliser ----------------------------------------------- */

static const char *path_name(static_path_status s)
{
    return static_path_status_name(s);
}

static void expect_path(const char *target, unsigned flags,
                        static_path_status want, const char *path)
{
    char out[256];
    size_t length = 9999;
    lab_did("static_path_normalize(\"%s\")%s", target,
            flags ? " with STATIC_PATH_ALLOW_DOTFILES" : "");
    static_path_status s = static_path_normalize(target, strlen(target), flags,
                                                 out, sizeof out, &length);
    char expected[320];
    if (want == STATIC_PATH_OK)
        snprintf(expected, sizeof expected, "STATIC_PATH_OK, \"%s\"", path);
    else
        snprintf(expected, sizeof expected, "%s", path_name(want));
    if (s != STATIC_PATH_OK)
        LAB_EXPECT(s == want, expected, "%s", path_name(s));
    else
        LAB_EXPECT(want == STATIC_PATH_OK && length == strlen(path) &&
                       strcmp(out, path) == 0,
                   expected, "STATIC_PATH_OK, \"%s\" (length %zu)",
                   length < sizeof out ? out : "?", length);
}

static void stage_static_path(void)
{
    const static_path_status OK = STATIC_PATH_OK, BAD = STATIC_PATH_BAD_REQUEST,
                             HIDDEN = STATIC_PATH_HIDDEN;
    expect_path("/", 0, OK, "/");
    expect_path("/index.html", 0, OK, "/index.html");
    expect_path("/a/b/../c", 0, OK, "/a/c");
    expect_path("/a/./b//c/", 0, OK, "/a/b/c/");
    expect_path("//a///b", 0, OK, "/a/b");
    expect_path("/a/b/..", 0, OK, "/a/");
    expect_path("/a?b=../../x", 0, OK, "/a");
    expect_path("/%41%62c", 0, OK, "/Abc");
    expect_path("/a/%2e%2e/b", 0, OK, "/b");
    expect_path("/%252e%252e/x", 0, OK, "/%2e%2e/x");
    expect_path("/caf%C3%A9", 0, OK, "/caf\xc3\xa9");
    expect_path("/.well-known/security.txt", 0, OK,
                "/.well-known/security.txt");
    expect_path("/.git/config", STATIC_PATH_ALLOW_DOTFILES, OK, "/.git/config");

    expect_path("/../etc/passwd", 0, BAD, "");
    expect_path("/..", 0, BAD, "");
    expect_path("/a/../../etc/passwd", 0, BAD, "");
    expect_path("/%2e%2e/etc/passwd", 0, BAD, "");
    expect_path("/%2E%2e/etc/passwd", 0, BAD, "");
    expect_path("/.%2e/etc/passwd", 0, BAD, "");
    expect_path("/a/%2e%2e/%2e%2e/etc/passwd", 0, BAD, "");
    expect_path("/%c0%ae%c0%ae/etc/passwd", 0, BAD, "");
    expect_path("/..%5cetc", 0, BAD, "");
    expect_path("/a%2fb", 0, BAD, "");
    expect_path("/%", 0, BAD, "");
    expect_path("/%2", 0, BAD, "");
    expect_path("/%g1", 0, BAD, "");
    expect_path("/x%00.html", 0, BAD, "");
    expect_path("/%0d%0a", 0, BAD, "");
    expect_path("a/b", 0, BAD, "");
    expect_path("", 0, BAD, "");

    expect_path("/.git/config", 0, HIDDEN, "");
    expect_path("/a/.env", 0, HIDDEN, "");
    expect_path("/a/.well-known/x", 0, HIDDEN, "");

    char small[8];
    lab_did("static_path_normalize(\"/abcdefghij\") into 8 bytes");
    static_path_status s =
        static_path_normalize("/abcdefghij", 11, 0, small, sizeof small, NULL);
    LAB_EXPECT(s == STATIC_PATH_TOO_LONG,
               "STATIC_PATH_TOO_LONG, and nothing written past the 8 bytes",
               "%s", path_name(s));
}

int main(int argc, char **argv)
{
    static const lab_stage stages[] = {
        {"parser-request-line", stage_request_line},
        {"parser-fields", stage_fields},
        {"parser-framing", stage_framing},
        {"parser-chunked", stage_chunked},
        {"server-response", stage_response},
        {"static-path", stage_static_path},
    };
    return lab_main(argc, argv, stages, sizeof stages / sizeof stages[0]);
}
