/*
 * echo-swarm.c - a load and correctness client for echo servers: many
 * connections (-c) from one thread and one selector, each sending a number
 * of messages (-n) and checking that every byte of every echo comes back,
 * in order, on the connection that sent it.
 *
 * Each connection has one message in flight: it sends it (in as many
 * writes as the socket takes) while reading the echo, and sends the next
 * one when the whole echo is back. After the last message it ends its
 * stream and expects the server to close. Message bytes are a function of
 * (connection, message, offset), so nothing is stored and a byte that went
 * to the wrong client is caught.
 *
 * --read-rate makes each connection a slow reader, and --rcvbuf shrinks
 * its socket's receive buffer so that the kernel does not soak up what the
 * server sends: together they test a server's backpressure.
 *
 * Later chapters reuse it against their servers.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "03-selector/fd_limit.h"
#include "03-selector/selector.h"
#include "cli.h"
#include "log.h"
#include "clock.h"

static const char PROGRAM[] = "echo-swarm";

enum { CHUNK = 16 * 1024, MAX_REPORTED = 5 };

typedef enum client_state {
    CONNECTING,
    TALKING,
    CLOSING, /* all echoed; stream ended; waiting for the server to close */
    DONE,
    FAILED
} client_state;

typedef struct client {
    channel *ch;
    selection_key *key;
    unsigned id;
    client_state state;
    unsigned long message;  /* the one in flight */
    size_t sent, received;  /* bytes of it */
    unsigned long long got; /* bytes read in all, for --read-rate */
    buffer *out, *in;
    char failure[96];
} client;

typedef struct options {
    const char *host;
    uint16_t port;
    unsigned long connections, count, size, timeout_s;
    unsigned long read_rate, rcvbuf;
    selector_backend backend;
} options;

typedef struct swarm {
    options o;
    selector *sel;
    client *clients;
    unsigned long active; /* neither DONE nor FAILED */
    double start;
} swarm;

/* Byte `offset` of message `message` of connection `id`. */
static uint8_t pattern(unsigned id, unsigned long message, size_t offset)
{
    uint32_t x = (uint32_t)offset * 2654435761u ^ (uint32_t)message * 40503u ^
                 (uint32_t)id * 2246822519u;
    return (uint8_t)(x ^ (x >> 13) ^ (x >> 24));
}

static void fail(swarm *s, client *c, const char *format, const char *detail)
{
    snprintf(c->failure, sizeof c->failure, format, detail);
    c->state = FAILED;
    s->active--;
    if (c->key != NULL)
        key_cancel(c->key);
    channel_close(c->ch);
    c->ch = NULL;
    c->key = NULL;
}

static void finish(swarm *s, client *c)
{
    c->state = DONE;
    s->active--;
    key_cancel(c->key);
    channel_close(c->ch);
    c->ch = NULL;
    c->key = NULL;
}

/* How many more bytes a slow reader may read now. */
static size_t read_allowance(const swarm *s, const client *c, double now)
{
    if (s->o.read_rate == 0)
        return CHUNK;
    double allowed = (now - s->start) * (double)s->o.read_rate;
    if (allowed <= (double)c->got)
        return 0;
    double left = allowed - (double)c->got;
    return left > CHUNK ? CHUNK : (size_t)left;
}

static int interest_for(const swarm *s, const client *c, double now)
{
    switch (c->state) {
    case CONNECTING: return OP_CONNECT;
    case TALKING:
        return (read_allowance(s, c, now) > 0 ? OP_READ : 0) |
               (c->sent < s->o.size || buffer_has_remaining(c->out) ? OP_WRITE
                                                                    : 0);
    case CLOSING: return read_allowance(s, c, now) > 0 ? OP_READ : 0;
    default: return 0;
    }
}

