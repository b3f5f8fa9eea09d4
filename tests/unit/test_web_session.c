/*
 * test_web_session.c - the web session's contract, checked over a real
 * loopback TCP connection: the session owns the server's end, the test
 * plays the client on the other end with plain send/recv.
 *
 * (A socketpair would do as well, but a channel can only come from
 * chapter 2's constructors, and TCP is what the server really runs on.)
 *
 * The test drives the session the way an event loop would: it polls the
 * session's descriptor for the interest ops the session asks for and calls
 * on_readable / on_writable when poll says so. Every wait is bounded; an
 * alarm ends the program if something still hangs.
 */
#include "tap.h"
#include "04-web-server-client/web_session.h"
#include "03-selector/selector.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long one wait may take before the check that needed it fails. */
#define WAIT_MS 5000

static const char REPLY[] = "received\n";
#define REPLY_LENGTH (sizeof REPLY - 1)

/* One connection: the session on the server's end, `peer` the client's. */
typedef struct pair {
    web_session *session;
    int peer;
} pair;

/* Opens a listener on 127.0.0.1:0, connects to it and accepts. The peer's
 * receive buffer can be made small (before connect, so that the window is
 * small from the start); 0 keeps the default. */
static bool pair_open(pair *p, size_t buffer_size, int peer_rcvbuf)
{
    socket_address address;
    if (socket_address_resolve(&address, "127.0.0.1", 0) != 0)
        return false;
    channel *server = channel_open_server(&address, 4);
    if (server == NULL)
        return false;
    if (socket_address_resolve(&address, "127.0.0.1",
                               channel_local_port(server)) != 0) {
        channel_close(server);
        return false;
    }
    channel *client = channel_open_socket(&address);
    if (client != NULL && peer_rcvbuf > 0)
        setsockopt(channel_fd(client), SOL_SOCKET, SO_RCVBUF, &peer_rcvbuf,
                   sizeof peer_rcvbuf);
    if (client == NULL || channel_connect(client, &address) != 1) {
        channel_close(client);
        channel_close(server);
        return false;
    }
    channel *accepted = channel_accept(server);
    channel_close(server);
    if (accepted == NULL || channel_configure_blocking(accepted, false) < 0) {
        channel_close(accepted);
        channel_close(client);
        return false;
    }
    /* The test keeps the client's descriptor and frees its wrapper. */
    p->peer = dup(channel_fd(client));
    channel_close(client);
    p->session = web_session_new(accepted, buffer_size);
    if (p->session == NULL || p->peer < 0) {
        web_session_free(p->session);
        if (p->peer >= 0)
            close(p->peer);
        return false;
    }
    int one = 1;
    setsockopt(p->peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
}

static void pair_close(pair *p)
{
    web_session_free(p->session);
    if (p->peer >= 0)
        close(p->peer);
}

static bool send_all(int fd, const char *text, size_t length)
{
    while (length > 0) {
        ssize_t n = send(fd, text, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        text += n;
        length -= (size_t)n;
    }
    return true;
}

static bool send_text(int fd, const char *text)
{
    return send_all(fd, text, strlen(text));
}

/* One turn of an event loop: waits (bounded) until the session's channel
 * is ready for what the session is interested in, then calls it. Sets
 * *progress to false when nothing became ready in time. */
static web_session_state turn(web_session *s, int wait_ms, bool *progress)
{
    int ops = web_session_interest_ops(s);
    struct pollfd p = {.fd = channel_fd(web_session_channel(s)),
                       .events = (short)(((ops & OP_READ) ? POLLIN : 0) |
                                         ((ops & OP_WRITE) ? POLLOUT : 0))};
    int rc;
    do
        rc = poll(&p, 1, wait_ms);
    while (rc < 0 && errno == EINTR);
    if (progress != NULL)
        *progress = rc > 0;
    if (rc <= 0)
        return WEB_SESSION_OPEN;
    web_session_state state = WEB_SESSION_OPEN;
    short trouble = POLLERR | POLLHUP;
    if ((ops & OP_READ) && (p.revents & (POLLIN | trouble)))
        state = web_session_on_readable(s);
    if (state == WEB_SESSION_OPEN && (ops & OP_WRITE) &&
        (p.revents & (POLLOUT | trouble)))
        state = web_session_on_writable(s);
    return state;
}

/* Turns until the session has answered `messages` lines in all and has
 * nothing left to send, or leaves the open state. */
static web_session_state run_until_answered(web_session *s, uint64_t messages)
{
    web_session_state state = WEB_SESSION_OPEN;
    bool progress = true;
    while (state == WEB_SESSION_OPEN && progress &&
           (web_session_messages(s) < messages ||
            (web_session_interest_ops(s) & OP_WRITE)))
        state = turn(s, WAIT_MS, &progress);
    return state;
}

/* Reads exactly `length` bytes from the peer, waiting at most WAIT_MS for
 * each part. Returns the number of bytes read. */
static size_t recv_exactly(int fd, char *out, size_t length)
{
    size_t got = 0;
    while (got < length) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, WAIT_MS) <= 0)
            break;
        ssize_t n = recv(fd, out + got, length - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* True when `text` is `count` replies one after another. */
static bool all_replies(const char *text, size_t length, size_t count)
{
    if (length != count * REPLY_LENGTH)
        return false;
    for (size_t i = 0; i < count; i++) {
        if (memcmp(text + i * REPLY_LENGTH, REPLY, REPLY_LENGTH) != 0)
            return false;
    }
    return true;
}

/* True when the peer sees end of stream within WAIT_MS. */
static bool peer_sees_eof(int fd)
{
    char byte;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, WAIT_MS) <= 0)
        return false;
    return recv(fd, &byte, 1, 0) == 0;
}

