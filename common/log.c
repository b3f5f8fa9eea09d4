/*
 * log.c - see log.h. One fprintf per line so that lines from several
 * threads do not interleave (stdio locks the stream for each call).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"error", "warn", "info", "debug"};

bool log_level_parse(const char *text, log_level *out)
{
    for (int i = LOG_ERROR; i <= LOG_DEBUG; i++) {
        if (text != NULL && strcmp(text, names[i]) == 0) {
            *out = (log_level)i;
            return true;
        }
    }
    return false;
}

const char *log_level_name(log_level level)
{
    return level >= LOG_ERROR && level <= LOG_DEBUG ? names[level] : "?";
}

static void vprint(const char *program, const char *level, const char *format,
                   va_list args)
{
    char line[1024];
    vsnprintf(line, sizeof line, format, args); /* truncates, never overflows */
    if (level != NULL)
        fprintf(stderr, "%s: %s: %s\n", program, level, line);
    else
        fprintf(stderr, "%s: %s\n", program, line);
}

void log_at(log_level threshold, log_level level, const char *program,
            const char *format, ...)
{
    if (level > threshold)
        return;
    va_list args;
    va_start(args, format);
    vprint(program, log_level_name(level), format, args);
    va_end(args);
}

void die(const char *program, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vprint(program, NULL, format, args);
    va_end(args);
    exit(1);
}
