/*
 * http_server.c - the connection state machine of http_server.h, on
 * chapter 6's event loops and chapter 5's thread pool.
 *
 * A connection is in one phase at a time:
 *
 *   WAIT ---bytes---> HEAD ---head done---> BODY ---body done--+
 *    ^                 |                     |                 |
 *    |                 +--- no body / answered early ----------+--> handler
 *    |                                                              |
 *    |      DISCARD <--- Content-Length body nobody wanted --+      v
 *    |         |                                             |   HANDLING
 *    +---------+------------- keep-alive <--- WRITING <------+---(pool)
 *                                                |
 *                                  close ---> LINGER ---> closed
 *
 * Everything runs on the connection's worker loop, except a blocking
 * handler, which runs on the pool while the connection waits in HANDLING
 * with no interest in any event; the pool thread posts the finished
 * response back to the loop.
 *
 * Timeouts: each worker keeps one list per kind of timeout (header,
 * keep-alive, body, send, linger). All entries of a list share the same
 * duration, so appending at the tail keeps the list sorted by deadline:
 * re-arming is an unlink and an append, O(1), however many connections
 * there are. One timer of the event loop, set for the earliest head of the
 * lists, sweeps what is due.
 */
#include "07-http-server/http_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "05-thread-pool/thread_pool.h"
#include "06-two-selectors/event_loop.h"
#include "07-http-server/http_response.h"
#include "clock.h"

enum {
    ACCEPT_BATCH = 64,     /* connections taken per wakeup of the boss */
    WORKER_ACCEPTS = 1,    /* per wakeup of a worker, so that they share */
    ALONE_ACCEPTS = 16,    /* per wakeup of the only worker: nobody to share */
    ACCEPT_PAUSE_MS = 100, /* out of descriptors: wait, then try again */
    LINGER_MS = 1000,      /* reading what a closed client still sends */
    FREE_CONTEXTS = 64,    /* working memory kept per worker for reuse */
    RESPONSE_HEAD = 4096,  /* status line and fields */
    RESPONSE_BODY = 4096,  /* the reusable response body */
    RESPONSE_LIMIT = 16 << 20,
    CHUNK_LINE = 4096,     /* longest chunk-size line, extensions included */
    CHUNKED_START = 16384, /* first size of a chunked request body */
    /* A connection's input buffer and field array start small, enough for
     * the usual head, and double only when a request needs it: up to
     * max_header_bytes and max_headers for a head, and past the head by
     * CHUNKED_ROOM for chunk framing or max_header_bytes for trailers. */
    IN_FIRST = 512,
    FIELDS_FIRST = 8,
    CHUNKED_ROOM = 16384,
    READ_ROOM = 1024 /* below this, a body read grows the buffer first */
};

typedef enum phase {
    P_WAIT,     /* between requests; no byte of the next one yet */
    P_HEAD,     /* reading a request's head */
    P_BODY,     /* reading its body (for the handler, or to check it) */
    P_HANDLING, /* a blocking handler runs on the pool */
    P_WRITING,  /* sending a response (or 100 Continue) */
    P_DISCARD,  /* skipping a Content-Length body nobody wanted */
    P_LINGER    /* answered and shut down: reading until the client closes */
} phase;

typedef enum timeout_kind {
    T_HEADER,
    T_KEEPALIVE,
    T_BODY,
    T_SEND,
    T_LINGER,
    T_KINDS,
    T_NONE = T_KINDS
} timeout_kind;

typedef struct connection connection;
typedef struct worker worker;

/* A connection's working memory while it has a request: taken from the
 * worker's free list when bytes arrive, given back when it is idle. */
typedef struct context {
    struct context *next_free;
    buffer *in; /* bytes received: the head, then body bytes */
    http_parser parser;
    http_header *fields; /* headers, then trailers; grows to max_headers */
    size_t field_capacity;
    http_request request;
    http_response *response; /* from the worker, only while answering */
    buffer *interim;         /* "HTTP/1.1 100 Continue", when asked for */
    buffer *body;            /* the request body, for routes that read it */
    http_chunked_decoder chunked;
    const http_route *route;
    int framework_status; /* 404, 405, 501, 204 when route is NULL */
    unsigned allow;
    size_t cursor;    /* bytes of `in` this request has used */
    uint64_t discard; /* body bytes to skip once answered */
    bool head_done;
    bool reading_trailers;
    bool reads_body; /* the body goes to the handler */
    bool keep_alive;
    bool sending_interim;
    bool refused; /* answered by respond_error: the rest was not read */
} context;

struct connection {
    worker *w;
    channel *ch;
    selection_key *key;
    connection *prev, *next;     /* the worker's connections */
    connection *t_prev, *t_next; /* the timeout list it is on */
    timeout_kind t_kind;
    int64_t deadline; /* CLOCK_MONOTONIC ns */
    context *ctx;
    phase phase;
    bool peer_closed; /* end of stream seen */
    bool no_delay;    /* TCP_NODELAY set */
    uint64_t requests;
    char remote[SOCKET_ADDRESS_TEXT]; /* for the access log */
};

typedef struct timeout_list {
    connection *head, *tail;
    int64_t duration; /* ns */
} timeout_list;

struct worker {
    http_server *server;
    event_loop *loop;
    size_t index;
    connection *connections;
    context *free_list;
    size_t free_count;
    http_response *responses[FREE_CONTEXTS]; /* spares for reuse */
    size_t response_count;
    timeout_list timeouts[T_KINDS];
    event_loop_timer sweep_timer;
    int64_t sweep_at;
    http_date_cache date;
    time_t log_second;
    char log_time[40];
    bool draining;
    _Atomic uint64_t open;
    _Atomic uint64_t adopted;
    _Atomic uint64_t requests;
};

/* Whoever accepts: the boss loop, or each worker loop. */
typedef struct acceptor {
    http_server *server;
    event_loop *loop;
    selection_key *key; /* its loop's registration of the listener */
    bool paused;        /* out of descriptors: said once, until it passes */
} acceptor;

struct bind_call;

struct http_server {
    http_server_config config;
    const http_router *router;
    event_loop_group *boss; /* NULL when the workers accept */
    event_loop_group *group;
    worker *workers;
    thread_pool *pool;
    channel *listener;
    acceptor *acceptors;
    size_t acceptor_count;
    atomic_size_t listening;   /* acceptors still holding the listener */
    struct bind_call *binding; /* while http_server_listen waits */
    uint16_t port;
    char address[80];
    int64_t started;
    pthread_mutex_t lock; /* with drained_cond: stop waits for open == 0 */
    pthread_cond_t drained_cond;
    _Atomic uint64_t open;
    atomic_bool draining;
    bool stopped;
};

http_server_config http_server_default_config(void)
{
    http_server_config c = {
        .program = "httpd",
        .log = LOG_WARN,
        .limits = HTTP_LIMITS_DEFAULT,
        .max_requests = 1000,
        .header_timeout_ms = 10000,
        .body_timeout_ms = 10000,
        .send_timeout_ms = 10000,
        .keepalive_timeout_ms = 5000,
        .shutdown_timeout_ms = 10000,
        .workers = event_loop_default_count(),
        .accept = HTTP_ACCEPT_WORKERS,
        .pool_threads = 4,
        .pool_queue = 64,
        .backend = selector_default_backend(),
        .access_log_fd = -1,
    };
    return c;
}