static void test_fresh_session(tap *t)
{
    pair p;
    if (!pair_open(&p, 4096, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    TAP_OK(t, web_session_interest_ops(p.session) == OP_READ,
           "a new session is interested in OP_READ only");
    TAP_OK(t, web_session_messages(p.session) == 0, "it has answered nothing");
    TAP_OK(t, web_session_channel(p.session) != NULL, "it owns its channel");
    pair_close(&p);
}

static void test_split_line(tap *t)
{
    pair p;
    char reply[64];
    if (!pair_open(&p, 4096, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    web_session *s = p.session;
    bool progress;
    send_text(p.peer, "hel");
    web_session_state state = turn(s, WAIT_MS, &progress);
    TAP_OK(t,
           progress && state == WEB_SESSION_OPEN &&
               web_session_messages(s) == 0,
           "half a line is read but not answered");
    TAP_OK(t, web_session_interest_ops(s) == OP_READ,
           "with nothing to send, the session only reads");
    send_text(p.peer, "lo\n");
    state = turn(s, WAIT_MS, &progress);
    TAP_OK(t, state == WEB_SESSION_OPEN && web_session_messages(s) == 1,
           "the rest of the line completes one message");
    TAP_OK(t, web_session_interest_ops(s) == (OP_READ | OP_WRITE),
           "a pending reply adds OP_WRITE");
    state = run_until_answered(s, 1);
    TAP_OK(t, web_session_interest_ops(s) == OP_READ,
           "once the reply is sent the session is back to OP_READ");
    size_t got = recv_exactly(p.peer, reply, REPLY_LENGTH);
    TAP_OK(t, all_replies(reply, got, 1), "the peer gets one 'received\\n'");
    /* One byte per send: every split there is. */
    const char *line = "hello again\n";
    for (size_t i = 0; line[i] != '\0'; i++) {
        send_all(p.peer, line + i, 1);
        turn(s, WAIT_MS, NULL);
    }
    state = run_until_answered(s, 2);
    got = recv_exactly(p.peer, reply, REPLY_LENGTH);
    TAP_OK(t,
           state == WEB_SESSION_OPEN && web_session_messages(s) == 2 &&
               all_replies(reply, got, 1),
           "a line sent one byte per write is one message");
    pair_close(&p);
}

static void test_merged_lines(tap *t)
{
    pair p;
    char reply[256];
    if (!pair_open(&p, 4096, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    web_session *s = p.session;
    send_text(p.peer, "hello\nhello\nhello\nhel");
    web_session_state state = turn(s, WAIT_MS, NULL);
    TAP_OK(t, state == WEB_SESSION_OPEN && web_session_messages(s) == 3,
           "three lines in one write are three messages");
    state = run_until_answered(s, 3);
    size_t got = recv_exactly(p.peer, reply, 3 * REPLY_LENGTH);
    TAP_OK(t, all_replies(reply, got, 3), "and get three replies");
    send_text(p.peer, "lo\n");
    state = run_until_answered(s, 4);
    got = recv_exactly(p.peer, reply, REPLY_LENGTH);
    TAP_OK(t,
           state == WEB_SESSION_OPEN && web_session_messages(s) == 4 &&
               all_replies(reply, got, 1),
           "the unfinished fourth line is kept and completed later");
    pair_close(&p);
}

static void test_crlf(tap *t)
{
    pair p;
    char reply[256];
    if (!pair_open(&p, 4096, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    web_session *s = p.session;
    send_text(p.peer, "hello\r\nhi\r\n\r\n");
    run_until_answered(s, 3);
    TAP_OK(t, web_session_messages(s) == 3,
           "CRLF ends a line like LF (an empty line counts too)");
    size_t got = recv_exactly(p.peer, reply, 3 * REPLY_LENGTH);
    TAP_OK(t, all_replies(reply, got, 3), "three replies for three lines");
    send_text(p.peer, "hello\r");
    turn(s, WAIT_MS, NULL);
    TAP_OK(t, web_session_messages(s) == 3,
           "a '\\r' alone does not end a line");
    send_text(p.peer, "\n");
    run_until_answered(s, 4);
    TAP_OK(t, web_session_messages(s) == 4, "the '\\n' after it does");
    pair_close(&p);
}

static void test_eof_after_replies(tap *t)
{
    pair p;
    char reply[256];
    if (!pair_open(&p, 4096, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    web_session *s = p.session;
    send_text(p.peer, "one\ntwo\nunfinished");
    shutdown(p.peer, SHUT_WR);
    web_session_state state = WEB_SESSION_OPEN;
    bool progress = true;
    int turns = 0;
    while (state == WEB_SESSION_OPEN && progress && turns++ < 100)
        state = turn(s, WAIT_MS, &progress);
    TAP_OK(t, state == WEB_SESSION_FINISHED,
           "end of stream with replies owed ends as FINISHED");
    TAP_OK(t, web_session_messages(s) == 2,
           "both complete lines were answered, the unfinished one dropped");
    TAP_OK(t, web_session_interest_ops(s) == 0,
           "a finished session is interested in nothing");
    size_t got = recv_exactly(p.peer, reply, 2 * REPLY_LENGTH);
    TAP_OK(t, all_replies(reply, got, 2),
           "the peer got both replies before the end");
    web_session_free(p.session);
    p.session = NULL;
    TAP_OK(t, peer_sees_eof(p.peer), "freeing the session closes the channel");
    close(p.peer);
}

static void test_eof_at_once(tap *t)
{
    pair p;
    if (!pair_open(&p, 4096, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    shutdown(p.peer, SHUT_WR);
    web_session_state state = turn(p.session, WAIT_MS, NULL);
    TAP_OK(t, state == WEB_SESSION_FINISHED,
           "end of stream with nothing owed is FINISHED at once");
    pair_close(&p);
}

static void test_long_line(tap *t)
{
    pair p;
    if (!pair_open(&p, 16, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    web_session *s = p.session;
    send_text(p.peer, "fifteen bytes!\n"); /* 14 + '\n' = 15 < 16 fits */
    run_until_answered(s, 1);
    TAP_OK(t, web_session_messages(s) == 1,
           "a line that fits the 16-byte input buffer is answered");
    send_text(p.peer, "this line is longer than sixteen bytes\n");
    web_session_state state = WEB_SESSION_OPEN;
    bool progress = true;
    int turns = 0;
    while (state == WEB_SESSION_OPEN && progress && turns++ < 100)
        state = turn(s, WAIT_MS, &progress);
    TAP_OK(t, state == WEB_SESSION_FAILED,
           "a line longer than the input buffer is FAILED (bad input)");
    TAP_OK(t, web_session_messages(s) == 1, "and is not answered");
    TAP_OK(t, web_session_interest_ops(s) == 0,
           "a failed session is interested in nothing");
    TAP_OK(t,
           web_session_on_readable(s) == WEB_SESSION_FAILED &&
               web_session_on_writable(s) == WEB_SESSION_FAILED,
           "and stays FAILED");
    pair_close(&p);
}

static void test_reset(tap *t)
{
    pair p;
    if (!pair_open(&p, 4096, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    struct linger abort_close = {.l_onoff = 1, .l_linger = 0};
    setsockopt(p.peer, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
    close(p.peer); /* with linger 0: a reset, not an orderly end */
    p.peer = -1;
    web_session_state state = turn(p.session, WAIT_MS, NULL);
    TAP_OK(t, state == WEB_SESSION_FAILED, "a reset by the peer is FAILED");
    pair_close(&p);
}

/* The peer sends and never reads. The session's replies fill the peer's
 * receive buffer, then its own send buffer, then its output buffer: from
 * then on it must stop reading (interest without OP_READ), and the lines
 * keep waiting in the kernel. Once the peer reads, every reply arrives. */
static void test_backpressure(tap *t)
{
    pair p;
    if (!pair_open(&p, 256, 4096)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    web_session *s = p.session;
    int small = 4096;
    setsockopt(channel_fd(web_session_channel(s)), SOL_SOCKET, SO_SNDBUF,
               &small, sizeof small);
    fcntl(p.peer, F_SETFL, fcntl(p.peer, F_GETFL) | O_NONBLOCK);

    static const char LINE[] = "hello\n";
    const size_t line_length = sizeof LINE - 1;
    size_t lines_sent = 0, partial = 0; /* bytes of a line not yet sent */
    bool blocked = false;
    web_session_state state = WEB_SESSION_OPEN;
    /* Bounded: 200,000 lines is far more than the buffers on the way hold. */
    while (state == WEB_SESSION_OPEN && lines_sent < 200000 && !blocked) {
        /* The peer pushes a few lines per turn, as the kernel takes them. */
        for (int burst = 0; burst < 64; burst++) {
            ssize_t n = send(p.peer, LINE + partial, line_length - partial,
                             MSG_NOSIGNAL);
            if (n < 0)
                break;
            partial += (size_t)n;
            if (partial == line_length) {
                partial = 0;
                lines_sent++;
            }
        }
        bool progress;
        state = turn(s, 200, &progress);
        /* Stuck: output full, the session no longer reads. */
        blocked = !progress && web_session_interest_ops(s) == OP_WRITE;
    }
    TAP_OK(t, state == WEB_SESSION_OPEN && blocked,
           "the session stops reading once its output is full "
           "(%zu lines sent, %llu answered so far)",
           lines_sent, (unsigned long long)web_session_messages(s));
    TAP_OK(t, !(web_session_interest_ops(s) & OP_READ),
           "its interest ops have dropped OP_READ");
    TAP_OK(t, web_session_messages(s) < lines_sent,
           "and lines are left unanswered in the kernel");

    /* A line the kernel took only part of is never complete: it gets no
     * reply. Now the peer reads while the session catches up. */
    size_t expected = lines_sent, received = 0, matched = 0;
    char chunk[4096];
    int idle_turns = 0; /* 10 ms each, bounded by WAIT_MS */
    while (state == WEB_SESSION_OPEN && received < expected * REPLY_LENGTH &&
           idle_turns < WAIT_MS / 10) {
        bool progress;
        state = turn(s, 10, &progress);
        ssize_t r = recv(p.peer, chunk, sizeof chunk, MSG_DONTWAIT);
        for (ssize_t i = 0; i < r; i++, received++)
            matched += chunk[i] == REPLY[received % REPLY_LENGTH];
        idle_turns = (r > 0 || progress) ? 0 : idle_turns + 1;
    }
    TAP_OK(t, state == WEB_SESSION_OPEN && web_session_messages(s) == expected,
           "once the peer reads, every line is answered (%llu of %zu)",
           (unsigned long long)web_session_messages(s), expected);
    TAP_OK(t, received == expected * REPLY_LENGTH && matched == received,
           "and every reply arrives whole, in order (%zu bytes)", received);
    TAP_OK(t, web_session_interest_ops(s) == OP_READ,
           "with everything sent the session reads again");
    pair_close(&p);
}

static void test_tiny_buffer(tap *t)
{
    pair p;
    char reply[64];
    if (!pair_open(&p, 1, 0)) {
        TAP_OK(t, false, "a loopback connection for the session");
        return;
    }
    send_text(p.peer, "hi\nho\n");
    run_until_answered(p.session, 2);
    size_t got = recv_exactly(p.peer, reply, 2 * REPLY_LENGTH);
    TAP_OK(t,
           web_session_messages(p.session) == 2 && all_replies(reply, got, 2),
           "a buffer size below one reply is raised to it, and still works");
    pair_close(&p);
}

int main(void)
{
    tap t = {0};
    signal(SIGPIPE, SIG_IGN);
    alarm(120); /* a hang is a failure, not a stuck test run */
    test_fresh_session(&t);
    test_split_line(&t);
    test_merged_lines(&t);
    test_crlf(&t);
    test_eof_after_replies(&t);
    test_eof_at_once(&t);
    test_long_line(&t);
    test_reset(&t);
    test_backpressure(&t);
    test_tiny_buffer(&t);
    return tap_done(&t);
}
