/*
 * http-probe.c - sends exact bytes to an HTTP server and reports what came
 * back, response by response: the tool for looking at what curl will not
 * send (pipelined requests, bare LFs, a head dripped one byte at a time).
 *
 *   http-probe -p 8080 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n'
 *
 * Each PART is sent in turn (with C escapes: \r \n \t \0 \\ \xNN), --gap
 * milliseconds apart; --drip MS sends every byte on its own, MS apart.
 * Then it reads until the server closes or is quiet for --wait ms, and
 * prints one line per response ("200 OK", with --bodies the body too) and
 * whether the server closed the connection. Responses are framed properly
 * (Content-Length, chunked, or until close), so pipelined answers are
 * counted exactly.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "02-blocking-echo/channel.h"
#include "cli.h"
#include "log.h"

#define PROGRAM "http-probe"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [options] PART...\n"
            "Sends each PART (C escapes allowed: \\r \\n \\t \\0 \\\\ \\xNN) "
            "to an HTTP\n"
            "server, then prints each response's status, and whether the "
            "server\n"
            "closed the connection.\n"
            "\n"
            "  -p, --port PORT     server port (required)\n"
            "  -b, --host ADDRESS  server address (default 127.0.0.1)\n"
            "      --gap MS        pause between parts (default 0)\n"
            "      --drip MS       send byte by byte, MS apart\n"
            "      --wait MS       stop reading after MS quiet (default "
            "1000)\n"
            "      --no-read MS    read nothing for MS once everything is "
            "sent\n"
            "      --file PATH     send the file's bytes after the PARTs\n"
            "      --half-close    shut down sending once everything is "
            "sent\n"
            "      --head          responses have no body (answers to "
            "HEAD)\n"
            "      --bodies        print each response's body after its "
            "status\n"
            "      --time          print how long until the server closed\n"
            "      --say-connected print \"connected\" as soon as it is\n"
            "  -h, --help          show this help\n");
}

/* Expands C escapes in place; returns the length. */
static size_t unescape(char *s)
{
    char *out = s;
    for (char *p = s; *p != '\0'; p++) {
        if (*p != '\\' || p[1] == '\0') {
            *out++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'r': *out++ = '\r'; break;
        case 'n': *out++ = '\n'; break;
        case 't': *out++ = '\t'; break;
        case '0': *out++ = '\0'; break;
        case 'x': {
            char hex[3] = {0, 0, 0};
            if (p[1] != '\0' && p[2] != '\0') {
                hex[0] = p[1];
                hex[1] = p[2];
                *out++ = (char)strtol(hex, NULL, 16);
                p += 2;
            }
            break;
        }
        default: *out++ = *p; break;
        }
    }
    return (size_t)(out - s);
}

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        continue;
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)((now.tv_sec - since->tv_sec) * 1000 +
                  (now.tv_nsec - since->tv_nsec) / 1000000);
}

/* Everything the server sent, until it closed or went quiet. */
typedef struct received {
    char *data;
    size_t length;
    bool closed;
} received;

static int collect(int fd, long wait_ms, received *r)
{
    size_t capacity = 65536;
    r->data = malloc(capacity);
    if (r->data == NULL)
        return -1;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0; /* quiet for wait_ms: still open */
        if (r->length == capacity) {
            char *bigger = realloc(r->data, capacity * 2);
            if (bigger == NULL)
                return -1;
            r->data = bigger;
            capacity *= 2;
        }
        ssize_t k = recv(fd, r->data + r->length, capacity - r->length, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) { /* end of stream, or a reset */
            r->closed = true;
            return 0;
        }
        r->length += (size_t)k;
    }
}

/* Finds "\r\n" from `at`; returns its offset or -1. */
static long line_end(const received *r, size_t at)
{
    for (size_t i = at; i + 1 < r->length; i++)
        if (r->data[i] == '\r' && r->data[i + 1] == '\n')
            return (long)i;
    return -1;
}

