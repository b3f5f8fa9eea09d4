/*
 * http_response.c - building a response into Buffers (http_response.h).
 *
 * Four buffers make a response on the wire, in this order:
 *   head   status line, framing fields, the handler's fields, empty line
 *          (and the chunk-size line when the body is chunked);
 *   body   what the handler wrote (reused from request to request), or a
 *          read-only view of memory it lent (set_body_ref);
 *   tail   for a chunked body: the CRLF after the data and the last chunk.
 * The handler's fields wait in a fourth buffer until finish knows the
 * status line, which must come first.
 */
#include "07-http-server/http_response.h"

#include "07-http-server/http_date.h"
#include "07-http-server/http_parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    HEAD_LIMIT = 65536, /* the status line and every field, at most */
    HEAD_SPARE = 256    /* the head's own lines around the handler's fields */
};

struct http_response {
    int status;
    size_t head_capacity; /* what head and fields start at, and go back to */
    buffer *head;
    buffer *fields;
    buffer *spare; /* the reusable body buffer */
    buffer *body;  /* spare, or a bigger one for this response only */
    buffer *ref;   /* a borrowed body, or NULL */
    buffer *tail;
    size_t body_limit;
    bool chunked;
    bool close;
    bool failed; /* a write ran out of room: the answer becomes 500 */
    buffer *out[4];
    size_t out_count;
    uint64_t body_length;
    /* a streamed body (set_body_stream) */
    http_body_sender *stream_send;
    http_body_release *stream_release;
    void *stream_source;
    uint64_t stream_length;
    uint64_t stream_left; /* bytes still to send */
};

const char *http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

http_response *http_response_create(size_t head_capacity, size_t body_capacity,
                                    size_t body_limit)
{
    http_response *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->head_capacity = head_capacity > HEAD_SPARE ? head_capacity : HEAD_SPARE;
    r->head = buffer_allocate(r->head_capacity);
    r->fields = buffer_allocate(r->head_capacity / 2);
    r->spare = buffer_allocate(body_capacity);
    r->tail = buffer_allocate(8);
    if (r->head == NULL || r->fields == NULL || r->spare == NULL ||
        r->tail == NULL) {
        http_response_free(r);
        return NULL;
    }
    r->body = r->spare;
    r->body_limit = body_limit;
    http_response_reset(r);
    return r;
}

/* Gives a streamed body back to its owner, once. */
static void drop_stream(http_response *r)
{
    if (r->stream_release != NULL)
        r->stream_release(r->stream_source);
    r->stream_send = NULL;
    r->stream_release = NULL;
    r->stream_source = NULL;
    r->stream_length = 0;
    r->stream_left = 0;
}

void http_response_free(http_response *r)
{
    if (r == NULL)
        return;
    drop_stream(r);
    if (r->body != r->spare)
        buffer_free(r->body);
    buffer_free(r->spare);
    buffer_free(r->ref);
    buffer_free(r->head);
    buffer_free(r->fields);
    buffer_free(r->tail);
    free(r);
}

/* A head or field buffer that grew for one response goes back to its
 * first size: a long Location once must not cost every later request. */
static void head_shrink(buffer **b, size_t capacity)
{
    if (buffer_capacity(*b) > capacity) {
        buffer *small = buffer_allocate(capacity);
        if (small != NULL) {
            buffer_free(*b);
            *b = small;
        }
    }
    buffer_clear(*b);
}

void http_response_reset(http_response *r)
{
    drop_stream(r);
    if (r->body != r->spare)
        buffer_free(r->body); /* a big body is not kept for the next one */
    r->body = r->spare;
    buffer_clear(r->body);
    buffer_free(r->ref);
    r->ref = NULL;
    head_shrink(&r->head, r->head_capacity);
    head_shrink(&r->fields, r->head_capacity / 2);
    buffer_clear(r->tail);
    r->status = 200;
    r->chunked = false;
    r->close = false;
    r->failed = false;
    r->out_count = 0;
    r->body_length = 0;
}

void http_response_set_status(http_response *r, int status)
{
    r->status = status;
}

int http_response_status(const http_response *r)
{
    return r->status;
}

void http_response_set_chunked(http_response *r, bool chunked)
{
    r->chunked = chunked;
}

void http_response_set_close(http_response *r)
{
    r->close = true;
}

bool http_response_wants_close(const http_response *r)
{
    return r->close || r->failed;
}

static bool put(buffer *b, const char *text, size_t length)
{
    return buffer_put_bytes(b, text, length) == BUFFER_OK;
}

/* lab:begin put_text "The response" */
static bool put_text(buffer *b, const char *text)
{
    return put(b, text, strlen(text));
}
/* lab:end put_text */

size_t http_format_uint(char *out, uint64_t value, unsigned base)
{
    char digits[HTTP_UINT_DIGITS];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    return n;
}

/* lab:begin put_uint "The response" */
static bool put_uint(buffer *b, uint64_t value, unsigned base)
{
    char digits[HTTP_UINT_DIGITS];
    return put(b, digits, http_format_uint(digits, value, base));
}
/* lab:end put_uint */

