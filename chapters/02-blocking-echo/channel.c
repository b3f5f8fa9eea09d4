/*
 * channel.c - sockets that read into and write from Buffers. See channel.h.
 *
 * Only POSIX calls: socket, socketpair, bind, listen, accept, connect,
 * recv, send, recvmsg, sendmsg, shutdown, setsockopt, fcntl, getaddrinfo;
 * and on Linux accept4 (POSIX since 2024), which sets an accepted socket's
 * flags in the same call. Every descriptor is close-on-exec.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* accept4 */
#endif
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct channel {
    int fd; /* -1 once closed */
    channel_kind kind;
    bool blocking;
    bool connection_pending;
    bool connected;
    bool released; /* channel_close was called; freed with the last key */
    /* The keys, which selectors on several threads may add and remove
     * (every worker of chapter 7 registers the one listener), linked
     * through the keys themselves; guarded by key_lock(ch). */
    channel_key_link *keys;
};

/* The lock of a channel's key list. A mutex in every channel (40 bytes
 * on Linux) would grow every idle connection's channel from a 32-byte
 * block of memory to an 80-byte one, to guard a list that changes only
 * at register, cancel and close; so the channels share a few, each
 * picked by the channel's address. Two channels on one lock only wait
 * for each other now and then, and since no code holds two of them at
 * once, sharing cannot deadlock. */
#define KEY_LOCK    PTHREAD_MUTEX_INITIALIZER
#define KEY_LOCKS_4 KEY_LOCK, KEY_LOCK, KEY_LOCK, KEY_LOCK
enum { KEY_LOCK_BITS = 5 };
static pthread_mutex_t key_locks[1 << KEY_LOCK_BITS] = {
    KEY_LOCKS_4, KEY_LOCKS_4, KEY_LOCKS_4, KEY_LOCKS_4,
    KEY_LOCKS_4, KEY_LOCKS_4, KEY_LOCKS_4, KEY_LOCKS_4};

static pthread_mutex_t *key_lock(const channel *ch)
{
    /* Fibonacci hashing (times 2^32 / golden ratio, top bits kept), so
     * that channels allocated side by side land on different locks. */
    uint32_t address = (uint32_t)((uintptr_t)ch >> 4);
    return &key_locks[(uint32_t)(address * 2654435769u) >>
                      (32 - KEY_LOCK_BITS)];
}

/* --- addresses -------------------------------------------------------- */

int socket_address_resolve(socket_address *out, const char *host, uint16_t port)
{
    struct addrinfo hints, *found = NULL;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (host == NULL ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%u", (unsigned)port);
    int rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0)
        return rc;
    /* The first answer is the resolver's preferred one. */
    memset(out, 0, sizeof *out);
    memcpy(&out->storage, found->ai_addr, found->ai_addrlen);
    out->length = found->ai_addrlen;
    freeaddrinfo(found);
    return 0;
}

const char *socket_address_error(int code)
{
    return gai_strerror(code);
}

char *socket_address_format(const socket_address *address, char *out,
                            size_t size)
{
    char host[INET6_ADDRSTRLEN + 16], port[16]; /* +16: an IPv6 %zone */
    if (size == 0)
        return out;
    if (getnameinfo((const struct sockaddr *)&address->storage, address->length,
                    host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, size, "?");
    } else if (address->storage.ss_family == AF_INET6) {
        snprintf(out, size, "[%s]:%s", host, port);
    } else {
        snprintf(out, size, "%s:%s", host, port);
    }
    return out;
}

uint16_t socket_address_port(const socket_address *address)
{
    if (address->storage.ss_family == AF_INET6)
        return ntohs(
            ((const struct sockaddr_in6 *)&address->storage)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&address->storage)->sin_port);
}

/* --- creating --------------------------------------------------------- */

static channel *wrap_fd(int fd, channel_kind kind)
{
    channel *ch = malloc(sizeof *ch);
    if (ch == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    *ch = (channel){.fd = fd, .kind = kind, .blocking = true};
    return ch;
}

/* A new socket, close-on-exec, and (where the OS has the option) never a
 * SIGPIPE for this socket; elsewhere MSG_NOSIGNAL on each send does it. */
static int new_socket(int family)
{
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return fd;
}

static void close_keeping_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* excerpt:begin open-server */
channel *channel_open_server(const socket_address *address, int backlog)
{
    int fd = new_socket(address->storage.ss_family);
    if (fd < 0)
        return NULL;
    const struct sockaddr *where = (const struct sockaddr *)&address->storage;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, where, address->length) < 0 || listen(fd, backlog) < 0) {
        close_keeping_errno(fd);
        return NULL;
    }
    return wrap_fd(fd, CHANNEL_SERVER);
}
/* excerpt:end open-server */