/* Fills `out` with the next part of the message in flight. */
static void refill(const swarm *s, client *c)
{
    size_t n = s->o.size - c->sent < CHUNK ? s->o.size - c->sent : CHUNK;
    uint8_t *bytes = buffer_array(c->out);
    for (size_t i = 0; i < n; i++)
        bytes[i] = pattern(c->id, c->message, c->sent + i);
    c->sent += n;
    buffer_clear(c->out);
    buffer_set_limit(c->out, n);
}

static void on_writable(swarm *s, client *c)
{
    if (!buffer_has_remaining(c->out))
        refill(s, c);
    if (channel_write(c->ch, c->out) == CHANNEL_ERROR)
        fail(s, c, "write failed: %s", strerror(errno));
}

/* The next message, or the end of the stream after the last one. */
static void next_message(swarm *s, client *c)
{
    c->message++;
    c->sent = c->received = 0;
    if (c->message < s->o.count)
        return;
    c->state = CLOSING;
    if (channel_shutdown_output(c->ch) < 0)
        fail(s, c, "shutdown failed: %s", strerror(errno));
}

static void on_readable(swarm *s, client *c, double now)
{
    size_t allowance = read_allowance(s, c, now);
    if (allowance == 0)
        return; /* a slow reader's turn comes later */
    buffer_clear(c->in);
    buffer_set_limit(c->in, allowance);
    ssize_t n = channel_read(c->ch, c->in);
    if (n == CHANNEL_ERROR) {
        fail(s, c, "read failed: %s", strerror(errno));
        return;
    }
    if (n == CHANNEL_EOF) {
        if (c->state == CLOSING)
            finish(s, c);
        else
            fail(s, c, "%s", "the server closed before echoing everything");
        return;
    }
    c->got += (unsigned long long)n;
    buffer_flip(c->in);
    const uint8_t *bytes = buffer_const_array(c->in);
    for (size_t i = 0; i < (size_t)n; i++) {
        if (c->state != TALKING) {
            fail(s, c, "%s", "more bytes came back than were sent");
            return;
        }
        if (bytes[i] != pattern(c->id, c->message, c->received)) {
            char where[64];
            snprintf(where, sizeof where, "byte %zu of message %lu",
                     c->received, c->message);
            fail(s, c, "wrong echo at %s", where);
            return;
        }
        if (++c->received == s->o.size)
            next_message(s, c);
    }
}

static void on_connectable(swarm *s, client *c)
{
    int rc = channel_finish_connect(c->ch);
    if (rc < 0)
        fail(s, c, "connect failed: %s", strerror(errno));
    else if (rc == 1)
        c->state = TALKING;
}

/* Starts connecting; NULL, or why it could not. */
static const char *start_client(swarm *s, client *c,
                                const socket_address *address)
{
    c->ch = channel_open_socket(address);
    if (c->ch == NULL)
        return strerror(errno);
    if (s->o.rcvbuf > 0) {
        int bytes = (int)s->o.rcvbuf;
        /* Before connect, so that the window it advertises is small. */
        setsockopt(channel_fd(c->ch), SOL_SOCKET, SO_RCVBUF, &bytes,
                   sizeof bytes);
    }
    if (channel_configure_blocking(c->ch, false) < 0)
        return strerror(errno);
    int rc = channel_connect(c->ch, address);
    if (rc < 0)
        return strerror(errno);
    c->state = rc == 1 ? TALKING : CONNECTING;
    selector_status st = selector_register(
        s->sel, c->ch, rc == 1 ? OP_READ | OP_WRITE : OP_CONNECT, c, &c->key);
    return st == SELECTOR_OK ? NULL : selector_status_name(st);
}

/* Throttled readers lose OP_READ; they get it back as time passes. */
static void update_interest(swarm *s, double now)
{
    for (unsigned long i = 0; i < s->o.connections; i++) {
        client *c = &s->clients[i];
        if (c->key != NULL &&
            key_interest_ops(c->key) != interest_for(s, c, now))
            key_set_interest_ops(c->key, interest_for(s, c, now));
    }
}