/* Makes room for `more` bytes at the end of *b, doubling (up to `limit`)
 * and keeping what it holds. */
static bool grow(buffer **b, size_t more, size_t limit)
{
    size_t used = buffer_position(*b);
    if (buffer_remaining(*b) >= more)
        return true;
    if (more > limit - used)
        return false;
    size_t capacity = buffer_capacity(*b);
    while (capacity - used < more)
        capacity = capacity > limit / 2 ? limit : capacity * 2;
    buffer *bigger = buffer_allocate(capacity);
    if (bigger == NULL)
        return false;
    buffer_put_bytes(bigger, buffer_const_array(*b), used);
    buffer_free(*b);
    *b = bigger;
    return true;
}

/* excerpt:begin add-header */
/* True when value[0..length) holds no control byte but HTAB, and no DEL:
 * eight bytes at a time (a word with a byte below 0x20 or a DEL is then
 * looked at byte by byte, since HTAB is allowed). Each response adds a
 * hundred bytes of values or so, every one of them checked. */
static bool value_is_clean(const char *value, size_t length)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t x, del;
        memcpy(&x, value + i, 8);
        del = x ^ (0x7f * ones);
        /* a byte below 0x20, or a byte equal to 0x7f: exact, no borrow
         * starts at a byte that is not one of them */
        if ((((x - 0x20 * ones) & ~x) | ((del - ones) & ~del)) & highs)
            break;
    }
    for (; i < length; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false; /* CR or LF here would start a new field */
    }
    return true;
}

bool http_response_add_header(http_response *r, const char *name,
                              const char *value)
{
    /* The framework writes these from what it knows; a handler that set
     * them could contradict the body it sent. Compared only when the
     * length matches, which few names do. */
    static const struct {
        const char *name;
        size_t length;
    } reserved[] = {{"content-length", 14},
                    {"transfer-encoding", 17},
                    {"connection", 10},
                    {"date", 4},
                    {"server", 6}};
    size_t n = strlen(name), v = strlen(value);
    if (!http_is_token(name, n))
        return false;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (n == reserved[i].length &&
            http_string_equals_nocase((http_string){name, n}, reserved[i].name))
            return false;
    if (!value_is_clean(value, v))
        return false;
    if (!grow(&r->fields, n + v + 4, HEAD_LIMIT - HEAD_SPARE))
        return false;
    /* One copy per part, straight into the buffer: the room is there. */
    char *at = (char *)buffer_array(r->fields) + buffer_position(r->fields);
    memcpy(at, name, n);
    memcpy(at + n, ": ", 2);
    memcpy(at + n + 2, value, v);
    memcpy(at + n + 2 + v, "\r\n", 2);
    buffer_set_position(r->fields, buffer_position(r->fields) + n + v + 4);
    return true;
}
/* excerpt:end add-header */

/* Makes room for `more` body bytes, doubling up to the limit. */
static bool body_room(http_response *r, size_t more)
{
    size_t used = buffer_position(r->body);
    if (buffer_remaining(r->body) >= more)
        return true;
    if (more > r->body_limit - used)
        return false;
    size_t capacity = buffer_capacity(r->body);
    while (capacity - used < more)
        capacity = capacity > r->body_limit / 2 ? r->body_limit : capacity * 2;
    buffer *bigger = buffer_allocate(capacity);
    if (bigger == NULL)
        return false;
    buffer_put_bytes(bigger, buffer_const_array(r->body), used);
    if (r->body != r->spare)
        buffer_free(r->body);
    r->body = bigger;
    return true;
}

bool http_response_write(http_response *r, const void *data, size_t length)
{
    if (r->failed)
        return false;
    drop_stream(r); /* writing replaces a streamed body */
    if (r->ref != NULL) {
        buffer_free(r->ref); /* writing replaces a lent body */
        r->ref = NULL;
    }
    if (!body_room(r, length)) {
        r->failed = true;
        return false;
    }
    return put(r->body, data, length);
}

bool http_response_printf(http_response *r, const char *format, ...)
{
    char small[256];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(small, sizeof small, format, args);
    va_end(args);
    if (n < 0) {
        r->failed = true;
        return false;
    }
    if ((size_t)n < sizeof small)
        return http_response_write(r, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        r->failed = true;
        return false;
    }
    va_start(args, format);
    vsnprintf(big, (size_t)n + 1, format, args);
    va_end(args);
    bool ok = http_response_write(r, big, (size_t)n);
    free(big);
    return ok;
}

void http_response_set_body_stream(http_response *r, uint64_t length,
                                   http_body_sender *send,
                                   http_body_release *release, void *source)
{
    drop_stream(r);
    buffer_free(r->ref);
    r->ref = NULL;
    buffer_clear(r->body);
    r->stream_send = send;
    r->stream_release = release;
    r->stream_source = source;
    r->stream_length = length;
}

