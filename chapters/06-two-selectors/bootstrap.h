/*
 * bootstrap.h - Netty's ServerBootstrap and Bootstrap in C: what puts a
 * pipeline (channel_pipeline.h) on every connection.
 *
 * A server_bootstrap has a boss group (one loop is enough: it only
 * accepts), a worker group, and a child initializer (Netty's
 * ChannelInitializer.initChannel) that adds each new connection's
 * handlers. bind opens the listener, registers it on the boss's loop,
 * waits for that (bind().sync()), and prints the "listening on" line. The
 * boss accepts, picks the next worker loop in turn and hands it the
 * channel in a task; on that worker's thread the pipeline is made, the
 * initializer runs, the channel is registered and channel active fires.
 *
 * A bootstrap (the client's) has one group and an initializer; connect
 * resolves the address, then on a loop of the group opens a non-blocking
 * socket, starts the connect, makes the pipeline, runs the initializer and
 * registers for OP_CONNECT: channel active fires once connected, exception
 * caught (then the close) if the connect fails.
 *
 * The groups belong to the caller, as in Netty: shut the boss group down
 * first (that closes the listener), then the workers (that closes every
 * connection, each pipeline seeing channel inactive); then free the
 * bootstrap.
 */
#ifndef NIO_BOOTSTRAP_H
#define NIO_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "channel_pipeline.h"
#include "event_loop.h"

/* Netty's ChannelInitializer: adds the handlers; -1 if it could not (the
 * connection is then closed). */
typedef int channel_initializer(channel_pipeline *p, void *arg);

typedef struct server_bootstrap server_bootstrap;

/* excerpt:begin server-bootstrap-api */
server_bootstrap *server_bootstrap_new(event_loop_group *boss,
                                       event_loop_group *workers,
                                       channel_initializer *child_handler,
                                       void *arg);
/* Options for each child pipeline (buffer sizes, logging). */
void server_bootstrap_child_options(server_bootstrap *b,
                                    const channel_pipeline_options *options);
/* Listens on HOST:PORT (0: any free port), prints "listening on". -1 with
 * a one-line reason in `error`. */
int server_bootstrap_bind(server_bootstrap *b, const char *host, uint16_t port,
                          char *error, size_t error_size);
/* excerpt:end server-bootstrap-api */
/* Connections accepted; read once the boss group has terminated. */
uint64_t server_bootstrap_accepted(const server_bootstrap *b);
/* After both groups have terminated. NULL is OK. */
void server_bootstrap_free(server_bootstrap *b);

typedef struct bootstrap {
    event_loop_group *group;
    channel_initializer *handler;
    void *arg;
    channel_pipeline_options options;
} bootstrap;

/* Starts connecting to HOST:PORT on the next loop of the group; the
 * outcome reaches the pipeline's handlers. -1 with a reason in `error`
 * when the name does not resolve or the group is shutting down. */
int bootstrap_connect(bootstrap *b, const char *host, uint16_t port,
                      char *error, size_t error_size);

#endif
