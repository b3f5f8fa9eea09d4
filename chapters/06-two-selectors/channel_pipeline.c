/*
 * channel_pipeline.c - the pipeline, its contexts, and the head that ties
 * them to a channel on an event loop. See channel_pipeline.h.
 *
 * A handler may close the connection in the middle of an event that is
 * still travelling (a decoder firing the third line of a read when the
 * business handler closed on the second). So the pipeline is never freed
 * under a running call: every entry point counts itself in `depth`, and a
 * closed pipeline is freed when the outermost call returns.
 */
#include "channel_pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "01-buffer/buffer.h"
#include "03-selector/selector.h"

enum { MAX_READS_PER_EVENT = 16, NAME_SIZE = 32 };

struct channel_handler_context {
    channel_pipeline *pipeline;
    channel_handler_context *prev, *next;
    const channel_handler *handler;
    void *state;
    void (*free_state)(void *state);
    char name[NAME_SIZE];
};

struct channel_pipeline {
    event_loop *loop; /* NULL when embedded */
    channel *ch;      /* NULL when embedded */
    selection_key *key;
    channel_pipeline_options options;
    channel_handler_context head, tail;
    char remote[SOCKET_ADDRESS_TEXT];

    uint8_t *read_bytes;
    buffer *read_buffer;

    /* Outbound bytes: [sent, flushed) may go to the socket now, [flushed,
     * length) wait for the next flush, as Netty's ChannelOutboundBuffer. */
    char *out;
    size_t out_sent, out_flushed, out_length, out_capacity;

    int interest;    /* the ops last set on the key (saves a syscall) */
    bool registered; /* freed by itself once closed */
    bool connecting; /* OP_CONNECT pending */
    bool active;     /* channel active has fired, inactive has not */
    bool closed;     /* the channel is closed */
    bool close_after_flush;
    unsigned depth; /* calls in progress into this pipeline */

    void (*on_close)(channel_pipeline *p, void *arg);
    void *on_close_arg;
};

message message_bytes(const void *data, size_t length)
{
    return (message){MESSAGE_BYTES, data, length};
}

message message_string(const char *text)
{
    return (message){MESSAGE_STRING, text, strlen(text)};
}

channel_pipeline_options channel_pipeline_default_options(void)
{
    return (channel_pipeline_options){.read_size = 4096,
                                      .high_water_mark = 64 * 1024,
                                      .program = "pipeline",
                                      .log = LOG_WARN};
}

/* --- entering and leaving ------------------------------------------------- */

static void pipeline_destroy(channel_pipeline *p);

static void enter(channel_pipeline *p)
{
    p->depth++;
}

static void leave(channel_pipeline *p)
{
    if (--p->depth == 0 && p->closed && p->registered)
        pipeline_destroy(p);
}

/* --- the head and the tail ------------------------------------------------ */

static void do_close(channel_pipeline *p, bool deregister);
static void try_flush(channel_pipeline *p);
static void update_interest(channel_pipeline *p);

static int out_reserve(channel_pipeline *p, size_t more)
{
    if (p->out_sent > 0 && p->out_sent == p->out_length) {
        p->out_sent = p->out_flushed = p->out_length = 0;
    } else if (p->out_sent > 0 && p->out_length + more > p->out_capacity) {
        memmove(p->out, p->out + p->out_sent, p->out_length - p->out_sent);
        p->out_flushed -= p->out_sent;
        p->out_length -= p->out_sent;
        p->out_sent = 0;
    }
    if (p->out_length + more <= p->out_capacity)
        return 0;
    size_t capacity = p->out_capacity ? p->out_capacity : 1024;
    while (capacity < p->out_length + more)
        capacity *= 2;
    char *grown = realloc(p->out, capacity);
    if (grown == NULL)
        return -1;
    p->out = grown;
    p->out_capacity = capacity;
    return 0;
}

