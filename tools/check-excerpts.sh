#!/bin/sh
# check-excerpts.sh [ROOT] - fails when a lesson or a deck shows code that
# is not the code in the repository.
#
# In a source file, a region is fenced by two comment lines:
#     /* excerpt:begin flip */   ...   /* excerpt:end flip */
# (any comment style: the words "excerpt:begin NAME" are what count).
# In Markdown, the line right before a fenced code block names it:
#     <!-- excerpt: chapters/01-buffer/buffer.c#flip -->
# The block must equal the region, minus any nested excerpt lines and the
# lab markers (lab:begin/lab:end, see tools/lab.sh).
# A C or Java code block that is not from the source must say so with
#     <!-- sketch -->
# so that nothing in a lesson looks like project code without being it.
#
# Checked: README.md, chapters/*/*.md, slides/*.md and docs/*.md under ROOT.
set -eu

root=${1:-.}
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
fail() {
    echo "check-excerpts: $*" >&2
    failures=$((failures + 1))
}

for md in README.md chapters/*/*.md slides/*.md docs/*.md; do
    [ -f "$md" ] || continue
    # Split the Markdown into numbered blocks and an index of what each
    # block claims to be: "N<TAB>LINE<TAB>KIND<TAB>FILE#REGION".
    rm -f "$work"/block.* "$work/index"
    awk -v out="$work" '
        function flush_claim() { claim = ""; kind = "" }
        /^[[:space:]]*<!--[[:space:]]*excerpt:[[:space:]]*[^[:space:]]+[[:space:]]*-->[[:space:]]*$/ && !inside {
            claim = $0
            sub(/^[[:space:]]*<!--[[:space:]]*excerpt:[[:space:]]*/, "", claim)
            sub(/[[:space:]]*-->[[:space:]]*$/, "", claim)
            kind = "excerpt"; claim_line = NR; next
        }
        /^[[:space:]]*<!--[[:space:]]*sketch[[:space:]]*-->[[:space:]]*$/ && !inside {
            kind = "sketch"; claim = "-"; claim_line = NR; next
        }
        /^[[:space:]]*```/ {
            if (!inside) {
                inside = 1; n++; lang = $0
                sub(/^[[:space:]]*```[[:space:]]*/, "", lang)
                file = out "/block." n
                printf "" > file
                k = kind; if (k == "") k = "plain"
                c = claim; if (c == "") c = "-"
                printf "%d\t%d\t%s\t%s\t%s\n", n, NR, k, c, lang > (out "/index")
                flush_claim()
                next
            } else {
                inside = 0; close(file); next
            }
        }
        inside { print > file; next }
        /^[[:space:]]*$/ { next }
        { if (kind != "") { printf "%d\t%d\t%s\t%s\t-\n", 0, claim_line, "orphan", claim > (out "/index") } flush_claim() }
        END {
            if (inside) printf "%d\t%d\tunclosed\t-\t-\n", 0, NR > (out "/index")
            if (kind != "") printf "%d\t%d\torphan\t%s\t-\n", 0, claim_line, claim > (out "/index")
        }
    ' "$md"
    [ -f "$work/index" ] || continue

    while IFS="$(printf '\t')" read -r n line kind claim lang; do
        case $kind in
        unclosed) fail "$md: a code block is never closed"; continue ;;
        orphan) fail "$md:$line: marker '$claim' is not followed by a code block"; continue ;;
        sketch) continue ;;
        plain)
            case $lang in
            c | C | h) fail "$md:$line: C code block with no excerpt marker (mark it <!-- sketch --> if it is not project code)" ;;
            java | Java) fail "$md:$line: Java code block not marked <!-- sketch -->" ;;
            esac
            continue
            ;;
        esac
        src=${claim%%#*}
        region=${claim#*#}
        if [ "$src" = "$claim" ] || [ -z "$region" ]; then
            fail "$md:$line: marker '$claim' must be FILE#REGION"
            continue
        fi
        if [ ! -f "$src" ]; then
            fail "$md:$line: $src does not exist"
            continue
        fi
        begins=$(grep -Ec "excerpt:begin ${region}([^A-Za-z0-9_-]|$)" "$src" || true)
        ends=$(grep -Ec "excerpt:end ${region}([^A-Za-z0-9_-]|$)" "$src" || true)
        if [ "$begins" -ne 1 ] || [ "$ends" -ne 1 ]; then
            fail "$md:$line: region '$region' in $src has $begins begin and $ends end markers (need exactly one of each)"
            continue
        fi
        awk -v r="$region" '
            function named(s, word,   rest) {
                if (index(s, word " " r) == 0) return 0
                rest = substr(s, index(s, word " " r) + length(word " " r), 1)
                return rest == "" || rest !~ /[A-Za-z0-9_-]/
            }
            named($0, "excerpt:end") { exit }
            on && /excerpt:(begin|end) / { next }
            on && /lab:(begin|end) / { next }
            on { print }
            named($0, "excerpt:begin") { on = 1 }
        ' "$src" >"$work/region"
        if ! cmp -s "$work/region" "$work/block.$n"; then
            fail "$md:$line: excerpt $claim differs from the source:"
            diff -u "$work/region" "$work/block.$n" | sed 's/^/    /' >&2 || true
        fi
    done <"$work/index"
done

if [ "$failures" -gt 0 ]; then
    echo "check-excerpts: $failures problem(s)" >&2
    exit 1
fi
echo "check-excerpts: every excerpt matches its source"
