/*
 * test_static_path.c - the path normaliser of chapter 7, as a table: what
 * each request target becomes, or which status refuses it. The traversal
 * spellings are tried against a real directory in test_static_file.c.
 */
#include <stdio.h>
#include <string.h>

#include "07-http-server/static_path.h"
#include "tap.h"

typedef struct norm_case {
    const char *target;
    unsigned flags;
    static_path_status status;
    const char *path; /* the result when status is STATIC_PATH_OK */
} norm_case;

#define OK(target, path)                                                       \
    {                                                                          \
        target, 0, STATIC_PATH_OK, path                                        \
    }
#define BAD(target)                                                            \
    {                                                                          \
        target, 0, STATIC_PATH_BAD_REQUEST, NULL                               \
    }
#define HIDDEN(target)                                                         \
    {                                                                          \
        target, 0, STATIC_PATH_HIDDEN, NULL                                    \
    }

static const norm_case cases[] = {
    /* plain paths, kept as they are */
    OK("/", "/"),
    OK("/index.html", "/index.html"),
    OK("/a/b/c.txt", "/a/b/c.txt"),
    OK("/docs/", "/docs/"),
    OK("/a.", "/a."),
    OK("/a..b", "/a..b"),
    OK("/~user/x", "/~user/x"),
    OK("/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="),
    /* the query is not part of the path, and may hold anything */
    OK("/a?b=../../etc/passwd", "/a"),
    OK("/?", "/"),
    OK("/a/..?x", "/"),
    /* decoding */
    OK("/a%20b", "/a b"),
    OK("/%41%42%43", "/ABC"),
    OK("/%7e", "/~"),
    OK("/caf%C3%A9", "/caf\xc3\xa9"),
    OK("/caf\xc3\xa9", "/caf\xc3\xa9"),
    OK("/%e2%82%ac", "/\xe2\x82\xac"),
    OK("/%f0%9f%98%80", "/\xf0\x9f\x98\x80"),
    OK("/100%25", "/100%"),
    OK("/%252e%252e/x", "/%2e%2e/x"), /* decoded once: a name, not dots */
    OK("/%3f", "/?"),
    /* empty and "." segments */
    OK("//", "/"),
    OK("///a///b//", "/a/b/"),
    OK("/./a/./b/.", "/a/b/"),
    OK("/%2e/a", "/a"),
    OK("/a/%2E", "/a/"),
    /* ".." inside the root */
    OK("/a/..", "/"),
    OK("/a/../", "/"),
    OK("/a/b/../c", "/a/c"),
    OK("/a/b/../../c", "/c"),
    OK("/a/%2e%2e/b", "/b"),
    OK("/a/.%2E/b", "/b"),
    OK("/a//../b", "/b"),
    OK("/a/b/./../../c/./d/", "/c/d/"),
    /* not a path */
    BAD(""),
    BAD("a/b"),
    BAD("*"),
    BAD("?x"),
    BAD("http://example.com/"),
    /* malformed escapes */
    BAD("/%"),
    BAD("/a%"),
    BAD("/%2"),
    BAD("/%g1"),
    BAD("/%1g"),
    BAD("/%%41"),
    BAD("/%u002e"),
    BAD("/a%2?x"), /* the query does not lend the escape its digits */
    /* NUL and the other controls, encoded or raw */
    BAD("/%00"),
    BAD("/a%00.html"),
    BAD("/%0a"),
    BAD("/%0d%0aSet-Cookie:x"),
    BAD("/%1f"),
    BAD("/%7f"),
    BAD("/a\tb"),
    BAD("/%c2%85"), /* NEL, a C1 control */
    /* separators that are not '/' */
    BAD("/a%2fb"),
    BAD("/a%2Fb"),
    BAD("/a\\b"),
    BAD("/a%5cb"),
    BAD("/a#frag"),
    /* bad UTF-8 */
    BAD("/%c0%ae"),
    BAD("/%c0%af"),
    BAD("/%c1%9c"),
    BAD("/%e0%80%ae"),
    BAD("/%f0%80%80%ae"),
    BAD("/%ed%a0%80"),    /* a surrogate */
    BAD("/%f4%90%80%80"), /* above U+10FFFF */
    BAD("/%ff"),
    BAD("/%80"),
    BAD("/%c3"),
    BAD("/%c3/"),
    BAD("/\xc3("),
    /* ".." above the root */
    BAD("/.."),
    BAD("/../"),
    BAD("/../a"),
    BAD("/%2e%2e"),
    BAD("/%2E%2e/"),
    BAD("/.%2e/"),
    BAD("/%2e./"),
    BAD("/a/../.."),
    BAD("/a/../../b"),
    BAD("/./../a"),
    BAD("//../a"),
    BAD("/a/b/../../../c"),
    /* dotfiles */
    HIDDEN("/.git/config"),
    HIDDEN("/.env"),
    HIDDEN("/%2egit/HEAD"),
    HIDDEN("/a/.htaccess"),
    HIDDEN("/..."),
    HIDDEN("/..../x"),
    HIDDEN("/..;/x"),
    HIDDEN("/..%252f"),
    HIDDEN("/.git/../index.html"), /* named on the way: refused */
    HIDDEN("/a/.well-known/x"),    /* only at the top */
    HIDDEN("/.well-known/.secret"),
    OK("/.well-known/security.txt", "/.well-known/security.txt"),
    OK("/.well-known/", "/.well-known/"),
    {"/.git/config", STATIC_PATH_ALLOW_DOTFILES, STATIC_PATH_OK,
     "/.git/config"},
    {"/a/.b/", STATIC_PATH_ALLOW_DOTFILES, STATIC_PATH_OK, "/a/.b/"},
    {"/../.git", STATIC_PATH_ALLOW_DOTFILES, STATIC_PATH_BAD_REQUEST, NULL},
};

