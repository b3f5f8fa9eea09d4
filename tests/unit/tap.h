/*
 * tap.h - the smallest Test Anything Protocol producer: unit tests are
 * plain programs that print "ok N - what" or "not ok N - what", and
 * Bats runs them and checks that no line says "not ok".
 */
#ifndef NIO_TAP_H
#define NIO_TAP_H

#include <stdio.h>

typedef struct tap {
    int run;
    int failed;
} tap;

/* Records one check; prints where it failed so the line can be found. */
#define TAP_OK(t, cond, ...)                                                   \
    tap_report((t), (cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

void tap_report(tap *t, int passed, const char *file, int line,
                const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Prints the plan "1..N" and returns the exit status for main. */
int tap_done(tap *t);

#endif
