/*
 * stress-client.c - the load and fault clients of `make bench` and
 * `make stress`: one program, one subcommand per way of treating a server.
 *
 *   get        one request; prints its status and body size (a probe);
 *   load       C keep-alive connections in a closed loop (send, wait for
 *              the response, send again) for a duration: requests/s,
 *              latency percentiles, and every error counted;
 *   hold       C keep-alive connections, one request each, then held idle
 *              until SIGTERM (the memory figure per idle connection);
 *   partial    C connections, each with a head sent but for its last empty
 *              line, held (the memory figure for a request arriving);
 *   slowloris  C connections dripping a header one byte at a time, while a
 *              normal client measures how long its requests take;
 *   reset      connections reset (RST) in the middle of a request, or in
 *              the middle of a response;
 *   noread     connections that pipeline requests and never read;
 *   exhaust    drives a server with a low descriptor limit out of
 *              descriptors and watches it recover (Linux: reads /proc);
 *   inflight   slow requests in flight plus load, for a SIGTERM test.
 *
 * Each prints "name: value" lines for scripts to read; what passes and
 * what fails is the scripts' judgement (bench/stress.sh). Linux only
 * (epoll), like the rest of bench/.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "stop.h"
#include "clock.h"

#define PROGRAM "stress-client"

enum {
    HEAD_MAX = 16384,
    READ_CHUNK = 65536,
    HISTOGRAM_US = 1000000, /* 1 us buckets up to 1 s, then one more */
    CONNECTING_AT_ONCE = 256,
    MAX_CLIENTS = 200000,
    EVENTS = 512
};

typedef struct options {
    struct sockaddr_in address;
    char host[64];     /* the Host field: "127.0.0.1:PORT" */
    const char *path;  /* what load, hold, get, ... ask for */
    const char *probe; /* what the normal client asks for */
    const char *slow_path;
    const char *stats_path;
    const char *mode;
    unsigned long clients, slow, duration_ms, warmup_ms, timeout_ms, drip_ms,
        probe_ms, body_bytes, rounds, pid, rcvbuf, hold_ms;
    bool close;
} options;

static int64_t ms_to_ns(unsigned long ms)
{
    return (int64_t)ms * 1000000;
}
static double ns_to_ms(int64_t ns)
{
    return (double)ns / 1e6;
}

/* --- requests -------------------------------------------------------------
 */

typedef struct request {
    char *bytes;
    size_t length;
} request;

/* GET PATH, or POST PATH with `body` bytes of 'x' when body > 0. */
static request request_make(const options *o, const char *path, size_t body,
                            bool close)
{
    char head[1024];
    int n =
        snprintf(head, sizeof head,
                 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " PROGRAM "\r\n%s",
                 body > 0 ? "POST" : "GET", path, o->host,
                 close ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head - 64)
        die(PROGRAM, "path too long: %s", path);
    if (body > 0)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: application/octet-stream\r\n"
                      "Content-Length: %zu\r\n",
                      body);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    request r = {malloc((size_t)n + body), (size_t)n + body};
    if (r.bytes == NULL)
        die(PROGRAM, "out of memory");
    memcpy(r.bytes, head, (size_t)n);
    memset(r.bytes + n, 'x', body);
    return r;
}

/* --- reading responses ------------------------------------------------------
 * Enough of HTTP/1.1 to find where each response ends: the status, the
 * Content-Length, and whether the server says it will close. */

typedef struct reader {
    char head[HEAD_MAX];
    size_t head_length;
    bool in_body;
    uint64_t body_left;
    int status;  /* of the last head read */
    bool closes; /* that head said Connection: close */
    uint64_t bytes;
} reader;

static bool reader_partial(const reader *r)
{
    return r->head_length > 0 || r->in_body;
}

/* The value of field `name` in a head (NUL-terminated), or NULL. */
static const char *field(const char *head, const char *name)
{
    size_t length = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL;
         line = strstr(line + 2, "\r\n")) {
        const char *p = line + 2;
        if (strncasecmp(p, name, length) == 0 && p[length] == ':') {
            p += length + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

static int reader_parse_head(reader *r)
{
    r->head[r->head_length] = '\0';
    int status;
    if (sscanf(r->head, "HTTP/1.%*1[01] %3d", &status) != 1)
        return -1;
    r->status = status;
    const char *c = field(r->head, "Connection");
    r->closes = c != NULL && strncasecmp(c, "close", 5) == 0;
    if (field(r->head, "Transfer-Encoding") != NULL)
        return -1; /* the servers here answer these requests with lengths */
    const char *cl = field(r->head, "Content-Length");
    r->body_left = 0;
    if (cl != NULL) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl)
            return -1;
        r->body_left = v;
    }
    r->head_length = 0;
    r->in_body = true;
    return 0;
}

/* Feeds bytes read; returns how many responses they completed (their
 * statuses: the first in *first_status), or -1 for a malformed one. */
static int reader_feed(reader *r, const char *p, size_t n, int *first_status)
{
    int complete = 0;
    r->bytes += n;
    while (n > 0) {
        if (!r->in_body) {
            size_t old = r->head_length;
            size_t space = HEAD_MAX - 1 - old;
            size_t take = n < space ? n : space;
            memcpy(r->head + old, p, take);
            r->head_length += take;
            r->head[r->head_length] = '\0';
            const char *from = r->head + (old > 3 ? old - 3 : 0);
            const char *end = strstr(from, "\r\n\r\n");
            if (end == NULL) {
                if (r->head_length >= HEAD_MAX - 1)
                    return -1;
                return complete;
            }
            size_t head_end = (size_t)(end - r->head) + 4;
            size_t used = head_end - old;
            r->head_length = head_end;
            if (reader_parse_head(r) < 0)
                return -1;
            p += used;
            n -= used;
        }
        uint64_t take = n < r->body_left ? n : r->body_left;
        r->body_left -= take;
        p += take;
        n -= take;
        if (r->body_left == 0) {
            r->in_body = false;
            if (complete == 0 && first_status != NULL)
                *first_status = r->status;
            complete++;
        }
    }
    return complete;
}

/* --- sockets ----------------------------------------------------------------
 */

/* A non-blocking socket connecting to the server: its descriptor (the
 * connection may still be in progress), or -1. */
static int open_socket(const options *o, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(fd, (const struct sockaddr *)&o->address, sizeof o->address) <
            0 &&
        errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Closes with a reset instead of a FIN: SO_LINGER with a zero timeout. */
static void close_with_reset(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

static bool wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - monotonic_ns();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)(left / 1000000) + 1);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

