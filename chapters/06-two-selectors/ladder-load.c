/*
 * ladder-load.c - one load generator for every server of the course.
 *
 * It opens C connections from a single thread on one selector, then each
 * connection sends a line, waits for one line back, and sends again: the
 * echo servers of chapters 2 and 3 answer with the line, the servers of
 * chapters 4 to 6 with "received", and both count as a reply. Every
 * request's latency (from the write to the end of its reply) goes into a
 * histogram; at the end it prints requests per second and percentiles.
 *
 * Two ways to end: after a fixed time (-d, for benchmarks), or after N
 * requests on every connection (-n, for tests). With -n all C connections
 * stay open until the last reply has come, so the run proves that the
 * server held them all at once ("held"); then each half-closes and waits
 * for the server to close it, or with --hold stays open until the server
 * closes it by itself.
 *
 * Output is one "name: value" line per figure, for scripts to read.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "01-buffer/buffer.h"
#include "02-blocking-echo/channel.h"
#include "03-selector/fd_limit.h"
#include "03-selector/selector.h"
#include "cli.h"
#include "histogram.h"
#include "log.h"
#include "stop.h"
#include "clock.h"

#define PROGRAM "ladder-load"

enum {
    MAX_CLIENTS = 100000,
    CONNECTING_AT_ONCE = 256, /* not more SYNs in flight than a backlog */
    REPLY_BUFFER = 512
};

typedef struct conn {
    channel *ch;
    selection_key *key;
    buffer *request; /* wraps the shared request line */
    buffer *reply;
    int64_t sent_at;
    uint64_t replies;
    bool open;
} conn;

typedef struct load {
    log_level level;
    socket_address address;
    selector *sel;
    conn *conns;
    size_t clients;
    uint8_t *line; /* the request, with its '\n' */
    size_t line_length;
    uint64_t per_connection; /* -n; 0: run for a duration */
    int64_t measure_from, measure_until;
    histogram latency;
    size_t connected, open;
    uint64_t requests, errors;
    size_t held; /* open when the last reply came (-n) */
} load;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " -p PORT [options]\n"
            "Opens C connections; each sends a line and waits for a line "
            "back,\n"
            "again and again. Prints requests/s and latency percentiles.\n"
            "\n"
            "  -p, --port PORT        the server's port (required)\n"
            "  -H, --host HOST        the server's address (default "
            "127.0.0.1)\n"
            "  -c, --clients C        connections, 1 to %d (default 10)\n"
            "  -d, --duration-ms MS   measure for MS milliseconds (default "
            "3000)\n"
            "      --warmup-ms MS     run MS ms before measuring (default 0)\n"
            "  -n, --requests N       instead: N requests per connection, "
            "all\n"
            "                         connections open until the last reply\n"
            "      --hold             with -n: then keep them open until the "
            "server\n"
            "                         closes them\n"
            "  -t, --timeout-ms MS    give up after MS ms (default 60000)\n"
            "  -m, --message TEXT     the line to send (default \"hello\")\n"
            "  -l, --log-level LEVEL  error, warn, info or debug (default "
            "warn)\n"
            "  -h, --help             show this help\n",
            MAX_CLIENTS);
}

/* --- one connection ----------------------------------------------------- */

static void conn_close(load *l, conn *c)
{
    if (!c->open)
        return;
    key_cancel(c->key); /* the key first, then the channel */
    channel_close(c->ch);
    c->ch = NULL;
    c->key = NULL;
    c->open = false;
    l->open--;
}

static void conn_fail(load *l, conn *c, const char *what)
{
    log_at(l->level, LOG_INFO, PROGRAM, "connection %zu: %s: %s",
           (size_t)(c - l->conns), what,
           errno ? strerror(errno) : "closed by the server");
    l->errors++;
    conn_close(l, c);
}

/* Sends what is left of the request; OP_WRITE until it is all out. */
static void conn_send(load *l, conn *c)
{
    ssize_t n = channel_write(c->ch, c->request);
    if (n == CHANNEL_ERROR) {
        conn_fail(l, c, "write");
        return;
    }
    key_set_interest_ops(c->key,
                         buffer_has_remaining(c->request) ? OP_WRITE : OP_READ);
}

static void conn_request(load *l, conn *c)
{
    buffer_rewind(c->request);
    c->sent_at = monotonic_ns();
    conn_send(l, c);
}

