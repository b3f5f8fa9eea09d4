# markdown.awk - the course's Markdown as an HTML page, for `make run`.
#
#   awk -v title=TITLE -v raw=RAW_LINK -f markdown.awk FILE.md > FILE.html
#
# POSIX awk only (mawk, gawk, BSD awk): `make run` must work with a C
# toolchain and make and nothing else. It reads the Markdown this course
# writes, not every Markdown there is: ATX headings, paragraphs, bullet and
# numbered lists (nested by indentation, with continuation lines and code
# blocks inside items), fenced code blocks, pipe tables with alignment,
# block quotes, rules, and inline code, links, **strong** and *emphasis*.
# HTML comments on a line of their own (the excerpt markers) are dropped;
# everything else is escaped, never passed through.

function esc(s) {
    gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s)
    gsub(/>/, "\\&gt;", s); gsub(/"/, "\\&quot;", s)
    return s
}

# [text](url) -> a link; a relative .md becomes its .html page. Only
# http(s) and relative URLs become links (no javascript: and friends).
function links(s,    out, whole, mid, text, url) {
    out = ""
    while (match(s, /\[[^]]*\]\([^) ]*\)/)) {
        whole = substr(s, RSTART, RLENGTH)
        mid = index(whole, "](")
        text = substr(whole, 2, mid - 2)
        url = substr(whole, mid + 2, length(whole) - mid - 2)
        out = out substr(s, 1, RSTART - 1)
        if (url ~ /^https?:/ || url !~ /:/) {
            if (url !~ /^https?:/) {
                sub(/\.md$/, ".html", url)
                sub(/\.md#/, ".html#", url)
            }
            out = out "<a href=\"" url "\">" text "</a>"
        } else {
            out = out whole
        }
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# **strong**, then *emphasis*: a star touching a word on its inner side.
function emphasis(s,    out) {
    out = ""
    while (match(s, /\*\*[^* ][^*]*\*\*/)) {
        out = out substr(s, 1, RSTART - 1) "<strong>" \
              substr(s, RSTART + 2, RLENGTH - 4) "</strong>"
        s = substr(s, RSTART + RLENGTH)
    }
    s = out s
    out = ""
    while (match(s, /\*[^* ][^*]*[^* ]\*|\*[^* ]\*/)) {
        out = out substr(s, 1, RSTART - 1) "<em>" \
              substr(s, RSTART + 1, RLENGTH - 2) "</em>"
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# Inline markup of escaped text. Code spans are taken out first (into
# numbered holes, \001N\002) so that nothing inside them is touched, and
# put back last: a link's text may hold code, code never holds a link.
function inline(s,    out, n, i, j, code, hole) {
    n = 0
    out = ""
    while ((i = index(s, "`")) > 0) {
        j = index(substr(s, i + 1), "`")
        if (j == 0) break
        code = substr(s, i + 1, j - 1)
        n++
        spans[n] = "<code>" code "</code>"
        out = out substr(s, 1, i - 1) "\001" n "\002"
        s = substr(s, i + j + 1)
    }
    s = emphasis(links(out s))
    for (i = 1; i <= n; i++) {
        hole = "\001" i "\002"
        j = index(s, hole)
        if (j > 0) s = substr(s, 1, j - 1) spans[i] substr(s, j + length(hole))
    }
    return s
}

# A heading's id, for links to #sections: lower case, words joined by "-".
function slug(s) {
    s = tolower(s)
    gsub(/<[^>]*>/, "", s)
    gsub(/&[a-z]+;/, "", s)
    gsub(/[^a-z0-9 _-]/, "", s)
    gsub(/ /, "-", s)
    return s
}

function indent_of(line,    n) {
    n = 0
    while (substr(line, n + 1, 1) == " ") n++
    return n
}

# --- blocks ------------------------------------------------------------
# One block is open at a time (a paragraph, a table, a quote); lists nest
# on a stack of their own, and a paragraph may belong to a list item.

function flush_text() {
    if (text == "") return
    if (depth > 0 && !item_para) print inline(text)
    else print "<p>" inline(text) "</p>"
    text = ""
}

function close_block() {
    if (block == "table-head") { text = esc(header); block = "p" }
    if (block == "p") flush_text()
    else if (block == "table") print "</tbody></table>"
    else if (block == "quote") { flush_text(); print "</blockquote>" }
    block = ""
}

function close_lists(to) {
    close_block()
    while (depth > to) {
        print "</li></" kind[depth] ">"
        depth--
    }
}

# Splits a table row on its "|"s, but not on one inside a code span or
# written "\|": a cell may show `a | b`.
function table_cells(line, cells,    n, i, c, cell, code) {
    sub(/^[ \t]*\|/, "", line)
    sub(/\|[ \t]*$/, "", line)
    n = 0; cell = ""; code = 0
    for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (c == "\\" && substr(line, i + 1, 1) == "|") { cell = cell "|"; i++; continue }
        if (c == "`") code = !code
        if (c == "|" && !code) { cells[++n] = cell; cell = ""; continue }
        cell = cell c
    }
    cells[++n] = cell
    return n
}

function table_row(line, tag,    cells, n, i, r, a) {
    n = table_cells(line, cells)
    r = "<tr>"
    for (i = 1; i <= n; i++) {
        a = align[i] == "" ? "" : " style=\"text-align: " align[i] "\""
        gsub(/^[ \t]+|[ \t]+$/, "", cells[i])
        r = r "<" tag a ">" inline(cells[i]) "</" tag ">"
    }
    return r "</tr>"
}

BEGIN {
    print "<!DOCTYPE html>"
    print "<html lang=\"en\"><head><meta charset=\"utf-8\">"
    print "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    print "<title>" title "</title><link rel=\"stylesheet\" href=\"/site.css\"></head>"
    print "<body><nav><a href=\"/\">nio-c</a> &rsaquo; " title \
          " &middot; <a href=\"" raw "\">Markdown source</a></nav>"
    print "<main class=\"lesson\">"
    depth = 0; block = ""; text = ""; fence = 0
}

# Marp's front matter (the decks) is not shown.
NR == 1 && /^---[ \t]*$/ { front = 1; next }
front { if ($0 ~ /^---[ \t]*$/) front = 0; next }

# Fenced code: inside a list item when indented under it.
fence {
    if ($0 ~ /^[ \t]*```[ \t]*$/ && indent_of($0) <= fence_indent + 3) {
        print "</code></pre>"
        fence = 0
        next
    }
    line = $0
    for (k = 0; k < fence_indent && substr(line, 1, 1) == " "; k++)
        line = substr(line, 2)
    print esc(line)
    next
}
/^[ \t]*```/ {
    fence_indent = indent_of($0)
    if (depth > 0 && fence_indent >= content[1]) {
        flush_text()
        item_para = 1
    } else {
        close_lists(0)
    }
    lang = $0
    sub(/^[ \t]*```[ \t]*/, "", lang)
    sub(/[^A-Za-z0-9_+-].*$/, "", lang)
    printf "<pre class=\"code\"><code%s>", lang == "" ? "" : " class=\"language-" lang "\""
    fence = 1
    blank = 0
    next
}

/^[ \t]*<!--.*-->[ \t]*$/ { next }                   # excerpt markers

/^[ \t]*$/ {
    if (depth > 0) { flush_text(); item_para = 1 }
    else close_block()
    blank = 1
    next
}

/^(---|\*\*\*|___)[ \t]*$/ { close_lists(0); print "<hr>"; blank = 0; next }

/^#+ / {
    close_lists(0)
    level = index($0, " ") - 1
    if (level > 6) level = 6
    h = substr($0, level + 2)
    sub(/[ \t]+#*[ \t]*$/, "", h)
    h = inline(esc(h))
    print "<h" level " id=\"" slug(h) "\">" h "</h" level ">"
    blank = 0
    next
}

# A list item: "- x", "* x", "+ x" or "1. x", nested by its indentation.
/^ *([-*+]|[0-9]+[.)]) / {
    ind = indent_of($0)
    rest = substr($0, ind + 1)
    if (rest ~ /^[-*+] /) { type = "ul"; marker = 2; start = 1 }
    else {
        type = "ol"
        marker = index(rest, " ")
        start = substr(rest, 1, marker - 2) + 0
    }
    body = substr(rest, marker + 1)
    sub(/^ +/, "", body)
    if (depth == 0) close_block()
    flush_text()
    while (depth > 0 && ind < marker_at[depth]) {
        print "</li></" kind[depth] ">"
        depth--
    }
    if (depth > 0 && ind < content[depth] && kind[depth] == type) {
        print "</li>"                                 # the next item
    } else {
        if (depth > 0 && ind < content[depth]) {      # another kind of list
            print "</li></" kind[depth] ">"
            depth--
        }
        depth++                                       # a new list, nested or not
        kind[depth] = type
        marker_at[depth] = ind
        print "<" type (type == "ol" && start != 1 ? " start=\"" start "\"" : "") ">"
    }
    content[depth] = ind + length(rest) - length(body)
    print "<li>"
    item_para = 0
    text = esc(body)
    blank = 0
    next
}

# A line in a list: more of the item's text, or the list's end.
depth > 0 {
    ind = indent_of($0)
    if (blank && ind < content[1]) {
        close_lists(0)                                # falls through below
    } else {
        while (depth > 1 && ind < content[depth] && blank) {
            flush_text()
            print "</li></" kind[depth] ">"
            depth--
        }
        line = $0
        sub(/^[ \t]+/, "", line)
        text = text (text == "" ? "" : "\n") esc(line)
        blank = 0
        next
    }
}

/^[ \t]*\|/ {
    if (block == "table-head") {
        # The row under a table's header is dashes, colons for alignment.
        if ($0 ~ /^[ \t]*\|[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/) {
            split("", align)
            n = table_cells($0, cells)
            for (i = 1; i <= n; i++) {
                c = cells[i]
                gsub(/[ \t]/, "", c)
                align[i] = c ~ /^:.*:$/ ? "center" : c ~ /:$/ ? "right" : ""
            }
            print "<table><thead>" table_row(esc(header), "th") "</thead><tbody>"
            block = "table"
        } else {
            block = "p"
            text = esc(header) "\n" esc($0)
        }
    } else if (block == "table") {
        print table_row(esc($0), "td")
    } else {
        close_block()
        header = $0
        block = "table-head"
    }
    blank = 0
    next
}

/^>/ {
    line = $0
    sub(/^> ?/, "", line)
    if (block != "quote") { close_block(); print "<blockquote>"; block = "quote" }
    if (line ~ /^[ \t]*$/) flush_text()
    else text = text (text == "" ? "" : "\n") esc(line)
    blank = 0
    next
}

{
    if (block != "p") { close_block(); block = "p" }
    line = $0
    sub(/^[ \t]+/, "", line)
    text = text (text == "" ? "" : "\n") esc(line)
    blank = 0
}

END {
    if (fence) print "</code></pre>"
    close_lists(0)
    print "</main></body></html>"
}
