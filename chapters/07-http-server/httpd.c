/*
 * httpd.c - the chapter's HTTP/1.1 server: http_server on N worker loops
 * (which accept for themselves, or behind a boss loop with --accept boss),
 * with four servlets built in:
 *
 *   GET  /hello      a line of text;
 *   POST /echo       the request's body sent back (Content-Length or
 *                    chunked, answered the way it came);
 *   GET  /stats      JSON: open connections, requests served, per worker,
 *                    uptime;
 *   GET  /sleep?ms=N a blocking handler (it sleeps on a pool thread, never
 *                    on an event loop), for watching the pool at work;
 *   GET  /anything   with --root DIR, the file DIR/anything, from the
 *                    static file servlet (static_handler.h): whatever no
 *                    route above answers.
 *
 * Every limit and timeout is a flag, so that the tests can reach each one
 * in milliseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "02-blocking-echo/channel.h"
#include "03-selector/fd_limit.h"
#include "07-http-server/http_router.h"
#include "07-http-server/http_server.h"
#include "07-http-server/static_handler.h"
#include "cli.h"
#include "log.h"
#include "stop.h"

#define PROGRAM "httpd"

enum {
    MAX_WORKERS = 256,
    MAX_SLEEP_MS = 10000,
    CACHE_VALID_MS = 1000, /* --cache-valid's default */
    BACKLOG = 4096         /* the kernel caps it at net.core.somaxconn */
};

static void usage(FILE *out, const http_server_config *d)
{
    fprintf(out,
            "usage: " PROGRAM " [options]\n"
            "An HTTP/1.1 server on worker event loops.\n"
            "Routes: GET /hello, POST /echo, GET /stats, GET /sleep?ms=N;\n"
            "with --root, GET and HEAD of any other path serve a file.\n"
            "\n"
            "  -p, --port PORT            port (default 8080; 0: any free "
            "port)\n"
            "  -b, --bind ADDRESS         address (default 127.0.0.1)\n"
            "  -w, --workers N            worker loops (default %zu, one per "
            "CPU)\n"
            "      --accept WHO           workers: each worker loop accepts "
            "for itself;\n"
            "                             boss: one boss loop accepts and "
            "hands over\n"
            "                             (default %s)\n"
            "      --backend NAME         select, poll or epoll (default "
            "%s)\n"
            "      --access-log WHERE     a file, - for stderr, or off "
            "(default -)\n"
            "      --root DIR             serve the files under DIR (symbolic "
            "links and\n"
            "                             dotfiles are refused)\n"
            "      --list-dirs            list a directory that has no "
            "index.html\n"
            "                             (default: 403)\n"
            "      --cache-valid MS       a small file kept in memory is "
            "checked against\n"
            "                             the disk at most every MS (default "
            "%d; 0: on\n"
            "                             every request)\n"
            "      --max-request-line N   bytes, else 414 (default %zu)\n"
            "      --max-header-bytes N   bytes of the whole head, else 431 "
            "(default %zu)\n"
            "      --max-headers N        header fields, else 431 (default "
            "%zu)\n"
            "      --max-body N           body bytes, else 413 (default "
            "%llu)\n"
            "      --max-requests N       per connection, then close "
            "(default %zu)\n"
            "      --header-timeout MS    the whole head, from its first "
            "byte (default %ld)\n"
            "      --body-timeout MS      idle while reading a body (default "
            "%ld)\n"
            "      --send-timeout MS      idle while sending (default %ld)\n"
            "      --keepalive-timeout MS idle between requests (default "
            "%ld)\n"
            "      --shutdown-timeout MS  on SIGTERM, for requests in "
            "flight (default %ld)\n"
            "      --pool-threads N       threads for blocking handlers "
            "(default %zu)\n"
            "      --pool-queue N         requests waiting for them, more "
            "get 503\n"
            "                             (default %zu)\n"
            "  -l, --log-level LEVEL      error, warn, info or debug "
            "(default warn)\n"
            "  -h, --help                 show this help\n"
            "\n"
            "Try it: " PROGRAM " -p 8080 & then curl -i "
            "http://127.0.0.1:8080/hello\n",
            d->workers, d->accept == HTTP_ACCEPT_BOSS ? "boss" : "workers",
            selector_backend_name(d->backend), CACHE_VALID_MS,
            d->limits.max_request_line, d->limits.max_header_bytes,
            d->limits.max_headers, (unsigned long long)d->limits.max_body,
            d->max_requests, d->header_timeout_ms, d->body_timeout_ms,
            d->send_timeout_ms, d->keepalive_timeout_ms, d->shutdown_timeout_ms,
            d->pool_threads, d->pool_queue);
}

