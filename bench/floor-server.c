/*
 * floor-server.c - the floor of the benchmark: the least an HTTP server
 * can do on this machine, to measure the others against.
 *
 * Each worker thread runs one epoll loop with its own listening socket
 * (SO_REUSEPORT: the kernel spreads new connections over the threads). It
 * answers every request with one fixed keep-alive response, and parses
 * nothing: a request is whatever ends with an empty line, "\r\n\r\n",
 * found by a four-state matcher that survives any split of the bytes.
 * There is no Date header, no routing, no limit and no timeout, and no
 * defence: out of descriptors, its accept loop spins (`stress-client
 * exhaust` shows it). That is why no real server should be this, and why
 * none can beat it by much: what it costs is what the kernel's loopback
 * and syscalls cost.
 *
 * Linux only (epoll, accept4, SO_REUSEPORT); the benchmark uses it, the
 * course's servers never do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "stop.h"

#define PROGRAM "floor-server"

enum {
    MAX_WORKERS = 64,
    EVENTS = 256,
    READ_BUFFER = 16384,
    BATCH = 64 /* responses written by one write() at most */
};

static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Server: floor\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 13\r\n"
                               "\r\n"
                               "Hello, world!";
#define RESPONSE_LENGTH (sizeof response - 1)

/* One connection: how far into "\r\n\r\n" the last bytes matched, and the
 * responses owed (pipelined requests, or a write that would have blocked). */
typedef struct conn {
    uint8_t matched;
    bool open;
    bool want_write;
    uint32_t owed;
    uint32_t sent; /* bytes of the first owed response already written */
} conn;

typedef struct floor_config {
    struct sockaddr_in address;
    int backlog;
} floor_config;

typedef struct worker {
    int listener;
    int epoll;
    conn *conns; /* shared by all workers, indexed by descriptor */
    size_t conns_size;
    pthread_t thread;
} worker;

static void usage(FILE *out)
{
    fprintf(out, "usage: " PROGRAM " [-p PORT] [-b ADDRESS] [--workers N]\n"
                 "Answers every request (anything ending with an empty line) "
                 "with a\n"
                 "fixed 13-byte keep-alive response, parsing nothing: the "
                 "benchmark's\n"
                 "floor.\n"
                 "\n"
                 "  -p, --port PORT     port (default 8080; 0: any free port)\n"
                 "  -b, --bind ADDRESS  IPv4 address (default 127.0.0.1)\n"
                 "  -w, --workers N     threads, each with its own epoll loop "
                 "and\n"
                 "                      SO_REUSEPORT listener (default 1)\n"
                 "  -h, --help          show this help\n");
}

static int open_listener(const floor_config *config)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0 ||
        bind(fd, (const struct sockaddr *)&config->address,
             sizeof config->address) < 0 ||
        listen(fd, config->backlog) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static void conn_close(worker *w, int fd)
{
    w->conns[fd] = (conn){0};
    close(fd); /* also removes it from the epoll set */
}

/* Writes what is owed, BATCH responses per call. False: the peer is gone. */
static bool conn_flush(worker *w, int fd)
{
    conn *c = &w->conns[fd];
    char out[BATCH * RESPONSE_LENGTH];
    while (c->owed > 0) {
        uint32_t n = c->owed < BATCH ? c->owed : BATCH;
        for (uint32_t i = 0; i < n; i++)
            memcpy(out + i * RESPONSE_LENGTH, response, RESPONSE_LENGTH);
        size_t length = n * RESPONSE_LENGTH - c->sent;
        ssize_t written = write(fd, out + c->sent, length);
        if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (written < 0)
            return false;
        size_t done = c->sent + (size_t)written;
        c->owed -= (uint32_t)(done / RESPONSE_LENGTH);
        c->sent = (uint32_t)(done % RESPONSE_LENGTH);
        if ((size_t)written < length)
            break;
    }
    bool want = c->owed > 0;
    if (want != c->want_write) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                                 .data.fd = fd};
        if (epoll_ctl(w->epoll, EPOLL_CTL_MOD, fd, &ev) < 0)
            return false;
        c->want_write = want;
    }
    return true;
}

/* Counts the requests that end in these bytes: a four-state match of
 * "\r\n\r\n" that carries over from one read to the next. */
static uint32_t count_requests(conn *c, const char *bytes, size_t n)
{
    static const char end[] = "\r\n\r\n";
    uint32_t found = 0;
    uint8_t m = c->matched;
    for (size_t i = 0; i < n; i++) {
        if (bytes[i] == end[m]) {
            if (++m == 4) {
                found++;
                m = 0;
            }
        } else {
            m = bytes[i] == '\r' ? 1 : 0;
        }
    }
    c->matched = m;
    return found;
}

