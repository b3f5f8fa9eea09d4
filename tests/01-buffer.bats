#!/usr/bin/env bats
# Chapter 1: the Buffer. The module through its unit and model tests, the
# demo's transcript, and the copy loop on inputs of awkward sizes.

load helpers
bats_require_minimum_version 1.5.0

@test "unit: every operation and error path of buffer.h" {
    run_unit test_buffer
}

@test "model: 100,000 random operations agree with the reference model" {
    run_unit test_buffer_model
}

@test "make chapter-1 prints the expected transcript" {
    chapter_demo 1 >"$BATS_TEST_TMPDIR/out"
    diff -u "$EXPECTED/01-buffer.txt" "$BATS_TEST_TMPDIR/out"
}

@test "the walk-through shows each error by its status name" {
    run --separate-stderr "$BIN/buffer-demo"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    for name in BUFFER_OVERFLOW BUFFER_UNDERFLOW BUFFER_INVALID_MARK \
        BUFFER_READ_ONLY; do
        [[ "$output" == *"-> $name"* ]] || { echo "no $name"; return 1; }
    done
}

# copy_check SIZE [BUFFER-SIZE]: random bytes through the copy loop must
# come out byte for byte.
copy_check() {
    local size=$1 in="$BATS_TEST_TMPDIR/in.$1" out="$BATS_TEST_TMPDIR/out.$1"
    shift
    head -c "$size" /dev/urandom >"$in"
    [ "$(wc -c <"$in")" -eq "$size" ]
    "$BIN/buffer-demo" --copy "$@" <"$in" >"$out"
    cmp "$in" "$out"
}

@test "copy through the 16-byte buffer: 0, 1, 15, 16, 17 bytes and 1 MiB" {
    for size in 0 1 15 16 17 1048576; do
        copy_check "$size"
    done
}

@test "copy through 1-, 7- and 4096-byte buffers" {
    for size in 0 1 2 7 8 100 4097; do
        copy_check "$size" --size 1
    done
    copy_check 1048575 --size 7
    copy_check 1048577 --size 4096
}

@test "copy from a pipe fed by several commands in turn" {
    # Each command writes its own piece, so reads may return short counts.
    {
        printf 'first piece\n'
        head -c 5000 /dev/zero | tr '\0' 'x'
        printf '\nlast piece\n'
    } >"$BATS_TEST_TMPDIR/want"
    {
        printf 'first piece\n'
        head -c 5000 /dev/zero | tr '\0' 'x'
        printf '\nlast piece\n'
    } | "$BIN/buffer-demo" --copy --size 3 >"$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "copy reports a write error instead of losing data silently" {
    # shellcheck disable=SC2016 # $1 is for the inner shell
    run --separate-stderr bash -c \
        'printf "some bytes" | "$1" --copy 1>&-' _ "$BIN/buffer-demo"
    [ "$status" -eq 1 ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "buffer-demo: copy failed: "* ]]
}

@test "--help prints the usage and exits 0" {
    run --separate-stderr "$BIN/buffer-demo" --help
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: buffer-demo "* ]]
    [[ "$output" == *"--copy"* ]]
    [ -z "$stderr" ]
}

@test "bad arguments: one line on stderr, nothing on stdout, exit 2" {
    local args
    for args in "--bogus" "extra" "--copy --size" "--copy --size 0" \
        "--copy --size 65537" "--copy --size 12x" "--copy --size -1" \
        "--size 4"; do
        # shellcheck disable=SC2086 # each case is several words
        run --separate-stderr "$BIN/buffer-demo" $args
        [ "$status" -eq 2 ] || { echo "$args: status $status"; return 1; }
        [ -z "$output" ] || { echo "$args: stdout '$output'"; return 1; }
        [ "${#stderr_lines[@]}" -eq 1 ] ||
            { echo "$args: stderr '$stderr'"; return 1; }
        [[ "$stderr" == "buffer-demo: "* ]]
    done
}

@test "the pictures in the lesson and the deck are the demo's real output" {
    # Each ```text block right after "<!-- output: FILE -->" must appear,
    # as consecutive lines, in FILE: the pictures cannot drift from the
    # program that draws them.
    local md
    for md in chapters/01-buffer/README.md slides/01-buffer.md; do
        awk -v root="$NIO_ROOT" -v md="$md" '
            /^<!-- output: [^ ]+ -->$/ { want = $3; next }
            /^```/ && want != "" && !inside { inside = 1; n = 0; next }
            /^```/ && inside {
                inside = 0; blocks++
                if (!(want in loaded)) {
                    file = root "/" want; loaded[want] = 0
                    while ((getline line < file) > 0)
                        text[want, ++loaded[want]] = line
                }
                found = 0
                for (i = 0; !found && i + n <= loaded[want]; i++) {
                    found = 1
                    for (k = 1; k <= n && found; k++)
                        if (text[want, i + k] != block[k]) found = 0
                }
                if (!found) { print md ": block ending on line " NR " is not in " want; bad++ }
                want = ""; next
            }
            inside { block[++n] = $0; next }
            /[^[:space:]]/ { want = "" }
            END {
                if (blocks == 0) { print md ": no output block"; bad++ }
                exit bad > 0
            }
        ' "$NIO_ROOT/$md"
    done
}