static void head_write(channel_handler_context *ctx, const message *msg)
{
    channel_pipeline *p = ctx->pipeline;
    if (p->closed || p->close_after_flush)
        return; /* Netty fails the write's promise; nobody here waits on it */
    if (msg->kind != MESSAGE_BYTES) {
        pipeline_error e = {EINVAL, "a string reached the head: the pipeline "
                                    "needs an encoder"};
        ctx_fire_exception_caught(&p->head, &e);
        return;
    }
    if (out_reserve(p, msg->length) < 0) {
        pipeline_error e = {ENOMEM, "out of memory for outbound bytes"};
        ctx_fire_exception_caught(&p->head, &e);
        return;
    }
    memcpy(p->out + p->out_length, msg->data, msg->length);
    p->out_length += msg->length;
}

static void head_flush(channel_handler_context *ctx)
{
    channel_pipeline *p = ctx->pipeline;
    if (p->closed)
        return;
    p->out_flushed = p->out_length;
    try_flush(p);
    update_interest(p);
}

static void head_close(channel_handler_context *ctx)
{
    channel_pipeline *p = ctx->pipeline;
    if (p->closed)
        return;
    /* What was written and flushed before close still goes out: a reply
     * and then a close is the usual end of a conversation. */
    if (p->ch != NULL && p->out_sent < p->out_flushed && !p->connecting) {
        p->close_after_flush = true;
        update_interest(p);
        return;
    }
    do_close(p, true);
}

static const channel_handler head_handler = {
    .write = head_write, .flush = head_flush, .close = head_close};

static void tail_read(channel_handler_context *ctx, const message *msg)
{
    channel_pipeline *p = ctx->pipeline;
    log_at(p->options.log, LOG_DEBUG, p->options.program,
           "%s: a %zu-byte message reached the tail and was dropped", p->remote,
           msg->length);
}

static void tail_exception(channel_handler_context *ctx,
                           const pipeline_error *error)
{
    /* Netty only logs here; a connection whose error nobody handled is in
     * an unknown state, so the course also closes it. */
    channel_pipeline *p = ctx->pipeline;
    log_at(p->options.log, LOG_WARN, p->options.program,
           "%s: %s (nobody caught it; closing)", p->remote, error->text);
    channel_pipeline_close(p);
}

static const channel_handler tail_handler = {
    .channel_read = tail_read, .exception_caught = tail_exception};

/* --- building ------------------------------------------------------------- */

static channel_pipeline *pipeline_alloc(const channel_pipeline_options *opts)
{
    channel_pipeline *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->options = opts != NULL ? *opts : channel_pipeline_default_options();
    if (p->options.read_size == 0)
        p->options.read_size = 4096;
    p->head = (channel_handler_context){p,    NULL, &p->tail, &head_handler,
                                        NULL, NULL, "head"};
    p->tail = (channel_handler_context){p,    &p->head, NULL,  &tail_handler,
                                        NULL, NULL,     "tail"};
    return p;
}

channel_pipeline *channel_pipeline_new(event_loop *loop, channel *ch,
                                       const channel_pipeline_options *opts)
{
    channel_pipeline *p = pipeline_alloc(opts);
    if (p == NULL)
        return NULL;
    p->read_bytes = malloc(p->options.read_size);
    p->read_buffer = p->read_bytes != NULL
                         ? buffer_wrap(p->read_bytes, p->options.read_size)
                         : NULL;
    if (p->read_buffer == NULL) {
        free(p->read_bytes);
        free(p);
        return NULL;
    }
    p->loop = loop;
    p->ch = ch;
    channel_remote_address(ch, p->remote, sizeof p->remote);
    return p;
}

channel_pipeline *channel_pipeline_new_embedded(void)
{
    channel_pipeline *p = pipeline_alloc(NULL);
    if (p != NULL)
        snprintf(p->remote, sizeof p->remote, "embedded");
    return p;
}

int channel_pipeline_add_last(channel_pipeline *p, const char *name,
                              const channel_handler *handler, void *state,
                              void (*free_state)(void *state))
{
    /* lab:begin add_last "The handler and the context" if (free_state != NULL) free_state(state); errno = ENOSYS; return -1; */
    channel_handler_context *ctx = malloc(sizeof *ctx);
    if (ctx == NULL) {
        if (free_state != NULL)
            free_state(state);
        return -1;
    }
    *ctx = (channel_handler_context){p,     p->tail.prev, &p->tail, handler,
                                     state, free_state,   ""};
    snprintf(ctx->name, sizeof ctx->name, "%s", name);
    p->tail.prev->next = ctx;
    p->tail.prev = ctx;
    return 0;
    /* lab:end add_last */
}

