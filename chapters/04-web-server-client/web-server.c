/*
 * web-server.c - the seed's WebServer on chapter 3's Selector, done right:
 * one thread, one selector, one web_session per connection as its key's
 * attachment. Each complete line gets "received\n".
 *
 * With --seed it runs the seed's handler instead, faithfully wrong: one
 * read buffer and one write buffer shared by every client, one read taken
 * as one whole message, the whole array printed, no framing, the write's
 * count ignored. That mode exists to be compared with the real one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "01-buffer/buffer.h"
#include "02-blocking-echo/channel.h"
#include "03-selector/selector.h"
#include "web_session.h"
#include "cli.h"
#include "log.h"
#include "stop.h"

#define PROGRAM "web-server"

/* The seed's buffer sizes, for --seed. */
enum { SEED_READ_SIZE = 1024, SEED_WRITE_SIZE = 128 };

typedef struct server {
    log_level level;
    selector *sel;
    channel *listener;
    selection_key *listener_key;
    selection_key *stop_key;
    size_t buffer_size;
    bool seed_mode;
    /* --seed only: the buffers the seed shares among all its clients. */
    buffer *seed_read;
    buffer *seed_write;
    uint64_t connections; /* accepted */
    uint64_t messages;    /* answered, by sessions already closed */
} server;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [options]\n"
            "The seed's WebServer, done right: answers each line with "
            "\"received\".\n"
            "\n"
            "  -p, --port PORT         port to listen on (default 8000; 0: "
            "any free port)\n"
            "  -b, --bind ADDRESS      address to listen on (default "
            "127.0.0.1)\n"
            "      --backend NAME      select, poll or epoll (default: %s)\n"
            "  -s, --buffer-size BYTES each connection's input and output "
            "buffer,\n"
            "                          hence the longest line (default "
            "4096)\n"
            "      --seed              run the seed's handler instead: "
            "shared buffers,\n"
            "                          one read = one message, no framing\n"
            "  -l, --log-level LEVEL   error, warn, info or debug (default "
            "warn);\n"
            "                          debug shows each key's interest ops\n"
            "  -h, --help              show this help\n"
            "\n"
            "Try it: " PROGRAM " & then nc 127.0.0.1 8000 and type lines.\n"
            "Stops cleanly on SIGINT or SIGTERM.\n",
            selector_backend_name(selector_default_backend()));
}

static const char *ops_text(int ops)
{
    static const char *const names[] = {"none", "READ", "WRITE", "READ|WRITE"};
    return names[((ops & OP_READ) ? 1 : 0) | ((ops & OP_WRITE) ? 2 : 0)];
}

static void log_connection(const server *srv, log_level level,
                           const channel *ch, const char *what)
{
    if (level > srv->level)
        return;
    char peer[SOCKET_ADDRESS_TEXT];
    log_at(srv->level, level, PROGRAM, "%s: %s",
           channel_remote_address(ch, peer, sizeof peer), what);
}

/* --- the server, done right ------------------------------------------- */

/* excerpt:begin accept */
/* Takes every waiting connection (up to a bound, so that a flood of them
 * cannot starve the clients already served) and gives each its own
 * session, attached to its key. */
static void accept_clients(server *srv)
{
    for (int i = 0; i < 64; i++) {
        channel *ch = channel_accept(srv->listener);
        if (ch == NULL) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_at(srv->level, LOG_WARN, PROGRAM, "accept: %s",
                       strerror(errno));
            return;
        }
        srv->connections++;
        web_session *s = NULL;
        if (channel_configure_blocking(ch, false) < 0 ||
            (s = web_session_new(ch, srv->buffer_size)) == NULL) {
            log_at(srv->level, LOG_WARN, PROGRAM, "new connection: %s",
                   strerror(errno));
            channel_close(ch);
            continue;
        }
        selector_status st = selector_register(srv->sel, ch, OP_READ, s, NULL);
        if (st != SELECTOR_OK) {
            /* e.g. SELECTOR_FD_TOO_LARGE with select(2): refuse this one */
            log_connection(srv, LOG_WARN, ch, selector_status_name(st));
            web_session_free(s);
            continue;
        }
        log_connection(srv, LOG_INFO, ch, "connected");
    }
}
/* excerpt:end accept */

