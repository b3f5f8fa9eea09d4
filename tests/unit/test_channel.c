/*
 * test_channel.c - the Channel's contract (chapters/02-blocking-echo):
 * addresses and port 0, accept and connect (blocking and not), Java's read
 * and write conventions, partial and gathering writes on a full socket,
 * half-close, EINTR retried, EPIPE instead of SIGPIPE, bad arguments.
 *
 * Everything runs on 127.0.0.1 in one process. Linux-only in one place:
 * to know that a thread is blocked in a system call before signalling it,
 * the test reads the thread's state from /proc (hence _GNU_SOURCE, for
 * gettid through syscall(2)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "02-blocking-echo/channel.h"
#include "tap.h"

/* The test's own signal handler counts; signals are what it is about.
 * Atomic (lock-free, so safe in a handler): it runs on another thread. */
static atomic_int interrupts;

static void on_usr1(int number)
{
    (void)number;
    atomic_fetch_add(&interrupts, 1);
}

static channel *listen_any(void)
{
    socket_address address;
    if (socket_address_resolve(&address, "127.0.0.1", 0) != 0)
        return NULL;
    return channel_open_server(&address, 16);
}

static int connect_address(channel *server, socket_address *out)
{
    return socket_address_resolve(out, "127.0.0.1", channel_local_port(server));
}

/* A connected pair: `client` from connect, `peer` from accept. */
static bool open_pair(channel *server, channel **client, channel **peer)
{
    socket_address address;
    if (connect_address(server, &address) != 0)
        return false;
    *client = channel_open_connected(&address);
    *peer = *client != NULL ? channel_accept(server) : NULL;
    return *client != NULL && *peer != NULL;
}

static buffer *text_buffer(const char *text)
{
    buffer *b = buffer_allocate(strlen(text));
    if (b != NULL) {
        buffer_put_bytes(b, text, strlen(text));
        buffer_flip(b);
    }
    return b;
}

/* Reads exactly n bytes (blocking channel) into a fresh string. */
static bool read_text(channel *ch, size_t n, char *out)
{
    buffer *b = buffer_allocate(n);
    while (b != NULL && buffer_has_remaining(b)) {
        if (channel_read(ch, b) <= 0)
            break;
    }
    bool ok = b != NULL && !buffer_has_remaining(b);
    if (ok) {
        memcpy(out, buffer_const_array(b), n);
        out[n] = '\0';
    }
    buffer_free(b);
    return ok;
}

static bool cloexec(const channel *ch)
{
    int flags = fcntl(channel_fd(ch), F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC) != 0;
}

/* --- a thread blocked in a call, and a way to know it is blocked ------- */

typedef struct blocked_call {
    channel *ch;
    buffer *into; /* for reads */
    pid_t tid;    /* set by the thread before it blocks */
    ssize_t read; /* the read's result */
    channel *got; /* the accept's result */
    int error;
    pthread_mutex_t lock;
} blocked_call;

static pid_t call_tid(blocked_call *c)
{
    pthread_mutex_lock(&c->lock);
    pid_t tid = c->tid;
    pthread_mutex_unlock(&c->lock);
    return tid;
}

static void announce_tid(blocked_call *c)
{
    pthread_mutex_lock(&c->lock);
    c->tid = (pid_t)syscall(SYS_gettid);
    pthread_mutex_unlock(&c->lock);
}

static void *blocked_read(void *arg)
{
    blocked_call *c = arg;
    announce_tid(c);
    c->read = channel_read(c->ch, c->into);
    c->error = errno;
    return NULL;
}