/* --- working memory ---------------------------------------------------- */

static void context_free(context *ctx)
{
    if (ctx == NULL)
        return;
    buffer_free(ctx->in);
    buffer_free(ctx->interim);
    buffer_free(ctx->body);
    http_response_free(ctx->response);
    free(ctx->fields);
    free(ctx);
}

static size_t first_in(const http_limits *limits)
{
    return limits->max_header_bytes < IN_FIRST ? limits->max_header_bytes
                                               : IN_FIRST;
}

static size_t first_fields(const http_limits *limits)
{
    return limits->max_headers < FIELDS_FIRST ? limits->max_headers
                                              : FIELDS_FIRST;
}

static context *context_new(const http_server *s)
{
    const http_limits *limits = &s->config.limits;
    context *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return NULL;
    ctx->in = buffer_allocate(first_in(limits));
    ctx->field_capacity = first_fields(limits);
    ctx->fields = calloc(ctx->field_capacity, sizeof *ctx->fields);
    if (ctx->in == NULL || ctx->fields == NULL) {
        context_free(ctx);
        return NULL;
    }
    http_parser_init(&ctx->parser, limits, ctx->fields, ctx->field_capacity);
    http_parser_set_fields(&ctx->parser, ctx->fields, ctx->field_capacity);
    return ctx;
}

static context *context_acquire(worker *w)
{
    context *ctx = w->free_list;
    if (ctx == NULL)
        return context_new(w->server);
    w->free_list = ctx->next_free;
    w->free_count--;
    return ctx;
}

/* A request is over: forget it, keep the bytes that follow it. */
static void context_next_request(context *ctx)
{
    buffer_free(ctx->body);
    ctx->body = NULL;
    http_parser_reset(&ctx->parser);
    if (ctx->response != NULL)
        http_response_reset(ctx->response);
    memset(&ctx->request, 0, sizeof ctx->request);
    ctx->route = NULL;
    ctx->framework_status = 0;
    ctx->allow = 0;
    ctx->cursor = 0;
    ctx->discard = 0;
    ctx->head_done = false;
    ctx->reading_trailers = false;
    ctx->reads_body = false;
    ctx->keep_alive = false;
    ctx->sending_interim = false;
    ctx->refused = false;
}

/* excerpt:begin response-spares */
/* A connection gets a response only once it has something to answer,
 * from the worker's spares, and gives it back as soon as it is sent: a
 * connection in the middle of a head holds none of its ~10 KiB. */
static http_response *response_acquire(worker *w, context *ctx)
{
    if (ctx->response == NULL)
        ctx->response = w->response_count > 0
                            ? w->responses[--w->response_count]
                            : http_response_create(RESPONSE_HEAD, RESPONSE_BODY,
                                                   RESPONSE_LIMIT);
    return ctx->response;
}

static void response_release(worker *w, context *ctx)
{
    http_response *r = ctx->response;
    ctx->response = NULL;
    if (r == NULL)
        return;
    http_response_reset(r);
    if (w->response_count < FREE_CONTEXTS)
        w->responses[w->response_count++] = r;
    else
        http_response_free(r);
}
/* excerpt:end response-spares */

/* A buffer or array that grew for one big request goes back to its first
 * size once the connection is idle. */
static void context_shrink(const http_limits *limits, context *ctx)
{
    if (buffer_capacity(ctx->in) > first_in(limits)) {
        buffer *small = buffer_allocate(first_in(limits));
        if (small != NULL) {
            buffer_free(ctx->in);
            ctx->in = small;
        }
    }
    buffer_clear(ctx->in);
    if (ctx->field_capacity > first_fields(limits)) {
        http_header *small =
            realloc(ctx->fields, first_fields(limits) * sizeof *ctx->fields);
        if (small != NULL) {
            ctx->fields = small;
            ctx->field_capacity = first_fields(limits);
            http_parser_set_fields(&ctx->parser, small, ctx->field_capacity);
            http_parser_reset(&ctx->parser);
        }
    }
}

static void context_release(worker *w, context *ctx)
{
    context_next_request(ctx);
    response_release(w, ctx);
    buffer_free(ctx->interim);
    ctx->interim = NULL;
    context_shrink(&w->server->config.limits, ctx);
    if (w->free_count >= FREE_CONTEXTS) {
        context_free(ctx);
        return;
    }
    ctx->next_free = w->free_list;
    w->free_list = ctx;
    w->free_count++;
}

/* Drops the first n bytes of `in`, keeping what follows (Java's
 * flip-position-compact). */
static void in_consume(buffer *in, size_t n)
{
    buffer_set_limit(in, buffer_position(in));
    buffer_set_position(in, n);
    buffer_compact(in);
}

/* Drops `n` bytes at `at`, keeping the bytes before and after. */
static void in_remove(buffer *in, size_t at, size_t n)
{
    uint8_t *b = buffer_array(in);
    size_t held = buffer_position(in);
    memmove(b + at, b + at + n, held - at - n);
    buffer_set_position(in, held - n);
}

/* excerpt:begin in-grow */
/* Doubles `in` (up to `limit` bytes) and keeps its bytes; every string
 * the parser found in them - method, target, fields - moves with them.
 * False at the limit or out of memory. */
static bool in_grow(context *ctx, size_t limit)
{
    buffer *old = ctx->in;
    size_t capacity = buffer_capacity(old);
    if (capacity >= limit)
        return false;
    buffer *b = buffer_allocate(capacity < limit / 2 ? capacity * 2 : limit);
    if (b == NULL)
        return false;
    buffer_put_bytes(b, buffer_const_array(old), buffer_position(old));
    const char *from = (const char *)buffer_const_array(old);
    const char *to = (const char *)buffer_const_array(b);
    http_parser_rebase(&ctx->parser, from, capacity, to);
    http_request_rebase(&ctx->request, from, capacity, to);
    buffer_free(old);
    ctx->in = b;
    return true;
}
/* excerpt:end in-grow */

/* Doubles the field array (up to `limit` entries); the parser and the
 * request follow it. */
static bool fields_grow(context *ctx, size_t limit)
{
    if (ctx->field_capacity >= limit)
        return false;
    size_t bigger =
        ctx->field_capacity * 2 < limit ? ctx->field_capacity * 2 : limit;
    bool request_uses = ctx->request.headers == ctx->fields;
    http_header *f = realloc(ctx->fields, bigger * sizeof *f);
    if (f == NULL)
        return false;
    if (request_uses) /* the old pointer may not even be compared now */
        ctx->request.headers = f;
    ctx->fields = f;
    ctx->field_capacity = bigger;
    http_parser_set_fields(&ctx->parser, f, bigger);
    return true;
}

/* --- timeouts ------------------------------------------------------------ */

static void sweep(event_loop *loop, void *arg);

