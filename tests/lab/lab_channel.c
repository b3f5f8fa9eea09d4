/*
 * lab_channel.c - the unit stages of chapter 2's lab, in the order of the
 * lesson: reading (what a read returns and where the bytes go), end of
 * stream and resets, a signal during a blocking read, writing (partial
 * writes on a full socket, a vanished peer), the gathering write. Checked
 * on real loopback sockets through channel.h only; the other side of each
 * connection is driven with plain send/recv, never with the learner's
 * code.
 *
 * Linux in one place: to know that a thread sleeps in the kernel before
 * signalling it, the eintr stage reads its state from /proc (hence
 * _GNU_SOURCE, for gettid through syscall(2)).
 */
#define _GNU_SOURCE
#include "02-blocking-echo/channel.h"
#include "lab_check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define READ_RESULT(n)                                                         \
    ((n) == CHANNEL_EOF     ? "CHANNEL_EOF"                                    \
     : (n) == CHANNEL_ERROR ? "CHANNEL_ERROR"                                  \
                            : "a count")

/* A connected pair on 127.0.0.1: `mine` is the channel under test (from
 * accept), `other` its peer (from connect), both blocking. */
typedef struct pair {
    channel *server, *mine, *other;
} pair;

static pair open_pair(void)
{
    pair p = {0};
    socket_address address;
    if (socket_address_resolve(&address, "127.0.0.1", 0) != 0 ||
        (p.server = channel_open_server(&address, 4)) == NULL)
        lab_fail("a listening socket on 127.0.0.1", "%s", strerror(errno));
    socket_address_resolve(&address, "127.0.0.1", channel_local_port(p.server));
    p.other = channel_open_connected(&address);
    p.mine = p.other != NULL ? channel_accept(p.server) : NULL;
    if (p.mine == NULL)
        lab_fail("a connected pair of sockets", "%s", strerror(errno));
    return p;
}

static void close_pair(pair *p)
{
    channel_close(p->mine);
    channel_close(p->other);
    channel_close(p->server);
}

static buffer *new_buffer(size_t capacity)
{
    buffer *b = buffer_allocate(capacity);
    if (b == NULL)
        lab_fail("buffer_allocate to return a buffer", "NULL");
    return b;
}

/* The peer's side, without the learner's code. */
static void peer_send(channel *ch, const void *bytes, size_t n)
{
    if (send(channel_fd(ch), bytes, n, MSG_NOSIGNAL) != (ssize_t)n)
        lab_fail("the test's own send to work", "%s", strerror(errno));
}

/* Waits until bytes (or an end) wait in `ch`'s receive queue. */
static void wait_readable(channel *ch)
{
    struct pollfd p = {.fd = channel_fd(ch), .events = POLLIN};
    if (poll(&p, 1, 10000) != 1)
        lab_fail("the bytes sent to arrive within 10 s", "nothing arrived");
}

static void pause_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* --- reading ------------------------------------------------------------ */

static void stage_read(void)
{
    pair p = open_pair();
    buffer *b = new_buffer(16);
    buffer_put_bytes(b, "abc", 3);

    lab_did("the peer sends \"hello\"; channel_read into a 16-byte buffer "
            "at position 3");
    peer_send(p.other, "hello", 5);
    wait_readable(p.mine);
    ssize_t n = channel_read(p.mine, b);
    LAB_EXPECT(n == 5, "5 (the bytes read)", "%zd (%s)", n, READ_RESULT(n));
    LAB_EXPECT(buffer_position(b) == 8 && buffer_limit(b) == 16,
               "position 8 (moved by the 5 bytes read), limit 16",
               "position %zu, limit %zu", buffer_position(b), buffer_limit(b));
    LAB_EXPECT(memcmp(buffer_array(b), "abchello", 8) == 0,
               "\"abchello\" in the buffer: the bytes go at the position",
               "\"%.8s\"", (const char *)buffer_array(b));

    lab_did("channel_read into a buffer with no room left (position = "
            "limit)");
    peer_send(p.other, "more", 4);
    wait_readable(p.mine);
    buffer_set_limit(b, 8);
    n = channel_read(p.mine, b);
    LAB_EXPECT(n == 0 && buffer_position(b) == 8,
               "0 and nothing changed: no room is not end of stream",
               "%zd (%s), position %zu", n, READ_RESULT(n), buffer_position(b));

    lab_did("channel_read with room again: the 4 bytes that waited");
    buffer_clear(b);
    n = channel_read(p.mine, b);
    LAB_EXPECT(n == 4 && memcmp(buffer_array(b), "more", 4) == 0,
               "4 and \"more\": a read with no room took nothing",
               "%zd (%s), \"%.4s\"", n, READ_RESULT(n),
               (const char *)buffer_array(b));

    lab_did("channel_read on a non-blocking channel with nothing waiting");
    channel_configure_blocking(p.mine, false);
    buffer_clear(b);
    errno = 0;
    n = channel_read(p.mine, b);
    LAB_EXPECT(n == 0 && buffer_position(b) == 0,
               "0 at once, position still 0 (EAGAIN is \"nothing yet\", "
               "not an error)",
               "%zd (%s), position %zu, errno %s", n, READ_RESULT(n),
               buffer_position(b), strerror(errno));
    buffer_free(b);
    close_pair(&p);
}