static bool send_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd, POLLOUT, deadline))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* Reads one whole response from fd: its status, or -1 (closed, error,
 * malformed, or the deadline passed). */
static int read_response(int fd, reader *r, int64_t deadline)
{
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            int status = 0;
            int done = reader_feed(r, buf, (size_t)n, &status);
            if (done < 0)
                return -1;
            if (done > 0)
                return status;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_fd(fd, POLLIN, deadline))
                return -1;
        } else {
            return -1;
        }
    }
}

/* One request on an open connection: its status, or -1. */
static int exchange(int fd, const request *q, int64_t deadline)
{
    reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    int status = -1;
    if (send_all(fd, q->bytes, q->length, deadline))
        status = read_response(fd, r, deadline);
    free(r);
    return status;
}

/* A normal client: a new connection, one request. Returns its latency in
 * ns (connect to the response's last byte), or -1; *status gets the status. */
static int64_t probe_once(const options *o, const request *q, int *status)
{
    int64_t start = monotonic_ns();
    int64_t deadline = start + ms_to_ns(o->timeout_ms);
    int fd = open_socket(o, 0);
    *status = -1;
    if (fd < 0)
        return -1;
    int error = 0;
    socklen_t length = sizeof error;
    if (!wait_fd(fd, POLLOUT, deadline) ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0 ||
        error != 0) {
        close(fd);
        return -1;
    }
    *status = exchange(fd, q, deadline);
    close(fd);
    return *status < 0 ? -1 : monotonic_ns() - start;
}

/* The normal client's figures while something else is going on. */
typedef struct probes {
    const request *q;
    int64_t next;
    unsigned long count, failed;
    int64_t max_ns, total_ns;
} probes;

static void probes_tick(probes *p, const options *o)
{
    if (o->probe_ms == 0 || monotonic_ns() < p->next)
        return;
    int status;
    int64_t t = probe_once(o, p->q, &status);
    p->count++;
    if (t < 0 || status != 200) {
        p->failed++;
    } else {
        p->total_ns += t;
        if (t > p->max_ns)
            p->max_ns = t;
    }
    p->next = monotonic_ns() + ms_to_ns(o->probe_ms);
}

static void probes_print(const probes *p)
{
    printf("probe requests: %lu\n", p->count);
    printf("probe failed: %lu\n", p->failed);
    unsigned long ok = p->count - p->failed;
    printf("probe mean ms: %.2f\n", ok ? ns_to_ms(p->total_ns) / ok : 0.0);
    printf("probe max ms: %.2f\n", ns_to_ms(p->max_ns));
}

/* --- the closed-loop engine: load, hold, inflight ---------------------------
 */

enum { GROUP_LOAD = 0, GROUP_SLOW = 1 };

typedef struct client {
    int fd;
    int group;
    bool started, connecting, open, busy, answered;
    size_t sent;
    int64_t sent_at;
    reader *r;
} client;

typedef struct engine {
    const options *o;
    int epoll;
    client *clients;
    size_t count;
    size_t next;      /* clients[next..] not started yet */
    size_t startable; /* clients[..startable] may start now */
    size_t connecting;
    request q[2];
    bool repeat[2];
    bool stopping; /* send no new requests */
    bool measuring;
    uint64_t responses, errors, bad_status, reconnects, refused;
    uint64_t truncated, unanswered, closed_idle;
    uint64_t answered[2];
    uint64_t *histogram; /* microseconds; the last bucket: anything longer */
    uint64_t max_us;
    int64_t stopped_at; /* the first sign of a stopping server (inflight) */
} engine;

static void watch(engine *e, client *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(e->epoll, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        epoll_ctl(e->epoll, EPOLL_CTL_ADD, c->fd, &ev);
}

static void client_close(engine *e, client *c)
{
    if (c->fd >= 0) {
        if (c->connecting)
            e->connecting--;
        close(c->fd);
    }
    c->fd = -1;
    c->open = c->connecting = c->busy = false;
    memset(c->r, 0, sizeof *c->r);
}

static void client_send(engine *e, client *c);

static void client_start(engine *e, client *c)
{
    c->started = true;
    c->fd = open_socket(e->o, 0);
    if (c->fd < 0) {
        e->errors++;
        return;
    }
    c->connecting = true;
    e->connecting++;
    watch(e, c, EPOLLOUT);
}

static void client_send(engine *e, client *c)
{
    const request *q = &e->q[c->group];
    if (!c->busy) {
        c->busy = true;
        c->sent = 0;
        c->sent_at = monotonic_ns();
    }
    while (c->sent < q->length) {
        ssize_t w =
            send(c->fd, q->bytes + c->sent, q->length - c->sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN)
            break;
        if (w < 0) {
            e->errors++;
            client_close(e, c);
            return;
        }
        c->sent += (size_t)w;
    }
    watch(e, c, c->sent < q->length ? EPOLLOUT : EPOLLIN);
}

static void record(engine *e, int64_t ns)
{
    uint64_t us = (uint64_t)(ns / 1000);
    if (us > e->max_us)
        e->max_us = us;
    e->histogram[us < HISTOGRAM_US ? us : HISTOGRAM_US]++;
}

static void client_connected(engine *e, client *c)
{
    int error = 0;
    socklen_t length = sizeof error;
    c->connecting = false;
    e->connecting--;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0 ||
        error != 0) {
        /* After a stop has been seen, a refused connection is the server
         * having closed its listener: expected, not an error. */
        if (e->stopped_at != 0)
            e->refused++;
        else
            e->errors++;
        client_close(e, c);
        return;
    }
    c->open = true;
    if (e->stopping)
        watch(e, c, EPOLLIN);
    else
        client_send(e, c);
}

static void client_readable(engine *e, client *c)
{
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            /* The server closed, or reset. */
            if (c->busy && reader_partial(c->r))
                e->truncated++;
            else if (c->busy)
                e->unanswered++;
            else
                e->closed_idle++;
            client_close(e, c);
            return;
        }
        int status = 0;
        int done = reader_feed(c->r, buf, (size_t)n, &status);
        if (done < 0) {
            e->errors++;
            client_close(e, c);
            return;
        }
        if (done == 0)
            continue;
        if (!c->busy) { /* an answer to nothing */
            e->errors++;
            client_close(e, c);
            return;
        }
        c->busy = false;
        c->answered = true;
        e->answered[c->group]++;
        if (status < 200 || status > 299)
            e->bad_status++;
        if (e->measuring) {
            e->responses++;
            record(e, monotonic_ns() - c->sent_at);
        }
        bool again = e->repeat[c->group] && !e->stopping;
        if (c->r->closes) {
            client_close(e, c);
            if (again) {
                e->reconnects++;
                client_start(e, c);
            }
            return;
        }
        if (again)
            client_send(e, c);
        else
            watch(e, c, EPOLLIN | EPOLLRDHUP);
        return;
    }
}

