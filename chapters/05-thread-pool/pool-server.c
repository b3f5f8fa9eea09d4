/*
 * pool-server.c - the seed's thread-pool server, rebuilt correctly. The
 * main thread's selector only accepts (and watches the stop pipe); every
 * accepted channel is handed, itself, to a fixed pool of threads, and the
 * task that takes it serves that one connection with a selector of its
 * own until it closes, speaking chapter 4's protocol (web_session).
 *
 * The design pins one thread to one connection for the connection's whole
 * life. With P threads, connection P+1 waits in the pool's queue until one
 * of the first P leaves: that is what this chapter shows, and why chapter
 * 6 exists.
 *
 * With --seed-accept the hand-off is done the way the seed's comment warns
 * about: the task, not the main loop, calls accept. The main loop selects
 * again before the task has run, sees the listener still ready and hands
 * out another task for the same connection; the extra tasks find nothing.
 * That mode is kept to be compared, not used.
 */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "02-blocking-echo/channel.h"
#include "03-selector/selector.h"
#include "04-web-server-client/web_session.h"
#include "thread_pool.h"
#include "cli.h"
#include "log.h"
#include "stop.h"

#define PROGRAM "pool-server"

/* Connections taken per OP_ACCEPT, so that a flood of connects cannot keep
 * the main loop from noticing the stop pipe. */
enum { ACCEPT_BATCH = 64 };

typedef struct server {
    log_level level;
    selector_backend backend;
    size_t buffer_size;
    size_t threads;
    thread_pool_policy policy;
    bool seed_accept;
    channel *listener;
    thread_pool *pool;
    /* Written by the tasks on the pool's threads, read by main at the end.
     * Counters only: no decision is made on them, so atomics suffice. */
    atomic_ulong connections; /* accepted */
    atomic_ulong messages;    /* answered, by sessions that have ended */
    atomic_ulong stopped;     /* sessions ended by the stop */
    atomic_ulong empty_tasks; /* --seed-accept: found nothing to accept */
    /* The main thread's own. */
    unsigned long handed_out; /* tasks submitted */
    unsigned long refused;    /* not handed out: queue full or no memory */
} server;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [options]\n"
            "The seed's thread-pool server, done right: the main thread "
            "accepts,\n"
            "each connection is served by a pool thread until it closes. "
            "Answers\n"
            "each line with \"received\" (chapter 4's protocol).\n"
            "\n"
            "  -p, --port PORT         port to listen on (default 8000; 0: "
            "any free port)\n"
            "  -b, --bind ADDRESS      address to listen on (default "
            "127.0.0.1)\n"
            "  -t, --threads P         threads in the pool, hence "
            "connections served\n"
            "                          at once (default 4)\n"
            "  -q, --queue Q           connections that may wait for a "
            "thread (default 64)\n"
            "      --policy NAME       when the queue is full: block (stop "
            "accepting\n"
            "                          until a thread is free, the default) "
            "or reject\n"
            "                          (close the new connection at once)\n"
            "      --backend NAME      select, poll or epoll, for every "
            "selector\n"
            "                          (default: %s)\n"
            "  -s, --buffer-size BYTES each connection's input and output "
            "buffer\n"
            "                          (default 4096)\n"
            "      --seed-accept       accept in the task, as the seed's "
            "comment\n"
            "                          warns: shows the race it papers over\n"
            "  -l, --log-level LEVEL   error, warn, info or debug (default "
            "warn);\n"
            "                          info shows each hand-off\n"
            "  -h, --help              show this help\n"
            "\n"
            "Try it: " PROGRAM " -t 2 & then three nc 127.0.0.1 8000: the "
            "third\n"
            "waits for a thread. Stops cleanly on SIGINT or SIGTERM.\n",
            selector_backend_name(selector_default_backend()));
}

/* --- one connection, on a pool thread ---------------------------------- */

typedef enum ending {
    ENDED_FINISHED, /* the client ended the stream, every reply sent */
    ENDED_FAILED,   /* reset, I/O error or bad input */
    ENDED_STOPPED,  /* the server is stopping */
    ENDED_NO_ROOM   /* no selector or session could be made */
} ending;

static const char *ending_text(ending end)
{
    switch (end) {
    case ENDED_FINISHED: return "closed: every reply sent";
    case ENDED_FAILED: return "closed: reset, error or bad input";
    case ENDED_STOPPED: return "closed: server stopping";
    case ENDED_NO_ROOM: return "closed: no selector or session";
    }
    return "closed";
}

/* excerpt:begin converse */
/* The seed's SelectorHandler loop, for one connection: this selector
 * watches the connection and the stop pipe, and nothing else. */
