/*
 * codecs.c - the frame decoder, the string decoder and the two encoders.
 * See codecs.h.
 */
#include "codecs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the line-based frame decoder ----------------------------------------- */

typedef struct line_decoder {
    size_t max_length;
    size_t length;   /* bytes of the current line held in `line` */
    bool discarding; /* inside a line that was too long: skip to its "\n" */
    char line[];     /* max_length bytes */
} line_decoder;

static void too_long(channel_handler_context *ctx, line_decoder *d)
{
    char text[96];
    snprintf(text, sizeof text, "line longer than %zu bytes", d->max_length);
    pipeline_error e = {EMSGSIZE, text};
    d->length = 0;
    d->discarding = true;
    ctx_fire_exception_caught(ctx, &e);
}

/* lab:begin fire_line "Codecs are handlers" */
/* A whole line, "\r\n" or "\n" ending it, goes on without its ending. */
static void fire_line(channel_handler_context *ctx, line_decoder *d,
                      const char *data, size_t length)
{
    if (length > 0 && data[length - 1] == '\r')
        length--;
    if (length > d->max_length) {
        too_long(ctx, d);
        d->discarding = false; /* its "\n" has come */
        return;
    }
    message msg = message_bytes(data, length);
    ctx_fire_channel_read(ctx, &msg);
}
/* lab:end fire_line */

/* excerpt:begin line-decoder */
static void line_decoder_read(channel_handler_context *ctx, const message *msg)
{
    /* lab:begin line_decoder "Codecs are handlers" (void)too_long; */
    line_decoder *d = ctx_state(ctx);
    if (msg->kind != MESSAGE_BYTES) {
        ctx_fire_channel_read(ctx, msg); /* not ours: pass it on */
        return;
    }
    const char *at = msg->data, *end = msg->data + msg->length;
    channel_pipeline *p = ctx_pipeline(ctx);
    while (at < end && channel_pipeline_is_open(p)) {
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        size_t part = (size_t)((nl != NULL ? nl : end) - at);
        if (d->discarding) {
            d->discarding = nl == NULL; /* the long line ends at its "\n" */
        } else if (d->length + part > d->max_length + 1) {
            too_long(ctx, d); /* + 1: room for a "\r" before the "\n" */
            d->discarding = nl == NULL;
        } else if (nl != NULL && d->length == 0) {
            fire_line(ctx, d, at, part); /* a whole line: no copy */
        } else {
            memcpy(d->line + d->length, at, part); /* keep the part */
            d->length += part;
            if (nl != NULL) {
                size_t whole = d->length;
                d->length = 0;
                fire_line(ctx, d, d->line, whole);
            }
        }
        at += part + (nl != NULL);
    }
    /* lab:end line_decoder */
}
/* excerpt:end line-decoder */

static const channel_handler line_decoder_handler = {.channel_read =
                                                         line_decoder_read};

int line_based_frame_decoder_add(channel_pipeline *p, const char *name,
                                 size_t max_length)
{
    /* One more byte than the longest line: room for its "\r". */
    line_decoder *d = malloc(sizeof *d + max_length + 1);
    if (d == NULL)
        return -1;
    *d = (line_decoder){.max_length = max_length};
    return channel_pipeline_add_last(p, name, &line_decoder_handler, d, free);
}

/* --- the string decoder --------------------------------------------------- */

typedef struct string_decoder {
    size_t capacity;
    char *text;
} string_decoder;

static void string_decoder_free(void *state)
{
    string_decoder *d = state;
    free(d->text);
    free(d);
}

static void string_decoder_read(channel_handler_context *ctx,
                                const message *msg)
{
    /* lab:begin string_decoder "Codecs are handlers" */
    string_decoder *d = ctx_state(ctx);
    if (msg->kind != MESSAGE_BYTES) {
        ctx_fire_channel_read(ctx, msg);
        return;
    }
    if (msg->length + 1 > d->capacity) {
        char *grown = realloc(d->text, msg->length + 1);
        if (grown == NULL) {
            pipeline_error e = {ENOMEM, "out of memory decoding a string"};
            ctx_fire_exception_caught(ctx, &e);
            return;
        }
        d->text = grown;
        d->capacity = msg->length + 1;
    }
    memcpy(d->text, msg->data, msg->length);
    d->text[msg->length] = '\0'; /* a C string from here on */
    message text = {MESSAGE_STRING, d->text, msg->length};
    ctx_fire_channel_read(ctx, &text);
    /* lab:end string_decoder */
}

static const channel_handler string_decoder_handler = {.channel_read =
                                                           string_decoder_read};

int string_decoder_add(channel_pipeline *p, const char *name)
{
    string_decoder *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -1;
    return channel_pipeline_add_last(p, name, &string_decoder_handler, d,
                                     string_decoder_free);
}

/* --- the encoders --------------------------------------------------------- */

/* A string's bytes are already what goes on the wire: no copy. */
static void string_encoder_write(channel_handler_context *ctx,
                                 const message *msg)
{
    /* lab:begin string_encoder "Codecs are handlers" */
    if (msg->kind != MESSAGE_STRING) {
        ctx_write(ctx, msg);
        return;
    }
    message bytes = message_bytes(msg->data, msg->length);
    ctx_write(ctx, &bytes);
    /* lab:end string_encoder */
}

static const channel_handler string_encoder_handler = {
    .write = string_encoder_write};

int string_encoder_add(channel_pipeline *p, const char *name)
{
    return channel_pipeline_add_last(p, name, &string_encoder_handler, NULL,
                                     NULL);
}

/* excerpt:begin line-encoder */
static void line_encoder_write(channel_handler_context *ctx, const message *msg)
{
    /* lab:begin line_encoder "Codecs are handlers" */
    if (msg->kind != MESSAGE_STRING) {
        ctx_write(ctx, msg);
        return;
    }
    message text = message_bytes(msg->data, msg->length);
    message end = message_bytes("\n", 1);
    ctx_write(ctx, &text); /* two writes, one flush: no copy, one send */
    ctx_write(ctx, &end);
    /* lab:end line_encoder */
}
/* excerpt:end line-encoder */

static const channel_handler line_encoder_handler = {.write =
                                                         line_encoder_write};

int line_encoder_add(channel_pipeline *p, const char *name)
{
    return channel_pipeline_add_last(p, name, &line_encoder_handler, NULL,
                                     NULL);
}
