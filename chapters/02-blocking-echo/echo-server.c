/*
 * echo-server.c - an echo server built on blocking I/O: it sends back every
 * byte it receives.
 *
 * Two ways to serve clients, both with blocking reads and writes:
 *   iterative (the default)  one client at a time, in full, then the next;
 *                            everyone else waits in the kernel's backlog;
 *   --threads N              one thread per connection, at most N at once;
 *                            the N+1-th client waits in the backlog until a
 *                            thread finishes.
 *
 * A thread blocked in read(2) cannot be told to stop: a signal's EINTR is
 * retried by the Channel. So stopping is done the way Java does it when a
 * thread blocked in a channel is interrupted: another thread shuts the
 * socket down, and the blocked read returns end of stream. That other
 * thread is the stop watcher below; it waits for the stop pipe of
 * common/stop.h. The main thread never blocks in accept(2) itself: it
 * waits in poll(2) for a new client or for the watcher's "stop" byte.
 *
 * Teaching output (connections accepted and closed, with --trace every read
 * and write) goes to stdout, one line at a time; errors go to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "02-blocking-echo/channel.h"
#include "cli.h"
#include "log.h"
#include "stop.h"

static const char program[] = "echo-server";

typedef struct options {
    const char *bind;
    uint16_t port;
    unsigned long threads; /* 0: iterative */
    size_t buffer_size;
    int backlog;
    bool trace;
} options;

typedef struct echo_server echo_server;

/* One connection: its channel, its own buffer, and (with --threads) the
 * thread that serves it. */
typedef struct session {
    echo_server *server;
    unsigned long id;
    channel *client;
    buffer *buffer;
    pthread_t thread;
    struct session *next; /* in `active` or in `finished` */
} session;

struct echo_server {
    options options;
    channel *listener;
    unsigned long accepted;
    int wake[2];  /* written once on stop, never drained */
    int ended[2]; /* a byte per session thread that ended, to reap it */
    /* Shared between the main thread, the watcher and the sessions. */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a session ended, or the server stops */
    session *active;        /* sessions being served */
    session *finished;      /* threads that ended and wait to be joined */
    size_t active_count;
    bool stopping;
};

/* --- the echo loop ------------------------------------------------------ */

/* lab:begin trace "The echo loop" */
static void trace(const session *s, const char *what, ssize_t n)
{
    if (s->server->options.trace) {
        printf("connection %lu %s %zd bytes\n", s->id, what, n);
        fflush(stdout);
    }
}
/* lab:end trace */

/* Echoes until the client closes its side or an error; returns
 * CHANNEL_EOF or CHANNEL_ERROR (errno kept) and counts the bytes echoed. */
/* excerpt:begin echo */
static ssize_t echo(session *s, unsigned long long *echoed)
{
    /* lab:begin echo "The echo loop" errno = ENOSYS; return CHANNEL_ERROR; */
    buffer *buf = s->buffer;
    for (;;) {
        buffer_clear(buf);
        ssize_t n = channel_read(s->client, buf); /* blocks until bytes */
        if (n == CHANNEL_EOF || n == CHANNEL_ERROR)
            return n;
        trace(s, "read", n);
        buffer_flip(buf);
        /* A blocking write waits while the client's receive window is
         * full, so the loop ends with every byte handed to the kernel. */
        while (buffer_has_remaining(buf)) {
            ssize_t m = channel_write(s->client, buf);
            if (m == CHANNEL_ERROR)
                return m;
            trace(s, "wrote", m);
        }
        *echoed += (unsigned long long)n;
    }
    /* lab:end echo */
}
/* excerpt:end echo */

/* Serves one session to its end and says how it ended. */
static void serve(session *s)
{
    unsigned long long echoed = 0;
    ssize_t end = echo(s, &echoed);
    int error = errno;
    pthread_mutex_lock(&s->server->lock);
    bool stopping = s->server->stopping;
    pthread_mutex_unlock(&s->server->lock);
    if (stopping)
        printf("connection %lu closed after %llu bytes: server stopping\n",
               s->id, echoed);
    else if (end == CHANNEL_EOF)
        printf("connection %lu closed by the client after %llu bytes\n", s->id,
               echoed);
    else
        printf("connection %lu closed after %llu bytes: %s\n", s->id, echoed,
               strerror(error));
    fflush(stdout);
}

/* --- the set of open sessions, and stopping ----------------------------- */