static void check_case(tap *t, const norm_case *c)
{
    char out[256];
    size_t length = 12345;
    memset(out, 'X', sizeof out);
    static_path_status s = static_path_normalize(
        c->target, strlen(c->target), c->flags, out, sizeof out, &length);
    if (c->status != STATIC_PATH_OK) {
        TAP_OK(t, s == c->status, "\"%s\" is %s (got %s)", c->target,
               static_path_status_name(c->status), static_path_status_name(s));
        return;
    }
    TAP_OK(t,
           s == STATIC_PATH_OK && strcmp(out, c->path) == 0 &&
               length == strlen(c->path),
           "\"%s\" becomes \"%s\" (got %s \"%s\")", c->target, c->path,
           static_path_status_name(s), s == STATIC_PATH_OK ? out : "");
}

/* The target is used through its length: a NUL inside it is a byte like
 * any other, refused, never an end that hides what follows. */
static void check_lengths(tap *t)
{
    char out[64];
    size_t n;
    static const char with_nul[] = "/a\0/../../etc";
    TAP_OK(t,
           static_path_normalize(with_nul, sizeof with_nul - 1, 0, out,
                                 sizeof out, &n) == STATIC_PATH_BAD_REQUEST,
           "a raw NUL in the target is refused");
    TAP_OK(t,
           static_path_normalize("/abc/def", 4, 0, out, sizeof out, &n) ==
                   STATIC_PATH_OK &&
               strcmp(out, "/abc") == 0,
           "only `length` bytes of the target are read");
    TAP_OK(t,
           static_path_normalize("/a%2", 3, 0, out, sizeof out, &n) ==
               STATIC_PATH_BAD_REQUEST,
           "an escape cut by the length is malformed");
    TAP_OK(t,
           static_path_normalize("/abc", 4, 0, out, 5, &n) == STATIC_PATH_OK &&
               n == 4,
           "length + 1 bytes of output always suffice");
    TAP_OK(t,
           static_path_normalize("/abc", 4, 0, out, 4, &n) ==
               STATIC_PATH_TOO_LONG,
           "one byte less is too long (414)");
    TAP_OK(t,
           static_path_normalize("/abc/", 5, 0, out, 5, &n) ==
               STATIC_PATH_TOO_LONG,
           "the trailing slash needs its room too");
    TAP_OK(t,
           static_path_normalize("/a/b/../..", 10, 0, out, 3, &n) ==
               STATIC_PATH_TOO_LONG,
           "the limit applies on the way, not only to the result");
    TAP_OK(t,
           static_path_normalize("/", 1, 0, out, 1, &n) == STATIC_PATH_TOO_LONG,
           "an output of one byte cannot hold even \"/\"");
    TAP_OK(t,
           static_path_normalize("/x", 2, 0, out, sizeof out, NULL) ==
               STATIC_PATH_OK,
           "out_length may be NULL");
}

