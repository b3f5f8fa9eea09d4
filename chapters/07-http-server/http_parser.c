/*
 * http_parser.c - the request head parser and the chunked body decoder
 * declared in http_parser.h.
 *
 * The head parser is a state machine whose states are the parts of the
 * grammar (method, target, version, field name, field value, ...). Inside
 * a state it runs a tight loop over a character-class table, so that the
 * common case - a long run of ordinary bytes - costs one table look-up per
 * byte. When the bytes run out it saves the state and the offset, and the
 * next call carries on from there. The few checks that need several bytes
 * at once (a "%XX" escape, the version, a CRLF) back up to their first
 * byte and look again next time: a bounded re-read, so the total stays
 * linear however the bytes are split.
 */
#include "07-http-server/http_parser.h"

#include <string.h>

/* --- character classes ------------------------------------------------- */

enum {
    C_TCHAR = 1,   /* token: method, field name, coding (RFC 9110 §5.6.2) */
    C_TARGET = 2,  /* request-target bytes other than '%' (RFC 3986) */
    C_VALUE = 4,   /* field-value bytes: VCHAR, obs-text, SP, HTAB */
    C_HEX = 8,     /* HEXDIG */
    C_REGNAME = 16 /* reg-name bytes other than '%': unreserved, sub-delims */
};

static const unsigned char char_class[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  23, 4,  5,  23, 5,
    23, 23, 22, 22, 23, 23, 22, 23, 23, 6,  31, 31, 31, 31, 31, 31, 31, 31, 31,
    31, 6,  22, 4,  22, 4,  6,  6,  31, 31, 31, 31, 31, 31, 23, 23, 23, 23, 23,
    23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 6,  4,  6,  5,
    23, 5,  31, 31, 31, 31, 31, 31, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23,
    23, 23, 23, 23, 23, 23, 23, 23, 23, 4,  5,  4,  23, 0,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,
};

static bool is_class(unsigned char c, int cls)
{
    return (char_class[c] & cls) != 0;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* lab:begin hex_value "The chunked body" */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}
/* lab:end hex_value */

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Skips bytes of class `cls` from b[i] up to `end`: eight bytes per check
 * of the bound, each with its own test. Every test but the last of a run
 * goes the same way, so the processor predicts them and runs ahead; it is
 * faster than combining the classes of several bytes into one test, which
 * waits for all of them and then has to find the one that failed. */
static size_t skip_class(const unsigned char *b, size_t i, size_t end, int cls)
{
    /* lab:begin skip_class "The parser" return i; */
    while (end - i >= 8) {
        if (!is_class(b[i], cls))
            return i;
        if (!is_class(b[i + 1], cls))
            return i + 1;
        if (!is_class(b[i + 2], cls))
            return i + 2;
        if (!is_class(b[i + 3], cls))
            return i + 3;
        if (!is_class(b[i + 4], cls))
            return i + 4;
        if (!is_class(b[i + 5], cls))
            return i + 5;
        if (!is_class(b[i + 6], cls))
            return i + 6;
        if (!is_class(b[i + 7], cls))
            return i + 7;
        i += 8;
    }
    while (i < end && is_class(b[i], cls))
        i++;
    return i;
    /* lab:end skip_class */
}

/* lab:begin value_words "The tuned scans" */
/* Eight bytes as a number whose lowest byte is b[0], whatever the
 * machine's byte order (compilers turn this into one load). */
static uint64_t load_le64(const unsigned char *b)
{
    return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 |
           (uint64_t)b[3] << 24 | (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 |
           (uint64_t)b[6] << 48 | (uint64_t)b[7] << 56;
}

/* The index (0-7) of the lowest byte of `flagged` whose top bit is set;
 * flagged is not 0 and has only top bits of bytes set. Every later byte
 * the parser reads waits for this answer, so it must take few steps: the
 * processor's count of trailing zeros where the compiler offers it (GCC,
 * Clang), else a multiply that adds up the bytes below the lowest flag
 * (bit 8k+7: the word below it, shifted down by 7, is 0xff in each of the
 * k bytes before byte k) into the top byte. */
static size_t lowest_flagged_byte(uint64_t flagged)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(flagged) / 8;
#else
    const uint64_t ones = 0x0101010101010101u;
    uint64_t before = ((flagged & (0 - flagged)) - 1) >> 7;
    return (size_t)(((before & ones) * ones) >> 56);
#endif
}
/* lab:end value_words */

/* Skips field-value bytes from b[i] up to `end`, eight at a time. A word
 * is let through when none of its bytes is a control byte (below 0x20:
 * CR, LF, NUL, HTAB...) or DEL: subtracting 0x20 from each byte borrows
 * into its top bit when it is below 0x20, adding 1 to its low seven bits
 * carries into it when they are 0x7f, and a byte whose own top bit is set
 * (obs-text, allowed) is let off. A borrow can only spoil the bytes above
 * a flagged one, so the lowest flagged byte is exact: the scan jumps to it
 * and looks at it alone: HTAB goes on, anything else stops the scan. */
