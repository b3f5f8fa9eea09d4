/*
 * lab_peer.c - the client side of the labs' shell stages: a few TCP
 * connections to a learner's server on 127.0.0.1, driven step by step.
 * It uses plain POSIX sockets, never the learner's code, so that a failing
 * step points at the server.
 *
 *     lab_peer PORT STEP...
 *
 * Each STEP is one argument, "VERB CONN [TEXT]", CONN a name of one
 * letter. TEXT may hold \n, also where it is looked for in a FILE. Every
 * wait is bounded (LAB_PEER_WAIT seconds, default 10); none is a sleep
 * that hopes the server is done.
 *
 *   open C [small]  connect C (small: 16 KiB socket buffers)
 *   send C TEXT     send TEXT, all of it
 *   expect C TEXT   read exactly TEXT's length, which must be TEXT
 *   quiet C         nothing has arrived on C so far (asked without waiting)
 *   shut C          half-close: shutdown(SHUT_WR), C still reads
 *   eof C           the server closes C now, with no byte more
 *   close C         close C
 *   stream C BYTES  send BYTES of a pattern while reading the echo,
 *                   which must be the same bytes
 *   fill C FILE TEXT  send the pattern without reading until FILE has a
 *                   line containing TEXT (the server's log says it
 *                   stopped reading); at most 256 MiB
 *   drain C         read until every byte sent on C has come back, checked
 *   log C FILE TEXT FILE has a line containing TEXT (C is only a label)
 *
 * The first step that fails prints did/expected/got (lab_check.h) and
 * ends the program with status 1.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lab_check.h"

enum { MAX_CONNS = 26, CHUNK = 65536 };

typedef struct conn {
    int fd;
    unsigned long long sent, received; /* pattern bytes, for stream/fill */
} conn;

static conn conns[MAX_CONNS];
static unsigned short port;
static double wait_seconds = 10;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned char pattern(unsigned long long i)
{
    return (unsigned char)(i % 251); /* a prime: no period a buffer shares */
}

/* "hello\\n" -> "hello\n", in place; returns the length. */
static size_t unescape(char *text)
{
    char *out = text;
    for (const char *in = text; *in != '\0'; in++) {
        if (in[0] == '\\' && in[1] == 'n') {
            *out++ = '\n';
            in++;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return (size_t)(out - text);
}

/* Shows bytes for a "got:" line: printable, \n for newlines, cut short. */
static const char *shown(const char *bytes, size_t n)
{
    static char text[200];
    size_t used = 0;
    for (size_t i = 0; i < n && used + 8 < sizeof text; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c == '\n')
            used += (size_t)snprintf(text + used, sizeof text - used, "\\n");
        else if (c >= 32 && c < 127)
            text[used++] = (char)c;
        else
            used +=
                (size_t)snprintf(text + used, sizeof text - used, "\\x%02x", c);
    }
    if (used + 8 >= sizeof text)
        used += (size_t)snprintf(text + used, sizeof text - used, "...");
    text[used] = '\0';
    return text;
}

static conn *conn_of(const char *name, bool must_be_open)
{
    if (name == NULL || name[0] < 'a' || name[0] > 'z' || name[1] != '\0')
        lab_fail("a connection named by one letter", "'%s'",
                 name != NULL ? name : "");
    conn *c = &conns[name[0] - 'a'];
    if (must_be_open && c->fd < 0)
        lab_fail("connection to be open", "it is not (a mistake in the stage)");
    return c;
}

/* Waits until fd is ready for `events`; false when time ran out. */
static bool wait_for(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - now();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            return false;
    }
}

/* With `small`, 16 KiB socket buffers: a client that stops reading fills
 * them, and the server's, soon. */
static void step_open(conn *c, bool small)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int size = 16384;
    if (c->fd >= 0 && small) {
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    if (c->fd < 0 ||
        connect(c->fd, (struct sockaddr *)&address, sizeof address) < 0)
        lab_fail("to connect to the server on 127.0.0.1", "%s",
                 strerror(errno));
    c->sent = c->received = 0;
}

static void step_send(conn *c, const char *text, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t m = send(c->fd, text + done, n - done, MSG_NOSIGNAL);
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0)
            lab_fail("the server to take the bytes", "send failed: %s",
                     strerror(errno));
        done += (size_t)m;
    }
}