/* Adds a session so that a stop can reach it; false when stopping. */
static bool add_session(echo_server *server, session *s)
{
    pthread_mutex_lock(&server->lock);
    bool ok = !server->stopping;
    if (ok) {
        s->next = server->active;
        server->active = s;
        server->active_count++;
    }
    pthread_mutex_unlock(&server->lock);
    return ok;
}

/* Takes a session out of `active`; with `to_finished`, queues it to be
 * joined. Called with the lock held. */
static void remove_session(echo_server *server, session *s, bool to_finished)
{
    for (session **p = &server->active; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    server->active_count--;
    if (to_finished) {
        s->next = server->finished;
        server->finished = s;
    }
    pthread_cond_broadcast(&server->changed);
}

/* Stops the server once (later calls do nothing): shuts down every open
 * connection, which wakes the threads blocked in its reads and writes,
 * and wakes the main thread. `signal` is the signal that asked, or 0. */
/* excerpt:begin stop */
static void server_stop(echo_server *server, int signal)
{
    pthread_mutex_lock(&server->lock);
    if (!server->stopping) {
        server->stopping = true;
        if (signal != 0) {
            printf("stopping on %s with %zu connection%s open\n",
                   signal == SIGINT ? "SIGINT" : "SIGTERM",
                   server->active_count, server->active_count == 1 ? "" : "s");
            fflush(stdout);
        }
        for (session *s = server->active; s != NULL; s = s->next) {
            /* Not close(): the session's thread still uses the number. */
            channel_shutdown_input(s->client);
            channel_shutdown_output(s->client);
        }
        char byte = 1;
        ssize_t ignored = write(server->wake[1], &byte, 1);
        (void)ignored; /* a full pipe is readable already */
        pthread_cond_broadcast(&server->changed);
    }
    pthread_mutex_unlock(&server->lock);
}
/* excerpt:end stop */

/* The stop watcher: waits for SIGINT/SIGTERM (through the pipe of stop.h)
 * or for the main thread's own stop, then stops the server. */
static void *watch_for_stop(void *arg)
{
    echo_server *server = arg;
    stop_signals_block_in_thread();
    struct pollfd wait[2] = {{.fd = stop_signals_fd(), .events = POLLIN},
                             {.fd = server->wake[0], .events = POLLIN}};
    int rc;
    do
        rc = poll(wait, 2, -1);
    while (rc < 0 && errno == EINTR);
    int signal = 0;
    if (wait[0].revents != 0) {
        char byte;
        /* Reading the byte orders this thread after the handler's write,
         * so the signal number it stored is safe to read here. */
        if (read(stop_signals_fd(), &byte, 1) == 1)
            signal = stop_signal_number();
    }
    server_stop(server, signal);
    return NULL;
}

/* Starts a thread with SIGINT and SIGTERM blocked from its first
 * instruction, so that only the main thread ever runs the handler. */
static int start_thread(pthread_t *thread, void *(*run)(void *), void *arg)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(thread, NULL, run, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* --- accepting ---------------------------------------------------------- */

static void reap_finished(echo_server *server);

/* Waits for the next client or for the stop; NULL means stop. The
 * listener is non-blocking, so a client that left between poll and
 * accept costs one more turn of the loop, not a hang. */
/* excerpt:begin accept */
static channel *accept_next(echo_server *server)
{
    for (;;) {
        struct pollfd wait[3] = {
            {.fd = channel_fd(server->listener), .events = POLLIN},
            {.fd = server->wake[0], .events = POLLIN},
            {.fd = server->ended[0], .events = POLLIN}};
        if (poll(wait, 3, -1) < 0) {
            if (errno == EINTR)
                continue; /* a signal: the watcher will wake us */
            log_at(LOG_ERROR, LOG_ERROR, program, "poll: %s", strerror(errno));
            return NULL;
        }
        if (wait[1].revents != 0)
            return NULL; /* stopping */
        if (wait[2].revents != 0)
            reap_finished(server);
        if (wait[0].revents == 0)
            continue;
        channel *client = channel_accept(server->listener);
        if (client != NULL)
            return client;
        int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK || error == ECONNABORTED)
            continue;
        log_at(LOG_ERROR, LOG_WARN, program, "accept: %s", strerror(error));
        if (error == EMFILE || error == ENFILE || error == ENOBUFS ||
            error == ENOMEM) {
            /* Out of descriptors or memory: the client stays queued and the
             * listener stays readable, so pause instead of spinning. */
            poll(&wait[1], 1, 100);
            continue;
        }
        return NULL;
    }
}
/* excerpt:end accept */

static void announce(session *s)
{
    char peer[SOCKET_ADDRESS_TEXT];
    printf("connection %lu accepted from %s\n", s->id,
           channel_remote_address(s->client, peer, sizeof peer));
    fflush(stdout);
}

/* --- iterative: one client at a time ------------------------------------ */

/* excerpt:begin iterative */
static void serve_iteratively(echo_server *server, buffer *buf)
{
    /* lab:begin serve_iteratively "One client at a time"  */
    channel *client;
    while ((client = accept_next(server)) != NULL) {
        session s = {.server = server,
                     .id = ++server->accepted,
                     .client = client,
                     .buffer = buf};
        announce(&s);
        if (add_session(server, &s)) {
            serve(&s); /* nobody else is accepted meanwhile */
            pthread_mutex_lock(&server->lock);
            remove_session(server, &s, false);
            pthread_mutex_unlock(&server->lock);
        }
        channel_close(client);
    }
    /* lab:end serve_iteratively */
}
/* excerpt:end iterative */

/* --- a thread per connection -------------------------------------------- */

static void free_session(session *s)
{
    channel_close(s->client);
    buffer_free(s->buffer);
    free(s);
}

/* excerpt:begin session */
static void *session_main(void *arg)
{
    session *s = arg;
    stop_signals_block_in_thread();
    serve(s);
    pthread_mutex_lock(&s->server->lock);
    remove_session(s->server, s, true); /* out of reach of a stop */
    pthread_mutex_unlock(&s->server->lock);
    channel_close(s->client);
    s->client = NULL;
    char byte = 1; /* "join me" to the main thread */
    ssize_t ignored = write(s->server->ended[1], &byte, 1);
    (void)ignored;
    return NULL;
}
/* excerpt:end session */

/* Joins the threads that have ended and frees their sessions. */
static void reap_finished(echo_server *server)
{
    char bytes[64];
    while (read(server->ended[0], bytes, sizeof bytes) > 0)
        continue; /* non-blocking: empties the pipe */
    pthread_mutex_lock(&server->lock);
    session *done = server->finished;
    server->finished = NULL;
    pthread_mutex_unlock(&server->lock);
    while (done != NULL) {
        session *next = done->next;
        pthread_join(done->thread, NULL);
        free_session(done);
        done = next;
    }
}

/* Waits until fewer than N sessions run; false when stopping. */
static bool wait_for_slot(echo_server *server)
{
    pthread_mutex_lock(&server->lock);
    while (!server->stopping && server->active_count >= server->options.threads)
        pthread_cond_wait(&server->changed, &server->lock);
    bool ok = !server->stopping;
    pthread_mutex_unlock(&server->lock);
    reap_finished(server);
    return ok;
}

/* excerpt:begin threaded */
static void serve_with_threads(echo_server *server)
{
    channel *client;
    /* At most N at once: the N+1-th client is not accepted, it waits in
     * the kernel's backlog until a session ends. */
    while (wait_for_slot(server) && (client = accept_next(server)) != NULL) {
        session *s = calloc(1, sizeof *s);
        buffer *buf = buffer_allocate(server->options.buffer_size);
        if (s == NULL || buf == NULL) {
            log_at(LOG_ERROR, LOG_WARN, program, "out of memory");
            free(s);
            buffer_free(buf);
            channel_close(client);
            continue;
        }
        *s = (session){.server = server,
                       .id = ++server->accepted,
                       .client = client,
                       .buffer = buf};
        announce(s);
        if (!add_session(server, s)) {
            free_session(s);
            break;
        }
        int rc = start_thread(&s->thread, session_main, s);
        if (rc != 0) {
            log_at(LOG_ERROR, LOG_WARN, program,
                   "no thread for connection %lu: %s", s->id, strerror(rc));
            pthread_mutex_lock(&server->lock);
            remove_session(server, s, false);
            pthread_mutex_unlock(&server->lock);
            free_session(s);
        }
    }
    /* Stopping: shut the open connections down, then wait for each
     * thread to notice, and join it. */
    server_stop(server, 0);
    pthread_mutex_lock(&server->lock);
    while (server->active_count > 0)
        pthread_cond_wait(&server->changed, &server->lock);
    pthread_mutex_unlock(&server->lock);
    reap_finished(server);
}
/* excerpt:end threaded */

/* --- start-up ----------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s [OPTIONS]\n"
            "An echo server on blocking I/O: it sends back every byte it "
            "receives.\n"
            "\n"
            "  -p, --port PORT          port to listen on (default 8000;"
            " 0: any free port)\n"
            "  -b, --bind HOST          address to listen on (default "
            "127.0.0.1)\n"
            "  -t, --threads N          one thread per connection, at most N"
            " at once\n"
            "                           (default: iterative, one client at "
            "a time)\n"
            "  -s, --buffer-size BYTES  each connection's buffer (default "
            "4096)\n"
            "      --backlog N          connections the kernel queues before"
            " accept\n"
            "                           (default 128)\n"
            "  -v, --trace              print every read and write\n"
            "  -h, --help               show this help\n"
            "\n"
            "Prints \"listening on HOST:PORT\" once ready; SIGINT or SIGTERM"
            " stops it.\n",
            program);
}

static options parse_options(int argc, char **argv)
{
    options o = {
        .bind = "127.0.0.1", .port = 8000, .buffer_size = 4096, .backlog = 128};
    static const struct option longs[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"buffer-size", required_argument, NULL, 's'},
        {"backlog", required_argument, NULL, 'B'},
        {"trace", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned long value;
    int c;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((c = getopt_long(argc, argv, ":p:b:t:s:vh", longs, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!cli_parse_port(optarg, &o.port))
                die(program, "invalid port '%s' (0 to 65535)", optarg);
            break;
        case 'b': o.bind = optarg; break;
        case 't':
            o.threads =
                cli_ulong_or_die(program, "thread count", optarg, 1, 10000);
            break;
        case 's':
            value =
                cli_ulong_or_die(program, "buffer size", optarg, 1, 16UL << 20);
            o.buffer_size = value;
            break;
        case 'B':
            value = cli_ulong_or_die(program, "backlog", optarg, 1, 65535);
            o.backlog = (int)value;
            break;
        case 'v': o.trace = true; break;
        case 'h': usage(stdout); exit(0);
        case ':':
            die(program, "option '%s' needs a value (see --help)",
                argv[optind - 1]);
        default:
            die(program, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die(program, "unexpected argument '%s' (see --help)", argv[optind]);
    return o;
}

static channel *open_listener(const options *o)
{
    char error[CHANNEL_ERROR_TEXT];
    channel *listener =
        channel_listen(o->bind, o->port, o->backlog, error, sizeof error);
    if (listener == NULL)
        die(program, "%s", error);
    if (channel_configure_blocking(listener, false) < 0)
        die(program, "cannot make the listener non-blocking: %s",
            strerror(errno));
    return listener;
}

int main(int argc, char **argv)
{
    echo_server server = {.options = parse_options(argc, argv),
                          .wake = {-1, -1},
                          .ended = {-1, -1}};
    if (stop_signals_install() < 0)
        die(program, "cannot install signal handlers: %s", strerror(errno));
    server.listener = open_listener(&server.options);
    if (pipe(server.wake) < 0 || pipe(server.ended) < 0 ||
        fcntl(server.ended[0], F_SETFL, O_NONBLOCK) < 0 ||
        fcntl(server.ended[1], F_SETFL, O_NONBLOCK) < 0)
        die(program, "pipe: %s", strerror(errno));
    buffer *buf = buffer_allocate(server.options.buffer_size);
    if (buf == NULL)
        die(program, "out of memory");
    pthread_mutex_init(&server.lock, NULL);
    pthread_cond_init(&server.changed, NULL);
    pthread_t watcher;
    int rc = start_thread(&watcher, watch_for_stop, &server);
    if (rc != 0)
        die(program, "cannot start the stop watcher: %s", strerror(rc));

    channel_print_listening(server.listener);

    if (server.options.threads == 0)
        serve_iteratively(&server, buf);
    else
        serve_with_threads(&server);

    server_stop(&server, 0); /* lets the watcher go if it still waits */
    pthread_join(watcher, NULL);
    printf("stopped after %lu connection%s\n", server.accepted,
           server.accepted == 1 ? "" : "s");
    fflush(stdout);
    bool by_signal = stop_requested();
    pthread_cond_destroy(&server.changed);
    pthread_mutex_destroy(&server.lock);
    buffer_free(buf);
    channel_close(server.listener);
    for (int i = 0; i < 2; i++) {
        close(server.wake[i]);
        close(server.ended[i]);
    }
    return by_signal ? 0 : 1;
}