static ending converse(selector *sel, selection_key *key,
                       selection_key *stop_key)
{
    web_session *s = key_attachment(key);
    for (;;) {
        if (selector_select(sel) < 0) {
            if (errno == EINTR)
                continue;
            return ENDED_FAILED;
        }
        bool stopping = false, ready = false;
        key_iterator it = selector_selected_keys(sel);
        selection_key *k;
        while ((k = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it);
            if (k == stop_key)
                stopping = true;
            else
                ready = true;
        }
        /* The stop wins over pending input: once the server is stopping,
         * nothing more is answered. */
        if (stopping)
            return ENDED_STOPPED;
        if (!ready)
            continue;
        web_session_state state = WEB_SESSION_OPEN;
        if (key_is_readable(key))
            state = web_session_on_readable(s);
        if (state == WEB_SESSION_OPEN && key_is_writable(key))
            state = web_session_on_writable(s);
        if (state == WEB_SESSION_FINISHED)
            return ENDED_FINISHED;
        if (state == WEB_SESSION_FAILED ||
            key_set_interest_ops(key, web_session_interest_ops(s)) !=
                SELECTOR_OK)
            return ENDED_FAILED;
    }
}
/* excerpt:end converse */

/* excerpt:begin serve */
/* Serves `ch` until it ends, then closes it. The stop pipe of common/stop.h
 * is written once by the signal handler and never read, so it stays
 * readable: every selector that watches it wakes, whether it was waiting
 * when the signal came or starts waiting after. That is how one SIGTERM
 * reaches every pool thread, with no list of them to walk. */
static void serve_channel(server *srv, channel *ch, unsigned long id)
{
    selector *sel = selector_open(srv->backend);
    web_session *s = NULL;
    selection_key *key = NULL, *stop_key = NULL;
    ending end = ENDED_NO_ROOM;
    if (sel != NULL && channel_configure_blocking(ch, false) == 0)
        s = web_session_new(ch, srv->buffer_size);
    if (s == NULL)
        channel_close(ch); /* the session did not take it over */
    else if (selector_register(sel, ch, OP_READ, s, &key) == SELECTOR_OK &&
             selector_register_fd(sel, stop_signals_fd(), OP_READ, NULL,
                                  &stop_key) == SELECTOR_OK)
        end = converse(sel, key, stop_key);

    if (s != NULL)
        atomic_fetch_add(&srv->messages, web_session_messages(s));
    if (end == ENDED_STOPPED)
        atomic_fetch_add(&srv->stopped, 1);
    log_at(srv->level, end == ENDED_NO_ROOM ? LOG_WARN : LOG_INFO, PROGRAM,
           "connection %lu: %s", id, ending_text(end));
    selector_close(sel); /* first the keys, then the channel */
    web_session_free(s);
}
/* excerpt:end serve */

/* excerpt:begin hand-off */
/* What the main thread hands to the pool: the accepted channel itself.
 * Once submit has taken the task, the task owns the channel and the main
 * thread never touches it again, so the two threads share nothing that
 * could race, and there is nothing to wait for: no delay. */
typedef struct connection_task {
    server *srv;
    channel *ch;
    unsigned long id;
} connection_task;

/* The seed's ServerRunnable.run(), on a pool thread. */
static void serve_connection(void *arg)
{
    connection_task *task = arg;
    log_at(task->srv->level, LOG_INFO, PROGRAM,
           "connection %lu: a thread took it", task->id);
    serve_channel(task->srv, task->ch, task->id);
    free(task);
}
/* excerpt:end hand-off */

/* excerpt:begin seed-task */
/* --seed-accept: the task fetches the connection itself, as the seed's
 * comment suggests. By the time it runs, the main loop may have selected
 * again, found the listener still ready (nobody had accepted yet) and
 * handed out more tasks for this same connection: one of them gets it,
 * the others find nothing. A delay in the main loop would make the task
 * usually win the race; it would not remove it. */
static void seed_accept_task(void *arg)
{
    server *srv = arg;
    channel *ch = channel_accept(srv->listener);
    if (ch == NULL) {
        atomic_fetch_add(&srv->empty_tasks, 1);
        log_at(srv->level, LOG_INFO, PROGRAM,
               errno == EAGAIN || errno == EWOULDBLOCK
                   ? "a task found no connection to accept: another task "
                     "took it"
                   : "a task found no connection to accept: accept failed");
        return;
    }
    unsigned long id = atomic_fetch_add(&srv->connections, 1) + 1;
    log_at(srv->level, LOG_INFO, PROGRAM,
           "connection %lu: accepted by the task", id);
    serve_channel(srv, ch, id);
}
/* excerpt:end seed-task */

