/*
 * static_file.c - open under a root without following links, decide the
 * response from the validators and the range, send with sendfile. See
 * static_file.h for the policy.
 */
#include "07-http-server/static_file.h"
#include "07-http-server/http_response.h" /* http_format_uint */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "07-http-server/static_path.h"

#if defined(__linux__) && !defined(STATIC_FILE_NO_SENDFILE)
#include <sys/sendfile.h>
#define HAVE_SENDFILE 1
#else
#include <sys/socket.h>
#endif

/* --- 1. finding the file ---------------------------------------------- */

const char *static_open_status_name(static_open_status status)
{
    switch (status) {
    case STATIC_OPEN_FILE: return "STATIC_OPEN_FILE";
    case STATIC_OPEN_DIRECTORY: return "STATIC_OPEN_DIRECTORY";
    case STATIC_OPEN_REDIRECT: return "STATIC_OPEN_REDIRECT";
    case STATIC_OPEN_NOT_FOUND: return "STATIC_OPEN_NOT_FOUND";
    case STATIC_OPEN_FORBIDDEN: return "STATIC_OPEN_FORBIDDEN";
    case STATIC_OPEN_ERROR: return "STATIC_OPEN_ERROR";
    }
    return "STATIC_OPEN_UNKNOWN_STATUS";
}

int static_open_http_status(static_open_status status)
{
    switch (status) {
    case STATIC_OPEN_FILE:
    case STATIC_OPEN_DIRECTORY: return 200;
    case STATIC_OPEN_REDIRECT: return 301;
    case STATIC_OPEN_NOT_FOUND: return 404;
    case STATIC_OPEN_FORBIDDEN: return 403;
    case STATIC_OPEN_ERROR: return 500;
    }
    return 500;
}

static static_open_status status_from_errno(int error)
{
    switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG: return STATIC_OPEN_NOT_FOUND;
    case EACCES:
    case EPERM:
    case ELOOP: return STATIC_OPEN_FORBIDDEN; /* ELOOP: O_NOFOLLOW met a link */
    default: return STATIC_OPEN_ERROR;
    }
}

/* excerpt:begin open-entry */
/* Opens one name inside the directory `dir`: never a link, never anything
 * but a regular file or a directory. The type is checked before opening,
 * so that a FIFO or a device is never opened at all, and again after, on
 * the descriptor, in case the name was swapped in between. Returns
 * STATIC_OPEN_FILE when it opened something: `st` says what. */
static static_open_status open_entry(int dir, const char *name, int *fd,
                                     struct stat *st)
{
    struct stat before;
    if (fstatat(dir, name, &before, AT_SYMLINK_NOFOLLOW) != 0)
        return status_from_errno(errno);
    if (!S_ISREG(before.st_mode) && !S_ISDIR(before.st_mode))
        return STATIC_OPEN_FORBIDDEN; /* a link, FIFO, socket or device */
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    if (S_ISDIR(before.st_mode))
        flags |= O_DIRECTORY;
    int f;
    do
        f = openat(dir, name, flags);
    while (f < 0 && errno == EINTR);
    if (f < 0)
        return status_from_errno(errno);
    if (fstat(f, st) != 0) {
        int error = errno;
        close(f);
        errno = error;
        return STATIC_OPEN_ERROR;
    }
    if (st->st_dev != before.st_dev || st->st_ino != before.st_ino ||
        (st->st_mode & S_IFMT) != (before.st_mode & S_IFMT)) {
        close(f);
        return STATIC_OPEN_FORBIDDEN; /* replaced while we looked */
    }
    *fd = f;
    return STATIC_OPEN_FILE;
}
/* excerpt:end open-entry */

static void close_unless_root(int fd, int root_fd)
{
    if (fd != root_fd)
        close(fd);
}

/* The directory `dir` (already known to be one): its index.html, or the
 * directory itself for a listing. Takes over `dir`. */