static size_t skip_value_bytes(const unsigned char *b, size_t i, size_t end)
{
    /* lab:begin skip_value_bytes "The parser" return i; */
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - i >= 8) {
        uint64_t x = load_le64(b + i);
        uint64_t flagged =
            ((x - ones * 0x20) | ((x & ~highs) + ones)) & ~x & highs;
        if (flagged == 0) {
            i += 8;
            continue;
        }
        i += lowest_flagged_byte(flagged);
        if (b[i] != '\t')
            return i;
        i++;
    }
    while (i < end && is_class(b[i], C_VALUE))
        i++;
    return i;
    /* lab:end skip_value_bytes */
}

/* --- strings, methods, lookup ------------------------------------------ */

bool http_string_equals(http_string s, const char *text)
{
    /* One pass: text's NUL is found by the comparison, not by strlen. */
    for (size_t i = 0; i < s.length; i++)
        if (text[i] == '\0' || s.data[i] != text[i])
            return false;
    return text[s.length] == '\0';
}

bool http_string_equals_nocase(http_string s, const char *text)
{
    /* One pass: text's NUL is found by the comparison, not by strlen. */
    for (size_t i = 0; i < s.length; i++)
        if (text[i] == '\0' ||
            lower((unsigned char)s.data[i]) != lower((unsigned char)text[i]))
            return false;
    return text[s.length] == '\0';
}

/* `s` against a lower-case literal, ignoring the case of s. Inlined, the
 * literal's length is a constant, so a length that differs costs one
 * comparison, and only one side needs lowering. */
static bool equals_lower(http_string s, const char *lower_text)
{
    size_t n = strlen(lower_text);
    if (s.length != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.data[i]) != (unsigned char)lower_text[i])
            return false;
    return true;
}

bool http_is_token(const char *s, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (!is_class((unsigned char)s[i], C_TCHAR))
            return false;
    return length > 0;
}

static const char *const method_names[] = {
    [HTTP_METHOD_OTHER] = "?",  [HTTP_GET] = "GET",
    [HTTP_HEAD] = "HEAD",       [HTTP_POST] = "POST",
    [HTTP_PUT] = "PUT",         [HTTP_DELETE] = "DELETE",
    [HTTP_CONNECT] = "CONNECT", [HTTP_OPTIONS] = "OPTIONS",
    [HTTP_TRACE] = "TRACE",     [HTTP_PATCH] = "PATCH",
};

const char *http_method_name(http_method method)
{
    if ((unsigned)method >= sizeof method_names / sizeof method_names[0])
        return "?";
    return method_names[method];
}

/* lab:begin method_from "The parser" */
/* Methods are case-sensitive (RFC 9110 §9.1): "get" is another method. */
static http_method method_from(http_string name)
{
    for (int m = HTTP_GET; m <= HTTP_PATCH; m++)
        if (http_string_equals(name, method_names[m]))
            return (http_method)m;
    return HTTP_METHOD_OTHER;
}
/* lab:end method_from */

const http_header *http_request_header(const http_request *request,
                                       const char *name)
{
    /* Lengths first: most fields differ in length from the one looked
     * for, and a file request looks for six that are usually absent. */
    size_t n = strlen(name);
    for (size_t i = 0; i < request->header_count; i++)
        if (request->headers[i].name.length == n &&
            http_string_equals_nocase(request->headers[i].name, name))
            return &request->headers[i];
    return NULL;
}

/* --- host and target --------------------------------------------------- */

/* host [":" port] as in Host and in an authority (RFC 9110 §7.2, RFC 3986
 * §3.2.2): an IP-literal in brackets, or a reg-name; then digits for the
 * port. A port above 65535 is refused as well. */
static bool host_is_valid(const unsigned char *h, size_t n, bool need_port)
{
    size_t i = 0;
    if (n > 0 && h[0] == '[') {
        /* The characters of an IPv6 address; IPvFuture is not accepted. */
        i = 1;
        while (i < n && (is_class(h[i], C_HEX) || h[i] == ':' || h[i] == '.'))
            i++;
        if (i == 1 || i >= n || h[i] != ']')
            return false;
        i++;
    } else {
        for (;;) {
            i = skip_class(h, i, n, C_REGNAME);
            if (i == n || h[i] != '%')
                break;
            if (i + 2 >= n || !is_class(h[i + 1], C_HEX) ||
                !is_class(h[i + 2], C_HEX))
                return false;
            i += 3;
        }
    }
    if (i == n)
        return !need_port;
    if (h[i] != ':')
        return false;
    unsigned long port = 0;
    size_t digits = 0;
    for (i++; i < n; i++, digits++) {
        if (!is_digit(h[i]) || digits == 5)
            return false;
        port = port * 10 + (unsigned long)(h[i] - '0');
    }
    if (need_port && digits == 0)
        return false;
    return port <= 65535;
}

/* Splits "path?query" into the request's path and query. '[' and ']' are
 * only for an IP-literal in an authority, never in a path or a query. */