/* --- the servlets ----------------------------------------------------------
 */

/* excerpt:begin hello */
static void hello(const http_request *request, http_response *response,
                  void *context)
{
    (void)request;
    (void)context;
    http_response_add_header(response, "Content-Type",
                             "text/plain; charset=utf-8");
    http_response_write(response, "Hello, world!\n", 14);
}
/* excerpt:end hello */

/* excerpt:begin echo */
/* The body comes back without a copy: the response borrows the request's
 * bytes, which live until the response has been sent. */
static void echo(const http_request *request, http_response *response,
                 void *context)
{
    (void)context;
    const http_header *type = http_request_header(request, "Content-Type");
    char text[256];
    if (type != NULL && type->value.length < sizeof text) {
        memcpy(text, type->value.data, type->value.length);
        text[type->value.length] = '\0';
        http_response_add_header(response, "Content-Type", text);
    } else {
        http_response_add_header(response, "Content-Type",
                                 "application/octet-stream");
    }
    http_response_set_body_ref(response, request->body.data,
                               request->body.length);
    /* Sent back the way it came: chunked for chunked. */
    http_response_set_chunked(response,
                              request->body_kind == HTTP_BODY_CHUNKED);
}
/* excerpt:end echo */

static void stats(const http_request *request, http_response *response,
                  void *context)
{
    (void)request;
    const http_server *server = context;
    size_t n = http_server_worker_count(server);
    uint64_t open = 0, requests = 0;
    for (size_t i = 0; i < n; i++) {
        http_worker_stats w = http_server_worker_stats(server, i);
        open += w.open;
        requests += w.requests;
    }
    http_response_add_header(response, "Content-Type", "application/json");
    http_response_add_header(response, "Cache-Control", "no-store");
    http_response_printf(response,
                         "{\"uptime_seconds\": %.3f, \"open_connections\": "
                         "%llu, \"requests\": %llu, \"workers\": [",
                         http_server_uptime(server), (unsigned long long)open,
                         (unsigned long long)requests);
    for (size_t i = 0; i < n; i++) {
        http_worker_stats w = http_server_worker_stats(server, i);
        http_response_printf(response,
                             "%s{\"worker\": %zu, \"open_connections\": %llu, "
                             "\"connections\": %llu, \"requests\": %llu}",
                             i ? ", " : "", i, (unsigned long long)w.open,
                             (unsigned long long)w.connections,
                             (unsigned long long)w.requests);
    }
    http_pool_stats pool = http_server_pool_stats(server);
    http_response_printf(response,
                         "], \"pool\": {\"threads\": %zu, \"busy\": %zu, "
                         "\"queued\": %zu}}\n",
                         pool.threads, pool.busy, pool.queued);
}

/* excerpt:begin sleep */
/* Blocking on purpose. Marked HTTP_ROUTE_BLOCKING, it runs on the pool:
 * the worker loop goes on serving every other connection meanwhile. */
static void sleep_handler(const http_request *request, http_response *response,
                          void *context)
{
    (void)context;
    unsigned long ms = 0;
    http_string q = request->query;
    char digits[16];
    if (q.length > 3 && q.length - 3 < sizeof digits &&
        memcmp(q.data, "ms=", 3) == 0) {
        memcpy(digits, q.data + 3, q.length - 3);
        digits[q.length - 3] = '\0';
    } else {
        digits[0] = '\0';
    }
    if (!cli_parse_ulong(digits, 0, MAX_SLEEP_MS, &ms)) {
        http_response_set_status(response, 400);
        http_response_printf(response, "want /sleep?ms=N, N from 0 to %d\n",
                             MAX_SLEEP_MS);
        return;
    }
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        continue;
    http_response_add_header(response, "Content-Type",
                             "text/plain; charset=utf-8");
    http_response_printf(response, "slept %lu ms\n", ms);
}
/* excerpt:end sleep */

/* --- main -------------------------------------------------------------------
 */

static void wait_for_stop(void)
{
    struct pollfd stop = {.fd = stop_signals_fd(), .events = POLLIN};
    while (poll(&stop, 1, -1) < 0 && errno == EINTR)
        continue;
}