static void *blocked_accept(void *arg)
{
    blocked_call *c = arg;
    announce_tid(c);
    c->got = channel_accept(c->ch);
    c->error = errno;
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* Waits (at most 10 s) until the thread has said its id and sleeps in the
 * kernel: state 'S' in /proc/self/task/TID/stat. */
static bool wait_until_blocked(blocked_call *c)
{
    for (int i = 0; i < 2000; i++) {
        pid_t tid = call_tid(c);
        if (tid != 0) {
            char path[64], stat[256];
            snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
            FILE *f = fopen(path, "r");
            size_t n = f != NULL ? fread(stat, 1, sizeof stat - 1, f) : 0;
            if (f != NULL)
                fclose(f);
            stat[n] = '\0';
            const char *end = strrchr(stat, ')'); /* after "(name)" */
            if (end != NULL && end[1] == ' ' && end[2] == 'S')
                return true;
        }
        pause_ms(5);
    }
    return false;
}

/* --- the checks -------------------------------------------------------- */

static void addresses(tap *t)
{
    socket_address a;
    char text[SOCKET_ADDRESS_TEXT];
    TAP_OK(t, socket_address_resolve(&a, "127.0.0.1", 8000) == 0,
           "resolve a numeric IPv4 address");
    socket_address_format(&a, text, sizeof text);
    TAP_OK(t, strcmp(text, "127.0.0.1:8000") == 0, "IPv4 as text: %s", text);
    TAP_OK(t, socket_address_port(&a) == 8000, "its port");
    if (socket_address_resolve(&a, "::1", 8001) == 0) {
        socket_address_format(&a, text, sizeof text);
        TAP_OK(t, strcmp(text, "[::1]:8001") == 0, "IPv6 as text: %s", text);
        TAP_OK(t, socket_address_port(&a) == 8001, "IPv6 port");
    } else {
        TAP_OK(t, true, "# skip: no IPv6 resolver here");
    }
    int rc = socket_address_resolve(&a, "nosuch.invalid", 80);
    TAP_OK(t, rc != 0 && strlen(socket_address_error(rc)) > 0,
           "a name that does not resolve is an error with a message");
    TAP_OK(t, strcmp(channel_local_address(NULL, text, sizeof text), "?") == 0,
           "no channel: address '?'");
}

static void server_basics(tap *t)
{
    channel *server = listen_any();
    TAP_OK(t, server != NULL, "listen on 127.0.0.1 port 0");
    if (server == NULL)
        return;
    uint16_t port = channel_local_port(server);
    char text[SOCKET_ADDRESS_TEXT], want[SOCKET_ADDRESS_TEXT];
    snprintf(want, sizeof want, "127.0.0.1:%u", (unsigned)port);
    TAP_OK(t, port != 0, "port 0 picked a real port (%u)", (unsigned)port);
    channel_local_address(server, text, sizeof text);
    TAP_OK(t, strcmp(text, want) == 0, "its local address: %s", text);
    TAP_OK(t, channel_get_kind(server) == CHANNEL_SERVER, "kind SERVER");
    TAP_OK(t, cloexec(server), "the listener is close-on-exec");

    socket_address same;
    connect_address(server, &same);
    channel *twice = channel_open_server(&same, 4);
    TAP_OK(t, twice == NULL && errno == EADDRINUSE,
           "a second listener on the same port: EADDRINUSE");
    channel_close(twice);

    TAP_OK(t,
           channel_configure_blocking(server, false) == 0 &&
               !channel_is_blocking(server),
           "a listener can be made non-blocking");
    errno = 0;
    channel *nobody = channel_accept(server);
    TAP_OK(t, nobody == NULL && (errno == EAGAIN || errno == EWOULDBLOCK),
           "non-blocking accept with nobody waiting: NULL, EAGAIN");

    channel *client, *peer;
    TAP_OK(t, open_pair(server, &client, &peer),
           "connect, then accept on the non-blocking listener");
    TAP_OK(t,
           channel_is_blocking(peer) &&
               (fcntl(channel_fd(peer), F_GETFL) & O_NONBLOCK) == 0,
           "the accepted channel starts blocking, as in Java");
    TAP_OK(t, channel_get_kind(peer) == CHANNEL_SOCKET, "kind SOCKET");
    TAP_OK(t, cloexec(client) && cloexec(peer),
           "connected and accepted sockets are close-on-exec");
    char mine[SOCKET_ADDRESS_TEXT], theirs[SOCKET_ADDRESS_TEXT];
    channel_local_address(client, mine, sizeof mine);
    channel_remote_address(peer, theirs, sizeof theirs);
    TAP_OK(t, strcmp(mine, theirs) == 0 && strcmp(mine, "?") != 0,
           "the client's local address is the peer's remote one (%s)", mine);
    channel_remote_address(client, theirs, sizeof theirs);
    TAP_OK(t, strcmp(theirs, want) == 0, "the client's remote address: %s",
           theirs);
    TAP_OK(t, channel_accept(client) == NULL && errno == EINVAL,
           "accept on a socket channel: EINVAL");
    channel_close(client);
    channel_close(peer);
    channel_close(server);

    /* SO_REUSEADDR: the server side closes first, so its port sits in
     * TIME_WAIT; a new listener may still bind it. */
    server = channel_open_server(&same, 4);
    TAP_OK(t, server != NULL && open_pair(server, &client, &peer),
           "listen again on the same port once the first is closed");
    channel_close(peer);
    channel_close(client);
    channel_close(server);
    server = channel_open_server(&same, 4);
    TAP_OK(t, server != NULL, "and once more, with a TIME_WAIT left behind");
    channel_close(server);
}

static void read_write(tap *t)
{
    channel *server = listen_any(), *client, *peer;
    if (server == NULL || !open_pair(server, &client, &peer)) {
        TAP_OK(t, false, "a connected pair");
        channel_close(server);
        return;
    }
    buffer *out = text_buffer("hello");
    TAP_OK(t, channel_write(client, out) == 5, "write returns the count");
    TAP_OK(t, buffer_position(out) == 5 && !buffer_has_remaining(out),
           "write advances the position to the limit");
    TAP_OK(t, channel_write(client, out) == 0, "nothing left to write: 0");

    buffer *in = buffer_allocate(16);
    buffer_set_position(in, 3);
    ssize_t n = channel_read(peer, in);
    TAP_OK(t, n == 5 && buffer_position(in) == 8,
           "read puts bytes at the position and advances it (%zd)", n);
    TAP_OK(t, memcmp(buffer_const_array(in) + 3, "hello", 5) == 0,
           "the bytes read are the bytes written");
    buffer_set_limit(in, buffer_position(in));
    TAP_OK(t, channel_read(peer, in) == 0, "no room in the buffer: read 0");

    buffer *ro = buffer_as_read_only(in);
    buffer_clear(ro);
    TAP_OK(t, channel_read(peer, ro) == CHANNEL_ERROR && errno == EINVAL,
           "read into a read-only buffer: CHANNEL_ERROR, EINVAL");
    buffer_free(ro);
    TAP_OK(t, channel_read(NULL, in) == CHANNEL_ERROR && errno == EINVAL,
           "read from no channel: CHANNEL_ERROR, EINVAL");
    TAP_OK(t, channel_write(NULL, out) == CHANNEL_ERROR && errno == EINVAL,
           "write to no channel: CHANNEL_ERROR, EINVAL");

    TAP_OK(t,
           channel_configure_blocking(peer, false) == 0 &&
               !channel_is_blocking(peer) &&
               (fcntl(channel_fd(peer), F_GETFL) & O_NONBLOCK) != 0,
           "configure_blocking(false) sets O_NONBLOCK");
    buffer_clear(in);
    TAP_OK(t, channel_read(peer, in) == 0 && buffer_position(in) == 0,
           "non-blocking read with nothing there: 0, position unchanged");
    TAP_OK(t,
           channel_configure_blocking(peer, true) == 0 &&
               channel_is_blocking(peer),
           "and back to blocking");

    /* Half-close: the client says "no more", then still reads. */
    TAP_OK(t, channel_shutdown_output(client) == 0, "shutdown_output");
    buffer_clear(in);
    TAP_OK(t, channel_read(peer, in) == CHANNEL_EOF,
           "the peer reads CHANNEL_EOF (-1) after the half-close");
    TAP_OK(t, channel_read(peer, in) == CHANNEL_EOF, "and again");
    buffer *bye = text_buffer("bye");
    TAP_OK(t, channel_write(peer, bye) == 3,
           "the peer can still write after reading end of stream");
    char text[8];
    TAP_OK(t, read_text(client, 3, text) && strcmp(text, "bye") == 0,
           "the half-closed client still reads");
    channel_shutdown_output(peer);
    buffer_clear(in);
    TAP_OK(t, channel_read(client, in) == CHANNEL_EOF,
           "end of stream the other way too");

    buffer_free(bye);
    buffer_free(in);
    buffer_free(out);
    channel_close(client);
    channel_close(peer);
    channel_close(server);
}

static void full_socket(tap *t)
{
    channel *server = listen_any(), *client, *peer;
    if (server == NULL || !open_pair(server, &client, &peer)) {
        TAP_OK(t, false, "a connected pair");
        channel_close(server);
        return;
    }
    enum { BIG = 32 << 20 }; /* more than any socket buffers on loopback */
    buffer *big = buffer_allocate(BIG);
    channel_configure_blocking(client, false);
    ssize_t n = channel_write(client, big);
    TAP_OK(t, n > 0 && n < BIG,
           "a non-blocking write takes only part of a big buffer (%zd)", n);
    TAP_OK(t, buffer_position(big) == (size_t)n,
           "and advances the position by exactly that");
    ssize_t more = 1;
    for (int i = 0; i < 1000 && more > 0; i++)
        more = channel_write(client, big);
    size_t full_at = buffer_position(big);
    TAP_OK(t, more == 0, "with the socket buffers full, write returns 0");
    TAP_OK(t,
           channel_write(client, big) == 0 && buffer_position(big) == full_at,
           "and leaves the position where it was");

    /* A gathering write on the full socket: nothing, positions intact. */
    buffer *a = text_buffer("ab"), *b = text_buffer("cde");
    buffer *parts[] = {a, b};
    TAP_OK(t,
           channel_write_buffers(client, parts, 2) == 0 &&
               buffer_position(a) == 0 && buffer_position(b) == 0,
           "gathering write on a full socket: 0, positions unchanged");

    /* Drain a little; a gathering write then takes part of the parts. */
    buffer *sink = buffer_allocate(1 << 20);
    channel_configure_blocking(peer, false);
    size_t drained = 0;
    ssize_t got;
    do {
        buffer_clear(sink);
        got = channel_read(peer, sink);
        drained += got > 0 ? (size_t)got : 0;
    } while (got > 0 && drained < (4u << 20));
    buffer *first = buffer_allocate(1 << 20), *second = buffer_allocate(BIG);
    buffer *two[] = {first, second};
    struct pollfd room = {.fd = channel_fd(client), .events = POLLOUT};
    poll(&room, 1, 10000); /* the freed space shows once acknowledged */
    ssize_t g = channel_write_buffers(client, two, 2);
    TAP_OK(t, g > 0, "after draining, a gathering write sends (%zd)", g);
    TAP_OK(t, buffer_position(first) + buffer_position(second) == (size_t)g,
           "the positions advance by the total written");
    TAP_OK(t, buffer_position(second) == 0 || !buffer_has_remaining(first),
           "in order: the second starts only after the first is done");

    buffer_free(first);
    buffer_free(second);
    buffer_free(sink);
    buffer_free(a);
    buffer_free(b);
    buffer_free(big);
    channel_close(client);
    channel_close(peer);
    channel_close(server);
}

static void gathering(tap *t)
{
    channel *server = listen_any(), *client, *peer;
    if (server == NULL || !open_pair(server, &client, &peer)) {
        TAP_OK(t, false, "a connected pair");
        channel_close(server);
        return;
    }
    buffer *a = text_buffer("ab"), *empty = text_buffer(""),
           *b = text_buffer("cde"), *c = text_buffer("f");
    buffer *parts[] = {a, empty, b, c};
    TAP_OK(t, channel_write_buffers(client, parts, 4) == 6,
           "a gathering write sends every buffer's remaining bytes");
    TAP_OK(t,
           !buffer_has_remaining(a) && !buffer_has_remaining(b) &&
               !buffer_has_remaining(c),
           "and advances each buffer to its limit");
    char text[8];
    TAP_OK(t, read_text(peer, 6, text) && strcmp(text, "abcdef") == 0,
           "in order: %s", text);
    TAP_OK(t, channel_write_buffers(client, parts, 4) == 0,
           "nothing remaining: 0");
    buffer *many[17];
    for (int i = 0; i < 17; i++)
        many[i] = a;
    TAP_OK(t,
           channel_write_buffers(client, many, 17) == CHANNEL_ERROR &&
               errno == EINVAL,
           "more than 16 buffers: CHANNEL_ERROR, EINVAL");
    buffer_free(a);
    buffer_free(empty);
    buffer_free(b);
    buffer_free(c);
    channel_close(client);
    channel_close(peer);
    channel_close(server);
}

static void no_sigpipe(tap *t)
{
    /* SIGPIPE keeps its default action here: it would kill this test. */
    signal(SIGPIPE, SIG_DFL);
    channel *server = listen_any(), *client, *peer;
    if (server == NULL || !open_pair(server, &client, &peer)) {
        TAP_OK(t, false, "a connected pair");
        channel_close(server);
        return;
    }
    channel_close(peer);
    buffer *out = buffer_allocate(1024);
    ssize_t n = 0;
    for (int i = 0; i < 100 && n != CHANNEL_ERROR; i++) {
        buffer_clear(out);
        n = channel_write(client, out);
    }
    TAP_OK(t, n == CHANNEL_ERROR && (errno == EPIPE || errno == ECONNRESET),
           "writing to a closed peer: CHANNEL_ERROR with EPIPE, no SIGPIPE");
    buffer_clear(out);
    buffer *parts[] = {out};
    TAP_OK(t,
           channel_write_buffers(client, parts, 1) == CHANNEL_ERROR &&
               errno == EPIPE,
           "the gathering write too");
    buffer_free(out);
    channel_close(client);
    channel_close(server);
}

static void connecting(tap *t)
{
    channel *server = listen_any();
    socket_address address;
    if (server == NULL || connect_address(server, &address) != 0) {
        TAP_OK(t, false, "a listener");
        channel_close(server);
        return;
    }
    channel *ch = channel_open_socket(&address);
    channel_configure_blocking(ch, false);
    int rc = channel_connect(ch, &address);
    TAP_OK(t, rc == 0 || rc == 1,
           "a non-blocking connect: done (1) or in progress (0): %d", rc);
    TAP_OK(t, channel_is_connection_pending(ch) == (rc == 0),
           "pending exactly when in progress");
    struct pollfd p = {.fd = channel_fd(ch), .events = POLLOUT};
    poll(&p, 1, 10000);
    TAP_OK(t,
           channel_finish_connect(ch) == 1 &&
               !channel_is_connection_pending(ch),
           "finish_connect: connected");
    channel *peer = channel_accept(server);
    TAP_OK(t, peer != NULL, "and the server accepts it");
    channel_close(peer);
    channel_close(ch);
    channel_close(server);

    /* The port is closed now: nobody listens there. */
    errno = 0;
    ch = channel_open_connected(&address);
    TAP_OK(t, ch == NULL && errno == ECONNREFUSED,
           "blocking connect to a closed port: NULL, ECONNREFUSED");
    ch = channel_open_socket(&address);
    channel_configure_blocking(ch, false);
    rc = channel_connect(ch, &address);
    if (rc == 0) {
        p.fd = channel_fd(ch);
        poll(&p, 1, 10000);
        rc = channel_finish_connect(ch);
    }
    TAP_OK(t, rc == -1 && errno == ECONNREFUSED,
           "non-blocking connect to a closed port fails with ECONNREFUSED");
    channel_close(ch);
    channel_close(NULL);
    TAP_OK(t, true, "channel_close(NULL) does nothing");
}

static void interrupted(tap *t)
{
    /* No SA_RESTART: the kernel returns EINTR, the Channel must retry. */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);

    channel *server = listen_any(), *client, *peer;
    if (server == NULL || !open_pair(server, &client, &peer)) {
        TAP_OK(t, false, "a connected pair");
        channel_close(server);
        return;
    }
    blocked_call c = {.ch = peer, .into = buffer_allocate(16)};
    pthread_mutex_init(&c.lock, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, blocked_read, &c);
    TAP_OK(t, wait_until_blocked(&c), "a thread blocks in channel_read");
    atomic_store(&interrupts, 0);
    pthread_kill(thread, SIGUSR1);
    for (int i = 0; i < 2000 && atomic_load(&interrupts) == 0; i++)
        pause_ms(5);
    TAP_OK(t, atomic_load(&interrupts) == 1, "a signal interrupts it");
    TAP_OK(t, wait_until_blocked(&c), "and it blocks again (EINTR retried)");
    buffer *out = text_buffer("later");
    channel_write(client, out);
    pthread_join(thread, NULL);
    TAP_OK(t, c.read == 5, "the read then returns the data (%zd)", c.read);

    /* The same for accept. */
    blocked_call a = {.ch = server};
    pthread_mutex_init(&a.lock, NULL);
    pthread_create(&thread, NULL, blocked_accept, &a);
    TAP_OK(t, wait_until_blocked(&a), "a thread blocks in channel_accept");
    atomic_store(&interrupts, 0);
    pthread_kill(thread, SIGUSR1);
    for (int i = 0; i < 2000 && atomic_load(&interrupts) == 0; i++)
        pause_ms(5);
    TAP_OK(t, wait_until_blocked(&a), "a signal does not end the accept");
    channel *late, *late_peer;
    socket_address address;
    connect_address(server, &address);
    late = channel_open_connected(&address);
    pthread_join(thread, NULL);
    late_peer = a.got;
    TAP_OK(t, late_peer != NULL, "it accepts the next client");

    /* Shutting the input down from another thread ends a blocked read. */
    blocked_call s = {.ch = peer, .into = buffer_allocate(16)};
    pthread_mutex_init(&s.lock, NULL);
    pthread_create(&thread, NULL, blocked_read, &s);
    TAP_OK(t, wait_until_blocked(&s), "a thread blocks in channel_read");
    TAP_OK(t, channel_shutdown_input(peer) == 0, "shutdown_input");
    pthread_join(thread, NULL);
    TAP_OK(t, s.read == CHANNEL_EOF,
           "the blocked read returns CHANNEL_EOF (%zd)", s.read);
    buffer_clear(s.into);
    TAP_OK(t, channel_read(peer, s.into) == CHANNEL_EOF,
           "and so does every read after it");
    TAP_OK(t, channel_shutdown_input(NULL) < 0 && errno == EINVAL,
           "shutdown_input(NULL): EINVAL");

    pthread_mutex_destroy(&c.lock);
    pthread_mutex_destroy(&a.lock);
    pthread_mutex_destroy(&s.lock);
    buffer_free(c.into);
    buffer_free(s.into);
    buffer_free(out);
    channel_close(late);
    channel_close(late_peer);
    channel_close(client);
    channel_close(peer);
    channel_close(server);
}

