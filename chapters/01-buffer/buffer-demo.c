/*
 * buffer-demo.c - chapter 1's program: shows what a buffer's indexes do.
 *
 * With no arguments it walks through the life of one 8-byte buffer (put,
 * flip, get, mark, reset, compact, rewind, clear, the two errors, views,
 * byte order) and draws the bytes and the four indexes after every step.
 * With --copy it copies stdin to stdout through a tiny buffer with the
 * read -> flip -> write -> compact loop that every later chapter uses.
 */
#include "buffer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define PROGRAM      "buffer-demo"
#define DEFAULT_SIZE 16
#define MAX_SIZE     65536

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [--copy [--size N]] [--help]\n"
            "\n"
            "With no option, walks one 8-byte buffer through put, flip, get,\n"
            "mark, reset, compact, rewind, clear, an overflow, an underflow,\n"
            "a slice, a duplicate and both byte orders, and draws the buffer\n"
            "after every step.\n"
            "\n"
            "  --copy     copy standard input to standard output through a\n"
            "             tiny buffer (read, flip, write, compact); only this\n"
            "             option copies, whatever standard input is\n"
            "  --size N   the copy buffer's capacity, 1 to %d (default %d)\n"
            "  -h, --help print this help and exit\n"
            "\n"
            "In the pictures: m = mark, p = position, l = limit,\n"
            "c = capacity; '=' under a cell means it lies between position\n"
            "and limit (the bytes the next get or put works on).\n",
            MAX_SIZE, DEFAULT_SIZE);
}

/* --- drawing ---------------------------------------------------------- */

/* excerpt:begin draw */
/* Each cell is 5 columns wide: "|'h' " for a printable byte, "| 0a " for
 * any other. The markers go under the cell their index names; an index
 * equal to the capacity names the slot just past the last cell. */
static void draw(const char *name, const buffer *b)
{
    size_t cap = buffer_capacity(b), pos = buffer_position(b);
    size_t lim = buffer_limit(b), mark = 0;
    bool marked = buffer_mark_value(b, &mark);
    const uint8_t *bytes = buffer_const_array(b);

    printf("\n      ");
    for (size_t i = 0; i < cap; i++)
        printf(i == 0 ? "%3zu" : "%5zu", i);
    printf("\n      +");
    for (size_t i = 0; i < cap; i++)
        printf("----+");
    printf("\n    %s |", name);
    for (size_t i = 0; i < cap; i++) {
        if (bytes[i] > ' ' && bytes[i] < 0x7f)
            printf("'%c' |", bytes[i]);
        else
            printf(" %02x |", bytes[i]);
    }
    printf("\n      +");
    for (size_t i = 0; i < cap; i++)
        printf("%s+", i >= pos && i < lim ? "====" : "----");
    /* One slot per index 0..capacity; letters at one index sit side by
     * side, in the order the invariant puts them: m <= p <= l <= c. */
    printf("\n      ");
    for (size_t i = 0; i <= cap; i++) {
        char slot[8] = "  ";
        size_t n = 2;
        if (marked && mark == i)
            slot[n++] = 'm';
        if (pos == i)
            slot[n++] = 'p';
        if (lim == i)
            slot[n++] = 'l';
        if (cap == i)
            slot[n++] = 'c';
        printf(i < cap ? "%-5s" : "%s", slot);
    }
    printf("\n      position=%zu limit=%zu capacity=%zu mark=", pos, lim, cap);
    if (marked)
        printf("%zu", mark);
    else
        printf("none");
    printf(" remaining=%zu%s%s\n", buffer_remaining(b),
           buffer_get_order(b) == BUFFER_LITTLE_ENDIAN ? " little-endian" : "",
           buffer_is_read_only(b) ? " read-only" : "");
}
/* excerpt:end draw */

/* The title of one step: its number, the Java call, the C call, and a
 * sentence on what to look at in the picture that follows. */
static void step(int *n, const char *java, const char *c, const char *note)
{
    ++*n;
    printf("\n%2d. Java: %s\n    C:    %s\n    %s\n", *n, java, c, note);
}

static void status_line(buffer_status s)
{
    printf("    -> %s\n", buffer_status_name(s));
}

static void byte_line(const char *what, const uint8_t *bytes, size_t n)
{
    printf("    -> %s", what);
    for (size_t i = 0; i < n; i++)
        printf(" '%c'", bytes[i]);
    printf("\n");
}

/* --- the walk-through ------------------------------------------------- */