static int engine_open(engine *e, const options *o, size_t count)
{
    *e = (engine){.o = o, .count = count, .startable = count};
    e->epoll = epoll_create1(EPOLL_CLOEXEC);
    e->clients = calloc(count, sizeof *e->clients);
    e->histogram = calloc(HISTOGRAM_US + 1, sizeof *e->histogram);
    if (e->epoll < 0 || e->clients == NULL || e->histogram == NULL)
        return -1;
    for (size_t i = 0; i < count; i++) {
        e->clients[i].fd = -1;
        e->clients[i].r = calloc(1, sizeof(reader));
        if (e->clients[i].r == NULL)
            return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    return epoll_ctl(e->epoll, EPOLL_CTL_ADD, stop_signals_fd(), &ev);
}

static void engine_close(engine *e)
{
    for (size_t i = 0; i < e->count; i++) {
        client_close(e, &e->clients[i]);
        free(e->clients[i].r);
    }
    free(e->clients);
    free(e->histogram);
    free(e->q[0].bytes);
    free(e->q[1].bytes);
    close(e->epoll);
}

/* One turn: start clients (a bounded number connecting at once), then
 * wait up to wait_ms for events. False once a stop signal has come. */
static bool engine_turn(engine *e, int wait_ms)
{
    while (e->next < e->startable && e->connecting < CONNECTING_AT_ONCE)
        client_start(e, &e->clients[e->next++]);
    struct epoll_event events[EVENTS];
    int n = epoll_wait(e->epoll, events, EVENTS, wait_ms);
    bool signalled = false;
    for (int i = 0; i < n; i++) {
        client *c = events[i].data.ptr;
        if (c == NULL) {
            signalled = true;
        } else if (c->fd < 0) {
            continue; /* closed earlier in this batch */
        } else if (c->connecting) {
            if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
                client_connected(e, c);
        } else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            client_readable(e, c);
        } else if (events[i].events & EPOLLOUT) {
            client_send(e, c);
        }
    }
    return !signalled;
}

static size_t engine_busy(const engine *e)
{
    size_t busy = 0;
    for (size_t i = 0; i < e->count; i++)
        busy += e->clients[i].busy || e->clients[i].connecting;
    return busy;
}

static size_t engine_open_count(const engine *e)
{
    size_t open = 0;
    for (size_t i = 0; i < e->count; i++)
        open += e->clients[i].fd >= 0;
    return open;
}

static uint64_t percentile(const engine *e, double p)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= HISTOGRAM_US; i++)
        total += e->histogram[i];
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)(p * (double)total);
    if (rank >= total)
        rank = total - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i <= HISTOGRAM_US; i++) {
        seen += e->histogram[i];
        if (seen > rank)
            return i < HISTOGRAM_US ? i : e->max_us;
    }
    return e->max_us;
}

static int run_load(const options *o)
{
    engine e;
    if (engine_open(&e, o, o->clients) < 0)
        die(PROGRAM, "cannot set up: %s", strerror(errno));
    e.q[GROUP_LOAD] = request_make(o, o->path, o->body_bytes, o->close);
    e.repeat[GROUP_LOAD] = true;
    int64_t start = monotonic_ns();
    int64_t measure_from = start + ms_to_ns(o->warmup_ms);
    int64_t until = measure_from + ms_to_ns(o->duration_ms);
    int64_t give_up = until + ms_to_ns(o->timeout_ms);
    bool signalled = false;
    while (!signalled) {
        int64_t t = monotonic_ns();
        if (!e.measuring && !e.stopping && t >= measure_from)
            e.measuring = true; /* errors count from the start, though */
        if (!e.stopping && t >= until) {
            e.stopping = true;
            e.next = e.count; /* start no one else */
        }
        if (e.stopping && (engine_busy(&e) == 0 || t >= give_up))
            break;
        signalled = !engine_turn(&e, 10);
    }
    /* Still waiting at the end: a response that never came. */
    size_t stuck = engine_busy(&e);
    double seconds = (double)(monotonic_ns() - measure_from) / 1e9;
    if (e.stopping && seconds > (double)o->duration_ms / 1000.0)
        seconds = (double)o->duration_ms / 1000.0;
    printf("clients: %lu\n", o->clients);
    printf("requests: %llu\n", (unsigned long long)e.responses);
    printf("requests/s: %.0f\n",
           seconds > 0 ? (double)e.responses / seconds : 0.0);
    printf("p50 us: %llu\n", (unsigned long long)percentile(&e, 0.50));
    printf("p99 us: %llu\n", (unsigned long long)percentile(&e, 0.99));
    printf("max us: %llu\n", (unsigned long long)e.max_us);
    printf("reconnects: %llu\n", (unsigned long long)e.reconnects);
    printf("bad status: %llu\n", (unsigned long long)e.bad_status);
    printf("stuck: %zu\n", stuck);
    printf("errors: %llu\n",
           (unsigned long long)(e.errors + e.truncated + e.unanswered +
                                e.closed_idle + e.bad_status + stuck));
    engine_close(&e);
    return 0;
}

/* hold: every client gets one answer, then all stay open and idle until a
 * stop signal (or --hold-ms). */
static int run_hold(const options *o)
{
    engine e;
    if (engine_open(&e, o, o->clients) < 0)
        die(PROGRAM, "cannot set up: %s", strerror(errno));
    e.q[GROUP_LOAD] = request_make(o, o->path, 0, false);
    e.measuring = true;
    int64_t give_up = monotonic_ns() + ms_to_ns(o->timeout_ms);
    bool signalled = false;
    while (!signalled && (e.next < e.count || engine_busy(&e) > 0) &&
           monotonic_ns() < give_up)
        signalled = !engine_turn(&e, 10);
    size_t held = 0;
    for (size_t i = 0; i < e.count; i++)
        held +=
            e.clients[i].fd >= 0 && e.clients[i].answered && !e.clients[i].busy;
    printf("held: %zu\n", held);
    printf("failed: %zu\n", (size_t)o->clients - held);
    printf("p99 us: %llu\n", (unsigned long long)percentile(&e, 0.99));
    fflush(stdout);
    int64_t until = monotonic_ns() + ms_to_ns(o->hold_ms);
    while (!signalled && monotonic_ns() < until)
        signalled = !engine_turn(&e, 100);
    printf("closed by the server while held: %llu\n",
           (unsigned long long)e.closed_idle);
    engine_close(&e);
    return 0;
}

