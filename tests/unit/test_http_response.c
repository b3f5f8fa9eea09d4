/*
 * test_http_response.c - the response builder and the route table of
 * chapter 7: the exact bytes a response puts on the wire (framing fields,
 * HEAD, chunked, bodiless statuses, HTTP/1.0), the fields a handler may not
 * add, the reuse of one response from request to request, a streamed
 * body; then which route answers which request, and what the framework
 * answers when none does.
 */
#include "tap.h"
#include "07-http-server/http_response.h"
#include "07-http-server/http_router.h"

#include <string.h>
#include <sys/types.h>

static const char date[] = "Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n";

/* Finishes `r` and returns every byte it would send (buffers only). */
static const char *wire(http_response *r, bool head, int minor, bool keep,
                        size_t *length)
{
    static char out[65536];
    http_finish how = {head, minor, keep, date, sizeof date - 1};
    *length = 0;
    if (!http_response_finish(r, &how))
        return NULL;
    size_t count;
    buffer *const *parts = http_response_buffers(r, &count);
    for (size_t i = 0; i < count; i++) {
        size_t n = buffer_remaining(parts[i]);
        memcpy(out + *length,
               buffer_const_array(parts[i]) + buffer_position(parts[i]), n);
        *length += n;
    }
    out[*length] = '\0';
    return out;
}

static bool is(const char *got, const char *want)
{
    if (got != NULL && strcmp(got, want) == 0)
        return true;
    fprintf(stderr, "# got:\n%s\n# want:\n%s\n", got ? got : "(null)", want);
    return false;
}

/* A streamed body that hands out `left` bytes, `step` per call, with a
 * full socket every other call. */
typedef struct fake_stream {
    uint64_t left;
    uint64_t step;
    int calls;
    int released;
} fake_stream;

static ssize_t fake_send(void *source, int fd, uint64_t max)
{
    (void)fd;
    fake_stream *s = source;
    if (s->calls++ % 2 == 1)
        return 0;
    uint64_t n = s->step < max ? s->step : max;
    s->left -= n;
    return (ssize_t)n;
}

static void fake_release(void *source)
{
    ((fake_stream *)source)->released++;
}

