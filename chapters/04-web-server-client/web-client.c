/*
 * web-client.c - the seed's WebClient, done right: a non-blocking connect
 * finished on OP_CONNECT, a bounded number of "hello" lines, each reply
 * read as a line and printed, and a summary. With -c it runs many
 * connections from one thread on one selector.
 *
 * Each connection sends its N lines, then half-closes (end of stream) and
 * reads until the server closes: so it checks that it got exactly N
 * replies, no fewer and no more.
 *
 * With --no-framing it speaks the seed's way: "hello" with no newline, and
 * whatever one read returns is taken as one reply.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "01-buffer/buffer.h"
#include "02-blocking-echo/channel.h"
#include "03-selector/selector.h"
#include "cli.h"
#include "log.h"
#include "clock.h"

#define PROGRAM "web-client"

static const char REPLY[] = "received";

typedef enum phase { CONNECTING, TALKING, DONE } phase;

typedef struct connection {
    unsigned long id; /* 1, 2, ... */
    channel *ch;
    selection_key *key;
    buffer *out;          /* messages not yet sent; filling mode */
    buffer *in;           /* reply bytes not yet framed; filling mode */
    unsigned long queued; /* messages put into `out` */
    uint64_t bytes_sent;
    unsigned long replies; /* lines "received" (no framing: reads) */
    bool output_shut;
    phase phase;
} connection;

typedef struct client {
    const char *host;
    uint16_t port;
    unsigned long messages; /* per connection */
    unsigned long connections;
    unsigned long timeout_s;
    bool verbose;
    bool framing;
    const char *message; /* "hello\n", or "hello" without framing */
    size_t message_length;
    selector *sel;
    connection *conns;
    unsigned long active; /* connections not DONE */
    uint64_t sent, replies, errors;
} client;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [options]\n"
            "The seed's WebClient, done right: sends \"hello\" lines, "
            "prints each reply.\n"
            "\n"
            "  -H, --host HOST         server address (default 127.0.0.1)\n"
            "  -p, --port PORT         server port (default 8000)\n"
            "  -n, --messages N        lines per connection (default 5)\n"
            "  -c, --connections C     concurrent connections, one thread "
            "(default 1)\n"
            "      --backend NAME      select, poll or epoll (default: %s)\n"
            "  -t, --timeout SECONDS   give up after this long (default "
            "10)\n"
            "  -v, --verbose           print every reply, even with -c > 1\n"
            "      --no-framing        the seed's way: \"hello\" without a "
            "newline, all\n"
            "                          N in one write, one read taken as one "
            "reply\n"
            "  -h, --help              show this help\n"
            "\n"
            "Prints a summary; exits 0 only when every message got its "
            "reply.\n",
            selector_backend_name(selector_default_backend()));
}

/* Ends a connection: first the key, then the channel (selector.h). */
static void finish(client *cl, connection *c)
{
    if (c->phase == DONE)
        return;
    c->phase = DONE;
    cl->active--;
    cl->sent += c->bytes_sent / cl->message_length;
    cl->replies += c->replies;
    key_cancel(c->key);
    channel_close(c->ch);
    c->ch = NULL;
    c->key = NULL;
}