static void close_session(server *srv, selection_key *key, log_level level,
                          const char *why)
{
    web_session *s = key_attachment(key);
    srv->messages += web_session_messages(s);
    log_connection(srv, level, web_session_channel(s), why);
    key_cancel(key); /* first the key, then the channel (selector.h) */
    web_session_free(s);
}

/* excerpt:begin serve */
/* One ready connection: let its session read and write, then set the
 * key's interest to what the session asks for next. */
static void serve(server *srv, selection_key *key)
{
    web_session *s = key_attachment(key);
    web_session_state state = WEB_SESSION_OPEN;
    if (key_is_readable(key))
        state = web_session_on_readable(s);
    if (state == WEB_SESSION_OPEN && key_is_writable(key))
        state = web_session_on_writable(s);
    if (state == WEB_SESSION_FINISHED) {
        close_session(srv, key, LOG_INFO, "closed: every reply sent");
        return;
    }
    if (state == WEB_SESSION_FAILED) {
        close_session(srv, key, LOG_INFO, "closed: reset, error or bad input");
        return;
    }
    int before = key_interest_ops(key), after = web_session_interest_ops(s);
    if (after != before && srv->level >= LOG_DEBUG) {
        char line[64];
        snprintf(line, sizeof line, "interest %s -> %s", ops_text(before),
                 ops_text(after));
        log_connection(srv, LOG_DEBUG, web_session_channel(s), line);
    }
    if (key_set_interest_ops(key, after) != SELECTOR_OK)
        close_session(srv, key, LOG_WARN, "closed: the selector refused");
}
/* excerpt:end serve */

/* --- the seed's handler, for comparison (--seed) ---------------------- */

/* excerpt:begin seed-read */
static void seed_on_readable(server *srv, selection_key *key)
{
    channel *ch = key_channel(key);
    buffer_clear(srv->seed_read); /* one buffer for every client */
    ssize_t n = channel_read(ch, srv->seed_read); /* one read = one message */
    if (n < 0) {
        /* The one fix this mode keeps. At end of stream the seed goes on
         * as if a message had come; on an error it throws, and its one
         * try block ends the whole server. */
        printf(n == CHANNEL_EOF ? "end of stream: the seed would answer "
                                  "and read again; closing\n"
                                : "read failed: the seed's server would "
                                  "stop here; closing\n");
        fflush(stdout);
        key_cancel(key);
        channel_close(ch);
        return;
    }
    buffer_flip(srv->seed_read);
    /* The seed prints the whole array, not the n bytes just read: stale
     * bytes of an earlier, longer message (anyone's) show up too. */
    const uint8_t *all = buffer_const_array(srv->seed_read);
    size_t shown = strnlen((const char *)all, SEED_READ_SIZE);
    printf("received : %.*s\n", (int)shown, (const char *)all);
    fflush(stdout);
    key_set_interest_ops(key, OP_WRITE);
}
/* excerpt:end seed-read */

/* excerpt:begin seed-write */
static void seed_on_writable(server *srv, selection_key *key)
{
    buffer_rewind(srv->seed_write); /* assumes the last write was whole */
    channel_write(key_channel(key), srv->seed_write); /* count ignored */
    key_set_interest_ops(key, OP_READ);
}
/* excerpt:end seed-write */

static void seed_accept(server *srv)
{
    channel *ch = channel_accept(srv->listener);
    if (ch == NULL)
        return;
    srv->connections++;
    if (channel_configure_blocking(ch, false) < 0 ||
        selector_register(srv->sel, ch, OP_READ, NULL, NULL) != SELECTOR_OK)
        channel_close(ch);
}

/* --- the event loop --------------------------------------------------- */

/* excerpt:begin loop */
static int run(server *srv)
{
    bool stopping = false;
    while (!stopping) {
        if (selector_select(srv->sel) < 0) {
            if (errno == EINTR)
                continue; /* a signal: the stop pipe says if it was ours */
            log_at(srv->level, LOG_ERROR, PROGRAM, "select: %s",
                   strerror(errno));
            return -1;
        }
        key_iterator it = selector_selected_keys(srv->sel);
        selection_key *key;
        while ((key = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it);
            if (key == srv->stop_key)
                stopping = true; /* finish this round, then stop */
            else if (key == srv->listener_key)
                srv->seed_mode ? seed_accept(srv) : accept_clients(srv);
            else if (!srv->seed_mode)
                serve(srv, key);
            else if (key_is_readable(key))
                seed_on_readable(srv, key);
            else if (key_is_writable(key))
                seed_on_writable(srv, key);
        }
    }
    return 0;
}
/* excerpt:end loop */

