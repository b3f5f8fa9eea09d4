/*
 * static_file.h - serving files from a document root: finding the file
 * safely, deciding the response (conditionals, ranges), and sending it.
 *
 * The three steps are separate so that each can be tested alone:
 *
 *   1. static_file_open walks down from the root directory one path
 *      segment at a time with openat(O_NOFOLLOW), and refuses every
 *      symbolic link on the way. The path must come from
 *      static_path_normalize (static_path.h).
 *   2. static_file_decide is a pure function: the request's method and
 *      header values, the file's metadata and the time in; the status, the
 *      headers' values and the byte range to send out. No I/O.
 *   3. static_file_send moves file bytes to a socket with sendfile(2) on
 *      Linux (pread + write elsewhere), never blocking on a non-blocking
 *      socket: the event loop calls it again on OP_WRITE.
 *
 * The policy, chosen to be strict and simple:
 *   - symbolic links are never followed, wherever they are and wherever
 *     they lead (403): a link that stays inside the root today can be
 *     changed tomorrow, and the check "does it stay inside" is where
 *     servers have gone wrong. Copy files into the root instead;
 *   - only regular files and directories are served; FIFOs, sockets and
 *     devices are refused (403) without being opened;
 *   - a directory is served as its index.html (a regular file, not a
 *     link); a directory named without its final '/' is redirected (301)
 *     so that relative links inside it work; a directory without an
 *     index.html is listed only when the server allows it (else 403);
 *   - one range is served as 206; several ranges get the whole file as
 *     200 (no multipart/byteranges), unless none is satisfiable (416).
 *
 * What this cannot see: a hard link or a bind mount inside the root that
 * leads to a file outside it is, to the kernel, a file inside the root.
 * Whoever can create those can already read the file.
 */
#ifndef NIO_STATIC_FILE_H
#define NIO_STATIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "07-http-server/http_date.h"
#include "07-http-server/http_parser.h" /* http_string */

/* --- 1. finding the file ---------------------------------------------- */

typedef enum static_open_status {
    STATIC_OPEN_FILE,      /* file->fd is a regular file to serve: 200 */
    STATIC_OPEN_DIRECTORY, /* file->fd is a directory with no index.html:
                              a listing (200) or 403 */
    STATIC_OPEN_REDIRECT,  /* a directory named without its final '/': 301 */
    STATIC_OPEN_NOT_FOUND, /* 404 */
    STATIC_OPEN_FORBIDDEN, /* 403: a link, a FIFO, a device, no permission */
    STATIC_OPEN_ERROR      /* 500; errno says why (EMFILE, EIO, ...) */
} static_open_status;

typedef struct static_file {
    int fd;                   /* -1 unless FILE or DIRECTORY: then close it */
    struct stat st;           /* of fd */
    const char *content_type; /* FILE: from the name (index.html for a
                                 directory); DIRECTORY: "text/html..." */
} static_file;

/* Opens `path` (from static_path_normalize: starts with '/', no ".", ".."
 * or empty segments) under the directory `root_fd`. The descriptors it
 * returns are O_CLOEXEC. */
static_open_status static_file_open(int root_fd, const char *path,
                                    static_file *file);

/* 200, 301, 403, 404 or 500. */
int static_open_http_status(static_open_status status);
const char *static_open_status_name(static_open_status status);

/* The Location of a STATIC_OPEN_REDIRECT: the path, percent-encoded, with
 * a '/' added. Returns its length, or 0 when it does not fit in `out`. */
size_t static_file_location(const char *path, char *out, size_t out_size);

/* The media type for a file name, from an explicit table keyed by the
 * extension (case-insensitive); "application/octet-stream" otherwise.
 * Text types carry "; charset=utf-8". */
const char *static_file_mime_type(const char *name);

