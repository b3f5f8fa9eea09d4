/*
 * selector-echo-server.c - chapter 3's program: one thread echoes to many
 * clients at once through one Selector.
 *
 * Each connection's state - its channel, an input and an output Buffer and
 * whether the client has ended its stream - is its key's attachment, so the
 * loop needs no table of clients. The key's interest ops follow that state:
 * OP_READ while there is room to read into, OP_WRITE only while output is
 * pending. A client that sends faster than it reads fills its output, then
 * its input, and then loses OP_READ: the server stops reading from it, TCP
 * stops the client, and memory stays at two buffers per connection.
 *
 * Run it, then talk to it from other terminals:
 *     selector-echo-server -p 8000 &
 *     nc 127.0.0.1 8000
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "03-selector/fd_limit.h"
#include "03-selector/selector.h"
#include "cli.h"
#include "log.h"
#include "stop.h"

static const char PROGRAM[] = "selector-echo-server";

enum {
    DEFAULT_BUFFER = 16 * 1024,
    MAX_BUFFER = 64 * 1024 * 1024,
    ACCEPT_BATCH = 64, /* accepts per readiness, so clients get a turn */
    BACKLOG = 1024
};

/* excerpt:begin connection */
/* One client: the attachment of its key. */
typedef struct connection {
    channel *ch;
    buffer *input;  /* bytes read, not yet queued for writing (write mode) */
    buffer *output; /* bytes owed to the client (write mode) */
    bool eof;       /* the client has ended its stream */
} connection;
/* excerpt:end connection */

typedef struct server {
    selector *sel;
    channel *listener;
    selection_key *listener_key;
    selection_key *stop_key;
    size_t buffer_size;
    log_level log;
    bool accept_paused; /* out of descriptors: OP_ACCEPT is off for now */
    unsigned long open_connections;
    unsigned long served;
    unsigned long long echoed;
} server;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-p PORT] [-b HOST] [--backend select|poll|epoll]\n"
            "       [-s BYTES] [-v]\n"
            "Echoes every byte back to its sender; one thread, one "
            "selector, many clients.\n"
            "  -p, --port PORT        port to listen on (default 8000; 0: "
            "any free port)\n"
            "  -b, --bind HOST        address to listen on (default "
            "127.0.0.1)\n"
            "      --backend NAME     select, poll or epoll (default %s)\n"
            "  -s, --buffer-size N    bytes in each connection's input and "
            "output buffer\n"
            "                         (default %d)\n"
            "  -v, --verbose          log every connection and interest "
            "change to stderr\n"
            "  -h, --help             show this help\n",
            PROGRAM, selector_backend_name(selector_default_backend()),
            DEFAULT_BUFFER);
}

static const char *ops_text(int ops, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s%s%s", ops == 0 ? "none" : "",
             ops & OP_READ ? "R" : "", ops & OP_WRITE ? "W" : "",
             ops & OP_CONNECT ? "C" : "", ops & OP_ACCEPT ? "A" : "");
    return out;
}

/* --- one connection --------------------------------------------------- */

static connection *connection_new(channel *ch, size_t size)
{
    connection *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->ch = ch;
    c->input = buffer_allocate(size);
    c->output = buffer_allocate(size);
    if (c->input == NULL || c->output == NULL) {
        buffer_free(c->input);
        buffer_free(c->output);
        free(c);
        return NULL;
    }
    return c;
}

/* Frees the state and closes the channel. */
static void connection_free(connection *c)
{
    channel_close(c->ch);
    buffer_free(c->input);
    buffer_free(c->output);
    free(c);
}

/* excerpt:begin interest */
/* The interest ops a connection's state calls for. */
static int interest_for(const connection *c)
{
    /* lab:begin interest "Why interest ops change" return OP_READ; */
    int ops = 0;
    /* Backpressure: the input is full only when the output is full too,
     * that is when the client does not read. Then stop reading from it. */
    if (!c->eof && buffer_has_remaining(c->input))
        ops |= OP_READ;
    if (buffer_position(c->output) > 0) /* output pending */
        ops |= OP_WRITE;
    return ops;
    /* lab:end interest */
}
/* excerpt:end interest */

/* The echo's whole "protocol": move what fits from input to output.
 * Chapter 4 puts message framing here. */
static void pump(connection *c)
{
    buffer_flip(c->input);
    size_t n = buffer_remaining(c->input);
    if (n > buffer_remaining(c->output))
        n = buffer_remaining(c->output);
    const uint8_t *bytes = buffer_const_array(c->input);
    buffer_put_bytes(c->output, bytes + buffer_position(c->input), n);
    buffer_set_position(c->input, buffer_position(c->input) + n);
    buffer_compact(c->input);
}

/* excerpt:begin send */
/* Sends what the socket takes now; the rest waits for the next OP_WRITE.
 * False when the connection failed. */
