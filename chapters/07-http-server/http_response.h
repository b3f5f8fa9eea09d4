/*
 * http_response.h - the response a handler fills in, and the bytes that go
 * on the wire: the seed's HttpResponse (HttpServletResponse), built into
 * chapter 1's Buffers so that chapter 2's gathering write sends the status
 * line, the header fields and the body in one writev(2).
 *
 * A handler sets a status, adds fields and writes a body. It never writes
 * the fields that frame the message - Date, Server, Content-Length or
 * Transfer-Encoding, Connection - because getting those wrong is how a
 * response ends up read as two, or a connection as closed when it is not:
 * http_response_finish writes them once the handler is done, from what it
 * knows about the request (HEAD, HTTP/1.0, keep-alive).
 *
 *   - the body goes out with Content-Length, or chunked when the handler
 *     asks for it and the client speaks HTTP/1.1;
 *   - HEAD gets exactly the fields GET would get, and no body;
 *   - 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1);
 *   - a field the handler adds is refused if its name is not a token or
 *     its value holds CR, LF or NUL, so a value from a request can never
 *     inject a field or a second response.
 *
 * A response is made once per connection and reset between requests: its
 * buffers are reused, so a request that writes a small body allocates
 * nothing. Not thread-safe: one thread at a time (the connection's loop,
 * or the pool thread running a blocking handler, never both).
 */
#ifndef NIO_HTTP_RESPONSE_H
#define NIO_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "01-buffer/buffer.h"

typedef struct http_response http_response;

/* "OK", "Not Found", ...; "Unknown" for a code without a phrase here. */
const char *http_status_reason(int status);

/* Writes `value` in base 10 or 16 (lower-case digits) at `out`, which has
 * room for HTTP_UINT_DIGITS characters; returns how many, without a NUL.
 * Each response formats a few numbers; snprintf would spend more time
 * reading its format than writing the digits. */
#define HTTP_UINT_DIGITS 20
size_t http_format_uint(char *out, uint64_t value, unsigned base);

/* head_capacity: the first room for the status line and the fields, which
 * grow as needed up to 64 KiB (fields past that are refused) and shrink
 * back for the next response; body_capacity: the reusable body buffer;
 * body_limit: the most a handler may write (the body grows up to it). NULL on
 * ENOMEM. */
http_response *http_response_create(size_t head_capacity, size_t body_capacity,
                                    size_t body_limit);
void http_response_free(http_response *r);
/* Ready for the next request: status 200, no fields, empty body. */
void http_response_reset(http_response *r);

/* --- for handlers -------------------------------------------------------- */

void http_response_set_status(http_response *r, int status);
int http_response_status(const http_response *r);
/* Adds "name: value". False (and nothing added) when the name is not a
 * token, the value holds CR, LF or NUL, the name is one the framework
 * writes itself, or the fields would pass 64 KiB (or memory runs out). */
bool http_response_add_header(http_response *r, const char *name,
                              const char *value);
/* Appends to the body (copied). False when the body limit or memory runs
 * out; the response then becomes a 500. */
bool http_response_write(http_response *r, const void *data, size_t length);
bool http_response_printf(http_response *r, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* The body is `length` bytes at `data`, not copied: they must stay valid
 * until the response has been sent (a string literal, or the request's
 * own body). Replaces anything written. */
bool http_response_set_body_ref(http_response *r, const void *data,
                                size_t length);
/* A body too big to hold in memory, such as a file: `length` bytes that
 * `send` writes to the socket a piece at a time (sendfile, for a file).
 * send(source, socket_fd, max) returns the bytes it wrote (> 0, at most
 * max), 0 when the socket is full (the server waits for OP_WRITE and calls
 * again), or -1 when the body cannot be finished (the connection closes).
 * `release` (may be NULL) runs exactly once, when the response is reset,
 * sent or abandoned, whatever happened. Replaces anything written. */
typedef ssize_t http_body_sender(void *source, int socket_fd, uint64_t max);
typedef void http_body_release(void *source);
void http_response_set_body_stream(http_response *r, uint64_t length,
                                   http_body_sender *send,
                                   http_body_release *release, void *source);

/* Send the body with chunked framing (HTTP/1.1 clients only). */
void http_response_set_chunked(http_response *r, bool chunked);
/* Close the connection after this response. */
void http_response_set_close(http_response *r);
bool http_response_wants_close(const http_response *r);

/* --- for the server --------------------------------------------------------
 */

/* What finish needs to know about the request and the connection. */
typedef struct http_finish {
    bool head;         /* a HEAD request: fields only */
    int minor_version; /* the request's: 0 means no chunked, and
                          keep-alive must be said out loud */
    bool keep_alive;   /* the connection stays open after this response */
    const char *date;  /* "Date: ...\r\n" from http_date_line */
    size_t date_length;
} http_finish;

/* Writes the status line and framing fields and lays out the buffers to
 * send. Returns false when the head does not fit (the caller answers 500
 * with a fresh response). */
bool http_response_finish(http_response *r, const http_finish *how);
/* The buffers finish laid out, for channel_write_buffers; *count <= 4.
 * The response is sent when none has bytes remaining. */
buffer *const *http_response_buffers(http_response *r, size_t *count);
bool http_response_sent(const http_response *r);
/* After the buffers: sends the next piece of a streamed body - one call
 * of its sender, so that one large body cannot keep the event loop to
 * itself. Returns 1 when all is sent (or there is none), 0 when more is
 * left (wait for OP_WRITE, call again), -1 when the body cannot be
 * finished. *moved: the bytes this call sent (progress, for the send
 * timeout). */
int http_response_send_stream(http_response *r, int socket_fd, uint64_t *moved);
/* Body bytes in the response (not counting chunk framing): for the log. */
uint64_t http_response_body_length(const http_response *r);

/* --- the Date field, formatted once a second --------------------------------
 */

typedef struct http_date_cache {
    time_t second;
    size_t length;
    char line[48]; /* "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" */
} http_date_cache;

/* The Date line for now, re-formatted only when the second has changed.
 * One cache per thread (each event loop has its own). */
const char *http_date_line(http_date_cache *cache, size_t *length);

#endif