static void check_response(tap *t)
{
    http_response *r = http_response_create(1024, 16, 1 << 20);
    size_t n;
    TAP_OK(t, r != NULL, "create");

    http_response_add_header(r, "Content-Type", "text/plain");
    http_response_write(r, "hello\n", 6);
    TAP_OK(t,
           is(wire(r, false, 1, true, &n),
              "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "Server: nio-c\r\nContent-Length: 6\r\n"
              "Content-Type: text/plain\r\n\r\nhello\n"),
           "a 200: status line, Date, Server, Content-Length, fields, body");

    http_response_reset(r);
    http_response_add_header(r, "Content-Type", "text/plain");
    http_response_write(r, "hello\n", 6);
    TAP_OK(t,
           is(wire(r, true, 1, true, &n),
              "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "Server: nio-c\r\nContent-Length: 6\r\n"
              "Content-Type: text/plain\r\n\r\n"),
           "HEAD: GET's fields, Content-Length included, no body");

    http_response_reset(r);
    http_response_write(r, "abc", 3);
    TAP_OK(t,
           is(wire(r, false, 0, true, &n),
              "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "Server: nio-c\r\nContent-Length: 3\r\n"
              "Connection: keep-alive\r\n\r\nabc"),
           "HTTP/1.0 keep-alive is said out loud");

    http_response_reset(r);
    http_response_write(r, "abc", 3);
    TAP_OK(t,
           is(wire(r, false, 1, false, &n),
              "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "Server: nio-c\r\nContent-Length: 3\r\n"
              "Connection: close\r\n\r\nabc"),
           "closing: Connection: close");

    http_response_reset(r);
    http_response_set_chunked(r, true);
    http_response_write(r, "0123456789abcdefg", 17); /* grows past 16 */
    TAP_OK(t,
           is(wire(r, false, 1, true, &n),
              "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "Server: nio-c\r\nTransfer-Encoding: chunked\r\n\r\n"
              "11\r\n0123456789abcdefg\r\n0\r\n\r\n"),
           "chunked: one chunk, the last chunk, a body bigger than the "
           "reusable buffer");

    http_response_reset(r);
    http_response_set_chunked(r, true);
    TAP_OK(t,
           is(wire(r, false, 1, true, &n),
              "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "Server: nio-c\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
           "chunked and empty: the last chunk alone");

    http_response_reset(r);
    http_response_set_chunked(r, true);
    http_response_write(r, "abc", 3);
    TAP_OK(t,
           is(wire(r, false, 0, false, &n),
              "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "Server: nio-c\r\nContent-Length: 3\r\n"
              "Connection: close\r\n\r\nabc"),
           "an HTTP/1.0 client never gets chunked");

    int bodiless[] = {204, 304};
    for (size_t i = 0; i < 2; i++) {
        http_response_reset(r);
        http_response_set_status(r, bodiless[i]);
        http_response_write(r, "ignored", 7);
        const char *w = wire(r, false, 1, true, &n);
        TAP_OK(t,
               w && strstr(w, "Content-Length") == NULL &&
                   strcmp(w + n - 4, "\r\n\r\n") == 0,
               "%d: no body, no Content-Length", bodiless[i]);
    }

    http_response_reset(r);
    TAP_OK(t, !http_response_add_header(r, "X-Bad", "a\r\nSet-Cookie: x=1"),
           "a value with CRLF is refused (no field injection)");
    TAP_OK(t, !http_response_add_header(r, "X-Bad", "a\nb"),
           "a value with a bare LF is refused");
    TAP_OK(t, !http_response_add_header(r, "Bad Name", "v"),
           "a name that is not a token is refused");
    TAP_OK(t, !http_response_add_header(r, "Content-Length", "5"),
           "Content-Length is the framework's");
    TAP_OK(t, !http_response_add_header(r, "transfer-encoding", "chunked"),
           "Transfer-Encoding is the framework's, in any case");
    TAP_OK(t, http_response_add_header(r, "X-Tab", "a\tb"),
           "HTAB is allowed in a value");
    /* Every byte value at every place of a 19-byte value: the check
     * reads eight bytes at a time, then the rest one by one. */
    int wrong = 0;
    for (int c = 1; c < 256; c++) {
        bool allowed = c == '\t' || (c >= 0x20 && c != 0x7f);
        for (int at = 0; at < 19; at++) {
            char value[20];
            memset(value, 'v', 19);
            value[19] = '\0';
            value[at] = (char)c;
            http_response_reset(r);
            if (http_response_add_header(r, "X-Byte", value) != allowed)
                wrong++;
        }
    }
    TAP_OK(t, wrong == 0,
           "controls but HTAB, and DEL, are refused anywhere in a value; "
           "SP, VCHAR and obs-text pass (%d wrong)",
           wrong);
    /* Fields that pass 2 KiB, then 64 KiB: the buffer grows, then stops. */
    http_response_reset(r);
    char big[3000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    int added = 0;
    while (added < 40 && http_response_add_header(r, "X-Big", big))
        added++;
    TAP_OK(t, added == 21, "fields grow past the first 2 KiB up to 64 KiB (%d)",
           added);

    /* A lent body is not copied. */
    http_response_reset(r);
    static const char lent[] = "borrowed bytes";
    http_response_set_body_ref(r, lent, sizeof lent - 1);
    wire(r, false, 1, true, &n);
    size_t count;
    buffer *const *parts = http_response_buffers(r, &count);
    TAP_OK(t,
           count == 2 &&
               buffer_const_array(parts[1]) == (const uint8_t *)lent &&
               http_response_body_length(r) == sizeof lent - 1,
           "set_body_ref sends the caller's bytes in place");

    /* Too much body: the answer becomes a 500 that closes. */
    http_response *small = http_response_create(1024, 4, 8);
    http_response_write(small, "12345678", 8);
    TAP_OK(t, !http_response_write(small, "9", 1), "over the body limit");
    const char *w = wire(small, false, 1, true, &n);
    TAP_OK(t,
           w && strncmp(w, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0 &&
               strstr(w, "Connection: close\r\n") != NULL,
           "a response that could not be built is a 500, and closes");
    http_response_free(small);

    /* A streamed body: Content-Length from its length, sent after the
     * buffers, released once. */
    http_response_reset(r);
    fake_stream s = {10, 4, 0, 0};
    http_response_set_body_stream(r, 10, fake_send, fake_release, &s);
    w = wire(r, false, 1, true, &n);
    TAP_OK(t,
           w && strstr(w, "Content-Length: 10\r\n") != NULL &&
               strcmp(w + n - 4, "\r\n\r\n") == 0,
           "a streamed body: its length in the head, its bytes not in the "
           "buffers");
    int steps = 0, rc, idle = 0;
    uint64_t moved, total = 0;
    while ((rc = http_response_send_stream(r, -1, &moved)) == 0 && steps < 20) {
        steps++;
        total += moved;
        idle += moved == 0;
    }
    total += moved;
    TAP_OK(t, rc == 1 && s.left == 0 && total == 10 && steps == 4 && idle == 2,
           "the stream is sent one piece per call, and a full socket moves "
           "nothing");
    http_response_reset(r);
    http_response_reset(r);
    TAP_OK(t, s.released == 1, "the stream is released exactly once");

    s = (fake_stream){10, 4, 0, 0};
    http_response_set_body_stream(r, 10, fake_send, fake_release, &s);
    wire(r, true, 1, true, &n);
    TAP_OK(t, http_response_send_stream(r, -1, &moved) == 1 && s.calls == 0,
           "HEAD sends nothing of a streamed body");
    http_response_free(r);
    TAP_OK(t, s.released == 1, "freeing the response releases the stream");

    http_date_cache cache = {0, 0, {0}};
    size_t length;
    const char *line = http_date_line(&cache, &length);
    TAP_OK(t,
           length == 37 && strncmp(line, "Date: ", 6) == 0 &&
               strcmp(line + length - 6, " GMT\r\n") == 0,
           "the Date line is an IMF-fixdate");
    TAP_OK(t, http_date_line(&cache, &length) == line,
           "the same cached line within a second");
    TAP_OK(t,
           strcmp(http_status_reason(431), "Request Header Fields Too Large") ==
                   0 &&
               strcmp(http_status_reason(299), "Unknown") == 0,
           "reason phrases");
}

static void handler(const http_request *request, http_response *response,
                    void *context)
{
    (void)request;
    (void)response;
    (void)context;
}

static http_string text(const char *s)
{
    return (http_string){s, strlen(s)};
}

static void check_router(tap *t)
{
    http_router router = HTTP_ROUTER_INIT;
    http_route routes[] = {
        {HTTP_METHODS(HTTP_GET), "/hello", 0, handler, "hello"},
        {HTTP_METHODS(HTTP_POST), "/hello", 0, handler, "hello-post"},
        {HTTP_METHODS(HTTP_GET), "/files/", HTTP_ROUTE_PREFIX, handler,
         "files"},
        {HTTP_METHODS(HTTP_GET), "/files/special", 0, handler, "special"},
        {HTTP_METHODS(HTTP_PUT), "/files/upload/", HTTP_ROUTE_PREFIX, handler,
         "upload"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        TAP_OK(t, http_router_add(&router, &routes[i]) == 0, "add %s",
               routes[i].path);
    http_route bad = {0, "/x", 0, handler, NULL};
    TAP_OK(t, http_router_add(&router, &bad) < 0, "a route with no methods");
    bad = (http_route){HTTP_METHODS(HTTP_GET), "x", 0, handler, NULL};
    TAP_OK(t, http_router_add(&router, &bad) < 0, "a path without '/'");

    int status;
    unsigned allow;
    const http_route *r;
    r = http_router_find(&router, HTTP_GET, text("/hello"), &status, &allow);
    TAP_OK(t, r && strcmp(r->context, "hello") == 0 && status == 0,
           "exact path, method");
    r = http_router_find(&router, HTTP_POST, text("/hello"), &status, &allow);
    TAP_OK(t, r && strcmp(r->context, "hello-post") == 0,
           "same path, other method, other route");
    r = http_router_find(&router, HTTP_HEAD, text("/hello"), &status, &allow);
    TAP_OK(t, r && strcmp(r->context, "hello") == 0,
           "HEAD goes where GET goes");
    r = http_router_find(&router, HTTP_PUT, text("/hello"), &status, &allow);
    char allowed[64];
    TAP_OK(t,
           r == NULL && status == 405 &&
               strcmp(http_router_allow_text(allow, allowed, sizeof allowed),
                      "GET, HEAD, POST, OPTIONS") == 0,
           "405 with the path's methods");
    r = http_router_find(&router, HTTP_OPTIONS, text("/hello"), &status,
                         &allow);
    TAP_OK(t, r == NULL && status == 204, "OPTIONS is the framework's");
    r = http_router_find(&router, HTTP_GET, text("/files/a/b"), &status,
                         &allow);
    TAP_OK(t, r && strcmp(r->context, "files") == 0, "a prefix");
    r = http_router_find(&router, HTTP_GET, text("/files/special"), &status,
                         &allow);
    TAP_OK(t, r && strcmp(r->context, "special") == 0,
           "an exact path beats a prefix");
    r = http_router_find(&router, HTTP_PUT, text("/files/upload/x"), &status,
                         &allow);
    TAP_OK(t, r && strcmp(r->context, "upload") == 0,
           "the longest prefix wins");
    r = http_router_find(&router, HTTP_GET, text("/files/upload/x"), &status,
                         &allow);
    TAP_OK(t, r == NULL && status == 405,
           "the longest prefix decides, even when its method does not match");
    r = http_router_find(&router, HTTP_GET, text("/hello/"), &status, &allow);
    TAP_OK(t, r == NULL && status == 404, "no route: 404");
    r = http_router_find(&router, HTTP_GET, text("/file"), &status, &allow);
    TAP_OK(t, r == NULL && status == 404, "a prefix must match whole");
    r = http_router_find(&router, HTTP_TRACE, text("/hello"), &status, &allow);
    TAP_OK(t, r == NULL && status == 501, "a method no route uses: 501");
    r = http_router_find(&router, HTTP_METHOD_OTHER, text("/hello"), &status,
                         &allow);
    TAP_OK(t, r == NULL && status == 501, "an unknown method: 501");
    http_router_free(&router);
    TAP_OK(t, router.count == 0 && router.routes == NULL, "free");
}

static void check_format_uint(tap *t)
{
    static const struct {
        uint64_t value;
        unsigned base;
        const char *text;
    } cases[] = {
        {0, 10, "0"},
        {9, 10, "9"},
        {10, 10, "10"},
        {1234567890, 10, "1234567890"},
        {UINT64_MAX, 10, "18446744073709551615"},
        {0, 16, "0"},
        {255, 16, "ff"},
        {0x1000, 16, "1000"},
        {UINT64_MAX, 16, "ffffffffffffffff"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[HTTP_UINT_DIGITS + 1];
        memset(out, '#', sizeof out);
        size_t n = http_format_uint(out, cases[i].value, cases[i].base);
        TAP_OK(t,
               n == strlen(cases[i].text) &&
                   memcmp(out, cases[i].text, n) == 0 && out[n] == '#',
               "format %s in base %u, nothing written past it", cases[i].text,
               cases[i].base);
    }
}

int main(void)
{
    tap t = {0, 0};
    check_response(&t);
    check_format_uint(&t);
    check_router(&t);
    return tap_done(&t);
}