static bool wants_more(const load *l, const conn *c, int64_t now)
{
    if (l->per_connection > 0)
        return c->replies < l->per_connection;
    return now < l->measure_until;
}

/* Counts the complete lines that arrived; each is one reply. */
static void conn_receive(load *l, conn *c)
{
    errno = 0;
    ssize_t n = channel_read(c->ch, c->reply);
    if (n == CHANNEL_EOF || n == CHANNEL_ERROR) {
        conn_fail(l, c, n == CHANNEL_EOF ? "end of stream" : "read");
        return;
    }
    buffer_flip(c->reply);
    const uint8_t *bytes = buffer_const_array(c->reply);
    size_t lines = 0, last_newline = 0;
    for (size_t i = 0; i < buffer_limit(c->reply); i++) {
        if (bytes[i] == '\n') {
            lines++;
            last_newline = i + 1;
        }
    }
    buffer_set_position(c->reply, last_newline);
    buffer_compact(c->reply);
    if (lines == 0) {
        if (!buffer_has_remaining(c->reply))
            conn_fail(l, c, "reply line too long");
        return;
    }
    int64_t now = monotonic_ns();
    c->replies += lines;
    if (now >= l->measure_from &&
        (l->per_connection > 0 || now < l->measure_until)) {
        histogram_record(&l->latency, (uint64_t)(now - c->sent_at));
        l->requests++;
    }
    if (wants_more(l, c, now))
        conn_request(l, c);
    else
        key_set_interest_ops(c->key, 0); /* done: idle, still open */
}

/* --- phases -----------------------------------------------------------------
 */

static bool conn_start(load *l, conn *c)
{
    c->ch = channel_open_socket(&l->address);
    int rc = -1;
    if (c->ch == NULL || channel_configure_blocking(c->ch, false) < 0 ||
        (rc = channel_connect(c->ch, &l->address)) < 0) {
        int saved = errno;
        channel_close(c->ch);
        c->ch = NULL;
        errno = saved;
        return false;
    }
    c->open = true;
    l->open++;
    selector_status s =
        selector_register(l->sel, c->ch, rc == 1 ? 0 : OP_CONNECT, c, &c->key);
    if (s != SELECTOR_OK) {
        log_at(l->level, LOG_ERROR, PROGRAM, "register: %s",
               selector_status_name(s));
        errno = ENOMEM;
        return false;
    }
    if (rc == 1)
        l->connected++;
    return true;
}

/* Opens every connection, CONNECTING_AT_ONCE at a time. */
static bool connect_all(load *l, int64_t deadline)
{
    size_t next = 0, pending = 0;
    while (l->connected < l->clients) {
        while (next < l->clients && pending < CONNECTING_AT_ONCE) {
            conn *c = &l->conns[next++];
            size_t before = l->connected;
            if (!conn_start(l, c)) {
                log_at(l->level, LOG_ERROR, PROGRAM, "connect: %s",
                       strerror(errno));
                return false;
            }
            if (l->connected == before)
                pending++;
        }
        int64_t left = deadline - monotonic_ns();
        if (left <= 0 || stop_requested())
            return false;
        if (selector_select_timeout(l->sel, left / 1000000 + 1) < 0 &&
            errno != EINTR)
            return false;
        key_iterator it = selector_selected_keys(l->sel);
        selection_key *key;
        while ((key = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it);
            conn *c = key_attachment(key);
            if (channel_finish_connect(c->ch) != 1) {
                log_at(l->level, LOG_ERROR, PROGRAM, "connect: %s",
                       strerror(errno));
                return false;
            }
            key_set_interest_ops(key, 0);
            pending--;
            l->connected++;
        }
    }
    return true;
}

/* With -n: this connection has had its replies, or has closed. */
static bool conn_finished(const load *l, const conn *c)
{
    return !c->open || c->replies >= l->per_connection;
}

/* Requests and replies until the time is up (or every connection has had
 * its N replies); false when it gave up at the deadline. */