static void timeout_unlink(connection *c)
{
    if (c->t_kind == T_NONE)
        return;
    timeout_list *l = &c->w->timeouts[c->t_kind];
    if (c->t_prev)
        c->t_prev->t_next = c->t_next;
    else
        l->head = c->t_next;
    if (c->t_next)
        c->t_next->t_prev = c->t_prev;
    else
        l->tail = c->t_prev;
    c->t_prev = c->t_next = NULL;
    c->t_kind = T_NONE;
}

static void schedule_sweep(worker *w, int64_t at, int64_t now)
{
    if (w->sweep_timer != 0 && w->sweep_at <= at)
        return; /* the sweep comes soon enough */
    if (w->sweep_timer != 0)
        event_loop_cancel_timer(w->loop, w->sweep_timer);
    w->sweep_timer = 0;
    long ms = at > now ? (long)((at - now + 999999) / 1000000) : 0;
    if (event_loop_schedule(w->loop, ms, sweep, w, &w->sweep_timer) ==
        EVENT_LOOP_OK)
        w->sweep_at = at;
}

/* excerpt:begin timeouts */
/* Puts the connection on the list of `kind`, with a deadline of now plus
 * that list's duration: at the tail, which keeps the list in order. */
static void set_timeout(connection *c, timeout_kind kind)
{
    timeout_unlink(c);
    timeout_list *l = &c->w->timeouts[kind];
    if (l->duration <= 0)
        return; /* this timeout is off */
    int64_t now = monotonic_ns();
    c->deadline = now + l->duration;
    c->t_kind = kind;
    c->t_prev = l->tail;
    if (l->tail)
        l->tail->t_next = c;
    else
        l->head = c;
    l->tail = c;
    schedule_sweep(c->w, c->deadline, now);
}
/* excerpt:end timeouts */

static void on_timeout(connection *c);

static void sweep(event_loop *loop, void *arg)
{
    (void)loop;
    worker *w = arg;
    w->sweep_timer = 0;
    int64_t now = monotonic_ns();
    for (int k = 0; k < T_KINDS; k++) {
        timeout_list *l = &w->timeouts[k];
        while (l->head != NULL && l->head->deadline <= now) {
            connection *c = l->head;
            timeout_unlink(c);
            on_timeout(c); /* may close c, or put it on another list */
        }
    }
    int64_t next = INT64_MAX;
    for (int k = 0; k < T_KINDS; k++)
        if (w->timeouts[k].head && w->timeouts[k].head->deadline < next)
            next = w->timeouts[k].head->deadline;
    if (next != INT64_MAX)
        schedule_sweep(w, next, now);
}

/* --- closing ---------------------------------------------------------------
 */

static void conn_close(connection *c)
{
    worker *w = c->w;
    http_server *s = w->server;
    timeout_unlink(c);
    if (c->key != NULL)
        event_loop_deregister(w->loop, c->key); /* the key, then the fd */
    channel_close(c->ch);
    if (c->ctx != NULL)
        context_release(w, c->ctx);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->connections = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    atomic_fetch_sub(&w->open, 1);
    if (atomic_fetch_sub(&s->open, 1) == 1 && atomic_load(&s->draining)) {
        pthread_mutex_lock(&s->lock);
        pthread_cond_signal(&s->drained_cond);
        pthread_mutex_unlock(&s->lock);
    }
}

static void interest(connection *c, int ops)
{
    if (key_interest_ops(c->key) != ops)
        key_set_interest_ops(c->key, ops);
}

/* --- the access log ----------------------------------------------------------
 */

/* excerpt:begin access-log */
/* One line in Common Log Format:
 *   127.0.0.1 - - [24/Nov/2026:10:00:00 +0000] "GET /hello HTTP/1.1" 200 13
 * written with one write(2), so lines from several workers never mix. */
static void access_log(connection *c)
{
    worker *w = c->w;
    int fd = w->server->config.access_log_fd;
    if (fd < 0)
        return;
    time_t now = time(NULL);
    if (now != w->log_second) {
        struct tm t;
        localtime_r(&now, &t);
        strftime(w->log_time, sizeof w->log_time, "%d/%b/%Y:%H:%M:%S %z", &t);
        w->log_second = now;
    }
    const http_request *r = &c->ctx->request;
    char line[512];
    int n;
    if (c->ctx->head_done)
        n = snprintf(
            line, sizeof line, "%s - - [%s] \"%.*s %.*s HTTP/1.%d\" %d %llu\n",
            c->remote, w->log_time, (int)r->method_name.length,
            r->method_name.data,
            (int)(r->target.length < 300 ? r->target.length : 300),
            r->target.data, r->minor_version,
            http_response_status(c->ctx->response),
            (unsigned long long)http_response_body_length(c->ctx->response));
    else
        n = snprintf(
            line, sizeof line, "%s - - [%s] \"-\" %d %llu\n", c->remote,
            w->log_time, http_response_status(c->ctx->response),
            (unsigned long long)http_response_body_length(c->ctx->response));
    if (n <= 0)
        return;
    size_t left = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    const char *p = line;
    while (left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* the log is best effort: never a reason to fail */
        p += k;
        left -= (size_t)k;
    }
}
/* excerpt:end access-log */

/* --- answering ---------------------------------------------------------------
 */

static void advance(connection *c);

/* excerpt:begin respond */
/* The handler is done: frame the response and start sending it. */
static void respond(connection *c)
{
    context *ctx = c->ctx;
    worker *w = c->w;
    http_response *res = ctx->response;
    if (res == NULL) { /* out of memory for it: WRITING closes */
        c->phase = P_WRITING;
        return;
    }
    size_t date_length;
    const char *date = http_date_line(&w->date, &date_length);
    http_finish how = {
        .head = ctx->request.method == HTTP_HEAD,
        .minor_version = ctx->head_done ? ctx->request.minor_version : 1,
        .keep_alive = ctx->keep_alive && !w->draining,
        .date = date,
        .date_length = date_length,
    };
    if (!http_response_finish(res, &how)) {
        http_response_reset(res);
        http_response_set_status(res, 500);
        http_response_set_close(res);
        http_response_finish(res, &how);
    }
    ctx->keep_alive = how.keep_alive && !http_response_wants_close(res);
#ifdef TCP_CORK
    if (!ctx->keep_alive) {
        /* The last answer on this connection: hold partial segments until
         * close, which sends them with the FIN, one packet for the client
         * instead of two (Linux's TCP_CORK; nginx's tcp_nopush). */
        int one = 1;
        setsockopt(channel_fd(c->ch), IPPROTO_TCP, TCP_CORK, &one, sizeof one);
    }
#endif
    if (ctx->keep_alive && !c->no_delay) {
        /* The next small answer must leave at once, not wait for the ACK
         * of this one (Nagle). A connection closed after its only answer
         * never needs it: close sends whatever is left. */
        int one = 1;
        setsockopt(channel_fd(c->ch), IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof one);
        c->no_delay = true;
    }
    atomic_fetch_add_explicit(&w->requests, 1, memory_order_relaxed);
    access_log(c);
    c->phase = P_WRITING;
    set_timeout(c, T_SEND);
}
/* excerpt:end respond */

/* An answer the framework gives for a request it will not act on:
 * once, with Connection: close, and the connection is closed after it. */