static static_open_status open_directory(int root_fd, int dir,
                                         static_file *file)
{
    int index;
    struct stat st;
    static_open_status status = open_entry(dir, "index.html", &index, &st);
    if (status == STATIC_OPEN_FILE && S_ISREG(st.st_mode)) {
        close_unless_root(dir, root_fd);
        file->fd = index;
        file->st = st;
        file->content_type = static_file_mime_type("index.html");
        return STATIC_OPEN_FILE;
    }
    if (status == STATIC_OPEN_FILE) {
        close(index); /* a directory called index.html: list instead */
    } else if (status != STATIC_OPEN_NOT_FOUND) {
        close_unless_root(dir, root_fd);
        return status; /* a link or a FIFO called index.html: refuse */
    }
    if (dir == root_fd) {
        /* The caller closes what it gets: give it its own descriptor. */
        do
            dir = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        while (dir < 0 && errno == EINTR);
        if (dir < 0)
            return status_from_errno(errno);
    }
    if (fstat(dir, &file->st) != 0) {
        int error = errno;
        close(dir);
        errno = error;
        return STATIC_OPEN_ERROR;
    }
    file->fd = dir;
    file->content_type = "text/html; charset=utf-8";
    return STATIC_OPEN_DIRECTORY;
}

/* excerpt:begin open */
static_open_status static_file_open(int root_fd, const char *path,
                                    static_file *file)
{
    file->fd = -1;
    file->content_type = NULL;
    if (path[0] != '/')
        return STATIC_OPEN_NOT_FOUND;
    int dir = root_fd; /* borrowed; every later one is ours to close */
    const char *p = path + 1;
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        char name[256]; /* NAME_MAX on Linux and the BSDs is 255 */
        /* static_path_normalize never leaves "", "." or "..": refusing
         * them here as well keeps a caller's mistake from being a hole. */
        if (n == 0 || n >= sizeof name ||
            (p[0] == '.' && n <= 2 && (n == 1 || p[1] == '.'))) {
            close_unless_root(dir, root_fd);
            return STATIC_OPEN_NOT_FOUND;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        int next;
        struct stat st;
        static_open_status status = open_entry(dir, name, &next, &st);
        close_unless_root(dir, root_fd);
        if (status != STATIC_OPEN_FILE)
            return status;
        if (S_ISREG(st.st_mode)) {
            if (slash != NULL) { /* "/file/..." or "/file/" */
                close(next);
                return STATIC_OPEN_NOT_FOUND;
            }
            file->fd = next;
            file->st = st;
            file->content_type = static_file_mime_type(name);
            return STATIC_OPEN_FILE;
        }
        if (slash == NULL) { /* "/dir": its relative links need "/dir/" */
            close(next);
            return STATIC_OPEN_REDIRECT;
        }
        dir = next;
        p = slash + 1;
    }
    return open_directory(root_fd, dir, file);
}
/* excerpt:end open */

size_t static_file_location(const char *path, char *out, size_t out_size)
{
    size_t n = static_path_encode(path, out, out_size);
    if (n == 0 || n + 2 > out_size)
        return 0;
    out[n++] = '/';
    out[n] = '\0';
    return n;
}

/* --- media types ------------------------------------------------------ */

/* Markdown is text/markdown (RFC 7763); C and shell sources are plain
 * text, so that a browser shows them instead of offering a download. */
static const struct {
    const char *extension;
    const char *type;
} mime_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"c", "text/plain; charset=utf-8"},
    {"h", "text/plain; charset=utf-8"},
    {"sh", "text/plain; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
};

const char *static_file_mime_type(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash != NULL ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (dot != NULL && dot != base) { /* ".profile" has no extension */
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (strcasecmp(dot + 1, mime_types[i].extension) == 0)
                return mime_types[i].type;
    }
    return "application/octet-stream";
}

/* --- the directory listing -------------------------------------------- */

/* A growable array of bytes: Java's StringBuilder, with a sticky error. */
typedef struct text {
    char *data;
    size_t length, capacity;
    bool failed;
} text;