static void fail(client *cl, connection *c, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(client *cl, connection *c, const char *format, ...)
{
    char what[256];
    va_list args;
    va_start(args, format);
    vsnprintf(what, sizeof what, format, args);
    va_end(args);
    fprintf(stderr, PROGRAM ": connection %lu: %s\n", c->id, what);
    cl->errors++;
    finish(cl, c);
}

/* Puts as many of the messages still owed as fit into `out`. */
static void fill(client *cl, connection *c)
{
    while (c->queued < cl->messages &&
           buffer_remaining(c->out) >= cl->message_length) {
        buffer_put_bytes(c->out, cl->message, cl->message_length);
        c->queued++;
    }
}

static void update_interest(connection *c)
{
    int ops = OP_READ; /* always: the server's replies must never wait */
    if (buffer_position(c->out) > 0)
        ops |= OP_WRITE;
    key_set_interest_ops(c->key, ops);
}

/* excerpt:begin connect */
static void start(client *cl, connection *c, const socket_address *address)
{
    /* lab:begin start "The client" fail(cl, c, "connect: not written yet"); */
    c->ch = channel_open_socket(address);
    if (c->ch == NULL || channel_configure_blocking(c->ch, false) < 0) {
        c->key = NULL;
        fail(cl, c, "socket: %s", strerror(errno));
        return;
    }
    int rc = channel_connect(c->ch, address); /* returns at once */
    if (rc < 0) {
        fail(cl, c, "connect: %s", strerror(errno));
        return;
    }
    c->phase = rc == 1 ? TALKING : CONNECTING;
    int ops = OP_CONNECT;
    if (rc == 1) {
        fill(cl, c);
        ops = OP_READ | OP_WRITE;
    }
    selector_status st = selector_register(cl->sel, c->ch, ops, c, &c->key);
    if (st != SELECTOR_OK)
        fail(cl, c, "register: %s", selector_status_name(st));
    /* lab:end start */
}

static void on_connectable(client *cl, connection *c)
{
    /* lab:begin connected "The client" fail(cl, c, "not written yet"); */
    int rc = channel_finish_connect(c->ch);
    if (rc < 0) {
        fail(cl, c, "connect: %s", strerror(errno)); /* e.g. refused */
        return;
    }
    if (rc == 0)
        return; /* not yet: OP_CONNECT fires again */
    c->phase = TALKING;
    fill(cl, c);
    update_interest(c); /* OP_CONNECT is done with: read and write now */
    /* lab:end connected */
}
/* excerpt:end connect */

static void on_writable(client *cl, connection *c)
{
    buffer_flip(c->out);
    ssize_t n = channel_write(c->ch, c->out);
    buffer_compact(c->out);
    if (n < 0) {
        fail(cl, c, "write: %s", strerror(errno));
        return;
    }
    c->bytes_sent += (uint64_t)n;
    fill(cl, c);
    if (c->queued == cl->messages && buffer_position(c->out) == 0 &&
        !c->output_shut) {
        /* Everything sent: say so, and read until the server closes. */
        channel_shutdown_output(c->ch);
        c->output_shut = true;
    }
    update_interest(c);
}

/* Shows bytes as C would write them, so that merged replies are visible. */
static void print_escaped(const uint8_t *bytes, size_t length)
{
    putchar('"');
    for (size_t i = 0; i < length; i++) {
        if (bytes[i] == '\n')
            fputs("\\n", stdout);
        else if (bytes[i] == '\r')
            fputs("\\r", stdout);
        else if (bytes[i] == '"' || bytes[i] == '\\')
            printf("\\%c", bytes[i]);
        else if (bytes[i] >= 0x20 && bytes[i] < 0x7f)
            putchar(bytes[i]);
        else
            printf("\\x%02x", bytes[i]);
    }
    putchar('"');
}

/* The seed's reading: whatever one read returns is one reply. */
static void take_reads_as_replies(client *cl, connection *c)
{
    c->replies++;
    printf("read %lu: ", c->replies);
    print_escaped(buffer_const_array(c->in), buffer_position(c->in));
    putchar('\n');
    buffer_clear(c->in);
    (void)cl;
}

/* excerpt:begin replies */
/* Frames the replies by '\n': each complete line must say "received". */
static bool take_lines(client *cl, connection *c)
{
    uint8_t *bytes = buffer_array(c->in);
    size_t filled = buffer_position(c->in), start = 0;
    for (size_t i = 0; i < filled; i++) {
        if (bytes[i] != '\n')
            continue;
        size_t length = i - start;
        if (length > 0 && bytes[i - 1] == '\r')
            length--;
        const char *line = (const char *)bytes + start;
        if (length != strlen(REPLY) || memcmp(line, REPLY, length) != 0) {
            fail(cl, c, "unexpected reply '%.*s'", (int)length, line);
            return false;
        }
        if (++c->replies > cl->messages) {
            fail(cl, c, "more replies than the %lu messages sent",
                 cl->messages);
            return false;
        }
        if (cl->connections == 1)
            printf("reply %lu: %.*s\n", c->replies, (int)length, line);
        else if (cl->verbose)
            printf("connection %lu reply %lu: %.*s\n", c->id, c->replies,
                   (int)length, line);
        start = i + 1;
    }
    /* Keep the unfinished line for the next read. */
    buffer_flip(c->in);
    buffer_set_position(c->in, start);
    buffer_compact(c->in);
    if (buffer_remaining(c->in) == 0) {
        fail(cl, c, "a reply longer than %zu bytes", buffer_capacity(c->in));
        return false;
    }
    return true;
}
/* excerpt:end replies */

static void on_readable(client *cl, connection *c)
{
    ssize_t n = channel_read(c->ch, c->in);
    if (n == CHANNEL_ERROR) {
        fail(cl, c, "read: %s", strerror(errno));
    } else if (n > 0) {
        if (!cl->framing)
            take_reads_as_replies(cl, c);
        else
            take_lines(cl, c);
    } else if (n == CHANNEL_EOF) {
        if (cl->framing && buffer_position(c->in) > 0)
            fail(cl, c, "the server closed in the middle of a reply");
        else if (cl->framing && c->replies < cl->messages)
            fail(cl, c, "the server closed after %lu of %lu replies",
                 c->replies, cl->messages);
        else
            finish(cl, c); /* every reply, then end of stream: done */
    }
}

/* excerpt:begin loop */
static void run(client *cl, const socket_address *address)
{
    for (unsigned long i = 0; i < cl->connections; i++)
        start(cl, &cl->conns[i], address);
    long long deadline = monotonic_ms() + (long long)cl->timeout_s * 1000;
    while (cl->active > 0) {
        long long left = deadline - monotonic_ms();
        if (left <= 0)
            break;
        if (selector_select_timeout(cl->sel, (long)left) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, PROGRAM ": select: %s\n", strerror(errno));
            break;
        }
        key_iterator it = selector_selected_keys(cl->sel);
        selection_key *key;
        while ((key = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it);
            connection *c = key_attachment(key);
            if (key_is_connectable(key))
                on_connectable(cl, c);
            /* Each step may end the connection: check before the next. */
            if (c->phase == TALKING && key_is_writable(key))
                on_writable(cl, c);
            if (c->phase == TALKING && key_is_readable(key))
                on_readable(cl, c);
        }
    }
    for (unsigned long i = 0; i < cl->connections; i++) {
        connection *c = &cl->conns[i];
        if (c->phase != DONE)
            fail(cl, c, "no end after %lu s: %lu of %lu replies", cl->timeout_s,
                 c->replies, cl->messages);
    }
}
/* excerpt:end loop */