/* --- the main thread: accept and hand off ------------------------------- */

/* Under the BLOCK policy, says when the next submit is going to wait: the
 * accept loop is about to stand still until a thread is free. */
static void note_full_queue(const server *srv)
{
    if (srv->policy == THREAD_POOL_BLOCK &&
        thread_pool_queue_length(srv->pool) ==
            thread_pool_queue_capacity(srv->pool))
        log_at(srv->level, LOG_INFO, PROGRAM,
               "the queue is full (%zu): the accept loop waits for a thread",
               thread_pool_queue_capacity(srv->pool));
}

/* excerpt:begin accept */
static void accept_clients(server *srv)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        channel *ch = channel_accept(srv->listener);
        if (ch == NULL) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_at(srv->level, LOG_WARN, PROGRAM, "accept: %s",
                       strerror(errno));
            return;
        }
        unsigned long id = atomic_fetch_add(&srv->connections, 1) + 1;
        connection_task *task = malloc(sizeof *task);
        if (task == NULL) {
            log_at(srv->level, LOG_WARN, PROGRAM, "connection %lu: %s", id,
                   strerror(ENOMEM));
            channel_close(ch);
            srv->refused++;
            continue;
        }
        *task = (connection_task){.srv = srv, .ch = ch, .id = id};
        note_full_queue(srv);
        thread_pool_status st =
            thread_pool_submit(srv->pool, serve_connection, task);
        if (st != THREAD_POOL_OK) {
            /* REJECTED: every thread busy and the queue full. Closing
             * at once tells the client now, instead of never. */
            log_at(srv->level, LOG_WARN, PROGRAM, "connection %lu: %s", id,
                   st == THREAD_POOL_REJECTED
                       ? "refused: every thread is busy and the queue is full"
                       : thread_pool_status_name(st));
            channel_close(ch);
            free(task);
            srv->refused++;
            continue;
        }
        srv->handed_out++;
        /* From here on `task` and `ch` belong to the pool's thread. */
        log_at(srv->level, LOG_INFO, PROGRAM,
               "connection %lu: handed to the pool, %zu of %zu threads busy, "
               "%zu waiting",
               id, thread_pool_active_count(srv->pool), srv->threads,
               thread_pool_queue_length(srv->pool));
    }
}
/* excerpt:end accept */

/* --seed-accept: one task per OP_ACCEPT, and the task accepts. */
static void hand_out_listener(server *srv)
{
    note_full_queue(srv);
    thread_pool_status st =
        thread_pool_submit(srv->pool, seed_accept_task, srv);
    if (st == THREAD_POOL_OK)
        srv->handed_out++;
    log_at(srv->level, LOG_DEBUG, PROGRAM, "listener handed to a task: %s",
           thread_pool_status_name(st));
}

static int run(server *srv, selector *sel, selection_key *listener_key,
               selection_key *stop_key)
{
    for (;;) {
        if (selector_select(sel) < 0) {
            if (errno == EINTR)
                continue; /* a signal: the stop pipe says if it was ours */
            log_at(srv->level, LOG_ERROR, PROGRAM, "select: %s",
                   strerror(errno));
            return -1;
        }
        bool stopping = false;
        key_iterator it = selector_selected_keys(sel);
        selection_key *key;
        while ((key = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it);
            if (key == stop_key)
                stopping = true;
            else if (key == listener_key && !stopping)
                srv->seed_accept ? hand_out_listener(srv) : accept_clients(srv);
        }
        if (stopping)
            return 0;
    }
}

/* --- stopping ------------------------------------------------------------- */

/* shutdown_now hands back the tasks that never ran: close what they own. */
static void drop_task(thread_pool_task task, void *context)
{
    server *srv = context;
    if (task.run != serve_connection)
        return; /* a --seed-accept task owns nothing */
    connection_task *t = task.arg;
    log_at(srv->level, LOG_INFO, PROGRAM,
           "connection %lu: closed: server stopping before a thread took it",
           t->id);
    channel_close(t->ch);
    free(t);
}

/* excerpt:begin stop */
/* The tasks running hear the stop pipe themselves and end; the queued
 * ones are dropped and their channels closed. After an error (no signal)
 * the pool drains instead: connections keep being served until they end,
 * and a SIGTERM still cuts that short. */