static void respond_error(connection *c, int status, const char *reason)
{
    context *ctx = c->ctx;
    http_server *s = c->w->server;
    log_at(s->config.log, LOG_INFO, s->config.program, "%s: %d %s", c->remote,
           status, reason);
    ctx->keep_alive = false;
    ctx->refused = true;
    http_response *res = response_acquire(c->w, ctx);
    if (res == NULL) {
        respond(c);
        return;
    }
    http_response_reset(res);
    http_response_set_status(res, status);
    http_response_add_header(res, "Content-Type", "text/plain; charset=utf-8");
    /* CRLF-terminated, as text on the wire traditionally is: a client that
     * looks for the next status line after a CRLF finds it. */
    http_response_printf(res, "%s: %s\r\n", http_status_reason(status), reason);
    respond(c);
}

/* 404, 405 (with Allow), 501, and 204 for OPTIONS. */
static void respond_framework(connection *c)
{
    context *ctx = c->ctx;
    http_response *res = ctx->response;
    int status = ctx->framework_status;
    http_response_set_status(res, status);
    if (status == 405 || status == 204) {
        char allow[128];
        http_response_add_header(
            res, "Allow",
            http_router_allow_text(ctx->allow, allow, sizeof allow));
    }
    if (status != 204) {
        http_response_add_header(res, "Content-Type",
                                 "text/plain; charset=utf-8");
        http_response_printf(res, "%s\r\n", http_status_reason(status));
    }
    respond(c);
}

static void blocking_done(event_loop *loop, void *arg)
{
    (void)loop;
    connection *c = arg;
    respond(c);
    advance(c);
}

/* excerpt:begin blocking */
/* Runs on a pool thread. The loop leaves the connection alone meanwhile
 * (HANDLING, no interest, no timeout), so the handler may use the request
 * and the response freely; posting back hands them to the loop again. */
static void blocking_task(void *arg)
{
    connection *c = arg;
    context *ctx = c->ctx;
    ctx->route->handler(&ctx->request, ctx->response, ctx->route->context);
    if (event_loop_execute(c->w->loop, blocking_done, c) != EVENT_LOOP_OK) {
        /* Cannot happen: stop ends the pool before the loops. */
        log_at(c->w->server->config.log, LOG_ERROR,
               c->w->server->config.program,
               "a blocking response could not be handed back");
    }
}
/* excerpt:end blocking */

/* The request is complete (its body read, or not needed): run its
 * handler, here or on the pool. */
static void run_handler(connection *c)
{
    context *ctx = c->ctx;
    http_server *s = c->w->server;
    if (response_acquire(c->w, ctx) == NULL) {
        respond(c);
        return;
    }
    http_response_reset(ctx->response);
    if (ctx->route == NULL) {
        respond_framework(c);
        return;
    }
    if (ctx->route->flags & HTTP_ROUTE_BLOCKING) {
        c->phase = P_HANDLING;
        timeout_unlink(c);
        interest(c, 0);
        if (thread_pool_submit(s->pool, blocking_task, c) == THREAD_POOL_OK)
            return;
        /* Every pool thread is busy and the queue is full. */
        http_response_set_status(ctx->response, 503);
        http_response_add_header(ctx->response, "Retry-After", "1");
        http_response_printf(ctx->response, "Service Unavailable\r\n");
        respond(c);
        return;
    }
    ctx->route->handler(&ctx->request, ctx->response, ctx->route->context);
    respond(c);
}

/* --- a request's head and body
 * ------------------------------------------------ */