static bool run_requests(load *l, int64_t deadline)
{
    for (size_t i = 0; i < l->clients; i++)
        conn_request(l, &l->conns[i]);
    size_t finished = 0;
    for (;;) {
        int64_t now = monotonic_ns();
        if (l->per_connection == 0 && now >= l->measure_until)
            return true;
        if (l->per_connection > 0 && finished == l->clients)
            return true;
        if (l->open == 0)
            return true; /* the server closed every connection */
        if (now >= deadline || stop_requested())
            return false;
        int64_t until = l->per_connection ? deadline : l->measure_until;
        long wait = (long)((until - now) / 1000000) + 1;
        if (selector_select_timeout(l->sel, wait) < 0 && errno != EINTR)
            return false;
        key_iterator it = selector_selected_keys(l->sel);
        selection_key *key;
        while ((key = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it);
            conn *c = key_attachment(key);
            bool was_finished = conn_finished(l, c);
            if (key_is_writable(key))
                conn_send(l, c);
            else if (key_is_readable(key))
                conn_receive(l, c);
            if (l->per_connection > 0 && !was_finished && conn_finished(l, c) &&
                ++finished == l->clients)
                l->held = l->open; /* open when the last one finished */
        }
    }
}

/* Waits until the server has closed every connection (--hold), or, after
 * a half-close of ours, until it has seen the end and closed too. */
static size_t wait_for_server_close(load *l, bool half_close, int64_t deadline)
{
    size_t closed = 0;
    for (size_t i = 0; i < l->clients; i++) {
        if (!l->conns[i].open)
            continue;
        if (half_close)
            channel_shutdown_output(l->conns[i].ch);
        key_set_interest_ops(l->conns[i].key, OP_READ);
    }
    while (l->open > 0 && monotonic_ns() < deadline && !stop_requested()) {
        long wait = (long)((deadline - monotonic_ns()) / 1000000) + 1;
        if (selector_select_timeout(l->sel, wait) < 0 && errno != EINTR)
            break;
        key_iterator it = selector_selected_keys(l->sel);
        selection_key *key;
        while ((key = key_iterator_next(&it)) != NULL) {
            key_iterator_remove(&it);
            conn *c = key_attachment(key);
            ssize_t n = channel_read(c->ch, c->reply);
            buffer_clear(c->reply);
            if (n == CHANNEL_EOF || n == CHANNEL_ERROR) {
                conn_close(l, c);
                closed++;
            }
        }
    }
    return closed;
}

