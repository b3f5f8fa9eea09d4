/*
 * http_parser.h - an HTTP/1.1 request parser (RFC 9112, RFC 9110) that is
 * incremental, allocates nothing and copies nothing.
 *
 * The contract is picohttpparser's, made resumable. The caller keeps the
 * bytes of a connection in its own memory (a Buffer) and calls
 * http_parser_parse_request each time more have arrived. The answer is
 *
 *   HTTP_PARSE_DONE   the head (request line and header fields) is complete
 *                     and valid; the request's fields point into the
 *                     caller's bytes; the body, if any, starts right after
 *                     request->head_length bytes;
 *   HTTP_PARSE_MORE   every byte so far is valid, the head is not complete;
 *   HTTP_PARSE_ERROR  the request is bad: parser->status is the status to
 *                     answer (400, 413, 414, 417, 431, 501 or 505) and
 *                     parser->reason says why, in a few words for the log.
 *
 * The parser remembers where it stopped, so a head that arrives one byte
 * at a time is examined in linear time, not re-parsed from its start on
 * every read. The price is one rule for the caller: between calls for the
 * same request, pass the same address, holding the same bytes with the new
 * ones appended (do not compact or move the buffer until the head is done).
 *
 * It is strict, on purpose: every byte that RFC 9112 does not allow is an
 * error, found as soon as it arrives. Two programs that frame one stream of
 * bytes differently are how request smuggling works; a parser that accepts
 * only one reading of the bytes cannot be the one that differs.
 *
 *   - line endings are CRLF only: a bare LF or a bare CR is 400 (RFC 9112
 *     §2.2 allows either policy; accepting bare LF is what smuggling needs);
 *   - empty lines before the request line are skipped (RFC 9112 §2.2);
 *   - the versions are HTTP/1.0 and HTTP/1.1; a later HTTP/1.x is read
 *     as HTTP/1.1 (RFC 9110 §2.5), another major version is 505, and
 *     anything else in that place is 400;
 *   - the target is origin-form ("/path?query"), absolute-form
 *     ("http://host/path", whose authority wins over Host), asterisk-form
 *     ("*", OPTIONS only) or authority-form ("host:port", CONNECT only);
 *     it may hold only the characters RFC 3986 allows, with every '%'
 *     followed by two hex digits;
 *   - field names are tokens; whitespace before the colon, obs-fold, a line
 *     without a colon, and NUL, CR, LF or other controls in a value are 400;
 *   - HTTP/1.1 needs exactly one Host, and it must be a valid host[:port];
 *   - Content-Length is digits only, checked for overflow, and may appear
 *     once; with Transfer-Encoding as well it is 400;
 *   - Transfer-Encoding must end in "chunked", once (400 otherwise, and 400
 *     in HTTP/1.0); another coding before it is 501 (none is implemented);
 *   - Expect: 100-continue is noted for HTTP/1.1; another expectation is
 *     417;
 *   - limits: request line (414), the whole head and the number of fields
 *     (431), the declared body (413, before a byte of it is read).
 *
 * The chunked body has its own incremental decoder, below; its trailer
 * section is read by the same field parser into a separate array, so that
 * a trailer can never pass for a header.
 */
#ifndef NIO_HTTP_PARSER_H
#define NIO_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A piece of the caller's bytes; not NUL-terminated. */
typedef struct http_string {
    const char *data;
    size_t length;
} http_string;

/* True when `s` is exactly the C string `text` (case-sensitive). */
bool http_string_equals(http_string s, const char *text);
/* The same, ignoring ASCII case, as field names and codings are compared. */
bool http_string_equals_nocase(http_string s, const char *text);

/* True when s[0..length) is a non-empty token (RFC 9110 §5.6.2): what a
 * method, a field name or a coding must be. */
bool http_is_token(const char *s, size_t length);

typedef struct http_header {
    http_string name;
    http_string value; /* without the whitespace around it */
} http_header;

typedef enum http_method {
    HTTP_METHOD_OTHER = 0, /* a valid token this server does not know */
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_DELETE,
    HTTP_CONNECT,
    HTTP_OPTIONS,
    HTTP_TRACE,
    HTTP_PATCH
} http_method;

