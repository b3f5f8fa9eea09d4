#!/bin/sh
# lab.sh - the learner's side of the course: a chapter's module with its key
# function bodies left to write, made from the chapter's own sources.
#
#   lab.sh make N [LAB_DIR]   creates LAB_DIR/NN-name/ (default lab/)
#   lab.sh stub FILE          prints FILE as a lab would hold it
#   lab.sh files N            the chapter's lab files, one per line
#   lab.sh verify             checks every marker of every chapter
#   lab.sh chapter N          the chapter's folder name, e.g. 01-buffer
#   lab.sh own-build BUILD LAB_DIR
#                             builds every program with every complete lab
#                             of LAB_DIR in BUILD/lab-own (for make run
#                             LAB=own) and prints that folder's bin/
#
# One source of truth: a body the learner writes is fenced in the reference
# source by two comment lines,
#
#     /* lab:begin NAME "Section title" STUB */
#         ... the reference body ...
#     /* lab:end NAME */
#
# where "Section title" is the start of a heading of the chapter's lesson
# (the TODO names it in full) and STUB is the C that ends the stub, such as
# `return BUFFER_UNSUPPORTED;` or `errno = ENOSYS; return -1;` (empty for a
# function that returns nothing). Inside a function, the stub casts every
# parameter to void so that the lab compiles warning-free; a region at file
# scope (helpers, a whole function) becomes a comment saying what was there.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)

die() {
    echo "lab: $*" >&2
    exit 2
}

# chapter N -> folder name (01-buffer), or fail.
chapter() {
    n=$(printf '%02d' "$1" 2>/dev/null) || die "'$1' is not a chapter number"
    for d in "$root"/chapters/"$n"-*/; do
        [ -d "$d" ] && { basename "$d"; return 0; }
    done
    die "there is no chapter $1"
}