static void pipeline_destroy(channel_pipeline *p)
{
    channel_handler_context *ctx = p->head.next;
    while (ctx != &p->tail) {
        channel_handler_context *next = ctx->next;
        if (ctx->free_state != NULL)
            ctx->free_state(ctx->state);
        free(ctx);
        ctx = next;
    }
    buffer_free(p->read_buffer);
    free(p->read_bytes);
    free(p->out);
    free(p);
}

void channel_pipeline_free(channel_pipeline *p)
{
    if (p == NULL)
        return;
    if (!p->closed) {
        enter(p);
        do_close(p, true);
        p->depth--;
    }
    pipeline_destroy(p);
}

static event_loop_status register_with(channel_pipeline *p, int ops)
{
    event_loop_status s = event_loop_register(p->loop, p->ch, ops,
                                              &channel_pipeline_io, p, &p->key);
    if (s != EVENT_LOOP_OK) {
        p->key = NULL;
        channel_pipeline_free(p);
        return s;
    }
    p->interest = ops;
    p->registered = true;
    return s;
}

event_loop_status channel_pipeline_register(channel_pipeline *p)
{
    event_loop_status s = register_with(p, OP_READ);
    if (s == EVENT_LOOP_OK)
        channel_pipeline_fire_channel_active(p);
    return s;
}

event_loop_status channel_pipeline_register_connecting(channel_pipeline *p)
{
    p->connecting = true;
    return register_with(p, OP_CONNECT);
}

void channel_pipeline_on_close(channel_pipeline *p,
                               void (*fn)(channel_pipeline *p, void *arg),
                               void *arg)
{
    p->on_close = fn;
    p->on_close_arg = arg;
}

/* --- the context: passing events on --------------------------------------- */

/* excerpt:begin fire-read */
/* Inbound: find the next handler towards the tail that handles the event;
 * a NULL callback passes it on. */
void ctx_fire_channel_read(channel_handler_context *ctx, const message *msg)
{
    /* lab:begin fire_read "The handler and the context" */
    channel_pipeline *p = ctx->pipeline;
    if (p->closed)
        return; /* a closed channel reads nothing more */
    enter(p);
    channel_handler_context *next = ctx->next;
    while (next->handler->channel_read == NULL)
        next = next->next; /* the tail handles it, so this stops */
    next->handler->channel_read(next, msg);
    leave(p);
    /* lab:end fire_read */
}
/* excerpt:end fire-read */

/* The same walk for the events without a message. */
#define FIRE_INBOUND(event, guard)                                             \
    void ctx_fire_##event(channel_handler_context *ctx)                        \
    {                                                                          \
        channel_pipeline *p = ctx->pipeline;                                   \
        if (guard)                                                             \
            return;                                                            \
        enter(p);                                                              \
        channel_handler_context *next = ctx->next;                             \
        while (next != NULL && next->handler->event == NULL)                   \
            next = next->next;                                                 \
        if (next != NULL)                                                      \
            next->handler->event(next);                                        \
        leave(p);                                                              \
    }

FIRE_INBOUND(channel_active, p->closed)
FIRE_INBOUND(channel_read_complete, p->closed)
FIRE_INBOUND(channel_inactive, false)

void ctx_fire_exception_caught(channel_handler_context *ctx,
                               const pipeline_error *error)
{
    /* lab:begin fire_exception "The handler and the context" */
    channel_pipeline *p = ctx->pipeline;
    enter(p);
    channel_handler_context *next = ctx->next;
    while (next->handler->exception_caught == NULL)
        next = next->next;
    next->handler->exception_caught(next, error);
    leave(p);
    /* lab:end fire_exception */
}

/* excerpt:begin write */
/* Outbound: the same walk the other way, towards the head, which does
 * the I/O. */