/* "GET", "HEAD", ...; "?" for HTTP_METHOD_OTHER. */
const char *http_method_name(http_method method);

typedef enum http_target_form {
    HTTP_ORIGIN_FORM,    /* /path?query */
    HTTP_ABSOLUTE_FORM,  /* http://authority/path?query */
    HTTP_AUTHORITY_FORM, /* host:port, for CONNECT */
    HTTP_ASTERISK_FORM   /* *, for OPTIONS */
} http_target_form;

typedef enum http_body_kind {
    HTTP_BODY_NONE,    /* no body (no framing field, or Content-Length: 0) */
    HTTP_BODY_LENGTH,  /* content_length bytes follow the head */
    HTTP_BODY_CHUNKED, /* chunked: decode it with http_chunked_decode */
} http_body_kind;

/* What the parser found. Every http_string points into the caller's
 * bytes and is valid as long as they are. */
typedef struct http_request {
    http_method method;
    http_string method_name; /* the token as sent */
    http_string target;      /* the request-target as sent */
    http_target_form form;
    http_string path;     /* "/..." up to '?'; "/" when an absolute-form target
                             has none; "*" or the authority for the other forms */
    http_string query;    /* after '?', data NULL when there is no '?' */
    http_string host;     /* the absolute-form authority, else Host's value */
    int minor_version;    /* HTTP/1.<minor_version>: 0 or 1 (1.2 and up: 1) */
    http_header *headers; /* the parser's array, in the order received */
    size_t header_count;
    http_body_kind body_kind;
    uint64_t content_length; /* for HTTP_BODY_LENGTH */
    bool keep_alive;      /* 1.1 unless "close"; 1.0 only with "keep-alive" */
    bool expect_continue; /* HTTP/1.1 with Expect: 100-continue */
    size_t head_length;   /* bytes from the first byte to the empty line's
                             LF, both included */
    /* Not the parser's: a server fills these in once it has read the
     * body, for the handlers that asked for it. */
    http_string body;
    http_header *trailers; /* a chunked body's trailer fields, kept apart */
    size_t trailer_count;
} http_request;

/* The first field named `name` (any case), or NULL. */
const http_header *http_request_header(const http_request *request,
                                       const char *name);

typedef struct http_limits {
    size_t max_request_line; /* bytes, CRLF included: above it, 414 */
    size_t max_header_bytes; /* the whole head: above it, 431 */
    size_t max_headers;      /* field lines: above it, 431 */
    uint64_t max_body;       /* decoded body bytes: above it, 413 */
} http_limits;

/* 8 KiB request line and head, 64 fields, 1 MiB body. */
#define HTTP_LIMITS_DEFAULT                                                    \
    {                                                                          \
        8192, 8192, 64, 1048576                                                \
    }

typedef enum http_parse_status {
    HTTP_PARSE_DONE,
    HTTP_PARSE_MORE,
    HTTP_PARSE_ERROR
} http_parse_status;

/* The parser's state. Fields below `reason` are private: they are here so
 * that a parser can live on the stack or inside a connection. */
typedef struct http_parser {
    int status;         /* after HTTP_PARSE_ERROR: the status to answer */
    const char *reason; /* after HTTP_PARSE_ERROR: why, for the log */
    uint64_t scanned;   /* bytes examined since init: for tests that check
                           that feeding byte by byte stays linear */

    http_limits limits;
    http_header *request_fields; /* the array given to init */
    size_t request_capacity;
    http_header *headers; /* where fields go now (trailers elsewhere) */
    size_t header_capacity;
    int state;
    size_t offset;     /* where the next call resumes */
    size_t mark;       /* start of the token being scanned */
    size_t name_start; /* current field line */
    size_t name_end;
    size_t value_start;
    size_t header_count;
    http_request request; /* filled in as the head is read */
    unsigned flags;
    bool trailers;
    bool fields_grow;  /* the caller grows the array (set_fields) */
    bool wants_fields; /* it is full below max_headers */
} http_parser;

