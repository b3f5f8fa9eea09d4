#!/usr/bin/env bats
# The Buffer, Channel and Selector checked against Java's java.nio itself:
# tests/java/NioDiff.java and tests/unit/nio_diff.c replay the same seeded
# random Buffer scripts and the same Selector scenarios over loopback (the
# C side once per backend), and their transcripts must be equal, except
# for lines tagged with a row of the lessons' tables of deliberate
# differences. Needs a JDK (java and javac); skipped with the reason
# without one.

load helpers
bats_require_minimum_version 1.5.0

# The figures the chapter 1 and 3 lessons quote: keep them in step.
SEED=0x5eed16
SEQUENCES=400
OPERATIONS=100
SCENARIOS=4

# Skips the test, with the reason, without a JDK; else compiles NioDiff.
need_jdk() {
    if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
        skip "no JDK (java and javac): install default-jdk-headless to compare with Java"
    fi
    # Compiled into the build folder, never next to the sources.
    JAVA_OUT="$NIO_BUILD/java"
    if [ ! -f "$JAVA_OUT/NioDiff.class" ] ||
        [ "$NIO_ROOT/tests/java/NioDiff.java" -nt "$JAVA_OUT/NioDiff.class" ]; then
        mkdir -p "$JAVA_OUT"
        javac -d "$JAVA_OUT" "$NIO_ROOT/tests/java/NioDiff.java"
    fi
}

# The tags of the deliberate differences the lessons list: "| S1 |" rows.
listed_tags() {
    sed -n 's/^| \([BS][0-9][0-9]*\) |.*/\1/p' \
        "$NIO_ROOT/chapters/01-buffer/README.md" \
        "$NIO_ROOT/chapters/03-selector/README.md"
}

# compare C JAVA: equal, but for lines tagged with a listed difference.
compare() {
    local tags pattern
    tags=$(listed_tags | paste -sd'|' -)
    pattern="\\[(${tags:-NONE})\\]\$"
    diff -u <(grep -Ev "$pattern" "$2") <(grep -Ev "$pattern" "$1")
}

@test "Buffer: $SEQUENCES random sequences of $OPERATIONS operations, C and Java agree" {
    need_jdk
    local script="$BATS_TEST_TMPDIR/script"
    "$UNIT/nio_diff" gen "$SEED" "$SEQUENCES" "$OPERATIONS" >"$script"
    run --separate-stderr "$UNIT/nio_diff" buffer <"$script"
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/c"
    [ "$stderr" = "buffer: $SEQUENCES sequences, $((SEQUENCES * OPERATIONS)) operations" ]
    java -cp "$JAVA_OUT" NioDiff buffer <"$script" >"$BATS_TEST_TMPDIR/java"
    compare "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/java"
    # Every operation of buffer.h was exercised, failures included.
    local op
    for op in allocate wrap wrap_range slice slice_range duplicate \
        as_read_only set_position set_limit mark reset clear flip rewind \
        compact order get put get_at put_at get_bytes put_bytes \
        get_bytes_at put_bytes_at put_buffer get_short get_int get_long \
        put_short put_int put_long get_short_at get_int_at get_long_at \
        put_short_at put_int_at put_long_at equals compare array; do
        grep -q "^$op .* -> " "$BATS_TEST_TMPDIR/c" || { echo "no $op"; return 1; }
    done
    local s
    for s in BUFFER_OVERFLOW BUFFER_UNDERFLOW BUFFER_INVALID_MARK \
        BUFFER_INDEX_OUT_OF_RANGE BUFFER_READ_ONLY BUFFER_BAD_ARGUMENT \
        "NULL EINVAL"; do
        grep -q -- "-> $s" "$BATS_TEST_TMPDIR/c" || { echo "no $s"; return 1; }
    done
}

@test "Selector: the $SCENARIOS scenarios print what Java prints, on every backend" {
    need_jdk
    java -cp "$JAVA_OUT" NioDiff selector >"$BATS_TEST_TMPDIR/java"
    local backend ran=0
    for backend in select poll epoll; do
        run --separate-stderr "$UNIT/nio_diff" selector "$backend"
        [ "$status" -eq 2 ] && continue # not on this system (epoll)
        [ "$status" -eq 0 ]
        [ "$stderr" = "selector: $SCENARIOS scenarios" ]
        printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/$backend"
        echo "# $backend" >&3
        compare "$BATS_TEST_TMPDIR/$backend" "$BATS_TEST_TMPDIR/java"
        ran=$((ran + 1))
    done
    [ "$ran" -ge 2 ]
}

@test "the comparison fails on a difference the lessons do not list" {
    printf 'a\nsame [S1]\nb\n' >"$BATS_TEST_TMPDIR/one"
    printf 'a\nother [S1]\nb\n' >"$BATS_TEST_TMPDIR/two"
    compare "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    printf 'a\nsame [S99]\nb\n' >"$BATS_TEST_TMPDIR/one"
    printf 'a\nother [S99]\nb\n' >"$BATS_TEST_TMPDIR/two"
    run compare "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    [ "$status" -ne 0 ]
    printf 'a\n' >"$BATS_TEST_TMPDIR/two"
    run compare "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    [ "$status" -ne 0 ]
}

@test "the lessons quote the figures this check runs" {
    local figure="$SEQUENCES sequences of $OPERATIONS operations"
    grep -q "$figure" "$NIO_ROOT/chapters/01-buffer/README.md"
    grep -q "$figure" "$NIO_ROOT/chapters/03-selector/README.md"
    grep -q "$SCENARIOS scenarios" "$NIO_ROOT/chapters/03-selector/README.md"
    # Every tag a transcript uses is a row of a lesson's table.
    local tag
    for tag in $(grep -ho '\[[BS][0-9][0-9]*\]' "$NIO_ROOT/tests/unit/nio_diff.c" \
        "$NIO_ROOT/tests/java/NioDiff.java" | tr -d '[]' | sort -u); do
        listed_tags | grep -qx "$tag" || { echo "$tag is not in a lesson's table"; return 1; }
    done
}
