/*
 * http_server.h - an HTTP/1.1 server on chapter 6's event loops: N worker
 * loops own the connections (each accepts its own, or a boss loop hands
 * them over: http_accept_mode), and chapter 5's thread pool runs the
 * handlers that may block.
 *
 * Each connection lives on one worker loop and goes through the phases of
 * a request: waiting (keep-alive), reading the head, reading the body,
 * handling, writing, and back - or lingering and closing. The parser
 * (http_parser.h) reads heads in place, the router (http_router.h) picks
 * the handler, the response (http_response.h) goes out in one writev.
 *
 *   keep-alive   HTTP/1.1 by default, HTTP/1.0 when asked; Connection:
 *                close honoured; at most max_requests per connection;
 *   pipelining   requests already read are answered one after another,
 *                in order, from the same input buffer;
 *   timeouts     from the loop's timers: the whole head must arrive within
 *                header_timeout (slowloris), the body and the response may
 *                not stall for body_timeout / send_timeout, an idle
 *                keep-alive connection goes after keepalive_timeout;
 *   errors       a framing error is answered once, then the connection is
 *                closed: the bytes after a bad request are never read as
 *                another one;
 *   memory       an idle connection holds no buffer: its working memory
 *                (input buffer, parser, response) comes from a per-worker
 *                free list when bytes arrive, and goes back when the
 *                connection is idle again, so a request allocates nothing;
 *   shutdown     http_server_stop stops accepting, closes idle
 *                connections, lets requests in flight finish (within
 *                shutdown_timeout), then closes the rest.
 *
 * Threads: create, listen, stop and free from one thread (main); the stats
 * from any thread.
 */
#ifndef NIO_HTTP_SERVER_H
#define NIO_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "02-blocking-echo/channel.h"
#include "03-selector/selector.h"
#include "07-http-server/http_parser.h"
#include "07-http-server/http_router.h"
#include "log.h"

/* Who accepts new connections. */
typedef enum http_accept_mode {
    /* Chapter 6's design: one boss loop accepts and hands each connection
     * to a worker loop, a message across threads per connection. */
    HTTP_ACCEPT_BOSS,
    /* Every worker loop watches the listener on its own selector and
     * keeps what it accepts; the others find nothing left (EAGAIN). */
    HTTP_ACCEPT_WORKERS
} http_accept_mode;

typedef struct http_server_config {
    const char *program; /* for log lines */
    log_level log;
    http_limits limits;
    size_t max_requests;       /* per connection, then Connection: close */
    long header_timeout_ms;    /* total, from a request's first byte */
    long body_timeout_ms;      /* idle, while reading a body */
    long send_timeout_ms;      /* idle, while writing a response */
    long keepalive_timeout_ms; /* idle, between requests */
    long shutdown_timeout_ms;  /* how long stop waits for requests */
    size_t workers;            /* worker loops (>= 1) */
    http_accept_mode accept;
    size_t pool_threads; /* threads for blocking handlers (>= 1) */
    size_t pool_queue;   /* waiting blocking requests; more get 503 */
    selector_backend backend;
    int access_log_fd; /* Common Log Format lines go here; -1: off */
} http_server_config;

/* Defaults: the limits of HTTP_LIMITS_DEFAULT, 1000 requests, 10 s for the
 * head, the body and sends, 5 s keep-alive, 10 s to shut down, one worker
 * per CPU, 4 pool threads with 64 waiting, the default backend, no log. */
http_server_config http_server_default_config(void);

typedef struct http_server http_server;

/* Starts the loops and the pool; `router` must outlive the server. NULL
 * with errno. */
http_server *http_server_create(const http_server_config *config,
                                const http_router *router);
/* Starts accepting on `listener` (from channel_listen), which the server
 * owns from then on, even when this fails; returns 0, or -1 with errno.
 * The port it got is http_server_port (for port 0). */
int http_server_listen(http_server *server, channel *listener);
uint16_t http_server_port(const http_server *server);
/* "127.0.0.1:8080": the address it listens on, port included. */
char *http_server_local_address(const http_server *server, char *out,
                                size_t size);
/* Graceful stop: see the top of this file. Returns the connections that
 * were still open when the time ran out (closed anyway). */
size_t http_server_stop(http_server *server);
/* Stops (if not done) and frees everything. NULL is OK. */
void http_server_free(http_server *server);

/* --- counters, for /stats ----------------------------------------------- */

typedef struct http_worker_stats {
    uint64_t open;        /* connections open now */
    uint64_t connections; /* connections adopted since the start */
    uint64_t requests;    /* responses started (each counted once its
                             status and fields are decided) */
} http_worker_stats;

size_t http_server_worker_count(const http_server *server);
http_worker_stats http_server_worker_stats(const http_server *server,
                                           size_t index);
/* The thread pool for blocking handlers: threads, handlers running now,
 * requests waiting for a thread. */
typedef struct http_pool_stats {
    size_t threads;
    size_t busy;
    size_t queued;
} http_pool_stats;
http_pool_stats http_server_pool_stats(const http_server *server);

/* Seconds since http_server_create. */
double http_server_uptime(const http_server *server);

#endif
