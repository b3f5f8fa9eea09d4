/*
 * lab_web_session.c - the unit stages of chapter 4's lab, in the order of
 * the lesson: one line and its reply, a line split over reads, several
 * lines in one read, a line over the bound, two sessions side by side,
 * backpressure with partial writes, and the end of the stream.
 *
 * Each stage drives a session over a real loopback connection the way an
 * event loop would: it waits (with poll, bounded) for what the session's
 * interest ops ask for and calls on_readable / on_writable. The test plays
 * the client on the other end with plain send/recv. Only web_session.h is
 * used, so any correct web_session.c passes.
 */
#include "04-web-server-client/web_session.h"
#include "03-selector/selector.h"
#include "lab_check.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How long one wait may take before the check that needed it fails. */
#define WAIT_MS 3000

static const char REPLY[] = "received\n";
#define REPLY_LENGTH (sizeof REPLY - 1)

static const char *state_name(web_session_state state)
{
    switch (state) {
    case WEB_SESSION_OPEN: return "WEB_SESSION_OPEN";
    case WEB_SESSION_FINISHED: return "WEB_SESSION_FINISHED";
    case WEB_SESSION_FAILED: return "WEB_SESSION_FAILED";
    }
    return "an unknown state";
}

static const char *ops_name(int ops)
{
    static const char *const names[] = {"none", "OP_READ", "OP_WRITE",
                                        "OP_READ|OP_WRITE"};
    if (ops & ~(OP_READ | OP_WRITE))
        return "something besides OP_READ and OP_WRITE";
    return names[((ops & OP_READ) ? 1 : 0) | ((ops & OP_WRITE) ? 2 : 0)];
}

/* One connection: the session on the server's end, `peer` the client's. */
typedef struct pair {
    web_session *session;
    int peer;
} pair;

/* A loopback connection whose server end is a new session with buffers of
 * `buffer_size` bytes. A small peer receive buffer is set before connect,
 * so that the window is small from the start (0 keeps the default). */