static int walkthrough(void)
{
    int n = 0;
    uint8_t got[4];
    buffer *b = buffer_allocate(8);
    if (b == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }

    printf("One 8-byte buffer, step by step. m = mark, p = position, "
           "l = limit,\nc = capacity; '=' marks the cells between position "
           "and limit.\n");

    step(&n, "ByteBuffer b = ByteBuffer.allocate(8);",
         "buffer *b = buffer_allocate(8);",
         "A new buffer is zero-filled and ready to be written.");
    draw("b", b);

    step(&n, "b.put(\"hello\".getBytes());",
         "buffer_put_bytes(b, \"hello\", 5);",
         "Each put lands at position, and position moves on.");
    buffer_put_bytes(b, "hello", 5);
    draw("b", b);

    step(&n, "b.flip();", "buffer_flip(b);",
         "Now read what was written: limit = old position, position = 0.");
    buffer_flip(b);
    draw("b", b);

    step(&n, "b.get(); b.get();", "buffer_get(b, &x); buffer_get(b, &y);",
         "Each get takes the byte at position, and position moves on.");
    buffer_get(b, &got[0]);
    buffer_get(b, &got[1]);
    byte_line("got", got, 2);
    draw("b", b);

    step(&n, "b.mark();", "buffer_mark(b);",
         "The mark remembers the position, to come back to it.");
    buffer_mark(b);
    draw("b", b);

    step(&n, "b.get();", "buffer_get(b, &z);", "Read on past the mark.");
    buffer_get(b, &got[2]);
    byte_line("got", got + 2, 1);
    draw("b", b);

    step(&n, "b.reset();", "buffer_reset(b);",
         "Position goes back to the mark: the 'l' can be read again.");
    status_line(buffer_reset(b));
    draw("b", b);

    step(&n, "b.compact();", "buffer_compact(b);",
         "The 3 unread bytes move to the front and position = 3, ready "
         "to put\n    after them. The old bytes at 3 and 4 stay until "
         "overwritten; the mark\n    is gone.");
    status_line(buffer_compact(b));
    draw("b", b);

    step(&n, "b.reset();  // throws InvalidMarkException", "buffer_reset(b);",
         "No mark to go back to: an error, and nothing changes.");
    status_line(buffer_reset(b));
    draw("b", b);

    step(&n, "b.put(\"xyz\".getBytes());", "buffer_put_bytes(b, \"xyz\", 3);",
         "More bytes go in after the ones compact kept.");
    buffer_put_bytes(b, "xyz", 3);
    draw("b", b);

    step(&n, "b.rewind();", "buffer_rewind(b);",
         "Position = 0 but the limit stays at 8: reading now would also "
         "return\n    the two bytes nobody wrote. After writing, flip is what "
         "you want.");
    buffer_rewind(b);
    draw("b", b);

    step(&n, "b.clear();", "buffer_clear(b);",
         "Position = 0, limit = capacity. The bytes are still there: clear "
         "forgets,\n    it does not erase.");
    buffer_clear(b);
    draw("b", b);

    step(&n, "b.put(\"123456789\".getBytes());  // BufferOverflowException",
         "buffer_put_bytes(b, \"123456789\", 9);",
         "9 bytes do not fit in the 8 remaining: none is written.");
    status_line(buffer_put_bytes(b, "123456789", 9));
    draw("b", b);

    step(&n, "b.put(\"hi\".getBytes()); b.flip();",
         "buffer_put_bytes(b, \"hi\", 2); buffer_flip(b);",
         "Two bytes to read.");
    buffer_put_bytes(b, "hi", 2);
    buffer_flip(b);
    draw("b", b);

    step(&n, "b.get(new byte[3]);  // BufferUnderflowException",
         "buffer_get_bytes(b, dst, 3);",
         "3 bytes asked, 2 remaining: none is taken.");
    status_line(buffer_get_bytes(b, got, 3));
    draw("b", b);

    step(&n,
         "b.clear(); b.put(\"abcdefgh\".getBytes()); "
         "b.position(2); b.limit(6);",
         "buffer_clear(b); buffer_put_bytes(b, \"abcdefgh\", 8);\n"
         "          buffer_set_position(b, 2); buffer_set_limit(b, 6);",
         "Set up a window from 2 to 6 for the views below.");
    buffer_clear(b);
    buffer_put_bytes(b, "abcdefgh", 8);
    buffer_set_position(b, 2);
    buffer_set_limit(b, 6);
    draw("b", b);

    step(&n, "ByteBuffer s = b.slice(); s.put(0, (byte) 'C');",
         "buffer *s = buffer_slice(b); buffer_put_at(s, 0, 'C');",
         "The slice is the window as a buffer of its own: its index 0 is "
         "b's index 2.\n    A byte put through the slice shows in b: they "
         "share the bytes.");
    buffer *s = buffer_slice(b);
    if (s != NULL)
        buffer_put_at(s, 0, 'C');
    if (s != NULL)
        draw("s", s);
    draw("b", b);

    step(&n, "ByteBuffer d = b.duplicate(); d.position(3); d.put((byte) 'D');",
         "buffer *d = buffer_duplicate(b);\n"
         "          buffer_set_position(d, 3); buffer_put(d, 'D');",
         "A duplicate starts with b's indexes but moves its own: "
         "b's position\n    stays at 2. The bytes are shared again.");
    buffer *d = buffer_duplicate(b);
    if (d != NULL) {
        buffer_set_position(d, 3);
        buffer_put(d, 'D');
        draw("d", d);
    }
    draw("b", b);

    step(&n,
         "b.asReadOnlyBuffer().put((byte) 'x');\n"
         "          // throws ReadOnlyBufferException",
         "buffer *r = buffer_as_read_only(b); buffer_put(r, 'x');",
         "A read-only view refuses every write.");
    buffer *r = buffer_as_read_only(b);
    if (r != NULL) {
        status_line(buffer_put(r, 'x'));
        draw("r", r);
    }

    step(&n, "b.clear(); b.putInt(0x01020304);",
         "buffer_clear(b); buffer_put_int(b, 0x01020304);",
         "Big-endian, the default: the most significant byte comes first.");
    buffer_clear(b);
    buffer_put_int(b, 0x01020304);
    draw("b", b);

    step(&n, "b.order(ByteOrder.LITTLE_ENDIAN); b.putInt(0x01020304);",
         "buffer_set_order(b, BUFFER_LITTLE_ENDIAN);\n"
         "          buffer_put_int(b, 0x01020304);",
         "Little-endian: the same int, least significant byte first.");
    buffer_set_order(b, BUFFER_LITTLE_ENDIAN);
    buffer_put_int(b, 0x01020304);
    draw("b", b);

    buffer_free(r);
    buffer_free(d);
    buffer_free(s);
    buffer_free(b);
    if (s == NULL || d == NULL || r == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    return 0;
}

/* --- the copy loop ---------------------------------------------------- */

/* Java's channel.read(buffer): read(2) into the room between position and
 * limit, and move position past what arrived. Returns the byte count, 0 at
 * the end of the input, -1 with errno on error. Chapter 2 turns this pair
 * of functions into a Channel. */
static ssize_t read_into(int fd, buffer *b)
{
    ssize_t n;
    do
        n = read(fd, buffer_array(b) + buffer_position(b), buffer_remaining(b));
    while (n < 0 && errno == EINTR);
    if (n > 0)
        buffer_set_position(b, buffer_position(b) + (size_t)n);
    return n;
}

/* Java's channel.write(buffer): one write(2) of the bytes between
 * position and limit. It may write fewer than asked (a short write);
 * position moves past what was written and the rest waits for the next
 * call. Returns the byte count or -1 with errno. */
static ssize_t write_from(int fd, buffer *b)
{
    ssize_t n;
    if (!buffer_has_remaining(b))
        return 0;
    do
        n = write(fd, buffer_const_array(b) + buffer_position(b),
                  buffer_remaining(b));
    while (n < 0 && errno == EINTR);
    if (n > 0)
        buffer_set_position(b, buffer_position(b) + (size_t)n);
    return n;
}

/* excerpt:begin copy */
/* The buffer spends its life in "filling" mode; it turns to "draining"
 * mode only between flip and compact. Bytes a short write leaves behind
 * survive compact and go out on the next turn, so nothing is lost or sent
 * twice, whatever the sizes. */
static int copy(int in, int out, buffer *b)
{
    bool input_open = true;
    while (input_open || buffer_position(b) > 0) {
        /* A full buffer has no room: read(2) of 0 bytes would return 0
         * and look like the end of the input. */
        if (input_open && buffer_has_remaining(b)) {
            ssize_t n = read_into(in, b);
            if (n < 0)
                return -1;
            input_open = n > 0;
        }
        buffer_flip(b);
        if (write_from(out, b) < 0)
            return -1;
        buffer_compact(b);
    }
    return 0;
}
/* excerpt:end copy */

/* --- main ------------------------------------------------------------- */

/* A whole decimal number in [1, MAX_SIZE]; strtoul alone would accept
 * "-1", "12x" and "". */
static bool parse_size(const char *text, size_t *out)
{
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > MAX_SIZE)
        return false;
    *out = (size_t)v;
    return true;
}

