/*
 * bootstrap.c - the server's accept loop and hand-off, and the client's
 * connect, both ending in a pipeline on a worker loop. See bootstrap.h.
 */
#include "bootstrap.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "02-blocking-echo/channel.h"
#include "03-selector/selector.h"

enum {
    ACCEPT_BATCH = 64,    /* connections taken per wakeup of the boss */
    BACKLOG = 4096,       /* the kernel caps it at net.core.somaxconn */
    ACCEPT_PAUSE_MS = 100 /* out of descriptors: wait, then try again */
};

struct server_bootstrap {
    event_loop_group *boss, *workers;
    channel_initializer *child_handler;
    void *arg;
    channel_pipeline_options options;
    channel *listener;         /* closed by the boss's closing hook */
    selection_key *accept_key; /* the boss's thread only */
    uint64_t accepted;         /* the boss's thread only */
};

server_bootstrap *server_bootstrap_new(event_loop_group *boss,
                                       event_loop_group *workers,
                                       channel_initializer *child_handler,
                                       void *arg)
{
    server_bootstrap *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    *b = (server_bootstrap){.boss = boss,
                            .workers = workers,
                            .child_handler = child_handler,
                            .arg = arg,
                            .options = channel_pipeline_default_options()};
    return b;
}

void server_bootstrap_child_options(server_bootstrap *b,
                                    const channel_pipeline_options *options)
{
    b->options = *options;
}

uint64_t server_bootstrap_accepted(const server_bootstrap *b)
{
    return b->accepted;
}

void server_bootstrap_free(server_bootstrap *b)
{
    if (b == NULL)
        return;
    channel_close(b->listener); /* NULL when the boss closed it */
    free(b);
}

/* --- a child, on its worker's thread -------------------------------------- */

typedef struct child {
    server_bootstrap *b;
    channel *ch;
} child;

/* excerpt:begin init-child */
/* Netty's ServerBootstrapAcceptor and ChannelInitializer, on the worker's
 * thread: the pipeline, its handlers, the registration, channel active. */
static void init_child(event_loop *worker, void *arg)
{
    /* lab:begin init_child "The bootstraps" channel_close(((child *)arg)->ch); free(arg); */
    child *c = arg;
    server_bootstrap *b = c->b;
    channel_pipeline *p = channel_pipeline_new(worker, c->ch, &b->options);
    if (p == NULL) {
        channel_close(c->ch);
    } else if (b->child_handler(p, b->arg) < 0) {
        log_at(b->options.log, LOG_WARN, b->options.program,
               "cannot set up a connection's handlers: %s", strerror(errno));
        channel_pipeline_free(p);
    } else {
        channel_pipeline_register(p); /* fires channel active */
    }
    free(c);
    /* lab:end init_child */
}
/* excerpt:end init-child */

/* --- the boss ------------------------------------------------------------- */

static void hand_off(server_bootstrap *b, channel *ch)
{
    child *c = malloc(sizeof *c);
    if (c == NULL) {
        channel_close(ch);
        return;
    }
    *c = (child){b, ch};
    event_loop *worker = event_loop_group_next(b->workers);
    if (event_loop_execute(worker, init_child, c) != EVENT_LOOP_OK) {
        channel_close(ch); /* the worker is shutting down */
        free(c);
    }
}

static void resume_accepting(event_loop *boss, void *arg)
{
    (void)boss;
    server_bootstrap *b = arg;
    if (b->accept_key != NULL)
        key_set_interest_ops(b->accept_key, OP_ACCEPT);
}

static void accept_ready(event_loop *boss, selection_key *key, void *context)
{
    server_bootstrap *b = context;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        channel *ch = channel_accept_nonblocking(b->listener);
        if (ch != NULL) {
            b->accepted++;
            hand_off(b, ch);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                   errno == ENOMEM) {
            /* The listener stays readable: accepting again at once would
             * spin. Stop watching it for a while. */
            log_at(b->options.log, LOG_WARN, b->options.program,
                   "accept: %s; pausing %d ms", strerror(errno),
                   ACCEPT_PAUSE_MS);
            key_set_interest_ops(key, 0);
            event_loop_schedule(boss, ACCEPT_PAUSE_MS, resume_accepting, b,
                                NULL);
            return;
        } else {
            log_at(b->options.log, LOG_INFO, b->options.program, "accept: %s",
                   strerror(errno));
        }
    }
}

