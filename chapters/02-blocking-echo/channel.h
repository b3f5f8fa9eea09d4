/*
 * channel.h - Java's ServerSocketChannel and SocketChannel in C: a socket
 * descriptor that reads into and writes from a Buffer (chapter 1).
 *
 * Return conventions, as in Java:
 *   channel_read   > 0 bytes read, 0 nothing available (non-blocking, or no
 *                  room in the buffer), CHANNEL_EOF at end of stream,
 *                  CHANNEL_ERROR with errno kept;
 *   channel_write  >= 0 bytes written (0: the socket buffer is full, try on
 *                  OP_WRITE), CHANNEL_ERROR with errno kept.
 * Functions that create a channel return NULL and keep errno.
 *
 * EINTR is retried inside. A peer that has gone away shows up as EPIPE or
 * ECONNRESET from a write, never as a SIGPIPE that kills the process.
 */
#ifndef NIO_CHANNEL_H
#define NIO_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "01-buffer/buffer.h"

enum { CHANNEL_EOF = -1, CHANNEL_ERROR = -2 };

/* Java's InetSocketAddress: a resolved IPv4 or IPv6 address and port. */
typedef struct socket_address {
    struct sockaddr_storage storage;
    socklen_t length;
} socket_address;

/* Resolves HOST (a name or a numeric address) and PORT. Returns 0, or an
 * EAI_* code for socket_address_error. */
int socket_address_resolve(socket_address *out, const char *host,
                           uint16_t port);
const char *socket_address_error(int code);
/* "127.0.0.1:8000" or "[::1]:8000"; returns `out`. */
char *socket_address_format(const socket_address *address, char *out,
                            size_t size);
uint16_t socket_address_port(const socket_address *address);

/* SOCKET_ADDRESS_TEXT is large enough for any socket_address_format. */
#define SOCKET_ADDRESS_TEXT 64

typedef enum channel_kind {
    CHANNEL_SERVER,      /* ServerSocketChannel: listens and accepts */
    CHANNEL_SOCKET,      /* SocketChannel: one connection */
    CHANNEL_PIPE_SOURCE, /* Pipe.SourceChannel: the end that reads */
    CHANNEL_PIPE_SINK    /* Pipe.SinkChannel: the end that writes */
} channel_kind;

typedef struct channel channel;

/* ServerSocketChannel.open().bind(address, backlog), with SO_REUSEADDR so
 * that a restarted server can bind while old connections sit in TIME_WAIT.
 * Port 0 picks any free port: ask channel_local_address which one. */
channel *channel_open_server(const socket_address *address, int backlog);
/* What every server does first: resolve HOST and PORT, then open a server
 * channel on it. NULL with a one-line reason in `error` ("cannot resolve
 * 'HOST': ..." or "cannot listen on HOST:PORT: ...") for die(). */
channel *channel_listen(const char *host, uint16_t port, int backlog,
                        char *error, size_t error_size);
/* CHANNEL_ERROR_TEXT is large enough for channel_listen's reasons. */
#define CHANNEL_ERROR_TEXT 320
/* Prints "listening on HOST:PORT" to stdout and flushes it: the line that
 * scripts and tests wait for before they connect. */
void channel_print_listening(const channel *server);
/* Java's accept(): NULL with errno EAGAIN/EWOULDBLOCK when a non-blocking
 * server has nobody waiting. The new channel starts blocking, as in Java. */
channel *channel_accept(channel *server);
/* accept() for a selector, as Netty does it: the new channel is
 * non-blocking from the start, and on Linux that costs no call beyond
 * accept4 itself (accept, then configureBlocking(false), costs three
 * more). */
channel *channel_accept_nonblocking(channel *server);

/* SocketChannel.open(address): a blocking connect. */
channel *channel_open_connected(const socket_address *address);
/* SocketChannel.open(): an unconnected socket of the address's family,
 * for the non-blocking connect below. */
channel *channel_open_socket(const socket_address *address);
/* 1 connected at once, 0 in progress (finish on OP_CONNECT), -1 error;
 * a connect the network refused at once closes the channel, as in Java. */
int channel_connect(channel *ch, const socket_address *address);
/* 1 connected, 0 still in progress, -1 failed. As in Java, a connect that
 * failed (errno from the socket, such as ECONNREFUSED) closes the channel:
 * its keys are cancelled and its descriptor closed, so no selector spins
 * on a dead socket; channel_close still releases it. With no connect
 * pending and not connected: -1 with ENOTCONN (Java's
 * NoConnectionPendingException). */
int channel_finish_connect(channel *ch);
bool channel_is_connection_pending(const channel *ch);
/* Java's isConnected(): an accepted channel, or a connect that finished;
 * false again once the channel is closed. */
bool channel_is_connected(const channel *ch);

/* Pipe.open(): two connected channels, bytes written to `sink` are read
 * from `source`. 0, or -1 with errno. */
