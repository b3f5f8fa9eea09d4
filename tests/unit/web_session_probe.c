/*
 * web_session_probe.c - a misbehaving client for chapter 4's tests. It
 * talks to a running web-server the ways a well-behaved client never does
 * and reports, in TAP, whether the server coped:
 *
 *   burst N      N lines in a single write, then end of stream
 *   bytewise N   N lines sent one byte per write (TCP_NODELAY)
 *   halfclose N  N lines, shutdown(SHUT_WR) before reading anything; every
 *                reply must still arrive, then end of stream
 *   reset N      N lines, one reply read, then a reset (SO_LINGER 0)
 *   stall MAX    lines without reading until the server stops taking them
 *                (its output is full), then read: every reply arrives
 *
 * usage: web_session_probe SCENARIO PORT [N]   (host 127.0.0.1)
 *
 * Plain sockets on purpose: this is the other side of the wire, not a
 * user of the course's modules.
 */
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char LINE[] = "hello\n";
#define LINE_LENGTH (sizeof LINE - 1)
static const char REPLY[] = "received\n";
#define REPLY_LENGTH (sizeof REPLY - 1)

/* How long the server may stay silent before a check gives up, in ms. */
#define QUIET_MS 10000

static int connect_to(uint16_t port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0) /* before connect: the window starts small */
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *bytes, size_t length)
{
    while (length > 0) {
        ssize_t n = send(fd, bytes, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes += n;
        length -= (size_t)n;
    }
    return true;
}

/* Reads until end of stream (or QUIET_MS of silence). Counts the bytes and
 * how many of them are where the reply pattern says they should be. */
typedef struct replies {
    size_t bytes;
    size_t matched;
    bool eof;
    bool reset;
} replies;

static void read_replies(int fd, replies *r)
{
    char chunk[8192];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, QUIET_MS);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return;
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->reset = true;
            return;
        }
        if (n == 0) {
            r->eof = true;
            return;
        }
        for (ssize_t i = 0; i < n; i++, r->bytes++)
            r->matched += chunk[i] == REPLY[r->bytes % REPLY_LENGTH];
    }
}

/* The checks every orderly scenario ends with. */
static void expect_replies(tap *t, int fd, size_t lines)
{
    replies r = {0};
    read_replies(fd, &r);
    TAP_OK(t, r.bytes == lines * REPLY_LENGTH && r.matched == r.bytes,
           "exactly %zu replies 'received\\n' (got %zu bytes, %zu in place)",
           lines, r.bytes, r.matched);
    TAP_OK(t, r.eof, "then end of stream from the server");
}

static char *lines_text(size_t lines)
{
    char *text = malloc(lines * LINE_LENGTH + 1);
    for (size_t i = 0; text != NULL && i < lines; i++)
        memcpy(text + i * LINE_LENGTH, LINE, LINE_LENGTH);
    return text;
}

static void burst(tap *t, int fd, size_t lines)
{
    char *text = lines_text(lines);
    size_t length = lines * LINE_LENGTH;
    ssize_t first = text != NULL ? send(fd, text, length, MSG_NOSIGNAL) : -1;
    TAP_OK(t, first == (ssize_t)length, "%zu lines (%zu bytes) in one write",
           lines, length);
    if (first >= 0 && (size_t)first < length)
        send_all(fd, text + first, length - (size_t)first);
    free(text);
    shutdown(fd, SHUT_WR);
    expect_replies(t, fd, lines);
}

static void bytewise(tap *t, int fd, size_t lines)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t writes = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < lines; i++) {
        for (size_t j = 0; ok && j < LINE_LENGTH; j++, writes++)
            ok = send_all(fd, LINE + j, 1);
    }
    TAP_OK(t, ok && writes == lines * LINE_LENGTH,
           "%zu lines sent one byte per write (%zu writes)", lines, writes);
    shutdown(fd, SHUT_WR);
    expect_replies(t, fd, lines);
}