/* A figure from the server's /stats JSON: the number after "name": . */
static long json_number(const char *text, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(text, key);
    return p == NULL ? -1 : strtol(p + strlen(key), NULL, 10);
}

/* Asks the server's /stats once: true when it shows at least `want`
 * requests busy or queued in its pool. */
static bool pool_busy(const options *o, long want)
{
    request q = request_make(o, o->stats_path, 0, true);
    int64_t deadline = monotonic_ns() + ms_to_ns(1000);
    char text[8192];
    size_t length = 0;
    int fd = open_socket(o, 0);
    if (fd >= 0 && wait_fd(fd, POLLOUT, deadline) &&
        send_all(fd, q.bytes, q.length, deadline)) {
        while (length < sizeof text - 1 && wait_fd(fd, POLLIN, deadline)) {
            ssize_t n = recv(fd, text + length, sizeof text - 1 - length, 0);
            if (n <= 0)
                break;
            length += (size_t)n;
        }
    }
    if (fd >= 0)
        close(fd);
    free(q.bytes);
    text[length] = '\0';
    long busy = json_number(text, "busy");
    long queued = json_number(text, "queued");
    return busy >= 0 && queued >= 0 && busy + queued >= want;
}

/* inflight: --slow connections each send one slow request (--slow-path),
 * -c connections run a closed loop of --path. Once the slow ones are all
 * in the server (its --stats-path says so), "in flight" is printed: the
 * script sends SIGTERM then. Runs until the server has closed everything. */
static int run_inflight(const options *o)
{
    engine e;
    if (engine_open(&e, o, o->clients + o->slow) < 0)
        die(PROGRAM, "cannot set up: %s", strerror(errno));
    e.q[GROUP_LOAD] = request_make(o, o->path, 0, false);
    e.q[GROUP_SLOW] = request_make(o, o->slow_path, 0, false);
    e.repeat[GROUP_LOAD] = true;
    e.repeat[GROUP_SLOW] = false;
    e.measuring = true;
    for (size_t i = o->clients; i < e.count; i++)
        e.clients[i].group = GROUP_SLOW;
    /* The load runs alone for --warmup-ms, then the slow ones start. */
    e.startable = o->clients;
    int64_t start = monotonic_ns();
    int64_t slow_from = start + ms_to_ns(o->warmup_ms);
    int64_t give_up = slow_from + ms_to_ns(o->timeout_ms);
    int64_t next_check = start;
    bool announced = false;
    bool signalled = false;
    while (!signalled && monotonic_ns() < give_up) {
        if (e.startable < e.count && monotonic_ns() >= slow_from)
            e.startable = e.count;
        if (!announced && monotonic_ns() >= next_check) {
            size_t sent = 0;
            for (size_t i = o->clients; i < e.count; i++)
                sent += e.clients[i].busy &&
                        e.clients[i].sent == e.q[GROUP_SLOW].length;
            /* Sent is not enough: in flight means the server has them. Its
             * /stats is asked between turns, the load running meanwhile. */
            if (sent == o->slow && e.next == e.count &&
                (o->stats_path == NULL || pool_busy(o, (long)o->slow))) {
                printf("in flight: %lu\n", o->slow);
                fflush(stdout);
                announced = true;
                e.stopped_at = monotonic_ns(); /* refusals count as expected */
            }
            next_check = monotonic_ns() + ms_to_ns(20);
        } else if (announced && engine_open_count(&e) == 0) {
            break;
        }
        signalled = !engine_turn(&e, 5);
    }
    if (!announced)
        printf("in flight: never (the server did not show them busy)\n");
    printf("slow answered: %llu of %lu\n",
           (unsigned long long)e.answered[GROUP_SLOW], o->slow);
    printf("load responses: %llu\n",
           (unsigned long long)e.answered[GROUP_LOAD]);
    printf("truncated responses: %llu\n", (unsigned long long)e.truncated);
    printf("bad status: %llu\n", (unsigned long long)e.bad_status);
    printf("errors: %llu\n", (unsigned long long)e.errors);
    printf("closed before an answer (idle to the server): %llu\n",
           (unsigned long long)e.unanswered);
    printf("refused after the stop: %llu\n", (unsigned long long)e.refused);
    printf("still open: %zu\n", engine_open_count(&e));
    engine_close(&e);
    return 0;
}

/* --- slowloris --------------------------------------------------------------
 */

/* partial: -c connections, each sends a request head without its final
 * empty line, then holds it until a stop signal (or --hold-ms): what a
 * server holds for a request in the middle of arriving. */
static int run_partial(const options *o)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " PROGRAM
                     "\r\nAccept: */*\r\n",
                     o->path, o->host);
    if (n < 0 || (size_t)n >= sizeof head)
        die(PROGRAM, "path too long: %s", o->path);
    int *fds = calloc(o->clients, sizeof *fds);
    if (fds == NULL)
        die(PROGRAM, "out of memory");
    int64_t deadline = monotonic_ns() + ms_to_ns(o->timeout_ms);
    size_t held = 0;
    for (size_t i = 0; i < (size_t)o->clients && !stop_requested(); i++) {
        fds[i] = open_socket(o, 0);
        if (fds[i] >= 0 && wait_fd(fds[i], POLLOUT, deadline) &&
            send_all(fds[i], head, (size_t)n, deadline))
            held++;
    }
    printf("head bytes: %d\n", n);
    printf("held: %zu\n", held);
    printf("failed: %zu\n", (size_t)o->clients - held);
    fflush(stdout);
    int64_t until = monotonic_ns() + ms_to_ns(o->hold_ms);
    while (!stop_requested() && monotonic_ns() < until)
        poll(NULL, 0, 50);
    size_t closed = 0;
    for (size_t i = 0; i < (size_t)o->clients; i++) {
        if (fds[i] < 0)
            continue;
        char byte;
        ssize_t r = recv(fds[i], &byte, 1, MSG_DONTWAIT);
        closed += r == 0 || (r > 0) || (r < 0 && errno != EAGAIN);
        close(fds[i]);
    }
    printf("answered or closed by the server while held: %zu\n", closed);
    free(fds);
    return 0;
}