static bool split_path(http_request *r, const char *s, size_t n)
{
    if (memchr(s, '[', n) != NULL || memchr(s, ']', n) != NULL)
        return false;
    const char *q = memchr(s, '?', n);
    if (q == NULL) {
        r->path = (http_string){s, n};
        r->query = (http_string){NULL, 0};
    } else {
        r->path = (http_string){s, (size_t)(q - s)};
        r->query = (http_string){q + 1, n - (size_t)(q - s) - 1};
    }
    return true;
}

/* The target's form decides what path and host mean (RFC 9112 §3.2).
 * Returns NULL, or the reason the target is refused. */
static const char *analyse_target(http_request *r)
{
    const char *t = r->target.data;
    size_t n = r->target.length;
    const unsigned char *u = (const unsigned char *)t;

    if (t[0] == '/') {
        r->form = HTTP_ORIGIN_FORM;
        if (r->method == HTTP_CONNECT)
            return "CONNECT needs a host:port target";
        return split_path(r, t, n) ? NULL : "'[' or ']' in the path";
    }
    if (n == 1 && t[0] == '*') {
        r->form = HTTP_ASTERISK_FORM;
        r->path = r->target;
        return r->method == HTTP_OPTIONS ? NULL : "'*' is only for OPTIONS";
    }
    if (r->method == HTTP_CONNECT) {
        r->form = HTTP_AUTHORITY_FORM;
        r->path = r->target;
        r->host = r->target;
        return host_is_valid(u, n, true) ? NULL : "invalid CONNECT target";
    }
    /* absolute-form: scheme "://" authority path-abempty ["?" query] */
    size_t i = 0;
    while (i < n && ((lower(u[i]) >= 'a' && lower(u[i]) <= 'z') ||
                     (i > 0 && (is_digit(u[i]) || u[i] == '+' || u[i] == '-' ||
                                u[i] == '.'))))
        i++;
    http_string scheme = {t, i};
    if (i + 3 > n || memcmp(t + i, "://", 3) != 0)
        return "invalid target";
    if (!equals_lower(scheme, "http") && !equals_lower(scheme, "https"))
        return "unsupported scheme in the target";
    size_t a = i + 3, e = a;
    while (e < n && t[e] != '/' && t[e] != '?')
        e++;
    if (memchr(t + a, '@', e - a) != NULL)
        return "user information in the target";
    if (e == a || !host_is_valid(u + a, e - a, false))
        return "invalid authority in the target";
    r->form = HTTP_ABSOLUTE_FORM;
    r->host = (http_string){t + a, e - a};
    if (e == n || t[e] == '?') {
        /* "http://host" or "http://host?q": the path is "/" (RFC 9112
         * §3.2.2); the query, if any, is still the request's. */
        r->path = (http_string){"/", 1};
        r->query = e == n ? (http_string){NULL, 0}
                          : (http_string){t + e + 1, n - e - 1};
        return (memchr(t + e, '[', n - e) || memchr(t + e, ']', n - e))
                   ? "'[' or ']' in the query"
                   : NULL;
    }
    return split_path(r, t + e, n - e) ? NULL : "'[' or ']' in the path";
}

/* --- the state machine ------------------------------------------------- */

enum state {
    S_START, /* empty lines, then the first byte of the method */
    S_METHOD,
    S_TARGET,
    S_VERSION,     /* "HTTP/1.1\r\n", checked once all 10 bytes are here */
    S_FIELD_START, /* first byte of a field line, or the empty line */
    S_NAME,
    S_VALUE_OWS, /* whitespace after the colon */
    S_VALUE,
    S_DONE,
    S_ERROR
};

enum flags {
    F_HOST = 1u << 0,
    F_LENGTH = 1u << 1,
    F_TE = 1u << 2,
    F_TE_CHUNKED = 1u << 3, /* the last coding so far is chunked */
    F_TE_OTHER = 1u << 4,   /* a coding other than chunked came first */
    F_CLOSE = 1u << 5,
    F_KEEP_ALIVE = 1u << 6,
    F_EXPECT = 1u << 7
};

void http_parser_init(http_parser *parser, const http_limits *limits,
                      http_header *headers, size_t capacity)
{
    memset(parser, 0, sizeof *parser);
    parser->limits = *limits;
    parser->request_fields = headers;
    parser->request_capacity = capacity;
    if (parser->limits.max_headers < capacity)
        parser->request_capacity = parser->limits.max_headers;
    http_parser_reset(parser);
}

void http_parser_reset(http_parser *parser)
{
    parser->status = 0;
    parser->reason = NULL;
    parser->state = S_START;
    parser->offset = 0;
    parser->mark = 0;
    parser->header_count = 0;
    parser->flags = 0;
    parser->trailers = false;
    parser->wants_fields = false;
    parser->headers = parser->request_fields;
    parser->header_capacity = parser->request_capacity;
    /* A copy of an empty request, not a memset: compilers turn a memset
     * this size into a string instruction that is slow to start. */
    static const http_request none;
    parser->request = none;
}