bool http_response_set_body_ref(http_response *r, const void *data,
                                size_t length)
{
    drop_stream(r);
    buffer_free(r->ref);
    buffer_clear(r->body);
    /* buffer_wrap wants a writable pointer; the response only reads it. */
    r->ref = buffer_wrap((void *)(uintptr_t)data, length);
    if (r->ref == NULL) {
        r->failed = true;
        return false;
    }
    return true;
}

/* excerpt:begin finish */
bool http_response_finish(http_response *r, const http_finish *how)
{
    /* lab:begin finish "The response" return false; */
    if (r->failed) {
        /* The handler could not build its answer: say so, plainly. */
        http_response_reset(r);
        r->status = 500;
        r->close = true;
        put_text(r->body, "Internal Server Error\n");
    }
    int status = r->status;
    bool bodiless = status < 200 || status == 204 || status == 304;
    buffer *body = r->ref ? r->ref : r->body;
    if (body == r->body)
        buffer_flip(body);
    bool streamed = r->stream_send != NULL;
    r->body_length = bodiless   ? 0
                     : streamed ? r->stream_length
                                : buffer_remaining(body);
    bool chunked =
        r->chunked && how->minor_version >= 1 && !bodiless && !streamed;
    bool keep_alive = how->keep_alive && !r->close;

    buffer_clear(r->head);
    bool ok =
        grow(&r->head, buffer_position(r->fields) + HEAD_SPARE, HEAD_LIMIT);
    buffer *h = r->head;
    ok = ok && put_text(h, "HTTP/1.1 ") && put_uint(h, (uint64_t)status, 10) &&
         put(h, " ", 1) && put_text(h, http_status_reason(status)) &&
         put(h, "\r\n", 2) && put(h, how->date, how->date_length) &&
         put_text(h, "Server: nio-c\r\n");
    if (chunked) {
        ok = ok && put_text(h, "Transfer-Encoding: chunked\r\n");
    } else if (!bodiless) {
        ok = ok && put_text(h, "Content-Length: ") &&
             put_uint(h, r->body_length, 10) && put(h, "\r\n", 2);
    }
    if (!keep_alive)
        ok = ok && put_text(h, "Connection: close\r\n");
    else if (how->minor_version == 0)
        ok = ok && put_text(h, "Connection: keep-alive\r\n");
    buffer_flip(r->fields);
    ok =
        ok && buffer_put_buffer(h, r->fields) == BUFFER_OK && put(h, "\r\n", 2);

    r->out_count = 0;
    r->out[r->out_count++] = h;
    bool send_body = !how->head && !bodiless;
    if (send_body && chunked && r->body_length > 0) {
        ok = ok && put_uint(h, r->body_length, 16) && put(h, "\r\n", 2);
    }
    if (send_body && r->body_length > 0 && !streamed)
        r->out[r->out_count++] = body;
    r->stream_left = send_body && streamed ? r->stream_length : 0;
    if (send_body && chunked) {
        buffer_clear(r->tail);
        put_text(r->tail, r->body_length > 0 ? "\r\n0\r\n\r\n" : "0\r\n\r\n");
        buffer_flip(r->tail);
        r->out[r->out_count++] = r->tail;
    }
    buffer_flip(h);
    if (!send_body)
        r->body_length = 0;
    return ok;
    /* lab:end finish */
}
/* excerpt:end finish */

buffer *const *http_response_buffers(http_response *r, size_t *count)
{
    *count = r->out_count;
    return r->out;
}

bool http_response_sent(const http_response *r)
{
    for (size_t i = 0; i < r->out_count; i++)
        if (buffer_has_remaining(r->out[i]))
            return false;
    return true;
}

/* excerpt:begin send-stream */
int http_response_send_stream(http_response *r, int socket_fd, uint64_t *moved)
{
    *moved = 0;
    if (r->stream_left == 0)
        return 1;
    ssize_t n = r->stream_send(r->stream_source, socket_fd, r->stream_left);
    if (n < 0 || (uint64_t)n > r->stream_left)
        return -1;
    r->stream_left -= (uint64_t)n;
    *moved = (uint64_t)n;
    return r->stream_left == 0 ? 1 : 0;
}
/* excerpt:end send-stream */

uint64_t http_response_body_length(const http_response *r)
{
    return r->body_length;
}

/* excerpt:begin date */
const char *http_date_line(http_date_cache *cache, size_t *length)
{
    time_t now = time(NULL);
    if (now != cache->second || cache->length == 0) {
        /* IMF-fixdate (RFC 9110 §5.6.7) from http_date.c, which spells the
         * names out itself: no locale can change a day's name. */
        char date[HTTP_DATE_SIZE];
        int n = http_date_format((int64_t)now, date)
                    ? snprintf(cache->line, sizeof cache->line, "Date: %s\r\n",
                               date)
                    : 0;
        cache->length = n > 0 && (size_t)n < sizeof cache->line ? (size_t)n : 0;
        cache->second = now;
    }
    *length = cache->length;
    return cache->line;
}
/* excerpt:end date */