/* Prints the responses in r; returns how many. */
static int report(const received *r, bool head, bool bodies)
{
    size_t at = 0;
    int count = 0;
    while (at < r->length) {
        long eol = line_end(r, at);
        if (eol < 0 || r->length - at < 12 ||
            memcmp(r->data + at, "HTTP/1.", 7) != 0) {
            printf("unframed bytes: %zu\n", r->length - at);
            return count;
        }
        printf("%.*s\n", (int)((size_t)eol - at - 9), r->data + at + 9);
        int status = atoi(r->data + at + 9);
        long length = -1;
        bool chunked = false;
        size_t p = (size_t)eol + 2;
        for (;;) {
            long e = line_end(r, p);
            if (e < 0) {
                printf("incomplete head\n");
                return count + 1;
            }
            if ((size_t)e == p) {
                p += 2;
                break;
            }
            const char *field = r->data + p;
            if (strncasecmp(field, "Content-Length:", 15) == 0)
                length = atol(field + 15);
            if (strncasecmp(field, "Transfer-Encoding:", 18) == 0)
                chunked = true;
            p = (size_t)e + 2;
        }
        size_t body = p, body_length = 0;
        if (status < 200 || status == 204 || status == 304 || head) {
            /* no body */
        } else if (chunked) {
            size_t q = p;
            for (;;) {
                long e = line_end(r, q);
                if (e < 0)
                    break;
                size_t size = (size_t)strtoul(r->data + q, NULL, 16);
                q = (size_t)e + 2;
                if (size == 0) {
                    long t = line_end(r, q); /* the empty trailer line */
                    q = t < 0 ? r->length : (size_t)t + 2;
                    break;
                }
                if (bodies)
                    printf("%.*s", (int)size, r->data + q);
                q += size + 2;
                if (q > r->length)
                    q = r->length;
            }
            p = q;
            body_length = 0;
        } else if (length >= 0) {
            body_length = (size_t)length;
            if (body_length > r->length - p) {
                body_length = r->length - p;
                printf("incomplete body: %zu of %ld bytes\n", body_length,
                       length);
            }
            p += body_length;
        } else {
            body_length = r->length - p; /* until close */
            p = r->length;
        }
        if (bodies && body_length > 0)
            printf("%.*s", (int)body_length, r->data + body);
        if (status >= 200)
            count++;
        at = p;
    }
    return count;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    uint16_t port = 0;
    unsigned long gap = 0, drip = 0, wait_ms = 1000, no_read = 0;
    const char *file = NULL;
    bool have_port = false, half_close = false, head = false, bodies = false,
         timed = false, say_connected = false;
    enum {
        OPT_GAP = 256,
        OPT_DRIP,
        OPT_WAIT,
        OPT_NO_READ,
        OPT_FILE,
        OPT_HALF,
        OPT_HEAD,
        OPT_BODIES,
        OPT_TIME,
        OPT_SAY_CONNECTED
    };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'b'},
        {"gap", required_argument, NULL, OPT_GAP},
        {"drip", required_argument, NULL, OPT_DRIP},
        {"wait", required_argument, NULL, OPT_WAIT},
        {"no-read", required_argument, NULL, OPT_NO_READ},
        {"file", required_argument, NULL, OPT_FILE},
        {"half-close", no_argument, NULL, OPT_HALF},
        {"head", no_argument, NULL, OPT_HEAD},
        {"bodies", no_argument, NULL, OPT_BODIES},
        {"time", no_argument, NULL, OPT_TIME},
        {"say-connected", no_argument, NULL, OPT_SAY_CONNECTED},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p':
            port = cli_port_or_die(PROGRAM, optarg, 1);
            have_port = true;
            break;
        case 'b': host = optarg; break;
        case OPT_GAP:
            gap = cli_ulong_or_die(PROGRAM, "gap in ms", optarg, 0, 60000);
            break;
        case OPT_DRIP:
            drip = cli_ulong_or_die(PROGRAM, "drip in ms", optarg, 0, 60000);
            break;
        case OPT_WAIT:
            wait_ms =
                cli_ulong_or_die(PROGRAM, "wait in ms", optarg, 1, 600000);
            break;
        case OPT_NO_READ:
            no_read =
                cli_ulong_or_die(PROGRAM, "no-read in ms", optarg, 0, 600000);
            break;
        case OPT_FILE: file = optarg; break;
        case OPT_HALF: half_close = true; break;
        case OPT_HEAD: head = true; break;
        case OPT_BODIES: bodies = true; break;
        case OPT_TIME: timed = true; break;
        case OPT_SAY_CONNECTED: say_connected = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!have_port)
        die(PROGRAM, "a port is required (see --help)");
    if (optind == argc)
        die(PROGRAM, "nothing to send (see --help)");

    FILE *in = NULL; /* opened before connecting: a typo fails at once */
    if (file != NULL && (in = fopen(file, "rb")) == NULL)
        die(PROGRAM, "cannot open '%s': %s", file, strerror(errno));

    socket_address address;
    int rc = socket_address_resolve(&address, host, port);
    if (rc != 0)
        die(PROGRAM, "cannot resolve '%s': %s", host, socket_address_error(rc));
    channel *ch = channel_open_connected(&address);
    if (ch == NULL)
        die(PROGRAM, "cannot connect: %s", strerror(errno));
    int fd = channel_fd(ch);
    if (say_connected) {
        printf("connected\n");
        fflush(stdout);
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);

    bool send_failed = false;
    for (int i = optind; i < argc && !send_failed; i++) {
        if (i > optind && gap > 0)
            pause_ms((long)gap);
        size_t n = unescape(argv[i]);
        size_t step = drip > 0 ? 1 : n;
        for (size_t at = 0; at < n && !send_failed; at += step) {
            if (at > 0 && drip > 0)
                pause_ms((long)drip);
            size_t len = n - at < step ? n - at : step;
            buffer *b = buffer_wrap(argv[i] + at, len);
            while (b != NULL && buffer_has_remaining(b))
                if (channel_write(ch, b) < 0) {
                    send_failed = true; /* the server closed on us */
                    break;
                }
            buffer_free(b);
        }
    }
    if (in != NULL && !send_failed) {
        static char chunk[65536];
        size_t got;
        while (!send_failed && (got = fread(chunk, 1, sizeof chunk, in)) > 0) {
            buffer *b = buffer_wrap(chunk, got);
            while (b != NULL && buffer_has_remaining(b))
                if (channel_write(ch, b) < 0) {
                    send_failed = true;
                    break;
                }
            buffer_free(b);
        }
    }
    if (in != NULL)
        fclose(in);
    if (half_close && !send_failed)
        channel_shutdown_output(ch);
    if (no_read > 0)
        pause_ms((long)no_read); /* a client that does not read */

    received r = {NULL, 0, false};
    if (collect(fd, (long)wait_ms, &r) < 0)
        die(PROGRAM, "out of memory");
    long took = elapsed_ms(&start);
    report(&r, head, bodies);
    printf("%s\n", r.closed ? "closed" : "open");
    if (timed)
        printf("elapsed %ld ms\n", took);
    free(r.data);
    channel_close(ch);
    return 0;
}