/* An HTML page listing the directory `dir_fd`, whose URL path is `path`
 * (decoded, ending in '/'): a link to the parent (except at the root),
 * then the subdirectories and regular files that static_path_normalize
 * would let through with `flags` (no dotfiles by default, not even
 * .well-known; no links), sorted by name, with every name HTML-escaped and
 * every link percent-encoded. *html is malloc'd: free it. Returns 0, or -1
 * with errno. dir_fd is not closed and its position is not used.
 * Bounded, since it runs on an event loop: at most STATIC_LIST_MAX_ENTRIES
 * names are read (in the directory's order, then sorted), and entries
 * stop once the page passes STATIC_LIST_MAX_BYTES; a page that was cut
 * says so, and how many entries it shows. */
#define STATIC_LIST_MAX_ENTRIES 1000
#define STATIC_LIST_MAX_BYTES   (1024 * 1024)
int static_file_list_directory(int dir_fd, const char *path, unsigned flags,
                               char **html, size_t *length);

/* --- 2. deciding the response ----------------------------------------- */

/* What the response depends on. A header field that is absent has
 * data == NULL; a field sent several times should be passed as its first
 * line (the parser's http_request_header). */
typedef struct static_request {
    bool head; /* HEAD: GET's status and headers, without the body */
    http_string if_match;
    http_string if_none_match;
    http_string if_modified_since;
    http_string if_unmodified_since;
    http_string range;
    http_string if_range;
    int64_t now; /* the response's Date, in seconds since 1970 */
} static_request;

/* "W/" is never used: the tag changes whenever the bytes may have. */
#define STATIC_ETAG_SIZE          72
#define STATIC_CONTENT_RANGE_SIZE 72

/* What to send. The server writes the status line and its own fields
 * (Date, Server, Connection), then:
 *   Content-Length: `length`    unless status is 304
 *   Content-Type                when content_type is not NULL
 *   Accept-Ranges: bytes        for 200 and 206
 *   ETag, Last-Modified         when not "" (200, 206 and 304)
 *   Content-Range               when not "" (206 and 416)
 * and, when send_body, `length` bytes of the file from `offset`. */
typedef struct static_response {
    int status; /* 200, 206, 304, 412 or 416 */
    bool send_body;
    uint64_t offset;
    uint64_t length;
    const char *content_type;
    char etag[STATIC_ETAG_SIZE];
    char last_modified[HTTP_DATE_SIZE];
    char content_range[STATIC_CONTENT_RANGE_SIZE];
} static_response;

/* Decides the response to a GET or HEAD of a regular file whose metadata
 * is `st`, following RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since
 * (412); If-None-Match, else If-Modified-Since (304); then Range, for GET
 * only, subject to If-Range. A date that does not parse is ignored; an
 * entity-tag list that does not parse matches nothing. */
void static_file_decide(const static_request *request, const struct stat *st,
                        const char *content_type, static_response *response);

/* The strong entity-tag of a file: "inode-size-seconds.nanoseconds" of its
 * modification time, in hex, with the quotes. */
void static_file_etag(const struct stat *st, char out[STATIC_ETAG_SIZE]);

/* --- 3. sending -------------------------------------------------------- */

/* Sends up to `count` bytes of `file_fd`, from *offset, to the socket
 * `out_fd`, and advances *offset by what was sent. At most
 * STATIC_SEND_CHUNK bytes go per call, so that one large file cannot hold
 * an event loop. Returns the bytes sent (> 0), 0 when the socket's buffer
 * is full (wait for OP_WRITE, call again), or -1 with errno: EIO when the
 * file ended before `count` bytes (it shrank after its size was sent, so
 * the connection must be closed), EPIPE or ECONNRESET when the peer left.
 * `count` must be above 0. SIGPIPE must be ignored, as common/stop.h does:
 * sendfile has no MSG_NOSIGNAL. */
#define STATIC_SEND_CHUNK ((size_t)2 * 1024 * 1024)
ssize_t static_file_send(int file_fd, int out_fd, uint64_t *offset,
                         uint64_t count);

#endif
