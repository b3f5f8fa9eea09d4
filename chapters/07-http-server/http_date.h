/*
 * http_date.h - HTTP's dates (RFC 9110 §5.6.7), written and read without
 * the C library's time functions.
 *
 * A server writes one format only, IMF-fixdate:
 *
 *     Sun, 06 Nov 1994 08:49:37 GMT
 *
 * and must accept two obsolete ones as well, still sent by old clients and
 * caches:
 *
 *     Sunday, 06-Nov-94 08:49:37 GMT     (RFC 850, a two-digit year)
 *     Sun Nov  6 08:49:37 1994           (C's asctime)
 *
 * Why not strftime and timegm: strftime's day and month names follow the
 * locale, and timegm is not POSIX (mktime works in local time). A date is
 * a count of days plus a time of day, and converting days to a civil date
 * is a dozen lines of integer arithmetic, so it is written here, as plain
 * functions of their arguments: no clock, no locale, no global state.
 */
#ifndef NIO_HTTP_DATE_H
#define NIO_HTTP_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IMF-fixdate is 29 characters; this holds one and its final NUL. */
#define HTTP_DATE_SIZE 30

/* Writes `seconds` since 1970-01-01 00:00:00 UTC as an IMF-fixdate.
 * Returns false, writing "", for a time outside the years 0000..9999. */
bool http_date_format(int64_t seconds, char out[HTTP_DATE_SIZE]);

/* Reads any of the three formats, exactly (they are case-sensitive, with
 * single spaces), checking that the day exists and that the day of the
 * week is right. `now` (seconds since 1970) places a two-digit RFC 850
 * year in the century that keeps it within 50 years of now, as RFC 9110
 * asks. A leap second (:60) reads as the next minute's first second.
 * Returns false, changing nothing, when the text is not a valid date. */
bool http_date_parse(const char *text, size_t length, int64_t now,
                     int64_t *seconds);

/* Days since 1970-01-01 of a date in the proleptic Gregorian calendar
 * (month 1..12, day 1..31), and back. Exposed for the tests. */
int64_t http_days_from_civil(int64_t year, int month, int day);
void http_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

#endif