static int run_slowloris(const options *o)
{
    static const char drip[] = "GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: ";
    size_t n = o->clients;
    int *fds = calloc(n, sizeof *fds);
    size_t *offset = calloc(n, sizeof *offset);
    int64_t *first_byte = calloc(n, sizeof *first_byte);
    int64_t *closed_at = calloc(n, sizeof *closed_at);
    struct pollfd *p = calloc(n, sizeof *p);
    size_t *index = calloc(n, sizeof *index);
    if (!fds || !offset || !first_byte || !closed_at || !p || !index)
        die(PROGRAM, "out of memory");
    size_t opened = 0;
    for (size_t i = 0; i < n; i++) {
        fds[i] = open_socket(o, 0);
        opened += fds[i] >= 0;
    }
    request q = request_make(o, o->probe, 0, true);
    probes pr = {.q = &q};
    int64_t start = monotonic_ns();
    int64_t until = start + ms_to_ns(o->duration_ms);
    int64_t next_drip = start;
    size_t closed = 0, never_connected = 0;
    while (monotonic_ns() < until && !stop_requested()) {
        int64_t t = monotonic_ns();
        if (t >= next_drip) {
            for (size_t i = 0; i < n; i++) {
                if (fds[i] < 0 || closed_at[i] != 0)
                    continue;
                /* The header never ends: after the prefix, 'a' forever. */
                char byte = offset[i] < sizeof drip - 1 ? drip[offset[i]] : 'a';
                ssize_t w = send(fds[i], &byte, 1, MSG_NOSIGNAL);
                if (w == 1) {
                    if (offset[i]++ == 0)
                        first_byte[i] = monotonic_ns();
                } else if (errno != EAGAIN && errno != ENOTCONN) {
                    closed_at[i] = monotonic_ns();
                    closed++;
                }
            }
            next_drip = t + ms_to_ns(o->drip_ms);
        }
        /* Which ones has the server closed? */
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (fds[i] >= 0 && closed_at[i] == 0 && offset[i] > 0) {
                index[m] = i;
                p[m++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
            }
        if (m > 0 && poll(p, (nfds_t)m, 0) > 0) {
            for (size_t k = 0; k < m; k++) {
                if (!(p[k].revents & (POLLIN | POLLERR | POLLHUP)))
                    continue;
                char buf[4096];
                ssize_t r = recv(p[k].fd, buf, sizeof buf, MSG_DONTWAIT);
                if (r > 0)
                    continue; /* an answer (408?); the close comes next */
                if (r < 0 && errno == EAGAIN)
                    continue;
                closed_at[index[k]] = monotonic_ns();
                closed++;
            }
        }
        probes_tick(&pr, o);
        if (closed == opened && pr.count > 0)
            break;
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
    }
    int64_t min_after = -1, max_after = -1;
    for (size_t i = 0; i < n; i++) {
        if (fds[i] < 0)
            continue;
        if (offset[i] == 0)
            never_connected++;
        if (closed_at[i] != 0 && first_byte[i] != 0) {
            int64_t after = closed_at[i] - first_byte[i];
            if (min_after < 0 || after < min_after)
                min_after = after;
            if (after > max_after)
                max_after = after;
        }
        close(fds[i]);
    }
    printf("slow connections: %zu\n", opened);
    printf("never got a byte out: %zu\n", never_connected);
    printf("closed by the server: %zu\n", closed);
    printf("closed after first byte, min ms: %.0f\n",
           min_after < 0 ? -1.0 : ns_to_ms(min_after));
    printf("closed after first byte, max ms: %.0f\n",
           max_after < 0 ? -1.0 : ns_to_ms(max_after));
    probes_print(&pr);
    free(q.bytes);
    free(fds);
    free(offset);
    free(first_byte);
    free(closed_at);
    free(p);
    free(index);
    return 0;
}

/* --- resets -----------------------------------------------------------------
 */

/* reset --mode request: a head and half the body, then RST.
 * reset --mode response: a whole request for a large response, read its
 * first bytes, then RST. -c at once, --rounds times. */
static int run_reset(const options *o)
{
    bool mid_response = strcmp(o->mode, "response") == 0;
    if (!mid_response && strcmp(o->mode, "request") != 0)
        die(PROGRAM, "bad mode '%s': want request or response", o->mode);
    size_t body = o->body_bytes;
    request q = request_make(o, o->path, body, false);
    /* Mid-request: half the body, or half the head when there is none. */
    size_t length = mid_response ? q.length
                    : body > 0   ? q.length - body / 2
                                 : q.length / 2;
    int *fds = calloc(o->clients, sizeof *fds);
    if (fds == NULL)
        die(PROGRAM, "out of memory");
    unsigned long resets = 0, failed = 0;
    uint64_t response_bytes = 0;
    for (unsigned long round = 0; round < o->rounds && !stop_requested();
         round++) {
        int64_t deadline = monotonic_ns() + ms_to_ns(o->timeout_ms);
        for (size_t i = 0; i < o->clients; i++) {
            /* A small receive window keeps the response in the server. */
            fds[i] = open_socket(o, mid_response ? 4096 : 0);
            if (fds[i] >= 0 && (!wait_fd(fds[i], POLLOUT, deadline) ||
                                !send_all(fds[i], q.bytes, length, deadline))) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
        for (size_t i = 0; i < o->clients; i++) {
            if (fds[i] < 0) {
                failed++;
                continue;
            }
            bool ok = true;
            if (mid_response) {
                char buf[1024];
                ok = wait_fd(fds[i], POLLIN, deadline);
                ssize_t n = ok ? recv(fds[i], buf, sizeof buf, 0) : -1;
                ok = n > 0;
                if (ok)
                    response_bytes += (uint64_t)n;
            } else {
                /* Let the server take the half request before the reset. */
                struct pollfd pf = {.fd = fds[i], .events = POLLIN};
                poll(&pf, 1, 1);
            }
            close_with_reset(fds[i]);
            if (ok)
                resets++;
            else
                failed++;
        }
    }
    printf("reset in the middle of a %s: %lu\n",
           mid_response ? "response" : "request", resets);
    printf("failed before the reset: %lu\n", failed);
    if (mid_response)
        printf("response bytes read before the resets, mean: %.0f\n",
               resets ? (double)response_bytes / (double)resets : 0.0);
    free(fds);
    free(q.bytes);
    return 0;
}

/* --- clients that never read ------------------------------------------------
 */

/* noread: -c connections with a small receive window pipeline requests
 * until the server stops taking them, then hold for -d ms without reading
 * a byte, while the normal client keeps asking. */
static int run_noread(const options *o)
{
    size_t n = o->clients;
    int *fds = calloc(n, sizeof *fds);
    int64_t *last_progress = calloc(n, sizeof *last_progress);
    size_t *offset = calloc(n, sizeof *offset); /* into the request */
    bool *stuck = calloc(n, sizeof *stuck);
    struct pollfd *p = calloc(n, sizeof *p);
    size_t *index = calloc(n, sizeof *index);
    if (!fds || !last_progress || !offset || !stuck || !p || !index)
        die(PROGRAM, "out of memory");
    request q = request_make(o, o->path, 0, false);
    request pq = request_make(o, o->probe, 0, true);
    for (size_t i = 0; i < n; i++) {
        fds[i] = open_socket(o, (int)o->rcvbuf);
        last_progress[i] = monotonic_ns();
    }
    /* Pipeline until each connection has made no progress for 500 ms. */
    uint64_t requests = 0;
    size_t stuck_count = 0, dead = 0;
    int64_t deadline = monotonic_ns() + ms_to_ns(o->timeout_ms);
    probes pr = {.q = &pq};
    while (stuck_count + dead < n && monotonic_ns() < deadline) {
        probes_tick(&pr, o);
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (fds[i] < 0 || stuck[i])
                continue;
            index[m] = i;
            p[m++] = (struct pollfd){.fd = fds[i], .events = POLLOUT};
        }
        poll(p, (nfds_t)m, 50);
        int64_t t = monotonic_ns();
        for (size_t k = 0; k < m; k++) {
            size_t i = index[k];
            if (p[k].revents & POLLOUT) {
                /* Whole requests back to back: a partial send goes on
                 * where it stopped. */
                ssize_t w = send(fds[i], q.bytes + offset[i],
                                 q.length - offset[i], MSG_NOSIGNAL);
                if (w > 0) {
                    offset[i] += (size_t)w;
                    if (offset[i] == q.length) {
                        offset[i] = 0;
                        requests++;
                    }
                    last_progress[i] = t;
                    continue;
                }
                if (w < 0 && errno != EAGAIN) {
                    close(fds[i]);
                    fds[i] = -1;
                    dead++;
                    continue;
                }
            }
            if (t - last_progress[i] > ms_to_ns(500)) {
                stuck[i] = true;
                stuck_count++;
            }
        }
    }
    printf("stuck: %zu of %zu\n", stuck_count, n);
    printf("closed by the server while sending: %zu\n", dead);
    printf("requests pipelined: %llu\n", (unsigned long long)requests);
    fflush(stdout);
    int64_t until = monotonic_ns() + ms_to_ns(o->duration_ms);
    while (monotonic_ns() < until && !stop_requested()) {
        probes_tick(&pr, o);
        struct timespec pause = {0, 5000000};
        nanosleep(&pause, NULL);
    }
    probes_print(&pr);
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close_with_reset(fds[i]);
    free(q.bytes);
    free(pq.bytes);
    free(fds);
    free(last_progress);
    free(offset);
    free(stuck);
    free(p);
    free(index);
    return 0;
}

/* --- descriptor exhaustion --------------------------------------------------
 */

/* The CPU time (user + system) a process has used, in ms; -1 if unknown. */
static long cpu_ms(unsigned long pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%lu/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strrchr(text, ')'); /* the name may hold spaces */
    unsigned long utime, stime;
    if (p == NULL || sscanf(p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%lu %lu",
                            &utime, &stime) != 2)
        return -1;
    long ticks = sysconf(_SC_CLK_TCK);
    return (long)((utime + stime) * 1000 / (unsigned long)ticks);
}

static long fd_count(unsigned long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%lu/fd", pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    long count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL)
        count += entry->d_name[0] != '.';
    closedir(d);
    return count;
}

typedef struct pending {
    int fd;
    bool sent, answered;
    reader *r;
} pending;

/* Sends the request on every connection not yet sent, reads answers, for
 * up to `ms` or until none is answered for `quiet_ms`. Returns answered. */
static size_t pending_pump(pending *c, size_t n, const request *q, long ms,
                           long quiet_ms)
{
    struct pollfd *p = calloc(n, sizeof *p);
    size_t *index = calloc(n, sizeof *index);
    if (p == NULL || index == NULL)
        die(PROGRAM, "out of memory");
    int64_t start = monotonic_ns(), last = start;
    for (;;) {
        int64_t t = monotonic_ns();
        if (t - start > ms_to_ns((unsigned long)ms) ||
            (quiet_ms > 0 && t - last > ms_to_ns((unsigned long)quiet_ms)))
            break;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (c[i].fd < 0 || c[i].answered)
                continue;
            index[m] = i;
            p[m++] = (struct pollfd){.fd = c[i].fd,
                                     .events = c[i].sent ? POLLIN : POLLOUT};
        }
        if (m == 0)
            break;
        if (poll(p, (nfds_t)m, 20) <= 0)
            continue;
        for (size_t k = 0; k < m; k++) {
            pending *x = &c[index[k]];
            if (p[k].revents == 0)
                continue;
            if (!x->sent) {
                x->sent = send(x->fd, q->bytes, q->length, MSG_NOSIGNAL) ==
                          (ssize_t)q->length;
                if (!x->sent) {
                    close(x->fd);
                    x->fd = -1;
                }
                continue;
            }
            char buf[4096];
            ssize_t r = recv(x->fd, buf, sizeof buf, 0);
            int status = 0;
            if (r > 0 && reader_feed(x->r, buf, (size_t)r, &status) > 0) {
                x->answered = status == 200;
                last = monotonic_ns();
            } else if (r == 0 || (r < 0 && errno != EAGAIN)) {
                close(x->fd); /* closed without an answer */
                x->fd = -1;
            }
        }
    }
    size_t answered = 0;
    for (size_t i = 0; i < n; i++)
        answered += c[i].answered;
    free(p);
    free(index);
    return answered;
}

