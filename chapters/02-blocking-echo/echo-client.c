/*
 * echo-client.c - talks to echo-server: sends each argument (or each line
 * of standard input) and prints what comes back; with --size, sends
 * pseudo-random messages of that many bytes and checks that the very same
 * bytes return (an FNV-1a checksum of what was sent and what came back).
 *
 * It sends on one thread and receives on another. With blocking I/O that
 * is the only way to do both at once, and both at once is required: a
 * client that first writes all of a large message and only then reads
 * would deadlock with any echo server (see the lesson).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "02-blocking-echo/channel.h"
#include "cli.h"
#include "log.h"

static const char program[] = "echo-client";

typedef struct options {
    const char *host;
    uint16_t port;
    unsigned long count;
    size_t size;                      /* 0: messages from arguments or stdin */
    unsigned long long hang_up_after; /* 0: read every reply */
    bool trace;
    char **messages; /* NULL: read lines from stdin */
    int message_count;
} options;

/* What the sending thread and the receiving thread share. */
typedef struct exchange {
    const options *options;
    channel *channel;
    uint64_t *sent_sums; /* --size: one checksum per message sent */
    /* Written by the sender; read by the receiver after the join. */
    unsigned long long sent;
    int send_error; /* errno of a failed send, 0 if none */
    /* The sender raises `done` when it has sent all there is to send. */
    pthread_mutex_t lock;
    bool done;
} exchange;

/* --- the message content ------------------------------------------------ */

/* 64-bit FNV-1a: a simple, well-known checksum, computed piece by piece. */
static const uint64_t fnv_offset = 0xcbf29ce484222325u;
static uint64_t fnv1a(uint64_t hash, const uint8_t *bytes, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3u;
    }
    return hash;
}

/* Message N's bytes: the top byte of a 64-bit linear congruential
 * generator seeded with N. The same on every run and every machine. */
static void pattern_fill(uint64_t *state, uint8_t *out, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        *state = *state * 6364136223846793005u + 1442695040888963407u;
        out[i] = (uint8_t)(*state >> 56);
    }
}

/* --- sending ------------------------------------------------------------ */

/* Writes all of src's remaining bytes (a blocking write may take only part
 * of them when a signal interrupts it). Returns 0, or -1 with errno. */
static int send_all(exchange *x, buffer *const *parts, size_t count)
{
    for (;;) {
        bool left = false;
        for (size_t i = 0; i < count; i++)
            left = left || buffer_has_remaining(parts[i]);
        if (!left)
            return 0;
        ssize_t n = channel_write_buffers(x->channel, parts, count);
        if (n == CHANNEL_ERROR)
            return -1;
        x->sent += (unsigned long long)n;
        if (x->options->trace)
            fprintf(stderr, "sent %zd bytes\n", n);
    }
}