/* Closes every connection still open and frees its session. */
static void close_all(server *srv)
{
    key_iterator it = selector_keys(srv->sel);
    selection_key *key;
    while ((key = key_iterator_next(&it)) != NULL) {
        if (key == srv->stop_key || key == srv->listener_key ||
            !key_is_valid(key))
            continue;
        if (srv->seed_mode) {
            channel *ch = key_channel(key);
            key_cancel(key);
            channel_close(ch);
        } else {
            close_session(srv, key, LOG_INFO, "closed: server stopping");
        }
    }
}

int main(int argc, char **argv)
{
    server srv = {.level = LOG_WARN, .buffer_size = 4096};
    const char *bind_host = "127.0.0.1";
    uint16_t port = 8000;
    selector_backend backend = selector_default_backend();
    unsigned long size;

    enum { OPT_BACKEND = 256, OPT_SEED };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"buffer-size", required_argument, NULL, 's'},
        {"seed", no_argument, NULL, OPT_SEED},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:s:l:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p': port = cli_port_or_die(PROGRAM, optarg, 0); break;
        case 'b': bind_host = optarg; break;
        case OPT_BACKEND:
            backend = selector_backend_or_die(PROGRAM, optarg);
            break;
        case 's':
            size =
                cli_ulong_or_die(PROGRAM, "buffer size", optarg, 16, 1 << 20);
            srv.buffer_size = size;
            break;
        case OPT_SEED: srv.seed_mode = true; break;
        case 'l': srv.level = cli_log_level_or_die(PROGRAM, optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);

    /* A long accept queue: a burst of connects larger than it overflows,
     * and the kernel delays (SYN retries) or even resets the extra ones.
     * Java's default backlog, which the seed uses, is 50. */
    char error[CHANNEL_ERROR_TEXT];
    srv.listener =
        channel_listen(bind_host, port, SOMAXCONN, error, sizeof error);
    if (srv.listener == NULL)
        die(PROGRAM, "%s", error);
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));
    srv.sel = selector_open(backend);
    if (srv.sel == NULL)
        die(PROGRAM, "cannot open a %s selector: %s",
            selector_backend_name(backend), strerror(errno));
    if (srv.seed_mode) {
        srv.seed_read = buffer_allocate(SEED_READ_SIZE);
        srv.seed_write = buffer_allocate(SEED_WRITE_SIZE);
        if (srv.seed_read == NULL || srv.seed_write == NULL)
            die(PROGRAM, "out of memory");
        buffer_put_bytes(srv.seed_write, "received", 8); /* no '\n' */
        buffer_flip(srv.seed_write);
    }
    if (channel_configure_blocking(srv.listener, false) < 0 ||
        selector_register(srv.sel, srv.listener, OP_ACCEPT, NULL,
                          &srv.listener_key) != SELECTOR_OK ||
        selector_register_fd(srv.sel, stop_signals_fd(), OP_READ, NULL,
                             &srv.stop_key) != SELECTOR_OK)
        die(PROGRAM, "cannot register with the selector");

    channel_print_listening(srv.listener);
    log_at(srv.level, LOG_INFO, PROGRAM, "%s backend%s",
           selector_backend_name(backend),
           srv.seed_mode ? ", the seed's handler" : "");

    int status = run(&srv) == 0 ? 0 : 1;

    close_all(&srv);
    selector_close(srv.sel);
    channel_close(srv.listener);
    buffer_free(srv.seed_read);
    buffer_free(srv.seed_write);
    if (srv.seed_mode)
        printf("stopped after %llu connections\n",
               (unsigned long long)srv.connections);
    else
        printf("stopped after %llu connections, %llu messages answered\n",
               (unsigned long long)srv.connections,
               (unsigned long long)srv.messages);
    return status;
}