static void send_interim(connection *c)
{
    context *ctx = c->ctx;
    static const char text[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (ctx->interim == NULL &&
        (ctx->interim = buffer_allocate(sizeof text)) == NULL) {
        c->phase = P_BODY; /* no 100: the client sends after a pause */
        set_timeout(c, T_BODY);
        return;
    }
    buffer_clear(ctx->interim);
    buffer_put_bytes(ctx->interim, text, sizeof text - 1);
    buffer_flip(ctx->interim);
    ctx->sending_interim = true;
    c->phase = P_WRITING;
    set_timeout(c, T_SEND);
}

/* excerpt:begin start-request */
/* The head is complete: find the handler and decide what the body is
 * for. A Content-Length body nobody needs is skipped after the answer; a
 * chunked one is decoded first, since only its last chunk shows whether
 * it was well framed; with Expect: 100-continue and no use for the body,
 * the answer goes at once and the connection closes. */
static void start_request(connection *c)
{
    context *ctx = c->ctx;
    http_server *s = c->w->server;
    const http_request *r = &ctx->request;
    ctx->head_done = true;
    c->requests++;
    ctx->cursor = r->head_length;
    ctx->keep_alive = r->keep_alive && c->requests < s->config.max_requests;
    if (r->form == HTTP_ASTERISK_FORM) { /* OPTIONS * */
        ctx->framework_status = 204;
        ctx->allow = s->router->methods;
    } else {
        ctx->route = http_router_find(s->router, r->method, r->path,
                                      &ctx->framework_status, &ctx->allow);
    }
    ctx->reads_body =
        ctx->route != NULL && (ctx->route->flags & HTTP_ROUTE_READS_BODY);
    size_t held = buffer_position(ctx->in) - ctx->cursor;

    if (r->body_kind == HTTP_BODY_NONE) {
        run_handler(c);
        return;
    }
    if (!ctx->reads_body && r->expect_continue) {
        ctx->keep_alive = false; /* the body may or may not come */
        run_handler(c);
        return;
    }
    if (r->body_kind == HTTP_BODY_LENGTH) {
        size_t take = held < r->content_length ? held : r->content_length;
        if (!ctx->reads_body) {
            ctx->cursor += take;
            ctx->discard = r->content_length - take;
            run_handler(c);
            return;
        }
        ctx->body = buffer_allocate(r->content_length);
        if (ctx->body == NULL) {
            respond_error(c, 500, "out of memory for the body");
            return;
        }
        buffer_put_bytes(ctx->body, buffer_array(ctx->in) + ctx->cursor, take);
        ctx->cursor += take;
    } else {
        http_chunked_init(&ctx->chunked, s->config.limits.max_body, CHUNK_LINE);
        if (ctx->reads_body) {
            uint64_t first = s->config.limits.max_body < CHUNKED_START
                                 ? s->config.limits.max_body
                                 : CHUNKED_START;
            ctx->body = buffer_allocate(first > 0 ? first : 1);
            if (ctx->body == NULL) {
                respond_error(c, 500, "out of memory for the body");
                return;
            }
        }
    }
    if (r->expect_continue && held == 0) {
        send_interim(c);
        return;
    }
    c->phase = P_BODY;
    set_timeout(c, T_BODY);
}
/* excerpt:end start-request */

/* Makes the chunked body buffer bigger; the decoder keeps the total under
 * max_body, so that is as big as it needs to get. */
static bool grow_body(context *ctx, uint64_t max_body)
{
    size_t capacity = buffer_capacity(ctx->body);
    if (capacity >= max_body)
        return false;
    size_t bigger = capacity * 2 < max_body ? capacity * 2 : (size_t)max_body;
    buffer *b = buffer_allocate(bigger);
    if (b == NULL)
        return false;
    buffer_put_bytes(b, buffer_const_array(ctx->body),
                     buffer_position(ctx->body));
    buffer_free(ctx->body);
    ctx->body = b;
    return true;
}

/* BODY: true when the phase changed (go on), false when waiting for bytes
 * or closed. */
static bool read_body(connection *c)
{
    context *ctx = c->ctx;
    http_request *r = &ctx->request;
    uint64_t max_body = c->w->server->config.limits.max_body;

    if (r->body_kind == HTTP_BODY_LENGTH) {
        if (!buffer_has_remaining(ctx->body)) {
            r->body = (http_string){(const char *)buffer_array(ctx->body),
                                    buffer_position(ctx->body)};
            run_handler(c);
            return true;
        }
    } else {
        for (;;) {
            uint8_t *b = buffer_array(ctx->in);
            size_t avail = buffer_position(ctx->in) - ctx->cursor;
            if (!ctx->reading_trailers) {
                /* excerpt:begin decode */
                /* Chunk data goes to the body buffer, or is decoded in
                 * place and dropped when nobody wants it; either way the
                 * framing bytes leave the input buffer at once. */
                uint8_t *out = b + ctx->cursor;
                size_t room = avail, used, made;
                if (ctx->reads_body) {
                    out = buffer_array(ctx->body) + buffer_position(ctx->body);
                    room = buffer_remaining(ctx->body);
                }
                http_chunked_status st =
                    http_chunked_decode(&ctx->chunked, b + ctx->cursor, avail,
                                        out, room, &used, &made);
                if (ctx->reads_body)
                    buffer_set_position(ctx->body,
                                        buffer_position(ctx->body) + made);
                in_remove(ctx->in, ctx->cursor, used);
                /* excerpt:end decode */
                if (st == HTTP_CHUNKED_ERROR) {
                    respond_error(c, ctx->chunked.status, ctx->chunked.reason);
                    return true;
                }
                if (st == HTTP_CHUNKED_MORE) {
                    if (used < avail) { /* the body buffer is full */
                        if (!grow_body(ctx, max_body)) {
                            respond_error(c, 500, "out of memory for the body");
                            return true;
                        }
                        continue;
                    }
                    break; /* wait for bytes */
                }
                ctx->reading_trailers = true;
                /* Trailers share the field array, at its full size. */
                size_t max_headers = c->w->server->config.limits.max_headers;
                while (ctx->field_capacity < max_headers)
                    if (!fields_grow(ctx, max_headers)) {
                        respond_error(c, 500, "out of memory for trailers");
                        return true;
                    }
                http_parser_begin_trailers(&ctx->parser,
                                           ctx->fields + r->header_count,
                                           max_headers - r->header_count);
                continue;
            }
            size_t count = 0, consumed = 0;
            http_parse_status ts = http_parser_parse_trailers(
                &ctx->parser, (const char *)b + ctx->cursor, avail, &count,
                &consumed);
            if (ts == HTTP_PARSE_ERROR) {
                respond_error(c, ctx->parser.status, ctx->parser.reason);
                return true;
            }
            if (ts == HTTP_PARSE_MORE)
                break; /* on_readable makes room, up to the limit */
            r->trailers = ctx->fields + r->header_count;
            r->trailer_count = count;
            ctx->cursor += consumed;
            if (ctx->reads_body)
                r->body = (http_string){(const char *)buffer_array(ctx->body),
                                        buffer_position(ctx->body)};
            run_handler(c);
            return true;
        }
    }
    if (c->peer_closed) {
        conn_close(c); /* the body will never be complete */
        return false;
    }
    interest(c, OP_READ);
    return false;
}

/* lab:begin client_done "Connections" */
/* The client said this request was its last ("Connection: close", or
 * HTTP/1.0 without keep-alive), all of it was read, and nothing after it
 * has come: no byte of its can arrive unread to make our close a reset
 * (RFC 9112 §9.6), so there is nothing to linger for. */
static bool client_done(const connection *c)
{
    const context *ctx = c->ctx;
    const http_request *r = &ctx->request;
    bool body_skipped = r->body_kind != HTTP_BODY_NONE && r->expect_continue &&
                        !ctx->reads_body; /* answered before it was sent */
    return ctx->head_done && !r->keep_alive && !ctx->refused && !body_skipped &&
           ctx->discard == 0 && buffer_position(ctx->in) == ctx->cursor;
}
/* lab:end client_done */

/* The response is out: on to the next request, or to closing. False
 * when the connection is closed (and freed). */
static bool finish_request(connection *c)
{
    /* The answer is sent: its buffers go back to the worker's spares. */
    response_release(c->w, c->ctx);
    /* lab:begin finish_request "Connections" conn_close(c); return false; */
    context *ctx = c->ctx;
    worker *w = c->w;
    if (!ctx->keep_alive || w->draining) {
        if (c->peer_closed || client_done(c)) {
            conn_close(c);
            return false;
        }
        /* Half-close and read what the client still sends, so that it
         * gets our last answer rather than a reset. */
        channel_shutdown_output(c->ch);
        buffer_clear(ctx->in);
        c->phase = P_LINGER;
        set_timeout(c, T_LINGER);
        return true;
    }
    uint64_t discard = ctx->discard;
    in_consume(ctx->in, ctx->cursor);
    context_next_request(ctx);
    ctx->discard = discard;
    if (discard > 0) {
        c->phase = P_DISCARD;
        set_timeout(c, T_BODY);
    } else {
        c->phase = P_WAIT;
    }
    return true;
    /* lab:end finish_request */
}

/* Moves the connection on as far as the bytes at hand allow, then says
 * which event it waits for. */
static void advance(connection *c)
{
    for (;;) {
        context *ctx = c->ctx;
        switch (c->phase) {
        case P_WAIT:
        case P_HEAD: {
            if (ctx == NULL || buffer_position(ctx->in) == 0) {
                if (c->peer_closed || c->w->draining) {
                    conn_close(c);
                    return;
                }
                if (ctx != NULL) { /* idle: give the memory back */
                    context_release(c->w, ctx);
                    c->ctx = NULL;
                }
                /* Idle: a keep-alive deadline, set once (bytes that do
                 * not come do not move it). The first request's head
                 * counts from accept. */
                timeout_kind idle = c->requests ? T_KEEPALIVE : T_HEADER;
                c->phase = P_WAIT;
                if (c->t_kind != idle)
                    set_timeout(c, idle);
                interest(c, OP_READ);
                return;
            }
            if (c->phase == P_WAIT) {
                c->phase = P_HEAD;
                if (c->requests > 0) /* the first one counts from accept */
                    set_timeout(c, T_HEADER);
            }
            /* excerpt:begin parse-head */
            http_parse_status st = http_parser_parse_request(
                &ctx->parser, (const char *)buffer_array(ctx->in),
                buffer_position(ctx->in), &ctx->request);
            if (st == HTTP_PARSE_ERROR) {
                respond_error(c, ctx->parser.status, ctx->parser.reason);
                continue;
            }
            if (st == HTTP_PARSE_MORE) {
                if (http_parser_wants_fields(&ctx->parser)) {
                    if (!fields_grow(ctx,
                                     c->w->server->config.limits.max_headers))
                        respond_error(c, 500, "out of memory for the fields");
                    continue; /* the same bytes, into the bigger array */
                }
                if (c->peer_closed) {
                    conn_close(c);
                    return;
                }
                interest(c, OP_READ);
                return;
            }
            start_request(c);
            continue;
            /* excerpt:end parse-head */
        }
        case P_BODY:
            if (!read_body(c))
                return;
            continue;
        case P_HANDLING: return;
        case P_WRITING: {
            if (ctx->response == NULL && !ctx->sending_interim) {
                conn_close(c); /* nothing to answer with */
                return;
            }
            /* excerpt:begin write */
            size_t count = 1;
            buffer *const *out = &ctx->interim;
            if (!ctx->sending_interim)
                out = http_response_buffers(ctx->response, &count);
            ssize_t n = channel_write_buffers(c->ch, out, count);
            if (n == CHANNEL_ERROR) {
                conn_close(c); /* the client is gone */
                return;
            }
            bool progress = n > 0;
            bool sent = ctx->sending_interim
                            ? !buffer_has_remaining(ctx->interim)
                            : http_response_sent(ctx->response);
            if (sent && !ctx->sending_interim) {
                /* A streamed body (a file) follows the buffers: one
                 * piece per wakeup, so the other connections of this
                 * loop get their turn between two pieces. */
                uint64_t moved;
                int more = http_response_send_stream(ctx->response,
                                                     channel_fd(c->ch), &moved);
                if (more < 0) {
                    conn_close(c); /* gone, or the file shrank */
                    return;
                }
                progress = progress || moved > 0;
                sent = more == 1;
            }
            if (!sent) {
                if (progress)
                    set_timeout(c, T_SEND); /* the idle clock starts again */
                interest(c, OP_WRITE);
                return;
            }
            if (ctx->sending_interim) {
                ctx->sending_interim = false;
                c->phase = P_BODY;
                set_timeout(c, T_BODY);
                continue;
            }
            if (!finish_request(c))
                return;
            continue;
            /* excerpt:end write */
        }
        case P_DISCARD: {
            size_t held = buffer_position(ctx->in);
            size_t drop = held < ctx->discard ? held : (size_t)ctx->discard;
            in_consume(ctx->in, drop);
            ctx->discard -= drop;
            if (ctx->discard == 0) {
                c->phase = P_WAIT;
                continue;
            }
            if (c->peer_closed) {
                conn_close(c);
                return;
            }
            interest(c, OP_READ);
            return;
        }
        case P_LINGER:
            buffer_clear(ctx->in);
            if (c->peer_closed) {
                conn_close(c);
                return;
            }
            interest(c, OP_READ);
            return;
        }
    }
}

static void on_timeout(connection *c)
{
    switch (c->phase) {
    case P_HEAD:
        /* The method may be known although the head is not: an answer to
         * HEAD has no body, complete head or not, or a strict client
         * reads our body as the start of a garbage response. */
        c->ctx->request.method = c->ctx->parser.request.method;
        respond_error(c, 408, "the request head did not arrive in time");
        advance(c);
        return;
    case P_BODY:
        respond_error(c, 408, "the request body stalled");
        advance(c);
        return;
    case P_HANDLING: return; /* no timeout while a handler runs */
    default:
        /* idle keep-alive, a stalled send, the end of a linger */
        conn_close(c);
        return;
    }
}

/* excerpt:begin make-room */
/* Before a read into `in`: a full buffer would read nothing, and a
 * level-triggered selector would wake the loop again at once, a spin. A
 * head may grow to max_header_bytes (the parser answers 431 there); past
 * a head, chunk framing gets CHUNKED_ROOM and a trailer section
 * max_header_bytes. A body is never read a few bytes at a time because a
 * long head left little room. False when answered or closed. */
static bool make_room(connection *c)
{
    context *ctx = c->ctx;
    const http_limits *limits = &c->w->server->config.limits;
    size_t left = buffer_remaining(ctx->in);
    if (c->phase == P_BODY) {
        size_t limit =
            ctx->cursor +
            (ctx->reading_trailers ? limits->max_header_bytes : CHUNKED_ROOM);
        while (left < READ_ROOM && in_grow(ctx, limit))
            left = buffer_remaining(ctx->in);
    } else if (left == 0 && (c->phase == P_WAIT || c->phase == P_HEAD)) {
        in_grow(ctx, limits->max_header_bytes);
        left = buffer_remaining(ctx->in);
    }
    if (left > 0)
        return true;
    if (c->phase == P_BODY && ctx->reading_trailers)
        respond_error(c, 431, "trailer section too large");
    else if (c->phase == P_BODY || c->phase == P_HEAD || c->phase == P_WAIT)
        respond_error(c, 500, "out of memory for the request");
    else
        return true; /* DISCARD and LINGER empty the buffer themselves */
    advance(c);
    return false;
}
/* excerpt:end make-room */

static void on_readable(connection *c)
{
    if (c->ctx == NULL && (c->ctx = context_acquire(c->w)) == NULL) {
        log_at(c->w->server->config.log, LOG_WARN, c->w->server->config.program,
               "out of memory for a connection");
        conn_close(c);
        return;
    }
    context *ctx = c->ctx;
    buffer *into = ctx->in;
    if (c->phase == P_BODY && ctx->request.body_kind == HTTP_BODY_LENGTH)
        into = ctx->body; /* exactly the body's size: never the next one */
    else if (!make_room(c))
        return; /* answered, or closed */
    else
        into = ctx->in; /* make_room may have moved it */
    ssize_t n = channel_read(c->ch, into);
    if (n == CHANNEL_ERROR) {
        conn_close(c);
        return;
    }
    if (n == CHANNEL_EOF)
        c->peer_closed = true;
    else if (n > 0 && (c->phase == P_BODY || c->phase == P_DISCARD))
        set_timeout(c, T_BODY); /* progress */
    advance(c);
}

static void conn_ready(event_loop *loop, selection_key *key, void *context)
{
    (void)loop;
    connection *c = context;
    switch (c->phase) {
    case P_WAIT:
    case P_HEAD:
    case P_BODY:
    case P_DISCARD:
    case P_LINGER:
        if (key_is_readable(key))
            on_readable(c);
        return;
    case P_WRITING:
        if (key_is_writable(key))
            advance(c);
        return;
    case P_HANDLING: return;
    }
}

/* The worker loop is shutting down with this connection open. */
static void conn_closing(event_loop *loop, selection_key *key, void *context)
{
    (void)loop;
    (void)key;
    connection *c = context;
    c->key = NULL; /* cancelled already */
    if (c->phase == P_HANDLING) {
        /* stop ends the pool first, so no handler can still run; if one
         * did, freeing its connection under it would be worse than this
         * leak. */
        log_at(c->w->server->config.log, LOG_ERROR,
               c->w->server->config.program,
               "connection still in a handler at shutdown");
        return;
    }
    conn_close(c);
}

static const event_loop_handler connection_handler = {conn_ready, conn_closing};

/* --- accepting --------------------------------------------------------------
 */

/* Runs on the worker's thread: the only thread that touches its selector. */
static void adopt(event_loop *loop, void *arg)
{
    connection *c = arg;
    worker *w = &c->w->server->workers[event_loop_index(loop)];
    c->w = w;
    c->next = w->connections;
    if (w->connections)
        w->connections->prev = c;
    w->connections = c;
    atomic_fetch_add(&w->open, 1);
    atomic_fetch_add(&w->adopted, 1);
    if (w->draining ||
        event_loop_register(loop, c->ch, OP_READ, &connection_handler, c,
                            &c->key) != EVENT_LOOP_OK) {
        conn_close(c);
        return;
    }
    c->phase = P_WAIT;
    set_timeout(c, T_HEADER); /* the first head counts from accept */
    /* The request usually arrives with the connection, or right after
     * it: read it now instead of waiting a turn of the loop for the
     * Selector to say so (EAGAIN costs one recv). */
    on_readable(c);
}

/* Runs on the thread that accepted: the boss, or the worker itself. */
static connection *conn_new(http_server *s, channel *ch)
{
    connection *c = calloc(1, sizeof *c);
    if (c == NULL) {
        log_at(s->config.log, LOG_WARN, s->config.program, "new connection: %s",
               strerror(ENOMEM));
        channel_close(ch);
        return NULL;
    }
    c->ch = ch;
    c->t_kind = T_NONE;
    c->w = &s->workers[0]; /* for adopt to find the server */
    strcpy(c->remote, "-");
    if (s->config.access_log_fd >= 0) {
        char *colon;
        channel_remote_address(ch, c->remote, sizeof c->remote);
        if ((colon = strrchr(c->remote, ':')) != NULL)
            *colon = '\0'; /* the host, without the port */
        if (c->remote[0] == '[' && colon != NULL && colon[-1] == ']') {
            colon[-1] = '\0';
            memmove(c->remote, c->remote + 1, strlen(c->remote));
        }
    }
    atomic_fetch_add(&s->open, 1);
    return c;
}

/* excerpt:begin hand-off */
/* A new connection goes to the worker that will own it: across threads
 * from the boss (chapter 6's design), or straight in when the worker
 * accepted it itself. */
static void hand_off(http_server *s, event_loop *accepting, channel *ch)
{
    connection *c = conn_new(s, ch);
    if (c == NULL)
        return;
    if (s->config.accept == HTTP_ACCEPT_WORKERS) {
        adopt(accepting, c);
    } else if (event_loop_execute(event_loop_group_next(s->group), adopt, c) !=
               EVENT_LOOP_OK) {
        channel_close(ch);
        free(c);
        atomic_fetch_sub(&s->open, 1);
    }
}
/* excerpt:end hand-off */

/* The listener is shared by every acceptor's selector; the last one to let
 * go of it closes it. */
static void listener_release(http_server *s)
{
    if (atomic_fetch_sub(&s->listening, 1) == 1) {
        channel_close(s->listener);
        s->listener = NULL;
    }
}

/* On the acceptor's loop: no more accepts. */
static void acceptor_stop(acceptor *a, event_loop *loop)
{
    if (a->key == NULL)
        return;
    event_loop_deregister(loop, a->key);
    a->key = NULL;
    listener_release(a->server);
}

static void stop_accepting(event_loop *loop, void *arg)
{
    acceptor_stop(arg, loop);
}

static void resume_accepting(event_loop *loop, void *arg)
{
    (void)loop;
    acceptor *a = arg;
    if (a->key != NULL)
        key_set_interest_ops(a->key, OP_ACCEPT);
}

static void accept_ready(event_loop *loop, selection_key *key, void *context)
{
    acceptor *a = context;
    http_server *s = a->server;
    int batch = s->config.accept == HTTP_ACCEPT_BOSS ? ACCEPT_BATCH
                : s->config.workers == 1             ? ALONE_ACCEPTS
                                                     : WORKER_ACCEPTS;
    for (int i = 0; i < batch; i++) {
        channel *ch = channel_accept_nonblocking(s->listener);
        if (ch != NULL) {
            if (a->paused) {
                a->paused = false;
                log_at(s->config.log, LOG_WARN, s->config.program,
                       "accepting again");
            }
            hand_off(s, loop, ch);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return; /* or another worker was quicker */
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                   errno == ENOMEM) {
            /* Accepting again at once would spin on the same error: stop
             * watching the listener for a moment. Said once, not ten
             * times a second for as long as it lasts. */
            if (!a->paused)
                log_at(s->config.log, LOG_WARN, s->config.program,
                       "accept: %s; pausing accepts, retrying every %d ms",
                       strerror(errno), ACCEPT_PAUSE_MS);
            a->paused = true;
            key_set_interest_ops(key, 0);
            event_loop_schedule(loop, ACCEPT_PAUSE_MS, resume_accepting, a,
                                NULL);
            return;
        } else {
            log_at(s->config.log, LOG_INFO, s->config.program, "accept: %s",
                   strerror(errno));
        }
    }
}

/* The loop is shutting down with the listener still registered. */
static void listener_closing(event_loop *loop, selection_key *key,
                             void *context)
{
    (void)loop;
    (void)key;
    acceptor *a = context;
    a->key = NULL;
    listener_release(a->server);
}

static const event_loop_handler listener_handler = {accept_ready,
                                                    listener_closing};

/* Registering the listener happens on each acceptor's thread; main waits
 * for the outcome (Netty's bind().sync()). */
typedef struct bind_call {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    size_t waiting;
    size_t failed;
} bind_call;

static void bind_on_loop(event_loop *loop, void *arg)
{
    acceptor *a = arg;
    http_server *s = a->server;
    bind_call *b = s->binding;
    event_loop_status st = event_loop_register(loop, s->listener, OP_ACCEPT,
                                               &listener_handler, a, &a->key);
    if (st == EVENT_LOOP_OK)
        atomic_fetch_add(&s->listening, 1);
    pthread_mutex_lock(&b->lock);
    if (st != EVENT_LOOP_OK)
        b->failed++;
    b->waiting--;
    pthread_cond_signal(&b->done_cond);
    pthread_mutex_unlock(&b->lock);
}

int http_server_listen(http_server *s, channel *listener)
{
    s->listener = listener;
    if (channel_configure_blocking(s->listener, false) < 0) {
        channel_close(s->listener);
        s->listener = NULL;
        return -1;
    }
    s->port = channel_local_port(s->listener);
    channel_local_address(s->listener, s->address, sizeof s->address);
    bind_call b = {.waiting = s->acceptor_count};
    s->binding = &b;
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.done_cond, NULL);
    /* The listener stays open until every registration has been made or
     * has failed: the count holds one reference for this function. */
    atomic_store(&s->listening, 1);
    for (size_t i = 0; i < s->acceptor_count; i++) {
        acceptor *a = &s->acceptors[i];
        if (event_loop_execute(a->loop, bind_on_loop, a) != EVENT_LOOP_OK) {
            pthread_mutex_lock(&b.lock);
            b.failed++;
            b.waiting--;
            pthread_mutex_unlock(&b.lock);
        }
    }
    pthread_mutex_lock(&b.lock);
    while (b.waiting > 0)
        pthread_cond_wait(&b.done_cond, &b.lock);
    pthread_mutex_unlock(&b.lock);
    pthread_cond_destroy(&b.done_cond);
    pthread_mutex_destroy(&b.lock);
    s->binding = NULL;
    if (b.failed > 0) {
        /* The acceptors that did register let go of the listener too. */
        for (size_t i = 0; i < s->acceptor_count; i++)
            if (s->acceptors[i].key != NULL)
                event_loop_execute(s->acceptors[i].loop, stop_accepting,
                                   &s->acceptors[i]);
        listener_release(s);
        errno = EIO;
        return -1;
    }
    listener_release(s);
    return 0;
}

