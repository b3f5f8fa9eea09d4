/*
 * test_http_parser.c - the HTTP request parser and the chunked decoder,
 * checked as tables of cases: one line per rule of RFC 9112 / RFC 9110,
 * valid and invalid.
 *
 * Every case is fed three ways - all at once, one byte at a time, and cut
 * at random places (a fixed seed, so a failure can be replayed) - and must
 * give the same answer each time: the same status, the same reason, the
 * same fields. The input always ends against a page that may not be read,
 * so a parser that looks one byte too far crashes here instead of passing.
 * A last check counts the bytes the parser examines when fed byte by byte:
 * it must stay linear in the size of the request.
 */
#include "tap.h"
#include "07-http-server/http_parser.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- input against a guard page ---------------------------------------- */

typedef struct guarded {
    unsigned char *map;
    size_t map_size;
    char *data; /* the input; data[length] is the first unreadable byte */
} guarded;

static guarded guard_copy(const char *input, size_t length)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (length + page - 1) / page + 1;
    guarded g = {NULL, (pages + 1) * page, NULL};
    /* /dev/zero rather than MAP_ANONYMOUS, which POSIX.1-2008 lacks */
    int zero = open("/dev/zero", O_RDWR);
    g.map =
        mmap(NULL, g.map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    if (zero >= 0)
        close(zero);
    if (g.map == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    mprotect(g.map + pages * page, page, PROT_NONE);
    g.data = (char *)g.map + pages * page - length;
    memcpy(g.data, input, length);
    return g;
}

static void guard_free(guarded *g)
{
    munmap(g->map, g->map_size);
}

/* --- a small deterministic random generator (xorshift64) --------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* --- request cases ----------------------------------------------------- */

enum { MORE = -1, DONE = 0 };

typedef struct request_case {
    const char *name;
    const char *input;
    int expect; /* DONE, MORE, or the error status */
    /* checked when expect is DONE and the field is set */
    const char *method;
    const char *path;
    const char *query;
    const char *host;
    int version;         /* 10 or 11; 0 to skip */
    int body;            /* http_body_kind + 1; 0 to skip */
    long long length;    /* content_length; 0 to skip */
    int keep_alive;      /* 1 yes, 2 no, 0 skip */
    int fields;          /* header count + 1; 0 to skip */
    int expect_continue; /* 1 yes, 2 no, 0 skip */
    int form;            /* http_target_form + 1; 0 to skip */
    int trailing;        /* bytes after the head (body, next request) */
    const http_limits *limits;
    size_t size; /* for inputs with a NUL inside: their size */
} request_case;

#define H11 "Host: h\r\n"
#define END "\r\n"

static const http_limits small = {64, 128, 3, 100};

#define RC(...)                                                                \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
/* An input with a NUL inside cannot be measured with strlen. */
#define WITH_NUL(s) .input = s, .size = sizeof(s) - 1

static const request_case request_cases[] = {
    /* --- valid requests: what each field should hold --- */
    RC(.name = "simple GET",
       .input = "GET / HTTP/1.1\r\nHost: example.com" END END, .expect = DONE,
       .method = "GET", .path = "/", .host = "example.com", .version = 11,
       .body = HTTP_BODY_NONE + 1, .keep_alive = 1, .fields = 2,
       .form = HTTP_ORIGIN_FORM + 1),
    RC(.name = "path and query",
       .input = "GET /search?q=a%20b&x=1 HTTP/1.1\r\n" H11 END, .expect = DONE,
       .path = "/search", .query = "q=a%20b&x=1"),
    RC(.name = "every sub-delim in the path",
       .input = "GET /a-b._~!$&'()*+,;=:@/c HTTP/1.1\r\n" H11 END,
       .expect = DONE, .path = "/a-b._~!$&'()*+,;=:@/c"),
    RC(.name = "empty query", .input = "GET /p? HTTP/1.1\r\n" H11 END,
       .expect = DONE, .path = "/p", .query = ""),
    RC(.name = "double slash is a path",
       .input = "GET //x HTTP/1.1\r\n" H11 END, .expect = DONE, .path = "//x"),
    RC(.name = "HTTP/1.0 needs no Host", .input = "GET /hello HTTP/1.0\r\n" END,
       .expect = DONE, .version = 10, .keep_alive = 2, .fields = 1),
    RC(.name = "HTTP/1.0 keep-alive on request",
       .input = "GET / HTTP/1.0\r\nConnection: Keep-Alive" END END,
       .expect = DONE, .version = 10, .keep_alive = 1),
    RC(.name = "HTTP/1.1 Connection: close",
       .input = "GET / HTTP/1.1\r\n" H11 "Connection: close" END END,
       .expect = DONE, .keep_alive = 2),
    RC(.name = "close wins in a list",
       .input =
           "GET / HTTP/1.1\r\n" H11 "Connection: keep-alive, CLOSE" END END,
       .expect = DONE, .keep_alive = 2),
    RC(.name = "close wins over keep-alive in 1.0",
       .input =
           "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close" END
               END,
       .expect = DONE, .keep_alive = 2),
    RC(.name = "empty lines before the request line",
       .input = "\r\n\r\nGET / HTTP/1.1\r\n" H11 END, .expect = DONE,
       .path = "/"),
    RC(.name = "whitespace around a value is not part of it",
       .input = "GET / HTTP/1.1\r\nHost: \t h \t " END END, .expect = DONE,
       .host = "h"),
    RC(.name = "empty field value",
       .input = "GET / HTTP/1.1\r\n" H11 "X-Empty:" END END, .expect = DONE,
       .fields = 3),
    RC(.name = "obs-text in a value",
       .input = "GET / HTTP/1.1\r\n" H11 "X-Name: caf\xc3\xa9" END END,
       .expect = DONE),
    RC(.name = "every tchar in a field name",
       .input = "GET / HTTP/1.1\r\n" H11 "!#$%&'*+-.^_`|~09az: v" END END,
       .expect = DONE, .fields = 3),
    RC(.name = "Content-Length body",
       .input =
           "POST /echo HTTP/1.1\r\n" H11 "Content-Length: 5" END END "hello",
       .expect = DONE, .method = "POST", .body = HTTP_BODY_LENGTH + 1,
       .length = 5, .trailing = 5),
    RC(.name = "Content-Length with leading zeros is decimal",
       .input = "POST / HTTP/1.1\r\n" H11 "Content-Length: 010" END END,
       .expect = DONE, .length = 10),
    RC(.name = "Content-Length: 0 is no body",
       .input = "POST / HTTP/1.1\r\n" H11 "Content-Length: 0" END END,
       .expect = DONE, .body = HTTP_BODY_NONE + 1),
    RC(.name = "Content-Length at the body limit",
       .input = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100" END END,
       .expect = DONE, .length = 100, .limits = &small),
    RC(.name = "chunked",
       .input = "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked" END END,
       .expect = DONE, .body = HTTP_BODY_CHUNKED + 1),
    RC(.name = "chunked in any case, empty list elements",
       .input =
           "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: , CHUNKED ," END END,
       .expect = DONE, .body = HTTP_BODY_CHUNKED + 1),
    RC(.name = "absolute-form: its authority wins over Host",
       .input =
           "GET http://example.com:8080/a/b?c HTTP/1.1\r\nHost: other" END END,
       .expect = DONE, .host = "example.com:8080", .path = "/a/b", .query = "c",
       .form = HTTP_ABSOLUTE_FORM + 1),
    RC(.name = "absolute-form without a path",
       .input = "GET http://example.com HTTP/1.1\r\nHost: example.com" END END,
       .expect = DONE, .path = "/", .host = "example.com"),
    RC(.name = "absolute-form, query without a path, scheme in capitals",
       .input = "GET HTTPS://h?x HTTP/1.0" END END, .expect = DONE, .path = "/",
       .query = "x", .host = "h"),
    RC(.name = "absolute-form with an IPv6 literal",
       .input = "GET http://[::1]:80/ HTTP/1.1\r\n" H11 END, .expect = DONE,
       .host = "[::1]:80"),
    RC(.name = "asterisk-form for OPTIONS",
       .input = "OPTIONS * HTTP/1.1\r\n" H11 END, .expect = DONE,
       .method = "OPTIONS", .path = "*", .form = HTTP_ASTERISK_FORM + 1),
    RC(.name = "authority-form for CONNECT",
       .input =
           "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443" END END,
       .expect = DONE, .method = "CONNECT", .host = "example.com:443",
       .form = HTTP_AUTHORITY_FORM + 1),
    RC(.name = "Host: IPv6 literal and port",
       .input = "GET / HTTP/1.1\r\nHost: [::1]:8080" END END, .expect = DONE,
       .host = "[::1]:8080"),
    RC(.name = "Host: empty is valid",
       .input = "GET / HTTP/1.1\r\nHost:" END END, .expect = DONE, .host = ""),
    RC(.name = "Host: reg-name with escapes and sub-delims",
       .input = "GET / HTTP/1.1\r\nHost: a%41b.c=d" END END, .expect = DONE),
    RC(.name = "Host: trailing dot",
       .input = "GET / HTTP/1.1\r\nHost: a.b." END END, .expect = DONE),
    RC(.name = "Expect: 100-continue with a body",
       .input = "PUT /x HTTP/1.1\r\n" H11
                "Expect: 100-Continue\r\nContent-Length: 3" END END,
       .expect = DONE, .expect_continue = 1),
    RC(.name = "Expect: 100-continue without a body is moot",
       .input = "GET / HTTP/1.1\r\n" H11 "Expect: 100-continue" END END,
       .expect = DONE, .expect_continue = 2),
    RC(.name = "HTTP/1.0 ignores Expect",
       .input =
           "POST / HTTP/1.0\r\nExpect: something\r\nContent-Length: 1" END END,
       .expect = DONE, .expect_continue = 2),
    RC(.name = "unknown method token", .input = "PURGE /x HTTP/1.1\r\n" H11 END,
       .expect = DONE, .method = "?"),
    RC(.name = "PATCH", .input = "PATCH /x HTTP/1.1\r\n" H11 END,
       .expect = DONE, .method = "PATCH"),
    RC(.name = "DELETE", .input = "DELETE /x HTTP/1.1\r\n" H11 END,
       .expect = DONE, .method = "DELETE"),
    RC(.name = "HEAD", .input = "HEAD /x HTTP/1.1\r\n" H11 END, .expect = DONE,
       .method = "HEAD"),
    RC(.name = "pipelined: the first head ends at its empty line",
       .input = "GET /1 HTTP/1.1\r\n" H11 END "GET /2 HTTP/1.1\r\n" H11 END,
       .expect = DONE, .path = "/1", .trailing = 28),
    RC(.name = "fields exactly at the count limit",
       .input = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2" END END,
       .expect = DONE, .fields = 4, .limits = &small),

    /* --- incomplete heads wait for more --- */
    RC(.name = "nothing yet", .input = "", .expect = MORE),
    RC(.name = "half a request line", .input = "GET /index.ht", .expect = MORE),
    RC(.name = "a CR waiting for its LF", .input = "GET / HTTP/1.1\r",
       .expect = MORE),
    RC(.name = "no empty line yet", .input = "GET / HTTP/1.1\r\n" H11,
       .expect = MORE),
    RC(.name = "half an escape", .input = "GET /a%4", .expect = MORE),
    RC(.name = "half a version", .input = "GET / HTTP/1.", .expect = MORE),

    /* --- the request line --- */
    RC(.name = "two spaces after the method",
       .input = "GET  / HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "space before the method", .input = " GET / HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "space after the version",
       .input = "GET / HTTP/1.1 \r\n" H11 END, .expect = 400),
    RC(.name = "bare LF before the request line",
       .input = "\nGET / HTTP/1.1\r\n", .expect = 400),
    RC(.name = "bare CR before the request line",
       .input = "\rGET / HTTP/1.1\r\n", .expect = 400),
    RC(.name = "LF inside the request line", .input = "GET /\nHTTP/1.1\r\n\r\n",
       .expect = 400),
    RC(.name = "request line ended by bare LF",
       .input = "GET / HTTP/1.1\nHost: h\n\n", .expect = 400),
    RC(.name = "request line ended by bare CR",
       .input = "GET / HTTP/1.1\rHost: h", .expect = 400),
    RC(.name = "method with a non-token byte", .input = "G@T / HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "request line without a version", .input = "GET /\r\n\r\n",
       .expect = 400),
    RC(.name = "lower-case protocol name", .input = "GET / http/1.1\r\n",
       .expect = 400),
    RC(.name = "two-digit minor version", .input = "GET / HTTP/1.10\r\n",
       .expect = 400),
    RC(.name = "version 1.32 is not 1.3", .input = "GET / HTTP/1.32\r\n\r\n",
       .expect = 400),
    RC(.name = "version without a dot", .input = "GET / HTTP/11\r\n",
       .expect = 400),
    RC(.name = "version cut short", .input = "GET / HTTP/1\r\n", .expect = 400),
    RC(.name = "HTTP/1.2 is read as HTTP/1.1 (RFC 9110 2.5)",
       .input = "GET / HTTP/1.2\r\n" H11 END, .expect = DONE, .version = 11,
       .keep_alive = 1),
    RC(.name = "HTTP/1.2 needs a Host, as 1.1 does",
       .input = "GET / HTTP/1.2\r\n" END, .expect = 400),
    RC(.name = "HTTP/1.9 with a body is framed as 1.1",
       .input = "POST / HTTP/1.9\r\n" H11 "Transfer-Encoding: chunked" END END,
       .expect = DONE, .version = 11, .body = HTTP_BODY_CHUNKED + 1),
    RC(.name = "HTTP/2.0 over HTTP/1 framing", .input = "GET / HTTP/2.0\r\n",
       .expect = 505),
    RC(.name = "HTTP/0.9 is not spoken here", .input = "GET / HTTP/0.9\r\n",
       .expect = 505),
    RC(.name = "space inside the target",
       .input = "GET /a b HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "control byte in the target", .input = "GET /\x01 HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "NUL in the target", WITH_NUL("GET /\0/ HTTP/1.1\r\n"),
       .expect = 400),
    RC(.name = "DEL in the target", .input = "GET /\x7f HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "raw UTF-8 in the target",
       .input = "GET /caf\xc3\xa9 HTTP/1.1\r\n", .expect = 400),
    RC(.name = "fragment in the target", .input = "GET /a#b HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "double quote in the target", .input = "GET /a\"b HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "'<' in the target", .input = "GET /<script> HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "lone '%' at the end of the path",
       .input = "GET /a% HTTP/1.1\r\n", .expect = 400),
    RC(.name = "'%' with one hex digit", .input = "GET /a%2 HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "'%' with non-hex digits", .input = "GET /a%zz HTTP/1.1\r\n",
       .expect = 400),
    RC(.name = "'[' in an origin-form path",
       .input = "GET /a[1] HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "'*' for GET", .input = "GET * HTTP/1.1\r\n" H11 END,
       .expect = 400),
    RC(.name = "target starting with '?'",
       .input = "GET ?x HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "target without a scheme",
       .input = "GET example.com HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "scheme other than http(s)",
       .input = "GET ftp://h/ HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "user information in an absolute target",
       .input = "GET http://user@h/ HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "empty authority in an absolute target",
       .input = "GET http:///x HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "port out of range in the target",
       .input = "GET http://h:65536/ HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "CONNECT with an origin-form target",
       .input = "CONNECT / HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "CONNECT without a port",
       .input = "CONNECT h HTTP/1.1\r\n" H11 END, .expect = 400),

    /* --- field lines --- */
    RC(.name = "space before the colon",
       .input = "GET / HTTP/1.1\r\nHost : h" END END, .expect = 400),
    RC(.name = "tab before the colon",
       .input = "GET / HTTP/1.1\r\n" H11 "X\t: v" END END, .expect = 400),
    RC(.name = "field line without a colon",
       .input = "GET / HTTP/1.1\r\n" H11 "X v" END END, .expect = 400),
    RC(.name = "name alone on a line",
       .input = "GET / HTTP/1.1\r\n" H11 "Transfer-\r\n", .expect = 400),
    RC(.name = "empty field name", .input = "GET / HTTP/1.1\r\n: v\r\n" H11 END,
       .expect = 400),
    RC(.name = "'@' in a field name", .input = "GET / HTTP/1.1\r\nFo@: v\r\n",
       .expect = 400),
    RC(.name = "'(' in a field name", .input = "GET / HTTP/1.1\r\nX(y): v\r\n",
       .expect = 400),
    RC(.name = "UTF-8 in a field name",
       .input = "GET / HTTP/1.1\r\nX\xc3\xa9: v\r\n", .expect = 400),
    RC(.name = "obs-fold",
       .input = "GET / HTTP/1.1\r\n" H11 "X: a\r\n b" END END, .expect = 400),
    RC(.name = "obs-fold with a tab",
       .input = "GET / HTTP/1.1\r\n" H11 "X: a\r\n\tb" END END, .expect = 400),
    RC(.name = "whitespace before the first field, seen before its line ends",
       .input = "GET / HTTP/1.1\r\n Host: foo", .expect = 400),
    RC(.name = "bare CR in a value",
       .input = "GET / HTTP/1.1\r\n" H11 "X: a\rY: b" END END, .expect = 400),
    RC(.name = "bare LF in a value",
       .input = "GET / HTTP/1.1\r\n" H11 "X: a\nY: b" END END, .expect = 400),
    RC(.name = "NUL in a value",
       WITH_NUL("GET / HTTP/1.1\r\n" H11 "X: a\0b" END END), .expect = 400),
    RC(.name = "control byte in a value",
       .input = "GET / HTTP/1.1\r\n" H11 "X: a\x1b[0m" END END, .expect = 400),
    RC(.name = "DEL in a value",
       .input = "GET / HTTP/1.1\r\n" H11 "X: a\x7f" END END, .expect = 400),
    RC(.name = "header section ended by bare LF",
       .input = "GET / HTTP/1.1\r\n" H11 "\n", .expect = 400),
    RC(.name = "header section ended by CR and a byte",
       .input = "GET / HTTP/1.1\r\n" H11 "\rXGET / HTTP/1.1\r\n",
       .expect = 400),

    /* --- Host --- */
    RC(.name = "HTTP/1.1 without Host", .input = "GET / HTTP/1.1\r\n" END,
       .expect = 400),
    RC(.name = "absolute-form still needs Host in 1.1",
       .input = "GET http://h/ HTTP/1.1\r\n" END, .expect = 400),
    RC(.name = "two Host fields",
       .input = "GET / HTTP/1.1\r\nHost: a\r\nHost: a" END END, .expect = 400),
    RC(.name = "Host with a slash",
       .input = "GET / HTTP/1.0\r\nHost: ../a.org" END END, .expect = 400),
    RC(.name = "Host with a space",
       .input = "GET / HTTP/1.1\r\nHost: a b" END END, .expect = 400),
    RC(.name = "Host with a negative port",
       .input = "GET / HTTP/1.0\r\nHost: a:-1" END END, .expect = 400),
    RC(.name = "Host with letters in the port",
       .input = "GET / HTTP/1.1\r\nHost: a:80x" END END, .expect = 400),
    RC(.name = "Host with a port above 65535",
       .input = "GET / HTTP/1.1\r\nHost: a:123456" END END, .expect = 400),
    RC(.name = "Host with an unclosed IPv6 literal",
       .input = "GET / HTTP/1.1\r\nHost: [::1" END END, .expect = 400),
    RC(.name = "Host with junk after an IPv6 literal",
       .input = "GET / HTTP/1.0\r\nHost: [::1]' OR 1" END END, .expect = 400),
    RC(.name = "Host with user information",
       .input = "GET / HTTP/1.1\r\nHost: u@h" END END, .expect = 400),
    RC(.name = "Host with a bad escape",
       .input = "GET / HTTP/1.1\r\nHost: a%zz" END END, .expect = 400),

    /* --- Content-Length --- */
    RC(.name = "empty Content-Length",
       .input = "POST / HTTP/1.1\r\n" H11 "Content-Length:" END END,
       .expect = 400),
    RC(.name = "negative Content-Length",
       .input = "POST / HTTP/1.1\r\n" H11 "Content-Length: -1" END END,
       .expect = 400),
    RC(.name = "Content-Length with a plus sign",
       .input = "POST / HTTP/1.1\r\n" H11 "Content-Length: +1" END END,
       .expect = 400),
    RC(.name = "Content-Length with a space inside",
       .input = "POST / HTTP/1.1\r\n" H11 "Content-Length: 4 2" END END,
       .expect = 400),
    RC(.name = "Content-Length in hex",
       .input = "POST / HTTP/1.1\r\n" H11 "Content-Length: 0x10" END END,
       .expect = 400),
    RC(.name = "Content-Length as a list",
       .input = "POST / HTTP/1.1\r\n" H11 "Content-Length: 1,1" END END,
       .expect = 400),
    RC(.name = "Content-Length of 2^64 overflows",
       .input = "POST / HTTP/1.1\r\n" H11
                "Content-Length: 18446744073709551616" END END,
       .expect = 400),
    RC(.name = "Content-Length overflow found before the head ends",
       .input = "PUT / HTTP/1.1\r\nContent-Length: 1000000000000000000000\r\n",
       .expect = 400),
    RC(.name = "Content-Length of 2^64-1 is over the body limit",
       .input = "POST / HTTP/1.1\r\n" H11
                "Content-Length: 18446744073709551615" END END,
       .expect = 413),
    RC(.name = "Content-Length above the body limit",
       .input = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101" END END,
       .expect = 413, .limits = &small),
    RC(.name = "two equal Content-Length fields",
       .input = "POST / HTTP/1.1\r\n" H11
                "Content-Length: 1\r\nContent-Length: 1" END END,
       .expect = 400),
    RC(.name = "two different Content-Length fields, seen before the head ends",
       .input = "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n",
       .expect = 400),
    RC(.name = "Content-Length then Transfer-Encoding",
       .input = "POST / HTTP/1.1\r\n" H11
                "Content-Length: 5\r\nTransfer-Encoding: chunked" END END,
       .expect = 400),
    RC(.name = "Transfer-Encoding then Content-Length",
       .input = "POST / HTTP/1.1\r\n" H11
                "Transfer-Encoding: chunked\r\nContent-Length: 5" END END,
       .expect = 400),

    /* --- Transfer-Encoding --- */
    RC(.name = "unknown coding alone",
       .input = "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: gzip" END END,
       .expect = 400),
    RC(.name = "identity is no longer a coding",
       .input = "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: identity" END END,
       .expect = 400),
    RC(.name = "chunked not last",
       .input =
           "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked, gzip" END END,
       .expect = 400),
    RC(.name = "chunked twice in one field",
       .input = "POST / HTTP/1.1\r\n" H11
                "Transfer-Encoding: chunked, chunked" END END,
       .expect = 400),
    RC(.name = "chunked twice in two fields",
       .input =
           "POST / HTTP/1.1\r\n" H11
           "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked" END END,
       .expect = 400),
    RC(.name = "chunkedchunked is not chunked",
       .input = "POST / HTTP/1.1\r\n" H11
                "Transfer-Encoding: chunkedchunked" END END,
       .expect = 400),
    RC(.name = "chunked with a parameter is not chunked",
       .input =
           "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked;q=1" END END,
       .expect = 400),
    RC(.name = "empty Transfer-Encoding",
       .input = "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding:" END END,
       .expect = 400),
    RC(.name = "a coding before chunked is not implemented",
       .input =
           "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: gzip, chunked" END END,
       .expect = 501),
    RC(.name = "Transfer-Encoding in HTTP/1.0",
       .input = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked" END END,
       .expect = 400),

    /* --- Expect --- */
    RC(.name = "unknown expectation",
       .input = "POST / HTTP/1.1\r\n" H11 "Expect: 200-ok" END END,
       .expect = 417),

    /* --- limits --- */
    RC(.name = "request line at its limit",
       .input = "GET /"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                " HTTP/1.0\r\n" END,
       .expect = DONE, .limits = &small),
    RC(.name = "request line over its limit",
       .input = "GET /"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                " HTTP/1.0\r\n" END,
       .expect = 414, .limits = &small),
    RC(.name = "request line over its limit, found before it ends",
       .input =
           "GET /"
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       .expect = 414, .limits = &small),
    RC(.name = "head at its limit",
       .input = "GET / HTTP/1.1\r\nHost: h\r\nX: "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" END END,
       .expect = DONE, .limits = &small),
    RC(.name = "head over its limit",
       .input = "GET / HTTP/1.1\r\nHost: h\r\nX: "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" END END,
       .expect = 431, .limits = &small),
    RC(.name = "too many fields",
       .input = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3" END END,
       .expect = 431, .limits = &small),

    /* --- the edges of the fast paths: eight bytes at a time, one check
     * for the usual version, names recognised by their length --- */
    RC(.name = "bad byte at the end of a run of eight in a field name",
       .input = "GET / HTTP/1.1\r\n" H11 "Abcdefg@: v" END END, .expect = 400),
    RC(.name = "bad byte just after a run of eight in a field name",
       .input = "GET / HTTP/1.1\r\n" H11 "Abcdefgh@: v" END END, .expect = 400),
    RC(.name = "bad byte at the end of two runs of eight in a field name",
       .input = "GET / HTTP/1.1\r\n" H11 "Abcdefghijklmno@: v" END END,
       .expect = 400),
    RC(.name = "space after a sixteen-byte field name",
       .input = "GET / HTTP/1.1\r\n" H11 "Abcdefghijklmnop : v" END END,
       .expect = 400),
    RC(.name = "bad byte after a run of eight in the target",
       .input = "GET /abcdefghijklmno<p HTTP/1.1\r\n" H11 END, .expect = 400),
    RC(.name = "HTTP/1.0 then CR and another byte",
       .input = "GET / HTTP/1.0\rX\r\n\r\n", .expect = 400),
    RC(.name = "HTTP/1.1 then LF and CR", .input = "GET / HTTP/1.1\n\r" H11 END,
       .expect = 400),
    RC(.name = "HTTP/1.9 is read as 1.1, keep-alive and all",
       .input = "GET / HTTP/1.9\r\n" H11 END, .expect = DONE, .version = 11,
       .keep_alive = 1),
    RC(.name = "HTTP/3.0 is not spoken here",
       .input = "GET / HTTP/3.0\r\n" H11 END, .expect = 505),
    RC(.name = "Host with escapes and a port",
       .input = "GET / HTTP/1.1\r\nHost: a%41b.%7e:8080" END END,
       .expect = DONE, .host = "a%41b.%7e:8080"),
    RC(.name = "Host with an escape cut short before the port",
       .input = "GET / HTTP/1.1\r\nHost: a%4:80" END END, .expect = 400),
    RC(.name = "Connection options in capitals",
       .input = "GET / HTTP/1.0\r\nConnection: KEEP-ALIVE" END END,
       .expect = DONE, .keep_alive = 1),
    RC(.name = "a name one byte longer than Content-Length",
       .input = "GET / HTTP/1.1\r\n" H11 "Content-Lengths: x" END END,
       .expect = DONE, .body = HTTP_BODY_NONE + 1),
    RC(.name = "Content-Length in mixed case",
       .input = "POST / HTTP/1.1\r\n" H11 "cONTENT-lENGTH: 3" END END "abc",
       .expect = DONE, .body = HTTP_BODY_LENGTH + 1, .length = 3,
       .trailing = 3),
};

typedef struct outcome {
    http_parse_status status;
    int http_status;
    const char *reason;
    http_request request;
} outcome;

static const http_limits defaults = HTTP_LIMITS_DEFAULT;

/* Feeds data[0..n) in pieces whose ends are given by `cuts` (ascending,
 * the last one n), stopping at the first answer other than MORE. */
static outcome feed(const request_case *c, const char *data, size_t n,
                    const size_t *cuts, size_t ncuts, uint64_t *scanned)
{
    http_header headers[64];
    http_parser parser;
    outcome o;
    memset(&o, 0, sizeof o);
    http_parser_init(&parser, c->limits ? c->limits : &defaults, headers, 64);
    o.status = HTTP_PARSE_MORE;
    for (size_t k = 0; k < ncuts && o.status == HTTP_PARSE_MORE; k++)
        o.status =
            http_parser_parse_request(&parser, data, cuts[k], &o.request);
    (void)n;
    o.http_status = parser.status;
    o.reason = parser.reason;
    /* The headers array dies with this frame: keep only what compares. */
    o.request.headers = NULL;
    if (scanned)
        *scanned = parser.scanned;
    return o;
}

static bool same_string(http_string a, http_string b)
{
    if (a.data == NULL || b.data == NULL)
        return a.data == b.data;
    return a.length == b.length && memcmp(a.data, b.data, a.length) == 0;
}

static bool same_outcome(const outcome *a, const outcome *b)
{
    if (a->status != b->status || a->http_status != b->http_status ||
        a->reason != b->reason)
        return false;
    if (a->status != HTTP_PARSE_DONE)
        return true;
    const http_request *x = &a->request, *y = &b->request;
    return x->method == y->method && same_string(x->path, y->path) &&
           same_string(x->query, y->query) && same_string(x->host, y->host) &&
           x->minor_version == y->minor_version &&
           x->header_count == y->header_count && x->body_kind == y->body_kind &&
           x->content_length == y->content_length &&
           x->keep_alive == y->keep_alive &&
           x->expect_continue == y->expect_continue &&
           x->head_length == y->head_length && x->form == y->form;
}

static bool text_is(http_string s, const char *text)
{
    return s.data != NULL && http_string_equals(s, text);
}

/* What the case says the whole-input outcome must be. */
static bool meets_expectation(const request_case *c, const outcome *o, size_t n,
                              const char **what)
{
    if (c->expect == MORE) {
        *what = "needs more bytes";
        return o->status == HTTP_PARSE_MORE;
    }
    if (c->expect != DONE) {
        *what = "error status";
        return o->status == HTTP_PARSE_ERROR && o->http_status == c->expect &&
               o->reason != NULL;
    }
    const http_request *r = &o->request;
    *what = "parsed";
    if (o->status != HTTP_PARSE_DONE)
        return false;
    *what = "method";
    if (c->method && strcmp(http_method_name(r->method), c->method) != 0)
        return false;
    *what = "path";
    if (c->path && !text_is(r->path, c->path))
        return false;
    *what = "query";
    if (c->query && !text_is(r->query, c->query))
        return false;
    *what = "host";
    if (c->host && !text_is(r->host, c->host))
        return false;
    *what = "version";
    if (c->version && r->minor_version != c->version - 10)
        return false;
    *what = "body kind";
    if (c->body && (int)r->body_kind != c->body - 1)
        return false;
    *what = "content length";
    if (c->length && r->content_length != (uint64_t)c->length)
        return false;
    *what = "keep-alive";
    if (c->keep_alive && r->keep_alive != (c->keep_alive == 1))
        return false;
    *what = "header count";
    if (c->fields && r->header_count != (size_t)c->fields - 1)
        return false;
    *what = "expect-continue";
    if (c->expect_continue && r->expect_continue != (c->expect_continue == 1))
        return false;
    *what = "target form";
    if (c->form && (int)r->form != c->form - 1)
        return false;
    *what = "head length";
    return r->head_length == n - (size_t)c->trailing;
}

static size_t case_length(const request_case *c)
{
    return c->size ? c->size : strlen(c->input);
}

static void check_request_case(tap *t, const request_case *c)
{
    size_t n = case_length(c);
    guarded g = guard_copy(c->input, n);
    size_t cuts[4096];

    size_t whole_cut = n;
    outcome whole = feed(c, g.data, n, &whole_cut, 1, NULL);
    const char *what = "";
    bool ok = meets_expectation(c, &whole, n, &what);
    TAP_OK(t, ok, "%s: whole (%s; got %d %s)", c->name, what, whole.http_status,
           whole.reason ? whole.reason : "");

    size_t ncuts = 0;
    for (size_t k = 1; k <= n && ncuts < 4096; k++)
        cuts[ncuts++] = k;
    if (n == 0)
        cuts[ncuts++] = 0;
    outcome bytes = feed(c, g.data, n, cuts, ncuts, NULL);
    TAP_OK(t, same_outcome(&whole, &bytes), "%s: byte by byte", c->name);

    bool same = true;
    for (int round = 0; round < 8 && same; round++) {
        ncuts = 0;
        size_t at = 0;
        while (at < n) {
            at += 1 + rng_next() % (n - at < 24 ? n - at : 24);
            cuts[ncuts++] = at;
        }
        if (n == 0)
            cuts[ncuts++] = 0;
        outcome split = feed(c, g.data, n, cuts, ncuts, NULL);
        same = same_outcome(&whole, &split);
    }
    TAP_OK(t, same, "%s: random splits", c->name);
    guard_free(&g);
}

/* --- linear time, counted in bytes examined ------------------------------ */

static void check_linear(tap *t)
{
    char input[8000];
    size_t n = 0;
    n += (size_t)snprintf(input + n, sizeof input - n,
                          "GET /%%41/a?b=%%42 HTTP/1.1\r\nHost: h\r\n");
    for (int k = 0; n < sizeof input - 200; k++)
        n += (size_t)snprintf(input + n, sizeof input - n,
                              "X-Field-%d: %0120d\r\n", k, k);
    n += (size_t)snprintf(input + n, sizeof input - n, "\r\n");

    http_header headers[64];
    http_parser parser;
    http_request request;
    http_limits limits = {8192, 8192, 64, 1 << 20};
    http_parser_init(&parser, &limits, headers, 64);
    http_parse_status s = HTTP_PARSE_MORE;
    for (size_t k = 1; k <= n && s == HTTP_PARSE_MORE; k++)
        s = http_parser_parse_request(&parser, input, k, &request);
    TAP_OK(t, s == HTTP_PARSE_DONE && request.head_length == n,
           "a %zu-byte head fed byte by byte parses", n);
    TAP_OK(t, parser.scanned <= 2 * n,
           "byte by byte examines %llu bytes for %zu: linear, not quadratic",
           (unsigned long long)parser.scanned, n);

    http_parser_init(&parser, &limits, headers, 64);
    s = http_parser_parse_request(&parser, input, n, &request);
    TAP_OK(t, s == HTTP_PARSE_DONE && parser.scanned == n,
           "fed whole, each byte is examined once (%llu)",
           (unsigned long long)parser.scanned);
}

/* --- headers, lookups, misuse ------------------------------------------ */

static void check_fields(tap *t)
{
    const char *in = "POST /echo HTTP/1.1\r\nHost: h\r\nX-A:  one \r\n"
                     "content-length: 2\r\n\r\nhi";
    http_header headers[8];
    http_parser parser;
    http_request r;
    http_parser_init(&parser, &defaults, headers, 8);
    http_parse_status s =
        http_parser_parse_request(&parser, in, strlen(in), &r);
    TAP_OK(t, s == HTTP_PARSE_DONE && r.header_count == 3, "three fields");
    const http_header *h = http_request_header(&r, "x-a");
    TAP_OK(t, h && text_is(h->name, "X-A") && text_is(h->value, "one"),
           "lookup ignores case; value trimmed");
    TAP_OK(t, http_request_header(&r, "missing") == NULL, "absent field");
    TAP_OK(t, r.headers[0].name.data == in + 21,
           "fields point into the caller's bytes");
    TAP_OK(t,
           http_parser_parse_request(&parser, in, strlen(in), &r) ==
               HTTP_PARSE_DONE,
           "calling again after DONE stays DONE");

    /* A smaller array than max_headers is the limit. */
    http_parser_init(&parser, &defaults, headers, 2);
    s = http_parser_parse_request(&parser, in, strlen(in), &r);
    TAP_OK(t, s == HTTP_PARSE_ERROR && parser.status == 431,
           "the caller's array bounds the field count");

    /* A caller that grows its array: MORE and wants_fields when it is
     * full, then the same bytes parse into the bigger one. */
    http_header *grown = malloc(2 * sizeof *grown);
    http_parser_init(&parser, &defaults, grown, 2);
    http_parser_set_fields(&parser, grown, 2);
    size_t asked = 0;
    while ((s = http_parser_parse_request(&parser, in, strlen(in), &r)) ==
               HTTP_PARSE_MORE &&
           http_parser_wants_fields(&parser) && asked < 8) {
        http_header *bigger = realloc(grown, 2 * (asked + 2) * sizeof *grown);
        if (bigger == NULL)
            break;
        grown = bigger;
        http_parser_set_fields(&parser, grown, 2 * (asked + 2));
        asked++;
    }
    TAP_OK(t,
           s == HTTP_PARSE_DONE && asked == 1 && r.header_count == 3 &&
               r.headers == grown && text_is(r.headers[2].value, "2"),
           "a growing array is asked for once and ends with every field");
    /* The bytes move to a bigger buffer: every string follows them. */
    char *moved = malloc(strlen(in) + 64);
    memcpy(moved, in, strlen(in) + 1);
    http_request_rebase(&r, in, strlen(in), moved);
    TAP_OK(t,
           r.method_name.data == moved && r.path.data == moved + 5 &&
               r.headers[0].name.data == moved + 21 &&
               r.headers[2].value.data > moved &&
               r.headers[2].value.data < moved + strlen(in),
           "request_rebase moves method, path and fields with the bytes");
    free(moved);
    free(grown);
    /* One line split at the end: MORE, as ever, with nothing wanted. */
    http_header few[1];
    http_parser_init(&parser, &defaults, few, 1);
    http_parser_set_fields(&parser, few, 1);
    s = http_parser_parse_request(&parser, in, 30, &r);
    TAP_OK(t, s == HTTP_PARSE_MORE && !http_parser_wants_fields(&parser),
           "a head cut short is MORE without asking for fields");

    /* Errors stick. */
    http_parser_init(&parser, &defaults, headers, 8);
    s = http_parser_parse_request(&parser, "GET  /", 6, &r);
    TAP_OK(t,
           s == HTTP_PARSE_ERROR &&
               http_parser_parse_request(&parser, "GET  / HTTP/1.1", 15, &r) ==
                   HTTP_PARSE_ERROR,
           "an error stays an error");
    http_parser_init(&parser, &defaults, headers, 8);
    http_parser_parse_request(&parser, "GET /ab", 7, &r);
    s = http_parser_parse_request(&parser, "GET /a", 6, &r);
    TAP_OK(t, s == HTTP_PARSE_ERROR && parser.status == 500,
           "fewer bytes than before is refused");

    /* reset reuses the parser for the next request */
    http_parser_init(&parser, &defaults, headers, 8);
    http_parser_parse_request(&parser, in, strlen(in), &r);
    http_parser_reset(&parser);
    s = http_parser_parse_request(&parser, "GET /2 HTTP/1.0\r\n\r\n", 19, &r);
    TAP_OK(t,
           s == HTTP_PARSE_DONE && text_is(r.path, "/2") && r.header_count == 0,
           "reset parses the next request from scratch");

    /* Trailers go to their own array: the headers stay as they were. */
    const char *chunked = "POST /e HTTP/1.1\r\nHost: h\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"
                          "0\r\nHost: evil\r\nX-Sum: 1\r\n\r\n";
    http_header trailers[4];
    http_parser_init(&parser, &defaults, headers, 8);
    s = http_parser_parse_request(&parser, chunked, strlen(chunked), &r);
    size_t count = 0, consumed = 0;
    http_parser_begin_trailers(&parser, trailers, 4);
    size_t at = r.head_length + 3; /* after "0\r\n" */
    http_parse_status ts = http_parser_parse_trailers(
        &parser, chunked + at, strlen(chunked) - at, &count, &consumed);
    TAP_OK(t,
           s == HTTP_PARSE_DONE && ts == HTTP_PARSE_DONE && count == 2 &&
               text_is(trailers[0].value, "evil") && text_is(r.host, "h") &&
               text_is(headers[0].value, "h") && r.header_count == 2,
           "trailers are kept apart: a trailing Host changes nothing");
    http_parser_reset(&parser);
    s = http_parser_parse_request(&parser, "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                  27, &r);
    TAP_OK(t, s == HTTP_PARSE_DONE && r.headers == headers,
           "after trailers, reset gives the request its own array back");

    TAP_OK(t,
           strcmp(http_method_name(HTTP_OPTIONS), "OPTIONS") == 0 &&
               strcmp(http_method_name((http_method)99), "?") == 0,
           "method names");
}

/* --- chunked bodies ---------------------------------------------------- */

typedef struct chunked_case {
    const char *name;
    const char *input;
    int expect;        /* DONE, MORE or the error status */
    const char *data;  /* decoded data (DONE and MORE) */
    int trailers;      /* trailer fields, when DONE; -1 for a trailer error */
    int trailer_error; /* status of a trailer error */
    int after;         /* bytes after the trailer section */
    uint64_t max_body;
} chunked_case;

static const chunked_case chunked_cases[] = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", DONE, "hello", 0, 0, 0, 0},
    {"three chunks", "3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n", DONE,
     "abcdef", 0, 0, 0, 0},
    {"upper and lower hex", "A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n",
     DONE, "0123456789abcdefghijk", 0, 0, 0, 0},
    {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", DONE, "hello", 0, 0, 0,
     0},
    {"no data at all", "0\r\n\r\n", DONE, "", 0, 0, 0, 0},
    {"extensions are ignored", "5;name=value\r\nhello\r\n0;last\r\n\r\n", DONE,
     "hello", 0, 0, 0, 0},
    {"whitespace before an extension", "5 \t;a=\"b c\"\r\nhello\r\n0\r\n\r\n",
     DONE, "hello", 0, 0, 0, 0},
    {"CRLF inside the data is data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", DONE,
     "\r\n\r\n", 0, 0, 0, 0},
    {"trailers are kept apart",
     "5\r\nhello\r\n0\r\nX-Sum: 1\r\nVary: *\r\n\r\n", DONE, "hello", 2, 0, 0,
     0},
    {"the next request follows", "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n", DONE,
     "a", 0, 0, 16, 0},
    {"body exactly at the limit", "5\r\nhello\r\n0\r\n\r\n", DONE, "hello", 0,
     0, 0, 5},
    {"half a chunk", "5\r\nhel", MORE, "hel", 0, 0, 0, 0},
    {"a size line cut short", "5", MORE, "", 0, 0, 0, 0},
    {"no trailer section yet", "0\r\n", DONE, "", -2, 0, 0, 0},
    {"empty size line", "\r\n\r\n", 400, NULL, 0, 0, 0, 0},
    {"negative size", "-5\r\n", 400, NULL, 0, 0, 0, 0},
    {"0x prefix", "0x5\r\n", 400, NULL, 0, 0, 0, 0},
    {"plus sign", "+5\r\n", 400, NULL, 0, 0, 0, 0},
    {"space before the size", " 5\r\nhello\r\n", 400, NULL, 0, 0, 0, 0},
    {"space after the size, no extension", "5 \r\nhello\r\n", 400, NULL, 0, 0,
     0, 0},
    {"underscore after the size", "0_2e\r\n\r\n", 400, NULL, 0, 0, 0, 0},
    {"not hex at all", "g\r\n", 400, NULL, 0, 0, 0, 0},
    {"size line ended by bare CR", "5\r\rhello", 400, NULL, 0, 0, 0, 0},
    {"size line ended by bare LF", "5\nhello\r\n", 400, NULL, 0, 0, 0, 0},
    {"more data than the size says", "4\r\nSEE-THIS\r\n0\r\n\r\n", 400, NULL, 0,
     0, 0, 0},
    {"data followed by bare LF", "5\r\nhello\n0\r\n\r\n", 400, NULL, 0, 0, 0,
     0},
    {"data followed by CR and a byte", "5\r\nhello\rX", 400, NULL, 0, 0, 0, 0},
    {"control byte in an extension", "5;a\x01\r\nhello\r\n", 400, NULL, 0, 0, 0,
     0},
    {"several extensions, spaces around '='",
     "5;a=1 ; b = \"x\\\"y\" ;c\r\nhello\r\n0\r\n\r\n", DONE, "hello", 0, 0, 0,
     0},
    {"quoted extension with obs-text and a pair",
     "5;a=\"\xe9\\\t\"\r\nhello\r\n0\r\n\r\n", DONE, "hello", 0, 0, 0, 0},
    {"extension without a name", "3;\r\nabc\r\n", 400, NULL, 0, 0, 0, 0},
    {"extension with '=' and no name", "3;=\r\nabc\r\n", 400, NULL, 0, 0, 0, 0},
    {"extension name and '=' without a value", "3;a=\r\nabc\r\n", 400, NULL, 0,
     0, 0, 0},
    {"unterminated quoted extension", "3;a=\"b\r\nabc\r\n", 400, NULL, 0, 0, 0,
     0},
    {"bytes after a quoted extension", "3;a=\"b\"c\r\nabc\r\n", 400, NULL, 0, 0,
     0, 0},
    {"two names without ';'", "3;a b\r\nabc\r\n", 400, NULL, 0, 0, 0, 0},
    {"separator in an extension name", "3;a/b\r\nabc\r\n", 400, NULL, 0, 0, 0,
     0},
    {"separator in a token value", "3;a=b@c\r\nabc\r\n", 400, NULL, 0, 0, 0, 0},
    {"empty extension between two", "3;a;;b\r\nabc\r\n", 400, NULL, 0, 0, 0, 0},
    {"control byte in a quoted extension", "3;a=\"\x01\"\r\nabc\r\n", 400, NULL,
     0, 0, 0, 0},
    {"size overflows 64 bits", "10000000000000000\r\n", 400, NULL, 0, 0, 0, 0},
    {"largest size is over the limit", "ffffffffffffffff\r\n", 413, NULL, 0, 0,
     0, 0},
    {"one chunk over the limit", "6\r\nhello!\r\n0\r\n\r\n", 413, NULL, 0, 0, 0,
     5},
    {"chunks adding up over the limit", "3\r\nabc\r\n3\r\ndef\r\n", 413, NULL,
     0, 0, 0, 5},
    {"a size line that never ends",
     "000000000000000000000000000000000000000000000000000000000000000000000000"
     "1",
     400, NULL, 0, 0, 0, 0},
    {"trailer with space before the colon", "0\r\nX : y\r\n\r\n", DONE, "", -1,
     400, 0, 0},
    {"trailer folded", "0\r\nX: y\r\n z\r\n\r\n", DONE, "", -1, 400, 0, 0},
    {"trailer ended by bare LF", "0\r\nX: y\n\r\n", DONE, "", -1, 400, 0, 0},
    {"trailer section ended by bare LF", "0\r\n\n", DONE, "", -1, 400, 0, 0},
};

typedef struct decoded {
    http_chunked_status status;
    int http_status;
    const char *reason;
    char data[256];
    size_t data_length;
    size_t consumed; /* input bytes up to the end of the last-chunk line */
    http_parse_status trailer_status;
    int trailer_http_status;
    size_t trailer_count;
    size_t trailer_length;
} decoded;

/* Decodes `in` fed in pieces (cuts as above); `out_room` bounds each call's
 * output (0: decode in place). Then parses the trailer section. */
static decoded decode(const chunked_case *c, const char *in, const size_t *cuts,
                      size_t ncuts, size_t out_room)
{
    decoded d;
    memset(&d, 0, sizeof d);
    http_chunked_decoder dec;
    http_chunked_init(&dec, c->max_body ? c->max_body : 1000, 64);
    uint8_t scratch[256];
    size_t at = 0; /* input consumed */
    d.status = HTTP_CHUNKED_MORE;
    for (size_t k = 0; k < ncuts && d.status == HTTP_CHUNKED_MORE; k++) {
        while (at < cuts[k] && d.status == HTTP_CHUNKED_MORE) {
            size_t used = 0, made = 0;
            const uint8_t *src = (const uint8_t *)in + at;
            size_t avail = cuts[k] - at;
            if (out_room == 0) {
                /* in place: decode inside a copy, as a server decodes
                 * inside its input buffer */
                memcpy(scratch, src, avail);
                d.status = http_chunked_decode(&dec, scratch, avail, scratch,
                                               avail, &used, &made);
                memcpy(d.data + d.data_length, scratch, made);
            } else {
                size_t room = sizeof d.data - d.data_length;
                d.status = http_chunked_decode(
                    &dec, src, avail, (uint8_t *)d.data + d.data_length,
                    out_room < room ? out_room : room, &used, &made);
            }
            at += used;
            d.data_length += made;
            if (d.status == HTTP_CHUNKED_MORE && used == 0 && made == 0)
                break; /* needs the next piece */
        }
    }
    d.http_status = dec.status;
    d.reason = dec.reason;
    d.consumed = at;
    if (d.status != HTTP_CHUNKED_DONE)
        return d;

    http_header fields[8];
    http_parser parser;
    http_parser_init(&parser, &defaults, fields, 8);
    http_parser_begin_trailers(&parser, fields, 8);
    d.trailer_status = HTTP_PARSE_MORE;
    for (size_t k = 0; k < ncuts && d.trailer_status == HTTP_PARSE_MORE; k++)
        if (cuts[k] >= at)
            d.trailer_status =
                http_parser_parse_trailers(&parser, in + at, cuts[k] - at,
                                           &d.trailer_count, &d.trailer_length);
    d.trailer_http_status = parser.status;
    return d;
}

static bool same_decoded(const decoded *a, const decoded *b)
{
    return a->status == b->status && a->http_status == b->http_status &&
           a->reason == b->reason && a->data_length == b->data_length &&
           memcmp(a->data, b->data, a->data_length) == 0 &&
           (a->status != HTTP_CHUNKED_DONE ||
            (a->consumed == b->consumed &&
             a->trailer_status == b->trailer_status &&
             a->trailer_http_status == b->trailer_http_status &&
             a->trailer_count == b->trailer_count &&
             a->trailer_length == b->trailer_length));
}

static bool decoded_as_expected(const chunked_case *c, const decoded *d,
                                size_t n)
{
    if (c->expect != DONE && c->expect != MORE)
        return d->status == HTTP_CHUNKED_ERROR && d->http_status == c->expect;
    if (d->data_length != strlen(c->data) ||
        memcmp(d->data, c->data, d->data_length) != 0)
        return false;
    if (c->expect == MORE)
        return d->status == HTTP_CHUNKED_MORE;
    if (d->status != HTTP_CHUNKED_DONE)
        return false;
    if (c->trailers == -2)
        return d->trailer_status == HTTP_PARSE_MORE;
    if (c->trailers == -1)
        return d->trailer_status == HTTP_PARSE_ERROR &&
               d->trailer_http_status == c->trailer_error;
    return d->trailer_status == HTTP_PARSE_DONE &&
           d->trailer_count == (size_t)c->trailers &&
           d->consumed + d->trailer_length == n - (size_t)c->after;
}

static void check_chunked_case(tap *t, const chunked_case *c)
{
    size_t n = strlen(c->input);
    guarded g = guard_copy(c->input, n);
    size_t cuts[512], ncuts;

    size_t whole_cut = n;
    decoded whole = decode(c, g.data, &whole_cut, 1, 0);
    TAP_OK(t, decoded_as_expected(c, &whole, n), "chunked %s: whole (%d %s)",
           c->name, whole.http_status, whole.reason ? whole.reason : "");
    decoded apart = decode(c, g.data, &whole_cut, 1, sizeof whole.data);
    TAP_OK(t, same_decoded(&whole, &apart),
           "chunked %s: into a separate buffer", c->name);

    ncuts = 0;
    for (size_t k = 1; k <= n; k++)
        cuts[ncuts++] = k;
    decoded bytes = decode(c, g.data, cuts, ncuts, 0);
    TAP_OK(t, same_decoded(&whole, &bytes), "chunked %s: byte by byte",
           c->name);
    decoded narrow = decode(c, g.data, &whole_cut, 1, 1);
    TAP_OK(t, same_decoded(&whole, &narrow),
           "chunked %s: one output byte per call", c->name);

    bool same = true;
    for (int round = 0; round < 8 && same; round++) {
        ncuts = 0;
        size_t at = 0;
        while (at < n) {
            at += 1 + rng_next() % (n - at < 16 ? n - at : 16);
            cuts[ncuts++] = at;
        }
        decoded split = decode(c, g.data, cuts, ncuts, 0);
        same = same_decoded(&whole, &split);
    }
    TAP_OK(t, same, "chunked %s: random splits", c->name);
    guard_free(&g);
}

/* --- the eight-byte value scan, at every offset in a word ------------- */

/* One byte of each kind, placed at each offset of a 24-byte value, so that
 * it falls at every position of a word and on both sides of a word's edge,
 * whatever the alignment of the head: allowed bytes must leave the value
 * whole (HTAB included, trimmed only at its ends), the others must be 400,
 * fed whole and byte by byte. */
static void check_value_scan(tap *t)
{
    static const struct {
        const char *name;
        unsigned char byte;
        bool allowed;
    } kinds[] = {
        {"HTAB", '\t', true},          {"obs-text 0x80", 0x80, true},
        {"obs-text 0xff", 0xff, true}, {"'~'", '~', true},
        {"DEL", 0x7f, false},          {"NUL", 0x00, false},
        {"0x01", 0x01, false},         {"0x1f", 0x1f, false},
        {"bare LF", '\n', false},      {"bare CR", '\r', false},
    };
    static const char head[] = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
    enum { VALUE = 24 };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bool ok = true;
        size_t bad_at = 0;
        for (size_t at = 0; at < VALUE && ok; at++) {
            char in[sizeof head + VALUE + 4];
            char value[VALUE];
            memset(value, 'v', VALUE);
            value[at] = (char)kinds[k].byte;
            size_t n = sizeof head - 1;
            memcpy(in, head, n);
            memcpy(in + n, value, VALUE);
            memcpy(in + n + VALUE, "\r\n\r\n", 4);
            n += VALUE + 4;

            /* what the value must be: without HTAB at either end */
            size_t from = 0, to = VALUE;
            while (from < to && value[from] == '\t')
                from++;
            while (to > from && value[to - 1] == '\t')
                to--;

            guarded g = guard_copy(in, n);
            for (int bytewise = 0; bytewise < 2 && ok; bytewise++) {
                http_header headers[8];
                http_parser parser;
                http_request r;
                http_parser_init(&parser, &defaults, headers, 8);
                http_parse_status s = HTTP_PARSE_MORE;
                for (size_t len = bytewise ? 1 : n;
                     len <= n && s == HTTP_PARSE_MORE; len++)
                    s = http_parser_parse_request(&parser, g.data, len, &r);
                if (kinds[k].allowed)
                    ok = s == HTTP_PARSE_DONE && r.header_count == 2 &&
                         r.headers[1].value.length == to - from &&
                         memcmp(r.headers[1].value.data, value + from,
                                to - from) == 0;
                else
                    ok = s == HTTP_PARSE_ERROR && parser.status == 400;
            }
            guard_free(&g);
            bad_at = at;
        }
        if (ok)
            TAP_OK(t, true, "value scan: %s at each of %d offsets",
                   kinds[k].name, VALUE);
        else
            TAP_OK(t, false, "value scan: %s at offset %zu", kinds[k].name,
                   bad_at);
    }
}

int main(void)
{
    tap t = {0, 0};
    for (size_t i = 0; i < sizeof request_cases / sizeof request_cases[0]; i++)
        check_request_case(&t, &request_cases[i]);
    check_linear(&t);
    check_value_scan(&t);
    check_fields(&t);
    for (size_t i = 0; i < sizeof chunked_cases / sizeof chunked_cases[0]; i++)
        check_chunked_case(&t, &chunked_cases[i]);
    return tap_done(&t);
}