/* exhaust: for a server started with a low descriptor limit (--pid names
 * it). One keeper connection; then -c more, each with a request, more than
 * the server can hold; while it is out of descriptors, the keeper must
 * still be served and the server must not spin; once the answered ones
 * close, the waiting ones must be answered. */
static int run_exhaust(const options *o)
{
    if (o->pid == 0)
        die(PROGRAM, "exhaust needs --pid (the server's process id)");
    request q = request_make(o, o->path, 0, false);
    int64_t deadline = monotonic_ns() + ms_to_ns(o->timeout_ms);
    int keeper = open_socket(o, 0);
    if (keeper < 0 || !wait_fd(keeper, POLLOUT, deadline) ||
        exchange(keeper, &q, deadline) != 200)
        die(PROGRAM, "the keeper connection got no answer");
    long fds_before = fd_count(o->pid);

    size_t n = o->clients;
    pending *c = calloc(n, sizeof *c);
    if (c == NULL)
        die(PROGRAM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        c[i].fd = open_socket(o, 0);
        c[i].r = calloc(1, sizeof(reader));
        if (c[i].r == NULL)
            die(PROGRAM, "out of memory");
    }
    size_t first = pending_pump(c, n, &q, (long)o->timeout_ms, 500);
    long fds_full = fd_count(o->pid);
    printf("connections: %zu\n", n);
    printf("answered before the limit: %zu\n", first);
    printf("server descriptors: %ld before, %ld at the limit\n", fds_before,
           fds_full);
    fflush(stdout);

    /* Out of descriptors: the keeper is served, the CPU stays quiet. */
    long cpu_before = cpu_ms(o->pid);
    int64_t until = monotonic_ns() + ms_to_ns(o->duration_ms);
    unsigned long keeper_ok = 0, keeper_total = 0;
    int64_t keeper_max = 0;
    while (monotonic_ns() < until) {
        int64_t t0 = monotonic_ns();
        keeper_total++;
        if (exchange(keeper, &q, t0 + ms_to_ns(o->timeout_ms)) == 200) {
            keeper_ok++;
            if (monotonic_ns() - t0 > keeper_max)
                keeper_max = monotonic_ns() - t0;
        }
        struct timespec pause = {0, 100000000};
        nanosleep(&pause, NULL);
    }
    long cpu_after = cpu_ms(o->pid);
    printf("keeper requests while out of descriptors: %lu of %lu, max ms "
           "%.2f\n",
           keeper_ok, keeper_total, ns_to_ms(keeper_max));
    printf("server cpu ms while out of descriptors: %ld in %lu ms\n",
           cpu_after - cpu_before, o->duration_ms);

    /* Free descriptors: the answered ones go, the waiting ones must come. */
    size_t waiting = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].answered) {
            close(c[i].fd);
            c[i].fd = -1;
        } else if (c[i].fd >= 0) {
            waiting++;
        }
    }
    int64_t t0 = monotonic_ns();
    size_t later = pending_pump(c, n, &q, (long)o->timeout_ms, 0) - first;
    printf("waiting: %zu\n", waiting);
    printf("answered after descriptors freed: %zu of %zu in %.0f ms\n", later,
           waiting, ns_to_ms(monotonic_ns() - t0));
    for (size_t i = 0; i < n; i++) {
        if (c[i].fd >= 0)
            close(c[i].fd);
        free(c[i].r);
    }
    close(keeper);
    free(c);
    free(q.bytes);
    return 0;
}