uint16_t http_server_port(const http_server *s)
{
    return s->port;
}

char *http_server_local_address(const http_server *s, char *out, size_t size)
{
    snprintf(out, size, "%s", s->address[0] ? s->address : "?");
    return out;
}

/* --- the server
 * ---------------------------------------------------------------- */

http_server *http_server_create(const http_server_config *config,
                                const http_router *router)
{
    if (config == NULL || router == NULL || config->workers == 0 ||
        config->pool_threads == 0 || config->pool_queue == 0 ||
        config->limits.max_headers == 0 ||
        config->limits.max_header_bytes == 0) {
        errno = EINVAL;
        return NULL;
    }
    http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->config = *config;
    s->router = router;
    s->started = monotonic_ns();
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->drained_cond, &attr);
    pthread_condattr_destroy(&attr);

    s->workers = calloc(config->workers, sizeof *s->workers);
    event_loop_options options = event_loop_default_options();
    options.backend = config->backend;
    options.program = config->program;
    options.log = config->log;
    const long durations[T_KINDS] = {
        [T_HEADER] = config->header_timeout_ms,
        [T_KEEPALIVE] = config->keepalive_timeout_ms,
        [T_BODY] = config->body_timeout_ms,
        [T_SEND] = config->send_timeout_ms,
        [T_LINGER] = LINGER_MS,
    };
    if (s->workers == NULL)
        goto fail;
    for (size_t i = 0; i < config->workers; i++) {
        worker *w = &s->workers[i];
        w->server = s;
        w->index = i;
        for (int k = 0; k < T_KINDS; k++)
            w->timeouts[k].duration = (int64_t)durations[k] * 1000000;
    }
    s->pool = thread_pool_create(config->pool_threads, config->pool_queue,
                                 THREAD_POOL_REJECT);
    if (s->pool == NULL)
        goto fail;
    s->group = event_loop_group_create(config->workers, &options);
    if (s->group == NULL)
        goto fail;
    for (size_t i = 0; i < config->workers; i++)
        s->workers[i].loop = event_loop_group_get(s->group, i);
    if (config->accept == HTTP_ACCEPT_BOSS) {
        s->boss = event_loop_group_create(1, &options);
        if (s->boss == NULL)
            goto fail;
    }
    s->acceptor_count = s->boss != NULL ? 1 : config->workers;
    s->acceptors = calloc(s->acceptor_count, sizeof *s->acceptors);
    if (s->acceptors == NULL)
        goto fail;
    for (size_t i = 0; i < s->acceptor_count; i++) {
        s->acceptors[i].server = s;
        s->acceptors[i].loop = s->boss != NULL
                                   ? event_loop_group_get(s->boss, 0)
                                   : s->workers[i].loop;
    }
    return s;