static void listener_closing(event_loop *boss, selection_key *key,
                             void *context)
{
    (void)boss;
    (void)key;
    server_bootstrap *b = context;
    b->accept_key = NULL;
    channel_close(b->listener);
    b->listener = NULL;
}

static const event_loop_handler listener_handler = {accept_ready,
                                                    listener_closing};

/* bind().sync(): the listener is registered on the boss's thread, and the
 * caller waits for the outcome. */
typedef struct bind_future {
    server_bootstrap *b;
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
    event_loop_status status;
} bind_future;

static void bind_listener(event_loop *boss, void *arg)
{
    bind_future *f = arg;
    event_loop_status s =
        event_loop_register(boss, f->b->listener, OP_ACCEPT, &listener_handler,
                            f->b, &f->b->accept_key);
    pthread_mutex_lock(&f->lock);
    f->status = s;
    f->done = true;
    pthread_cond_signal(&f->done_cond);
    pthread_mutex_unlock(&f->lock);
}

int server_bootstrap_bind(server_bootstrap *b, const char *host, uint16_t port,
                          char *error, size_t error_size)
{
    char reason[CHANNEL_ERROR_TEXT];
    b->listener = channel_listen(host, port, BACKLOG, reason, sizeof reason);
    if (b->listener == NULL) {
        snprintf(error, error_size, "%s", reason);
        return -1;
    }
    if (channel_configure_blocking(b->listener, false) < 0) {
        snprintf(error, error_size, "cannot make the listener non-blocking: %s",
                 strerror(errno));
        return -1;
    }
    bind_future f = {.b = b, .done = false};
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.done_cond, NULL);
    event_loop_status s =
        event_loop_execute(event_loop_group_next(b->boss), bind_listener, &f);
    pthread_mutex_lock(&f.lock);
    while (s == EVENT_LOOP_OK && !f.done)
        pthread_cond_wait(&f.done_cond, &f.lock);
    pthread_mutex_unlock(&f.lock);
    pthread_cond_destroy(&f.done_cond);
    pthread_mutex_destroy(&f.lock);
    if (s == EVENT_LOOP_OK)
        s = f.status;
    if (s != EVENT_LOOP_OK) {
        snprintf(error, error_size, "cannot register the listener: %s",
                 event_loop_status_name(s));
        return -1;
    }
    channel_print_listening(b->listener);
    return 0;
}

/* --- the client's connect ------------------------------------------------- */

typedef struct connect_request {
    bootstrap b;
    socket_address address;
} connect_request;

static void start_connect(event_loop *loop, void *arg)
{
    connect_request *r = arg;
    channel *ch = channel_open_socket(&r->address);
    channel_pipeline *p = NULL;
    if (ch == NULL || channel_configure_blocking(ch, false) < 0 ||
        (p = channel_pipeline_new(loop, ch, &r->b.options)) == NULL) {
        log_at(r->b.options.log, LOG_ERROR, r->b.options.program,
               "cannot open a socket: %s", strerror(errno));
        channel_close(ch);
        free(r);
        return;
    }
    if (r->b.handler(p, r->b.arg) < 0) {
        channel_pipeline_free(p);
        free(r);
        return;
    }
    int connected = channel_connect(ch, &r->address);
    int error = errno;
    free(r);
    if (connected < 0) {
        char text[160];
        snprintf(text, sizeof text, "connect: %s", strerror(error));
        pipeline_error e = {error, text};
        channel_pipeline_fire_exception_caught(p, &e);
        channel_pipeline_free(p); /* never registered: free it here */
    } else if (connected > 0) {
        channel_pipeline_register(p);
    } else {
        channel_pipeline_register_connecting(p);
    }
}

int bootstrap_connect(bootstrap *b, const char *host, uint16_t port,
                      char *error, size_t error_size)
{
    connect_request *r = malloc(sizeof *r);
    if (r == NULL) {
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    r->b = *b;
    int code = socket_address_resolve(&r->address, host, port);
    if (code != 0) {
        snprintf(error, error_size, "cannot resolve '%s': %s", host,
                 socket_address_error(code));
        free(r);
        return -1;
    }
    if (event_loop_execute(event_loop_group_next(b->group), start_connect, r) !=
        EVENT_LOOP_OK) {
        snprintf(error, error_size, "the event loop is shutting down");
        free(r);
        return -1;
    }
    return 0;
}