static void conn_readable(worker *w, int fd)
{
    conn *c = &w->conns[fd];
    char in[READ_BUFFER];
    for (;;) {
        ssize_t n = read(fd, in, sizeof in);
        if (n > 0) {
            c->owed += count_requests(c, in, (size_t)n);
            if ((size_t)n < sizeof in)
                break;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        conn_close(w, fd); /* end of stream or error */
        return;
    }
    if (c->owed > 0 && !conn_flush(w, fd))
        conn_close(w, fd);
}

static void accept_all(worker *w)
{
    for (;;) {
        int fd = accept4(w->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: try on the next event */
        if ((size_t)fd >= w->conns_size) {
            close(fd);
            continue;
        }
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(w->epoll, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            continue;
        }
        w->conns[fd] = (conn){.open = true};
    }
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    stop_signals_block_in_thread();
    struct epoll_event events[EVENTS];
    int stop_fd = stop_signals_fd();
    bool running = true;
    while (running) {
        int n = epoll_wait(w->epoll, events, EVENTS, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_at(LOG_WARN, LOG_ERROR, PROGRAM, "epoll_wait: %s",
                   strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == stop_fd) {
                running = false;
            } else if (fd == w->listener) {
                accept_all(w);
            } else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                conn_readable(w, fd);
            } else if ((events[i].events & EPOLLOUT) && !conn_flush(w, fd)) {
                conn_close(w, fd);
            }
        }
    }
    return NULL;
}

static int worker_open(worker *w)
{
    w->epoll = epoll_create1(EPOLL_CLOEXEC);
    if (w->epoll < 0)
        return -1;
    struct epoll_event listen_ev = {.events = EPOLLIN, .data.fd = w->listener};
    struct epoll_event stop_ev = {.events = EPOLLIN,
                                  .data.fd = stop_signals_fd()};
    if (epoll_ctl(w->epoll, EPOLL_CTL_ADD, w->listener, &listen_ev) < 0 ||
        epoll_ctl(w->epoll, EPOLL_CTL_ADD, stop_signals_fd(), &stop_ev) < 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    uint16_t port = 8080;
    const char *bind_host = "127.0.0.1";
    unsigned long workers = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:w:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p':
            if (!cli_parse_port(optarg, &port))
                die(PROGRAM, "bad port '%s': want 0 to 65535", optarg);
            break;
        case 'b': bind_host = optarg; break;
        case 'w':
            workers = cli_ulong_or_die(PROGRAM, "worker count", optarg, 1,
                                       MAX_WORKERS);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);

    floor_config config = {.backlog = 4096};
    config.address.sin_family = AF_INET;
    config.address.sin_port = htons(port);
    if (inet_pton(AF_INET, bind_host, &config.address.sin_addr) != 1)
        die(PROGRAM, "bad address '%s': want an IPv4 address", bind_host);

    /* A table indexed by descriptor, as large as the descriptor limit
     * (raised to the hard limit): no allocation per connection. */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
        limit.rlim_cur != limit.rlim_max) {
        limit.rlim_cur =
            limit.rlim_max == RLIM_INFINITY ? 1048576 : limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    size_t conns_size =
        limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > 1048576
            ? 1048576
            : (size_t)limit.rlim_cur;
    conn *conns = calloc(conns_size, sizeof *conns);
    worker *pool = calloc(workers, sizeof *pool);
    if (conns == NULL || pool == NULL)
        die(PROGRAM, "out of memory");
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));

    /* The first listener finds the port (port 0: any free one); the others
     * bind the same port with SO_REUSEPORT. */
    for (unsigned long i = 0; i < workers; i++) {
        worker *w = &pool[i];
        w->conns = conns;
        w->conns_size = conns_size;
        w->listener = open_listener(&config);
        if (w->listener < 0)
            die(PROGRAM, "cannot listen on %s:%u: %s", bind_host,
                (unsigned)ntohs(config.address.sin_port), strerror(errno));
        if (i == 0) {
            struct sockaddr_in bound;
            socklen_t length = sizeof bound;
            if (getsockname(w->listener, (struct sockaddr *)&bound, &length) <
                0)
                die(PROGRAM, "getsockname: %s", strerror(errno));
            config.address.sin_port = bound.sin_port;
        }
        if (worker_open(w) < 0)
            die(PROGRAM, "cannot open an epoll loop: %s", strerror(errno));
    }
    for (unsigned long i = 0; i < workers; i++) {
        int rc = pthread_create(&pool[i].thread, NULL, worker_run, &pool[i]);
        if (rc != 0)
            die(PROGRAM, "cannot start a worker: %s", strerror(rc));
    }
    printf("listening on %s:%u\n", bind_host,
           (unsigned)ntohs(config.address.sin_port));
    fflush(stdout);

    for (unsigned long i = 0; i < workers; i++)
        pthread_join(pool[i].thread, NULL);
    for (size_t fd = 0; fd < conns_size; fd++)
        if (conns[fd].open)
            close((int)fd);
    for (unsigned long i = 0; i < workers; i++) {
        close(pool[i].listener);
        close(pool[i].epoll);
    }
    free(pool);
    free(conns);
    return 0;
}
