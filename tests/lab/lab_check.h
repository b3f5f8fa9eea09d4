/*
 * lab_check.h - what a lab's stage checks share. A check program holds the
 * stages of one chapter; `check-program STAGE` runs one of them. A stage is
 * a function that does something to the learner's code and says, in plain
 * words, what it did and what it expected: the first check that fails
 * prints
 *
 *     did:      <what the stage did>
 *     expected: <what the lesson says should happen>
 *     got:      <what came back>
 *
 * and ends the program with status 1, so that one mistake gives one
 * message, not a cascade. tools/lab-check.sh runs the program under a
 * timeout and with the sanitizers, and tells a crash or a hang apart.
 */
#ifndef NIO_LAB_CHECK_H
#define NIO_LAB_CHECK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lab_stage {
    const char *name;
    void (*run)(void);
} lab_stage;

/* Says what the stage does next; shown as "did:" when a check fails. */
void lab_did(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Checks COND; when false, prints did/expected/got and exits 1. EXPECTED
 * is plain words; the rest is a printf format for what came back. */
#define LAB_EXPECT(cond, expected, ...)                                        \
    lab_expect((cond) ? true : false, __FILE__, __LINE__, (expected),          \
               __VA_ARGS__)

void lab_expect(bool passed, const char *file, int line, const char *expected,
                const char *got_format, ...)
    __attribute__((format(printf, 5, 6)));

/* Fails at once, for a step that could not even be done ("allocate
 * returned NULL"). */
void lab_fail(const char *expected, const char *got_format, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Runs the stage named by argv[1] (--list prints the names). */
int lab_main(int argc, char **argv, const lab_stage *stages, size_t count);

#endif