static bool send_pending(server *srv, connection *c)
{
    /* lab:begin send_pending "The server: one thread" return false; */
    buffer_flip(c->output);
    ssize_t n = channel_write(c->ch, c->output);
    buffer_compact(c->output); /* keeps what was not sent: a partial write */
    if (n == CHANNEL_ERROR)
        return false;
    srv->echoed += (unsigned long long)n;
    return true;
    /* lab:end send_pending */
}
/* excerpt:end send */

static void resume_accepts(server *srv)
{
    srv->accept_paused = false;
    key_set_interest_ops(srv->listener_key, OP_ACCEPT);
}

static void close_connection(server *srv, selection_key *key, const char *why)
{
    connection *c = key_attachment(key);
    if (srv->log >= LOG_DEBUG) { /* spares a getpeername otherwise */
        char peer[SOCKET_ADDRESS_TEXT];
        log_at(srv->log, LOG_DEBUG, PROGRAM, "closing %s: %s",
               channel_remote_address(c->ch, peer, sizeof peer), why);
    }
    key_cancel(key); /* first cancel, then close: see selector.h */
    connection_free(c);
    srv->open_connections--;
    srv->served++;
    if (srv->accept_paused)
        resume_accepts(srv); /* a descriptor is free again */
}

/* excerpt:begin serve */
static void serve(server *srv, selection_key *key)
{
    connection *c = key_attachment(key);
    if (key_is_readable(key)) {
        /* One read per selection; if more is waiting, the key is still
         * readable next time (level-triggered), and others get a turn. */
        ssize_t n = channel_read(c->ch, c->input);
        if (n == CHANNEL_ERROR) { /* a reset, usually */
            close_connection(srv, key, strerror(errno));
            return;
        }
        if (n == CHANNEL_EOF)
            c->eof = true; /* finish echoing, then close */
    }
    /* Echo what fits, send what the socket takes now (without waiting for
     * OP_WRITE: usually it takes everything), and refill the room that
     * sending made. */
    pump(c);
    if (buffer_position(c->output) > 0 && !send_pending(srv, c)) {
        close_connection(srv, key, strerror(errno));
        return;
    }
    pump(c);
    if (c->eof && buffer_position(c->input) == 0 &&
        buffer_position(c->output) == 0) {
        close_connection(srv, key, "end of stream, everything echoed");
        return;
    }
    int ops = interest_for(c);
    if (ops != key_interest_ops(key)) {
        char before[16], after[16];
        log_at(srv->log, LOG_DEBUG, PROGRAM, "fd %d: interest %s -> %s",
               key_fd(key), ops_text(key_interest_ops(key), before, 16),
               ops_text(ops, after, 16));
        key_set_interest_ops(key, ops);
    }
}
/* excerpt:end serve */

/* excerpt:begin accept */
static void open_connection(server *srv, channel *ch)
{
    char peer[SOCKET_ADDRESS_TEXT];
    channel_remote_address(ch, peer, sizeof peer);
    connection *c = NULL;
    selector_status s = SELECTOR_NO_MEMORY;
    if (channel_configure_blocking(ch, false) == 0 &&
        (c = connection_new(ch, srv->buffer_size)) != NULL)
        s = selector_register(srv->sel, ch, OP_READ, c, NULL);
    if (s == SELECTOR_OK) {
        srv->open_connections++;
        log_at(srv->log, LOG_DEBUG, PROGRAM, "accepted %s (fd %d, %lu open)",
               peer, channel_fd(ch), srv->open_connections);
        return;
    }
    if (s == SELECTOR_FD_TOO_LARGE)
        log_at(srv->log, LOG_ERROR, PROGRAM,
               "closing %s: its descriptor %d is not below FD_SETSIZE (%d), "
               "so the select backend cannot watch it; use --backend poll "
               "or epoll",
               peer, channel_fd(ch), FD_SETSIZE);
    else
        log_at(srv->log, LOG_ERROR, PROGRAM, "closing %s: cannot register: %s",
               peer, selector_status_name(s));
    if (c != NULL)
        connection_free(c); /* closes ch too */
    else
        channel_close(ch);
}

static void accept_clients(server *srv)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        channel *ch = channel_accept(srv->listener);
        if (ch != NULL) {
            open_connection(srv, ch);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return; /* nobody else is waiting */
        if (errno == ECONNABORTED || errno == EPROTO)
            continue; /* that client gave up already */
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
            /* The listener stays readable, so carrying on would spin.
             * Wait until a connection closes, or the next selection. */
            log_at(srv->log, LOG_WARN, PROGRAM,
                   "cannot accept (%s); pausing accepts", strerror(errno));
            srv->accept_paused = true;
            key_set_interest_ops(srv->listener_key, 0);
            return;
        }
        log_at(srv->log, LOG_WARN, PROGRAM, "accept: %s", strerror(errno));
        return;
    }
}
/* excerpt:end accept */