/* channel_listen: what every server does first, and its one-line reasons. */
static void listening(tap *t)
{
    char error[CHANNEL_ERROR_TEXT] = "";
    channel *server = channel_listen("127.0.0.1", 0, 4, error, sizeof error);
    TAP_OK(t, server != NULL, "channel_listen on 127.0.0.1 port 0");
    if (server == NULL)
        return;
    uint16_t port = channel_local_port(server);
    TAP_OK(t, port != 0, "it picked a port (%u)", (unsigned)port);

    char want[CHANNEL_ERROR_TEXT];
    snprintf(want, sizeof want,
             "cannot listen on 127.0.0.1:%u: ", (unsigned)port);
    channel *twice = channel_listen("127.0.0.1", port, 4, error, sizeof error);
    TAP_OK(t,
           twice == NULL && errno == EADDRINUSE &&
               strncmp(error, want, strlen(want)) == 0,
           "the same port again: NULL, EADDRINUSE, '%s'", error);
    channel_close(twice);
    channel_close(server);

    const char *unresolved = "cannot resolve 'nosuch.invalid': ";
    server = channel_listen("nosuch.invalid", 0, 4, error, sizeof error);
    TAP_OK(t,
           server == NULL &&
               strncmp(error, unresolved, strlen(unresolved)) == 0,
           "a name that does not resolve: '%s'", error);
    channel_close(server);
}

