/*
 * static_path.h - turns the path of a request target into a path that is
 * safe to look up under the document root, or says why it is not.
 *
 * The request target is what the client sent, still percent-encoded:
 * "/docs/caf%C3%A9/../index.html?x=1". static_path_normalize decodes it
 * exactly once, then removes the dot segments, and writes the result into
 * the caller's array without allocating: "/docs/index.html".
 *
 * The policy is strict, and every rule exists because some server was
 * broken into without it:
 *   - The path must start with '/'. The query ("?...") is not part of it.
 *   - A '%' must be followed by two hex digits ("%", "%2", "%g1" -> 400).
 *   - Decoding happens once. "%252e" is the three bytes "%2e", a strange
 *     but harmless name, never a dot: a second decoding pass is how the
 *     double-encoding attacks of the early 2000s got through.
 *   - Decoded or not, NUL, the other control bytes (C0, DEL and C1) and
 *     '\' are refused (400): '\' is a separator on other systems, and
 *     names holding it or controls are never worth serving.
 *   - A '/' that arrives encoded ("%2f") is refused (400): it would hide a
 *     separator inside a segment.
 *   - The decoded bytes must be valid UTF-8 in its shortest form; overlong
 *     forms such as "%c0%ae" (an old spelling of '.') are refused (400).
 *   - Empty segments ("//") and "." segments are dropped; ".." removes the
 *     segment before it; ".." above the root is refused (400), never
 *     clamped, since only an attacker or a broken client sends one.
 *   - A segment that starts with '.' (".git", ".env", "...") is hidden
 *     (404, as if absent) unless STATIC_PATH_ALLOW_DOTFILES is given. The
 *     exception is a first segment ".well-known" (RFC 8615), whose
 *     contents are public by definition.
 *   - A trailing '/' is kept: "/dir" and "/dir/" differ, the first is
 *     redirected to the second.
 */
#ifndef NIO_STATIC_PATH_H
#define NIO_STATIC_PATH_H

#include <stdbool.h>
#include <stddef.h>

typedef enum static_path_status {
    STATIC_PATH_OK = 0,
    STATIC_PATH_BAD_REQUEST, /* 400: malformed, ".." above the root, ... */
    STATIC_PATH_HIDDEN,      /* 404: a dotfile, refused without a look */
    STATIC_PATH_TOO_LONG     /* 414: the result does not fit in `out` */
} static_path_status;

/* Flags for static_path_normalize. */
enum { STATIC_PATH_ALLOW_DOTFILES = 1 };

/* Decodes and normalises `target` (length bytes, need not end in NUL).
 * On STATIC_PATH_OK, `out` holds the path with a final NUL, and *out_length
 * (when not NULL) its length. The result is never longer than the target,
 * so out_size = length + 1 always suffices. On an error, `out` holds
 * nothing useful. */
static_path_status static_path_normalize(const char *target, size_t length,
                                         unsigned flags, char *out,
                                         size_t out_size, size_t *out_length);

/* The HTTP status for a static_path_status: 200, 400, 404 or 414. */
int static_path_http_status(static_path_status status);
/* A short name, such as "STATIC_PATH_HIDDEN", for tests and logs. */
const char *static_path_status_name(static_path_status status);

/* True when a file called `name` (one segment, no '/') could be reached
 * through static_path_normalize with these flags: the directory listing
 * shows only such names, so that each of its links works. */
bool static_path_name_is_servable(const char *name, size_t length,
                                  unsigned flags);

/* Percent-encodes a decoded path so that it can go back into a URL (a
 * Location header, a link): every byte but the unreserved ones, the
 * sub-delimiters, ':', '@' and '/' becomes "%XX". Normalising the result
 * gives the path back. Returns the length written (a NUL follows), or 0
 * when it does not fit: at most 3 * strlen(path) + 1 bytes are needed. */
size_t static_path_encode(const char *path, char *out, size_t out_size);

#endif