/* Reads up to n bytes within the deadline; returns how many (less when
 * the server closed or time ran out: *closed says which). */
static size_t read_some(conn *c, char *into, size_t n, double deadline,
                        bool *closed, int *error)
{
    size_t got = 0;
    *closed = false;
    *error = 0;
    while (got < n && wait_for(c->fd, POLLIN, deadline)) {
        ssize_t m = recv(c->fd, into + got, n - got, 0);
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0) {
            *error = errno;
            break;
        }
        if (m == 0) {
            *closed = true;
            break;
        }
        got += (size_t)m;
    }
    return got;
}

static void step_expect(conn *c, const char *text, size_t n)
{
    char *got = malloc(n + 1);
    if (got == NULL)
        lab_fail("memory for the reply", "none");
    bool closed;
    int error;
    size_t m = read_some(c, got, n, now() + wait_seconds, &closed, &error);
    if (m < n || memcmp(got, text, n) != 0) {
        char expected[256];
        snprintf(expected, sizeof expected, "the echo \"%s\"", shown(text, n));
        lab_fail(expected, "\"%s\"%s", shown(got, m),
                 m == n   ? ""
                 : closed ? ", then the server closed the connection"
                 : error  ? ", then an error"
                          : ", then nothing more within the time limit");
    }
    free(got);
}

static void step_quiet(conn *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int rc = poll(&p, 1, 0);
    if (rc != 0) {
        char byte;
        ssize_t m = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        lab_fail("nothing yet: the server is still busy with another client",
                 "%s",
                 m == 0 ? "the server closed this connection"
                        : "bytes have arrived already");
    }
}

static void step_eof(conn *c)
{
    char byte;
    bool closed;
    int error;
    size_t m = read_some(c, &byte, 1, now() + wait_seconds, &closed, &error);
    if (m == 1)
        lab_fail("the server to close the connection, sending nothing more",
                 "one more byte: \"%s\"", shown(&byte, 1));
    if (!closed && error == 0)
        lab_fail("the server to close the connection (end of stream)",
                 "it stayed open for %.0f s", wait_seconds);
}

/* Checks received pattern bytes. */
static void check_pattern(conn *c, const unsigned char *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (bytes[i] != pattern(c->received + i))
            lab_fail("every byte back in the order it was sent",
                     "byte %llu came back as %u instead of %u", c->received + i,
                     bytes[i], pattern(c->received + i));
    }
    c->received += n;
}