static void stage_end_of_stream(void)
{
    pair p = open_pair();
    buffer *b = new_buffer(64);

    lab_did("the peer sends \"last\" and shuts its output down; then two "
            "channel_reads");
    peer_send(p.other, "last", 4);
    shutdown(channel_fd(p.other), SHUT_WR);
    wait_readable(p.mine);
    ssize_t n = channel_read(p.mine, b);
    LAB_EXPECT(n == 4, "4: the bytes sent before the end come first",
               "%zd (%s)", n, READ_RESULT(n));
    n = channel_read(p.mine, b);
    LAB_EXPECT(n == CHANNEL_EOF && buffer_position(b) == 4,
               "CHANNEL_EOF (-1), the position left at 4",
               "%zd (%s), position %zu", n, READ_RESULT(n), buffer_position(b));
    n = channel_read(p.mine, b);
    LAB_EXPECT(n == CHANNEL_EOF, "CHANNEL_EOF again: the end stays the end",
               "%zd (%s)", n, READ_RESULT(n));

    close_pair(&p);

    p = open_pair();
    lab_did("the peer resets the connection (SO_LINGER 0, close); then "
            "channel_read");
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    setsockopt(channel_fd(p.other), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    channel_close(p.other);
    p.other = NULL;
    wait_readable(p.mine);
    buffer_clear(b);
    errno = 0;
    n = channel_read(p.mine, b);
    int error = errno;
    LAB_EXPECT(n == CHANNEL_ERROR && error == ECONNRESET,
               "CHANNEL_ERROR (-2) with errno ECONNRESET: a reset is an "
               "error, not an end",
               "%zd (%s), errno %s", n, READ_RESULT(n), strerror(error));

    lab_did("channel_read(NULL, buffer) and channel_read(ch, NULL)");
    n = channel_read(NULL, b);
    ssize_t m = channel_read(p.mine, NULL);
    LAB_EXPECT(n == CHANNEL_ERROR && m == CHANNEL_ERROR && errno == EINVAL,
               "CHANNEL_ERROR with errno EINVAL for both", "%zd and %zd, %s", n,
               m, strerror(errno));
    buffer_free(b);
    close_pair(&p);
}

/* --- a signal during a blocking read ------------------------------------ */

static atomic_int interrupts;

static void on_usr1(int number)
{
    (void)number;
    atomic_fetch_add(&interrupts, 1);
}

typedef struct blocked_read {
    channel *ch;
    buffer *into;
    atomic_int tid;
    ssize_t result;
    int error;
} blocked_read;

static void *read_in_thread(void *arg)
{
    blocked_read *r = arg;
    atomic_store(&r->tid, (int)syscall(SYS_gettid));
    r->result = channel_read(r->ch, r->into);
    r->error = errno;
    return NULL;
}

/* True once the thread sleeps in the kernel ('S' in its /proc stat);
 * false when it has not within 10 s, or when `done` says it returned. */
static bool asleep(blocked_read *r, atomic_bool *done)
{
    for (int i = 0; i < 2000; i++) {
        if (atomic_load(done))
            return false;
        int tid = atomic_load(&r->tid);
        if (tid != 0) {
            char path[64], stat[256];
            snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
            FILE *f = fopen(path, "r");
            size_t n = f != NULL ? fread(stat, 1, sizeof stat - 1, f) : 0;
            if (f != NULL)
                fclose(f);
            stat[n] = '\0';
            const char *end = strrchr(stat, ')');
            if (end != NULL && end[1] == ' ' && end[2] == 'S')
                return true;
        }
        pause_ms(5);
    }
    return false;
}

static atomic_bool read_done;

static void *run_and_flag(void *arg)
{
    read_in_thread(arg);
    atomic_store(&read_done, true);
    return NULL;
}

static void stage_eintr(void)
{
    /* No SA_RESTART: the kernel returns EINTR and the channel must retry. */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);

    pair p = open_pair();
    blocked_read r = {.ch = p.mine, .into = new_buffer(16)};
    pthread_t thread;
    lab_did("a thread calls channel_read on a blocking channel with nothing "
            "to read");
    pthread_create(&thread, NULL, run_and_flag, &r);
    bool blocked = asleep(&r, &read_done);
    if (!blocked) {
        pthread_join(thread, NULL);
        lab_fail("the read to wait for bytes", "it returned %zd (%s) at once",
                 r.result, READ_RESULT(r.result));
    }
    lab_did("a signal (SIGUSR1, handled, no SA_RESTART) interrupts that "
            "blocked read");
    pthread_kill(thread, SIGUSR1);
    for (int i = 0; i < 2000 && atomic_load(&interrupts) == 0; i++)
        pause_ms(5);
    LAB_EXPECT(atomic_load(&interrupts) == 1, "the handler to run once",
               "%d times", atomic_load(&interrupts));
    blocked = asleep(&r, &read_done);
    if (!blocked) {
        pthread_join(thread, NULL);
        lab_fail("the read to go back to waiting: EINTR is retried, not "
                 "returned",
                 "it returned %zd (%s) with errno %s", r.result,
                 READ_RESULT(r.result), strerror(r.error));
    }
    lab_did("the peer sends \"later\" to the reader that was interrupted");
    peer_send(p.other, "later", 5);
    pthread_join(thread, NULL);
    LAB_EXPECT(r.result == 5, "5: the read returns the bytes",
               "%zd (%s), errno %s", r.result, READ_RESULT(r.result),
               strerror(r.error));
    buffer_free(r.into);
    close_pair(&p);
}