static void check_statuses(tap *t)
{
    TAP_OK(t, static_path_http_status(STATIC_PATH_OK) == 200, "OK is 200");
    TAP_OK(t, static_path_http_status(STATIC_PATH_BAD_REQUEST) == 400,
           "BAD_REQUEST is 400");
    TAP_OK(t, static_path_http_status(STATIC_PATH_HIDDEN) == 404,
           "HIDDEN is 404: a dotfile looks absent");
    TAP_OK(t, static_path_http_status(STATIC_PATH_TOO_LONG) == 414,
           "TOO_LONG is 414");
}

static void check_servable(tap *t)
{
    static const struct {
        const char *name;
        unsigned flags;
        bool servable;
    } names[] = {
        {"index.html", 0, true},
        {"a b", 0, true},
        {"caf\xc3\xa9", 0, true},
        {"<>&\"'", 0, true},
        {"", 0, false},
        {".", 0, false},
        {"..", 0, false},
        {".git", 0, false},
        {"a\\b", 0, false},
        {"a\nb", 0, false},
        {"\xff", 0, false},
        {"\xc0\xae", 0, false},
        {".git", STATIC_PATH_ALLOW_DOTFILES, true},
        {"..", STATIC_PATH_ALLOW_DOTFILES, false},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        TAP_OK(
            t,
            static_path_name_is_servable(names[i].name, strlen(names[i].name),
                                         names[i].flags) == names[i].servable,
            "name %zu (\"%s\") is %sservable", i,
            strchr(names[i].name, '\n') ? "a<LF>b" : names[i].name,
            names[i].servable ? "" : "not ");
}

static void check_encode(tap *t)
{
    static const struct {
        const char *path, *url;
    } encodings[] = {
        {"/", "/"},
        {"/a b/", "/a%20b/"},
        {"/caf\xc3\xa9", "/caf%C3%A9"},
        {"/100%", "/100%25"},
        {"/?#", "/%3F%23"},
        {"/<\">", "/%3C%22%3E"},
        {"/a:b@c!$&'()*+,;=-._~", "/a:b@c!$&'()*+,;=-._~"},
    };
    for (size_t i = 0; i < sizeof encodings / sizeof encodings[0]; i++) {
        char url[64], back[64];
        size_t n = static_path_encode(encodings[i].path, url, sizeof url);
        TAP_OK(t,
               n == strlen(encodings[i].url) &&
                   strcmp(url, encodings[i].url) == 0,
               "\"%s\" encodes as \"%s\" (got \"%s\")", encodings[i].path,
               encodings[i].url, n ? url : "");
        size_t m;
        TAP_OK(t,
               static_path_normalize(url, n, STATIC_PATH_ALLOW_DOTFILES, back,
                                     sizeof back, &m) == STATIC_PATH_OK &&
                   strcmp(back, encodings[i].path) == 0,
               "and \"%s\" normalises back", url);
    }
    char small[6];
    TAP_OK(t, static_path_encode("/a b", small, sizeof small) == 0,
           "an encoding that does not fit gives 0");
    char exact[7];
    TAP_OK(t,
           static_path_encode("/a b", exact, 7) == 6 &&
               strcmp(exact, "/a%20b") == 0,
           "an encoding that fits exactly, with its NUL");
}

int main(void)
{
    tap t = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&t, &cases[i]);
    check_lengths(&t);
    check_statuses(&t);
    check_servable(&t);
    check_encode(&t);
    return tap_done(&t);
}