/* --- the server ------------------------------------------------------- */

/* Closes every connection (the attachments are ours to free), then the
 * listener and the selector. */
static void shut_down(server *srv)
{
    key_iterator it = selector_keys(srv->sel);
    selection_key *key;
    while ((key = key_iterator_next(&it)) != NULL)
        if (key_is_valid(key) && key_attachment(key) != NULL)
            close_connection(srv, key, "server stopping");
    key_cancel(srv->listener_key);
    channel_close(srv->listener);
    selector_close(srv->sel);
}

static int run(server *srv)
{
    int status = 0;
    bool stopping = false;
    /* excerpt:begin loop */
    while (!stopping && !stop_requested()) {
        /* While accepts are paused, look again after a quiet second. */
        int n = srv->accept_paused ? selector_select_timeout(srv->sel, 1000)
                                   : selector_select(srv->sel);
        if (n < 0) {
            log_at(srv->log, LOG_ERROR, PROGRAM, "select: %s", strerror(errno));
            status = 1;
            break;
        }
        key_iterator it = selector_selected_keys(srv->sel);
        selection_key *key;
        while ((key = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it); /* Java's it.remove() */
            if (!key_is_valid(key))
                continue; /* cancelled earlier in this round */
            if (key == srv->stop_key)
                stopping = true;
            else if (key == srv->listener_key)
                accept_clients(srv);
            else
                serve(srv, key);
        }
        if (srv->accept_paused && n == 0)
            resume_accepts(srv);
    }
    /* excerpt:end loop */
    return status;
}

int main(int argc, char **argv)
{
    server srv = {.buffer_size = DEFAULT_BUFFER, .log = LOG_INFO};
    selector_backend backend = selector_default_backend();
    const char *host = "127.0.0.1";
    uint16_t port = 8000;
    enum { OPT_BACKEND = 256 };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"buffer-size", required_argument, NULL, 's'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    opterr = 0; /* our own one-line messages instead of getopt's */
    int opt;
    unsigned long size;
    while ((opt = getopt_long(argc, argv, ":p:b:s:vh", options, NULL)) != -1) {
        switch (opt) {
        case 'p':
            if (!cli_parse_port(optarg, &port))
                die(PROGRAM, "bad port '%s' (0 to 65535)", optarg);
            break;
        case 'b': host = optarg; break;
        case OPT_BACKEND:
            if (!selector_backend_parse(optarg, &backend))
                die(PROGRAM, "unknown backend '%s' (select, poll or epoll)",
                    optarg);
            if (!selector_backend_available(backend))
                die(PROGRAM, "the %s backend is not available here", optarg);
            break;
        case 's':
            size =
                cli_ulong_or_die(PROGRAM, "buffer size", optarg, 1, MAX_BUFFER);
            srv.buffer_size = size;
            break;
        case 'v': srv.log = LOG_DEBUG; break;
        case 'h': usage(stdout); return 0;
        case ':':
            die(PROGRAM, "option '%s' needs a value (see --help)",
                argv[optind - 1]);
        default:
            if (optopt != 0 && optopt < OPT_BACKEND)
                die(PROGRAM, "unknown option '-%c' (see --help)", optopt);
            die(PROGRAM, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);

    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));
    if (fd_limit_raise(0) < 0)
        log_at(srv.log, LOG_WARN, PROGRAM,
               "cannot raise the descriptor "
               "limit: %s",
               strerror(errno));
    char error[CHANNEL_ERROR_TEXT];
    srv.listener = channel_listen(host, port, BACKLOG, error, sizeof error);
    if (srv.listener == NULL)
        die(PROGRAM, "%s", error);
    srv.sel = selector_open(backend);
    if (srv.sel == NULL)
        die(PROGRAM, "cannot open a %s selector: %s",
            selector_backend_name(backend), strerror(errno));
    selector_status s = SELECTOR_SYSTEM_ERROR;
    if (channel_configure_blocking(srv.listener, false) == 0)
        s = selector_register(srv.sel, srv.listener, OP_ACCEPT, NULL,
                              &srv.listener_key);
    if (s == SELECTOR_OK)
        s = selector_register_fd(srv.sel, stop_signals_fd(), OP_READ, NULL,
                                 &srv.stop_key);
    if (s != SELECTOR_OK)
        die(PROGRAM, "cannot register with the selector: %s",
            selector_status_name(s));

    channel_print_listening(srv.listener);
    log_at(srv.log, LOG_INFO, PROGRAM, "backend %s, %zu-byte buffers",
           selector_backend_name(backend), srv.buffer_size);

    int status = run(&srv);
    shut_down(&srv);
    printf("served %lu connection%s, echoed %llu byte%s\n", srv.served,
           srv.served == 1 ? "" : "s", srv.echoed, srv.echoed == 1 ? "" : "s");
    return status;
}