fail : {
    int saved = errno;
    event_loop_group_free(s->boss);
    event_loop_group_free(s->group);
    thread_pool_free(s->pool);
    free(s->acceptors);
    free(s->workers);
    pthread_cond_destroy(&s->drained_cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
    errno = saved ? saved : ENOMEM;
    return NULL;
}
}

/* Runs on each worker: no new requests on open connections; idle ones
 * close now, busy ones after their answer. */
static void drain(event_loop *loop, void *arg)
{
    worker *w = arg;
    if (w->server->config.accept == HTTP_ACCEPT_WORKERS)
        acceptor_stop(&w->server->acceptors[w->index], loop);
    w->draining = true;
    connection *c = w->connections;
    while (c != NULL) {
        connection *next = c->next;
        if (c->phase == P_WAIT &&
            (c->ctx == NULL || buffer_position(c->ctx->in) == 0))
            conn_close(c);
        c = next;
    }
}

/* excerpt:begin stop */
size_t http_server_stop(http_server *s)
{
    if (s->stopped)
        return 0;
    s->stopped = true;
    /* 1. No new connections: the boss ends, and its closing hook lets go
     * of the listener (when the workers accept, each lets go in drain). */
    event_loop_group_free(s->boss);
    s->boss = NULL;
    /* 2. Every worker closes its idle connections, and the others after
     * the answer they are working on. */
    atomic_store(&s->draining, true);
    for (size_t i = 0; i < s->config.workers; i++)
        event_loop_execute(s->workers[i].loop, drain, &s->workers[i]);
    /* 3. Wait for them, within the bound. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += s->config.shutdown_timeout_ms / 1000;
    deadline.tv_nsec += (s->config.shutdown_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while (atomic_load(&s->open) > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->drained_cond, &s->lock, &deadline);
    pthread_mutex_unlock(&s->lock);
    size_t left = (size_t)atomic_load(&s->open);
    /* 4. The pool ends before the loops, so a handler still running can
     * hand its answer back; 5. the loops close whatever is left. */
    thread_pool_shutdown(s->pool);
    thread_pool_await_termination(s->pool, -1);
    event_loop_group_free(s->group);
    s->group = NULL;
    return left;
}
/* excerpt:end stop */