int main(int argc, char **argv)
{
    bool copy_mode = false, size_given = false;
    size_t size = DEFAULT_SIZE;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--copy") == 0) {
            copy_mode = true;
        } else if (strcmp(arg, "--size") == 0) {
            if (!parse_size(argv[i + 1], &size)) {
                fprintf(stderr,
                        PROGRAM ": --size needs a number from 1 to %d\n",
                        MAX_SIZE);
                return 2;
            }
            size_given = true;
            i++;
        } else {
            fprintf(stderr, PROGRAM ": unknown argument '%s' (try --help)\n",
                    arg);
            return 2;
        }
    }
    if (size_given && !copy_mode) {
        fprintf(stderr, PROGRAM ": --size only goes with --copy\n");
        return 2;
    }
    if (!copy_mode) {
        int rc = walkthrough();
        /* stdio keeps write errors to itself until asked. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, PROGRAM ": cannot write the output\n");
            return 1;
        }
        return rc;
    }

    buffer *b = buffer_allocate(size);
    if (b == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return 1;
    }
    int rc = copy(STDIN_FILENO, STDOUT_FILENO, b);
    int saved = errno;
    buffer_free(b);
    if (rc < 0) {
        fprintf(stderr, PROGRAM ": copy failed: %s\n", strerror(saved));
        return 1;
    }
    return 0;
}