/* Java's isOpen, isConnected, and finishConnect with nothing pending. */
static void java_state(tap *t)
{
    channel *server = listen_any(), *client, *peer;
    socket_address address;
    if (server == NULL || connect_address(server, &address) != 0) {
        TAP_OK(t, false, "a listener");
        channel_close(server);
        return;
    }
    channel *fresh = channel_open_socket(&address);
    errno = 0;
    TAP_OK(t,
           channel_is_open(fresh) && !channel_is_connected(fresh) &&
               channel_finish_connect(fresh) == -1 && errno == ENOTCONN,
           "finish_connect with no connect pending: -1, ENOTCONN "
           "(NoConnectionPendingException)");
    TAP_OK(t, channel_is_open(fresh), "and the channel stays open");
    channel_close(fresh);
    TAP_OK(t,
           open_pair(server, &client, &peer) && channel_is_connected(client) &&
               channel_is_connected(peer),
           "connected and accepted channels are connected");
    TAP_OK(t, channel_finish_connect(client) == 1,
           "finish_connect on a connected channel: 1");
    channel_shutdown_output(client);
    TAP_OK(t, channel_is_connected(client),
           "still connected after a half-close, as in Java");
    TAP_OK(t, !channel_is_connected(server) && channel_is_open(server),
           "a listener is open, not connected");
    channel_close(client);
    channel_close(peer);

    /* A refused non-blocking connect closes the channel, as Java does. */
    channel_close(server);
    channel *ch = channel_open_socket(&address);
    channel_configure_blocking(ch, false);
    int rc = channel_connect(ch, &address);
    if (rc == 0) {
        struct pollfd p = {.fd = channel_fd(ch), .events = POLLOUT};
        poll(&p, 1, 10000);
        rc = channel_finish_connect(ch);
        TAP_OK(t, rc == -1 && errno == ECONNREFUSED,
               "a refused connect: -1, ECONNREFUSED");
        TAP_OK(t,
               !channel_is_open(ch) && channel_fd(ch) == -1 &&
                   !channel_is_connection_pending(ch) &&
                   !channel_is_connected(ch),
               "and the channel is closed (its descriptor too)");
        buffer *b = buffer_allocate(4);
        errno = 0;
        TAP_OK(t,
               channel_read(ch, b) == CHANNEL_ERROR && errno == EBADF &&
                   channel_finish_connect(ch) == -1 && errno == EBADF,
               "read and finish_connect on it: EBADF (ClosedChannelException)");
        buffer_free(b);
    } else {
        TAP_OK(t, rc == -1 && errno == ECONNREFUSED,
               "# refused at once here; nothing to finish");
    }
    channel_close(ch);

    /* Refused at once: the limited broadcast address has no route for a
     * TCP connection. */
    socket_address broadcast;
    socket_address_resolve(&broadcast, "255.255.255.255", 80);
    ch = channel_open_socket(&broadcast);
    channel_configure_blocking(ch, false);
    errno = 0;
    rc = channel_connect(ch, &broadcast);
    if (rc == -1) {
        TAP_OK(t, !channel_is_open(ch),
               "a connect refused at once (%s) closes the channel too",
               strerror(errno));
    } else {
        printf("ok %d - # SKIP a connect to 255.255.255.255 did not fail "
               "at once here\n",
               ++t->run);
    }
    channel_close(ch);
    /* The caller's mistake is not the network's: an IPv4 socket asked to
     * reach an IPv6 address stays open. */
    socket_address six;
    ch = channel_open_socket(&address);
    if (socket_address_resolve(&six, "::1", 80) == 0) {
        errno = 0;
        rc = channel_connect(ch, &six);
        TAP_OK(t, rc == -1 && channel_is_open(ch),
               "connect to another family's address: -1 (%s), still open",
               strerror(errno));
    }
    channel_close(ch);
}