static pair pair_open(size_t buffer_size, int peer_rcvbuf)
{
    socket_address address;
    channel *server = NULL, *client = NULL, *accepted = NULL;
    if (socket_address_resolve(&address, "127.0.0.1", 0) != 0 ||
        (server = channel_open_server(&address, 4)) == NULL ||
        socket_address_resolve(&address, "127.0.0.1",
                               channel_local_port(server)) != 0 ||
        (client = channel_open_socket(&address)) == NULL)
        lab_fail("a loopback connection to test with", "%s", strerror(errno));
    if (peer_rcvbuf > 0)
        setsockopt(channel_fd(client), SOL_SOCKET, SO_RCVBUF, &peer_rcvbuf,
                   sizeof peer_rcvbuf);
    if (channel_connect(client, &address) != 1 ||
        (accepted = channel_accept(server)) == NULL ||
        channel_configure_blocking(accepted, false) < 0)
        lab_fail("a loopback connection to test with", "%s", strerror(errno));
    channel_close(server);
    pair p = {.peer = dup(channel_fd(client))};
    channel_close(client);
    int one = 1;
    setsockopt(p.peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    p.session = web_session_new(accepted, buffer_size);
    if (p.session == NULL || p.peer < 0)
        lab_fail("web_session_new to return a session", "NULL");
    return p;
}

static void pair_close(pair *p)
{
    web_session_free(p->session);
    close(p->peer);
}

static void peer_send(int fd, const char *text, size_t length)
{
    while (length > 0) {
        ssize_t n = send(fd, text, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            lab_fail("the test's client to send its bytes", "%s",
                     strerror(errno));
        text += n;
        length -= (size_t)n;
    }
}

static void peer_say(int fd, const char *text)
{
    peer_send(fd, text, strlen(text));
}

/* Waits (at most `ms`) until the session's channel is ready for `ops`;
 * returns the ops that are ready. */
static int ready_for(web_session *s, int ops, int ms)
{
    struct pollfd p = {.fd = channel_fd(web_session_channel(s)),
                       .events = (short)(((ops & OP_READ) ? POLLIN : 0) |
                                         ((ops & OP_WRITE) ? POLLOUT : 0))};
    int rc;
    do
        rc = poll(&p, 1, ms);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return 0;
    short trouble = POLLERR | POLLHUP;
    int ready = 0;
    if ((ops & OP_READ) && (p.revents & (POLLIN | trouble)))
        ready |= OP_READ;
    if ((ops & OP_WRITE) && (p.revents & (POLLOUT | trouble)))
        ready |= OP_WRITE;
    return ready;
}

/* One turn of an event loop: waits until the session's channel is ready
 * for what the session's interest asks, then calls it, as web-server's
 * serve() does. *ready says whether anything was ready in time. */
static web_session_state turn(web_session *s, int ms, bool *ready)
{
    int ops = web_session_interest_ops(s);
    int r = ops == 0 ? 0 : ready_for(s, ops, ms);
    if (ready != NULL)
        *ready = r != 0;
    web_session_state state = WEB_SESSION_OPEN;
    if (r & OP_READ)
        state = web_session_on_readable(s);
    if (state == WEB_SESSION_OPEN && (r & OP_WRITE))
        state = web_session_on_writable(s);
    return state;
}

/* What the peer has received, without waiting beyond `ms` for the first
 * byte; at most `size` - 1 bytes, NUL-terminated. */
static size_t peer_take(int fd, char *out, size_t size, int ms)
{
    size_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (got + 1 < size && poll(&p, 1, got == 0 ? ms : 0) > 0) {
        ssize_t n = recv(fd, out + got, size - 1 - got, MSG_DONTWAIT);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    out[got] = '\0';
    return got;
}

/* Turns the session until the peer has received `replies` whole replies
 * (or the session leaves OPEN, or nothing happens for WAIT_MS), then
 * checks that exactly those arrived. */
static void expect_replies(pair *p, size_t replies, const char *what)
{
    char got[8192];
    size_t want = replies * REPLY_LENGTH, have = 0;
    if (want >= sizeof got)
        lab_fail("a smaller check", "%zu replies", replies);
    web_session_state state = WEB_SESSION_OPEN;
    bool ready = true;
    while (state == WEB_SESSION_OPEN && have < want && ready) {
        state = turn(p->session, WAIT_MS, &ready);
        have += peer_take(p->peer, got + have, sizeof got - have, 0);
    }
    /* Anything more that is on its way: there must be none. */
    if (state == WEB_SESSION_OPEN)
        state = turn(p->session, 20, NULL);
    have += peer_take(p->peer, got + have, sizeof got - have, 20);
    bool whole = have == want;
    for (size_t i = 0; whole && i < have; i++)
        whole = got[i] == REPLY[i % REPLY_LENGTH];
    LAB_EXPECT(state == WEB_SESSION_OPEN && whole, what,
               "%s; the client received %zu bytes (%zu whole replies), "
               "interest %s",
               state_name(state), have, have / REPLY_LENGTH,
               ops_name(web_session_interest_ops(p->session)));
}

/* --- the stages ---------------------------------------------------------- */

static void stage_one_line(void)
{
    pair p = pair_open(4096, 0);
    web_session *s = p.session;
    lab_did("web_session_new, then web_session_interest_ops");
    int ops = web_session_interest_ops(s);
    LAB_EXPECT(ops == OP_READ,
               "OP_READ only: nothing to send, waiting for a line", "%s",
               ops_name(ops));

    lab_did("the client sends \"hello\\n\"; on OP_READ, on_readable");
    peer_say(p.peer, "hello\n");
    if (!(ready_for(s, OP_READ, WAIT_MS) & OP_READ))
        lab_fail("the session's channel to become readable", "no data came");
    web_session_state state = web_session_on_readable(s);
    ops = web_session_interest_ops(s);
    LAB_EXPECT(state == WEB_SESSION_OPEN && ops == (OP_READ | OP_WRITE),
               "WEB_SESSION_OPEN, interest OP_READ|OP_WRITE: a reply to "
               "send, and room to read on",
               "%s, interest %s", state_name(state), ops_name(ops));
    LAB_EXPECT(web_session_messages(s) == 1,
               "web_session_messages = 1 (one line answered)", "%llu",
               (unsigned long long)web_session_messages(s));

    lab_did("on OP_WRITE, on_writable; then the client reads");
    if (!(ready_for(s, OP_WRITE, WAIT_MS) & OP_WRITE))
        lab_fail("the session's channel to become writable", "it did not");
    state = web_session_on_writable(s);
    ops = web_session_interest_ops(s);
    char got[64];
    size_t n = peer_take(p.peer, got, sizeof got, WAIT_MS);
    LAB_EXPECT(n == REPLY_LENGTH && memcmp(got, REPLY, n) == 0,
               "the client receives \"received\\n\", once", "%zu bytes: \"%s\"",
               n, got);
    LAB_EXPECT(state == WEB_SESSION_OPEN && ops == OP_READ,
               "WEB_SESSION_OPEN, interest back to OP_READ only: nothing "
               "left to send",
               "%s, interest %s", state_name(state), ops_name(ops));

    lab_did("the client sends \"again\\r\\n\" (a CRLF line, as nc may send)");
    peer_say(p.peer, "again\r\n");
    expect_replies(&p, 1, "one more \"received\\n\", and the session open");
    pair_close(&p);
}

static void stage_split_line(void)
{
    pair p = pair_open(4096, 0);
    web_session *s = p.session;
    static const char *const pieces[] = {"hel", "lo", " there"};
    for (size_t i = 0; i < 3; i++) {
        lab_did("the client sends \"%s\" (no newline yet); one turn",
                pieces[i]);
        peer_say(p.peer, pieces[i]);
        if (!(ready_for(s, OP_READ, WAIT_MS) & OP_READ))
            lab_fail("the session's channel to become readable", "no data");
        web_session_state state = web_session_on_readable(s);
        int ops = web_session_interest_ops(s);
        char got[64];
        size_t n = peer_take(p.peer, got, sizeof got, 0);
        LAB_EXPECT(state == WEB_SESSION_OPEN && ops == OP_READ && n == 0 &&
                       web_session_messages(s) == 0,
                   "no reply yet (a line ends only at '\\n'): "
                   "WEB_SESSION_OPEN, interest OP_READ, 0 messages",
                   "%s, interest %s, %llu messages, the client got %zu bytes",
                   state_name(state), ops_name(ops),
                   (unsigned long long)web_session_messages(s), n);
    }
    lab_did("the client ends the line with \"\\n\"");
    peer_say(p.peer, "\n");
    expect_replies(&p, 1, "one reply for the line sent in three pieces");

    lab_did("the client sends \"a\\nbc\" in one write, then \"\\n\"");
    peer_say(p.peer, "a\nbc");
    expect_replies(&p, 1, "one reply for \"a\", none yet for \"bc\"");
    peer_say(p.peer, "\n");
    expect_replies(&p, 1, "the reply for \"bc\" once its '\\n' came");

    lab_did("the client sends \"good morning\\r\\n\" one byte per write, "
            "the session turning after each");
    static const char slow[] = "good morning\r\n";
    char got[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof slow - 1; i++) {
        peer_send(p.peer, slow + i, 1);
        if (!(ready_for(s, OP_READ, WAIT_MS) & OP_READ))
            lab_fail("the session's channel to become readable", "no data");
        web_session_state state = turn(s, WAIT_MS, NULL);
        n += peer_take(p.peer, got + n, sizeof got - n, 0);
        LAB_EXPECT(state == WEB_SESSION_OPEN && (n == 0 || slow[i] == '\n'),
                   "no reply before the '\\n', and the session open",
                   "%s, a reply after byte %zu ('%c')", state_name(state),
                   i + 1, slow[i] == '\r' ? 'r' : slow[i]);
    }
    expect_replies(&p, n == 0 ? 1 : 0, "exactly one reply for that line");
    pair_close(&p);
}

static void stage_several_lines(void)
{
    pair p = pair_open(4096, 0);
    web_session *s = p.session;
    lab_did("the client sends \"one\\ntwo\\nthree\\n\" in one write; one "
            "on_readable");
    peer_say(p.peer, "one\ntwo\nthree\n");
    if (!(ready_for(s, OP_READ, WAIT_MS) & OP_READ))
        lab_fail("the session's channel to become readable", "no data");
    web_session_state state = web_session_on_readable(s);
    LAB_EXPECT(state == WEB_SESSION_OPEN && web_session_messages(s) == 3,
               "all three lines answered by that one call "
               "(web_session_messages = 3)",
               "%s, %llu messages", state_name(state),
               (unsigned long long)web_session_messages(s));
    expect_replies(&p, 3, "three replies, nothing more");

    lab_did("the client sends 200 lines \"hello\\n\" in one write");
    char many[200 * 6 + 1];
    for (size_t i = 0; i < 200; i++)
        memcpy(many + 6 * i, "hello\n", 6);
    peer_send(p.peer, many, 200 * 6);
    expect_replies(&p, 200, "200 replies, whole and in order");

    lab_did("the client sends \"x\\ny\\nz\" (two lines and the start of a "
            "third)");
    peer_say(p.peer, "x\ny\nz");
    expect_replies(&p, 2, "two replies; \"z\" waits for its '\\n'");
    peer_say(p.peer, "\n");
    expect_replies(&p, 1, "the third reply");
    pair_close(&p);
}

static void stage_long_line(void)
{
    pair p = pair_open(16, 0);
    lab_did("a session with 16-byte buffers; the client sends a 15-character "
            "line and its '\\n' (16 bytes: it just fits)");
    peer_say(p.peer, "fifteen-chars!!\n");
    expect_replies(&p, 1,
                   "one reply: a line that fills the buffer exactly "
                   "is still a line");

    lab_did("the client sends 40 bytes with no '\\n'; the session turns");
    peer_say(p.peer, "0123456789012345678901234567890123456789");
    web_session_state state = WEB_SESSION_OPEN;
    int turns = 0;
    bool ready = true;
    while (state == WEB_SESSION_OPEN && ready && turns < 200) {
        state = turn(p.session, WAIT_MS, &ready);
        turns++;
    }
    LAB_EXPECT(state == WEB_SESSION_FAILED,
               "WEB_SESSION_FAILED: a line longer than the input buffer can "
               "never be framed, so it is bad input",
               "%s after %d turns, interest %s", state_name(state), turns,
               ops_name(web_session_interest_ops(p.session)));
    pair_close(&p);
}

static void stage_two_sessions(void)
{
    pair a = pair_open(4096, 0), b = pair_open(4096, 0);
    lab_did("two sessions; client A sends \"abc\\nhello\" (a line and half "
            "of the next)");
    peer_say(a.peer, "abc\nhello");
    expect_replies(&a, 1, "A: one reply, for \"abc\"");

    lab_did("then client B sends \"hi\\n\"");
    peer_say(b.peer, "hi\n");
    expect_replies(&b, 1,
                   "B: one reply: what A left half-done is A's "
                   "alone (each session its own state)");

    lab_did("then A ends its line with \" world\\n\"");
    peer_say(a.peer, " world\n");
    expect_replies(&a, 1, "A: one reply for \"hello world\"");
    LAB_EXPECT(web_session_messages(a.session) == 2 &&
                   web_session_messages(b.session) == 1,
               "web_session_messages: A 2, B 1", "A %llu, B %llu",
               (unsigned long long)web_session_messages(a.session),
               (unsigned long long)web_session_messages(b.session));
    pair_close(&a);
    pair_close(&b);
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void stage_backpressure(void)
{
    /* Small socket buffers, so that the session's output fills fast: the
     * peer does not read, its receive buffer and the session's send buffer
     * fill, then `out` fills. `out` is larger than the send buffer, so
     * that a write of it is partial (a small write is taken whole or not
     * at all). */
    pair p = pair_open(16384, 4096);
    web_session *s = p.session;
    int small = 4096;
    setsockopt(channel_fd(web_session_channel(s)), SOL_SOCKET, SO_SNDBUF,
               &small, sizeof small);
    fcntl(p.peer, F_SETFL, fcntl(p.peer, F_GETFL) | O_NONBLOCK);

    lab_did("the client sends \"hello\\n\" lines and reads nothing; the "
            "session turns");
    static const char LINE[] = "hello\n";
    size_t sent = 0, partial = 0; /* bytes of a line not yet sent */
    int ops = web_session_interest_ops(s);
    web_session_state state = WEB_SESSION_OPEN;
    long long deadline = now_ms() + WAIT_MS;
    while (state == WEB_SESSION_OPEN && (ops & OP_READ) &&
           now_ms() < deadline) {
        for (int burst = 0; burst < 64; burst++) {
            ssize_t n = send(p.peer, LINE + partial, 6 - partial, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            partial += (size_t)n;
            if (partial == 6) {
                partial = 0;
                sent++;
            }
        }
        state = turn(s, 10, NULL);
        ops = web_session_interest_ops(s);
    }
    LAB_EXPECT(state == WEB_SESSION_OPEN && ops == OP_WRITE,
               "in the end interest OP_WRITE only: with its output buffer "
               "full the session stops reading (backpressure)",
               "%s, interest %s after %zu lines sent and %llu answered",
               state_name(state), ops_name(ops), sent,
               (unsigned long long)web_session_messages(s));

    lab_did("the client now reads everything while the session turns "
            "(%zu whole lines were sent)",
            sent);
    size_t want = sent * REPLY_LENGTH, got = 0, matched = 0;
    char chunk[4096];
    deadline = now_ms() + WAIT_MS;
    while (state == WEB_SESSION_OPEN && got < want && now_ms() < deadline) {
        bool ready;
        state = turn(s, 10, &ready);
        ssize_t r = recv(p.peer, chunk, sizeof chunk, 0);
        for (ssize_t i = 0; i < r; i++, got++)
            matched += chunk[i] == REPLY[got % REPLY_LENGTH];
        if (r > 0 || ready)
            deadline = now_ms() + WAIT_MS;
    }
    LAB_EXPECT(state == WEB_SESSION_OPEN && got == want && matched == got,
               "every reply arrives, whole and in order: a write the socket "
               "took only part of is finished on the next OP_WRITE",
               "%s; %zu of %zu bytes, %zu of them where a reply's byte "
               "belongs",
               state_name(state), got, want, matched);
    ops = web_session_interest_ops(s);
    LAB_EXPECT(ops == OP_READ, "interest OP_READ again once everything is sent",
               "%s", ops_name(ops));
    pair_close(&p);
}

/* Calls on_readable alone (no writes) until the session stops asking for
 * OP_READ or leaves OPEN: what a loop does while the peer's last bytes and
 * its end of stream come in. */
static web_session_state read_to_end(web_session *s)
{
    web_session_state state = WEB_SESSION_OPEN;
    for (int i = 0; i < 50 && state == WEB_SESSION_OPEN &&
                    (web_session_interest_ops(s) & OP_READ);
         i++) {
        if (!(ready_for(s, OP_READ, WAIT_MS) & OP_READ))
            break;
        state = web_session_on_readable(s);
    }
    return state;
}

static void stage_end_of_stream(void)
{
    pair p = pair_open(4096, 0);
    web_session *s = p.session;
    lab_did("the client sends \"a\\nb\\n\" and ends its stream "
            "(shutdown SHUT_WR); on_readable until the end is read");
    peer_say(p.peer, "a\nb\n");
    shutdown(p.peer, SHUT_WR);
    web_session_state state = read_to_end(s);
    int ops = web_session_interest_ops(s);
    LAB_EXPECT(state == WEB_SESSION_OPEN && ops == OP_WRITE,
               "WEB_SESSION_OPEN with interest OP_WRITE only: two replies "
               "are owed, and there is nothing more to read",
               "%s, interest %s", state_name(state), ops_name(ops));

    lab_did("on OP_WRITE, on_writable");
    if (!(ready_for(s, OP_WRITE, WAIT_MS) & OP_WRITE))
        lab_fail("the session's channel to become writable", "it did not");
    state = web_session_on_writable(s);
    char got[64];
    size_t n = peer_take(p.peer, got, sizeof got, WAIT_MS);
    LAB_EXPECT(state == WEB_SESSION_FINISHED && n == 2 * REPLY_LENGTH,
               "WEB_SESSION_FINISHED once both replies are sent, and the "
               "client has both",
               "%s; the client got %zu bytes", state_name(state), n);
    pair_close(&p);

    p = pair_open(4096, 0);
    s = p.session;
    lab_did("a client sends \"x\\n\", reads its reply, then ends its stream");
    peer_say(p.peer, "x\n");
    expect_replies(&p, 1, "one reply");
    shutdown(p.peer, SHUT_WR);
    state = read_to_end(s);
    LAB_EXPECT(state == WEB_SESSION_FINISHED,
               "WEB_SESSION_FINISHED at once: nothing is owed", "%s",
               state_name(state));
    pair_close(&p);

    p = pair_open(4096, 0);
    s = p.session;
    lab_did("a client sends \"abc\" (no newline) and ends its stream");
    peer_say(p.peer, "abc");
    shutdown(p.peer, SHUT_WR);
    state = read_to_end(s);
    n = peer_take(p.peer, got, sizeof got, 20);
    LAB_EXPECT(state == WEB_SESSION_FINISHED && n == 0,
               "WEB_SESSION_FINISHED and no reply: an unfinished last line "
               "is not a line",
               "%s; the client got %zu bytes", state_name(state), n);
    pair_close(&p);

    p = pair_open(4096, 0);
    s = p.session;
    lab_did("a client sends \"x\\n\" and resets the connection (SO_LINGER 0)");
    peer_say(p.peer, "x\n");
    expect_replies(&p, 1, "one reply");
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    setsockopt(p.peer, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(p.peer);
    p.peer = -1;
    state = WEB_SESSION_OPEN;
    for (int i = 0; i < 50 && state == WEB_SESSION_OPEN; i++) {
        bool ready;
        state = turn(s, WAIT_MS, &ready);
        if (!ready)
            break;
    }
    LAB_EXPECT(state == WEB_SESSION_FAILED,
               "WEB_SESSION_FAILED: a reset is an error, not an end of "
               "stream",
               "%s", state_name(state));
    web_session_free(s);
}

int main(int argc, char **argv)
{
    static const lab_stage stages[] = {
        {"one-line", stage_one_line},
        {"split-line", stage_split_line},
        {"several-lines", stage_several_lines},
        {"long-line", stage_long_line},
        {"two-sessions", stage_two_sessions},
        {"backpressure", stage_backpressure},
        {"end-of-stream", stage_end_of_stream},
    };
    return lab_main(argc, argv, stages, sizeof stages / sizeof stages[0]);
}