void http_parser_begin_trailers(http_parser *parser, http_header *fields,
                                size_t capacity)
{
    http_parser_reset(parser);
    parser->headers = fields;
    parser->header_capacity = capacity < parser->limits.max_headers
                                  ? capacity
                                  : parser->limits.max_headers;
    parser->trailers = true;
    parser->state = S_FIELD_START;
}

bool http_parser_wants_fields(const http_parser *parser)
{
    return parser->wants_fields;
}

void http_parser_set_fields(http_parser *parser, http_header *fields,
                            size_t capacity)
{
    if (capacity > parser->limits.max_headers)
        capacity = parser->limits.max_headers;
    parser->request_fields = fields;
    parser->request_capacity = capacity;
    if (!parser->trailers) {
        parser->headers = fields;
        parser->header_capacity = capacity;
    }
    parser->wants_fields = false;
    parser->fields_grow = true;
}

/* Moves s along with the bytes it points into, if it does. Compared as
 * integers: `from` and s->data may belong to different objects. */
static void rebase_string(http_string *s, uintptr_t from, size_t length,
                          const char *to)
{
    uintptr_t at = (uintptr_t)s->data;
    if (s->data != NULL && at >= from && at < from + length)
        s->data = to + (at - from);
}

static void rebase_fields(http_header *fields, size_t count, uintptr_t from,
                          size_t length, const char *to)
{
    for (size_t i = 0; i < count; i++) {
        rebase_string(&fields[i].name, from, length, to);
        rebase_string(&fields[i].value, from, length, to);
    }
}

void http_request_rebase(http_request *r, const char *from, size_t length,
                         const char *to)
{
    uintptr_t f = (uintptr_t)from;
    rebase_string(&r->method_name, f, length, to);
    rebase_string(&r->target, f, length, to);
    rebase_string(&r->path, f, length, to);
    rebase_string(&r->query, f, length, to);
    rebase_string(&r->host, f, length, to);
    rebase_string(&r->body, f, length, to);
    if (r->headers != NULL)
        rebase_fields(r->headers, r->header_count, f, length, to);
    if (r->trailers != NULL)
        rebase_fields(r->trailers, r->trailer_count, f, length, to);
}

void http_parser_rebase(http_parser *parser, const char *from, size_t length,
                        const char *to)
{
    http_request_rebase(&parser->request, from, length, to);
    rebase_fields(parser->headers, parser->header_count, (uintptr_t)from,
                  length, to);
}

static http_parse_status fail(http_parser *p, int status, const char *reason)
{
    p->status = status;
    p->reason = reason;
    p->state = S_ERROR;
    return HTTP_PARSE_ERROR;
}

/* lab:begin field_lists "Why strict parsing" */
/* A comma-separated list (RFC 9110 §5.6.1): calls `each` on every element
 * with the whitespace around it removed; empty elements are skipped. */
static const char *each_element(http_parser *p, http_string v,
                                const char *(*each)(http_parser *, http_string))
{
    size_t i = 0;
    while (i <= v.length) {
        size_t start = i;
        while (i < v.length && v.data[i] != ',')
            i++;
        size_t end = i;
        while (start < end && is_ows((unsigned char)v.data[start]))
            start++;
        while (end > start && is_ows((unsigned char)v.data[end - 1]))
            end--;
        if (end > start) {
            const char *why =
                each(p, (http_string){v.data + start, end - start});
            if (why != NULL)
                return why;
        }
        i++;
    }
    return NULL;
}

static const char *transfer_coding(http_parser *p, http_string coding)
{
    if (p->flags & F_TE_CHUNKED)
        return "chunked is not the final transfer coding";
    size_t n = 0;
    while (n < coding.length &&
           is_class((unsigned char)coding.data[n], C_TCHAR))
        n++;
    if (n == 0)
        return "invalid Transfer-Encoding";
    if (n == coding.length && equals_lower(coding, "chunked"))
        p->flags |= F_TE_CHUNKED;
    else
        p->flags |= F_TE_OTHER;
    return NULL;
}

static const char *connection_option(http_parser *p, http_string option)
{
    if (equals_lower(option, "close"))
        p->flags |= F_CLOSE;
    else if (equals_lower(option, "keep-alive"))
        p->flags |= F_KEEP_ALIVE;
    return NULL;
}
/* lab:end field_lists */

/* excerpt:begin content-length */
/* lab:begin content_length "Why strict parsing" */
/* Content-Length = 1*DIGIT (RFC 9110 §8.6): no sign, no spaces, no "0x",
 * no list; each digit is checked against overflow before it is added. */
static bool parse_content_length(http_string v, uint64_t *out)
{
    uint64_t n = 0;
    if (v.length == 0)
        return false;
    for (size_t i = 0; i < v.length; i++) {
        unsigned char c = (unsigned char)v.data[i];
        if (!is_digit(c) || n > (UINT64_MAX - (c - '0')) / 10)
            return false;
        n = n * 10 + (c - '0');
    }
    *out = n;
    return true;
}
/* lab:end content_length */
/* excerpt:end content-length */