static void scattering(tap *t)
{
    channel *server = listen_any(), *client, *peer;
    if (server == NULL || !open_pair(server, &client, &peer)) {
        TAP_OK(t, false, "a connected pair");
        channel_close(server);
        return;
    }
    const char text[] = "headbody!";
    TAP_OK(t, write(channel_fd(client), text, 9) == 9, "9 bytes sent");
    buffer *head = buffer_allocate(4), *body = buffer_allocate(16);
    buffer_set_limit(body, 5);
    buffer *parts[] = {head, body};
    ssize_t n = channel_read_buffers(peer, parts, 2);
    TAP_OK(t,
           n == 9 && buffer_position(head) == 4 && buffer_position(body) == 5 &&
               memcmp(buffer_const_array(head), "head", 4) == 0 &&
               memcmp(buffer_const_array(body), "body!", 5) == 0,
           "a scattering read fills each buffer's room in order (%zd)", n);
    TAP_OK(t, channel_read_buffers(peer, parts, 2) == 0,
           "no room left in any buffer: 0");
    buffer *ro = buffer_as_read_only(body);
    buffer_clear(ro);
    buffer *bad[] = {head, ro};
    buffer_clear(head);
    TAP_OK(
        t,
        channel_read_buffers(peer, bad, 2) == CHANNEL_ERROR &&
            errno == EINVAL && buffer_position(head) == 0,
        "a read-only buffer among them: CHANNEL_ERROR, EINVAL, nothing read");
    channel_shutdown_output(client);
    TAP_OK(t, channel_read_buffers(peer, parts, 1) == CHANNEL_EOF,
           "end of stream: CHANNEL_EOF");
    buffer_free(ro);
    buffer_free(head);
    buffer_free(body);
    channel_close(client);
    channel_close(peer);
    channel_close(server);
}

