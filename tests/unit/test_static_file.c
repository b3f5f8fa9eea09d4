/*
 * test_static_file.c - the static file server's three steps, tested alone.
 *
 *   - Traversal: request targets go through static_path_normalize and
 *     static_file_open, as the server does, against a real directory tree
 *     with a secret file next to the root and symbolic links inside it.
 *     Each target must give its expected status, and no target may ever
 *     open a file outside the root.
 *   - The directory listing, the Location of a redirect, the media types.
 *   - static_file_decide: conditionals and ranges, as a table.
 *   - static_file_send over a socket pair: backpressure, ranges, a file
 *     that shrinks, a peer that leaves.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "07-http-server/static_file.h"
#include "07-http-server/static_path.h"
#include "tap.h"

/* --- the fixture: a root inside a folder that holds secrets ------------ */

static void must(tap *t, bool ok, const char *what)
{
    if (!ok) {
        TAP_OK(t, false, "fixture: %s (%s)", what, strerror(errno));
        exit(tap_done(t));
    }
}

static void write_file(tap *t, int dir, const char *name, const char *text)
{
    int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    must(t, fd >= 0, name);
    size_t n = strlen(text);
    must(t, write(fd, text, n) == (ssize_t)n, name);
    close(fd);
}

static void make_dir(tap *t, int dir, const char *name)
{
    must(t, mkdirat(dir, name, 0755) == 0, name);
}

static void make_link(tap *t, int dir, const char *name, const char *to)
{
    must(t, symlinkat(to, dir, name) == 0, name);
}

/* Removes `name` inside `dir`, and everything under it. */
static void remove_tree(int dir, const char *name)
{
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL)
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                    remove_tree(fd, e->d_name);
            closedir(d);
        } else if (fd >= 0) {
            close(fd);
        }
        unlinkat(dir, name, AT_REMOVEDIR);
    } else {
        unlinkat(dir, name, 0);
    }
}

typedef struct fixture {
    char base[256];
    int base_fd, root_fd;
    ino_t secret_inodes[2];
} fixture;