/* Prepares a parser for a request. `headers` (capacity entries) receives the
 * fields; the field limit is the smaller of capacity and max_headers. */
void http_parser_init(http_parser *parser, const http_limits *limits,
                      http_header *headers, size_t capacity);
/* Forgets the request, keeping limits and array, for the next one. */
void http_parser_reset(http_parser *parser);

/* Parses data[0..length): see the top of this file. On HTTP_PARSE_DONE,
 * `request` holds the head; on HTTP_PARSE_ERROR, what was parsed before
 * the error (the method, say, for the log); on HTTP_PARSE_MORE it is left
 * alone. */
http_parse_status http_parser_parse_request(http_parser *parser,
                                            const char *data, size_t length,
                                            http_request *request);

/* A caller that starts with a small field array (memory for the common
 * case) may grow it on demand instead: once it has called set_fields, a
 * full array below max_headers is not 431 but HTTP_PARSE_MORE with
 * wants_fields true. It then gives set_fields a bigger array holding the
 * same fields (realloc does) and parses the same bytes again. */
bool http_parser_wants_fields(const http_parser *parser);
void http_parser_set_fields(http_parser *parser, http_header *fields,
                            size_t capacity);

/* The bytes being parsed were moved from from[0..length) to `to` (into a
 * bigger buffer): every string parsed so far follows them. Call it before
 * `from` is freed. request_rebase does the same for a finished request,
 * its headers and its trailers. */
void http_parser_rebase(http_parser *parser, const char *from, size_t length,
                        const char *to);
void http_request_rebase(http_request *r, const char *from, size_t length,
                         const char *to);

/* Prepares the parser for a chunked body's trailer section: field lines up
 * to an empty line, with the same rules and limits as the header section
 * (431 above them), and none of a header's meaning. They go into `fields`
 * (capacity entries, also bounded by max_headers), not into the array the
 * headers went to. */
void http_parser_begin_trailers(http_parser *parser, http_header *fields,
                                size_t capacity);
/* Parses data[0..length), which starts at the trailer section. On
 * HTTP_PARSE_DONE, *count fields are in `fields` and *consumed
 * bytes (up to the final CRLF) belong to the trailer section. */
http_parse_status http_parser_parse_trailers(http_parser *parser,
                                             const char *data, size_t length,
                                             size_t *count, size_t *consumed);

/* --- the chunked body (RFC 9112 §7.1) ---------------------------------- */

typedef enum http_chunked_status {
    HTTP_CHUNKED_MORE, /* give it more input (or more output room) */
    HTTP_CHUNKED_DONE, /* the last chunk's line is read: the data is
                          complete and the trailer section follows */
    HTTP_CHUNKED_ERROR /* decoder->status (400 or 413), decoder->reason */
} http_chunked_status;

typedef struct http_chunked_decoder {
    int status;
    const char *reason;
    uint64_t total; /* data bytes decoded so far */

    uint64_t max_body;
    size_t max_line;
    int state;
    uint64_t size;      /* the chunk size being read */
    uint64_t remaining; /* data bytes left in the current chunk */
    size_t line;        /* bytes in the current size line */
} http_chunked_decoder;

/* max_body: decoded bytes allowed (413 above); max_line: the longest chunk
 * size line, extensions included (400 above). */
void http_chunked_init(http_chunked_decoder *decoder, uint64_t max_body,
                       size_t max_line);

/* Reads framing from in[0..length) and writes chunk data to out, at most
 * out_capacity bytes. `out` may be `in` itself: data only ever moves
 * towards the front, so a body can be decoded in place. Sets *consumed
 * (input bytes used) and *produced (data bytes written). Sizes are strict
 * hex with an overflow check; extensions must follow the grammar
 * of RFC 9112 §7.1.1 (name, optional token or quoted value) and are then
 * ignored; CRLF must end every size line and every chunk's data. */
http_chunked_status http_chunked_decode(http_chunked_decoder *decoder,
                                        const uint8_t *in, size_t length,
                                        uint8_t *out, size_t out_capacity,
                                        size_t *consumed, size_t *produced);

#endif
