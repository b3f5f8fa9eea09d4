/*
 * cli.h - parsing numbers from the command line without atoi's silence:
 * "80x", "", "-1" and "99999" are errors, not 80, 0, a huge value or 34463.
 * The *_or_die helpers are the option cases many programs share: they
 * return the value or exit through die() with the usual one-line reason.
 */
#ifndef NIO_CLI_H
#define NIO_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

/* A whole decimal number in [min, max]; false for anything else. */
bool cli_parse_ulong(const char *text, unsigned long min, unsigned long max,
                     unsigned long *out);
/* A TCP port, 0 to 65535 (0: any free port). */
bool cli_parse_port(const char *text, uint16_t *out);

/* -p/--port: a port from `min` (0 for servers, 1 for clients) to 65535, or
 * die with "bad port 'TEXT': want MIN to 65535". */
uint16_t cli_port_or_die(const char *program, const char *text, uint16_t min);
/* Any other number in [min, max], or die with "bad WHAT 'TEXT': want MIN
 * to MAX" (WHAT says what it counts, unit included: "timeout in ms"). */
unsigned long cli_ulong_or_die(const char *program, const char *what,
                               const char *text, unsigned long min,
                               unsigned long max);
/* -l/--log-level: error, warn, info or debug, or die saying so. */
log_level cli_log_level_or_die(const char *program, const char *text);

#endif