static void halfclose(tap *t, int fd, size_t lines)
{
    bool ok = true;
    for (size_t i = 0; ok && i < lines; i++)
        ok = send_all(fd, LINE, LINE_LENGTH);
    TAP_OK(t, ok && shutdown(fd, SHUT_WR) == 0,
           "%zu lines, then end of stream before reading a reply", lines);
    expect_replies(t, fd, lines);
}

static void reset(tap *t, int fd, size_t lines)
{
    bool ok = true;
    for (size_t i = 0; ok && i < lines; i++)
        ok = send_all(fd, LINE, LINE_LENGTH);
    char reply[REPLY_LENGTH];
    size_t got = 0;
    while (ok && got < REPLY_LENGTH) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n = poll(&p, 1, QUIET_MS) > 0
                        ? recv(fd, reply + got, REPLY_LENGTH - got, 0)
                        : -1;
        ok = n > 0;
        got += ok ? (size_t)n : 0;
    }
    TAP_OK(t, ok && memcmp(reply, REPLY, REPLY_LENGTH) == 0,
           "%zu lines sent, the first reply read", lines);
    struct linger abort_close = {.l_onoff = 1, .l_linger = 0};
    TAP_OK(t,
           setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close,
                      sizeof abort_close) == 0,
           "SO_LINGER 0: close will send a reset");
}

static void stall(tap *t, int fd, size_t max_lines)
{
    int rcvbuf = 0;
    socklen_t size = sizeof rcvbuf;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &size);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t lines = 0, partial = 0;
    bool blocked = false;
    while (!blocked && lines < max_lines) {
        ssize_t n =
            send(fd, LINE + partial, LINE_LENGTH - partial, MSG_NOSIGNAL);
        if (n > 0) {
            partial += (size_t)n;
            if (partial == LINE_LENGTH) {
                partial = 0;
                lines++;
            }
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;
        /* Full. Blocked for good only if the server takes nothing more
         * for a while: it is waiting for us to read. */
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        blocked = poll(&p, 1, 2000) == 0;
    }
    TAP_OK(t, blocked, "the server stopped reading after %zu lines (%zu bytes)",
           lines, lines * LINE_LENGTH);
    TAP_OK(t, lines * REPLY_LENGTH > (size_t)rcvbuf,
           "their replies (%zu bytes) are more than our receive buffer "
           "(%d): the server had replies it could not send",
           lines * REPLY_LENGTH, rcvbuf);
    /* An unfinished last line gets no reply; end of stream ends it. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    shutdown(fd, SHUT_WR);
    expect_replies(t, fd, lines);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr,
                "usage: %s burst|bytewise|halfclose|reset|stall "
                "PORT [N]\n",
                argv[0]);
        return 2;
    }
    const char *scenario = argv[1];
    long port = strtol(argv[2], NULL, 10);
    long n = argc == 4 ? strtol(argv[3], NULL, 10) : 1000;
    if (port <= 0 || port > 65535 || n <= 0 || n > 10000000) {
        fprintf(stderr, "%s: bad port or count\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(120); /* a hang is a failure */
    tap t = {0};
    bool is_stall = strcmp(scenario, "stall") == 0;
    int fd = connect_to((uint16_t)port, is_stall ? 16384 : 0);
    TAP_OK(&t, fd >= 0, "connected to 127.0.0.1:%ld", port);
    if (fd < 0)
        return tap_done(&t);
    if (strcmp(scenario, "burst") == 0)
        burst(&t, fd, (size_t)n);
    else if (strcmp(scenario, "bytewise") == 0)
        bytewise(&t, fd, (size_t)n);
    else if (strcmp(scenario, "halfclose") == 0)
        halfclose(&t, fd, (size_t)n);
    else if (strcmp(scenario, "reset") == 0)
        reset(&t, fd, (size_t)n);
    else if (is_stall)
        stall(&t, fd, (size_t)n);
    else
        TAP_OK(&t, false, "unknown scenario '%s'", scenario);
    close(fd);
    return tap_done(&t);
}