/* One complete field line: store it, and act on the fields that frame the
 * message. Returns HTTP_PARSE_MORE to go on. */
static http_parse_status field_done(http_parser *p, const char *data,
                                    size_t value_end)
{
    if (p->header_count == p->header_capacity)
        return fail(p, 431, "too many header fields");
    http_string name = {data + p->name_start, p->name_end - p->name_start};
    http_string value = {data + p->value_start, value_end - p->value_start};
    p->headers[p->header_count++] = (http_header){name, value};
    if (p->trailers)
        return HTTP_PARSE_MORE; /* a trailer frames nothing */

    /* lab:begin framing "Why strict parsing" */
    http_request *r = &p->request;
    switch (name.length) {
    case 4:
        if (!equals_lower(name, "host"))
            break;
        if (p->flags & F_HOST)
            return fail(p, 400, "more than one Host");
        if (!host_is_valid((const unsigned char *)value.data, value.length,
                           false))
            return fail(p, 400, "invalid Host");
        p->flags |= F_HOST;
        if (r->form != HTTP_ABSOLUTE_FORM && r->form != HTTP_AUTHORITY_FORM)
            r->host = value;
        break;
    case 14:
        if (!equals_lower(name, "content-length"))
            break;
        if (p->flags & F_LENGTH)
            return fail(p, 400, "more than one Content-Length");
        if (p->flags & F_TE)
            return fail(p, 400, "both Content-Length and Transfer-Encoding");
        if (!parse_content_length(value, &r->content_length))
            return fail(p, 400, "invalid Content-Length");
        p->flags |= F_LENGTH;
        break;
    case 17: {
        if (!equals_lower(name, "transfer-encoding"))
            break;
        if (r->minor_version == 0)
            return fail(p, 400, "Transfer-Encoding in HTTP/1.0");
        if (p->flags & F_LENGTH)
            return fail(p, 400, "both Content-Length and Transfer-Encoding");
        p->flags |= F_TE;
        const char *why = each_element(p, value, transfer_coding);
        if (why != NULL)
            return fail(p, 400, why);
        break;
    }
    case 10:
        if (equals_lower(name, "connection"))
            each_element(p, value, connection_option);
        break;
    case 6:
        if (!equals_lower(name, "expect") || r->minor_version == 0)
            break; /* HTTP/1.0 expectations are ignored (RFC 9110 §10.1.1) */
        if (!equals_lower(value, "100-continue"))
            return fail(p, 417, "unsupported expectation");
        p->flags |= F_EXPECT;
        break;
    default: break;
    }
    /* lab:end framing */
    return HTTP_PARSE_MORE;
}

/* The empty line has arrived: what the head as a whole must satisfy. */
static http_parse_status head_done(http_parser *p)
{
    /* lab:begin head_done "Why strict parsing" return HTTP_PARSE_DONE; */
    http_request *r = &p->request;
    if (r->minor_version == 1 && !(p->flags & F_HOST))
        return fail(p, 400, "HTTP/1.1 request without Host");
    if (p->flags & F_TE) {
        if (!(p->flags & F_TE_CHUNKED))
            return fail(p, 400, "chunked is not the final transfer coding");
        if (p->flags & F_TE_OTHER)
            return fail(p, 501, "transfer coding not implemented");
        r->body_kind = HTTP_BODY_CHUNKED;
    } else if ((p->flags & F_LENGTH) && r->content_length > 0) {
        if (r->content_length > p->limits.max_body)
            return fail(p, 413, "body larger than the limit");
        r->body_kind = HTTP_BODY_LENGTH;
    }
    r->keep_alive = r->minor_version == 1
                        ? !(p->flags & F_CLOSE)
                        : (p->flags & F_KEEP_ALIVE) && !(p->flags & F_CLOSE);
    r->expect_continue =
        (p->flags & F_EXPECT) && r->body_kind != HTTP_BODY_NONE;
    return HTTP_PARSE_DONE;
    /* lab:end head_done */
}

/* The engine behind both entry points. `length` may only grow between
 * calls; the bytes below it must not change. */