void http_server_free(http_server *s)
{
    if (s == NULL)
        return;
    http_server_stop(s);
    thread_pool_free(s->pool);
    for (size_t i = 0; i < s->config.workers; i++) {
        context *ctx = s->workers[i].free_list;
        while (ctx != NULL) {
            context *next = ctx->next_free;
            context_free(ctx);
            ctx = next;
        }
    }
    for (size_t i = 0; i < s->config.workers; i++)
        while (s->workers[i].response_count > 0)
            http_response_free(
                s->workers[i].responses[--s->workers[i].response_count]);
    if (s->listener != NULL)
        channel_close(s->listener);
    free(s->acceptors);
    free(s->workers);
    pthread_cond_destroy(&s->drained_cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

size_t http_server_worker_count(const http_server *s)
{
    return s->config.workers;
}

http_worker_stats http_server_worker_stats(const http_server *s, size_t index)
{
    http_worker_stats st = {0, 0, 0};
    if (index >= s->config.workers)
        return st;
    worker *w = &s->workers[index];
    st.open = atomic_load_explicit(&w->open, memory_order_relaxed);
    st.connections = atomic_load_explicit(&w->adopted, memory_order_relaxed);
    st.requests = atomic_load_explicit(&w->requests, memory_order_relaxed);
    return st;
}

http_pool_stats http_server_pool_stats(const http_server *s)
{
    http_pool_stats st = {thread_pool_size(s->pool),
                          thread_pool_active_count(s->pool),
                          thread_pool_queue_length(s->pool)};
    return st;
}

double http_server_uptime(const http_server *s)
{
    return (double)(monotonic_ns() - s->started) / 1e9;
}
