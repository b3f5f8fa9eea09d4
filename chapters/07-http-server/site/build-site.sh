#!/bin/sh
# build-site.sh OUTDIR [SLIDES_DIR] - writes the course's own web site into
# OUTDIR, for `make run` to serve with httpd --root OUTDIR.
#
#   index.html                 the chapters, the /echo form, a link to /stats
#   chapters/NN-name/*.html    each lesson, as HTML a browser shows readably
#   chapters/NN-name/*         the Markdown, C and shell sources, as they are
#   docs/*.html                the pages of docs/ (the article the course
#                              grew from), which the lessons link to
#   slides/NN-name.html        a deck rendered by `make slides`, when it was
#   slides/NN-name-text.html   otherwise the deck's Markdown, made readable
#   echo-check.html            posts the /echo form by itself (for tests)
#
# Only POSIX sh, sed and awk: `make run` must work on a machine with a C
# toolchain and make and nothing else. The Markdown becomes HTML through
# markdown.awk, beside this script: a small converter for the Markdown the
# course writes (paragraphs, lists, tables, code, emphasis, links).
set -eu

usage() {
    echo "usage: build-site.sh OUTDIR [SLIDES_DIR]" >&2
    echo "  writes the course site into OUTDIR; rendered decks are taken" >&2
    echo "  from SLIDES_DIR (default build/slides) when they exist" >&2
}
case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
"")
    usage
    exit 2
    ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$1
slides_dir=${2:-$root/build/slides}