/* Each argument and a newline, in one gathering write. */
static int send_arguments(exchange *x)
{
    const options *o = x->options;
    char newline[] = "\n";
    for (unsigned long round = 0; round < o->count; round++) {
        for (int i = 0; i < o->message_count; i++) {
            buffer *parts[2] = {
                buffer_wrap(o->messages[i], strlen(o->messages[i])),
                buffer_wrap(newline, 1)};
            int rc = parts[0] != NULL && parts[1] != NULL
                         ? send_all(x, parts, 2)
                         : -1;
            buffer_free(parts[0]);
            buffer_free(parts[1]);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

static int send_stdin_lines(exchange *x)
{
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    int rc = 0;
    while (rc == 0 && (length = getline(&line, &capacity, stdin)) > 0) {
        buffer *b = buffer_wrap(line, (size_t)length);
        rc = b != NULL ? send_all(x, &b, 1) : -1;
        buffer_free(b);
    }
    free(line);
    return rc;
}

static int send_pattern(exchange *x)
{
    const options *o = x->options;
    enum { CHUNK = 64 * 1024 };
    buffer *chunk = buffer_allocate(CHUNK);
    if (chunk == NULL)
        return -1;
    for (unsigned long m = 0; m < o->count; m++) {
        uint64_t state = m + 1, hash = fnv_offset;
        for (size_t left = o->size; left > 0;) {
            size_t take = left < CHUNK ? left : CHUNK;
            buffer_clear(chunk);
            pattern_fill(&state, buffer_array(chunk), take);
            hash = fnv1a(hash, buffer_array(chunk), take);
            buffer_set_limit(chunk, take);
            if (send_all(x, &chunk, 1) < 0) {
                buffer_free(chunk);
                return -1;
            }
            left -= take;
        }
        x->sent_sums[m] = hash;
    }
    buffer_free(chunk);
    return 0;
}

/* The sending thread: sends everything, then half-closes, so that the
 * server sees end of stream after the last byte and closes in turn. */
/* excerpt:begin sender */
static void *sender_main(void *arg)
{
    exchange *x = arg;
    const options *o = x->options;
    int rc = o->size > 0           ? send_pattern(x)
             : o->messages != NULL ? send_arguments(x)
                                   : send_stdin_lines(x);
    int error = rc == 0 ? 0 : errno;
    pthread_mutex_lock(&x->lock);
    x->done = true; /* before the end of stream that makes the server go */
    pthread_mutex_unlock(&x->lock);
    if (rc == 0 && channel_shutdown_output(x->channel) < 0)
        error = errno; /* "no more from me" */
    x->send_error = error;
    return NULL;
}
/* excerpt:end sender */

/* --- receiving ---------------------------------------------------------- */

typedef struct receiver {
    unsigned long long received;
    uint64_t hash;           /* of the message being received */
    uint64_t *received_sums; /* --size: one per message */
} receiver;

/* Takes in n bytes that came back: prints them, or (--size) adds them to
 * the checksum of the message they belong to. TCP keeps no message
 * boundaries, so a message's end is found by counting, never by reads. */
static void take_in(const options *o, receiver *r, const uint8_t *bytes,
                    size_t n)
{
    if (o->size == 0) {
        fwrite(bytes, 1, n, stdout);
        fflush(stdout);
        r->received += n;
        return;
    }
    while (n > 0) {
        unsigned long long message = r->received / o->size;
        size_t offset = (size_t)(r->received % o->size);
        size_t take = o->size - offset < n ? o->size - offset : n;
        if (offset == 0)
            r->hash = fnv_offset;
        r->hash = fnv1a(r->hash, bytes, take);
        if (offset + take == o->size && message < o->count)
            r->received_sums[message] = r->hash;
        r->received += take;
        bytes += take;
        n -= take;
    }
}

static bool sender_done(exchange *x)
{
    pthread_mutex_lock(&x->lock);
    bool done = x->done;
    pthread_mutex_unlock(&x->lock);
    return done;
}

/* Ends the connection at once, as a client that crashes would: the
 * sender's blocked write fails, and the close resets the connection. */
static void hang_up(exchange *x, pthread_t sender, const receiver *r)
{
    channel_shutdown_output(x->channel);
    pthread_join(sender, NULL);
    struct linger abort_close = {.l_onoff = 1, .l_linger = 0};
    setsockopt(channel_fd(x->channel), SOL_SOCKET, SO_LINGER, &abort_close,
               sizeof abort_close);
    printf("hung up after receiving %llu bytes\n", r->received);
}

/* Prints one line per --size message; returns how many differ. */
static unsigned long report_messages(const options *o, const exchange *x,
                                     const receiver *r)
{
    unsigned long different = 0;
    for (unsigned long m = 0; m < o->count; m++) {
        unsigned long long start = (unsigned long long)m * o->size;
        unsigned long long got = r->received <= start ? 0 : r->received - start;
        if (got > o->size)
            got = o->size;
        bool same = got == o->size && r->received_sums[m] == x->sent_sums[m];
        different += !same;
        printf("message %lu: sent %zu bytes (fnv-1a %016" PRIx64
               "), received %llu bytes (fnv-1a %016" PRIx64 "): %s\n",
               m + 1, o->size, x->sent_sums[m], got,
               got == o->size ? r->received_sums[m] : (uint64_t)0,
               same ? "identical" : "DIFFERENT");
    }
    return different;
}

enum { HUNG_UP = -3 }; /* besides CHANNEL_EOF and CHANNEL_ERROR */

/* Receives until the server closes (or --hang-up-after says stop). */
/* excerpt:begin receive */
static ssize_t receive(exchange *x, receiver *r, buffer *in)
{
    const options *o = x->options;
    for (;;) {
        buffer_clear(in);
        ssize_t n = channel_read(x->channel, in); /* the sender runs on */
        if (n == CHANNEL_EOF || n == CHANNEL_ERROR)
            return n;
        if (o->trace)
            fprintf(stderr, "received %zd bytes\n", n);
        take_in(o, r, buffer_const_array(in), (size_t)n);
        if (o->hang_up_after > 0 && r->received >= o->hang_up_after)
            return HUNG_UP;
    }
}
/* excerpt:end receive */

static int run(exchange *x)
{
    const options *o = x->options;
    receiver r = {.received_sums = calloc(o->count, sizeof(uint64_t))};
    buffer *in = buffer_allocate(64 * 1024);
    pthread_t sender;
    if (r.received_sums == NULL || in == NULL)
        die(program, "out of memory");
    if (pthread_create(&sender, NULL, sender_main, x) != 0)
        die(program, "cannot start the sending thread");
    ssize_t end = receive(x, &r, in);
    if (end == HUNG_UP) {
        hang_up(x, sender, &r);
        buffer_free(in);
        free(r.received_sums);
        return 0;
    }
    int receive_error = end == CHANNEL_ERROR ? errno : 0;
    if (o->messages == NULL && o->size == 0 && !sender_done(x)) {
        /* Still reading stdin: the server went first. Leave now rather
         * than wait for a line that nobody may ever type. */
        pthread_detach(sender);
        die(program, "the server closed the connection%s%s",
            receive_error ? ": " : "",
            receive_error ? strerror(receive_error) : "");
    }
    pthread_join(sender, NULL);
    buffer_free(in);

    int status = 0;
    unsigned long long expected = x->sent;
    if (o->size > 0 && report_messages(o, x, &r) > 0)
        status = 1;
    if (x->send_error != 0) {
        log_at(LOG_ERROR, LOG_ERROR, program, "sending failed: %s",
               strerror(x->send_error));
        status = 1;
    } else if (receive_error != 0) {
        log_at(LOG_ERROR, LOG_ERROR, program, "receiving failed: %s",
               strerror(receive_error));
        status = 1;
    } else if (r.received != expected) {
        log_at(LOG_ERROR, LOG_ERROR, program,
               "sent %llu bytes but received %llu before the server closed",
               expected, r.received);
        status = 1;
    }
    free(r.received_sums);
    return status;
}

/* --- start-up ----------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s [OPTIONS] [MESSAGE...]\n"
            "Sends each MESSAGE (or each line of standard input) to an echo"
            " server and\n"
            "prints what comes back.\n"
            "\n"
            "  -H, --host HOST        server to connect to (default "
            "127.0.0.1)\n"
            "  -p, --port PORT        its port (default 8000)\n"
            "  -s, --size BYTES       send pseudo-random messages of BYTES "
            "bytes instead,\n"
            "                         and check that the same bytes come "
            "back\n"
            "  -n, --count N          send the messages N times (default 1)\n"
            "      --hang-up-after BYTES\n"
            "                         reset the connection once BYTES bytes"
            " came back\n"
            "  -v, --trace            print the size of every send and "
            "receive on stderr\n"
            "  -h, --help             show this help\n",
            program);
}

static options parse_options(int argc, char **argv)
{
    options o = {.host = "127.0.0.1", .port = 8000, .count = 1};
    static const struct option longs[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"size", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'n'},
        {"hang-up-after", required_argument, NULL, 'U'},
        {"trace", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned long value;
    bool counted = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":H:p:s:n:vh", longs, NULL)) != -1) {
        switch (c) {
        case 'H': o.host = optarg; break;
        case 'p':
            if (!cli_parse_port(optarg, &o.port) || o.port == 0)
                die(program, "invalid port '%s' (1 to 65535)", optarg);
            break;
        case 's':
            value = cli_ulong_or_die(program, "size", optarg, 1, 1UL << 30);
            o.size = value;
            break;
        case 'n':
            o.count = cli_ulong_or_die(program, "count", optarg, 1, 100000);
            counted = true;
            break;
        case 'U':
            value =
                cli_ulong_or_die(program, "byte count", optarg, 1, ULONG_MAX);
            o.hang_up_after = value;
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
    if (optind < argc) {
        if (o.size > 0)
            die(program, "give either messages or --size, not both");
        o.messages = argv + optind;
        o.message_count = argc - optind;
    } else if (o.size == 0 && (counted || o.hang_up_after > 0)) {
        die(program, "%s needs messages or --size, not stdin",
            counted ? "--count" : "--hang-up-after");
    }
    return o;
}

int main(int argc, char **argv)
{
    options o = parse_options(argc, argv);
    socket_address address;
    int rc = socket_address_resolve(&address, o.host, o.port);
    if (rc != 0)
        die(program, "cannot resolve '%s': %s", o.host,
            socket_address_error(rc));
    char text[SOCKET_ADDRESS_TEXT];
    socket_address_format(&address, text, sizeof text);
    channel *ch = channel_open_connected(&address);
    if (ch == NULL)
        die(program, "cannot connect to %s: %s", text, strerror(errno));

    exchange x = {.options = &o, .channel = ch};
    x.sent_sums = calloc(o.count, sizeof(uint64_t));
    if (x.sent_sums == NULL)
        die(program, "out of memory");
    pthread_mutex_init(&x.lock, NULL);
    int status = run(&x);
    pthread_mutex_destroy(&x.lock);
    free(x.sent_sums);
    channel_close(ch);
    return status;
}