int main(int argc, char **argv)
{
    client cl = {.host = "127.0.0.1",
                 .port = 8000,
                 .messages = 5,
                 .connections = 1,
                 .timeout_s = 10,
                 .framing = true};
    selector_backend backend = selector_default_backend();

    enum { OPT_BACKEND = 256, OPT_NO_FRAMING };
    static const struct option options[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"messages", required_argument, NULL, 'n'},
        {"connections", required_argument, NULL, 'c'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"no-framing", no_argument, NULL, OPT_NO_FRAMING},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "H:p:n:c:t:vh", options, NULL)) !=
           -1) {
        switch (opt) {
        case 'H': cl.host = optarg; break;
        case 'p': cl.port = cli_port_or_die(PROGRAM, optarg, 1); break;
        case 'n':
            cl.messages =
                cli_ulong_or_die(PROGRAM, "message count", optarg, 1, 1000000);
            break;
        case 'c':
            cl.connections =
                cli_ulong_or_die(PROGRAM, "connection count", optarg, 1, 10000);
            break;
        case OPT_BACKEND:
            backend = selector_backend_or_die(PROGRAM, optarg);
            break;
        case 't':
            cl.timeout_s = cli_ulong_or_die(PROGRAM, "timeout in seconds",
                                            optarg, 1, 3600);
            break;
        case 'v': cl.verbose = true; break;
        case OPT_NO_FRAMING: cl.framing = false; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    if (!cl.framing && cl.messages > 1000)
        die(PROGRAM, "--no-framing sends everything in one write: at most "
                     "1000 messages");
    /* Line by line, so that replies and errors appear in the order they
     * happened even when stdout and stderr share a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    cl.message = cl.framing ? "hello\n" : "hello";
    cl.message_length = strlen(cl.message);

    socket_address address;
    int rc = socket_address_resolve(&address, cl.host, cl.port);
    if (rc != 0)
        die(PROGRAM, "cannot resolve '%s': %s", cl.host,
            socket_address_error(rc));
    cl.sel = selector_open(backend);
    cl.conns = calloc(cl.connections, sizeof *cl.conns);
    if (cl.sel == NULL || cl.conns == NULL)
        die(PROGRAM, "cannot start: %s", strerror(errno));
    /* Without framing all N messages go out in one write, as TCP may
     * merge the seed's tight loop of writes anyway. */
    size_t out_size = cl.framing ? 4096 : cl.messages * cl.message_length;
    for (unsigned long i = 0; i < cl.connections; i++) {
        connection *c = &cl.conns[i];
        c->id = i + 1;
        c->out = buffer_allocate(out_size);
        c->in = buffer_allocate(4096);
        if (c->out == NULL || c->in == NULL)
            die(PROGRAM, "out of memory");
    }
    cl.active = cl.connections;

    run(&cl, &address);

    printf("summary: connections %lu, messages sent %llu, replies received "
           "%llu, errors %llu\n",
           cl.connections, (unsigned long long)cl.sent,
           (unsigned long long)cl.replies, (unsigned long long)cl.errors);
    uint64_t owed = (uint64_t)cl.messages * cl.connections;
    bool ok = cl.errors == 0 && cl.sent == owed && cl.replies == owed;
    if (!ok && cl.errors == 0 && !cl.framing)
        fprintf(stderr,
                PROGRAM ": %llu messages sent, %llu replies read: without "
                        "framing, message boundaries are lost\n",
                (unsigned long long)cl.sent, (unsigned long long)cl.replies);
    else if (!ok && cl.errors == 0)
        fprintf(stderr, PROGRAM ": %llu of %llu replies missing\n",
                (unsigned long long)(owed - cl.replies),
                (unsigned long long)owed);
    for (unsigned long i = 0; i < cl.connections; i++) {
        buffer_free(cl.conns[i].out);
        buffer_free(cl.conns[i].in);
    }
    free(cl.conns);
    selector_close(cl.sel);
    return ok ? 0 : 1;
}
