/*
 * pipeline-server.c - chapter 4's line protocol (a line in, "received"
 * out) served again, this time as Netty would write it: a server bootstrap
 * on a boss loop and worker loops, and per connection a pipeline of
 *
 *     line decoder -> string decoder -> line encoder -> business handler
 *
 * The framing, the buffers and the backpressure that boss-worker-server
 * gets from web_session are here the pipeline's stages and its head; the
 * business handler is all that is left to write. Same protocol, same
 * replies: the lesson puts the two side by side, make bench measures both.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "03-selector/fd_limit.h"
#include "bootstrap.h"
#include "cli.h"
#include "codecs.h"
#include "event_loop.h"
#include "log.h"
#include "stop.h"

#define PROGRAM "pipeline-server"

enum { MAX_WORKERS = 1024 };

typedef struct server {
    log_level level;
    size_t max_line;
    atomic_ulong messages; /* answered, by every worker */
} server;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [options]\n"
            "Chapter 4's protocol (each line is answered with \"received\")\n"
            "served by a pipeline of handlers on boss and worker loops.\n"
            "\n"
            "  -p, --port PORT         port to listen on (default 8000; 0: "
            "any free port)\n"
            "  -b, --bind ADDRESS      address to listen on (default "
            "127.0.0.1)\n"
            "  -w, --workers N         worker loops, 1 to %d (default: one "
            "per CPU, %zu)\n"
            "      --backend NAME      select, poll or epoll (default: %s)\n"
            "  -s, --buffer-size BYTES the longest line, and the bytes read "
            "at a time\n"
            "                          (default 4096)\n"
            "  -l, --log-level LEVEL   error, warn, info or debug (default "
            "warn)\n"
            "  -h, --help              show this help\n"
            "\n"
            "Try it: " PROGRAM " & then nc 127.0.0.1 8000. Stops cleanly on "
            "SIGINT or\nSIGTERM.\n",
            MAX_WORKERS, event_loop_default_count(),
            selector_backend_name(selector_default_backend()));
}

/* excerpt:begin business */
/* lab:begin business "One server, written both ways" */
/* The business handler: each line read gets "received"; the replies of one
 * read go out in one flush, when the read is complete. */
static void received_read(channel_handler_context *ctx, const message *msg)
{
    server *srv = ctx_state(ctx);
    message reply = message_string("received");
    ctx_write(ctx, &reply);
    atomic_fetch_add_explicit(&srv->messages, 1, memory_order_relaxed);
    (void)msg;
}

static void received_read_complete(channel_handler_context *ctx)
{
    ctx_flush(ctx);
}

static void received_exception(channel_handler_context *ctx,
                               const pipeline_error *error)
{
    server *srv = ctx_state(ctx);
    log_at(srv->level, LOG_INFO, PROGRAM, "%s: %s; closing",
           channel_pipeline_remote_address(ctx_pipeline(ctx)), error->text);
    ctx_close(ctx); /* bad input closes this connection, not the server */
}

static const channel_handler received_handler = {
    .channel_read = received_read,
    .channel_read_complete = received_read_complete,
    .exception_caught = received_exception};
/* lab:end business */
/* excerpt:end business */

/* excerpt:begin init */
/* ChannelInitializer.initChannel: the same four stages for each child. */
static int init_child(channel_pipeline *p, void *arg)
{
    /* lab:begin init "One server, written both ways" errno = ENOSYS; return -1; */
    server *srv = arg;
    if (line_based_frame_decoder_add(p, "framer", srv->max_line) < 0 ||
        string_decoder_add(p, "decoder") < 0 ||
        line_encoder_add(p, "encoder") < 0)
        return -1;
    return channel_pipeline_add_last(p, "handler", &received_handler, srv,
                                     NULL);
    /* lab:end init */
}
/* excerpt:end init */

static void wait_for_stop(void)
{
    struct pollfd stop = {.fd = stop_signals_fd(), .events = POLLIN};
    while (poll(&stop, 1, -1) < 0 && errno == EINTR)
        continue;
}

int main(int argc, char **argv)
{
    server srv = {.level = LOG_WARN, .max_line = 4096};
    atomic_init(&srv.messages, 0);
    const char *bind_host = "127.0.0.1";
    uint16_t port = 8000;
    unsigned long workers = event_loop_default_count();
    event_loop_options loop_options = event_loop_default_options();
    loop_options.program = PROGRAM;

    enum { OPT_BACKEND = 256 };
    static const struct option options[] = {
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'w'},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"buffer-size", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:b:w:s:l:h", options, NULL)) !=
           -1) {
        switch (opt) {
        case 'p': port = cli_port_or_die(PROGRAM, optarg, 0); break;
        case 'b': bind_host = optarg; break;
        case 'w':
            workers = cli_ulong_or_die(PROGRAM, "worker count", optarg, 1,
                                       MAX_WORKERS);
            break;
        case OPT_BACKEND:
            loop_options.backend = selector_backend_or_die(PROGRAM, optarg);
            break;
        case 's':
            srv.max_line =
                cli_ulong_or_die(PROGRAM, "buffer size", optarg, 16, 1 << 20);
            break;
        case 'l': srv.level = cli_log_level_or_die(PROGRAM, optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        die(PROGRAM, "unexpected argument '%s' (see --help)", argv[optind]);
    loop_options.log = srv.level;
    if (fd_limit_raise(0) < 0)
        log_at(srv.level, LOG_WARN, PROGRAM,
               "cannot raise the open-file limit: %s", strerror(errno));
    if (stop_signals_install() < 0)
        die(PROGRAM, "cannot install signal handlers: %s", strerror(errno));

    /* excerpt:begin bootstrap */
    event_loop_group *boss = event_loop_group_create(1, &loop_options);
    event_loop_group *group = event_loop_group_create(workers, &loop_options);
    if (boss == NULL || group == NULL)
        die(PROGRAM, "cannot start the event loops: %s", strerror(errno));
    server_bootstrap *b = server_bootstrap_new(boss, group, init_child, &srv);
    if (b == NULL) {
        fputs(PROGRAM ": out of memory\n", stderr);
        return 1;
    }
    channel_pipeline_options child = channel_pipeline_default_options();
    child.read_size = srv.max_line;
    child.program = PROGRAM;
    child.log = srv.level;
    server_bootstrap_child_options(b, &child);
    char error[CHANNEL_ERROR_TEXT + 64];
    if (server_bootstrap_bind(b, bind_host, port, error, sizeof error) < 0)
        die(PROGRAM, "%s", error);
    /* excerpt:end bootstrap */

    wait_for_stop();
    event_loop_group_shutdown(boss); /* first: nobody hands off any more */
    event_loop_group_await_termination(boss);
    event_loop_group_shutdown(group);
    event_loop_group_await_termination(group);
    printf("stopped after %llu connections, %lu messages answered\n",
           (unsigned long long)server_bootstrap_accepted(b),
           atomic_load(&srv.messages));
    event_loop_group_free(boss);
    event_loop_group_free(group);
    server_bootstrap_free(b);
    return 0;
}
