/*
 * script-client.c - several connections to a line server (chapter 4's
 * protocol), driven one step at a time, in the order the steps are given.
 * It exists to show who waits for whom: "client 3 gets nothing while
 * clients 1 and 2 stay; client 1 leaves; now client 3 gets its reply" is
 * a script, and its output is the same on every run.
 *
 * Each step is one argument:
 *   open N         connect client N (1 to 16)
 *   send N TEXT    send TEXT and a newline
 *   expect N       wait for one line and print it
 *   quiet N MS     check that nothing arrives for MS milliseconds
 *   close N        close client N
 *   eof N          wait for the server to close client N
 * A step that cannot be done (a refused connect, a line that does not
 * come, a reply where quiet was expected) ends the script with status 1.
 * Every wait is bounded by --timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "01-buffer/buffer.h"
#include "02-blocking-echo/channel.h"
#include "cli.h"
#include "log.h"
#include "clock.h"

#define PROGRAM "script-client"

enum { MAX_CLIENTS = 16, LINE_MAX_BYTES = 1024 };

typedef struct client {
    channel *ch; /* NULL when not open */
    buffer *in;  /* bytes read and not yet taken as a line; filling mode */
} client;

typedef struct script {
    socket_address address;
    long timeout_ms;
    client clients[MAX_CLIENTS + 1]; /* 1-based, as the steps name them */
} script;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [options] STEP...\n"
            "Drives several connections to a line server, one step at a "
            "time.\n"
            "\n"
            "Steps (each one argument, so quote them):\n"
            "  'open N'        connect client N (1 to %d)\n"
            "  'send N TEXT'   send TEXT and a newline\n"
            "  'expect N'      wait for one line and print it\n"
            "  'quiet N MS'    check that nothing arrives for MS "
            "milliseconds\n"
            "  'close N'       close client N\n"
            "  'eof N'         wait for the server to close client N\n"
            "\n"
            "  -H, --host HOST         server address (default 127.0.0.1)\n"
            "  -p, --port PORT         server port (default 8000)\n"
            "  -t, --timeout SECONDS   longest wait of any step (default "
            "10)\n"
            "  -h, --help              show this help\n"
            "\n"
            "Example: " PROGRAM " -p 8000 'open 1' 'send 1 hello' 'expect "
            "1' 'close 1'\n",
            MAX_CLIENTS);
}

/* Waits until `ch` is readable or `ms` have passed: 1, 0 or -1. */
static int wait_readable(channel *ch, long ms)
{
    struct pollfd p = {.fd = channel_fd(ch), .events = POLLIN};
    long deadline = monotonic_ms() + ms;
    for (;;) {
        long left = deadline - monotonic_ms();
        int n = poll(&p, 1, left > 0 ? (int)left : 0);
        if (n >= 0 || errno != EINTR)
            return n > 0 ? 1 : n;
    }
}

/* A complete line at the front of c->in: its length (without "\r\n"),
 * with *used set to the bytes it takes, or -1 when there is none yet. */
static long front_line(client *c, size_t *used)
{
    const uint8_t *bytes = buffer_const_array(c->in);
    size_t filled = buffer_position(c->in);
    const uint8_t *nl = memchr(bytes, '\n', filled);
    if (nl == NULL)
        return -1;
    size_t length = (size_t)(nl - bytes);
    *used = length + 1;
    if (length > 0 && bytes[length - 1] == '\r')
        length--;
    return (long)length;
}

/* Removes the first `used` bytes of c->in. */
static void consume(client *c, size_t used)
{
    buffer_flip(c->in);
    buffer_set_position(c->in, used);
    buffer_compact(c->in);
}

/* Reads what has arrived into c->in: > 0 bytes, CHANNEL_EOF, CHANNEL_ERROR,
 * or 0 when `ms` passed with nothing. */
static ssize_t read_some(client *c, long ms)
{
    int ready = wait_readable(c->ch, ms);
    if (ready <= 0)
        return ready < 0 ? CHANNEL_ERROR : 0;
    if (buffer_remaining(c->in) == 0) {
        errno = EMSGSIZE; /* a line longer than the buffer */
        return CHANNEL_ERROR;
    }
    return channel_read(c->ch, c->in);
}

static bool fail(int id, const char *what)
{
    fprintf(stderr, PROGRAM ": client %d: %s\n", id, what);
    return false;
}

static bool step_expect(script *sc, int id)
{
    client *c = &sc->clients[id];
    long deadline = monotonic_ms() + sc->timeout_ms;
    size_t used;
    long length;
    while ((length = front_line(c, &used)) < 0) {
        long left = deadline - monotonic_ms();
        ssize_t n = left > 0 ? read_some(c, left) : 0;
        if (n == 0)
            return fail(id, "no reply within the timeout");
        if (n == CHANNEL_EOF)
            return fail(id, "the server closed the connection");
        if (n < 0)
            return fail(id, strerror(errno));
    }
    printf("client %d: got \"%.*s\"\n", id, (int)length,
           (const char *)buffer_const_array(c->in));
    consume(c, used);
    return true;
}