# The lab files of a chapter: every source with a lab:begin marker.
files() {
    name=$(chapter "$1")
    grep -l 'lab:begin ' "$root/chapters/$name"/*.c 2>/dev/null |
        while read -r f; do basename "$f"; done
}

# stub FILE: FILE with each marked region replaced by its stub. Fails,
# naming the line, on a broken pair or a section the lesson lacks.
stub() {
    src=$1
    dir=$(dirname "$src")
    cat "$dir"/*.md >/dev/null 2>&1 || die "$dir has no lesson"
    # Headings of the lesson(s), "## 5. The code of flip" -> "README.md:5.
    # The code of flip": a chapter in parts has one lesson file per part.
    (cd "$dir" && grep -H '^##' ./*.md) | sed 's,^\./,,; s/:#* */:/' >"$tmp/headings"
    awk -v file="$src" -v headings="$tmp/headings" -v chapter="chapters/$(basename "$dir")" '
        function fail(msg) { printf "lab: %s:%d: %s\n", file, NR, msg > "/dev/stderr"; bad = 1; exit 2 }
        function heading(prefix,   h, found, t, md) {
            found = ""
            while ((getline h < headings) > 0) {
                md = h; sub(/:.*/, "", md); h = substr(h, length(md) + 2)
                t = h; sub(/^[0-9]+\.[0-9.]* */, "", t)
                if (index(t, prefix) == 1 || index(h, prefix) == 1) { found = h; lesson = chapter "/" md; break }
            }
            close(headings)
            return found
        }
        # The parameter names of the function whose head is in sig.
        function params(sig,   inner, n, parts, i, p, m, out) {
            inner = sig
            sub(/^[^(]*\(/, "", inner)
            sub(/\)[^)]*$/, "", inner)
            n = split(inner, parts, ",")
            out = ""
            for (i = 1; i <= n; i++) {
                p = parts[i]
                gsub(/\[[^]]*\]/, "", p)
                if (match(p, /\(\*[ ]*[A-Za-z_][A-Za-z0-9_]*\)/)) {
                    p = substr(p, RSTART + 2, RLENGTH - 3); gsub(/ /, "", p)
                } else {
                    gsub(/[ \t]+$/, "", p)
                    if (!match(p, /[A-Za-z_][A-Za-z0-9_]*$/)) continue
                    p = substr(p, RSTART, RLENGTH)
                }
                if (p == "void" || p == "") continue
                out = out p " "
            }
            return out
        }
        # A function head starts at column 0 and is not a comment or a
        # preprocessor line; it runs until the line with the opening brace.
        !inside && /^[A-Za-z_]/ && !/^(typedef|struct [A-Za-z_]+ *\{|enum|union|static const|#)/ && /\(/ { sig = $0; collecting = 1 }
        !inside && collecting && !/^[A-Za-z_]/ { sig = sig " " $0 }
        !inside && /^\{/ { collecting = 0 }
        /lab:begin / {
            if (inside) fail("lab:begin " name " is not closed before the next lab:begin")
            line = $0
            sub(/^.*lab:begin[ ]+/, "", line)
            name = line; sub(/[ ].*$/, "", name)
            rest = substr(line, length(name) + 1)
            if (!match(rest, /"[^"]*"/)) fail("lab:begin " name " has no \"Section\"")
            prefix = substr(rest, RSTART + 1, RLENGTH - 2)
            stubcode = substr(rest, RSTART + RLENGTH)
            sub(/\*\/[ ]*$/, "", stubcode); gsub(/^[ ]+|[ ]+$/, "", stubcode)
            section = heading(prefix)
            if (section == "") fail("lab:begin " name ": the lesson has no section \"" prefix "\"")
            if (seen[name]++) fail("lab region " name " appears twice")
            indent = $0; sub(/[^ \t].*$/, "", indent)
            inside = 1; begin_line = NR
            if (indent == "") {
                printf "/* TODO(lab %s): what was here is yours to write, as you need it.\n", name
                printf " * Read \"%s\" in %s. */\n", section, lesson
            } else {
                printf "%s/* TODO(lab %s): write this body. Read \"%s\"\n", indent, name, section
                printf "%s * in %s. Until then it says \"not written yet\". */\n", indent, lesson
                ps = params(sig)
                np = split(ps, plist, " ")
                for (i = 1; i <= np; i++) if (plist[i] != "") printf "%s(void)%s;\n", indent, plist[i]
                if (stubcode != "") { gsub(/; +/, ";\n" indent, stubcode); printf "%s%s\n", indent, stubcode }
            }
            regions++
            next
        }
        /lab:end / {
            line = $0; sub(/^.*lab:end[ ]+/, "", line); sub(/[ ].*$/, "", line)
            if (!inside) fail("lab:end " line " without its lab:begin")
            if (line != name) fail("lab:end " line " closes lab:begin " name)
            inside = 0
            next
        }
        inside { next }
        { print }
        END {
            if (bad) exit 2
            if (inside) { NR = begin_line; fail("lab:begin " name " is never closed") }
            if (regions == 0) { printf "lab: %s has no lab regions\n", file > "/dev/stderr"; exit 2 }
        }
    ' "$src"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmd=${1:-}
case $cmd in
chapter) chapter "${2:?chapter number}" ;;
files) files "${2:?chapter number}" ;;
stub) stub "${2:?source file}" ;;
verify)
    status=0
    count=0
    for src in "$root"/chapters/*/*.c; do
        grep -q "lab:begin " "$src" || continue
        if stub "$src" >/dev/null; then
            count=$((count + 1))
        else
            status=1
        fi
    done
    [ "$status" -eq 0 ] && echo "lab: the markers of $count sources are sound"
    exit $status
    ;;
own-build)
    build=${2:?build folder}/lab-own
    labroot=${3:?lab folder}
    case $labroot in /*) ;; *) labroot=$root/$labroot ;; esac
    sources=''
    used=''
    for d in "$root"/chapters/[0-9][0-9]-*/; do
        name=$(basename "$d")
        m=$(echo "${name%%-*}" | sed 's/^0//')
        list=$(files "$m")
        if [ -z "$list" ] || [ ! -d "$labroot/$name" ]; then continue; fi
        complete=yes
        for f in $list; do [ -f "$labroot/$name/$f" ] || complete=; done
        if [ -z "$complete" ]; then
            echo "lab: $labroot/$name is incomplete; chapter $m's own code is used" >&2
            continue
        fi
        for f in $list; do sources="$sources $name/$f"; done
        used="$used $m"
    done
    echo "lab: your labs of chapter(s):${used:- none}; the course's code for the rest" >&2
    stamp="$labroot$sources"
    mkdir -p "$build"
    if [ "$(cat "$build/.lab-sources" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "${build:?}/obj/chapters" "${build:?}/lib" "${build:?}/bin"
        printf '%s\n' "$stamp" >"$build/.lab-sources"
    fi
    unset MAKEFLAGS MAKELEVEL
    make -s -C "$root" BUILD="$build" LAB_DIR="$labroot" \
        LAB_SOURCES="${sources# }" "$build/bin/httpd" >&2 || exit 1
    echo "$build/bin"
    ;;
make)
    n=${2:?chapter number}
    name=$(chapter "$n")
    labroot=${3:-lab}
    dest=$labroot/$name
    # The generated stubs are kept in .generated/ so that a file the
    # learner has changed is told apart from one they have not touched.
    mkdir -p "$dest/.generated"
    list=$(files "$n")
    [ -n "$list" ] || die "chapter $n has no lab yet"
    made=0 kept=0 same=0
    for f in $list; do
        stub "$root/chapters/$name/$f" >"$tmp/$f"
        if [ ! -e "$dest/$f" ]; then
            cp "$tmp/$f" "$dest/$f"
            echo "  created  $dest/$f"
            made=$((made + 1))
        elif cmp -s "$dest/$f" "$tmp/$f"; then
            same=$((same + 1))
        elif [ -f "$dest/.generated/$f" ] && cmp -s "$dest/$f" "$dest/.generated/$f"; then
            cp "$tmp/$f" "$dest/$f"
            echo "  updated  $dest/$f (you had not changed it; the chapter had)"
            made=$((made + 1))
        else
            echo "  kept     $dest/$f: you have changed it, so it is left as it is"
            kept=$((kept + 1))
        fi
        cp "$tmp/$f" "$dest/.generated/$f"
    done
    if [ "$made" -eq 0 ] && [ "$kept" -eq 0 ]; then
        echo "  $dest is up to date ($same file(s), none changed by you yet)"
    fi
    echo
    echo "Next: write the bodies marked TODO(lab ...) in $dest/,"
    echo "      reading chapters/$name/README.md, section \"Build it yourself\"."
    echo "Then: make check-$n        (every stage, in lesson order)"
    echo "      make check-$n STAGE=name   (one stage)"
    ;;
*)
    die "usage: lab.sh make N [LAB_DIR] | stub FILE | files N | verify | chapter N"
    ;;
esac
