#!/usr/bin/env bats
# The labs: make lab-N gives the learner a chapter with bodies to write,
# make check-N checks their code stage by stage. These tests check the
# machinery; tools/lab-selftest.sh (make lab-selftest, run by CI) proves
# every stage of every chapter can fail and can pass.

load helpers

setup() {
    LABS="$BATS_TEST_TMPDIR/lab"
}

@test "the lab markers of every chapter are sound" {
    run sh "$NIO_ROOT/tools/lab.sh" verify
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [[ "$output" == *"are sound"* ]]
}

@test "a broken lab marker pair is named with its line" {
    local src="$BATS_TEST_TMPDIR/chapters/01-buffer"
    mkdir -p "$src"
    cp "$NIO_ROOT/chapters/01-buffer/README.md" "$src/"
    grep -v 'lab:end flip' "$NIO_ROOT/chapters/01-buffer/buffer.c" >"$src/buffer.c"
    run sh "$NIO_ROOT/tools/lab.sh" stub "$src/buffer.c"
    [ "$status" -ne 0 ]
    [[ "$output" == *"buffer.c:"*"lab:begin rewind is not closed"* ||
        "$output" == *"lab:begin flip"* ]] || { echo "$output"; return 1; }
}

@test "a lab marker naming a section the lesson lacks is refused" {
    local src="$BATS_TEST_TMPDIR/chapters/01-buffer"
    mkdir -p "$src"
    cp "$NIO_ROOT/chapters/01-buffer/README.md" "$src/"
    sed 's/lab:begin flip "The code of flip"/lab:begin flip "No such section"/' \
        "$NIO_ROOT/chapters/01-buffer/buffer.c" >"$src/buffer.c"
    run sh "$NIO_ROOT/tools/lab.sh" stub "$src/buffer.c"
    [ "$status" -ne 0 ]
    [[ "$output" == *"no section \"No such section\""* ]]
}

@test "every chapter with a lab has its stages, each pointing at a section" {
    local f name section
    for f in "$NIO_ROOT"/tests/lab/[0-9][0-9]-*.stages; do
        name=$(basename "$f" .stages)
        [ -n "$(sh "$NIO_ROOT/tools/lab.sh" files "${name%%-*}")" ] ||
            { echo "$name has stages but no lab files"; return 1; }
        while read -r section; do
            grep -h '^##' "$NIO_ROOT/chapters/$name"/*.md | sed 's/^#* *//; s/^[0-9.]* *//' |
                grep -qF -- "$section" || { echo "$name: no section '$section'"; return 1; }
        done < <(sed -n 's/^stage [^ ]* *"\([^"]*\)".*/\1/p' "$f")
    done
}

@test "make lab-1 writes stubs, then never overwrites what the learner changed" {
    run make -s -C "$NIO_ROOT" lab-1 LAB_DIR="$LABS"
    [ "$status" -eq 0 ]
    [[ "$output" == *"created"*"01-buffer/buffer.c"* ]]
    [[ "$output" == *"make check-1"* ]]
    local file="$LABS/01-buffer/buffer.c"
    grep -q 'TODO(lab flip)' "$file"
    grep -q 'return BUFFER_UNSUPPORTED;' "$file"
    if grep -q 'lab:begin' "$file"; then echo "a marker was left"; return 1; fi
    # The contract comment above a stubbed body stays.
    grep -q 'After writing, flip makes the bytes just written readable' "$file"

    echo '/* mine */' >>"$file"
    run make -s -C "$NIO_ROOT" lab-1 LAB_DIR="$LABS"
    [ "$status" -eq 0 ]
    [[ "$output" == *"kept"*"you have changed it"* ]]
    tail -n 1 "$file" | grep -q 'mine'

    # A file the learner never touched follows the chapter.
    sed -i '$d' "$file"
    echo '/* old */' >>"$LABS/01-buffer/.generated/buffer.c"
    cp "$LABS/01-buffer/.generated/buffer.c" "$file"
    run make -s -C "$NIO_ROOT" lab-1 LAB_DIR="$LABS"
    [[ "$output" == *"updated"* ]]
    if grep -q '/\* old \*/' "$file"; then echo "not updated"; return 1; fi
}

@test "make check-1 on a fresh lab fails every stage, naming the lesson" {
    make -s -C "$NIO_ROOT" lab-1 LAB_DIR="$LABS" >/dev/null
    run make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" check-1 LAB_DIR="$LABS"
    [ "$status" -ne 0 ]
    [[ "$output" == *"stage 1/8 indexes"*"FAILED"* ]]
    [[ "$output" == *"expected: BUFFER_OK"*"got:      BUFFER_UNSUPPORTED"* ]]
    [[ "$output" == *'read:     chapters/01-buffer/README.md, "2. Four indexes"'* ]]
    [ "$(printf '%s\n' "$output" | grep '^chapter 1:' | tail -n 1)" = "chapter 1: 0 of 8 stages passed" ]
}

