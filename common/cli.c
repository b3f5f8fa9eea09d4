/* cli.c - see cli.h. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

bool cli_parse_ulong(const char *text, unsigned long min, unsigned long max,
                     unsigned long *out)
{
    /* strtoul accepts leading spaces and a minus sign; we do not. */
    if (text == NULL || !isdigit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < min || value > max)
        return false;
    *out = value;
    return true;
}

bool cli_parse_port(const char *text, uint16_t *out)
{
    unsigned long value;
    if (!cli_parse_ulong(text, 0, 65535, &value))
        return false;
    *out = (uint16_t)value;
    return true;
}

uint16_t cli_port_or_die(const char *program, const char *text, uint16_t min)
{
    uint16_t port;
    if (!cli_parse_port(text, &port) || port < min)
        die(program, "bad port '%s': want %u to 65535", text, (unsigned)min);
    return port;
}

unsigned long cli_ulong_or_die(const char *program, const char *what,
                               const char *text, unsigned long min,
                               unsigned long max)
{
    unsigned long value;
    if (!cli_parse_ulong(text, min, max, &value))
        die(program, "bad %s '%s': want %lu to %lu", what, text, min, max);
    return value;
}

log_level cli_log_level_or_die(const char *program, const char *text)
{
    log_level level;
    if (!log_level_parse(text, &level))
        die(program, "bad log level '%s': want error, warn, info or debug",
            text);
    return level;
}