static void append(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->capacity - t->length <= n) {
        size_t capacity = t->capacity != 0 ? t->capacity : 1024;
        while (capacity - t->length <= n) {
            if (capacity > SIZE_MAX / 2) {
                t->failed = true;
                return;
            }
            capacity *= 2;
        }
        char *data = realloc(t->data, capacity);
        if (data == NULL) {
            t->failed = true;
            return;
        }
        t->data = data;
        t->capacity = capacity;
    }
    memcpy(t->data + t->length, s, n);
    t->length += n;
    t->data[t->length] = '\0';
}

static void append_string(text *t, const char *s)
{
    append(t, s, strlen(s));
}

/* excerpt:begin escape */
/* Text that came from a file name goes into HTML only through here. */
static void append_escaped(text *t, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&': append_string(t, "&amp;"); break;
        case '<': append_string(t, "&lt;"); break;
        case '>': append_string(t, "&gt;"); break;
        case '"': append_string(t, "&quot;"); break;
        case '\'': append_string(t, "&#39;"); break;
        default: append(t, s, 1);
        }
    }
}
/* excerpt:end escape */

/* A link: the URL path percent-encoded, then escaped for the attribute
 * ('&' and '\'' survive percent-encoding). */
static void append_href(text *t, const char *path, const char *name,
                        bool directory)
{
    size_t n = strlen(path) + strlen(name) + 2;
    char *full = malloc(n), *encoded = malloc(3 * n + 1);
    if (full == NULL || encoded == NULL) {
        t->failed = true;
    } else {
        snprintf(full, n, "%s%s%s", path, name, directory ? "/" : "");
        if (static_path_encode(full, encoded, 3 * n + 1) == 0)
            t->failed = true;
        else
            append_escaped(t, encoded);
    }
    free(full);
    free(encoded);
}

typedef struct entry {
    char *name;
    bool directory;
    uint64_t size;
} entry;

static int compare_entries(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->directory != y->directory)
        return x->directory ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Reads the names worth listing, at most STATIC_LIST_MAX_ENTRIES of them
 * (*cut says there were more). Returns the count, or -1 with errno. */
static long read_entries(int dir_fd, unsigned flags, entry **entries, bool *cut)
{
    int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        int error = errno;
        if (fd >= 0)
            close(fd);
        errno = error;
        return -1;
    }
    entry *list = NULL;
    size_t count = 0, capacity = 0;
    struct dirent *d;
    int error = 0;
    errno = 0;
    *cut = false;
    while ((d = readdir(dir)) != NULL) {
        struct stat st;
        if (!static_path_name_is_servable(d->d_name, strlen(d->d_name),
                                          flags) ||
            fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
            errno = 0;
            continue; /* what would not be served is not shown */
        }
        if (count == STATIC_LIST_MAX_ENTRIES) {
            /* The listing runs on the worker loop: 50,000 names would
             * hold every other connection of the loop for a quarter of a
             * second. The rest is not read at all. */
            *cut = true;
            break;
        }
        if (count == capacity) {
            size_t more = capacity != 0 ? 2 * capacity : 32;
            entry *grown = realloc(list, more * sizeof *grown);
            if (grown == NULL) {
                error = ENOMEM;
                break;
            }
            list = grown;
            capacity = more;
        }
        list[count].name = strdup(d->d_name);
        if (list[count].name == NULL) {
            error = ENOMEM;
            break;
        }
        list[count].directory = S_ISDIR(st.st_mode);
        list[count].size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
        count++;
        errno = 0;
    }
    if (error == 0 && errno != 0)
        error = errno; /* readdir failed */
    closedir(dir);
    if (error != 0) {
        for (size_t i = 0; i < count; i++)
            free(list[i].name);
        free(list);
        errno = error;
        return -1;
    }
    qsort(list, count, sizeof *list, compare_entries);
    *entries = list;
    return (long)count;
}