static int run(swarm *s, const socket_address *address)
{
    s->start = monotonic_seconds();
    double deadline = s->start + (double)s->o.timeout_s;
    for (unsigned long i = 0; i < s->o.connections; i++) {
        client *c = &s->clients[i];
        c->id = (unsigned)i;
        c->in = buffer_allocate(CHUNK);
        c->out = buffer_allocate(CHUNK);
        if (c->in == NULL || c->out == NULL)
            return -1;
        buffer_flip(c->out); /* empty: nothing to send yet */
        s->active++;
        const char *why = start_client(s, c, address);
        if (why != NULL)
            fail(s, c, "cannot connect: %s", why);
    }
    while (s->active > 0) {
        double now = monotonic_seconds();
        if (now >= deadline)
            break;
        /* A slow reader wakes up every few milliseconds to read more. */
        long wait_ms = s->o.read_rate > 0 ? 5 : (long)((deadline - now) * 1000);
        if (selector_select_timeout(s->sel, wait_ms < 1 ? 1 : wait_ms) < 0)
            return -1;
        now = monotonic_seconds();
        key_iterator it = selector_selected_keys(s->sel);
        selection_key *key;
        while ((key = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it);
            client *c = key_attachment(key);
            if (key_is_connectable(key))
                on_connectable(s, c);
            if (c->state != FAILED && key_is_readable(key))
                on_readable(s, c, now);
            if ((c->state == TALKING) && key_is_writable(key))
                on_writable(s, c);
            if (c->key != NULL &&
                key_interest_ops(key) != interest_for(s, c, now))
                key_set_interest_ops(key, interest_for(s, c, now));
        }
        if (s->o.read_rate > 0)
            update_interest(s, monotonic_seconds());
    }
    for (unsigned long i = 0; i < s->o.connections; i++)
        if (s->clients[i].state != DONE && s->clients[i].state != FAILED)
            fail(s, &s->clients[i], "%s", "timed out");
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-H HOST] [-p PORT] [-c CONNECTIONS] [-n COUNT] "
            "[-s BYTES]\n"
            "       [--read-rate BYTES] [--rcvbuf BYTES] [--backend NAME] "
            "[-t SECONDS]\n"
            "Opens CONNECTIONS connections to an echo server from one "
            "thread; each sends\n"
            "COUNT messages of BYTES bytes, one at a time, and checks every "
            "echoed byte.\n"
            "  -H, --host HOST        server address (default 127.0.0.1)\n"
            "  -p, --port PORT        server port (default 8000)\n"
            "  -c, --connections N    connections at once (default 100)\n"
            "  -n, --count N          messages per connection (default 10)\n"
            "  -s, --size BYTES       bytes per message (default 64)\n"
            "      --read-rate BYTES  read at most BYTES per second per "
            "connection\n"
            "      --rcvbuf BYTES     socket receive buffer (default: the "
            "system's)\n"
            "      --backend NAME     select, poll or epoll (default %s)\n"
            "  -t, --timeout SECONDS  give up after SECONDS (default 60)\n"
            "  -h, --help             show this help\n"
            "Prints a summary; exits 0 only when every connection "
            "succeeded.\n",
            PROGRAM, selector_backend_name(selector_default_backend()));
}

/* "--port" for 'p': how to name an option in an error message. */
static const char *option_name(const struct option *longs, int opt)
{
    for (; longs->name != NULL; longs++)
        if (longs->val == opt)
            return longs->name;
    return "?";
}