static void make_fixture(tap *t, fixture *f)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(f->base, sizeof f->base, "%s/nio-static-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    must(t, mkdtemp(f->base) != NULL, "mkdtemp");
    f->base_fd = open(f->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    must(t, f->base_fd >= 0, "open base");
    int b = f->base_fd;

    /* Outside the root. */
    write_file(t, b, "secret.txt", "TOP SECRET\n");
    make_dir(t, b, "outside");
    write_file(t, b, "outside/secret2.txt", "ALSO SECRET\n");
    struct stat st;
    must(t, fstatat(b, "secret.txt", &st, 0) == 0, "stat secret");
    f->secret_inodes[0] = st.st_ino;
    must(t, fstatat(b, "outside/secret2.txt", &st, 0) == 0, "stat secret2");
    f->secret_inodes[1] = st.st_ino;

    /* The root. */
    make_dir(t, b, "root");
    f->root_fd = openat(b, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    must(t, f->root_fd >= 0, "open root");
    int r = f->root_fd;
    write_file(t, r, "index.html", "<h1>home</h1>\n");
    write_file(t, r, "hello.txt", "hello, world\n");
    write_file(t, r, "empty.txt", "");
    make_dir(t, r, "a");
    make_dir(t, r, "a/b");
    write_file(t, r, "a/b/c.txt", "c\n");
    make_dir(t, r, "sub");
    write_file(t, r, "sub/index.html", "sub\n");
    make_dir(t, r, "my docs");
    write_file(t, r, "my docs/index.html", "my docs\n");
    make_dir(t, r, "%2e%2e"); /* a literal name, reached by "%252e%252e" */
    write_file(t, r, "%2e%2e/note.txt", "a folder with a strange name\n");
    write_file(t, r, ".hidden", "hidden\n");
    make_dir(t, r, ".git");
    write_file(t, r, ".git/config", "[core]\n");
    make_dir(t, r, ".well-known");
    write_file(t, r, ".well-known/security.txt", "Contact: x\n");
    make_dir(t, r, "index-dir");
    make_dir(t, r, "index-dir/index.html");
    make_dir(t, r, "index-link");
    make_link(t, r, "index-link/index.html", "../hello.txt");

    /* Links: inside to inside, inside to outside, and directories. */
    make_link(t, r, "link-inside", "hello.txt");
    make_link(t, r, "link-outside", "../secret.txt");
    char absolute[300];
    snprintf(absolute, sizeof absolute, "%s/secret.txt", f->base);
    make_link(t, r, "link-absolute", absolute);
    make_link(t, r, "dir-outside", "../outside");
    make_link(t, r, "dir-up", "..");
    make_link(t, r, "dir-inside", "a");
    must(t, mkfifoat(r, "fifo", 0644) == 0, "mkfifo");

    /* A directory to list, with names that need escaping. */
    make_dir(t, r, "docs");
    write_file(t, r, "docs/x y.txt", "x y\n");
    write_file(t, r, "docs/<b>&\"'.txt", "markup\n");
    write_file(t, r, "docs/caf\xc3\xa9.txt", "coffee\n");
    write_file(t, r, "docs/z.md", "# z\n");
    write_file(t, r, "docs/.secret", "no\n");
    write_file(t, r, "docs/\xff.txt", "not UTF-8\n");
    write_file(t, r, "docs/back\\slash.txt", "no\n");
    make_dir(t, r, "docs/inner");
    make_link(t, r, "docs/link", "../hello.txt");
    must(t, mkfifoat(r, "docs/fifo", 0644) == 0, "mkfifo docs/fifo");
}

static int open_descriptors(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

/* --- traversal: what the server does with a target -------------------- */

typedef struct served {
    int status;
    char body[128];
    bool outside; /* the file opened was one of the secrets */
} served;

static served serve(const fixture *f, const char *target)
{
    served s = {0};
    char path[512];
    static_path_status ps = static_path_normalize(target, strlen(target), 0,
                                                  path, sizeof path, NULL);
    if (ps != STATIC_PATH_OK) {
        s.status = static_path_http_status(ps);
        return s;
    }
    static_file file;
    static_open_status os = static_file_open(f->root_fd, path, &file);
    s.status = static_open_http_status(os);
    if (os == STATIC_OPEN_FILE) {
        s.outside = file.st.st_ino == f->secret_inodes[0] ||
                    file.st.st_ino == f->secret_inodes[1];
        ssize_t n = pread(file.fd, s.body, sizeof s.body - 1, 0);
        s.body[n > 0 ? n : 0] = '\0';
    }
    if (file.fd >= 0)
        close(file.fd);
    return s;
}

static const struct {
    const char *target;
    int status;
    const char *body; /* for 200 from a file; NULL for a listing */
} traversals[] = {
    /* ".." in every spelling */
    {"/../secret.txt", 400, NULL},
    {"/..%2fsecret.txt", 400, NULL},
    {"/%2e%2e/secret.txt", 400, NULL},
    {"/%2E%2e/secret.txt", 400, NULL},
    {"/%2e%2E%2fsecret.txt", 400, NULL},
    {"/.%2e/secret.txt", 400, NULL},
    {"/%2e./secret.txt", 400, NULL},
    {"/%2f../secret.txt", 400, NULL},
    {"/./../secret.txt", 400, NULL},
    {"//../secret.txt", 400, NULL},
    {"//..//secret.txt", 400, NULL},
    {"/a/../../secret.txt", 400, NULL},
    {"/A/../../secret.txt", 400, NULL},
    {"/a/b/../../../secret.txt", 400, NULL},
    {"/a/%2e%2e/%2e%2e/secret.txt", 400, NULL},
    {"/hello.txt/../../secret.txt", 400, NULL},
    {"/..", 400, NULL},
    /* backslashes */
    {"/..\\secret.txt", 400, NULL},
    {"/\\..\\secret.txt", 400, NULL},
    {"/..%5csecret.txt", 400, NULL},
    {"/%5c..%5csecret.txt", 400, NULL},
    /* double encoding: decoded once, it is a name */
    {"/%252e%252e/secret.txt", 404, NULL},
    {"/%252e%252e/note.txt", 200, "a folder with a strange name\n"},
    {"/..%252fsecret.txt", 404, NULL},
    /* overlong and look-alike dots */
    {"/%c0%ae%c0%ae/secret.txt", 400, NULL},
    {"/%c0%ae%c0%ae%c0%afsecret.txt", 400, NULL},
    {"/%e0%80%ae%e0%80%ae/secret.txt", 400, NULL},
    {"/%c0%2e%c0%2e/secret.txt", 400, NULL},
    {"/%uff0e%uff0e/secret.txt", 400, NULL},
    {"/%ef%bc%8e%ef%bc%8e/secret.txt", 404, NULL}, /* fullwidth: a name */
    /* NUL and controls */
    {"/hello.txt%00.html", 400, NULL},
    {"/hello.txt%00", 400, NULL},
    {"/..%09/secret.txt", 400, NULL},
    /* dots that are not ".." */
    {"/.../secret.txt", 404, NULL},
    {"/..../secret.txt", 404, NULL},
    {"/..;/secret.txt", 404, NULL},
    {"/..%20/secret.txt", 404, NULL},
    {"/hello.txt.", 404, NULL},
    {"/hello.txt%20", 404, NULL},
    {"/hello.txt::$DATA", 404, NULL},
    {"/HELLO.TXT", 404, NULL},
    /* symbolic links, inside and out, to files and to directories */
    {"/link-inside", 403, NULL},
    {"/link-outside", 403, NULL},
    {"/link-absolute", 403, NULL},
    {"/dir-outside/secret2.txt", 403, NULL},
    {"/dir-outside/", 403, NULL},
    {"/dir-up/secret.txt", 403, NULL},
    {"/dir-up/root/hello.txt", 403, NULL},
    {"/dir-inside/b/c.txt", 403, NULL},
    {"/docs/link", 403, NULL},
    {"/index-link/", 403, NULL},
    /* what is not a regular file or a directory */
    {"/fifo", 403, NULL},
    {"/docs/fifo", 403, NULL},
    /* dotfiles */
    {"/.hidden", 404, NULL},
    {"/.git/config", 404, NULL},
    {"/%2egit/config", 404, NULL},
    {"/.well-known/security.txt", 200, "Contact: x\n"},
    /* not a path at all */
    {"secret.txt", 400, NULL},
    {"", 400, NULL},
    /* and what should work */
    {"/", 200, "<h1>home</h1>\n"},
    {"/hello.txt", 200, "hello, world\n"},
    {"/hello.txt?x=/../secret.txt", 200, "hello, world\n"},
    {"/empty.txt", 200, ""},
    {"/a/b/c.txt", 200, "c\n"},
    {"/a/b/../b/./c.txt", 200, "c\n"},
    {"/a//b///c.txt", 200, "c\n"},
    {"/sub", 301, NULL},
    {"/sub/", 200, "sub\n"},
    {"/my%20docs/", 200, "my docs\n"},
    {"/docs", 301, NULL},
    {"/docs/", 200, NULL},
    {"/index-dir/", 200, NULL},
    {"/hello.txt/", 404, NULL},
    {"/nothing", 404, NULL},
    {"/a/nothing/x", 404, NULL},
    {"/hello.txt/x", 404, NULL},
};

static void check_traversals(tap *t, const fixture *f)
{
    int escaped = 0;
    for (size_t i = 0; i < sizeof traversals / sizeof traversals[0]; i++) {
        served s = serve(f, traversals[i].target);
        if (s.outside || strstr(s.body, "SECRET") != NULL)
            escaped++;
        bool body_ok = traversals[i].body == NULL ||
                       strcmp(s.body, traversals[i].body) == 0;
        TAP_OK(t, s.status == traversals[i].status && body_ok && !s.outside,
               "%-32s -> %d (got %d%s)", traversals[i].target,
               traversals[i].status, s.status, body_ok ? "" : ", wrong body");
    }
    TAP_OK(t, escaped == 0, "no target reached a file outside the root");
}

/* static_file_open guards itself too: a path that skipped the normaliser
 * still cannot climb. */
static void check_open_guards(tap *t, const fixture *f)
{
    static const char *const raw[] = {"/../secret.txt", "/a/../../secret.txt",
                                      "/./hello.txt",   "//hello.txt",
                                      "relative.txt",   "/a/b/../../.."};
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        static_file file;
        static_open_status s = static_file_open(f->root_fd, raw[i], &file);
        TAP_OK(t, s == STATIC_OPEN_NOT_FOUND && file.fd == -1,
               "unnormalised \"%s\" is not found (got %s)", raw[i],
               static_open_status_name(s));
    }
    char long_name[400];
    memset(long_name, 'x', sizeof long_name);
    long_name[0] = '/';
    long_name[sizeof long_name - 1] = '\0';
    static_file file;
    TAP_OK(t,
           static_file_open(f->root_fd, long_name, &file) ==
               STATIC_OPEN_NOT_FOUND,
           "a segment longer than any file name is not found");
}

static void check_open_results(tap *t, const fixture *f)
{
    static_file file;
    static_open_status s = static_file_open(f->root_fd, "/sub/", &file);
    TAP_OK(t,
           s == STATIC_OPEN_FILE && S_ISREG(file.st.st_mode) &&
               file.st.st_size == 4 &&
               strcmp(file.content_type, "text/html; charset=utf-8") == 0,
           "a directory is served as its index.html, as HTML");
    if (file.fd >= 0)
        close(file.fd);
    s = static_file_open(f->root_fd, "/docs/z.md", &file);
    TAP_OK(t,
           s == STATIC_OPEN_FILE &&
               strcmp(file.content_type, "text/markdown; charset=utf-8") == 0,
           "a file's type comes from its name");
    TAP_OK(t, file.fd >= 0 && (fcntl(file.fd, F_GETFD) & FD_CLOEXEC) != 0,
           "descriptors are opened close-on-exec");
    if (file.fd >= 0)
        close(file.fd);

    /* A root without index.html: "/" is a directory, with its own fd. */
    int outside = openat(f->base_fd, "outside", O_RDONLY | O_DIRECTORY);
    s = static_file_open(outside, "/", &file);
    TAP_OK(t,
           s == STATIC_OPEN_DIRECTORY && file.fd >= 0 && file.fd != outside &&
               S_ISDIR(file.st.st_mode),
           "the root without an index is a directory, on a new descriptor");
    if (file.fd >= 0)
        close(file.fd);
    TAP_OK(t, fcntl(outside, F_GETFD) != -1,
           "and the root's own descriptor stays open");
    close(outside);

    if (geteuid() != 0) {
        int r = f->root_fd;
        write_file(t, r, "unreadable.txt", "x\n");
        fchmodat(r, "unreadable.txt", 0, 0);
        s = static_file_open(r, "/unreadable.txt", &file);
        TAP_OK(t, s == STATIC_OPEN_FORBIDDEN,
               "a file the server may not read is 403 (got %s)",
               static_open_status_name(s));
        if (file.fd >= 0)
            close(file.fd);
    } else {
        printf("# running as root: the permission check is not tried\n");
    }
}

static void check_location(tap *t)
{
    char out[64];
    TAP_OK(t,
           static_file_location("/docs", out, sizeof out) == 6 &&
               strcmp(out, "/docs/") == 0,
           "the Location for /docs is /docs/");
    TAP_OK(t,
           static_file_location("/my docs/caf\xc3\xa9", out, sizeof out) &&
               strcmp(out, "/my%20docs/caf%C3%A9/") == 0,
           "the Location is percent-encoded (%s)", out);
    TAP_OK(t,
           static_file_location("/a?b", out, sizeof out) &&
               strcmp(out, "/a%3Fb/") == 0,
           "a '?' in a name does not start a query in the Location");
    char small[6];
    TAP_OK(t, static_file_location("/docs", small, sizeof small) == 0,
           "a Location that does not fit gives 0");
}

/* --- the listing ------------------------------------------------------ */

static void check_listing(tap *t, const fixture *f)
{
    static_file dir;
    static_open_status s = static_file_open(f->root_fd, "/docs/", &dir);
    TAP_OK(t, s == STATIC_OPEN_DIRECTORY, "/docs/ has no index: a directory");
    if (s != STATIC_OPEN_DIRECTORY)
        return;
    char *html = NULL;
    size_t length = 0;
    int rc = static_file_list_directory(dir.fd, "/docs/", 0, &html, &length);
    close(dir.fd);
    TAP_OK(t, rc == 0 && html != NULL && strlen(html) == length,
           "the listing is made");
    if (rc != 0)
        return;
    static const char *const present[] = {
        "<title>Index of /docs/</title>",
        "<a href=\"../\">../</a>",
        "<a href=\"/docs/inner/\">inner/</a>",
        "<a href=\"/docs/x%20y.txt\">x y.txt</a> 4 bytes",
        ("<a href=\"/docs/%3Cb%3E&amp;%22&#39;.txt\">"
         "&lt;b&gt;&amp;&quot;&#39;.txt</a> 7 bytes"),
        "<a href=\"/docs/caf%C3%A9.txt\">caf\xc3\xa9.txt</a>",
        "<a href=\"/docs/z.md\">z.md</a>",
    };
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
        TAP_OK(t, strstr(html, present[i]) != NULL, "the listing has %s",
               present[i]);
    static const char *const absent[] = {
        "<b>", "&\"", ".secret", "link", "fifo", "\xff", "back",
    };
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        TAP_OK(t, strstr(html, absent[i]) == NULL, "the listing has no \"%s\"",
               i == 5 ? "\\xff" : absent[i]);
    const char *inner = strstr(html, "inner/"), *x = strstr(html, "x y.txt"),
               *z = strstr(html, "z.md");
    TAP_OK(t, inner != NULL && x != NULL && z != NULL && inner < x && x < z,
           "directories come first, then files by name");
    free(html);

    rc = static_file_list_directory(f->root_fd, "/", 0, &html, &length);
    TAP_OK(t,
           rc == 0 && strstr(html, "../") == NULL &&
               strstr(html, "href=\"/hello.txt\"") != NULL &&
               strstr(html, "link-inside") == NULL &&
               strstr(html, ".git") == NULL &&
               strstr(html, "href=\"/%252e%252e/\"") != NULL,
           "the root's listing: no parent, no links, no dotfiles, and "
           "a '%%' in a name encoded");
    free(html);
    rc = static_file_list_directory(f->root_fd, "/<x>/", 0, &html, &length);
    TAP_OK(t,
           rc == 0 && strstr(html, "Index of /&lt;x&gt;/") != NULL &&
               strstr(html, "<x>") == NULL,
           "the path in the title is escaped too");
    free(html);
    rc = static_file_list_directory(f->root_fd, "/", STATIC_PATH_ALLOW_DOTFILES,
                                    &html, &length);
    TAP_OK(t, rc == 0 && strstr(html, "href=\"/.git/\"") != NULL,
           "with dotfiles allowed, the listing shows them");
    free(html);
    TAP_OK(t, static_file_list_directory(-1, "/", 0, &html, &length) == -1,
           "a bad descriptor is an error");
}

/* --- media types ------------------------------------------------------ */

static void check_mime(tap *t)
{
    static const struct {
        const char *name, *type;
    } types[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"INDEX.HTM", "text/html; charset=utf-8"},
        {"/a/style.css", "text/css; charset=utf-8"},
        {"app.js", "text/javascript; charset=utf-8"},
        {"data.json", "application/json"},
        {"README.md", "text/markdown; charset=utf-8"},
        {"buffer.c", "text/plain; charset=utf-8"},
        {"logo.PNG", "image/png"},
        {"photo.jpeg", "image/jpeg"},
        {"icon.svg", "image/svg+xml"},
        {"slides.pdf", "application/pdf"},
        {"x.tar.gz", "application/gzip"},
        {"README", "application/octet-stream"},
        {".profile", "application/octet-stream"},
        {"/a.d/file", "application/octet-stream"},
        {"trailing.", "application/octet-stream"},
        {"x.exe", "application/octet-stream"},
        {"x.html.bak", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        TAP_OK(t,
               strcmp(static_file_mime_type(types[i].name), types[i].type) == 0,
               "%s is %s (got %s)", types[i].name, types[i].type,
               static_file_mime_type(types[i].name));
}

/* --- deciding: conditionals and ranges -------------------------------- */

#define MTIME     784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */
#define LM        "Sun, 06 Nov 1994 08:49:37 GMT"
#define LM_BEFORE "Sun, 06 Nov 1994 08:49:36 GMT"
#define LM_AFTER  "Sun, 06 Nov 1994 08:49:38 GMT"
#define ETAG      "\"2a-3e8-2ebc98a1.5\"" /* inode 42, 1000 bytes, mtime.5ns */
#define OTHER     "\"2a-3e8-2ebc98a1.6\""

typedef struct decide_case {
    const char *what;
    bool head;
    const char *if_match, *if_none_match, *if_modified_since,
        *if_unmodified_since, *range, *if_range;
    int status;
    bool body;
    uint64_t offset, length;
    const char *content_range;
} decide_case;

/* Fields, in order: what, head, If-Match, If-None-Match, If-Modified-Since,
 * If-Unmodified-Since, Range, If-Range; status, body, offset, length,
 * Content-Range. */
static const decide_case decisions[] = {
    {"GET", 0, 0, 0, 0, 0, 0, 0, 200, 1, 0, 1000, ""},
    {"HEAD", 1, 0, 0, 0, 0, 0, 0, 200, 0, 0, 1000, ""},
    /* If-None-Match */
    {"INM: our tag", 0, 0, ETAG, 0, 0, 0, 0, 304, 0, 0, 0, ""},
    {"INM: weak form of our tag", 0, 0, "W/" ETAG, 0, 0, 0, 0, 304, 0, 0, 0,
     ""},
    {"INM: in a list", 0, 0, "\"x\", " ETAG, 0, 0, 0, 0, 304, 0, 0, 0, ""},
    {"INM: list with empty elements", 0, 0, " \"x\",, W/\"y\" ," ETAG " ", 0, 0,
     0, 0, 304, 0, 0, 0, ""},
    {"INM: another tag", 0, 0, OTHER, 0, 0, 0, 0, 200, 1, 0, 1000, ""},
    {"INM: *", 0, 0, "*", 0, 0, 0, 0, 304, 0, 0, 0, ""},
    {"INM: unquoted", 0, 0, "2a-3e8-2ebc98a1.5", 0, 0, 0, 0, 200, 1, 0, 1000,
     ""},
    {"INM: no comma", 0, 0, "\"x\" " ETAG, 0, 0, 0, 0, 200, 1, 0, 1000, ""},
    {"INM: unterminated", 0, 0, "\"2a-3e8", 0, 0, 0, 0, 200, 1, 0, 1000, ""},
    {"INM: a tag with a space", 0, 0, "\"2a 3e8\"", 0, 0, 0, 0, 200, 1, 0, 1000,
     ""},
    {"INM wins over IMS (no match, date matches)", 0, 0, OTHER, LM, 0, 0, 0,
     200, 1, 0, 1000, ""},
    {"INM wins over IMS (match, date older)", 0, 0, ETAG, LM_BEFORE, 0, 0, 0,
     304, 0, 0, 0, ""},
    {"HEAD with a matching INM", 1, 0, ETAG, 0, 0, 0, 0, 304, 0, 0, 0, ""},
    /* If-Modified-Since */
    {"IMS: Last-Modified", 0, 0, 0, LM, 0, 0, 0, 304, 0, 0, 0, ""},
    {"IMS: later", 0, 0, 0, LM_AFTER, 0, 0, 0, 304, 0, 0, 0, ""},
    {"IMS: earlier", 0, 0, 0, LM_BEFORE, 0, 0, 0, 200, 1, 0, 1000, ""},
    {"IMS: RFC 850 form", 0, 0, 0, "Sunday, 06-Nov-94 08:49:37 GMT", 0, 0, 0,
     304, 0, 0, 0, ""},
    {"IMS: asctime form", 0, 0, 0, "Sun Nov  6 08:49:37 1994", 0, 0, 0, 304, 0,
     0, 0, ""},
    {"IMS: invalid date ignored", 0, 0, 0, "yesterday", 0, 0, 0, 200, 1, 0,
     1000, ""},
    {"IMS: wrong case ignored", 0, 0, 0, "sun, 06 nov 1994 08:49:37 gmt", 0, 0,
     0, 200, 1, 0, 1000, ""},
    /* If-Match and If-Unmodified-Since */
    {"IM: our tag", 0, ETAG, 0, 0, 0, 0, 0, 200, 1, 0, 1000, ""},
    {"IM: *", 0, "*", 0, 0, 0, 0, 0, 200, 1, 0, 1000, ""},
    {"IM: another tag", 0, OTHER, 0, 0, 0, 0, 0, 412, 0, 0, 0, ""},
    {"IM: weak tags never match strongly", 0, "W/" ETAG, 0, 0, 0, 0, 0, 412, 0,
     0, 0, ""},
    {"IM: garbage", 0, "garbage", 0, 0, 0, 0, 0, 412, 0, 0, 0, ""},
    {"IUS: Last-Modified", 0, 0, 0, 0, LM, 0, 0, 200, 1, 0, 1000, ""},
    {"IUS: earlier", 0, 0, 0, 0, LM_BEFORE, 0, 0, 412, 0, 0, 0, ""},
    {"IUS: invalid ignored", 0, 0, 0, 0, "soon", 0, 0, 200, 1, 0, 1000, ""},
    {"IM present: IUS ignored", 0, ETAG, 0, 0, LM_BEFORE, 0, 0, 200, 1, 0, 1000,
     ""},
    {"IM before INM", 0, OTHER, ETAG, 0, 0, 0, 0, 412, 0, 0, 0, ""},
    /* Range: each form */
    {"bytes=0-0", 0, 0, 0, 0, 0, "bytes=0-0", 0, 206, 1, 0, 1,
     "bytes 0-0/1000"},
    {"bytes=0-499", 0, 0, 0, 0, 0, "bytes=0-499", 0, 206, 1, 0, 500,
     "bytes 0-499/1000"},
    {"bytes=500-", 0, 0, 0, 0, 0, "bytes=500-", 0, 206, 1, 500, 500,
     "bytes 500-999/1000"},
    {"bytes=-100", 0, 0, 0, 0, 0, "bytes=-100", 0, 206, 1, 900, 100,
     "bytes 900-999/1000"},
    {"bytes=999-", 0, 0, 0, 0, 0, "bytes=999-", 0, 206, 1, 999, 1,
     "bytes 999-999/1000"},
    {"bytes=990-2000 (clamped)", 0, 0, 0, 0, 0, "bytes=990-2000", 0, 206, 1,
     990, 10, "bytes 990-999/1000"},
    {"bytes=-2000 (whole)", 0, 0, 0, 0, 0, "bytes=-2000", 0, 206, 1, 0, 1000,
     "bytes 0-999/1000"},
    {"bytes=-1000 (exactly whole)", 0, 0, 0, 0, 0, "bytes=-1000", 0, 206, 1, 0,
     1000, "bytes 0-999/1000"},
    {"BYTES=0-4 (unit case)", 0, 0, 0, 0, 0, "BYTES=0-4", 0, 206, 1, 0, 5,
     "bytes 0-4/1000"},
    {"bytes=0-4, (empty element)", 0, 0, 0, 0, 0, "bytes=0-4,", 0, 206, 1, 0, 5,
     "bytes 0-4/1000"},
    {"bytes= 0-4 (OWS)", 0, 0, 0, 0, 0, "bytes= 0-4 ", 0, 206, 1, 0, 5,
     "bytes 0-4/1000"},
    /* Range: unsatisfiable */
    {"bytes=-0", 0, 0, 0, 0, 0, "bytes=-0", 0, 416, 0, 0, 0, "bytes */1000"},
    {"bytes=1000-", 0, 0, 0, 0, 0, "bytes=1000-", 0, 416, 0, 0, 0,
     "bytes */1000"},
    {"bytes=1000-2000", 0, 0, 0, 0, 0, "bytes=1000-2000", 0, 416, 0, 0, 0,
     "bytes */1000"},
    {"bytes=2000-3000,5000-", 0, 0, 0, 0, 0, "bytes=2000-3000,5000-", 0, 416, 0,
     0, 0, "bytes */1000"},
    /* Range: overflowing numbers saturate */
    {"bytes=0-(huge)", 0, 0, 0, 0, 0, "bytes=0-99999999999999999999999", 0, 206,
     1, 0, 1000, "bytes 0-999/1000"},
    {"bytes=(huge)-", 0, 0, 0, 0, 0, "bytes=99999999999999999999-", 0, 416, 0,
     0, 0, "bytes */1000"},
    {"bytes=-(huge)", 0, 0, 0, 0, 0, "bytes=-99999999999999999999999", 0, 206,
     1, 0, 1000, "bytes 0-999/1000"},
    {"bytes=18446744073709551615-18446744073709551615", 0, 0, 0, 0, 0,
     "bytes=18446744073709551615-18446744073709551615", 0, 416, 0, 0, 0,
     "bytes */1000"},
    /* Range: ignored (the whole file, 200) */
    {"bytes=5-3 (invalid)", 0, 0, 0, 0, 0, "bytes=5-3", 0, 200, 1, 0, 1000, ""},
    {"bytes=abc", 0, 0, 0, 0, 0, "bytes=abc", 0, 200, 1, 0, 1000, ""},
    {"bytes=", 0, 0, 0, 0, 0, "bytes=", 0, 200, 1, 0, 1000, ""},
    {"bytes=-", 0, 0, 0, 0, 0, "bytes=-", 0, 200, 1, 0, 1000, ""},
    {"bytes=+5-10", 0, 0, 0, 0, 0, "bytes=+5-10", 0, 200, 1, 0, 1000, ""},
    {"bytes=0x10-20", 0, 0, 0, 0, 0, "bytes=0x10-20", 0, 200, 1, 0, 1000, ""},
    {"bytes=0-5 x", 0, 0, 0, 0, 0, "bytes=0-5 x", 0, 200, 1, 0, 1000, ""},
    {"bytes 0-5 (no =)", 0, 0, 0, 0, 0, "bytes 0-5", 0, 200, 1, 0, 1000, ""},
    {"items=0-5 (unknown unit)", 0, 0, 0, 0, 0, "items=0-5", 0, 200, 1, 0, 1000,
     ""},
    {"bytesx=0-5", 0, 0, 0, 0, 0, "bytesx=0-5", 0, 200, 1, 0, 1000, ""},
    {"bytes=0-5,10-15 (several)", 0, 0, 0, 0, 0, "bytes=0-5,10-15", 0, 200, 1,
     0, 1000, ""},
    {"bytes=0-5, 2000-3000 (several)", 0, 0, 0, 0, 0, "bytes=0-5, 2000-3000", 0,
     200, 1, 0, 1000, ""},
    {"HEAD ignores Range", 1, 0, 0, 0, 0, "bytes=0-4", 0, 200, 0, 0, 1000, ""},
    /* Range with conditionals */
    {"INM match before Range", 0, 0, ETAG, 0, 0, "bytes=0-4", 0, 304, 0, 0, 0,
     ""},
    {"IMS no match, Range applies", 0, 0, 0, LM_BEFORE, 0, "bytes=0-4", 0, 206,
     1, 0, 5, "bytes 0-4/1000"},
    {"If-Range: our tag", 0, 0, 0, 0, 0, "bytes=0-4", ETAG, 206, 1, 0, 5,
     "bytes 0-4/1000"},
    {"If-Range: another tag", 0, 0, 0, 0, 0, "bytes=0-4", OTHER, 200, 1, 0,
     1000, ""},
    {"If-Range: weak tag", 0, 0, 0, 0, 0, "bytes=0-4", "W/" ETAG, 200, 1, 0,
     1000, ""},
    {"If-Range: Last-Modified", 0, 0, 0, 0, 0, "bytes=0-4", LM, 206, 1, 0, 5,
     "bytes 0-4/1000"},
    {"If-Range: another date", 0, 0, 0, 0, 0, "bytes=0-4", LM_AFTER, 200, 1, 0,
     1000, ""},
    {"If-Range: garbage", 0, 0, 0, 0, 0, "bytes=0-4", "garbage", 200, 1, 0,
     1000, ""},
    {"If-Range without Range", 0, 0, 0, 0, 0, 0, ETAG, 200, 1, 0, 1000, ""},
};

static http_string field(const char *value)
{
    return (http_string){value, value != NULL ? strlen(value) : 0};
}

static struct stat file_stat(uint64_t size, int64_t mtime)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = S_IFREG | 0644;
    st.st_ino = 42;
    st.st_size = (off_t)size;
    st.st_mtim.tv_sec = (time_t)mtime;
    st.st_mtim.tv_nsec = 5;
    return st;
}

static static_request request_of(const decide_case *c, int64_t now)
{
    return (static_request){.head = c->head,
                            .if_match = field(c->if_match),
                            .if_none_match = field(c->if_none_match),
                            .if_modified_since = field(c->if_modified_since),
                            .if_unmodified_since =
                                field(c->if_unmodified_since),
                            .range = field(c->range),
                            .if_range = field(c->if_range),
                            .now = now};
}

static void check_decisions(tap *t)
{
    struct stat st = file_stat(1000, MTIME);
    char etag[STATIC_ETAG_SIZE];
    static_file_etag(&st, etag);
    TAP_OK(t, strcmp(etag, ETAG) == 0, "the entity-tag is %s (got %s)", ETAG,
           etag);
    for (size_t i = 0; i < sizeof decisions / sizeof decisions[0]; i++) {
        const decide_case *c = &decisions[i];
        static_request rq = request_of(c, MTIME + 86400);
        static_response r;
        memset(&r, 0x5a, sizeof r);
        static_file_decide(&rq, &st, "text/plain", &r);
        bool validators =
            c->status == 200 || c->status == 206 || c->status == 304
                ? strcmp(r.etag, ETAG) == 0 && strcmp(r.last_modified, LM) == 0
                : r.etag[0] == '\0' && r.last_modified[0] == '\0';
        bool type = c->status == 200 || c->status == 206
                        ? r.content_type != NULL &&
                              strcmp(r.content_type, "text/plain") == 0
                        : r.content_type == NULL;
        TAP_OK(t,
               r.status == c->status && r.send_body == c->body &&
                   r.offset == c->offset && r.length == c->length &&
                   strcmp(r.content_range, c->content_range) == 0 &&
                   validators && type,
               "%s: %d, offset %llu, length %llu%s%s (got %d, %llu, %llu, "
               "\"%s\"%s%s)",
               c->what, c->status, (unsigned long long)c->offset,
               (unsigned long long)c->length, *c->content_range ? ", " : "",
               c->content_range, r.status, (unsigned long long)r.offset,
               (unsigned long long)r.length, r.content_range,
               validators ? "" : ", validators", type ? "" : ", type");
    }
}

static void check_edge_decisions(tap *t)
{
    /* An empty file: nothing to range over. */
    struct stat empty = file_stat(0, MTIME);
    static const char *const ranges[] = {"bytes=0-", "bytes=-5", "bytes=0-0"};
    for (size_t i = 0; i < 3; i++) {
        static_request rq = {.range = field(ranges[i]), .now = MTIME + 10};
        static_response r;
        static_file_decide(&rq, &empty, "text/plain", &r);
        TAP_OK(t,
               r.status == 416 && strcmp(r.content_range, "bytes */0") == 0 &&
                   !r.send_body,
               "an empty file with %s is 416 bytes */0", ranges[i]);
    }
    static_request plain = {.now = MTIME + 10};
    static_response r;
    static_file_decide(&plain, &empty, "text/plain", &r);
    TAP_OK(t, r.status == 200 && r.length == 0,
           "an empty file without Range is 200 with length 0");

    /* A modification time in the future is replaced by now. */
    int64_t now = MTIME;
    struct stat future = file_stat(10, now + 3600);
    char now_text[HTTP_DATE_SIZE];
    http_date_format(now, now_text);
    static_file_decide(&plain, &future, "text/plain", &r);
    plain.now = now;
    static_file_decide(&plain, &future, "text/plain", &r);
    TAP_OK(t, strcmp(r.last_modified, now_text) == 0,
           "a future mtime is sent as the response's Date (%s)",
           r.last_modified);
    static_request ims = {.if_modified_since = field(now_text), .now = now};
    static_file_decide(&ims, &future, "text/plain", &r);
    TAP_OK(t, r.status == 304,
           "and If-Modified-Since that date is 304 (got %d)", r.status);

    /* If-Range with a date is weak unless Last-Modified is a second older
     * than Date: a file modified this second is sent whole. */
    struct stat fresh = file_stat(10, now);
    char fresh_text[HTTP_DATE_SIZE];
    http_date_format(now, fresh_text);
    static_request if_range = {
        .range = field("bytes=0-1"), .if_range = field(fresh_text), .now = now};
    static_file_decide(&if_range, &fresh, "text/plain", &r);
    TAP_OK(t, r.status == 200,
           "If-Range with the date of a file changed this second: 200 "
           "(got %d)",
           r.status);
    if_range.now = now + 1;
    static_file_decide(&if_range, &fresh, "text/plain", &r);
    TAP_OK(t, r.status == 206, "a second later it is 206 (got %d)", r.status);

    /* A date on a Wednesday is a date, not a weak tag ("W/..."). */
    struct stat wednesday = file_stat(10, MTIME + 3 * 86400);
    static_request wed = {.range = field("bytes=0-1"),
                          .if_range = field("Wed, 09 Nov 1994 08:49:37 GMT"),
                          .now = MTIME + 4 * 86400};
    static_file_decide(&wed, &wednesday, "text/plain", &r);
    TAP_OK(t, r.status == 206,
           "If-Range with a Wednesday's date is read as a date (got %d)",
           r.status);

    /* An entity-tag changes with any of inode, size and time. */
    struct stat a = file_stat(10, now), b = a;
    char ta[STATIC_ETAG_SIZE], tb[STATIC_ETAG_SIZE];
    static_file_etag(&a, ta);
    b.st_mtim.tv_nsec++;
    static_file_etag(&b, tb);
    bool differs = strcmp(ta, tb) != 0;
    b = a;
    b.st_size++;
    static_file_etag(&b, tb);
    differs = differs && strcmp(ta, tb) != 0;
    b = a;
    b.st_ino++;
    static_file_etag(&b, tb);
    differs = differs && strcmp(ta, tb) != 0;
    TAP_OK(t, differs && ta[0] == '"' && ta[strlen(ta) - 1] == '"',
           "the tag is quoted, and changes with time, size and inode");
}

/* --- sending ---------------------------------------------------------- */

static unsigned char pattern(uint64_t i)
{
    return (unsigned char)(i * 7 % 251);
}

/* Reads what is waiting on `fd` (non-blocking) and checks it against the
 * pattern from *position on. Returns false on a wrong byte. */
static bool drain(int fd, uint64_t *position)
{
    unsigned char bytes[65536];
    ssize_t n;
    while ((n = read(fd, bytes, sizeof bytes)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (bytes[i] != pattern(*position + (uint64_t)i))
                return false;
        *position += (uint64_t)n;
    }
    return true;
}

static int make_pattern_file(tap *t, const fixture *f, const char *name,
                             uint64_t size)
{
    int fd =
        openat(f->base_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    must(t, fd >= 0, name);
    unsigned char block[4096];
    for (uint64_t at = 0; at < size; at += sizeof block) {
        size_t n =
            size - at < sizeof block ? (size_t)(size - at) : sizeof block;
        for (size_t i = 0; i < n; i++)
            block[i] = pattern(at + i);
        must(t, pwrite(fd, block, n, (off_t)at) == (ssize_t)n, name);
    }
    return fd;
}

static void check_send(tap *t, const fixture *f)
{
    const uint64_t size = 4 * 1024 * 1024;
    int file = make_pattern_file(t, f, "big.bin", size);
    int pair[2];
    must(t, socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0, "socketpair");
    fcntl(pair[0], F_SETFL, O_NONBLOCK);
    fcntl(pair[1], F_SETFL, O_NONBLOCK);

    /* Send without reading: the socket fills, and the call says so. */
    uint64_t offset = 0;
    ssize_t n;
    int calls = 0;
    while ((n = static_file_send(file, pair[0], &offset, size - offset)) > 0)
        calls++;
    TAP_OK(t, n == 0 && offset > 0 && offset < size,
           "a full socket gives 0, not a blocked call (%llu of %llu sent)",
           (unsigned long long)offset, (unsigned long long)size);
    TAP_OK(t, calls > 0 && offset <= (uint64_t)calls * STATIC_SEND_CHUNK,
           "no call sends more than STATIC_SEND_CHUNK");

    /* Then read and send in turn, as an event loop would. */
    uint64_t received = 0;
    bool right = true;
    int rounds = 0;
    while (received < size && rounds < 100000) {
        right = right && drain(pair[1], &received);
        if (offset < size &&
            static_file_send(file, pair[0], &offset, size - offset) < 0)
            break;
        rounds++;
    }
    TAP_OK(t, right && received == size && offset == size,
           "every byte arrives, in order, with backpressure (%llu bytes)",
           (unsigned long long)received);

    /* A range: exactly the bytes asked for. */
    uint64_t from = 1000, position = from;
    uint64_t end = from + 5000;
    while (position < end &&
           static_file_send(file, pair[0], &position, end - position) > 0)
        ;
    uint64_t got = from;
    right = drain(pair[1], &got);
    TAP_OK(t, right && got == end && position == end,
           "a range sends bytes 1000..5999 and no more");

    /* The file shrinks after its length went out. */
    must(t, ftruncate(file, 100) == 0, "truncate");
    uint64_t at = 0;
    n = static_file_send(file, pair[0], &at, 200);
    ssize_t again = static_file_send(file, pair[0], &at, 200 - at);
    int error = errno;
    TAP_OK(t, n == 100 && again == -1 && error == EIO,
           "a file that ended early is EIO (got %zd, then %zd)", n, again);
    uint64_t sink = 0;
    drain(pair[1], &sink);

    /* The peer leaves. */
    close(pair[1]);
    at = 0;
    n = static_file_send(file, pair[0], &at, 50);
    error = errno;
    TAP_OK(t, n == -1 && (error == EPIPE || error == ECONNRESET),
           "a peer that left is EPIPE or ECONNRESET, not a signal");
    close(pair[0]);
    close(file);
    unlinkat(f->base_fd, "big.bin", 0);
}

int main(void)
{
    tap t = {0};
    signal(SIGPIPE, SIG_IGN); /* as the server does (common/stop.h) */
    int before = open_descriptors();
    fixture f = {0};
    make_fixture(&t, &f);
    check_traversals(&t, &f);
    check_open_guards(&t, &f);
    check_open_results(&t, &f);
    check_location(&t);
    check_listing(&t, &f);
    check_mime(&t);
    check_decisions(&t);
    check_edge_decisions(&t);
    check_send(&t, &f);
    close(f.root_fd);
    char *slash = strrchr(f.base, '/');
    *slash = '\0';
    int tmp = open(f.base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tmp >= 0) {
        remove_tree(tmp, slash + 1);
        close(tmp);
    }
    close(f.base_fd);
    TAP_OK(&t, open_descriptors() == before,
           "no descriptor is left open (%d before, %d after)", before,
           open_descriptors());
    return tap_done(&t);
}