static http_parse_status run(http_parser *p, const char *data, size_t length)
{
    const unsigned char *b = (const unsigned char *)data;
    http_request *r = &p->request;
    size_t i = p->offset;
    size_t first = i;
    /* Bytes past the limit are never looked at: the request line may not
     * reach max_request_line, the head may not reach max_header_bytes. */
    size_t line_limit = p->limits.max_request_line;
    size_t head_limit = p->limits.max_header_bytes;
    if (line_limit > head_limit)
        line_limit = head_limit;
    size_t limit = head_limit, end = 0;
    http_parse_status status;

    if (p->state == S_ERROR)
        return HTTP_PARSE_ERROR;
    if (p->state == S_DONE)
        return HTTP_PARSE_DONE;
    if (length < i)
        return fail(p, 500, "parser called with fewer bytes than before");

/* Ensures byte b[j] may be read; otherwise stops, to resume at `at`. */
#define NEED(j, at)                                                            \
    do {                                                                       \
        if ((j) >= end) {                                                      \
            i = (at);                                                          \
            goto out_of_bytes;                                                 \
        }                                                                      \
    } while (0)

    for (;;) {
        limit = p->state <= S_VERSION ? line_limit : head_limit;
        end = length < limit ? length : limit;
        switch (p->state) {
        case S_START:
            /* lab:begin method "The parser" return fail(p, 501, "TODO"); */
            NEED(i, i);
            if (b[i] == '\r') {
                NEED(i + 1, i);
                if (b[i + 1] != '\n')
                    return fail(p, 400, "bare CR before the request line");
                i += 2;
                break;
            }
            if (b[i] == '\n')
                return fail(p, 400, "bare LF before the request line");
            p->mark = i;
            p->state = S_METHOD;
            /* fall through */
        case S_METHOD:
            i = skip_class(b, i, end, C_TCHAR);
            NEED(i, i);
            if (b[i] != ' ' || i == p->mark)
                return fail(p, 400, "invalid method");
            r->method_name = (http_string){data + p->mark, i - p->mark};
            r->method = method_from(r->method_name);
            p->mark = ++i;
            p->state = S_TARGET;
            /* fall through */
            /* lab:end method */
        case S_TARGET:
            for (;;) {
                i = skip_class(b, i, end, C_TARGET);
                NEED(i, i);
                if (b[i] != '%')
                    break;
                NEED(i + 2, i);
                if (!is_class(b[i + 1], C_HEX) || !is_class(b[i + 2], C_HEX))
                    return fail(p, 400, "'%' without two hex digits");
                i += 3;
            }
            if (b[i] != ' ')
                return fail(p, 400,
                            b[i] == '\r' || b[i] == '\n'
                                ? "request line without a version"
                                : "invalid character in the target");
            if (i == p->mark)
                return fail(p, 400, "empty target");
            r->target = (http_string){data + p->mark, i - p->mark};
            {
                const char *why = analyse_target(r);
                if (why != NULL)
                    return fail(p, 400, why);
            }
            p->mark = ++i;
            p->state = S_VERSION;
            /* fall through */
        case S_VERSION: {
            /* HTTP-version = "HTTP/" DIGIT "." DIGIT, then CRLF: every byte
             * is checked as soon as it is here, the whole once all are.
             * The two versions served, all ten bytes here, are the usual
             * case and need only two comparisons. */
            /* lab:begin version "The parser" return fail(p, 501, "TODO"); */
            static const char shape[] = "HTTP/#.#\r\n";
            if (end - i < 10 || (memcmp(b + i, "HTTP/1.1\r\n", 10) != 0 &&
                                 memcmp(b + i, "HTTP/1.0\r\n", 10) != 0)) {
                for (size_t k = 0; k < 10; k++) {
                    NEED(i + k, i);
                    unsigned char c = b[i + k];
                    if (shape[k] == '#' ? !is_digit(c)
                                        : c != (unsigned char)shape[k])
                        return fail(p, 400,
                                    k >= 8 ? "request line not ended by CRLF"
                                           : "malformed HTTP version");
                }
                /* RFC 9110 §2.5: a higher minor version of a major one we
                 * speak SHOULD be handled as the highest we know, 1.1. */
                if (b[i + 5] != '1')
                    return fail(p, 505, "HTTP version not supported");
                r->minor_version = 1;
            } else {
                r->minor_version = b[i + 7] - '0';
            }
            i += 10;
            p->state = S_FIELD_START;
            break;
            /* lab:end version */
        }
        case S_FIELD_START:
            NEED(i, i);
            if (!is_class(b[i], C_TCHAR)) {
                /* Not a field name: the empty line, or an error. */
                if (b[i] == '\r') {
                    NEED(i + 1, i);
                    if (b[i + 1] != '\n')
                        return fail(p, 400, "bare CR after the header fields");
                    i += 2;
                    p->scanned += i - first;
                    p->offset = i;
                    p->state = S_DONE;
                    if (p->trailers)
                        return HTTP_PARSE_DONE;
                    r->head_length = i;
                    r->headers = p->headers;
                    r->header_count = p->header_count;
                    return head_done(p);
                }
                if (is_ows(b[i]))
                    return fail(p, 400,
                                p->header_count == 0 && !p->trailers
                                    ? "whitespace before the first field"
                                    : "obsolete line folding");
                return fail(p, 400,
                            b[i] == ':'    ? "empty field name"
                            : b[i] == '\n' ? "bare LF in the header section"
                                           : "invalid field name");
            }
            /* lab:begin fields "The parser" return fail(p, 501, "TODO"); */
            p->name_start = i++;
            p->state = S_NAME;
            /* fall through */
        case S_NAME:
            i = skip_class(b, i, end, C_TCHAR);
            NEED(i, i);
            if (b[i] != ':')
                return fail(p, 400,
                            is_ows(b[i]) ? "whitespace before the colon"
                            : b[i] == '\r' || b[i] == '\n'
                                ? "field line without a colon"
                                : "invalid field name");
            p->name_end = i++;
            p->state = S_VALUE_OWS;
            /* fall through */
        case S_VALUE_OWS:
            while (i < end && is_ows(b[i]))
                i++;
            NEED(i, i);
            p->value_start = i;
            p->state = S_VALUE;
            /* fall through */
            /* lab:end fields */
        case S_VALUE: {
            /* excerpt:begin field-value */
            i = skip_value_bytes(b, i, end);
            NEED(i, i);
            if (b[i] != '\r')
                return fail(p, 400,
                            b[i] == '\n' ? "bare LF in a field"
                                         : "invalid character in a field");
            NEED(i + 1, i);
            if (b[i + 1] != '\n')
                return fail(p, 400, "bare CR in a field");
            size_t value_end = i;
            while (value_end > p->value_start && is_ows(b[value_end - 1]))
                value_end--;
            /* excerpt:end field-value */
            if (p->header_count == p->header_capacity && p->fields_grow &&
                !p->trailers && p->header_capacity < p->limits.max_headers) {
                /* The array is full, the limit is not reached: stop before
                 * this line until the caller gives a bigger array. */
                p->scanned += i - first;
                p->offset = p->name_start;
                p->state = S_FIELD_START;
                p->wants_fields = true;
                return HTTP_PARSE_MORE;
            }
            status = field_done(p, data, value_end);
            if (status != HTTP_PARSE_MORE)
                return status;
            i += 2;
            p->state = S_FIELD_START;
            break;
        }
        default: return fail(p, 500, "parser in an impossible state");
        }
    }

out_of_bytes:
    p->scanned += end - first;
    p->offset = i;
    if (end < length || end == limit) {
        if (p->state <= S_VERSION && !p->trailers)
            return fail(p, 414, "request line too long");
        return fail(p, 431,
                    p->trailers ? "trailer section too large"
                                : "header section too large");
    }
    return HTTP_PARSE_MORE;
#undef NEED
}

