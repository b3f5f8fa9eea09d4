/*
 * boss-worker-server.c - the seed's two-selector NIOServer, done the way
 * Netty does it: a boss event loop accepts, and hands each new connection
 * to one of N worker event loops, in turn, by posting a task; the worker
 * registers the channel on its own selector and serves chapter 4's
 * protocol (a line in, "received" out) with web_session.
 *
 * No thread ever touches another thread's selector, and no loop wakes up
 * unless there is work: --poll-ms MS brings back the seed's select(1)
 * polling, only so that its cost can be measured.
 *
 * At shutdown it prints, per loop, the connections it served, the most it
 * held at once, the messages answered and how often it woke up.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "02-blocking-echo/channel.h"
#include "03-selector/fd_limit.h"
#include "03-selector/selector.h"
#include "04-web-server-client/web_session.h"
#include "cli.h"
#include "event_loop.h"
#include "log.h"
#include "stop.h"

#define PROGRAM "boss-worker-server"

enum {
    ACCEPT_BATCH = 64,     /* connections taken per wakeup of the boss */
    BACKLOG = 4096,        /* the kernel caps it at net.core.somaxconn */
    ACCEPT_PAUSE_MS = 100, /* out of descriptors: wait, then try again */
    MAX_WORKERS = 1024
};

/* Each worker's counters: written only by that worker's thread, read by
 * main after the thread has ended. */
typedef struct worker_stats {
    uint64_t connections; /* adopted */
    uint64_t open, peak;  /* open now, most open at once */
    uint64_t messages;    /* answered, by connections already closed */
} worker_stats;

typedef struct server {
    log_level level;
    size_t buffer_size;
    channel *listener;         /* the boss's; closed by its closing hook */
    selection_key *accept_key; /* the boss's thread only */
    event_loop_group *boss;
    event_loop_group *workers;
    worker_stats *stats; /* [worker count] */
    uint64_t accepted;   /* the boss's thread only */
} server;

/* One connection: Netty's child channel with its one handler. */
typedef struct connection {
    server *srv;
    web_session *session; /* owns the channel */
    worker_stats *stats;  /* NULL until a worker adopts it */
} connection;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [options]\n"
            "A boss event loop accepts; worker event loops serve chapter 4's\n"
            "protocol (each line is answered with \"received\").\n"
            "\n"
            "  -p, --port PORT         port to listen on (default 8000; 0: "
            "any free port)\n"
            "  -b, --bind ADDRESS      address to listen on (default "
            "127.0.0.1)\n"
            "  -w, --workers N         worker loops, 1 to %d (default: one "
            "per CPU, %zu)\n"
            "      --backend NAME      select, poll or epoll (default: %s)\n"
            "      --poll-ms MS        the seed's way, to measure it: every "
            "loop wakes\n"
            "                          every MS ms, work or not, and hand-offs "
            "wait\n"
            "                          for the next wakeup (default: off)\n"
            "  -s, --buffer-size BYTES each connection's input and output "
            "buffer,\n"
            "                          hence the longest line (default "
            "4096)\n"
            "  -l, --log-level LEVEL   error, warn, info or debug (default "
            "warn)\n"
            "  -h, --help              show this help\n"
            "\n"
            "Try it: " PROGRAM " --workers 2 & then nc 127.0.0.1 8000 from "
            "a few\n"
            "terminals. Stops cleanly on SIGINT or SIGTERM and prints what "
            "each\n"
            "loop did.\n",
            MAX_WORKERS, event_loop_default_count(),
            selector_backend_name(selector_default_backend()));
}

/* --- a connection, on its worker's thread ------------------------------- */

static void connection_close(connection *c)
{
    if (c->stats != NULL) {
        c->stats->open--;
        c->stats->messages += web_session_messages(c->session);
    }
    web_session_free(c->session); /* closes the channel */
    free(c);
}

/* excerpt:begin serve */
/* The worker's handler for one connection: let the session read and
 * write, then watch for what it needs next. */
static void connection_ready(event_loop *worker, selection_key *key,
                             void *context)
{
    connection *c = context;
    web_session_state state = WEB_SESSION_OPEN;
    if (key_is_readable(key))
        state = web_session_on_readable(c->session);
    if (state == WEB_SESSION_OPEN && key_is_writable(key))
        state = web_session_on_writable(c->session);
    if (state == WEB_SESSION_OPEN &&
        key_set_interest_ops(key, web_session_interest_ops(c->session)) ==
            SELECTOR_OK)
        return;
    event_loop_deregister(worker, key); /* the key first, then the channel */
    connection_close(c);
}

/* The worker is shutting down with this connection still open. */
static void connection_closing(event_loop *worker, selection_key *key,
                               void *context)
{
    (void)worker;
    (void)key;
    connection_close(context);
}

static const event_loop_handler connection_handler = {connection_ready,
                                                      connection_closing};
/* excerpt:end serve */

/* excerpt:begin adopt */
/* Runs on the worker's thread: the only thread that touches its selector.
 * Netty's childGroup.register(child) ends in the same kind of task. */
