/*
 * netty-server.c - the article's NettyServer rebuilt on the course's
 * pipeline: a boss loop, worker loops, and per connection
 *
 *     line decoder -> string decoder -> printer
 *
 * The printer (the article's SimpleChannelInboundHandler<String>) prints
 * each string with the peer that sent it. The article's server has no
 * frame decoder, so two messages that arrive in one read print as one and
 * a message split over two reads prints as two; the line decoder fixes
 * that, and bounds a line.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "cli.h"
#include "codecs.h"
#include "event_loop.h"
#include "log.h"
#include "stop.h"

#define PROGRAM "netty-server"

enum { MAX_WORKERS = 1024 };

typedef struct server {
    log_level level;
    size_t max_line;
    atomic_ulong lines;
} server;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [options]\n"
            "The article's NettyServer: prints each line a client sends, "
            "with the\nclient's address.\n"
            "\n"
            "  -p, --port PORT        port to listen on (default 8000; 0: any "
            "free port)\n"
            "  -b, --bind ADDRESS     address to listen on (default "
            "127.0.0.1)\n"
            "  -w, --workers N        worker loops, 1 to %d (default: one per "
            "CPU, %zu)\n"
            "      --max-line BYTES   the longest line (default 4096)\n"
            "  -l, --log-level LEVEL  error, warn, info or debug (default "
            "warn)\n"
            "  -h, --help             show this help\n"
            "\n"
            "Try it: " PROGRAM " & then netty-client, or nc 127.0.0.1 8000.\n",
            MAX_WORKERS, event_loop_default_count());
}

/* excerpt:begin printer */
/* SimpleChannelInboundHandler<String>: strings are printed and stop
 * here; anything else is passed on. */
static void printer_read(channel_handler_context *ctx, const message *msg)
{
    if (msg->kind != MESSAGE_STRING) {
        ctx_fire_channel_read(ctx, msg);
        return;
    }
    server *srv = ctx_state(ctx);
    printf("[%s] %s\n", channel_pipeline_remote_address(ctx_pipeline(ctx)),
           msg->data);
    fflush(stdout);
    atomic_fetch_add_explicit(&srv->lines, 1, memory_order_relaxed);
}

static void printer_exception(channel_handler_context *ctx,
                              const pipeline_error *error)
{
    printf("[%s] closed: %s\n",
           channel_pipeline_remote_address(ctx_pipeline(ctx)), error->text);
    fflush(stdout);
    ctx_close(ctx);
}

static const channel_handler printer = {.channel_read = printer_read,
                                        .exception_caught = printer_exception};

static int init_child(channel_pipeline *p, void *arg)
{
    server *srv = arg;
    if (line_based_frame_decoder_add(p, "framer", srv->max_line) < 0 ||
        string_decoder_add(p, "decoder") < 0 ||
        channel_pipeline_add_last(p, "printer", &printer, srv, NULL) < 0)
        return -1;
    return 0;
}
/* excerpt:end printer */

int main(int argc, char **argv)
{
    server srv = {.level = LOG_WARN, .max_line = 4096};
    atomic_init(&srv.lines, 0);
    const char *bind_host = "127.0.0.1";
    uint16_t port = 8000;
    unsigned long workers = event_loop_default_count();

    enum { OPT_MAX_LINE = 256 };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'w'},
        {"max-line", required_argument, NULL, OPT_MAX_LINE},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:w:l:h", options, NULL)) != -1) {
        switch (opt) {
        case 'p': port = cli_port_or_die(PROGRAM, optarg, 0); break;
        case 'b': bind_host = optarg; break;
        case 'w':
            workers = cli_ulong_or_die(PROGRAM, "worker count", optarg, 1,
                                       MAX_WORKERS);
            break;
        case OPT_MAX_LINE:
            srv.max_line =
                cli_ulong_or_die(PROGRAM, "line length", optarg, 1, 1 << 20);
            break;
        case 'l': srv.level = cli_log_level_or_die(PROGRAM, optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));

    event_loop_options loop_options = event_loop_default_options();
    loop_options.program = PROGRAM;
    loop_options.log = srv.level;
    /* excerpt:begin main */
    event_loop_group *boss = event_loop_group_create(1, &loop_options);
    event_loop_group *worker = event_loop_group_create(workers, &loop_options);
    if (boss == NULL || worker == NULL)
        die(PROGRAM, "cannot start the event loops: %s", strerror(errno));
    server_bootstrap *b = server_bootstrap_new(boss, worker, init_child, &srv);
    if (b == NULL) {
        fputs(PROGRAM ": out of memory\n", stderr);
        return 1;
    }
    channel_pipeline_options child = channel_pipeline_default_options();
    child.program = PROGRAM;
    child.log = srv.level;
    server_bootstrap_child_options(b, &child);
    char error[CHANNEL_ERROR_TEXT + 64];
    if (server_bootstrap_bind(b, bind_host, port, error, sizeof error) < 0)
        die(PROGRAM, "%s", error);
    /* excerpt:end main */

    struct pollfd stop = {.fd = stop_signals_fd(), .events = POLLIN};
    while (poll(&stop, 1, -1) < 0 && errno == EINTR)
        continue;
    event_loop_group_shutdown(boss);
    event_loop_group_await_termination(boss);
    event_loop_group_shutdown(worker);
    event_loop_group_await_termination(worker);
    printf("stopped after %llu connections, %lu lines\n",
           (unsigned long long)server_bootstrap_accepted(b),
           atomic_load(&srv.lines));
    event_loop_group_free(boss);
    event_loop_group_free(worker);
    server_bootstrap_free(b);
    return 0;
}