/* Sends from the pattern what the socket takes now (non-blocking). */
static void send_pattern_now(conn *c, unsigned long long until)
{
    unsigned char chunk[CHUNK];
    while (c->sent < until) {
        size_t n = until - c->sent < CHUNK ? (size_t)(until - c->sent) : CHUNK;
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern(c->sent + i);
        ssize_t m = send(c->fd, chunk, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (m < 0)
            lab_fail("the server to take the bytes",
                     "send failed after %llu "
                     "bytes: %s",
                     c->sent, strerror(errno));
        c->sent += (unsigned long long)m;
    }
}

/* Reads what has arrived (non-blocking) and checks it. */
static bool receive_now(conn *c)
{
    unsigned char chunk[CHUNK];
    ssize_t m = recv(c->fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (m > 0) {
        check_pattern(c, chunk, (size_t)m);
        return true;
    }
    if (m == 0)
        lab_fail("the echo of every byte before the server closes",
                 "the server closed the connection after echoing %llu of "
                 "%llu bytes",
                 c->received, c->sent);
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        lab_fail("the echo of every byte", "%s after %llu bytes",
                 strerror(errno), c->received);
    return false;
}

/* Sends up to `total` pattern bytes and reads the echo, both as the
 * sockets allow, until everything sent has come back. */
static void step_stream(conn *c, unsigned long long total)
{
    double deadline = now() + 2 * wait_seconds;
    while (c->received < total) {
        struct pollfd p = {
            .fd = c->fd,
            .events = (short)(POLLIN | (c->sent < total ? POLLOUT : 0))};
        if (now() > deadline)
            lab_fail("every byte echoed",
                     "%llu of %llu bytes came back "
                     "within %.0f s (%llu sent)",
                     c->received, total, 2 * wait_seconds, c->sent);
        if (poll(&p, 1, 100) < 0 && errno != EINTR)
            lab_fail("poll to work", "%s", strerror(errno));
        if (p.revents & POLLOUT)
            send_pattern_now(c, total);
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
            while (receive_now(c))
                continue;
    }
}

static bool file_has(const char *file, const char *text)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

static void step_fill(conn *c, const char *file, const char *text)
{
    double deadline = now() + wait_seconds;
    const unsigned long long most = 256ULL << 20;
    while (!file_has(file, text)) {
        if (now() > deadline || c->sent >= most) {
            char expected[300];
            snprintf(expected, sizeof expected,
                     "the server's log to say \"%s\" while this client sends "
                     "and does not read",
                     text);
            lab_fail(expected,
                     "no such line after %llu bytes sent and "
                     "%.0f s",
                     c->sent, wait_seconds);
        }
        send_pattern_now(c, most);
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        poll(&p, 1, 20);
    }
}

static void step_drain(conn *c)
{
    double deadline = now() + 2 * wait_seconds;
    while (c->received < c->sent) {
        if (now() > deadline)
            lab_fail("every byte sent to come back once the client reads",
                     "%llu of %llu bytes came back within %.0f s", c->received,
                     c->sent, 2 * wait_seconds);
        if (wait_for(c->fd, POLLIN, now() + 0.1))
            while (receive_now(c))
                continue;
    }
}

static void step_log(const char *file, const char *text)
{
    double deadline = now() + wait_seconds;
    while (!file_has(file, text)) {
        if (now() > deadline) {
            char expected[300];
            snprintf(expected, sizeof expected,
                     "the server's log to say \"%s\"", text);
            lab_fail(expected, "no such line within %.0f s", wait_seconds);
        }
        struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
        nanosleep(&pause, NULL); /* polls a file: there is no readiness */
    }
}

static void run_step(char *step)
{
    lab_did("%s", step);
    char *verb = strtok(step, " ");
    char *name = strtok(NULL, " ");
    char *rest = strtok(NULL, "");
    if (verb == NULL)
        lab_fail("a step", "an empty one");
    if (strcmp(verb, "log") == 0) {
        char *file = rest != NULL ? strtok(rest, " ") : NULL;
        char *text = file != NULL ? strtok(NULL, "") : NULL;
        if (text == NULL)
            lab_fail("log C FILE TEXT", "'%s'", step);
        unescape(text);
        step_log(file, text);
        return;
    }
    conn *c = conn_of(name, strcmp(verb, "open") != 0);
    if (strcmp(verb, "open") == 0) {
        step_open(c, rest != NULL && strcmp(rest, "small") == 0);
    } else if (strcmp(verb, "send") == 0 || strcmp(verb, "expect") == 0) {
        if (rest == NULL)
            lab_fail("some text to send or expect", "none");
        size_t n = unescape(rest);
        if (verb[0] == 's')
            step_send(c, rest, n);
        else
            step_expect(c, rest, n);
    } else if (strcmp(verb, "quiet") == 0) {
        step_quiet(c);
    } else if (strcmp(verb, "shut") == 0) {
        if (shutdown(c->fd, SHUT_WR) < 0)
            lab_fail("shutdown(SHUT_WR) to work", "%s", strerror(errno));
    } else if (strcmp(verb, "eof") == 0) {
        step_eof(c);
    } else if (strcmp(verb, "close") == 0) {
        close(c->fd);
        c->fd = -1;
    } else if (strcmp(verb, "stream") == 0) {
        step_stream(c, rest != NULL ? strtoull(rest, NULL, 10) : 0);
    } else if (strcmp(verb, "fill") == 0) {
        char *file = rest != NULL ? strtok(rest, " ") : NULL;
        char *text = file != NULL ? strtok(NULL, "") : NULL;
        if (text == NULL)
            lab_fail("fill C FILE TEXT", "no FILE or TEXT");
        unescape(text);
        step_fill(c, file, text);
    } else if (strcmp(verb, "drain") == 0) {
        step_drain(c);
    } else {
        lab_fail("a known step (open, send, expect, ...)", "'%s'", verb);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT STEP...\n", argv[0]);
        return 2;
    }
    port = (unsigned short)strtoul(argv[1], NULL, 10);
    const char *wait = getenv("LAB_PEER_WAIT");
    if (wait != NULL && atof(wait) > 0)
        wait_seconds = atof(wait);
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 2; i < argc; i++)
        run_step(argv[i]);
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    return 0;
}