static bool step_quiet(script *sc, int id, long ms)
{
    client *c = &sc->clients[id];
    if (buffer_position(c->in) > 0)
        return fail(id, "bytes had already arrived");
    ssize_t n = read_some(c, ms);
    if (n > 0) {
        size_t used;
        long length = front_line(c, &used);
        fprintf(stderr, PROGRAM ": client %d: expected nothing, got \"%.*s\"\n",
                id, (int)(length < 0 ? (long)buffer_position(c->in) : length),
                (const char *)buffer_const_array(c->in));
        return false;
    }
    if (n == CHANNEL_EOF)
        return fail(id, "expected nothing, but the server closed");
    if (n < 0)
        return fail(id, strerror(errno));
    printf("client %d: nothing for %ld ms\n", id, ms);
    return true;
}

static bool step_eof(script *sc, int id)
{
    client *c = &sc->clients[id];
    long deadline = monotonic_ms() + sc->timeout_ms;
    for (;;) {
        if (buffer_position(c->in) > 0)
            return fail(id, "expected the end of the stream, got bytes");
        long left = deadline - monotonic_ms();
        ssize_t n = left > 0 ? read_some(c, left) : 0;
        if (n == 0)
            return fail(id, "still open after the timeout");
        /* A reset is a close too: a server that closes with unread input
         * makes the kernel send RST instead of FIN. */
        if (n == CHANNEL_EOF || (n == CHANNEL_ERROR && errno == ECONNRESET))
            break;
        if (n < 0)
            return fail(id, strerror(errno));
    }
    printf("client %d: closed by the server\n", id);
    channel_close(c->ch);
    c->ch = NULL;
    buffer_clear(c->in);
    return true;
}

static bool step_send(script *sc, int id, const char *text)
{
    client *c = &sc->clients[id];
    size_t length = strlen(text);
    buffer *out = buffer_allocate(length + 1);
    if (out == NULL)
        return fail(id, strerror(ENOMEM));
    buffer_put_bytes(out, text, length);
    buffer_put_bytes(out, "\n", 1);
    buffer_flip(out);
    bool ok = true;
    while (ok && buffer_has_remaining(out)) /* a blocking channel */
        ok = channel_write(c->ch, out) >= 0;
    buffer_free(out);
    if (!ok)
        return fail(id, strerror(errno));
    printf("client %d: sent \"%s\"\n", id, text);
    return true;
}

/* Runs one step; false when it could not be done. */
static bool step(script *sc, const char *text)
{
    char verb[8];
    int id, used = 0;
    long ms;
    if (sscanf(text, "%7s %d%n", verb, &id, &used) != 2 || id < 1 ||
        id > MAX_CLIENTS) {
        fprintf(stderr, PROGRAM ": bad step '%s' (see --help)\n", text);
        return false;
    }
    const char *arg = text + used;
    arg += strspn(arg, " ");
    client *c = &sc->clients[id];
    bool opening = strcmp(verb, "open") == 0;
    if (opening != (c->ch == NULL))
        return fail(id, opening ? "already open" : "not open");

    if (opening) {
        c->ch = channel_open_connected(&sc->address);
        if (c->ch == NULL)
            return fail(id, strerror(errno));
        buffer_clear(c->in);
        printf("client %d: connected\n", id);
        return true;
    }
    if (strcmp(verb, "send") == 0 && *arg != '\0' && strlen(arg) < 1000)
        return step_send(sc, id, arg);
    if (strcmp(verb, "expect") == 0 && *arg == '\0')
        return step_expect(sc, id);
    if (strcmp(verb, "quiet") == 0 && sscanf(arg, "%ld%n", &ms, &used) == 1 &&
        arg[used] == '\0' && ms > 0 && ms <= 60000)
        return step_quiet(sc, id, ms);
    if (strcmp(verb, "eof") == 0 && *arg == '\0')
        return step_eof(sc, id);
    if (strcmp(verb, "close") == 0 && *arg == '\0') {
        channel_close(c->ch);
        c->ch = NULL;
        printf("client %d: closed\n", id);
        return true;
    }
    fprintf(stderr, PROGRAM ": bad step '%s' (see --help)\n", text);
    return false;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    uint16_t port = 8000;
    unsigned long seconds = 10;
    static const struct option options[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "H:p:t:h", options, NULL)) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'p': port = cli_port_or_die(PROGRAM, optarg, 1); break;
        case 't':
            seconds = cli_ulong_or_die(PROGRAM, "timeout in seconds", optarg, 1,
                                       3600);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind == argc)
        die(PROGRAM, "no steps (see --help)");

    script sc = {.timeout_ms = (long)seconds * 1000};
    int rc = socket_address_resolve(&sc.address, host, port);
    if (rc != 0)
        die(PROGRAM, "cannot resolve '%s': %s", host, socket_address_error(rc));
    for (int i = 1; i <= MAX_CLIENTS; i++) {
        sc.clients[i].in = buffer_allocate(LINE_MAX_BYTES);
        if (sc.clients[i].in == NULL)
            die(PROGRAM, "out of memory");
    }
    /* Line by line, so that a script watching the output sees each step
     * as soon as it is done. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    int status = 0;
    for (int i = optind; i < argc && status == 0; i++)
        if (!step(&sc, argv[i]))
            status = 1;
    for (int i = 1; i <= MAX_CLIENTS; i++) {
        channel_close(sc.clients[i].ch);
        buffer_free(sc.clients[i].in);
    }
    return status;
}