int static_file_list_directory(int dir_fd, const char *path, unsigned flags,
                               char **html, size_t *length)
{
    entry *entries = NULL;
    bool cut = false;
    long count = read_entries(dir_fd, flags, &entries, &cut);
    if (count < 0)
        return -1;
    text t = {0};
    append_string(&t, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                      "<title>Index of ");
    append_escaped(&t, path);
    append_string(&t, "</title></head>\n<body>\n<h1>Index of ");
    append_escaped(&t, path);
    append_string(&t, "</h1>\n<ul>\n");
    if (strcmp(path, "/") != 0)
        append_string(&t, "<li><a href=\"../\">../</a></li>\n");
    long shown = 0;
    for (; shown < count && t.length < STATIC_LIST_MAX_BYTES; shown++) {
        long i = shown;
        char size[32];
        append_string(&t, "<li><a href=\"");
        append_href(&t, path, entries[i].name, entries[i].directory);
        append_string(&t, "\">");
        append_escaped(&t, entries[i].name);
        append_string(&t, entries[i].directory ? "/</a>" : "</a>");
        if (!entries[i].directory) {
            snprintf(size, sizeof size, " %" PRIu64 " bytes", entries[i].size);
            append_string(&t, size);
        }
        append_string(&t, "</li>\n");
    }
    for (long i = 0; i < count; i++)
        free(entries[i].name);
    free(entries);
    append_string(&t, "</ul>\n");
    if (cut || shown < count) {
        char note[96];
        snprintf(note, sizeof note,
                 "<p>The listing is cut: only %ld entries are shown.</p>\n",
                 shown);
        append_string(&t, note);
    }
    append_string(&t, "</body></html>\n");
    if (t.failed) {
        free(t.data);
        errno = ENOMEM;
        return -1;
    }
    *html = t.data;
    *length = t.length;
    return 0;
}

/* --- 2. deciding the response ----------------------------------------- */

/* "INODE-SIZE-SECONDS.NANOSECONDS" in hexadecimal, quoted: it changes
 * whenever the file is replaced, resized or written. */