int channel_open_pipe(channel **source, channel **sink);

ssize_t channel_read(channel *ch, buffer *dst);
ssize_t channel_write(channel *ch, buffer *src);
/* Gathering write (Java's write(ByteBuffer[])): one writev over every
 * buffer's remaining bytes; positions advance in order. */
ssize_t channel_write_buffers(channel *ch, buffer *const *srcs, size_t count);
/* Scattering read (Java's read(ByteBuffer[])): one recvmsg that fills each
 * buffer's remaining room in order. Returns as channel_read does. */
ssize_t channel_read_buffers(channel *ch, buffer *const *dsts, size_t count);

/* Java's StandardSocketOptions for setOption/getOption. Every value is an
 * int: SO_LINGER in seconds (< 0 turns it off, and get answers -1 then),
 * the buffer sizes in bytes, the booleans 0 or 1. An option this kind of
 * channel does not have (TCP_NODELAY on a server, any option on a pipe) is
 * -1 with ENOPROTOOPT, Java's UnsupportedOperationException; a negative
 * buffer size is EINVAL, Java's IllegalArgumentException. */
typedef enum channel_option {
    CHANNEL_SO_LINGER,
    CHANNEL_SO_RCVBUF,
    CHANNEL_SO_SNDBUF,
    CHANNEL_SO_REUSEADDR,
    CHANNEL_SO_KEEPALIVE,
    CHANNEL_TCP_NODELAY
} channel_option;
int channel_set_option(channel *ch, channel_option option, int value);
int channel_get_option(const channel *ch, channel_option option, int *value);

/* -1 with EBUSY when asked for blocking mode while a selector holds a
 * valid key of the channel (Java's IllegalBlockingModeException). */
int channel_configure_blocking(channel *ch, bool blocking);
bool channel_is_blocking(const channel *ch);
/* Half-close: sends end of stream, keeps reading. */
int channel_shutdown_output(channel *ch);
/* Java's shutdownInput: later reads return CHANNEL_EOF. It also wakes a
 * thread blocked in channel_read on this channel, which is how another
 * thread stops a blocking reader without closing the descriptor under it. */
int channel_shutdown_input(channel *ch);
/* Java's close(): cancels every key of the channel (so closing a
 * registered channel is safe), closes the descriptor and releases the
 * channel; NULL is ignored. Call it from the thread that selects, as with
 * key_cancel. A key that has not left its selector yet still points at
 * the channel, closed (key_channel, as in Java); the memory goes when the
 * last such key does. */
void channel_close(channel *ch);
/* False once closed: after channel_close while keys remain, or after a
 * failed channel_finish_connect. */
bool channel_is_open(const channel *ch);

channel_kind channel_get_kind(const channel *ch);
int channel_fd(const channel *ch);
/* Local and remote address as text for logs ("?" when unknown). */
char *channel_local_address(const channel *ch, char *out, size_t size);
char *channel_remote_address(const channel *ch, char *out, size_t size);
/* The bound port, for servers started with port 0. */
uint16_t channel_local_port(const channel *ch);

/* --- for the selector (chapter 3) ---------------------------------------
 * Java's SelectableChannel keeps the keys it is registered with, so that
 * close can cancel them and configureBlocking(true) can refuse. A selector
 * tells the channel about each key through these; a program never calls
 * them. They lock the channel: selectors on other threads may hold keys
 * of the same channel (chapter 7's listener).
 *
 * The list of a channel's keys runs through the keys themselves: each key
 * embeds a channel_key_link, and the channel keeps a pointer to the first.
 * So the list costs a channel no memory of its own, and the channel needs
 * to know nothing of the selector's types. */
/* excerpt:begin key-link */
typedef struct channel_key_link channel_key_link;
/* How the channel's close cancels a key: given the key's link, it must
 * call channel_key_cancelled. Called with no lock held. */
typedef void channel_key_cancel_fn(channel_key_link *link);
struct channel_key_link {
    channel_key_link *next; /* the channel's next key */
    channel_key_cancel_fn *cancel;
    bool valid; /* false once cancelled */
};
/* excerpt:end key-link */
/* A new key: fills in `link` and puts it on the channel's list. -1 with
 * EBADF when the channel is closed, or EAGAIN when it is in blocking mode:
 * checked here, under the lock, so that configure_blocking on another
 * thread cannot slip in between. */
int channel_add_key(channel *ch, channel_key_link *link,
                    channel_key_cancel_fn *cancel);
void channel_key_cancelled(channel *ch, channel_key_link *link);
/* The selector has let go of the key (its link leaves the list); a closed
 * channel whose last key this was is freed here. */
void channel_remove_key(channel *ch, channel_key_link *link);
/* Java's isRegistered(): true from registration until the selector lets
 * go of the key, which is after the next selection once it is cancelled. */
bool channel_is_registered(const channel *ch);

#endif
