/* tap.c - see tap.h. */
#include "tap.h"

#include <stdarg.h>

void tap_report(tap *t, int passed, const char *file, int line,
                const char *format, ...)
{
    va_list args;
    t->run++;
    if (!passed)
        t->failed++;
    printf("%s %d - ", passed ? "ok" : "not ok", t->run);
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    if (!passed)
        printf("#   failed at %s:%d\n", file, line);
    fflush(stdout);
}

int tap_done(tap *t)
{
    printf("1..%d\n", t->run);
    if (t->failed > 0)
        printf("# %d of %d checks failed\n", t->failed, t->run);
    return t->failed > 0 ? 1 : 0;
}
