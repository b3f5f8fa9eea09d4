#!/usr/bin/env bats
# The course as a whole: the excerpt checker, the layering of chapters, the
# chapter contract's files, and make's own behaviour.

load helpers

@test "every excerpt in the lessons and decks matches its source" {
    run sh "$NIO_ROOT/tools/check-excerpts.sh" "$NIO_ROOT"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

# A tiny course in a temporary folder, to show the checker catching drift.
make_fixture() {
    local dir=$1
    mkdir -p "$dir/chapters/01-x" "$dir/slides"
    cat >"$dir/chapters/01-x/x.c" <<'SRC'
int before;
/* excerpt:begin add */
int add(int a, int b)
{
    return a + b;
}
/* excerpt:end add */
SRC
    cat >"$dir/chapters/01-x/README.md" <<'MD'
# x
<!-- excerpt: chapters/01-x/x.c#add -->
```c
int add(int a, int b)
{
    return a + b;
}
```
MD
}

@test "the excerpt checker accepts an excerpt equal to its region" {
    make_fixture "$BATS_TEST_TMPDIR/c"
    run sh "$NIO_ROOT/tools/check-excerpts.sh" "$BATS_TEST_TMPDIR/c"
    [ "$status" -eq 0 ]
}

@test "the excerpt checker fails when one line of the source drifts" {
    make_fixture "$BATS_TEST_TMPDIR/c"
    sed -i.bak 's/a + b/a - b/' "$BATS_TEST_TMPDIR/c/chapters/01-x/x.c"
    run sh "$NIO_ROOT/tools/check-excerpts.sh" "$BATS_TEST_TMPDIR/c"
    [ "$status" -ne 0 ]
    [[ "$output" == *"README.md:3: excerpt chapters/01-x/x.c#add differs"* ]]
}

@test "the excerpt checker reads the course's Java files (// markers) too" {
    make_fixture "$BATS_TEST_TMPDIR/c"
    mkdir -p "$BATS_TEST_TMPDIR/c/chapters/01-x/java"
    printf '%s\n' 'class X {' '    // excerpt:begin get' '    int get() { return 1; }' \
        '    // excerpt:end get' '}' >"$BATS_TEST_TMPDIR/c/chapters/01-x/java/X.java"
    # shellcheck disable=SC2016 # the backquotes are Markdown, not a command
    printf '%s\n' '<!-- excerpt: chapters/01-x/java/X.java#get -->' '```java' \
        '    int get() { return 1; }' '```' >>"$BATS_TEST_TMPDIR/c/chapters/01-x/README.md"
    run sh "$NIO_ROOT/tools/check-excerpts.sh" "$BATS_TEST_TMPDIR/c"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    sed -i.bak 's/return 1/return 2/' "$BATS_TEST_TMPDIR/c/chapters/01-x/java/X.java"
    run sh "$NIO_ROOT/tools/check-excerpts.sh" "$BATS_TEST_TMPDIR/c"
    [ "$status" -ne 0 ]
    [[ "$output" == *"excerpt chapters/01-x/java/X.java#get differs"* ]]
}

@test "the excerpt checker fails on a region that does not exist" {
    make_fixture "$BATS_TEST_TMPDIR/c"
    sed -i.bak 's/#add/#sub/' "$BATS_TEST_TMPDIR/c/chapters/01-x/README.md"
    run sh "$NIO_ROOT/tools/check-excerpts.sh" "$BATS_TEST_TMPDIR/c"
    [ "$status" -ne 0 ]
    [[ "$output" == *"region 'sub'"* ]]
}

@test "the excerpt checker fails on a missing file and on unmarked C" {
    make_fixture "$BATS_TEST_TMPDIR/c"
    # shellcheck disable=SC2016 # the backquotes are Markdown, not a command
    printf '<!-- excerpt: nope.c#a -->\n```c\n```\n```c\nint y;\n```\n' \
        >>"$BATS_TEST_TMPDIR/c/chapters/01-x/README.md"
    run sh "$NIO_ROOT/tools/check-excerpts.sh" "$BATS_TEST_TMPDIR/c"
    [ "$status" -ne 0 ]
    [[ "$output" == *"nope.c does not exist"* ]]
    [[ "$output" == *"C code block with no excerpt marker"* ]]
}

@test "the excerpt checker reads docs/ and fails on unmarked Java there" {
    make_fixture "$BATS_TEST_TMPDIR/j"
    mkdir -p "$BATS_TEST_TMPDIR/j/docs"
    # shellcheck disable=SC2016 # the backquotes are Markdown, not a command
    printf '# a\n\n<!-- sketch -->\n```java\nint a;\n```\n\n```java\nint b;\n```\n' \
        >"$BATS_TEST_TMPDIR/j/docs/page.md"
    run sh "$NIO_ROOT/tools/check-excerpts.sh" "$BATS_TEST_TMPDIR/j"
    [ "$status" -ne 0 ]
    [[ "$output" == *"docs/page.md:8: Java code block not marked <!-- sketch -->"* ]]
    [[ "$output" != *"docs/page.md:4"* ]]
}

@test "the article's page: named in the README, linked from every lesson" {
    local page="$NIO_ROOT/docs/article.md" lesson
    [ -f "$page" ]
    grep -q 'gitee.com/panda_99/my-tomcat' "$page"
    grep -q 'NIO 服务器' "$page"
    grep -q 'gitee.com/panda_99/my-tomcat' "$NIO_ROOT/README.md"
    grep -q '](docs/article.md)' "$NIO_ROOT/README.md"
    # One section per program, each with a Java sketch of its own.
    for program in 'WebServer and WebClient' 'ServerRunnable and SelectorHandler' \
        'NIOServer' 'Netty pair'; do
        grep -q "^## .*$program" "$page" || { echo "no section for $program"; return 1; }
    done
    [ "$(grep -c '^<!-- sketch -->$' "$page")" -ge 4 ]
    for lesson in "$NIO_ROOT"/chapters/[0-9][0-9]-*/README.md; do
        grep -q '](../../docs/article.md' "$lesson" ||
            { echo "$lesson does not link the article's page"; return 1; }
        # Line numbers of a text the reader has not got are no help.
        if grep -n -i "line numbers are the article\|(lines\? [0-9][0-9]*[–-]*[0-9]*)" "$lesson"; then
            echo "$lesson cites the article's line numbers"
            return 1
        fi
    done
}

@test "a chapter includes only common/, itself and the chapters below it" {
    local bad=0 file dir n used m
    for file in "$NIO_ROOT"/chapters/*/*.[ch]; do
        dir=$(basename "$(dirname "$file")")
        n=${dir%%-*}
        while read -r used; do
            m=$used
            if [ "$((10#$m))" -gt "$((10#$n))" ]; then
                echo "$file includes chapter $m" >&2
                bad=1
            fi
        done < <(sed -n 's/^#include "\([0-9][0-9]\)-.*/\1/p' "$file")
    done
    [ "$bad" -eq 0 ]
}

@test "every chapter has its lesson, deck, tests, transcript and demo" {
    local dir name missing=""
    for dir in "$NIO_ROOT"/chapters/[0-9][0-9]-*/; do
        name=$(basename "$dir")
        for f in "chapters/$name/README.md" "chapters/$name/demo.sh" \
            "chapters/$name/chapter.mk" "slides/$name.md" \
            "tests/$name.bats" "tests/expected/$name.txt"; do
            [ -f "$NIO_ROOT/$f" ] || missing="$missing $f"
        done
    done
    [ -z "$missing" ] || { echo "missing:$missing"; return 1; }
}

@test "every deck has between 10 and 25 slides" {
    local deck count
    for deck in "$NIO_ROOT"/slides/[0-9][0-9]-*.md; do
        [ -f "$deck" ] || continue
        # Marp separates slides with a line of three dashes; the front
        # matter's own two fences do not start slides.
        count=$(awk '/^---[[:space:]]*$/ {n++} END {print n - 1}' "$deck")
        if [ "$count" -lt 10 ] || [ "$count" -gt 25 ]; then
            echo "$deck has $count slides" >&2
            return 1
        fi
    done
}

# deck_style_problems SLIDES_DIR: prints what breaks the decks' one look,
# nothing when every deck names the course theme, has one "# " title (its
# first slide's) and titles every other slide "## " (code blocks aside).
deck_style_problems() {
    local dir=$1 deck
    [ -f "$dir/theme/nio-c.css" ] && grep -q '@theme nio-c' "$dir/theme/nio-c.css" ||
        printf ' no course theme in %s/theme;' "$dir"
    for deck in "$dir"/[0-9][0-9]-*.md; do
        [ -f "$deck" ] || continue
        sed -n '2,/^---/p' "$deck" | grep -qx 'theme: nio-c' ||
            printf " %s: no 'theme: nio-c';" "$(basename "$deck")"
        awk -v d="$(basename "$deck")" '
            /^[ \t]*```/ { fence = !fence; next }
            fence { next }
            /^---[ \t]*$/ { slide++; titled = 0; next }
            /^# / { h1++; if (slide != 2) printf " %s slide %d: # title;", d, slide - 1; next }
            /^## / { titled = 1; next }
            /^###+ / && slide > 2 && !titled { printf " %s slide %d: not ##;", d, slide - 1 }
            END { if (h1 != 1) printf " %s: %d # titles;", d, h1 }' "$deck"
    done
}

@test "every deck uses the course theme and one title level" {
    local problems
    problems=$(deck_style_problems "$NIO_ROOT/slides")
    [ -z "$problems" ] || { echo "$problems"; return 1; }
}

@test "the deck style check catches another theme and a second # title" {
    local dir="$BATS_TEST_TMPDIR/slides" problems
    mkdir -p "$dir/theme"
    cp "$NIO_ROOT/slides/theme/nio-c.css" "$dir/theme/"
    printf -- '---\nmarp: true\ntheme: default\n---\n\n# T\n\n---\n\n# Two\n\n---\n\n### Three\n' \
        >"$dir/01-x.md"
    problems=$(deck_style_problems "$dir")
    [[ "$problems" == *"01-x.md: no 'theme: nio-c'"* ]]
    [[ "$problems" == *"01-x.md slide 2: # title"* ]]
    [[ "$problems" == *"01-x.md slide 3: not ##"* ]]
    rm "$dir/theme/nio-c.css"
    [[ "$(deck_style_problems "$dir")" == *"no course theme"* ]]
}

# A recipe runs in a session of its own; whatever of it is left is
# stopped, by PID, when the test ends.
session_pids() {
    ps -eo pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'
}

teardown() {
    if [ -n "${RECIPE_PID:-}" ]; then
        # shellcheck disable=SC2046 # one PID per word
        kill $(session_pids "$RECIPE_PID") 2>/dev/null || true
        wait "$RECIPE_PID" 2>/dev/null || true
        RECIPE_PID=
    fi
}

@test "chapter 3's backpressure recipe works by hand and leaves no process behind" {
    command -v nc >/dev/null && command -v timeout >/dev/null && command -v setsid >/dev/null ||
        skip "needs nc (netcat-openbsd), timeout and setsid"
    local lesson="$NIO_ROOT/chapters/03-selector/README.md"
    local out="$BATS_TEST_TMPDIR/recipe.out" recipe port left
    recipe=$(awk '/^Backpressure by hand/ { f = 1 }
                  f && /^```sh/ { g = 1; next }
                  g && /^```/ { exit }
                  g' "$lesson")
    [[ "$recipe" == *'| timeout 10 nc 127.0.0.1 8000 |'* ]]
    # As written, but for a free port, 2 s instead of 10, and the wait for
    # "listening on" that a person does by reading before typing on.
    start_server selector-echo-server
    port=$SERVER_PORT
    stop_server
    recipe=$(sed -e "s|build/bin/|$BIN/|g" \
        -e "s|127\.0\.0\.1 8000|127.0.0.1 $port|" \
        -e "s|selector-echo-server -v &|selector-echo-server -v -p $port \&|" \
        -e 's/timeout 10 /timeout 2 /; s/sleep 10 /sleep 2 /' \
        -e "s|^server=\$!|&; until grep -q '^listening on' \"\$RECIPE_OUT\"; do sleep 0.05; done|" \
        <<<"$recipe")
    [[ "$recipe" == *"-v -p $port &"*"until grep"*"timeout 2 nc 127.0.0.1 $port |"* ]] ||
        { echo "$recipe"; return 1; }
    # In a session of its own (setsid: the recipe's PID is its session's
    # id), so that all it starts can be found afterwards.
    RECIPE_OUT=$out setsid bash -c "$recipe" >"$out" 2>&1 &
    RECIPE_PID=$!
    # Bounded: a recipe that hangs fails instead of waiting for ever.
    local -i tenths=0
    while kill -0 "$RECIPE_PID" 2>/dev/null && [ "$tenths" -lt 300 ]; do
        sleep 0.1
        tenths+=1
    done
    kill -0 "$RECIPE_PID" 2>/dev/null && { echo "the recipe ran for 30 s"; cat "$out"; return 1; }
    wait "$RECIPE_PID" || { cat "$out"; return 1; }
    left=$(session_pids "$RECIPE_PID")
    [ -z "$left" ] || { echo "left running:"; ps -o pid=,args= -p "${left//$'\n'/,}"; return 1; }
    RECIPE_PID=
    # And it showed what it says: reads stopped, memory measured, a clean stop.
    grep -q 'interest RW -> W' "$out" || { cat "$out"; return 1; }
    grep -q '^VmRSS:' "$out"
    grep -q '^served 1 connection' "$out"
}

@test "make help lists the targets" {
    run make -s -C "$NIO_ROOT" help
    [ "$status" -eq 0 ]
    for t in "chapter-N" "make test" "test-N" sanitize slides lint clean; do
        [[ "$output" == *"$t"* ]] || { echo "no $t"; return 1; }
    done
}

@test "make test without bats says how to install it and fails" {
    local fake="$BATS_TEST_TMPDIR/bin"
    mkdir -p "$fake"
    for tool in make sh find mkdir rm; do
        ln -s "$(command -v "$tool")" "$fake/$tool"
    done
    run env PATH="$fake" make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" test
    [ "$status" -ne 0 ]
    [[ "$output" == *"bats is not installed"* ]]
    [[ "$output" == *"apt-get install bats"* ]]
    [[ "$output" == *"brew install bats-core"* ]]
}
