/*
 * channel_pipeline.h - Netty's ChannelPipeline in C: each connection owns
 * a chain of handlers between a head, which does the channel's I/O, and a
 * tail, which catches what nobody handled.
 *
 * Inbound events travel head -> tail: channel active, channel read (with a
 * message), channel read complete, channel inactive, exception caught.
 * Outbound operations travel tail -> head: write (a message), flush, close.
 * Every handler added gets a context (ChannelHandlerContext): its place in
 * the chain. From it the handler passes an event on to the next handler
 * (ctx_fire_*), or starts an outbound operation from its own position
 * (ctx_write, ctx_flush, ctx_close): the operation goes through the
 * handlers in front of it only, as in Netty.
 *
 *     head <-> decoder <-> ... <-> business handler <-> tail
 *      |  reads bytes, fires them inbound ->
 *      |  <- gets bytes to write, writes them to the socket
 *
 * A callback left NULL passes its event on (Netty's *Adapter classes). A
 * handler may keep per-connection state: the `state` given to
 * channel_pipeline_add_last, freed by its `free_state` when the pipeline
 * is freed (Netty's handlerRemoved).
 *
 * Messages are Netty's Objects, tagged: bytes (a ByteBuf) or a string. A
 * message is lent for the duration of the call; a handler that keeps it
 * copies it (C has no reference counting to release it later).
 *
 * Threads: a pipeline belongs to one event loop (chapter 6) and is used
 * only on that loop's thread, so no handler needs a lock.
 *
 * A pipeline made with channel_pipeline_new_embedded has no socket: bytes
 * written reach an in-memory outbound buffer, for tests (Netty's
 * EmbeddedChannel).
 */
#ifndef NIO_CHANNEL_PIPELINE_H
#define NIO_CHANNEL_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "02-blocking-echo/channel.h"
#include "event_loop.h"
#include "log.h"

typedef enum message_kind {
    MESSAGE_BYTES, /* ByteBuf: raw bytes, as read or to be written */
    MESSAGE_STRING /* String: `data` is NUL-terminated at `length` */
} message_kind;

typedef struct message {
    message_kind kind;
    const char *data;
    size_t length;
} message;

message message_bytes(const void *data, size_t length);
/* A NUL-terminated string. */
message message_string(const char *text);

/* What exception_caught receives: errno-style code and a one-line text. */
typedef struct pipeline_error {
    int code;
    const char *text;
} pipeline_error;

typedef struct channel_pipeline channel_pipeline;
typedef struct channel_handler_context channel_handler_context;

/* excerpt:begin handler */
/* Netty's ChannelHandler: inbound and outbound callbacks, NULL = pass on. */
typedef struct channel_handler {
    void (*channel_active)(channel_handler_context *ctx);
    void (*channel_read)(channel_handler_context *ctx, const message *msg);
    void (*channel_read_complete)(channel_handler_context *ctx);
    void (*channel_inactive)(channel_handler_context *ctx);
    void (*exception_caught)(channel_handler_context *ctx,
                             const pipeline_error *error);
    void (*write)(channel_handler_context *ctx, const message *msg);
    void (*flush)(channel_handler_context *ctx);
    void (*close)(channel_handler_context *ctx);
} channel_handler;
/* excerpt:end handler */

typedef struct channel_pipeline_options {
    /* Bytes read per read call (the head's read buffer). */
    size_t read_size;
    /* Netty's write-buffer high water mark: above it, the head stops
     * reading until the socket has taken the pending bytes (backpressure). */
    size_t high_water_mark;
    const char *program; /* for the tail's log lines */
    log_level log;
} channel_pipeline_options;

channel_pipeline_options channel_pipeline_default_options(void);

/* --- building ------------------------------------------------------------ */

/* A pipeline on `loop` for the non-blocking connected channel `ch` (owned
 * from now on). Call channel_pipeline_register on the loop's thread to start
 * its I/O. NULL on ENOMEM (the channel is then still the caller's). */
channel_pipeline *channel_pipeline_new(event_loop *loop, channel *ch,
                                       const channel_pipeline_options *opts);
/* A pipeline without a socket, for tests. */
channel_pipeline *channel_pipeline_new_embedded(void);

