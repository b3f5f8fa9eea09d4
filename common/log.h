/*
 * log.h - leveled logging to stderr, and die() for fatal start-up errors.
 *
 * Programs print their teaching output to stdout; everything here goes to
 * stderr so that the two never mix. The level is a value passed around by
 * the caller (no hidden global): programs keep one in main and hand it on.
 */
#ifndef NIO_LOG_H
#define NIO_LOG_H

#include <stdbool.h>

typedef enum log_level {
    LOG_ERROR = 0,
    LOG_WARN,
    LOG_INFO,
    LOG_DEBUG
} log_level;

/* "error", "warn", "info" or "debug" -> level; false for anything else. */
bool log_level_parse(const char *text, log_level *out);
const char *log_level_name(log_level level);

/* Prints "PROGRAM: LEVEL: message" when `level` <= `threshold`. */
void log_at(log_level threshold, log_level level, const char *program,
            const char *format, ...) __attribute__((format(printf, 4, 5)));

/* Prints "PROGRAM: message" to stderr and exits with status 1. For errors
 * found while starting up (bad arguments, a port in use), never for input
 * that arrives over a connection. */
_Noreturn void die(const char *program, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
