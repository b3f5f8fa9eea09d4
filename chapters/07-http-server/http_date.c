/*
 * http_date.c - IMF-fixdate out, three formats in. See http_date.h.
 *
 * The calendar arithmetic counts in 400-year eras: the Gregorian calendar
 * repeats exactly every 146097 days, and a year that starts on March 1st
 * puts the leap day at its end, where it disturbs nothing.
 */
#include "07-http-server/http_date.h"

#include <string.h>

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
static const char *const long_day_names[7] = {
    "Sunday",   "Monday", "Tuesday", "Wednesday",
    "Thursday", "Friday", "Saturday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                        "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec"};

/* excerpt:begin civil */
int64_t http_days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2; /* January and February end the previous year */
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400; /* 0..399 */
    int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 +
                          day - 1; /* 0..365 */
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 -
                         year_of_era / 100 + day_of_year; /* 0..146096 */
    return era * 146097 + day_of_era - 719468; /* 719468: 0000-03-01 to 1970 */
}
/* excerpt:end civil */

void http_civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
                           day_of_era / 146096) /
                          365;
    int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t shifted_month = (5 * day_of_year + 2) / 153; /* 0 = March */
    *day = (int)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    *month = (int)(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
    *year = year_of_era + era * 400 + (*month <= 2);
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
    int64_t w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void put2(char *p, int value)
{
    p[0] = (char)('0' + value / 10);
    p[1] = (char)('0' + value % 10);
}

bool http_date_format(int64_t seconds, char out[HTTP_DATE_SIZE])
{
    /* 0000-01-01 and 10000-01-01, so that the year has four digits. */
    if (seconds < -62167219200 || seconds >= 253402300800) {
        out[0] = '\0';
        return false;
    }
    int64_t days = floor_div(seconds, 86400);
    int64_t rest = seconds - days * 86400;
    int64_t year;
    int month, day;
    http_civil_from_days(days, &year, &month, &day);
    /* "Sun, 06 Nov 1994 08:49:37 GMT", byte by byte: no snprintf, whose
     * result would only need checking again. */
    memcpy(out, day_names[weekday(days)], 3);
    memcpy(out + 3, ", ", 2);
    put2(out + 5, day);
    out[7] = ' ';
    memcpy(out + 8, month_names[month - 1], 3);
    out[11] = ' ';
    put2(out + 12, (int)(year / 100));
    put2(out + 14, (int)(year % 100));
    out[16] = ' ';
    put2(out + 17, (int)(rest / 3600));
    out[19] = ':';
    put2(out + 20, (int)(rest / 60 % 60));
    out[22] = ':';
    put2(out + 23, (int)(rest % 60));
    memcpy(out + 25, " GMT", 5); /* with the NUL */
    return true;
}

/* --- reading ---------------------------------------------------------- */

/* A cursor over the text; every reader fails once anything is wrong. */
typedef struct scan {
    const char *p, *end;
    bool ok;
} scan;

static void expect(scan *s, const char *literal)
{
    size_t n = strlen(literal);
    if (s->ok && (size_t)(s->end - s->p) >= n && memcmp(s->p, literal, n) == 0)
        s->p += n;
    else
        s->ok = false;
}

static int digits(scan *s, int count)
{
    int value = 0;
    for (int i = 0; i < count && s->ok; i++) {
        if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            value = value * 10 + (*s->p++ - '0');
        else
            s->ok = false;
    }
    return value;
}

/* The index of the name at the cursor in names[0..count), or -1. */
static int name_index(scan *s, const char *const *names, int count)
{
    for (int i = 0; s->ok && i < count; i++) {
        size_t n = strlen(names[i]);
        if ((size_t)(s->end - s->p) >= n && memcmp(s->p, names[i], n) == 0) {
            s->p += n;
            return i;
        }
    }
    s->ok = false;
    return -1;
}

static int short_day(scan *s)
{
    const char *names[7];
    for (int i = 0; i < 7; i++)
        names[i] = day_names[i];
    return name_index(s, names, 7);
}

static int short_month(scan *s)
{
    const char *names[12];
    for (int i = 0; i < 12; i++)
        names[i] = month_names[i];
    return name_index(s, names, 12) + 1;
}

static void time_of_day(scan *s, int *hour, int *minute, int *second)
{
    *hour = digits(s, 2);
    expect(s, ":");
    *minute = digits(s, 2);
    expect(s, ":");
    *second = digits(s, 2);
}

static bool is_leap(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

/* Checks the fields and turns them into seconds. */
static bool assemble(int wday, int64_t year, int month, int day, int hour,
                     int minute, int second, int64_t *seconds)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 ||
        second > 60)
        return false;
    if (day > month_days[month - 1] + (month == 2 && is_leap(year)))
        return false;
    int64_t days = http_days_from_civil(year, month, day);
    if (weekday(days) != wday)
        return false;
    *seconds = days * 86400 + hour * 3600 + minute * 60 + second;
    return true;
}

bool http_date_parse(const char *text, size_t length, int64_t now,
                     int64_t *seconds)
{
    scan s = {text, text + length, true};
    int wday, day, month, hour, minute, second;
    int64_t year;
    if (length == 29) { /* Sun, 06 Nov 1994 08:49:37 GMT */
        wday = short_day(&s);
        expect(&s, ", ");
        day = digits(&s, 2);
        expect(&s, " ");
        month = short_month(&s);
        expect(&s, " ");
        year = digits(&s, 4);
        expect(&s, " ");
        time_of_day(&s, &hour, &minute, &second);
        expect(&s, " GMT");
    } else if (length == 24) { /* Sun Nov  6 08:49:37 1994 */
        wday = short_day(&s);
        expect(&s, " ");
        month = short_month(&s);
        expect(&s, " ");
        if (s.ok && s.p < s.end && *s.p == ' ') {
            s.p++;
            day = digits(&s, 1);
        } else {
            day = digits(&s, 2);
        }
        expect(&s, " ");
        time_of_day(&s, &hour, &minute, &second);
        expect(&s, " ");
        year = digits(&s, 4);
    } else { /* Sunday, 06-Nov-94 08:49:37 GMT */
        wday = name_index(&s, long_day_names, 7);
        expect(&s, ", ");
        day = digits(&s, 2);
        expect(&s, "-");
        month = short_month(&s);
        expect(&s, "-");
        int two = digits(&s, 2);
        expect(&s, " ");
        time_of_day(&s, &hour, &minute, &second);
        expect(&s, " GMT");
        /* The year ending in `two` that lies within 50 years of now. */
        int64_t now_year;
        int m, d;
        http_civil_from_days(floor_div(now, 86400), &now_year, &m, &d);
        year = now_year - now_year % 100 + two;
        if (year > now_year + 50)
            year -= 100;
        else if (year <= now_year - 50)
            year += 100;
    }
    if (!s.ok || s.p != s.end)
        return false;
    return assemble(wday, year, month, day, hour, minute, second, seconds);
}
