/*
 * netty-client.c - the article's NettyClient rebuilt on the course's
 * pipeline: a bootstrap with one event loop connects (non-blocking), and
 * the pipeline
 *
 *     line encoder <- hello handler
 *
 * writes "<date>: hello world!" every --interval-ms (2000, as in the
 * article). The article writes from its main thread and sleeps; here a
 * timer on the channel's own loop does the writing, so no thread but the
 * loop's ever touches the channel. The line encoder ends each message
 * with "\n": the article's StringEncoder sends none, so its server cannot
 * tell where one message ends.
 *
 * --count N stops after N messages: the client flushes, closes and exits
 * 0. A refused connect or a connection the server closes first exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap.h"
#include "cli.h"
#include "codecs.h"
#include "event_loop.h"
#include "log.h"
#include "stop.h"

#define PROGRAM "netty-client"

/* Written on the loop's thread; main reads it after the loop has ended. */
typedef struct client {
    unsigned long count; /* 0: forever */
    long interval_ms;
    unsigned long sent;
    bool finished;    /* sent all it was asked to, then closed */
    char error[200];  /* why the connection failed, if it did */
    int done_pipe[2]; /* the loop tells main the channel has closed */
} client;

/* Per connection: the hello handler's state. */
typedef struct hello {
    client *cl;
    channel_handler_context *ctx;
    event_loop_timer timer;
} hello;

static void usage(FILE *out)
{
    fputs("usage: " PROGRAM " [options]\n"
          "The article's NettyClient: connects and writes \"<date>: hello "
          "world!\"\nevery interval.\n"
          "\n"
          "  -H, --host HOST          server to connect to (default "
          "127.0.0.1)\n"
          "  -p, --port PORT          its port (default 8000)\n"
          "  -i, --interval-ms MS     time between two messages (default "
          "2000)\n"
          "  -n, --count N            stop after N messages (default: "
          "never)\n"
          "  -l, --log-level LEVEL    error, warn, info or debug (default "
          "warn)\n"
          "  -h, --help               show this help\n"
          "\n"
          "Exits 0 once N messages are sent (or on SIGINT/SIGTERM), 1 when "
          "the\nconnect fails or the server closes the connection.\n",
          out);
}

/* Java's new Date().toString(): "Mon Dec 07 14:25:00 UTC 2026". */
static void format_date(char *out, size_t size)
{
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    strftime(out, size, "%a %b %d %H:%M:%S %Z %Y", &local);
}

/* excerpt:begin hello */
/* A timer on the channel's own loop: writeAndFlush, then wait again. */
static void say_hello(event_loop *loop, void *arg)
{
    (void)loop;
    hello *h = arg;
    char text[96], date[64];
    format_date(date, sizeof date);
    snprintf(text, sizeof text, "%s: hello world!", date);
    message msg = message_string(text);
    ctx_write_and_flush(h->ctx, &msg);
    if (++h->cl->sent == h->cl->count) {
        h->cl->finished = true;
        ctx_close(h->ctx); /* flushes first; channel inactive follows */
    }
}

static void hello_active(channel_handler_context *ctx)
{
    hello *h = ctx_state(ctx);
    h->ctx = ctx;
    event_loop_schedule_at_fixed_rate(channel_pipeline_loop(ctx_pipeline(ctx)),
                                      0, h->cl->interval_ms, say_hello, h,
                                      &h->timer);
}

static void hello_inactive(channel_handler_context *ctx)
{
    hello *h = ctx_state(ctx);
    event_loop_cancel_timer(channel_pipeline_loop(ctx_pipeline(ctx)), h->timer);
}
/* excerpt:end hello */

static void hello_exception(channel_handler_context *ctx,
                            const pipeline_error *error)
{
    hello *h = ctx_state(ctx);
    snprintf(h->cl->error, sizeof h->cl->error, "%s", error->text);
    ctx_close(ctx);
}

static const channel_handler hello_handler = {
    .channel_active = hello_active,
    .channel_inactive = hello_inactive,
    .exception_caught = hello_exception};

static void channel_closed(channel_pipeline *p, void *arg)
{
    (void)p;
    client *cl = arg;
    if (!cl->finished && cl->error[0] == '\0')
        snprintf(cl->error, sizeof cl->error,
                 "the server closed the connection");
    char byte = 1;
    while (write(cl->done_pipe[1], &byte, 1) < 0 && errno == EINTR)
        continue;
}

static int init_channel(channel_pipeline *p, void *arg)
{
    client *cl = arg;
    hello *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -1;
    h->cl = cl;
    channel_pipeline_on_close(p, channel_closed, cl);
    if (line_encoder_add(p, "encoder") < 0 ||
        channel_pipeline_add_last(p, "hello", &hello_handler, h, free) < 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    client cl = {.interval_ms = 2000};
    const char *host = "127.0.0.1";
    uint16_t port = 8000;
    log_level level = LOG_WARN;

    static const struct option options[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"interval-ms", required_argument, NULL, 'i'},
        {"count", required_argument, NULL, 'n'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "H:p:i:n:l:h", options, NULL)) !=
           -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'p': port = cli_port_or_die(PROGRAM, optarg, 1); break;
        case 'i':
            cl.interval_ms = (long)cli_ulong_or_die(PROGRAM, "interval in ms",
                                                    optarg, 1, 3600000);
            break;
        case 'n':
            cl.count =
                cli_ulong_or_die(PROGRAM, "count", optarg, 1, 1000000000);
            break;
        case 'l': level = cli_log_level_or_die(PROGRAM, optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    if (stop_signals_install() < 0 || pipe(cl.done_pipe) < 0)
        die(PROGRAM, "cannot set up: %s", strerror(errno));

    event_loop_options loop_options = event_loop_default_options();
    loop_options.program = PROGRAM;
    loop_options.log = level;
    /* excerpt:begin main */
    event_loop_group *group = event_loop_group_create(1, &loop_options);
    if (group == NULL)
        die(PROGRAM, "cannot start the event loop: %s", strerror(errno));
    bootstrap b = {group, init_channel, &cl,
                   channel_pipeline_default_options()};
    b.options.program = PROGRAM;
    b.options.log = level;
    char error[200];
    if (bootstrap_connect(&b, host, port, error, sizeof error) < 0)
        die(PROGRAM, "%s", error);
    /* channel.closeFuture().sync(), or a stop signal. */
    struct pollfd wait[2] = {{.fd = cl.done_pipe[0], .events = POLLIN},
                             {.fd = stop_signals_fd(), .events = POLLIN}};
    while (poll(wait, 2, -1) < 0 && errno == EINTR)
        continue;
    event_loop_group_free(group); /* closes the channel if still open */
    /* excerpt:end main */
    close(cl.done_pipe[0]);
    close(cl.done_pipe[1]);
    bool stopped = stop_requested();
    printf("sent %lu messages to %s:%u\n", cl.sent, host, port);
    if (!stopped && !cl.finished) {
        fprintf(stderr, PROGRAM ": %s\n",
                cl.error[0] != '\0' ? cl.error : "connection lost");
        return 1;
    }
    return 0;
}
