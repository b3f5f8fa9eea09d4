/*
 * test_http_date.c - HTTP dates of chapter 7: the civil-date arithmetic
 * against POSIX gmtime_r, the IMF-fixdate writer, and the reader of the
 * three formats RFC 9110 §5.6.7 makes recipients accept.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "07-http-server/http_date.h"
#include "tap.h"

/* 2025-06-15 12:00:00 UTC: the "now" of the two-digit-year rule. */
#define NOW 1749988800

static bool parses(const char *text, int64_t expected)
{
    int64_t got = -1;
    return http_date_parse(text, strlen(text), NOW, &got) && got == expected;
}

static bool refused(const char *text)
{
    int64_t got = 777;
    return !http_date_parse(text, strlen(text), NOW, &got) && got == 777;
}

static void check_format(tap *t)
{
    static const struct {
        int64_t seconds;
        const char *text;
    } dates[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"}, /* RFC 9110's example */
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {1709164800, "Thu, 29 Feb 2024 00:00:00 GMT"},
        {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
        {-2208988800, "Mon, 01 Jan 1900 00:00:00 GMT"},
        {4107542399, "Sun, 28 Feb 2100 23:59:59 GMT"},
        {4107542400, "Mon, 01 Mar 2100 00:00:00 GMT"}, /* 2100 is not leap */
        {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
        {-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT"},
    };
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        char out[HTTP_DATE_SIZE];
        TAP_OK(t,
               http_date_format(dates[i].seconds, out) &&
                   strcmp(out, dates[i].text) == 0,
               "%lld formats as \"%s\" (got \"%s\")",
               (long long)dates[i].seconds, dates[i].text, out);
        TAP_OK(t, parses(dates[i].text, dates[i].seconds),
               "and \"%s\" parses back", dates[i].text);
    }
    char out[HTTP_DATE_SIZE] = "x";
    TAP_OK(t, !http_date_format(253402300800, out) && out[0] == '\0',
           "the year 10000 does not fit in four digits");
    TAP_OK(t, !http_date_format(-62167219201, out) && out[0] == '\0',
           "nor does the year -1");
}

/* The arithmetic against the C library, one day at a time over the
 * years 1900..2200 and at every hour of a sample of seconds. */
static void check_against_gmtime(tap *t)
{
    int bad_days = 0;
    int64_t start = http_days_from_civil(1900, 1, 1);
    int64_t stop = http_days_from_civil(2200, 12, 31);
    for (int64_t d = start; d <= stop; d++) {
        time_t seconds = (time_t)(d * 86400 + 3723);
        struct tm tm;
        int64_t year;
        int month, day;
        http_civil_from_days(d, &year, &month, &day);
        if (gmtime_r(&seconds, &tm) == NULL || year != tm.tm_year + 1900 ||
            month != tm.tm_mon + 1 || day != tm.tm_mday ||
            http_days_from_civil(year, month, day) != d)
            bad_days++;
    }
    TAP_OK(t, bad_days == 0,
           "civil dates agree with gmtime_r from 1900 to 2200 (%d differ)",
           bad_days);

    static const char names[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
    int bad_times = 0;
    for (int64_t s = -2000000000; s < 4000000000; s += 7777777) {
        time_t seconds = (time_t)s;
        struct tm tm;
        char mine[HTTP_DATE_SIZE], theirs[64];
        gmtime_r(&seconds, &tm);
        snprintf(theirs, sizeof theirs, "%s, %02d", names[tm.tm_wday],
                 tm.tm_mday);
        int64_t back = 0;
        if (!http_date_format(s, mine) || strncmp(mine, theirs, 7) != 0 ||
            tm.tm_hour != (mine[17] - '0') * 10 + (mine[18] - '0') ||
            tm.tm_min != (mine[20] - '0') * 10 + (mine[21] - '0') ||
            tm.tm_sec != (mine[23] - '0') * 10 + (mine[24] - '0') ||
            !http_date_parse(mine, 29, NOW, &back) || back != s)
            bad_times++;
    }
    TAP_OK(t, bad_times == 0,
           "format and parse agree with gmtime_r on sampled times (%d differ)",
           bad_times);
}

/* The same instant in the two obsolete formats, built from the fixdate so
 * that the day of the week is right. */
static void obsolete_forms(int64_t seconds, char *rfc850, char *asctime_form)
{
    static const char *const long_names[] = {"Sunday",    "Monday",   "Tuesday",
                                             "Wednesday", "Thursday", "Friday",
                                             "Saturday"};
    static const char names[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
    char fix[HTTP_DATE_SIZE];
    http_date_format(seconds, fix);
    int w = 0;
    while (strncmp(fix, names[w], 3) != 0)
        w++;
    /* fix: "Sun, 06 Nov 1994 08:49:37 GMT" */
    snprintf(rfc850, 64, "%s, %.2s-%.3s-%.2s %.8s GMT", long_names[w], fix + 5,
             fix + 8, fix + 14, fix + 17);
    snprintf(asctime_form, 64, "%.3s %.3s %c%c %.8s %.4s", fix, fix + 8,
             fix[5] == '0' ? ' ' : fix[5], fix[6], fix + 17, fix + 12);
}

static void check_obsolete(tap *t)
{
    TAP_OK(t, parses("Sunday, 06-Nov-94 08:49:37 GMT", 784111777),
           "RFC 850 form of RFC 9110's example");
    TAP_OK(t, parses("Sun Nov  6 08:49:37 1994", 784111777),
           "asctime form of RFC 9110's example");
    TAP_OK(t, parses("Sun Nov 06 08:49:37 1994", 784111777),
           "asctime with a two-digit day");

    /* The two-digit year: within 50 years of now (2025). */
    static const struct {
        int year;
        const char *why;
    } years[] = {
        {1980, "80 is 1980, since 2080 is more than 50 years ahead"},
        {2074, "74 is 2074, 49 years ahead"},
        {1976, "76 is 1976: 2076 would be 51 years ahead"},
        {2025, "25 is this year"},
        {1999, "99 is 1999"},
        {2000, "00 is 2000"},
    };
    for (size_t i = 0; i < sizeof years / sizeof years[0]; i++) {
        int64_t s = http_days_from_civil(years[i].year, 3, 14) * 86400 + 5025;
        char rfc850[64], asc[64];
        obsolete_forms(s, rfc850, asc);
        TAP_OK(t, parses(rfc850, s), "%s (\"%s\")", years[i].why, rfc850);
    }
    int bad = 0;
    for (int64_t s = 0; s < 2000000000; s += 86399 * 37) {
        char rfc850[64], asc[64];
        obsolete_forms(s, rfc850, asc);
        int64_t year_of_s = 1970 + s / 31556952;
        if (!parses(asc, s) || (year_of_s > 1976 && !parses(rfc850, s)))
            bad++;
    }
    TAP_OK(t, bad == 0, "obsolete forms of many dates parse (%d failed)", bad);
}

static void check_refused(tap *t)
{
    static const char *const texts[] = {
        "",
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        " Sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Mon, 06 Nov 1994 08:49:37 GMT", /* 1994-11-06 was a Sunday */
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun,  6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Thu, 29 Feb 1900 00:00:00 GMT", /* 1900 was not a leap year */
        "Sun, 06 Xyz 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sunday, 06-Nov-94 08:49:37 UTC",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Monday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "06 Nov 1994 08:49:37 GMT",
        "1994-11-06T08:49:37Z",
        "784111777",
        "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        TAP_OK(t, refused(texts[i]), "\"%s\" is not an HTTP date", texts[i]);
    TAP_OK(t, parses("Sat, 31 Dec 2016 23:59:60 GMT", 1483228800),
           "a leap second reads as the next minute's first second");
    int64_t got = 0;
    TAP_OK(t, !http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 28, NOW, &got),
           "the length given is the length read");
}

int main(void)
{
    tap t = {0};
    check_format(&t);
    check_against_gmtime(&t);
    check_obsolete(&t);
    check_refused(&t);
    return tap_done(&t);
}