channel *channel_listen(const char *host, uint16_t port, int backlog,
                        char *error, size_t error_size)
{
    socket_address address;
    int rc = socket_address_resolve(&address, host, port);
    if (rc != 0) {
        snprintf(error, error_size, "cannot resolve '%s': %s", host,
                 socket_address_error(rc));
        return NULL;
    }
    channel *server = channel_open_server(&address, backlog);
    if (server == NULL) {
        int saved = errno;
        char text[SOCKET_ADDRESS_TEXT];
        snprintf(error, error_size, "cannot listen on %s: %s",
                 socket_address_format(&address, text, sizeof text),
                 strerror(saved));
        errno = saved;
    }
    return server;
}

void channel_print_listening(const channel *server)
{
    char text[SOCKET_ADDRESS_TEXT];
    printf("listening on %s\n",
           channel_local_address(server, text, sizeof text));
    fflush(stdout);
}

static channel *accept_channel(channel *server, bool blocking)
{
    if (server == NULL || server->kind != CHANNEL_SERVER) {
        errno = EINVAL;
        return NULL;
    }
    int fd;
#if defined(__linux__)
    /* One call: the flags are set exactly as asked, nothing inherited. */
    do
        fd = accept4(server->fd, NULL, NULL,
                     SOCK_CLOEXEC | (blocking ? 0 : SOCK_NONBLOCK));
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return NULL;
#else
    do
        fd = accept(server->fd, NULL, NULL);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return NULL;
    /* Some systems copy O_NONBLOCK from the listener, Linux does not:
     * set it as asked, everywhere. */
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 ||
        fcntl(fd, F_SETFL,
              blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        close_keeping_errno(fd);
        return NULL;
    }
#endif
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    channel *ch = wrap_fd(fd, CHANNEL_SOCKET);
    if (ch != NULL) {
        ch->blocking = blocking;
        ch->connected = true;
    }
    return ch;
}

channel *channel_accept(channel *server)
{
    return accept_channel(server, true);
}

channel *channel_accept_nonblocking(channel *server)
{
    return accept_channel(server, false);
}

channel *channel_open_socket(const socket_address *address)
{
    int fd = new_socket(address->storage.ss_family);
    return fd < 0 ? NULL : wrap_fd(fd, CHANNEL_SOCKET);
}

static void close_descriptor(channel *ch);

int channel_connect(channel *ch, const socket_address *address)
{
    if (ch == NULL || ch->kind != CHANNEL_SOCKET) {
        errno = EINVAL;
        return -1;
    }
    int rc = connect(ch->fd, (const struct sockaddr *)&address->storage,
                     address->length);
    if (rc == 0) {
        ch->connected = true;
        return 1;
    }
    /* An interrupted connect carries on in the background, like a
     * non-blocking one: both finish through finish_connect. */
    if (errno == EINPROGRESS || errno == EINTR) {
        ch->connection_pending = true;
        if (ch->blocking)
            return channel_finish_connect(ch) == 1 ? 1 : -1;
        return 0;
    }
    /* A connect that failed closes the channel, as in Java; asking twice
     * (EISCONN, EALREADY) or for a bad address (EINVAL, EAFNOSUPPORT) is
     * the caller's mistake and leaves it as it was. */
    if (errno != EISCONN && errno != EALREADY && errno != EINVAL &&
        errno != EAFNOSUPPORT && errno != EBADF) {
        int saved = errno;
        close_descriptor(ch);
        errno = saved;
    }
    return -1;
}