static void adopt(event_loop *worker, void *arg)
{
    /* lab:begin adopt "The worker: adopt" (void)connection_handler; connection_close(arg); */
    connection *c = arg;
    channel *ch = web_session_channel(c->session);
    event_loop_status s =
        event_loop_register(worker, ch, OP_READ, &connection_handler, c, NULL);
    if (s != EVENT_LOOP_OK) {
        /* The loop has logged why (e.g. select(2)'s FD_SETSIZE). */
        log_at(c->srv->level, LOG_INFO, PROGRAM,
               "worker %zu: connection dropped: %s", event_loop_index(worker),
               event_loop_status_name(s));
        connection_close(c);
        return;
    }
    worker_stats *stats = &c->srv->stats[event_loop_index(worker)];
    c->stats = stats;
    stats->connections++;
    if (++stats->open > stats->peak)
        stats->peak = stats->open;
    /* lab:end adopt */
}
/* excerpt:end adopt */

/* --- the boss ------------------------------------------------------------- */

/* excerpt:begin hand-off */
/* Runs on the boss's thread: wrap the new channel in a session and post
 * it to the next worker. The boss never touches a worker's selector. */
static void hand_off(server *srv, channel *ch)
{
    /* lab:begin hand_off "The boss: accept" (void)adopt; channel_close(ch); */
    connection *c = malloc(sizeof *c);
    web_session *session = NULL;
    if (c == NULL || channel_configure_blocking(ch, false) < 0 ||
        (session = web_session_new(ch, srv->buffer_size)) == NULL) {
        log_at(srv->level, LOG_WARN, PROGRAM, "new connection: %s",
               strerror(errno));
        free(c);
        channel_close(ch);
        return;
    }
    *c = (connection){srv, session, NULL};
    event_loop *worker = event_loop_group_next(srv->workers);
    if (event_loop_execute(worker, adopt, c) != EVENT_LOOP_OK)
        connection_close(c); /* the worker is shutting down */
    /* lab:end hand_off */
}
/* excerpt:end hand-off */

static void resume_accepting(event_loop *boss, void *arg)
{
    (void)boss;
    server *srv = arg;
    key_set_interest_ops(srv->accept_key, OP_ACCEPT);
}

/* excerpt:begin accept */
static void accept_ready(event_loop *boss, selection_key *key, void *context)
{
    server *srv = context;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        channel *ch = channel_accept(srv->listener);
        if (ch != NULL) {
            srv->accepted++;
            hand_off(srv, ch);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return; /* nobody else waiting */
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                   errno == ENOMEM) {
            /* The connection stays in the backlog and the listener stays
             * readable: accepting again at once would spin. Stop watching
             * it for a while; a timer turns it back on. */
            log_at(srv->level, LOG_WARN, PROGRAM, "accept: %s; pausing %d ms",
                   strerror(errno), ACCEPT_PAUSE_MS);
            key_set_interest_ops(key, 0);
            event_loop_schedule(boss, ACCEPT_PAUSE_MS, resume_accepting, srv,
                                NULL);
            return;
        } else {
            /* ECONNABORTED and the like: that one connection is gone. */
            log_at(srv->level, LOG_INFO, PROGRAM, "accept: %s",
                   strerror(errno));
        }
    }
}
/* excerpt:end accept */

static void listener_closing(event_loop *boss, selection_key *key,
                             void *context)
{
    (void)boss;
    (void)key;
    server *srv = context;
    channel_close(srv->listener);
    srv->listener = NULL;
}

static const event_loop_handler listener_handler = {accept_ready,
                                                    listener_closing};

/* Netty's bind(port).sync(): the listener is registered on the boss's
 * thread, and main waits for the outcome before it says "listening". */
typedef struct bind_future {
    server *srv;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
    event_loop_status status;
} bind_future;

static void bind_listener(event_loop *boss, void *arg)
{
    bind_future *f = arg;
    event_loop_status s =
        event_loop_register(boss, f->srv->listener, OP_ACCEPT,
                            &listener_handler, f->srv, &f->srv->accept_key);
    pthread_mutex_lock(&f->lock);
    f->status = s;
    f->done = true;
    pthread_cond_signal(&f->done_cond);
    pthread_mutex_unlock(&f->lock);
}

static event_loop_status bind_sync(server *srv)
{
    bind_future f = {.srv = srv, .done = false};
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.done_cond, NULL);
    event_loop_status s = event_loop_execute(event_loop_group_get(srv->boss, 0),
                                             bind_listener, &f);
    pthread_mutex_lock(&f.lock);
    while (s == EVENT_LOOP_OK && !f.done)
        pthread_cond_wait(&f.done_cond, &f.lock);
    pthread_mutex_unlock(&f.lock);
    pthread_cond_destroy(&f.done_cond);
    pthread_mutex_destroy(&f.lock);
    return s == EVENT_LOOP_OK ? f.status : s;
}

/* --- main ------------------------------------------------------------------
 */