http_parse_status http_parser_parse_request(http_parser *parser,
                                            const char *data, size_t length,
                                            http_request *request)
{
    if (parser->trailers)
        return fail(parser, 500, "parser is reading trailers");
    http_parse_status status = run(parser, data, length);
    if (status != HTTP_PARSE_MORE)
        *request = parser->request;
    return status;
}

http_parse_status http_parser_parse_trailers(http_parser *parser,
                                             const char *data, size_t length,
                                             size_t *count, size_t *consumed)
{
    if (!parser->trailers)
        return fail(parser, 500, "parser is not reading trailers");
    http_parse_status status = run(parser, data, length);
    if (status == HTTP_PARSE_DONE) {
        *count = parser->header_count;
        *consumed = parser->offset;
    }
    return status;
}

/* --- the chunked decoder ----------------------------------------------- */

enum chunked_state {
    K_SIZE_START, /* the first hex digit of a size */
    K_SIZE,
    K_BWS, /* whitespace after the size: a ';' must follow */
    /* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ), RFC 9112
     * §7.1.1: a name is a token, a value a token or a quoted-string. */
    K_EXT_NAME_START, /* after ';': whitespace, then a name */
    K_EXT_NAME,
    K_EXT_AFTER_NAME,  /* whitespace, then '=', ';' or the CR */
    K_EXT_VALUE_START, /* after '=': whitespace, then a value */
    K_EXT_TOKEN,
    K_EXT_QUOTED,
    K_EXT_QUOTED_PAIR, /* the byte after a backslash */
    K_EXT_AFTER_VALUE, /* whitespace, then ';' or the CR */
    K_SIZE_LF,
    K_DATA,
    K_DATA_CR,
    K_DATA_LF,
    K_DONE,
    K_ERROR
};

void http_chunked_init(http_chunked_decoder *decoder, uint64_t max_body,
                       size_t max_line)
{
    memset(decoder, 0, sizeof *decoder);
    decoder->max_body = max_body;
    decoder->max_line = max_line;
    decoder->state = K_SIZE_START;
}

static http_chunked_status chunked_fail(http_chunked_decoder *d, int status,
                                        const char *reason)
{
    d->status = status;
    d->reason = reason;
    d->state = K_ERROR;
    return HTTP_CHUNKED_ERROR;
}