/* --- get --------------------------------------------------------------------
 */

static int run_get(const options *o)
{
    request q = request_make(o, o->path, o->body_bytes, true);
    int64_t deadline = monotonic_ns() + ms_to_ns(o->timeout_ms);
    int fd = open_socket(o, 0);
    reader *r = calloc(1, sizeof *r);
    int status = -1;
    if (fd >= 0 && r != NULL && wait_fd(fd, POLLOUT, deadline) &&
        send_all(fd, q.bytes, q.length, deadline))
        status = read_response(fd, r, deadline);
    if (fd >= 0)
        close(fd);
    free(q.bytes);
    if (status >= 0) {
        printf("status: %d\n", status);
        /* Everything read after the head is the body. */
        const char *end = strstr(r->head, "\r\n\r\n");
        size_t head = end ? (size_t)(end - r->head) + 4 : 0;
        printf("body bytes: %llu\n", (unsigned long long)(r->bytes - head));
    }
    free(r);
    if (status < 0)
        die(PROGRAM, "no response from %s", o->host);
    return 0;
}

/* free-port: a port nothing listens on now, for a server that cannot be
 * told "port 0" and report what it got (nginx). It could be taken again
 * before it is used: the caller retries. */
static int run_free_port(const char *host)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        die(PROGRAM, "bad address '%s': want an IPv4 address", host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t length = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &length) < 0)
        die(PROGRAM, "cannot find a free port: %s", strerror(errno));
    close(fd);
    printf("%u\n", (unsigned)ntohs(a.sin_port));
    return 0;
}

/* --- main -------------------------------------------------------------------
 */

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: " PROGRAM " COMMAND -p PORT [options]\n"
        "Load and fault clients for the benchmark and the stress "
        "tests.\n"
        "\n"
        "Commands:\n"
        "  get        one request; prints its status and body size\n"
        "  load       -c keep-alive connections in a closed loop for "
        "-d ms\n"
        "  hold       -c connections, one request each, held until "
        "SIGTERM\n"
        "  partial    -c connections, each with an unfinished head, "
        "held\n"
        "             until SIGTERM\n"
        "  slowloris  -c connections dripping a header byte every "
        "--drip-ms\n"
        "  reset      --mode request|response: reset mid-request or "
        "mid-response\n"
        "  noread     -c connections pipelining, never reading, for "
        "-d ms\n"
        "  exhaust    run a server (--pid) out of descriptors and back\n"
        "  inflight   --slow slow requests plus -c loading; for "
        "SIGTERM tests\n"
        "  free-port  prints a port free now (needs no -p)\n"
        "\n"
        "Options:\n"
        "  -p, --port PORT        the server's port (required)\n"
        "  -H, --host ADDRESS     its IPv4 address (default 127.0.0.1)\n"
        "  -c, --clients N        connections (default 10)\n"
        "  -d, --duration-ms MS   how long (default 3000)\n"
        "      --warmup-ms MS     load: run MS ms before measuring; "
        "inflight:\n"
        "                         start the slow ones after MS ms "
        "(default 0)\n"
        "      --path PATH        what to ask for (default /hello)\n"
        "      --probe PATH       what the normal client asks for "
        "(default\n"
        "                         /hello)\n"
        "      --probe-ms MS      a normal request every MS ms "
        "(default 100)\n"
        "      --close            load: send Connection: close\n"
        "      --body-bytes N     POST a body of N bytes (default: "
        "GET)\n"
        "      --drip-ms MS       slowloris: one byte every MS ms "
        "(default 100)\n"
        "      --mode MODE        reset: request or response\n"
        "      --rounds N         reset: rounds of -c (default 5)\n"
        "      --rcvbuf BYTES     noread: receive buffer (default "
        "4096)\n"
        "      --pid PID          exhaust: the server's process id\n"
        "      --slow N           inflight: slow connections (default "
        "10)\n"
        "      --slow-path PATH   inflight: their request (default\n"
        "                         /sleep?ms=1000)\n"
        "      --stats-path PATH  inflight: where the server says what "
        "is busy\n"
        "      --hold-ms MS       hold, partial: at most this long (default "
        "600000)\n"
        "  -t, --timeout-ms MS    give up waiting after MS ms (default "
        "10000)\n"
        "  -h, --help             show this help\n");
}