void static_file_etag(const struct stat *st, char out[STATIC_ETAG_SIZE])
{
    const uint64_t parts[4] = {(uint64_t)st->st_ino, (uint64_t)st->st_size,
                               (uint64_t)st->st_mtim.tv_sec,
                               (uint64_t)st->st_mtim.tv_nsec};
    size_t n = 0;
    out[n++] = '"';
    for (int i = 0; i < 4; i++) {
        n += http_format_uint(out + n, parts[i], 16);
        out[n++] = i == 3 ? '"' : i == 2 ? '.' : '-';
    }
    out[n] = '\0';
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* etagc: any visible byte but '"', or obs-text. */
static bool is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* excerpt:begin etag-list */
/* True when the If-Match / If-None-Match value `field` names `etag`.
 * "*" names every tag. Weak comparison ignores "W/"; strong comparison
 * never matches a weak tag. A value that does not parse matches nothing. */
static bool etag_list_matches(http_string field, const char *etag, bool weak)
{
    const char *p = field.data, *end = p + field.length;
    while (p < end && is_ows(*p))
        p++;
    while (end > p && is_ows(end[-1]))
        end--;
    if (end - p == 1 && *p == '*')
        return true;
    size_t etag_length = strlen(etag);
    bool matched = false, any = false;
    while (p < end) {
        while (p < end && (is_ows(*p) || *p == ','))
            p++; /* empty list elements are allowed */
        if (p == end)
            break;
        bool is_weak = end - p >= 2 && p[0] == 'W' && p[1] == '/';
        if (is_weak)
            p += 2;
        if (p == end || *p != '"')
            return false;
        const char *tag = p++;
        while (p < end && *p != '"')
            if (!is_etagc((unsigned char)*p++))
                return false;
        if (p == end)
            return false; /* no closing quote */
        p++;
        if ((size_t)(p - tag) == etag_length &&
            memcmp(tag, etag, etag_length) == 0 && (weak || !is_weak))
            matched = true;
        any = true;
        while (p < end && is_ows(*p))
            p++;
        if (p < end && *p != ',')
            return false;
    }
    return any && matched;
}
/* excerpt:end etag-list */

static bool field_date(http_string field, int64_t now, int64_t *seconds)
{
    return field.data != NULL &&
           http_date_parse(field.data, field.length, now, seconds);
}

/* Reads 1*DIGIT, saturating at UINT64_MAX: a first byte past the end is
 * past the end however many digits it has, and a last byte past the end
 * means "to the end". */
static bool read_number(const char **p, const char *end, uint64_t *value)
{
    const char *start = *p;
    uint64_t v = 0;
    for (; *p < end && **p >= '0' && **p <= '9'; (*p)++) {
        unsigned digit = (unsigned)(**p - '0');
        v = v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : v * 10 + digit;
    }
    *value = v;
    return *p != start;
}

typedef enum range_kind {
    RANGE_IGNORED,      /* no usable Range: the whole file, 200 */
    RANGE_ONE,          /* one satisfiable range: 206 */
    RANGE_SEVERAL,      /* several ranges: the whole file, 200 */
    RANGE_UNSATISFIABLE /* no range overlaps the file: 416 */
} range_kind;

/* excerpt:begin range */
static range_kind parse_range(http_string field, uint64_t size, uint64_t *first,
                              uint64_t *last)
{
    const char *p = field.data, *end = p + field.length;
    const char *equals = memchr(p, '=', field.length);
    if (equals == NULL || equals - p != 5 || strncasecmp(p, "bytes", 5) != 0)
        return RANGE_IGNORED; /* another unit, or not a range at all */
    p = equals + 1;
    int specs = 0, satisfiable = 0;
    while (p < end) {
        while (p < end && (is_ows(*p) || *p == ','))
            p++;
        if (p == end)
            break;
        uint64_t a = 0, b = 0;
        bool has_first = read_number(&p, end, &a);
        if (p == end || *p++ != '-')
            return RANGE_IGNORED;
        bool has_last = read_number(&p, end, &b);
        while (p < end && is_ows(*p))
            p++;
        if (p < end && *p != ',')
            return RANGE_IGNORED;
        specs++;
        if (has_first) { /* "first-last" or "first-" */
            if (has_last && b < a)
                return RANGE_IGNORED; /* invalid: the field is ignored */
            if (a < size) {
                satisfiable++;
                *first = a;
                *last = has_last && b < size ? b : size - 1;
            }
        } else if (has_last) { /* "-suffix": the last `suffix` bytes */
            if (b > 0 && size > 0) {
                satisfiable++;
                *first = b < size ? size - b : 0;
                *last = size - 1;
            }
        } else {
            return RANGE_IGNORED; /* "-" */
        }
    }
    if (specs == 0)
        return RANGE_IGNORED;
    if (satisfiable == 0)
        return RANGE_UNSATISFIABLE;
    return specs == 1 ? RANGE_ONE : RANGE_SEVERAL;
}
/* excerpt:end range */

/* If-Range: a strong entity-tag equal to ours, or a date equal to
 * Last-Modified when that is a strong validator (a second older than
 * the response's Date, RFC 9110 §8.8.2.2). */
static bool if_range_holds(http_string field, const char *etag,
                           int64_t last_modified, int64_t now)
{
    bool is_tag = (field.length > 0 && field.data[0] == '"') ||
                  (field.length > 1 && field.data[0] == 'W' &&
                   field.data[1] == '/'); /* not "Wed, ..." */
    if (is_tag) {
        size_t n = strlen(etag);
        return field.length == n && memcmp(field.data, etag, n) == 0;
    }
    int64_t date;
    return field_date(field, now, &date) && date == last_modified &&
           last_modified < now;
}

static void no_body(static_response *r, int status)
{
    r->status = status;
    r->send_body = false;
    r->offset = 0;
    r->length = 0;
    r->content_type = NULL;
    if (status != 304) { /* a 304 keeps the validators it confirms */
        r->etag[0] = '\0';
        r->last_modified[0] = '\0';
    }
}

/* excerpt:begin decide */
void static_file_decide(const static_request *request, const struct stat *st,
                        const char *content_type, static_response *response)
{
    uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
    /* A modification time in the future is replaced by the response's
     * Date (RFC 9110 §8.8.2.1). */
    int64_t modified = st->st_mtim.tv_sec < request->now
                           ? (int64_t)st->st_mtim.tv_sec
                           : request->now;
    *response = (static_response){.status = 200,
                                  .send_body = !request->head,
                                  .offset = 0,
                                  .length = size,
                                  .content_type = content_type};
    static_file_etag(st, response->etag);
    http_date_format(modified, response->last_modified);

    int64_t date;
    if (request->if_match.data != NULL) {
        if (!etag_list_matches(request->if_match, response->etag, false)) {
            no_body(response, 412);
            return;
        }
    } else if (field_date(request->if_unmodified_since, request->now, &date) &&
               modified > date) {
        no_body(response, 412);
        return;
    }
    if (request->if_none_match.data != NULL) { /* it wins over the date */
        if (etag_list_matches(request->if_none_match, response->etag, true)) {
            no_body(response, 304);
            return;
        }
    } else if (field_date(request->if_modified_since, request->now, &date) &&
               modified <= date) {
        no_body(response, 304);
        return;
    }
    /* Ranges are defined for GET only (RFC 9110 §14.2): HEAD gets 200. */
    if (request->head || request->range.data == NULL)
        return;
    if (request->if_range.data != NULL &&
        !if_range_holds(request->if_range, response->etag, modified,
                        request->now))
        return;
    uint64_t first = 0, last = 0;
    switch (parse_range(request->range, size, &first, &last)) {
    case RANGE_ONE:
        response->status = 206;
        response->offset = first;
        response->length = last - first + 1;
        snprintf(response->content_range, sizeof response->content_range,
                 "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        return;
    case RANGE_UNSATISFIABLE:
        no_body(response, 416);
        snprintf(response->content_range, sizeof response->content_range,
                 "bytes */%" PRIu64, size);
        return;
    case RANGE_IGNORED:
    case RANGE_SEVERAL: return;
    }
}
/* excerpt:end decide */

/* --- 3. sending -------------------------------------------------------- */

/* excerpt:begin send */
ssize_t static_file_send(int file_fd, int out_fd, uint64_t *offset,
                         uint64_t count)
{
    size_t chunk =
        count < STATIC_SEND_CHUNK ? (size_t)count : STATIC_SEND_CHUNK;
#ifdef HAVE_SENDFILE
    /* The kernel copies from the page cache to the socket: the bytes never
     * pass through this process, so memory stays flat however big the
     * file is. */
    /* excerpt:begin sendfile */
    off_t position = (off_t)*offset;
    ssize_t sent;
    do
        sent = sendfile(out_fd, file_fd, &position, chunk);
    while (sent < 0 && errno == EINTR);
    if (sent > 0)
        *offset = (uint64_t)position;
        /* excerpt:end sendfile */
#else
    char bytes[16384];
    if (chunk > sizeof bytes)
        chunk = sizeof bytes;
    ssize_t got;
    do
        got = pread(file_fd, bytes, chunk, (off_t)*offset);
    while (got < 0 && errno == EINTR);
    if (got <= 0) {
        if (got == 0)
            errno = EIO;
        return -1;
    }
    ssize_t sent;
    do
        sent = send(out_fd, bytes, (size_t)got, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent > 0)
        *offset += (uint64_t)sent; /* the rest is read again next time */
#endif
    if (sent > 0)
        return sent;
    if (sent == 0) {
        errno = EIO; /* the file is shorter than the length we announced */
        return -1;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
}
/* excerpt:end send */