void ctx_write(channel_handler_context *ctx, const message *msg)
{
    /* lab:begin write "The handler and the context" */
    channel_pipeline *p = ctx->pipeline;
    enter(p);
    channel_handler_context *prev = ctx->prev;
    while (prev->handler->write == NULL)
        prev = prev->prev; /* the head writes, so this stops */
    prev->handler->write(prev, msg);
    leave(p);
    /* lab:end write */
}
/* excerpt:end write */

void ctx_flush(channel_handler_context *ctx)
{
    /* lab:begin flush "The handler and the context" */
    channel_pipeline *p = ctx->pipeline;
    enter(p);
    channel_handler_context *prev = ctx->prev;
    while (prev->handler->flush == NULL)
        prev = prev->prev;
    prev->handler->flush(prev);
    leave(p);
    /* lab:end flush */
}

void ctx_write_and_flush(channel_handler_context *ctx, const message *msg)
{
    channel_pipeline *p = ctx->pipeline;
    enter(p);
    ctx_write(ctx, msg);
    ctx_flush(ctx);
    leave(p);
}

void ctx_close(channel_handler_context *ctx)
{
    /* lab:begin close "The handler and the context" */
    channel_pipeline *p = ctx->pipeline;
    enter(p);
    channel_handler_context *prev = ctx->prev;
    while (prev->handler->close == NULL)
        prev = prev->prev;
    prev->handler->close(prev);
    leave(p);
    /* lab:end close */
}

void *ctx_state(const channel_handler_context *ctx)
{
    return ctx->state;
}

const char *ctx_name(const channel_handler_context *ctx)
{
    return ctx->name;
}

channel_pipeline *ctx_pipeline(const channel_handler_context *ctx)
{
    return ctx->pipeline;
}

/* --- the pipeline's own entry points -------------------------------------- */

void channel_pipeline_fire_channel_active(channel_pipeline *p)
{
    p->active = true;
    ctx_fire_channel_active(&p->head);
}

void channel_pipeline_fire_channel_read(channel_pipeline *p, const message *msg)
{
    ctx_fire_channel_read(&p->head, msg);
}

void channel_pipeline_fire_channel_read_complete(channel_pipeline *p)
{
    ctx_fire_channel_read_complete(&p->head);
}

void channel_pipeline_fire_exception_caught(channel_pipeline *p,
                                            const pipeline_error *error)
{
    ctx_fire_exception_caught(&p->head, error);
}

void channel_pipeline_write(channel_pipeline *p, const message *msg)
{
    ctx_write(&p->tail, msg);
}

void channel_pipeline_flush(channel_pipeline *p)
{
    ctx_flush(&p->tail);
}

void channel_pipeline_write_and_flush(channel_pipeline *p, const message *msg)
{
    ctx_write_and_flush(&p->tail, msg);
}

void channel_pipeline_close(channel_pipeline *p)
{
    ctx_close(&p->tail);
}

bool channel_pipeline_is_active(const channel_pipeline *p)
{
    return p->active && !p->closed;
}

bool channel_pipeline_is_open(const channel_pipeline *p)
{
    return !p->closed;
}

event_loop *channel_pipeline_loop(const channel_pipeline *p)
{
    return p->loop;
}

const char *channel_pipeline_remote_address(const channel_pipeline *p)
{
    return p->remote;
}

size_t channel_pipeline_pending_bytes(const channel_pipeline *p)
{
    return p->out_length - p->out_sent;
}

size_t channel_pipeline_take_outbound(channel_pipeline *p, char *out,
                                      size_t size)
{
    if (p->ch != NULL)
        return 0;
    size_t n = p->out_flushed - p->out_sent;
    if (n > size)
        n = size;
    memcpy(out, p->out + p->out_sent, n);
    p->out_sent += n;
    return n;
}

/* --- the head's I/O ------------------------------------------------------- */

/* Closes the channel and tells the handlers, once. */
static void do_close(channel_pipeline *p, bool deregister)
{
    if (p->closed)
        return;
    p->closed = true;
    bool was_active = p->active;
    p->active = false;
    if (p->ch != NULL) {
        if (deregister && p->key != NULL)
            event_loop_deregister(p->loop, p->key); /* the key first */
        p->key = NULL;
        channel_close(p->ch);
        p->ch = NULL;
    }
    if (was_active)
        ctx_fire_channel_inactive(&p->head);
    if (p->on_close != NULL)
        p->on_close(p, p->on_close_arg);
}