int main(int argc, char **argv)
{
    enum {
        OPT_WARMUP = 256,
        OPT_PATH,
        OPT_PROBE,
        OPT_PROBE_MS,
        OPT_CLOSE,
        OPT_BODY,
        OPT_DRIP,
        OPT_MODE,
        OPT_ROUNDS,
        OPT_RCVBUF,
        OPT_PID,
        OPT_SLOW,
        OPT_SLOW_PATH,
        OPT_STATS_PATH,
        OPT_HOLD
    };
    static const struct option long_options[] = {
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},
        {"clients", required_argument, NULL, 'c'},
        {"duration-ms", required_argument, NULL, 'd'},
        {"warmup-ms", required_argument, NULL, OPT_WARMUP},
        {"path", required_argument, NULL, OPT_PATH},
        {"probe", required_argument, NULL, OPT_PROBE},
        {"probe-ms", required_argument, NULL, OPT_PROBE_MS},
        {"close", no_argument, NULL, OPT_CLOSE},
        {"body-bytes", required_argument, NULL, OPT_BODY},
        {"drip-ms", required_argument, NULL, OPT_DRIP},
        {"mode", required_argument, NULL, OPT_MODE},
        {"rounds", required_argument, NULL, OPT_ROUNDS},
        {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
        {"pid", required_argument, NULL, OPT_PID},
        {"slow", required_argument, NULL, OPT_SLOW},
        {"slow-path", required_argument, NULL, OPT_SLOW_PATH},
        {"stats-path", required_argument, NULL, OPT_STATS_PATH},
        {"hold-ms", required_argument, NULL, OPT_HOLD},
        {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    options o = {.path = "/hello",
                 .probe = "/hello",
                 .slow_path = "/sleep?ms=1000",
                 .mode = "request",
                 .clients = 10,
                 .slow = 10,
                 .duration_ms = 3000,
                 .timeout_ms = 10000,
                 .drip_ms = 100,
                 .probe_ms = 100,
                 .rounds = 5,
                 .rcvbuf = 4096,
                 .hold_ms = 600000};
    const char *host = "127.0.0.1";
    uint16_t port = 0;
    bool have_port = false;
    const unsigned long hour = 3600000;

    if (argc > 1 &&
        (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    const char *command = argv[1];
    optind = 2;
    int opt;
    while ((opt = getopt_long(argc, argv, "p:H:c:d:t:h", long_options, NULL)) !=
           -1) {
        switch (opt) {
        case 'p':
            if (!cli_parse_port(optarg, &port) || port == 0)
                die(PROGRAM, "bad port '%s': want 1 to 65535", optarg);
            have_port = true;
            break;
        case 'H': host = optarg; break;
        case 'c':
            o.clients = cli_ulong_or_die(PROGRAM, "client count", optarg, 1,
                                         MAX_CLIENTS);
            break;
        case 'd':
            o.duration_ms =
                cli_ulong_or_die(PROGRAM, "duration", optarg, 0, hour);
            break;
        case OPT_WARMUP:
            o.warmup_ms = cli_ulong_or_die(PROGRAM, "warm-up", optarg, 0, hour);
            break;
        case OPT_PATH: o.path = optarg; break;
        case OPT_PROBE: o.probe = optarg; break;
        case OPT_PROBE_MS:
            o.probe_ms =
                cli_ulong_or_die(PROGRAM, "probe interval", optarg, 0, hour);
            break;
        case OPT_CLOSE: o.close = true; break;
        case OPT_BODY:
            o.body_bytes =
                cli_ulong_or_die(PROGRAM, "body size", optarg, 0, 1ul << 30);
            break;
        case OPT_DRIP:
            o.drip_ms =
                cli_ulong_or_die(PROGRAM, "drip interval", optarg, 1, hour);
            break;
        case OPT_MODE: o.mode = optarg; break;
        case OPT_ROUNDS:
            o.rounds = cli_ulong_or_die(PROGRAM, "rounds", optarg, 1, 100000);
            break;
        case OPT_RCVBUF:
            o.rcvbuf = cli_ulong_or_die(PROGRAM, "receive buffer", optarg, 0,
                                        1ul << 26);
            break;
        case OPT_PID:
            o.pid = cli_ulong_or_die(PROGRAM, "pid", optarg, 1, 1ul << 30);
            break;
        case OPT_SLOW:
            o.slow = cli_ulong_or_die(PROGRAM, "slow count", optarg, 0, 10000);
            break;
        case OPT_SLOW_PATH: o.slow_path = optarg; break;
        case OPT_STATS_PATH: o.stats_path = optarg; break;
        case OPT_HOLD:
            o.hold_ms = cli_ulong_or_die(PROGRAM, "hold time", optarg, 0, hour);
            break;
        case 't':
            o.timeout_ms =
                cli_ulong_or_die(PROGRAM, "timeout", optarg, 1, hour);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    if (strcmp(command, "free-port") == 0)
        return run_free_port(host);
    if (!have_port)
        die(PROGRAM, "-p PORT is required (see --help)");
    o.address.sin_family = AF_INET;
    o.address.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &o.address.sin_addr) != 1)
        die(PROGRAM, "bad address '%s': want an IPv4 address", host);
    snprintf(o.host, sizeof o.host, "%s:%u", host, (unsigned)port);

    /* Thousands of connections need thousands of descriptors. */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
        limit.rlim_cur != limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));

    if (strcmp(command, "get") == 0)
        return run_get(&o);
    if (strcmp(command, "load") == 0)
        return run_load(&o);
    if (strcmp(command, "hold") == 0)
        return run_hold(&o);
    if (strcmp(command, "partial") == 0)
        return run_partial(&o);
    if (strcmp(command, "inflight") == 0)
        return run_inflight(&o);
    if (strcmp(command, "slowloris") == 0)
        return run_slowloris(&o);
    if (strcmp(command, "reset") == 0)
        return run_reset(&o);
    if (strcmp(command, "noread") == 0)
        return run_noread(&o);
    if (strcmp(command, "exhaust") == 0)
        return run_exhaust(&o);
    die(PROGRAM, "unknown command '%s' (see --help)", command);
}
