/*
 * cli.h - parsing numbers from the command line without atoi's silence:
 * "80x", "", "-1" and "99999" are errors, not 80, 0, a huge value or 34463.
 */
#ifndef NIO_CLI_H
#define NIO_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* A whole decimal number in [min, max]; false for anything else. */
bool cli_parse_ulong(const char *text, unsigned long min, unsigned long max,
                     unsigned long *out);
/* A TCP port, 0 to 65535 (0: any free port). */
bool cli_parse_port(const char *text, uint16_t *out);

#endif