static void report(const load *l, double seconds)
{
    size_t starved = 0;
    for (size_t i = 0; i < l->clients; i++)
        starved += l->conns[i].replies == 0;
    printf("clients: %zu\n", l->clients);
    printf("connected: %zu\n", l->connected);
    printf("requests: %llu\n", (unsigned long long)l->requests);
    printf("errors: %llu\n", (unsigned long long)l->errors);
    printf("starved: %zu\n", starved);
    printf("seconds: %.3f\n", seconds);
    printf("requests/s: %.0f\n",
           seconds > 0 ? (double)l->requests / seconds : 0.0);
    printf("p50 us: %.1f\n", histogram_percentile(&l->latency, 50) / 1e3);
    printf("p99 us: %.1f\n", histogram_percentile(&l->latency, 99) / 1e3);
    printf("max us: %.1f\n", l->latency.max / 1e3);
    if (l->per_connection > 0)
        printf("held: %zu\n", l->held);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    log_level level = LOG_WARN;
    const char *host = "127.0.0.1", *message = "hello";
    uint16_t port = 0;
    bool have_port = false, hold = false;
    unsigned long clients = 10, duration_ms = 3000, warmup_ms = 0,
                  timeout_ms = 60000, requests = 0;

    enum { OPT_WARMUP = 256, OPT_HOLD };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},
        {"clients", required_argument, NULL, 'c'},
        {"duration-ms", required_argument, NULL, 'd'},
        {"warmup-ms", required_argument, NULL, OPT_WARMUP},
        {"requests", required_argument, NULL, 'n'},
        {"hold", no_argument, NULL, OPT_HOLD},
        {"timeout-ms", required_argument, NULL, 't'},
        {"message", required_argument, NULL, 'm'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:H:c:d:n:t:m:l:h", options,
                              NULL)) != -1) {
        switch (opt) {
        case 'p':
            port = cli_port_or_die(PROGRAM, optarg, 1);
            have_port = true;
            break;
        case 'H': host = optarg; break;
        case 'c':
            clients = cli_ulong_or_die(PROGRAM, "client count", optarg, 1,
                                       MAX_CLIENTS);
            break;
        case 'd':
            duration_ms =
                cli_ulong_or_die(PROGRAM, "duration in ms", optarg, 1, 3600000);
            break;
        case OPT_WARMUP:
            warmup_ms =
                cli_ulong_or_die(PROGRAM, "warm-up in ms", optarg, 0, 600000);
            break;
        case 'n':
            requests = cli_ulong_or_die(PROGRAM, "request count", optarg, 1,
                                        1000000000);
            break;
        case OPT_HOLD: hold = true; break;
        case 't':
            timeout_ms =
                cli_ulong_or_die(PROGRAM, "timeout in ms", optarg, 1, 3600000);
            break;
        case 'm':
            if (*optarg == '\0' || strchr(optarg, '\n') != NULL ||
                strlen(optarg) > 256)
                die(PROGRAM, "bad message: want 1 to 256 bytes, no newline");
            message = optarg;
            break;
        case 'l': level = cli_log_level_or_die(PROGRAM, optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    if (!have_port)
        die(PROGRAM, "which port? (-p PORT; see --help)");
    if (hold && requests == 0)
        die(PROGRAM, "--hold needs -n");

    long files = fd_limit_raise(0);
    if (files >= 0 && (unsigned long)files < clients + 16)
        die(PROGRAM,
            "%lu connections need more descriptors than the limit "
            "of %ld (ulimit -Hn)",
            clients, files);
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));
    load state; /* about 16 KB, most of it the histogram */
    memset(&state, 0, sizeof state);
    load *l = &state;
    l->level = level;
    int rc = socket_address_resolve(&l->address, host, port);
    if (rc != 0)
        die(PROGRAM, "cannot resolve '%s': %s", host, socket_address_error(rc));

    l->clients = clients;
    l->per_connection = requests;
    l->line_length = strlen(message) + 1;
    l->line = malloc(l->line_length);
    l->conns = calloc(clients, sizeof *l->conns);
    l->sel = selector_open(selector_default_backend());
    if (l->line == NULL || l->conns == NULL || l->sel == NULL)
        die(PROGRAM, "out of memory");
    memcpy(l->line, message, l->line_length - 1);
    l->line[l->line_length - 1] = '\n';
    histogram_init(&l->latency);
    for (size_t i = 0; i < clients; i++) {
        l->conns[i].request = buffer_wrap(l->line, l->line_length);
        l->conns[i].reply = buffer_allocate(REPLY_BUFFER);
        if (l->conns[i].request == NULL || l->conns[i].reply == NULL)
            die(PROGRAM, "out of memory");
    }

    int status = 0;
    int64_t deadline = monotonic_ns() + (int64_t)timeout_ms * 1000000;
    if (!connect_all(l, deadline)) {
        fprintf(stderr, PROGRAM ": only %zu of %zu connections opened\n",
                l->connected, l->clients);
        status = 1;
    } else {
        int64_t start = monotonic_ns();
        l->measure_from = start + (int64_t)warmup_ms * 1000000;
        l->measure_until = l->measure_from + (int64_t)duration_ms * 1000000;
        bool finished = run_requests(l, deadline);
        int64_t end = monotonic_ns();
        if (l->per_connection == 0)
            end = l->measure_until < end ? l->measure_until : end;
        double seconds = (double)(end - l->measure_from) / 1e9;
        report(l, seconds > 0 ? seconds : 0);
        if (!finished || l->errors > 0) {
            fprintf(stderr, PROGRAM ": %s, %llu errors\n",
                    finished ? "finished" : "gave up at the time limit",
                    (unsigned long long)l->errors);
            status = 1;
        }
        if (hold && status == 0) {
            size_t held = l->open;
            printf("holding: %zu\n", held);
            fflush(stdout);
            size_t closed = wait_for_server_close(l, false, deadline);
            printf("closed by the server: %zu\n", closed);
            if (closed != held)
                status = 1;
        } else if (l->per_connection > 0 && status == 0) {
            /* End politely, as chapter 4's client does: half-close, then
             * wait (briefly) for the server to finish and close. When this
             * program exits, the server has let go of every connection. */
            int64_t soon = monotonic_ns() + 5000000000LL;
            wait_for_server_close(l, true, soon < deadline ? soon : deadline);
        }
    }

    for (size_t i = 0; i < clients; i++) {
        conn_close(l, &l->conns[i]);
        buffer_free(l->conns[i].request);
        buffer_free(l->conns[i].reply);
    }
    selector_close(l->sel);
    free(l->conns);
    free(l->line);
    return status;
}