/* The main thread's only job once the loops run: wait for SIGINT/SIGTERM.
 * The loops' threads block those signals, so they come here; the handler
 * makes the stop pipe readable. */
static void wait_for_stop(void)
{
    struct pollfd stop = {.fd = stop_signals_fd(), .events = POLLIN};
    while (poll(&stop, 1, -1) < 0 && errno == EINTR)
        continue;
}

static void print_summary(const server *srv, size_t workers)
{
    event_loop_stats b =
        event_loop_get_stats(event_loop_group_get(srv->boss, 0));
    printf("boss: %llu connections accepted, %llu selections\n",
           (unsigned long long)srv->accepted, (unsigned long long)b.selects);
    for (size_t i = 0; i < workers; i++) {
        const worker_stats *w = &srv->stats[i];
        event_loop_stats s =
            event_loop_get_stats(event_loop_group_get(srv->workers, i));
        printf("worker %zu: %llu connections (%llu at once), %llu messages, "
               "%llu selections\n",
               i, (unsigned long long)w->connections,
               (unsigned long long)w->peak, (unsigned long long)w->messages,
               (unsigned long long)s.selects);
    }
}

int main(int argc, char **argv)
{
    server srv = {.level = LOG_WARN, .buffer_size = 4096};
    const char *bind_host = "127.0.0.1";
    uint16_t port = 8000;
    unsigned long workers = event_loop_default_count(), value;
    event_loop_options loop_options = event_loop_default_options();
    loop_options.program = PROGRAM;

    enum { OPT_BACKEND = 256, OPT_POLL_MS };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'w'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"poll-ms", required_argument, NULL, OPT_POLL_MS},
        {"buffer-size", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:w:s:l:h", options, NULL)) !=
           -1) {
        switch (opt) {
        case 'p': port = cli_port_or_die(PROGRAM, optarg, 0); break;
        case 'b': bind_host = optarg; break;
        case 'w':
            workers = cli_ulong_or_die(PROGRAM, "worker count", optarg, 1,
                                       MAX_WORKERS);
            break;
        case OPT_BACKEND:
            loop_options.backend = selector_backend_or_die(PROGRAM, optarg);
            break;
        case OPT_POLL_MS:
            value = cli_ulong_or_die(PROGRAM, "poll interval in ms", optarg, 1,
                                     10000);
            loop_options.poll_ms = (long)value;
            break;
        case 's':
            value =
                cli_ulong_or_die(PROGRAM, "buffer size", optarg, 16, 1 << 20);
            srv.buffer_size = value;
            break;
        case 'l': srv.level = cli_log_level_or_die(PROGRAM, optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    loop_options.log = srv.level;

    long files = fd_limit_raise(0);
    if (files < 0)
        log_at(srv.level, LOG_WARN, PROGRAM,
               "cannot raise the open-file "
               "limit: %s",
               strerror(errno));
    char error[CHANNEL_ERROR_TEXT];
    srv.listener =
        channel_listen(bind_host, port, BACKLOG, error, sizeof error);
    if (srv.listener == NULL)
        die(PROGRAM, "%s", error);
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));
    if (channel_configure_blocking(srv.listener, false) < 0)
        die(PROGRAM, "cannot make the listener non-blocking: %s",
            strerror(errno));
    srv.stats = calloc(workers, sizeof *srv.stats);
    if (srv.stats == NULL)
        die(PROGRAM, "out of memory");

    /* excerpt:begin bootstrap */
    /* ServerBootstrap.group(boss, worker): one loop accepts, N serve. */
    srv.workers = event_loop_group_create(workers, &loop_options);
    srv.boss = event_loop_group_create(1, &loop_options);
    if (srv.workers == NULL || srv.boss == NULL)
        die(PROGRAM, "cannot start the event loops: %s", strerror(errno));
    event_loop_status bound = bind_sync(&srv);
    if (bound != EVENT_LOOP_OK)
        die(PROGRAM, "cannot register the listener: %s",
            event_loop_status_name(bound));
    /* excerpt:end bootstrap */

    channel_print_listening(srv.listener);
    log_at(srv.level, LOG_INFO, PROGRAM,
           "%lu workers, %s backend, %s, open-file limit %ld", workers,
           selector_backend_name(loop_options.backend),
           loop_options.poll_ms > 0 ? "polling (the seed's way)"
                                    : "blocking select with wakeups",
           files);

    wait_for_stop();
    log_at(srv.level, LOG_INFO, PROGRAM, "stopping (signal %d)",
           stop_signal_number());

    /* excerpt:begin shutdown */
    /* The boss first: once it has ended, nobody posts to the workers. Then
     * each worker runs the hand-offs already queued and closes every
     * connection it still holds. */
    event_loop_group_shutdown(srv.boss);
    event_loop_group_await_termination(srv.boss);
    event_loop_group_shutdown(srv.workers);
    event_loop_group_await_termination(srv.workers);
    /* excerpt:end shutdown */
    print_summary(&srv, workers);
    event_loop_group_free(srv.boss);
    event_loop_group_free(srv.workers);
    free(srv.stats);
    return 0;
}
