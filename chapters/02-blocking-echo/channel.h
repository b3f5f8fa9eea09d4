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
    CHANNEL_SERVER, /* ServerSocketChannel: listens and accepts */
    CHANNEL_SOCKET  /* SocketChannel: one connection */
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
/* 1 connected at once, 0 in progress (finish on OP_CONNECT), -1 error. */
int channel_connect(channel *ch, const socket_address *address);
/* 1 connected, 0 still in progress, -1 failed (errno from the socket). */
int channel_finish_connect(channel *ch);
bool channel_is_connection_pending(const channel *ch);

ssize_t channel_read(channel *ch, buffer *dst);
ssize_t channel_write(channel *ch, buffer *src);
/* Gathering write (Java's write(ByteBuffer[])): one writev over every
 * buffer's remaining bytes; positions advance in order. */
ssize_t channel_write_buffers(channel *ch, buffer *const *srcs, size_t count);

int channel_configure_blocking(channel *ch, bool blocking);
bool channel_is_blocking(const channel *ch);
/* Half-close: sends end of stream, keeps reading. */
int channel_shutdown_output(channel *ch);
/* Java's shutdownInput: later reads return CHANNEL_EOF. It also wakes a
 * thread blocked in channel_read on this channel, which is how another
 * thread stops a blocking reader without closing the descriptor under it. */
int channel_shutdown_input(channel *ch);
/* Closes the descriptor and frees the channel; NULL is ignored. */
void channel_close(channel *ch);

channel_kind channel_get_kind(const channel *ch);
int channel_fd(const channel *ch);
/* Local and remote address as text for logs ("?" when unknown). */
char *channel_local_address(const channel *ch, char *out, size_t size);
char *channel_remote_address(const channel *ch, char *out, size_t size);
/* The bound port, for servers started with port 0. */
uint16_t channel_local_port(const channel *ch);

#endif