static void options(tap *t)
{
    channel *server = listen_any(), *client, *peer;
    if (server == NULL || !open_pair(server, &client, &peer)) {
        TAP_OK(t, false, "a connected pair");
        channel_close(server);
        return;
    }
    int value = 7;
    TAP_OK(t,
           channel_get_option(client, CHANNEL_SO_LINGER, &value) == 0 &&
               value == -1,
           "SO_LINGER starts off: -1");
    TAP_OK(t,
           channel_set_option(client, CHANNEL_SO_LINGER, 0) == 0 &&
               channel_get_option(client, CHANNEL_SO_LINGER, &value) == 0 &&
               value == 0,
           "SO_LINGER 0 (close sends a reset)");
    TAP_OK(t,
           channel_set_option(client, CHANNEL_SO_LINGER, -5) == 0 &&
               channel_get_option(client, CHANNEL_SO_LINGER, &value) == 0 &&
               value == -1,
           "a negative SO_LINGER turns it off again");
    TAP_OK(t,
           channel_set_option(client, CHANNEL_TCP_NODELAY, 1) == 0 &&
               channel_get_option(client, CHANNEL_TCP_NODELAY, &value) == 0 &&
               value == 1,
           "TCP_NODELAY on");
    TAP_OK(t,
           channel_set_option(client, CHANNEL_SO_RCVBUF, 8192) == 0 &&
               channel_get_option(client, CHANNEL_SO_RCVBUF, &value) == 0 &&
               value >= 8192,
           "SO_RCVBUF 8192 (the kernel may round it up: %d)", value);
    errno = 0;
    TAP_OK(t,
           channel_set_option(client, CHANNEL_SO_RCVBUF, -1) == -1 &&
               errno == EINVAL,
           "a negative SO_RCVBUF: EINVAL (IllegalArgumentException)");
    errno = 0;
    TAP_OK(t,
           channel_set_option(server, CHANNEL_TCP_NODELAY, 1) == -1 &&
               errno == ENOPROTOOPT &&
               channel_set_option(server, CHANNEL_SO_LINGER, 1) == -1,
           "TCP_NODELAY and SO_LINGER on a listener: ENOPROTOOPT");
    TAP_OK(t,
           channel_set_option(server, CHANNEL_SO_RCVBUF, 16384) == 0 &&
               channel_get_option(server, CHANNEL_SO_REUSEADDR, &value) == 0 &&
               value == 1,
           "a listener has SO_RCVBUF, and SO_REUSEADDR on");
    TAP_OK(t,
           channel_set_option(client, (channel_option)99, 1) == -1 &&
               errno == EINVAL &&
               channel_get_option(client, CHANNEL_SO_LINGER, NULL) == -1,
           "an unknown option, or nowhere to put the value: EINVAL");
    channel_close(client);
    channel_close(peer);
    channel_close(server);
}