int main(int argc, char **argv)
{
    http_server_config config = http_server_default_config();
    config.program = PROGRAM;
    config.access_log_fd = STDERR_FILENO;
    const char *bind_host = "127.0.0.1";
    const char *access_log = "-";
    const char *root = NULL;
    bool list_dirs = false;
    long cache_valid_ms = CACHE_VALID_MS;
    uint16_t port = 8080;

    enum {
        OPT_BACKEND = 256,
        OPT_ACCESS_LOG,
        OPT_ROOT,
        OPT_LIST_DIRS,
        OPT_CACHE_VALID,
        OPT_MAX_LINE,
        OPT_MAX_HEAD,
        OPT_MAX_HEADERS,
        OPT_MAX_BODY,
        OPT_MAX_REQUESTS,
        OPT_HEADER_TIMEOUT,
        OPT_BODY_TIMEOUT,
        OPT_SEND_TIMEOUT,
        OPT_KEEPALIVE_TIMEOUT,
        OPT_SHUTDOWN_TIMEOUT,
        OPT_POOL_THREADS,
        OPT_POOL_QUEUE,
        OPT_ACCEPT
    };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'w'},
        {"accept", required_argument, NULL, OPT_ACCEPT},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"access-log", required_argument, NULL, OPT_ACCESS_LOG},
        {"root", required_argument, NULL, OPT_ROOT},
        {"list-dirs", no_argument, NULL, OPT_LIST_DIRS},
        {"cache-valid", required_argument, NULL, OPT_CACHE_VALID},
        {"max-request-line", required_argument, NULL, OPT_MAX_LINE},
        {"max-header-bytes", required_argument, NULL, OPT_MAX_HEAD},
        {"max-headers", required_argument, NULL, OPT_MAX_HEADERS},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"max-requests", required_argument, NULL, OPT_MAX_REQUESTS},
        {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
        {"body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT},
        {"send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT},
        {"keepalive-timeout", required_argument, NULL, OPT_KEEPALIVE_TIMEOUT},
        {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
        {"pool-threads", required_argument, NULL, OPT_POOL_THREADS},
        {"pool-queue", required_argument, NULL, OPT_POOL_QUEUE},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const unsigned long hour = 3600000;
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:w:l:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p': port = cli_port_or_die(PROGRAM, optarg, 0); break;
        case 'b': bind_host = optarg; break;
        case 'w':
            config.workers = cli_ulong_or_die(PROGRAM, "worker count", optarg,
                                              1, MAX_WORKERS);
            break;
        case OPT_ACCEPT:
            if (strcmp(optarg, "boss") == 0)
                config.accept = HTTP_ACCEPT_BOSS;
            else if (strcmp(optarg, "workers") == 0)
                config.accept = HTTP_ACCEPT_WORKERS;
            else
                die(PROGRAM, "--accept: '%s' is neither boss nor workers",
                    optarg);
            break;
        case OPT_BACKEND:
            config.backend = selector_backend_or_die(PROGRAM, optarg);
            break;
        case OPT_ACCESS_LOG: access_log = optarg; break;
        case OPT_ROOT: root = optarg; break;
        case OPT_LIST_DIRS: list_dirs = true; break;
        case OPT_CACHE_VALID:
            cache_valid_ms = (long)cli_ulong_or_die(PROGRAM, "cache validity",
                                                    optarg, 0, hour);
            break;
        case OPT_MAX_LINE:
            config.limits.max_request_line = cli_ulong_or_die(
                PROGRAM, "request line limit", optarg, 16, 1 << 20);
            break;
        case OPT_MAX_HEAD:
            config.limits.max_header_bytes =
                cli_ulong_or_die(PROGRAM, "header limit", optarg, 64, 1 << 20);
            break;
        case OPT_MAX_HEADERS:
            config.limits.max_headers = cli_ulong_or_die(
                PROGRAM, "field count limit", optarg, 1, 10000);
            break;
        case OPT_MAX_BODY:
            config.limits.max_body =
                cli_ulong_or_die(PROGRAM, "body limit", optarg, 0, 1ul << 30);
            break;
        case OPT_MAX_REQUESTS:
            config.max_requests = cli_ulong_or_die(
                PROGRAM, "requests per connection", optarg, 1, 1ul << 30);
            break;
        case OPT_HEADER_TIMEOUT:
            config.header_timeout_ms = (long)cli_ulong_or_die(
                PROGRAM, "header timeout", optarg, 1, hour);
            break;
        case OPT_BODY_TIMEOUT:
            config.body_timeout_ms = (long)cli_ulong_or_die(
                PROGRAM, "body timeout", optarg, 1, hour);
            break;
        case OPT_SEND_TIMEOUT:
            config.send_timeout_ms = (long)cli_ulong_or_die(
                PROGRAM, "send timeout", optarg, 1, hour);
            break;
        case OPT_KEEPALIVE_TIMEOUT:
            config.keepalive_timeout_ms = (long)cli_ulong_or_die(
                PROGRAM, "keep-alive timeout", optarg, 1, hour);
            break;
        case OPT_SHUTDOWN_TIMEOUT:
            config.shutdown_timeout_ms = (long)cli_ulong_or_die(
                PROGRAM, "shutdown timeout", optarg, 0, hour);
            break;
        case OPT_POOL_THREADS:
            config.pool_threads =
                cli_ulong_or_die(PROGRAM, "pool size", optarg, 1, 256);
            break;
        case OPT_POOL_QUEUE:
            config.pool_queue =
                cli_ulong_or_die(PROGRAM, "pool queue", optarg, 1, 100000);
            break;
        case 'l': config.log = cli_log_level_or_die(PROGRAM, optarg); break;
        case 'h': usage(stdout, &config); return 0;
        default: usage(stderr, &config); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);

    if (list_dirs && root == NULL)
        die(PROGRAM, "--list-dirs needs --root");
    static_site site = {.root_fd = -1};
    if (root != NULL && static_site_open(&site, root, list_dirs, cache_valid_ms,
                                         PROGRAM, config.log) < 0)
        die(PROGRAM, "--root '%s': %s", root,
            errno == ENOTDIR ? "not a directory" : strerror(errno));
    int log_fd = -1;
    if (strcmp(access_log, "off") == 0) {
        config.access_log_fd = -1;
    } else if (strcmp(access_log, "-") == 0) {
        config.access_log_fd = STDERR_FILENO;
    } else {
        log_fd = open(access_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log_fd < 0)
            die(PROGRAM, "cannot open the access log '%s': %s", access_log,
                strerror(errno));
        config.access_log_fd = log_fd;
    }

    /* Every connection is a descriptor: use all the system allows. */
    if (fd_limit_raise(0) < 0)
        log_at(config.log, LOG_WARN, PROGRAM,
               "cannot raise the open-file limit: %s", strerror(errno));

    char error[CHANNEL_ERROR_TEXT];
    channel *listener =
        channel_listen(bind_host, port, BACKLOG, error, sizeof error);
    if (listener == NULL)
        die(PROGRAM, "%s", error);
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));

    http_router router = HTTP_ROUTER_INIT;
    http_server *server = http_server_create(&config, &router);
    if (server == NULL)
        die(PROGRAM, "cannot start the server: %s", strerror(errno));
    /* excerpt:begin routes */
    const http_route routes[] = {
        {HTTP_METHODS(HTTP_GET), "/hello", 0, hello, NULL},
        {HTTP_METHODS(HTTP_POST), "/echo", HTTP_ROUTE_READS_BODY, echo, NULL},
        {HTTP_METHODS(HTTP_GET), "/stats", 0, stats, server},
        {HTTP_METHODS(HTTP_GET), "/sleep", HTTP_ROUTE_BLOCKING, sleep_handler,
         NULL},
        /* The shortest prefix there is: files answer what no route does. */
        {HTTP_METHODS(HTTP_GET), "/", HTTP_ROUTE_PREFIX, static_handler, &site},
    };
    size_t count = sizeof routes / sizeof routes[0];
    if (root == NULL)
        count--; /* no --root: no files, and 404 for unknown paths */
    for (size_t i = 0; i < count; i++)
        if (http_router_add(&router, &routes[i]) < 0)
            die(PROGRAM, "cannot add route %s: %s", routes[i].path,
                strerror(errno));
    /* excerpt:end routes */
    if (http_server_listen(server, listener) < 0)
        die(PROGRAM, "cannot start accepting: %s", strerror(errno));
    channel_print_listening(listener); /* the server's, until it is freed */
    log_at(config.log, LOG_INFO, PROGRAM, "%zu workers, %s backend",
           config.workers, selector_backend_name(config.backend));

    wait_for_stop();
    log_at(config.log, LOG_INFO, PROGRAM, "stopping (signal %d)",
           stop_signal_number());
    size_t left = http_server_stop(server);
    if (left > 0)
        log_at(config.log, LOG_WARN, PROGRAM,
               "%zu connections still busy after %ld ms: closed", left,
               config.shutdown_timeout_ms);
    http_server_free(server);
    http_router_free(&router);
    static_site_close(&site);
    if (log_fd >= 0)
        close(log_fd);
    return 0;
}