# OUTDIR is emptied first, but only when this script made it: the marker
# is a dotfile, which httpd never serves. The folder itself stays, so that
# a server already running on it sees the new files.
marker=.nio-course-site
if [ -e "$out" ]; then
    if [ -f "$out/$marker" ]; then
        rm -rf "${out:?}"/*
    elif [ ! -d "$out" ] || [ -n "$(ls -A "$out")" ]; then
        echo "build-site: $out exists and was not made by build-site.sh; not touching it" >&2
        exit 1
    fi
fi
mkdir -p "$out/chapters" "$out/slides" "$out/docs"
: >"$out/$marker"

escape() {
    printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' \
        -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
}

# markdown_page SOURCE TITLE RAW_LINK > PAGE: a Markdown file as HTML.
markdown_page() {
    awk -v title="$2" -v raw="$3" -f "$here/markdown.awk" "$1"
}

cat >"$out/site.css" <<'CSS'
body { font: 16px/1.55 system-ui, sans-serif; margin: 0 auto; max-width: 52rem;
       padding: 1rem 1.5rem 3rem; color: #1d1f21; background: #fdfdfb; }
nav { font-size: 0.9rem; margin-bottom: 1.5rem; color: #555; }
a { color: #0b5cad; }
h1, h2, h3 { line-height: 1.25; }
code, pre { font: 0.9rem/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
.lesson li { margin: 0.25rem 0; }
.lesson li > p { margin: 0.4rem 0; }
blockquote { margin: 1rem 0; padding: 0 1rem; border-left: 4px solid #ccc;
             color: #444; }
pre { background: #f2f2ee; border: 1px solid #ddd; padding: 0.75rem;
      overflow-x: auto; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left;
         vertical-align: top; }
.chapters li { margin: 0.6rem 0; }
.chapters .links { font-size: 0.9rem; color: #555; }
form { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
input { font: inherit; padding: 0.3rem 0.5rem; }
button { font: inherit; padding: 0.3rem 0.8rem; }
footer { margin-top: 3rem; font-size: 0.85rem; color: #666; }
CSS

# --- the chapters ------------------------------------------------------

items=""
for dir in "$root"/chapters/[0-9][0-9]-*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    number=${name%%-*}
    number=${number#0}
    dest="$out/chapters/$name"
    mkdir -p "$dest"
    title=$name
    if [ -f "$dir/README.md" ]; then
        heading=$(sed -n 's/^# //p' "$dir/README.md" | sed -n 1p)
        [ -n "$heading" ] && title=$heading
    fi
    html_title=$(escape "$title")

    # The sources, as they are; the Markdown also as pages.
    sources=""
    for file in "$dir"*; do
        [ -f "$file" ] || continue
        base=$(basename "$file")
        case $base in
        *.md | *.c | *.h | *.sh) cp "$file" "$dest/$base" ;;
        *) continue ;;
        esac
        case $base in
        *.md)
            page_title="$html_title"
            [ "$base" = README.md ] || page_title="$html_title: $(escape "$base")"
            markdown_page "$file" "$page_title" "$base" >"$dest/${base%.md}.html"
            ;;
        *) sources="$sources <a href=\"chapters/$name/$base\">$base</a>" ;;
        esac
    done

    links=""
    if [ -f "$dest/README.html" ]; then
        item="<a href=\"chapters/$name/README.html\">$html_title</a>"
        links="<a href=\"chapters/$name/README.md\">Markdown</a>"
    else
        item="$html_title (no lesson yet)"
    fi
    for extra in "$dest"/*.html; do
        [ -f "$extra" ] || continue
        base=$(basename "$extra" .html)
        [ "$base" = README ] && continue
        links="$links &middot; <a href=\"chapters/$name/$base.html\">$base</a>"
    done
    if [ -f "$root/slides/$name.md" ]; then
        cp "$root/slides/$name.md" "$out/slides/$name.md"
        if [ -f "$slides_dir/$name.html" ]; then
            cp "$slides_dir/$name.html" "$out/slides/$name.html"
            deck="<a href=\"slides/$name.html\">slides</a>"
        else
            markdown_page "$root/slides/$name.md" "$html_title: slides" \
                "$name.md" >"$out/slides/$name-text.html"
            deck="<a href=\"slides/$name-text.html\">slides (text)</a>"
        fi
        links="${links:+$links &middot; }$deck"
    fi
    [ -n "$sources" ] && links="${links:+$links &middot; }code:$sources"
    items="$items<li value=\"$number\">$item<br><span class=\"links\">$links</span></li>
"
done

# --- the pages of docs/ ------------------------------------------------

for file in "$root"/docs/*.md; do
    [ -f "$file" ] || continue
    base=$(basename "$file" .md)
    heading=$(sed -n 's/^# //p' "$file" | sed -n 1p)
    cp "$file" "$out/docs/$base.md"
    markdown_page "$file" "$(escape "${heading:-$base}")" "$base.md" >"$out/docs/$base.html"
done

# --- the front page ----------------------------------------------------

if ls "$out"/slides/*-text.html >/dev/null 2>&1; then
    slides_note="<p>Decks marked <em>text</em> are shown as Markdown: run
<code>make slides</code>, then <code>make run</code> again, to see them rendered.</p>"
else
    slides_note=""
fi

cat >"$out/index.html" <<HTML
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nio-c: Java NIO's ideas, rebuilt in C</title>
<link rel="stylesheet" href="/site.css"></head>
<body>
<h1>nio-c</h1>
<p>Java NIO's ideas &mdash; buffers, channels, selectors, event loops, thread
pools, boss and worker loops &mdash; rebuilt in C from POSIX sockets up, one
chapter at a time, to the HTTP/1.1 server that is sending you this page.</p>

<p>The course grew from a Java article on an NIO web server:
<a href="docs/article.html">the article, in the course's words</a>.</p>

<h2>Chapters</h2>
<ol class="chapters" id="chapters">
$items</ol>
$slides_note
<h2>Talk to the server</h2>
<form id="echo-form" method="post" action="/echo" enctype="text/plain">
<label for="message">A message for <code>POST /echo</code>:</label>
<input id="message" name="message" value="hello, server">
<button type="submit">Send</button>
</form>
<p><a href="/stats">/stats</a>: open connections, requests served, per-worker
counts and uptime, as JSON.</p>

<footer>Static files from <code>--root</code>, served with <code>sendfile</code>;
made by <code>chapters/07-http-server/site/build-site.sh</code>.</footer>
</body></html>
HTML

# A page that submits the same form at once, with the message from its
# query string: a headless browser loads it and reads what /echo sent back.
cat >"$out/echo-check.html" <<'HTML'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>echo check</title></head>
<body>
<form id="echo-form" method="post" action="/echo" enctype="text/plain">
<input id="message" name="message" value="hello">
</form>
<script>
var query = location.search.slice(1);
if (query) document.getElementById("message").value = decodeURIComponent(query);
document.getElementById("echo-form").submit();
</script>
</body></html>
HTML

echo "build-site: wrote $out"