static void fail(channel_pipeline *p, int code, const char *what)
{
    char text[160];
    snprintf(text, sizeof text, "%s: %s", what, strerror(code));
    pipeline_error e = {code, text};
    ctx_fire_exception_caught(&p->head, &e);
    do_close(p, true); /* whatever the handlers did, the socket is gone */
}

static void try_flush(channel_pipeline *p)
{
    if (p->ch == NULL || p->connecting || p->out_sent == p->out_flushed)
        return;
    buffer *view = buffer_wrap(p->out, p->out_capacity);
    if (view == NULL) {
        fail(p, ENOMEM, "write");
        return;
    }
    buffer_set_limit(view, p->out_flushed);
    buffer_set_position(view, p->out_sent);
    ssize_t n = channel_write(p->ch, view);
    int error = errno;
    p->out_sent = buffer_position(view);
    buffer_free(view);
    if (n == CHANNEL_ERROR) {
        fail(p, error, "write");
        return;
    }
    if (p->out_sent == p->out_flushed && p->close_after_flush)
        do_close(p, true);
}

static void update_interest(channel_pipeline *p)
{
    if (p->closed || p->key == NULL || p->connecting)
        return;
    int ops = 0;
    if (p->out_sent < p->out_flushed)
        ops |= OP_WRITE;
    if (!p->close_after_flush &&
        p->out_length - p->out_sent <= p->options.high_water_mark)
        ops |= OP_READ;
    if (ops != p->interest && key_set_interest_ops(p->key, ops) == SELECTOR_OK)
        p->interest = ops;
}

/* excerpt:begin head-read */
/* The head on OP_READ: read what is there (a bounded number of times, so
 * that one busy connection cannot starve the loop's others), fire each
 * chunk inbound, then read complete. End of stream closes the channel. */
static void head_read(channel_pipeline *p)
{
    /* lab:begin head_read "The head: reads" channel_pipeline_close(p); */
    bool got = false;
    for (int i = 0; i < MAX_READS_PER_EVENT && !p->closed; i++) {
        if (p->out_length - p->out_sent > p->options.high_water_mark)
            break; /* the peer is not reading its replies: stop reading */
        buffer_clear(p->read_buffer);
        ssize_t n = channel_read(p->ch, p->read_buffer);
        if (n == 0)
            break;
        if (n == CHANNEL_EOF) {
            if (got)
                channel_pipeline_fire_channel_read_complete(p);
            channel_pipeline_close(p);
            return;
        }
        if (n == CHANNEL_ERROR) {
            fail(p, errno, "read");
            return;
        }
        got = true;
        message msg = message_bytes(p->read_bytes, (size_t)n);
        channel_pipeline_fire_channel_read(p, &msg);
    }
    if (got)
        channel_pipeline_fire_channel_read_complete(p);
    /* lab:end head_read */
}
/* excerpt:end head-read */

static void io_ready(event_loop *loop, selection_key *key, void *context)
{
    (void)loop;
    channel_pipeline *p = context;
    enter(p);
    if (p->connecting && key_is_connectable(key)) {
        int r = channel_finish_connect(p->ch);
        if (r < 0) {
            p->connecting = false;
            fail(p, errno, "connect");
        } else if (r > 0) {
            p->connecting = false;
            channel_pipeline_fire_channel_active(p);
            try_flush(p); /* what was written before the connect */
        }
    } else {
        if (!p->closed && key_is_writable(key))
            try_flush(p);
        if (!p->closed && !p->close_after_flush && key_is_readable(key))
            head_read(p);
    }
    update_interest(p);
    leave(p);
}

static void io_closing(event_loop *loop, selection_key *key, void *context)
{
    (void)loop;
    (void)key;
    channel_pipeline *p = context;
    enter(p);
    p->key = NULL; /* the loop has cancelled it already */
    do_close(p, false);
    leave(p);
}

const event_loop_handler channel_pipeline_io = {io_ready, io_closing};