/* --- writing ------------------------------------------------------------ */

static buffer *text_buffer(const char *text)
{
    buffer *b = new_buffer(strlen(text));
    buffer_put_bytes(b, text, strlen(text));
    buffer_flip(b);
    return b;
}

/* A buffer of `n` bytes of a pattern, flipped, ready to write. */
static buffer *pattern_buffer(size_t n, unsigned seed)
{
    buffer *b = new_buffer(n);
    uint8_t *bytes = buffer_array(b);
    for (size_t i = 0; i < n; i++)
        bytes[i] = (uint8_t)((i + seed) % 251);
    buffer_set_position(b, n);
    buffer_flip(b);
    return b;
}

/* Reads exactly `n` bytes from the peer (blocking) into `out`. */
static void peer_receive(channel *ch, uint8_t *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t m = recv(channel_fd(ch), out + got, n - got, 0);
        if (m <= 0)
            lab_fail("the peer to receive every byte written",
                     "%zu of %zu bytes, then %s", got, n,
                     m == 0 ? "end of stream" : strerror(errno));
        got += (size_t)m;
    }
}

static void stage_write(void)
{
    pair p = open_pair();
    lab_did("channel_write of \"hello\" on a blocking channel");
    buffer *b = text_buffer("hello");
    ssize_t n = channel_write(p.mine, b);
    LAB_EXPECT(n == 5 && buffer_position(b) == 5,
               "5, and the position moved to the limit (5)",
               "%zd, position %zu", n, buffer_position(b));
    uint8_t got[8] = {0};
    peer_receive(p.other, got, 5);
    LAB_EXPECT(memcmp(got, "hello", 5) == 0, "the peer receives \"hello\"",
               "\"%.5s\"", (const char *)got);

    lab_did("channel_write of a buffer with nothing remaining");
    n = channel_write(p.mine, b);
    LAB_EXPECT(n == 0 && buffer_position(b) == 5, "0, nothing changed",
               "%zd, position %zu", n, buffer_position(b));
    buffer_free(b);

    lab_did("channel_write of 32 MiB on a non-blocking channel whose peer "
            "does not read");
    const size_t size = 32u << 20;
    channel_configure_blocking(p.mine, false);
    b = pattern_buffer(size, 0);
    n = channel_write(p.mine, b);
    LAB_EXPECT(n > 0 && (size_t)n < size && buffer_position(b) == (size_t)n,
               "a part of it (the socket takes a few MiB), and the position "
               "moved by exactly that part",
               "%zd, position %zu", n, buffer_position(b));

    lab_did("channel_write again and again until the socket is full");
    size_t before;
    int writes = 0;
    do {
        before = buffer_position(b);
        n = channel_write(p.mine, b);
        writes++;
    } while (n > 0 && writes < 100000);
    LAB_EXPECT(n == 0 && buffer_position(b) == before &&
                   buffer_position(b) < size,
               "0 once the socket is full (EAGAIN is \"try on OP_WRITE\", "
               "not an error), the position unchanged",
               "%zd (errno %s), position %zu of %zu", n, strerror(errno),
               buffer_position(b), size);

    lab_did("the peer reads the %zu bytes written", buffer_position(b));
    size_t written = buffer_position(b);
    uint8_t *all = malloc(written);
    if (all == NULL)
        lab_fail("memory", "none");
    peer_receive(p.other, all, written);
    size_t bad = written;
    for (size_t i = 0; i < written && bad == written; i++)
        if (all[i] != (uint8_t)(i % 251))
            bad = i;
    LAB_EXPECT(bad == written,
               "exactly the first bytes of the buffer, in order",
               "byte %zu differs", bad);
    free(all);
    buffer_free(b);
    close_pair(&p);

    /* SIGPIPE at its default, deadly action, as in any program. */
    signal(SIGPIPE, SIG_DFL);
    p = open_pair();
    lab_did("the peer resets the connection; then channel_write (SIGPIPE "
            "at its default action, which ends a process)");
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    setsockopt(channel_fd(p.other), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    channel_close(p.other);
    p.other = NULL;
    wait_readable(p.mine);
    b = text_buffer("anyone there?");
    /* The first write reports the reset (ECONNRESET); the next ones find
     * the connection gone (EPIPE), which is when SIGPIPE would be sent. */
    int error = 0;
    for (int i = 0; i < 3 && error != EPIPE; i++) {
        buffer_rewind(b);
        errno = 0;
        n = channel_write(p.mine, b);
        error = errno;
        LAB_EXPECT(n == CHANNEL_ERROR &&
                       (error == EPIPE || error == ECONNRESET),
                   "CHANNEL_ERROR with errno ECONNRESET, then EPIPE, and the "
                   "process alive",
                   "%zd, errno %s", n, strerror(error));
    }
    LAB_EXPECT(error == EPIPE, "EPIPE by the third write", "%s",
               strerror(error));
    buffer_free(b);
    close_pair(&p);
}

static void stage_gathering_write(void)
{
    pair p = open_pair();
    lab_did("channel_write_buffers of \"hello\" and \"\\n\" (two buffers)");
    buffer *parts[3] = {text_buffer("hello"), text_buffer("\n"), NULL};
    ssize_t n = channel_write_buffers(p.mine, parts, 2);
    LAB_EXPECT(n == 6 && buffer_position(parts[0]) == 5 &&
                   buffer_position(parts[1]) == 1,
               "6, each buffer's position at its limit (5 and 1)",
               "%zd, positions %zu and %zu", n, buffer_position(parts[0]),
               buffer_position(parts[1]));
    uint8_t got[8] = {0};
    peer_receive(p.other, got, 6);
    LAB_EXPECT(memcmp(got, "hello\n", 6) == 0, "the peer receives \"hello\\n\"",
               "\"%.6s\"", (const char *)got);
    buffer_free(parts[0]);
    buffer_free(parts[1]);

    lab_did("channel_write_buffers of an empty buffer, 1 MiB and 32 MiB on "
            "a non-blocking channel whose peer does not read");
    const size_t first = 1u << 20, second = 32u << 20;
    channel_configure_blocking(p.mine, false);
    parts[0] = text_buffer("");
    parts[1] = pattern_buffer(first, 0);
    parts[2] = pattern_buffer(second, (unsigned)(first % 251));
    n = channel_write_buffers(p.mine, parts, 3);
    size_t p1 = buffer_position(parts[1]), p2 = buffer_position(parts[2]);
    size_t want1 = (size_t)n < first ? (size_t)n : first;
    size_t want2 = (size_t)n > first ? (size_t)n - first : 0;
    LAB_EXPECT(n > 0 && (size_t)n < first + second && p1 == want1 &&
                   p2 == want2,
               "a part of it, the positions moved in order: the first buffer "
               "emptied before the second moves, by n in all",
               "%zd; positions %zu and %zu (expected %zu and %zu)", n, p1, p2,
               want1, want2);

    lab_did("channel_write_buffers until the socket is full");
    int writes = 0;
    do {
        n = channel_write_buffers(p.mine, parts, 3);
        writes++;
    } while (n > 0 && writes < 100000);
    size_t total = buffer_position(parts[1]) + buffer_position(parts[2]);
    LAB_EXPECT(n == 0 && total < first + second,
               "0 once the socket is full, not CHANNEL_ERROR", "%zd (errno %s)",
               n, strerror(errno));

    lab_did("the peer reads the %zu bytes written", total);
    uint8_t *all = malloc(total);
    if (all == NULL)
        lab_fail("memory", "none");
    peer_receive(p.other, all, total);
    size_t bad = total;
    for (size_t i = 0; i < total && bad == total; i++)
        if (all[i] != (uint8_t)(i % 251))
            bad = i;
    LAB_EXPECT(bad == total,
               "the bytes of the first buffer, then those of the second",
               "byte %zu differs", bad);
    free(all);
    for (int i = 0; i < 3; i++)
        buffer_free(parts[i]);
    close_pair(&p);
}

int main(int argc, char **argv)
{
    static const lab_stage stages[] = {
        {"read", stage_read},
        {"end-of-stream", stage_end_of_stream},
        {"eintr", stage_eintr},
        {"write", stage_write},
        {"gathering-write", stage_gathering_write},
    };
    return lab_main(argc, argv, stages, sizeof stages / sizeof stages[0]);
}