static options parse_options(int argc, char **argv)
{
    options o = {.host = "127.0.0.1",
                 .port = 8000,
                 .connections = 100,
                 .count = 10,
                 .size = 64,
                 .timeout_s = 60,
                 .backend = selector_default_backend()};
    enum { OPT_READ_RATE = 256, OPT_RCVBUF, OPT_BACKEND };
    static const struct option longs[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"connections", required_argument, NULL, 'c'},
        {"count", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 's'},
        {"read-rate", required_argument, NULL, OPT_READ_RATE},
        {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":H:p:c:n:s:t:h", longs, NULL)) !=
           -1) {
        bool ok = true;
        switch (opt) {
        case 'H': o.host = optarg; break;
        case 'p': ok = cli_parse_port(optarg, &o.port) && o.port != 0; break;
        case 'c':
            ok = cli_parse_ulong(optarg, 1, 100000, &o.connections);
            break;
        case 'n': ok = cli_parse_ulong(optarg, 1, 100000000, &o.count); break;
        case 's': ok = cli_parse_ulong(optarg, 1, 1UL << 30, &o.size); break;
        case 't': ok = cli_parse_ulong(optarg, 1, 86400, &o.timeout_s); break;
        case OPT_READ_RATE:
            ok = cli_parse_ulong(optarg, 1, 1UL << 30, &o.read_rate);
            break;
        case OPT_RCVBUF:
            ok = cli_parse_ulong(optarg, 1, 1UL << 26, &o.rcvbuf);
            break;
        case OPT_BACKEND:
            if (!selector_backend_parse(optarg, &o.backend) ||
                !selector_backend_available(o.backend))
                die(PROGRAM, "unknown backend '%s' (select, poll or epoll)",
                    optarg);
            break;
        case 'h': usage(stdout); exit(0);
        case ':':
            die(PROGRAM, "option '%s' needs a value (see --help)",
                argv[optind - 1]);
        default:
            if (optopt != 0 && optopt < OPT_READ_RATE)
                die(PROGRAM, "unknown option '-%c' (see --help)", optopt);
            die(PROGRAM, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
        if (!ok)
            die(PROGRAM, "bad value '%s' for --%s (see --help)", optarg,
                option_name(longs, opt));
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    return o;
}

int main(int argc, char **argv)
{
    swarm s = {.o = parse_options(argc, argv)};
    socket_address address;
    int rc = socket_address_resolve(&address, s.o.host, s.o.port);
    if (rc != 0)
        die(PROGRAM, "cannot resolve '%s': %s", s.o.host,
            socket_address_error(rc));
    /* One descriptor per connection, and a few to spare. */
    long limit = fd_limit_raise((long)s.o.connections + 32);
    if (limit >= 0 && (unsigned long)limit < s.o.connections + 32)
        die(PROGRAM, "%lu connections need %lu descriptors; the limit is %ld",
            s.o.connections, s.o.connections + 32, limit);
    s.sel = selector_open(s.o.backend);
    s.clients = calloc(s.o.connections, sizeof *s.clients);
    if (s.sel == NULL || s.clients == NULL)
        die(PROGRAM, "cannot start: %s", strerror(errno));

    int status = run(&s, &address);
    double took = monotonic_seconds() - s.start;
    unsigned long ok = 0, failed = 0, reported = 0;
    for (unsigned long i = 0; i < s.o.connections; i++) {
        client *c = &s.clients[i];
        if (c->state == DONE) {
            ok++;
        } else {
            failed++;
            if (reported++ < MAX_REPORTED)
                log_at(LOG_INFO, LOG_ERROR, PROGRAM, "connection %lu: %s", i,
                       c->failure);
        }
        buffer_free(c->in);
        buffer_free(c->out);
    }
    if (status < 0)
        log_at(LOG_INFO, LOG_ERROR, PROGRAM, "select failed: %s",
               strerror(errno));
    unsigned long long messages =
        (unsigned long long)ok * (unsigned long long)s.o.count;
    printf("%lu connection%s: %lu ok, %lu failed; %llu message%s of %lu "
           "byte%s echoed and checked\n",
           s.o.connections, s.o.connections == 1 ? "" : "s", ok, failed,
           messages, messages == 1 ? "" : "s", s.o.size,
           s.o.size == 1 ? "" : "s");
    log_at(LOG_INFO, LOG_INFO, PROGRAM, "%.2f s, %.0f messages/s", took,
           took > 0 ? (double)messages / took : 0.0);
    free(s.clients);
    selector_close(s.sel);
    return status == 0 && failed == 0 ? 0 : 1;
}