@test "make check-1 passes the chapter's own code, and STAGE= runs one stage" {
    mkdir -p "$LABS/01-buffer"
    cp "$NIO_ROOT/chapters/01-buffer/buffer.c" "$LABS/01-buffer/"
    run make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" check-1 LAB_DIR="$LABS"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [[ "$output" == *"chapter 1: 8 of 8 stages passed"* ]]
    run make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" check-1 LAB_DIR="$LABS" STAGE=compact
    [ "$status" -eq 0 ]
    [[ "$output" == *"chapter 1: 1 of 1 stages passed (compact)"* ]]
    run make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" check-1 LAB_DIR="$LABS" STAGE=nope
    [ "$status" -ne 0 ]
    [[ "$output" == *"no stage 'nope'"* ]]
    [[ "$output" != *"stages passed"* ]]
}

@test "the failure chapter 1's lesson shows is what make check-1 prints" {
    mkdir -p "$LABS/01-buffer"
    cp "$NIO_ROOT/chapters/01-buffer/buffer.c" "$LABS/01-buffer/"
    patch -s -p1 -d "$LABS/01-buffer" \
        <"$NIO_ROOT/tests/lab/mutations/01-buffer/compact--forgets-unread-bytes.patch"
    run make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" check-1 LAB_DIR="$LABS" STAGE=compact
    [ "$status" -ne 0 ]
    local shown
    shown=$(awk '/^```$/ && on { exit } on { print } /^```$/ && !on { getline; if ($0 ~ /^stage 5\/8 compact/) { on = 1; print } }' \
        "$NIO_ROOT/chapters/01-buffer/README.md")
    [ -n "$shown" ] || { echo "the lesson shows no failing compact stage"; return 1; }
    printf '%s\n' "$output" | sed -n '/^stage 5\/8 compact/,/^    read:/p' >"$BATS_TEST_TMPDIR/real"
    diff -u "$BATS_TEST_TMPDIR/real" <(printf '%s\n' "$shown")
}

@test "make check-N tells a hang and a memory error apart from a wrong answer" {
    mkdir -p "$LABS/01-buffer"
    sed 's/^    b->position = 0;$/    for (;;) b->position = 0;/' \
        "$NIO_ROOT/chapters/01-buffer/buffer.c" >"$LABS/01-buffer/buffer.c"
    run env LAB_TIMEOUT=3 make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" check-1 \
        LAB_DIR="$LABS" STAGE=flip-rewind-clear
    [ "$status" -ne 0 ]
    [[ "$output" == *"FAILED: it hung"* ]] || { echo "$output"; return 1; }

    sed 's/memmove(base, base + b->position, unread);/memmove(base, base + b->position, unread + 64);/' \
        "$NIO_ROOT/chapters/01-buffer/buffer.c" >"$LABS/01-buffer/buffer.c"
    run make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" check-1 LAB_DIR="$LABS" STAGE=compact
    [ "$status" -ne 0 ]
    [[ "$output" == *"FAILED: a memory error or undefined behaviour in your code"* ]] ||
        { echo "$output"; return 1; }
    [[ "$output" == *"01-buffer/buffer.c:"* ]]
}

@test "make run LAB=own builds httpd from the learner's labs, and it serves" {
    mkdir -p "$LABS/01-buffer"
    cp "$NIO_ROOT/chapters/01-buffer/buffer.c" "$LABS/01-buffer/"
    run sh "$NIO_ROOT/tools/lab.sh" own-build "$BATS_TEST_TMPDIR/build" "$LABS"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [[ "$output" == *"your labs of chapter(s): 1;"* ]]
    local bin=${lines[${#lines[@]}-1]}
    [ -x "$bin/httpd" ]
    # The buffer in that httpd was compiled from the lab, not the chapter.
    grep -q "$LABS/01-buffer/buffer.c" \
        "$BATS_TEST_TMPDIR/build/lab-own/obj/chapters/01-buffer/buffer.d"
    mkdir -p "$BATS_TEST_TMPDIR/site"
    echo "mine" >"$BATS_TEST_TMPDIR/site/index.html"
    BIN=$bin start_server httpd --root "$BATS_TEST_TMPDIR/site"
    run curl -fsS "http://$SERVER_HOST:$SERVER_PORT/"
    [ "$output" = "mine" ]
}

teardown() {
    stop_server 2>/dev/null || true
}
