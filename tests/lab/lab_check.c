/* lab_check.c - see lab_check.h. */
#include "lab_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char did[512] = "(the stage had not said yet)";
static int passed_checks;

void lab_did(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(did, sizeof did, format, args);
    va_end(args);
    /* Said at once as well: if the learner's code crashes next, this line
     * is what tells which step it was. */
    printf("step: %s\n", did);
}

/* _exit, not exit: a stage stopped half-way still holds what it made, and
 * the leak checker must not call that a leak of the learner's. */
static void lab_exit_failed(void) __attribute__((noreturn));
static void lab_exit_failed(void)
{
    fflush(stdout);
    _exit(1);
}

static void report(const char *expected, const char *got_format, va_list args)
{
    printf("did:      %s\n", did);
    printf("expected: %s\n", expected);
    printf("got:      ");
    vprintf(got_format, args);
    printf("\n");
    fflush(stdout);
}

void lab_expect(bool passed, const char *file, int line, const char *expected,
                const char *got_format, ...)
{
    if (passed) {
        passed_checks++;
        return;
    }
    va_list args;
    va_start(args, got_format);
    report(expected, got_format, args);
    va_end(args);
    printf("(the check is %s:%d)\n", file, line);
    lab_exit_failed();
}

void lab_fail(const char *expected, const char *got_format, ...)
{
    va_list args;
    va_start(args, got_format);
    report(expected, got_format, args);
    va_end(args);
    lab_exit_failed();
}

int lab_main(int argc, char **argv, const lab_stage *stages, size_t count)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < count; i++)
            printf("%s\n", stages[i].name);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s STAGE | --list\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(argv[1], stages[i].name) == 0) {
            /* A crash must not lose what was said before it. */
            setvbuf(stdout, NULL, _IOLBF, 0);
            stages[i].run();
            printf("%d checks passed\n", passed_checks);
            return 0;
        }
    }
    fprintf(stderr, "%s: no stage named '%s'\n", argv[0], argv[1]);
    return 2;
}
