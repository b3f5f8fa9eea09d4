/*
 * web_session.c - one connection of the web server: its own input and
 * output Buffers, newline framing, partial writes and backpressure. See
 * web_session.h for the protocol and the state machine.
 *
 * Both buffers stay in "filling" mode between calls: `in` holds the bytes
 * read but not yet answered, from index 0 to its position; `out` holds the
 * replies not yet sent, the same way. A call flips a buffer to drain it and
 * compacts it back, which is the read -> flip -> write -> compact cycle of
 * chapter 1.
 */
#include "web_session.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "01-buffer/buffer.h"
#include "03-selector/selector.h"

/* excerpt:begin session */
static const char REPLY[] = "received\n";
#define REPLY_LENGTH (sizeof REPLY - 1)

struct web_session {
    channel *ch;
    buffer *in;        /* read, not yet answered; filling mode */
    buffer *out;       /* replies not yet sent; filling mode */
    size_t scanned;    /* in[0, scanned) holds no '\n' */
    bool input_ended;  /* the peer sent end of stream */
    bool failed;       /* reset, I/O error or a line too long */
    uint64_t messages; /* lines answered */
};
/* excerpt:end session */

web_session *web_session_new(channel *ch, size_t buffer_size)
{
    /* A buffer smaller than one reply could never make progress. */
    if (buffer_size < REPLY_LENGTH)
        buffer_size = REPLY_LENGTH;
    web_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->in = buffer_allocate(buffer_size);
    s->out = buffer_allocate(buffer_size);
    if (s->in == NULL || s->out == NULL) {
        buffer_free(s->in);
        buffer_free(s->out);
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    s->ch = ch;
    return s;
}

void web_session_free(web_session *s)
{
    if (s == NULL)
        return;
    channel_close(s->ch);
    buffer_free(s->in);
    buffer_free(s->out);
    free(s);
}

channel *web_session_channel(const web_session *s)
{
    return s->ch;
}

uint64_t web_session_messages(const web_session *s)
{
    return s->messages;
}

/* Whether `out` can take one more whole reply: a reply is never split. */
static bool has_room_for_reply(const web_session *s)
{
    return buffer_remaining(s->out) >= REPLY_LENGTH;
}

/* excerpt:begin frame */
/* Answers every complete line in `in` while `out` has room for the reply,
 * then drops the answered lines. A line that finds `out` full stays where
 * it is and is answered after the next write (backpressure). The line's
 * words do not matter to this protocol, so a '\r' before the '\n' needs no
 * special case: it is part of the line that gets dropped. */
/* lab:begin frame "The session" */
static void answer_lines(web_session *s)
{
    const uint8_t *bytes = buffer_const_array(s->in);
    size_t filled = buffer_position(s->in);
    size_t answered = 0; /* bytes of complete, answered lines */
    size_t i = s->scanned;
    for (; i < filled; i++) {
        if (bytes[i] != '\n')
            continue;
        if (!has_room_for_reply(s))
            break;
        buffer_put_bytes(s->out, REPLY, REPLY_LENGTH);
        s->messages++;
        answered = i + 1;
    }
    /* Keep the unanswered tail at the front: flip, skip, compact. */
    buffer_flip(s->in);
    buffer_set_position(s->in, answered);
    buffer_compact(s->in);
    s->scanned = i - answered;
}
/* lab:end frame */
/* excerpt:end frame */

/* state_of(s): FAILED wins; FINISHED only once the peer has ended its
 * stream and every reply owed has been sent; OPEN otherwise. */
/* lab:begin state "The session" */
static web_session_state state_of(const web_session *s)
{
    if (s->failed)
        return WEB_SESSION_FAILED;
    /* Lines waiting in `in` mean `out` is not empty, so an empty `out`
     * after end of stream means everything owed has been sent. */
    if (s->input_ended && buffer_position(s->out) == 0)
        return WEB_SESSION_FINISHED;
    return WEB_SESSION_OPEN;
}
/* lab:end state */

/* excerpt:begin readable */
web_session_state web_session_on_readable(web_session *s)
{
    /* lab:begin readable "The session" return WEB_SESSION_FAILED; */
    /* With `out` full, reading more would only pile up work: wait for
     * OP_WRITE to make room (interest ops say so already). */
    if (s->failed || s->input_ended || !has_room_for_reply(s))
        return state_of(s);
    ssize_t n = channel_read(s->ch, s->in);
    if (n == CHANNEL_ERROR) {
        s->failed = true; /* ECONNRESET and friends: this client only */
        return WEB_SESSION_FAILED;
    }
    if (n == CHANNEL_EOF)
        s->input_ended = true; /* an unfinished last line is dropped */
    answer_lines(s);
    /* A full `in` with no '\n' in it: the line can never be framed. */
    if (buffer_remaining(s->in) == 0 && s->scanned == buffer_position(s->in))
        s->failed = true;
    return state_of(s);
    /* lab:end readable */
}
/* excerpt:end readable */

/* excerpt:begin writable */
web_session_state web_session_on_writable(web_session *s)
{
    /* lab:begin write "The session" (void)REPLY; return WEB_SESSION_FAILED; */
    if (s->failed)
        return WEB_SESSION_FAILED;
    if (buffer_position(s->out) > 0) {
        buffer_flip(s->out);
        ssize_t n = channel_write(s->ch, s->out);
        /* Whatever did not fit stays for the next OP_WRITE. */
        buffer_compact(s->out);
        if (n == CHANNEL_ERROR) {
            s->failed = true; /* EPIPE, ECONNRESET: the peer is gone */
            return WEB_SESSION_FAILED;
        }
    }
    answer_lines(s); /* lines held back while `out` was full */
    return state_of(s);
    /* lab:end write */
}
/* excerpt:end writable */

/* excerpt:begin interest */
int web_session_interest_ops(const web_session *s)
{
    /* lab:begin interest "The idea" (void)has_room_for_reply; return 0; */
    if (state_of(s) != WEB_SESSION_OPEN)
        return 0;
    int ops = 0;
    if (buffer_position(s->out) > 0)
        ops |= OP_WRITE; /* replies pending */
    if (!s->input_ended && has_room_for_reply(s))
        ops |= OP_READ; /* room to answer one more line */
    return ops;
    /* lab:end interest */
}
/* excerpt:end interest */