http_chunked_status http_chunked_decode(http_chunked_decoder *d,
                                        const uint8_t *in, size_t length,
                                        uint8_t *out, size_t out_capacity,
                                        size_t *consumed, size_t *produced)
{
    /* lab:begin chunked "The chunked" return chunked_fail(d, 501, "TODO"); */
    size_t i = 0, o = 0;
    http_chunked_status result = HTTP_CHUNKED_MORE;
    *consumed = 0;
    *produced = 0;
    if (d->state == K_ERROR)
        return HTTP_CHUNKED_ERROR;

/* Stops with an error; what was consumed and produced is still reported. */
#define FAIL(status, reason)                                                   \
    do {                                                                       \
        result = chunked_fail(d, (status), (reason));                          \
        goto stop;                                                             \
    } while (0)

    while (i < length && d->state != K_DONE) {
        uint8_t c = in[i];
        if (d->state <= K_SIZE_LF && ++d->line > d->max_line)
            FAIL(400, "chunk size line too long");
        switch (d->state) {
        /* excerpt:begin chunk-size */
        case K_SIZE_START:
            if (!is_class(c, C_HEX))
                FAIL(400, "chunk size is not hex");
            d->size = 0;
            d->state = K_SIZE;
            /* fall through */
        case K_SIZE:
            if (is_class(c, C_HEX)) {
                if (d->size > (UINT64_MAX >> 4))
                    FAIL(400, "chunk size overflows");
                d->size = (d->size << 4) | (uint64_t)hex_value(c);
            } else if (c == ';') {
                d->state = K_EXT_NAME_START;
            } else if (is_ows(c)) {
                d->state = K_BWS;
            } else if (c == '\r') {
                d->state = K_SIZE_LF;
            } else {
                FAIL(400, "invalid byte after chunk size");
            }
            i++;
            break;
        /* excerpt:end chunk-size */
        case K_BWS:
            if (c == ';')
                d->state = K_EXT_NAME_START;
            else if (!is_ows(c))
                FAIL(400, "whitespace after chunk size");
            i++;
            break;
        /* Extensions are ignored, but they must follow the grammar: a
         * byte the RFC does not allow is an error, as in the head. */
        case K_EXT_NAME_START:
            if (is_class(c, C_TCHAR))
                d->state = K_EXT_NAME;
            else if (!is_ows(c))
                FAIL(400, "chunk extension without a name");
            i++;
            break;
        case K_EXT_NAME:
        case K_EXT_AFTER_NAME:
            if (d->state == K_EXT_NAME && is_class(c, C_TCHAR))
                ; /* more of the name */
            else if (is_ows(c))
                d->state = K_EXT_AFTER_NAME;
            else if (c == '=')
                d->state = K_EXT_VALUE_START;
            else if (c == ';')
                d->state = K_EXT_NAME_START;
            else if (c == '\r')
                d->state = K_SIZE_LF;
            else
                FAIL(400, "invalid chunk extension");
            i++;
            break;
        case K_EXT_VALUE_START:
            if (c == '"')
                d->state = K_EXT_QUOTED;
            else if (is_class(c, C_TCHAR))
                d->state = K_EXT_TOKEN;
            else if (!is_ows(c))
                FAIL(400, "chunk extension without a value");
            i++;
            break;
        case K_EXT_TOKEN:
        case K_EXT_AFTER_VALUE:
            if (d->state == K_EXT_TOKEN && is_class(c, C_TCHAR))
                ; /* more of the value */
            else if (is_ows(c))
                d->state = K_EXT_AFTER_VALUE;
            else if (c == ';')
                d->state = K_EXT_NAME_START;
            else if (c == '\r')
                d->state = K_SIZE_LF;
            else
                FAIL(400, "invalid chunk extension");
            i++;
            break;
        case K_EXT_QUOTED:
            /* qdtext: HTAB, SP, VCHAR but '"' and '\\', obs-text */
            if (c == '"')
                d->state = K_EXT_AFTER_VALUE;
            else if (c == '\\')
                d->state = K_EXT_QUOTED_PAIR;
            else if (!is_class(c, C_VALUE))
                FAIL(400, "invalid quoted chunk extension");
            i++;
            break;
        case K_EXT_QUOTED_PAIR:
            if (!is_class(c, C_VALUE))
                FAIL(400, "invalid quoted chunk extension");
            d->state = K_EXT_QUOTED;
            i++;
            break;
        case K_SIZE_LF:
            if (c != '\n')
                FAIL(400, "chunk size line not ended by CRLF");
            i++;
            d->line = 0;
            if (d->size == 0) {
                d->state = K_DONE;
                result = HTTP_CHUNKED_DONE;
                break;
            }
            if (d->size > d->max_body - d->total)
                FAIL(413, "body larger than the limit");
            d->remaining = d->size;
            d->state = K_DATA;
            break;
        case K_DATA: {
            size_t n = length - i;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            if (n > out_capacity - o)
                n = out_capacity - o;
            if (n == 0)
                goto stop; /* out is full: the caller makes room */
            memmove(out + o, in + i, n);
            i += n;
            o += n;
            d->remaining -= n;
            d->total += n;
            if (d->remaining == 0)
                d->state = K_DATA_CR;
            break;
        }
        case K_DATA_CR:
            if (c != '\r')
                FAIL(400, "chunk data not followed by CRLF");
            d->state = K_DATA_LF;
            i++;
            break;
        case K_DATA_LF:
            if (c != '\n')
                FAIL(400, "chunk data not followed by CRLF");
            d->state = K_SIZE_START;
            i++;
            break;
        default: FAIL(500, "decoder in an impossible state");
        }
    }
    if (d->state == K_DONE)
        result = HTTP_CHUNKED_DONE;
stop:
    *consumed = i;
    *produced = o;
    return result;
#undef FAIL
    /* lab:end chunked */
}
