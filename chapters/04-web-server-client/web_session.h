/*
 * web_session.h - one connection of the seed's WebServer, done right: the
 * state a selection key carries as its attachment.
 *
 * The protocol: the client sends lines ("hello\n"); the server answers each
 * complete line with "received\n". A line is framed by '\n' (a '\r' before
 * it is dropped), so `nc 127.0.0.1 8000` can talk to the server, and
 * messages survive TCP merging or splitting them.
 *
 * Each session has its own input and output Buffers (the seed shares one
 * pair among all clients). The state machine is the seed's, made correct:
 * interested in OP_READ while there is nothing to send, in OP_WRITE while
 * replies are pending; a reply that does not fit the socket is finished on
 * the next OP_WRITE; while the output buffer is full no more input is read
 * (backpressure); end of stream closes the session once the replies owed
 * are sent; a line longer than the input buffer closes it as bad input.
 *
 * Chapters 5 and 6 serve the same protocol with this same module.
 */
#ifndef NIO_WEB_SESSION_H
#define NIO_WEB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "02-blocking-echo/channel.h"

typedef struct web_session web_session;

typedef enum web_session_state {
    WEB_SESSION_OPEN,     /* keep going; ask web_session_interest_ops */
    WEB_SESSION_FINISHED, /* peer ended the stream and every reply is sent */
    WEB_SESSION_FAILED    /* reset, I/O error or bad input: close now */
} web_session_state;

/* Takes ownership of `ch` (closed by web_session_free). NULL on ENOMEM. */
web_session *web_session_new(channel *ch, size_t buffer_size);
void web_session_free(web_session *s);
channel *web_session_channel(const web_session *s);

/* Call on OP_READ: reads what is there, answers complete lines. */
web_session_state web_session_on_readable(web_session *s);
/* Call on OP_WRITE: sends what it can of the pending replies. */
web_session_state web_session_on_writable(web_session *s);
/* OP_READ and/or OP_WRITE (chapter 3's values) for the session's key. */
int web_session_interest_ops(const web_session *s);

/* Counters for summaries and tests. */
uint64_t web_session_messages(const web_session *s);

#endif