static void pipes(tap *t)
{
    channel *source = NULL, *sink = NULL;
    TAP_OK(t, channel_open_pipe(&source, &sink) == 0, "a pipe opens");
    if (source == NULL || sink == NULL)
        return;
    TAP_OK(t,
           channel_get_kind(source) == CHANNEL_PIPE_SOURCE &&
               channel_get_kind(sink) == CHANNEL_PIPE_SINK,
           "its ends are a source and a sink");
    buffer *out = buffer_allocate(8), *in = buffer_allocate(8);
    buffer_put_bytes(out, "ping", 4);
    buffer_flip(out);
    TAP_OK(t,
           channel_write(sink, out) == 4 && channel_read(source, in) == 4 &&
               memcmp(buffer_const_array(in), "ping", 4) == 0,
           "bytes written to the sink are read from the source");
    buffer_clear(in);
    buffer_rewind(out);
    errno = 0;
    TAP_OK(t,
           channel_read(sink, in) == CHANNEL_ERROR && errno == EBADF &&
               channel_write(source, out) == CHANNEL_ERROR && errno == EBADF,
           "the wrong end: EBADF (NonReadable/NonWritableChannelException)");
    TAP_OK(t, cloexec(source) && cloexec(sink), "both ends are close-on-exec");
    channel_close(source);
    errno = 0;
    TAP_OK(t, channel_write(sink, out) == CHANNEL_ERROR && errno == EPIPE,
           "the source gone: EPIPE, not SIGPIPE");
    buffer_free(out);
    buffer_free(in);
    channel_close(sink);
}

int main(void)
{
    tap t = {0};
    addresses(&t);
    server_basics(&t);
    listening(&t);
    read_write(&t);
    gathering(&t);
    full_socket(&t);
    no_sigpipe(&t);
    connecting(&t);
    interrupted(&t);
    java_state(&t);
    scattering(&t);
    options(&t);
    pipes(&t);
    return tap_done(&t);
}