/* Netty's addLast(name, handler): `handler` must outlive the pipeline (a
 * static const table); `state` is this handler's per-connection state,
 * freed with `free_state` (may be NULL). -1 on ENOMEM (state freed). */
int channel_pipeline_add_last(channel_pipeline *p, const char *name,
                              const channel_handler *handler, void *state,
                              void (*free_state)(void *state));

/* Loop thread. Registers the channel with the loop for OP_READ and fires
 * channel active (a connection already connected). On failure the pipeline
 * is closed and freed and the status says why. */
event_loop_status channel_pipeline_register(channel_pipeline *p);
/* Loop thread. As above for a connect still in progress (OP_CONNECT):
 * channel active fires once it completes, exception caught if it fails. */
event_loop_status channel_pipeline_register_connecting(channel_pipeline *p);

/* Netty's closeFuture().addListener(...): fn(p, arg) runs once, when the
 * channel is closed (also when a connect failed), after channel inactive.
 * The pipeline is freed soon after: fn must not keep `p`. */
void channel_pipeline_on_close(channel_pipeline *p,
                               void (*fn)(channel_pipeline *p, void *arg),
                               void *arg);

/* --- events from outside the handlers ------------------------------------- */

/* Inbound from the head (Netty's pipeline.fireChannelRead(...)). */
void channel_pipeline_fire_channel_active(channel_pipeline *p);
void channel_pipeline_fire_channel_read(channel_pipeline *p,
                                        const message *msg);
void channel_pipeline_fire_channel_read_complete(channel_pipeline *p);
void channel_pipeline_fire_exception_caught(channel_pipeline *p,
                                            const pipeline_error *error);
/* Outbound from the tail (Netty's channel.write(...)). */
void channel_pipeline_write(channel_pipeline *p, const message *msg);
void channel_pipeline_flush(channel_pipeline *p);
void channel_pipeline_write_and_flush(channel_pipeline *p, const message *msg);
/* Flushes what is pending, then closes: channel inactive fires once. */
void channel_pipeline_close(channel_pipeline *p);

/* Frees an embedded pipeline, or one never registered (closing it first
 * if need be). A registered pipeline frees itself once closed. */
void channel_pipeline_free(channel_pipeline *p);

/* --- the context ---------------------------------------------------------- */

/* Pass an inbound event on to the next handler towards the tail. */
void ctx_fire_channel_active(channel_handler_context *ctx);
void ctx_fire_channel_read(channel_handler_context *ctx, const message *msg);
void ctx_fire_channel_read_complete(channel_handler_context *ctx);
void ctx_fire_channel_inactive(channel_handler_context *ctx);
void ctx_fire_exception_caught(channel_handler_context *ctx,
                               const pipeline_error *error);
/* Start (or pass on) an outbound operation from this handler towards the
 * head. */
void ctx_write(channel_handler_context *ctx, const message *msg);
void ctx_flush(channel_handler_context *ctx);
void ctx_write_and_flush(channel_handler_context *ctx, const message *msg);
void ctx_close(channel_handler_context *ctx);

void *ctx_state(const channel_handler_context *ctx);
const char *ctx_name(const channel_handler_context *ctx);
channel_pipeline *ctx_pipeline(const channel_handler_context *ctx);

/* --- the pipeline's channel ----------------------------------------------- */

/* Netty's isActive(): connected and not closed. */
bool channel_pipeline_is_active(const channel_pipeline *p);
/* Netty's isOpen(): not closed (an embedded pipeline is open until
 * closed). */
bool channel_pipeline_is_open(const channel_pipeline *p);
event_loop *channel_pipeline_loop(const channel_pipeline *p);
/* "127.0.0.1:54321" ("embedded" without a socket). */
const char *channel_pipeline_remote_address(const channel_pipeline *p);
/* Bytes written and not yet taken by the socket (embedded: all of them). */
size_t channel_pipeline_pending_bytes(const channel_pipeline *p);
/* Embedded only: what was flushed so far; consumed by the call. */
size_t channel_pipeline_take_outbound(channel_pipeline *p, char *out,
                                      size_t size);
/* The handler a pipeline runs on its event loop (for event_loop_register
 * by code that registers by hand, and for the loop's shutdown). */
extern const event_loop_handler channel_pipeline_io;

#endif