static unsigned long stop_pool(server *srv, bool signalled)
{
    size_t dropped = 0;
    if (signalled)
        dropped = thread_pool_shutdown_now(srv->pool, drop_task, srv);
    else
        thread_pool_shutdown(srv->pool);
    if (!thread_pool_await_termination(srv->pool, 5000))
        log_at(srv->level, LOG_WARN, PROGRAM,
               "%zu tasks still running after 5 s; waiting for them",
               thread_pool_active_count(srv->pool));
    thread_pool_free(srv->pool); /* waits for the last of them */
    srv->pool = NULL;
    return (unsigned long)dropped;
}
/* excerpt:end stop */

int main(int argc, char **argv)
{
    server srv = {.level = LOG_WARN,
                  .backend = selector_default_backend(),
                  .buffer_size = 4096,
                  .threads = 4,
                  .policy = THREAD_POOL_BLOCK};
    const char *bind_host = "127.0.0.1";
    uint16_t port = 8000;
    unsigned long value, queue = 64;

    enum { OPT_BACKEND = 256, OPT_POLICY, OPT_SEED_ACCEPT };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"queue", required_argument, NULL, 'q'},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"buffer-size", required_argument, NULL, 's'},
        {"seed-accept", no_argument, NULL, OPT_SEED_ACCEPT},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:t:q:s:l:h", options, NULL)) !=
           -1) {
        switch (opt) {
        case 'p': port = cli_port_or_die(PROGRAM, optarg, 0); break;
        case 'b': bind_host = optarg; break;
        case 't':
            value = cli_ulong_or_die(PROGRAM, "thread count", optarg, 1, 1024);
            srv.threads = value;
            break;
        case 'q':
            queue =
                cli_ulong_or_die(PROGRAM, "queue length", optarg, 1, 1000000);
            break;
        case OPT_POLICY:
            if (strcmp(optarg, "block") == 0)
                srv.policy = THREAD_POOL_BLOCK;
            else if (strcmp(optarg, "reject") == 0)
                srv.policy = THREAD_POOL_REJECT;
            else
                die(PROGRAM, "bad policy '%s': want block or reject", optarg);
            break;
        case OPT_BACKEND:
            srv.backend = selector_backend_or_die(PROGRAM, optarg);
            break;
        case 's':
            value =
                cli_ulong_or_die(PROGRAM, "buffer size", optarg, 16, 1 << 20);
            srv.buffer_size = value;
            break;
        case OPT_SEED_ACCEPT: srv.seed_accept = true; break;
        case 'l': srv.level = cli_log_level_or_die(PROGRAM, optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);

    char error[CHANNEL_ERROR_TEXT];
    srv.listener =
        channel_listen(bind_host, port, SOMAXCONN, error, sizeof error);
    if (srv.listener == NULL)
        die(PROGRAM, "%s", error);
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));
    selector *sel = selector_open(srv.backend);
    if (sel == NULL)
        die(PROGRAM, "cannot open a %s selector: %s",
            selector_backend_name(srv.backend), strerror(errno));
    selection_key *listener_key, *stop_key;
    if (channel_configure_blocking(srv.listener, false) < 0 ||
        selector_register(sel, srv.listener, OP_ACCEPT, NULL, &listener_key) !=
            SELECTOR_OK ||
        selector_register_fd(sel, stop_signals_fd(), OP_READ, NULL,
                             &stop_key) != SELECTOR_OK)
        die(PROGRAM, "cannot register with the selector");
    /* After the signal handlers: the pool's threads block every signal,
     * so SIGINT and SIGTERM always reach this thread. */
    srv.pool = thread_pool_create(srv.threads, queue, srv.policy);
    if (srv.pool == NULL)
        die(PROGRAM, "cannot start %zu threads: %s", srv.threads,
            strerror(errno));

    channel_print_listening(srv.listener);
    log_at(srv.level, LOG_INFO, PROGRAM,
           "threads %zu, queue %lu (%s when full), %s backend%s", srv.threads,
           queue, srv.policy == THREAD_POOL_BLOCK ? "block" : "reject",
           selector_backend_name(srv.backend),
           srv.seed_accept ? ", accepting in the task" : "");

    int status = run(&srv, sel, listener_key, stop_key) == 0 ? 0 : 1;

    unsigned long dropped = stop_pool(&srv, status == 0);
    /* The listener goes last: --seed-accept tasks use it until the end. */
    selector_close(sel);
    channel_close(srv.listener);

    printf("stopped after %lu connections, %lu messages answered, "
           "%lu closed at the stop",
           atomic_load(&srv.connections), atomic_load(&srv.messages),
           atomic_load(&srv.stopped) + dropped);
    if (srv.refused > 0)
        printf(", %lu refused", srv.refused);
    if (srv.seed_accept)
        printf("; %lu tasks handed out, %lu found nothing to accept",
               srv.handed_out, atomic_load(&srv.empty_tasks));
    printf("\n");
    return status;
}