/* excerpt:begin finish-connect */
int channel_finish_connect(channel *ch)
{
    if (ch == NULL || ch->kind != CHANNEL_SOCKET) {
        errno = EINVAL;
        return -1;
    }
    if (!ch->connection_pending) {
        if (ch->connected)
            return 1;
        errno = ch->fd < 0 ? EBADF : ENOTCONN; /* NoConnectionPending */
        return -1;
    }
    if (ch->blocking) {
        /* Wait for the outcome, as Java's blocking finishConnect does. */
        struct pollfd p = {.fd = ch->fd, .events = POLLOUT};
        int rc;
        do
            rc = poll(&p, 1, -1);
        while (rc < 0 && errno == EINTR);
        if (rc < 0)
            return -1;
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
        return -1;
    if (error != 0) {
        /* Java closes a channel whose connect failed: its keys go with
         * it, instead of a key that reports OP_CONNECT for ever. */
        ch->connection_pending = false;
        close_descriptor(ch);
        errno = error;
        return -1;
    }
    /* No error yet: connected only when the peer's address is known. */
    struct sockaddr_storage peer;
    socklen_t peer_length = sizeof peer;
    if (getpeername(ch->fd, (struct sockaddr *)&peer, &peer_length) < 0) {
        if (errno == ENOTCONN)
            return 0;
        return -1;
    }
    ch->connection_pending = false;
    ch->connected = true;
    return 1;
}
/* excerpt:end finish-connect */

bool channel_is_connection_pending(const channel *ch)
{
    return ch != NULL && ch->connection_pending;
}

bool channel_is_connected(const channel *ch)
{
    return ch != NULL && ch->connected && ch->fd >= 0;
}

/* A socket pair rather than pipe(2): send with MSG_NOSIGNAL works on it,
 * so a sink whose source is gone reports EPIPE instead of raising
 * SIGPIPE, like every other channel. Each end is shut in the direction it
 * does not use, which makes it one-way, as a pipe is. */
int channel_open_pipe(channel **source, channel **sink)
{
    int fds[2];
    if (source == NULL || sink == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
        return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0 ||
        shutdown(fds[0], SHUT_WR) < 0 || shutdown(fds[1], SHUT_RD) < 0) {
        close_keeping_errno(fds[0]);
        close_keeping_errno(fds[1]);
        return -1;
    }
    *source = wrap_fd(fds[0], CHANNEL_PIPE_SOURCE);
    *sink = wrap_fd(fds[1], CHANNEL_PIPE_SINK);
    if (*source == NULL || *sink == NULL) {
        channel_close(*source);
        channel_close(*sink);
        *source = *sink = NULL;
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

channel *channel_open_connected(const socket_address *address)
{
    channel *ch = channel_open_socket(address);
    if (ch != NULL && channel_connect(ch, address) != 1) {
        int saved = errno;
        channel_close(ch);
        errno = saved;
        return NULL;
    }
    return ch;
}

/* --- reading and writing ---------------------------------------------- */

/* Closed (Java's ClosedChannelException) or the wrong end of a pipe
 * (NonReadable/NonWritableChannelException): EBADF, as read(2) and
 * write(2) say it. */
static bool can_transfer(const channel *ch, channel_kind wrong_end)
{
    if (ch->fd < 0 || ch->kind == wrong_end || ch->kind == CHANNEL_SERVER) {
        errno = EBADF;
        return false;
    }
    return true;
}

/* excerpt:begin read */
ssize_t channel_read(channel *ch, buffer *dst)
{
    /* lab:begin read "The Channel" errno = ENOSYS; return CHANNEL_ERROR; */
    uint8_t *room = buffer_array(dst);
    if (ch == NULL || room == NULL) {
        errno = EINVAL;
        return CHANNEL_ERROR;
    }
    if (!can_transfer(ch, CHANNEL_PIPE_SINK))
        return CHANNEL_ERROR;
    size_t space = buffer_remaining(dst);
    if (space == 0)
        return 0;
    ssize_t n;
    do
        n = recv(ch->fd, room + buffer_position(dst), space, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        buffer_set_position(dst, buffer_position(dst) + (size_t)n);
        return n;
    }
    if (n == 0)
        return CHANNEL_EOF; /* the peer closed its side */
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0; /* non-blocking and nothing there yet */
    return CHANNEL_ERROR;
    /* lab:end read */
}
/* excerpt:end read */

/* excerpt:begin write */
ssize_t channel_write(channel *ch, buffer *src)
{
    /* lab:begin write "The Channel" errno = ENOSYS; return CHANNEL_ERROR; */
    const uint8_t *bytes = buffer_const_array(src);
    if (ch == NULL || bytes == NULL) {
        errno = EINVAL;
        return CHANNEL_ERROR;
    }
    if (!can_transfer(ch, CHANNEL_PIPE_SOURCE))
        return CHANNEL_ERROR;
    size_t pending = buffer_remaining(src);
    if (pending == 0)
        return 0;
    ssize_t n;
    do /* MSG_NOSIGNAL: a vanished peer is EPIPE here, not a SIGPIPE */
        n = send(ch->fd, bytes + buffer_position(src), pending, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0) {
        /* Maybe only part of it: the rest waits for the next write. */
        buffer_set_position(src, buffer_position(src) + (size_t)n);
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
    return CHANNEL_ERROR;
    /* lab:end write */
}
/* excerpt:end write */

ssize_t channel_write_buffers(channel *ch, buffer *const *srcs, size_t count)
{
    /* lab:begin gather "The client" errno = ENOSYS; return CHANNEL_ERROR; */
    enum { MAX_PARTS = 16 };
    struct iovec parts[MAX_PARTS];
    size_t used = 0;
    if (ch == NULL || srcs == NULL || count > MAX_PARTS) {
        errno = EINVAL;
        return CHANNEL_ERROR;
    }
    if (!can_transfer(ch, CHANNEL_PIPE_SOURCE))
        return CHANNEL_ERROR;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *bytes = buffer_const_array(srcs[i]);
        if (bytes == NULL) {
            errno = EINVAL;
            return CHANNEL_ERROR;
        }
        if (buffer_has_remaining(srcs[i])) {
            /* iovec wants a non-const pointer; sendmsg only reads it. */
            parts[used].iov_base =
                (void *)(uintptr_t)(bytes + buffer_position(srcs[i]));
            parts[used].iov_len = buffer_remaining(srcs[i]);
            used++;
        }
    }
    if (used == 0)
        return 0;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = parts;
    message.msg_iovlen = (int)used;
    ssize_t n;
    do
        n = sendmsg(ch->fd, &message, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : CHANNEL_ERROR;
    /* Advance each buffer by the part of `n` that came from it. */
    size_t left = (size_t)n;
    for (size_t i = 0; i < count && left > 0; i++) {
        size_t take = buffer_remaining(srcs[i]);
        if (take > left)
            take = left;
        buffer_set_position(srcs[i], buffer_position(srcs[i]) + take);
        left -= take;
    }
    return n;
    /* lab:end gather */
}

ssize_t channel_read_buffers(channel *ch, buffer *const *dsts, size_t count)
{
    enum { MAX_PARTS = 16 };
    struct iovec parts[MAX_PARTS];
    size_t used = 0;
    if (ch == NULL || dsts == NULL || count > MAX_PARTS) {
        errno = EINVAL;
        return CHANNEL_ERROR;
    }
    if (!can_transfer(ch, CHANNEL_PIPE_SINK))
        return CHANNEL_ERROR;
    for (size_t i = 0; i < count; i++) {
        uint8_t *room = buffer_array(dsts[i]);
        if (room == NULL) { /* NULL, or read-only */
            errno = EINVAL;
            return CHANNEL_ERROR;
        }
        if (buffer_has_remaining(dsts[i])) {
            parts[used].iov_base = room + buffer_position(dsts[i]);
            parts[used].iov_len = buffer_remaining(dsts[i]);
            used++;
        }
    }
    if (used == 0)
        return 0;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = parts;
    message.msg_iovlen = (int)used;
    ssize_t n;
    do
        n = recvmsg(ch->fd, &message, 0);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return CHANNEL_EOF;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : CHANNEL_ERROR;
    /* The kernel filled the parts in order: advance each by its share. */
    size_t left = (size_t)n;
    for (size_t i = 0; i < count && left > 0; i++) {
        size_t take = buffer_remaining(dsts[i]);
        if (take > left)
            take = left;
        buffer_set_position(dsts[i], buffer_position(dsts[i]) + take);
        left -= take;
    }
    return n;
}

/* --- options ------------------------------------------------------------ */

/* Which options each kind has, as Java's supportedOptions() says. */
static bool has_option(const channel *ch, channel_option option)
{
    switch (ch->kind) {
    case CHANNEL_SERVER:
        return option == CHANNEL_SO_RCVBUF || option == CHANNEL_SO_REUSEADDR;
    case CHANNEL_SOCKET:
        return option >= CHANNEL_SO_LINGER && option <= CHANNEL_TCP_NODELAY;
    case CHANNEL_PIPE_SOURCE:
    case CHANNEL_PIPE_SINK: return false;
    }
    return false;
}

static bool option_level(const channel *ch, channel_option option, int *level,
                         int *name)
{
    static const int names[] = {SO_LINGER,    SO_RCVBUF,    SO_SNDBUF,
                                SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY};
    if (ch == NULL || (unsigned)option > CHANNEL_TCP_NODELAY) {
        errno = EINVAL;
        return false;
    }
    if (ch->fd < 0) {
        errno = EBADF;
        return false;
    }
    if (!has_option(ch, option)) {
        errno = ENOPROTOOPT;
        return false;
    }
    *level = option == CHANNEL_TCP_NODELAY ? IPPROTO_TCP : SOL_SOCKET;
    *name = names[option];
    return true;
}

int channel_set_option(channel *ch, channel_option option, int value)
{
    int level, name;
    if (!option_level(ch, option, &level, &name))
        return -1;
    if (option == CHANNEL_SO_LINGER) {
        /* Java: negative turns lingering off; more than 65535 s is
         * capped there. */
        struct linger linger = {.l_onoff = value >= 0,
                                .l_linger = value < 0       ? 0
                                            : value > 65535 ? 65535
                                                            : value};
        return setsockopt(ch->fd, level, name, &linger, sizeof linger);
    }
    if ((option == CHANNEL_SO_RCVBUF || option == CHANNEL_SO_SNDBUF) &&
        value < 0) {
        errno = EINVAL;
        return -1;
    }
    if (option != CHANNEL_SO_RCVBUF && option != CHANNEL_SO_SNDBUF)
        value = value != 0;
    return setsockopt(ch->fd, level, name, &value, sizeof value);
}

int channel_get_option(const channel *ch, channel_option option, int *value)
{
    int level, name;
    if (value == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (!option_level(ch, option, &level, &name))
        return -1;
    if (option == CHANNEL_SO_LINGER) {
        struct linger linger;
        socklen_t length = sizeof linger;
        if (getsockopt(ch->fd, level, name, &linger, &length) < 0)
            return -1;
        *value = linger.l_onoff ? linger.l_linger : -1;
        return 0;
    }
    socklen_t length = sizeof *value;
    if (getsockopt(ch->fd, level, name, value, &length) < 0)
        return -1;
    if (option != CHANNEL_SO_RCVBUF && option != CHANNEL_SO_SNDBUF)
        *value = *value != 0;
    return 0;
}

/* --- modes and closing ------------------------------------------------ */

/* Called with the lock held. */
static bool has_valid_key(const channel *ch)
{
    for (const channel_key_link *link = ch->keys; link != NULL;
         link = link->next)
        if (link->valid)
            return true;
    return false;
}

int channel_configure_blocking(channel *ch, bool blocking)
{
    if (ch == NULL) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_t *lock = key_lock(ch);
    pthread_mutex_lock(lock);
    int rc = -1;
    int flags = ch->fd < 0 ? -1 : fcntl(ch->fd, F_GETFL);
    if (ch->fd < 0) {
        errno = EBADF;
    } else if (blocking && !ch->blocking && has_valid_key(ch)) {
        errno = EBUSY; /* Java's IllegalBlockingModeException */
    } else if (flags >= 0 && fcntl(ch->fd, F_SETFL,
                                   blocking ? flags & ~O_NONBLOCK
                                            : flags | O_NONBLOCK) == 0) {
        ch->blocking = blocking;
        rc = 0;
    }
    pthread_mutex_unlock(lock);
    return rc;
}

bool channel_is_blocking(const channel *ch)
{
    return ch != NULL && ch->blocking;
}

int channel_shutdown_output(channel *ch)
{
    if (ch == NULL) {
        errno = EINVAL;
        return -1;
    }
    return shutdown(ch->fd, SHUT_WR);
}

int channel_shutdown_input(channel *ch)
{
    if (ch == NULL) {
        errno = EINVAL;
        return -1;
    }
    return shutdown(ch->fd, SHUT_RD);
}

/* excerpt:begin close */
/* Java's implCloseSelectableChannel: every key is cancelled while the
 * descriptor is still open, so each selector stops watching it before
 * its number can come back for another socket. */
static void close_descriptor(channel *ch)
{
    pthread_mutex_t *lock = key_lock(ch);
    for (;;) {
        channel_key_link *key;
        channel_key_cancel_fn *cancel = NULL;
        pthread_mutex_lock(lock);
        for (key = ch->keys; key != NULL && !key->valid; key = key->next)
            continue;
        if (key != NULL)
            cancel = key->cancel;
        pthread_mutex_unlock(lock);
        if (key == NULL)
            break;
        cancel(key); /* calls channel_key_cancelled: unlocked here */
    }
    pthread_mutex_lock(lock);
    if (ch->fd >= 0) {
        /* Not retried on EINTR: on Linux the descriptor is gone either
         * way, and retrying could close one another thread just opened. */
        close(ch->fd);
        ch->fd = -1;
    }
    ch->connected = ch->connection_pending = false;
    pthread_mutex_unlock(lock);
}

void channel_close(channel *ch)
{
    if (ch == NULL)
        return;
    close_descriptor(ch);
    pthread_mutex_t *lock = key_lock(ch);
    pthread_mutex_lock(lock);
    ch->released = true;
    bool last = ch->keys == NULL; /* else the last key to go frees it */
    pthread_mutex_unlock(lock);
    if (last)
        free(ch);
}
/* excerpt:end close */

bool channel_is_open(const channel *ch)
{
    return ch != NULL && ch->fd >= 0;
}

channel_kind channel_get_kind(const channel *ch)
{
    return ch != NULL ? ch->kind : CHANNEL_SOCKET;
}

int channel_fd(const channel *ch)
{
    return ch != NULL ? ch->fd : -1;
}

static char *name_of(const channel *ch, bool local, char *out, size_t size)
{
    socket_address address;
    address.length = sizeof address.storage;
    int rc = -1;
    if (ch != NULL) {
        struct sockaddr *sa = (struct sockaddr *)&address.storage;
        rc = local ? getsockname(ch->fd, sa, &address.length)
                   : getpeername(ch->fd, sa, &address.length);
    }
    if (rc < 0) {
        if (size > 0)
            snprintf(out, size, "?");
        return out;
    }
    return socket_address_format(&address, out, size);
}

char *channel_local_address(const channel *ch, char *out, size_t size)
{
    return name_of(ch, true, out, size);
}

char *channel_remote_address(const channel *ch, char *out, size_t size)
{
    return name_of(ch, false, out, size);
}

uint16_t channel_local_port(const channel *ch)
{
    socket_address address;
    address.length = sizeof address.storage;
    if (ch == NULL || getsockname(ch->fd, (struct sockaddr *)&address.storage,
                                  &address.length) < 0)
        return 0;
    return socket_address_port(&address);
}

/* --- for the selector ------------------------------------------------- */

int channel_add_key(channel *ch, channel_key_link *link,
                    channel_key_cancel_fn *cancel)
{
    int rc = -1;
    pthread_mutex_t *lock = key_lock(ch);
    pthread_mutex_lock(lock);
    if (ch->fd < 0) {
        errno = EBADF;
    } else if (ch->blocking) {
        errno = EAGAIN;
    } else {
        *link = (channel_key_link){
            .next = ch->keys, .cancel = cancel, .valid = true};
        ch->keys = link;
        rc = 0;
    }
    pthread_mutex_unlock(lock);
    return rc;
}

void channel_key_cancelled(channel *ch, channel_key_link *link)
{
    pthread_mutex_t *lock = key_lock(ch);
    pthread_mutex_lock(lock);
    link->valid = false;
    pthread_mutex_unlock(lock);
}

void channel_remove_key(channel *ch, channel_key_link *link)
{
    pthread_mutex_t *lock = key_lock(ch);
    pthread_mutex_lock(lock);
    channel_key_link **at = &ch->keys;
    while (*at != NULL && *at != link)
        at = &(*at)->next;
    if (*at != NULL)
        *at = link->next;
    bool last = ch->released && ch->keys == NULL;
    pthread_mutex_unlock(lock);
    if (last)
        free(ch);
}

bool channel_is_registered(const channel *ch)
{
    if (ch == NULL)
        return false;
    pthread_mutex_t *lock = key_lock(ch);
    pthread_mutex_lock(lock);
    bool registered = ch->keys != NULL;
    pthread_mutex_unlock(lock);
    return registered;
}
