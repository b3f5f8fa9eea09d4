#!/usr/bin/env bats
# Chapter 2: blocking I/O. The Channel's unit test, then echo-server and
# echo-client: correctness (10 MB through a 64-byte buffer), the order in
# which an iterative and a threaded server serve clients (shown by the
# order of events, never by timing), clients that vanish mid-reply, clean
# stops with clients connected, errors, and the demo's transcript.
#
# Extra connections are bash's /dev/tcp descriptors, held by this shell.

load helpers

# How long one reply may take; generous for sanitized builds.
REPLY_TIMEOUT=20

teardown() {
    close_all
    stop_server
}

# open_conn NAME: connects to the server; the descriptor goes in $NAME.
OPEN_FDS=()
open_conn() {
    local fd
    exec {fd}<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
    printf -v "$1" '%s' "$fd"
    OPEN_FDS+=("$fd")
}

close_all() {
    local fd
    for fd in "${OPEN_FDS[@]}"; do
        exec {fd}>&- 2>/dev/null || true
    done
    OPEN_FDS=()
}

# spawn PROGRAM ARGS...: runs PROGRAM in the background (PID in $!)
# without this shell's connections, which it would otherwise keep open,
# and without Bats's fd 3.
spawn() {
    (
        for fd in "${OPEN_FDS[@]}"; do
            exec {fd}>&-
        done
        exec "$@"
    ) 3>&- &
}

# echo_line FD TEXT: sends TEXT and a newline, and expects it back.
echo_line() {
    local reply
    printf '%s\n' "$2" >&"$1"
    read -r -t "$REPLY_TIMEOUT" reply <&"$1" || {
        echo "no reply to '$2'" >&2
        return 1
    }
    [ "$reply" = "$2" ] || {
        echo "sent '$2', got back '$reply'" >&2
        return 1
    }
}

# line_of PATTERN: the number of the first line of the server's output
# matching the extended regex PATTERN (fails if none).
line_of() {
    local n
    n=$(grep -n -m1 -E -- "$1" "$SERVER_OUT" | cut -d: -f1)
    [ -n "$n" ] || {
        echo "no /$1/ in the server's output:" >&2
        cat "$SERVER_OUT" >&2
        return 1
    }
    echo "$n"
}

# refute_line PATTERN: fails if a line of the server's output matches.
# (A bare `! grep` would not fail a Bats test.)
refute_line() {
    if grep -Eq -- "$1" "$SERVER_OUT"; then
        echo "unexpected /$1/ in the server's output:" >&2
        cat "$SERVER_OUT" >&2
        return 1
    fi
}

client() {
    "$BIN/echo-client" -H "$SERVER_HOST" -p "$SERVER_PORT" "$@"
}

# --- the Channel -----------------------------------------------------------

@test "the Channel keeps its contract (unit test)" {
    run_unit test_channel
}

# --- echoing ---------------------------------------------------------------

@test "both programs answer --help with a usage and status 0" {
    run "$BIN/echo-server" --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ echo-server* ]]
    [[ "$output" == *--threads* ]]
    run "$BIN/echo-client" --help
    [ "$status" -eq 0 ]
    [[ "$output" == Usage:\ echo-client* ]]
    [[ "$output" == *--size* ]]
}

@test "echo-client sends each argument and prints each reply" {
    start_server echo-server
    run client hello 'blocking world' ''
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'hello\nblocking world\n')" ]
}

@test "echo-client sends each line of its standard input" {
    start_server echo-server --buffer-size 3
    run client < <(printf 'one line\nand another\nno newline at the end')
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'one line\nand another\nno newline at the end')" ]
}

@test "a 10 MB message through a 64-byte buffer comes back identical" {
    start_server echo-server --buffer-size 64
    run client --size 10485760
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^message\ 1:\ sent\ 10485760\ bytes\ \(fnv-1a\ ([0-9a-f]{16})\),\ received\ 10485760\ bytes\ \(fnv-1a\ ([0-9a-f]{16})\):\ identical$ ]]
    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
    wait_for_line "$SERVER_OUT" '^connection 1 closed by the client after 10485760 bytes$'
}

@test "--count sends several messages, each checked on its own" {
    start_server echo-server --threads 2 --buffer-size 100
    run client --size 100001 --count 3
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    local sums=()
    for i in 0 1 2; do
        [[ "${lines[$i]}" =~ ^message\ $((i + 1)):\ sent\ 100001\ bytes\ \(fnv-1a\ ([0-9a-f]+)\),\ received\ 100001\ bytes\ \(fnv-1a\ ([0-9a-f]+)\):\ identical$ ]]
        [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
        sums+=("${BASH_REMATCH[1]}")
    done
    # Each message has its own content, so its own checksum.
    [ "${sums[0]}" != "${sums[1]}" ] && [ "${sums[1]}" != "${sums[2]}" ]
}

@test "TCP is a byte stream: one write arrives as several reads" {
    start_server echo-server --buffer-size 8 --trace
    run client 'twenty bytes of text'
    [ "$status" -eq 0 ]
    [ "$output" = "twenty bytes of text" ]
    wait_for_line "$SERVER_OUT" '^connection 1 closed'
    # One write of 21 bytes (with the newline), read 8 bytes at a time.
    [ "$(grep -c '^connection 1 read ' "$SERVER_OUT")" -eq 3 ]
    grep -q '^connection 1 read 5 bytes$' "$SERVER_OUT"
}

@test "TCP is a byte stream: three writes waiting are read as one" {
    start_server echo-server --trace
    local first
    open_conn first
    echo_line "$first" "keeps the server busy"
    # Client 2 writes three times while the server is busy with client 1.
    spawn "$BIN/echo-client" -p "$SERVER_PORT" --trace one two three \
        >"$BATS_TEST_TMPDIR/c2.out" 2>"$BATS_TEST_TMPDIR/c2.err"
    local c2=$!
    wait_for_line "$BATS_TEST_TMPDIR/c2.err" '^sent 6 bytes$' 20 "$c2"
    exec {first}>&-
    wait "$c2"
    [ "$(cat "$BATS_TEST_TMPDIR/c2.out")" = "$(printf 'one\ntwo\nthree')" ]
    [ "$(grep -c '^connection 2 read ' "$SERVER_OUT")" -eq 1 ]
    grep -q '^connection 2 read 14 bytes$' "$SERVER_OUT"
}

# --- who is served when ----------------------------------------------------

@test "the iterative server serves a second client only after the first leaves" {
    start_server echo-server
    local first second reply
    open_conn first
    echo_line "$first" "first 1"
    open_conn second
    printf 'second 1\n' >&"$second"
    # The server answers the first client again: it is still serving it,
    # after the second client's bytes arrived, and has not accepted it.
    echo_line "$first" "first 2"
    refute_line '^connection 2 accepted'
    exec {first}>&-
    read -r -t "$REPLY_TIMEOUT" reply <&"$second"
    [ "$reply" = "second 1" ]
    [ "$(line_of '^connection 1 closed')" -lt "$(line_of '^connection 2 accepted')" ]
}

@test "with --threads both clients are served while both are connected" {
    start_server echo-server --threads 2
    local first second
    open_conn first
    echo_line "$first" "first 1"
    open_conn second
    echo_line "$second" "second 1"
    echo_line "$first" "first 2"
    echo_line "$second" "second 2"
    refute_line 'closed'
    exec {first}>&- {second}>&-
    wait_for_line "$SERVER_OUT" '^connection 1 closed'
    [ "$(line_of '^connection 2 accepted')" -lt "$(line_of '^connection 1 closed')" ]
}

@test "--threads N: the N+1-th client waits until a session ends" {
    start_server echo-server --threads 2
    local first second third reply
    open_conn first
    echo_line "$first" "first"
    open_conn second
    echo_line "$second" "second"
    open_conn third
    printf 'third\n' >&"$third"
    echo_line "$first" "first again"
    echo_line "$second" "second again"
    refute_line '^connection 3 accepted'
    exec {second}>&-
    read -r -t "$REPLY_TIMEOUT" reply <&"$third"
    [ "$reply" = "third" ]
    [ "$(line_of '^connection 2 closed')" -lt "$(line_of '^connection 3 accepted')" ]
    echo_line "$first" "first still served"
}

# --- clients that misbehave ------------------------------------------------

@test "a client that hangs up mid-reply neither kills nor wedges the server" {
    for mode in "" "--threads 2"; do
        # shellcheck disable=SC2086 # $mode is zero or two words
        start_server echo-server --buffer-size 64 $mode
        local before
        before=$(server_fds)
        run client --size 10485760 --hang-up-after 100000
        [ "$status" -eq 0 ]
        [[ "$output" == "hung up after receiving "* ]]
        wait_for_line "$SERVER_OUT" '^connection 1 closed'
        run client 'still served'
        [ "$status" -eq 0 ]
        [ "$output" = "still served" ]
        wait_for_fds "$before"
        stop_and_check
    done
}

@test "SIGTERM stops the iterative server while it serves a client" {
    start_server echo-server
    local first rest=""
    open_conn first
    echo_line "$first" "hello"
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    grep -q '^stopping on SIGTERM with 1 connection open$' "$SERVER_OUT"
    grep -q '^connection 1 closed after 6 bytes: server stopping$' "$SERVER_OUT"
    grep -q '^stopped after 1 connection$' "$SERVER_OUT"
    # The client sees the end of the stream.
    if read -r -t "$REPLY_TIMEOUT" rest <&"$first"; then
        echo "read '$rest' instead of the end of the stream" >&2
        return 1
    fi
    [ -z "$rest" ]
    server_stderr_clean
}

@test "SIGINT stops the threaded server with its threads busy, and joins them" {
    start_server echo-server --threads 4
    local a b c
    open_conn a
    open_conn b
    open_conn c
    echo_line "$a" "a"
    echo_line "$b" "b"
    echo_line "$c" "c"
    # main, the stop watcher and three sessions (TSan adds one of its own)
    [ "$(find "/proc/$SERVER_PID/task" -mindepth 1 -maxdepth 1 | wc -l)" -ge 5 ]
    stop_server INT
    [ "$SERVER_STATUS" -eq 0 ]
    grep -q '^stopping on SIGINT with 3 connections open$' "$SERVER_OUT"
    [ "$(grep -c 'server stopping$' "$SERVER_OUT")" -eq 3 ]
    grep -q '^stopped after 3 connections$' "$SERVER_OUT"
    server_stderr_clean
}

@test "a stop also reaches a thread blocked in write to a client that never reads" {
    start_server echo-server --threads 2 --buffer-size 4096
    # The kernel stack of each thread says where it sleeps (root only).
    cat "/proc/$SERVER_PID/stack" >/dev/null 2>&1 ||
        skip "/proc/PID/stack is not readable here"
    local hog
    open_conn hog
    # Send far more than the socket buffers hold and never read: the
    # server's write blocks once our receive buffer is full.
    spawn head -c 100000000 /dev/zero 1>&"$hog" 2>/dev/null
    local writer=$! deadline=$((SECONDS + 30)) blocked=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        if cat /proc/"$SERVER_PID"/task/*/stack 2>/dev/null |
            grep -q 'sk_stream_wait_memory'; then
            blocked=yes
            break
        fi
        sleep 0.02
    done
    [ -n "$blocked" ]
    stop_server TERM
    kill "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
    [ "$SERVER_STATUS" -eq 0 ]
    grep -q '^connection 1 closed after [0-9]* bytes: server stopping$' "$SERVER_OUT"
    server_stderr_clean
}

# --- errors ----------------------------------------------------------------

# one_line_error PROGRAM ARGS...: fails unless PROGRAM exits non-zero with
# exactly one line, naming the program.
one_line_error() {
    local name=$1
    shift
    run "$BIN/$name" "$@"
    if [ "$status" -eq 0 ] || [ "${#lines[@]}" -ne 1 ] ||
        [[ "$output" != "$name: "* ]]; then
        echo "$name $*: status $status, output:" >&2
        echo "$output" >&2
        return 1
    fi
}

@test "a port already in use is a one-line error" {
    start_server echo-server
    one_line_error echo-server -p "$SERVER_PORT"
    [[ "$output" == *"cannot listen on 127.0.0.1:$SERVER_PORT: Address already in use" ]]
}

@test "bad arguments are one-line errors" {
    one_line_error echo-server --threads 0
    one_line_error echo-server --threads many
    one_line_error echo-server --buffer-size 0
    one_line_error echo-server --buffer-size 12k
    one_line_error echo-server -p 65536
    one_line_error echo-server --no-such-option
    one_line_error echo-server --port
    one_line_error echo-server extra
    one_line_error echo-server -b 'no such host.invalid' -p 0
    one_line_error echo-client -p 0 x
    one_line_error echo-client --size 0
    one_line_error echo-client --size 10 message
    one_line_error echo-client --count 2
    one_line_error echo-client --count -1 x
    one_line_error echo-client -x
}

@test "a closed port and a name that does not resolve are one-line errors" {
    start_server echo-server
    local port=$SERVER_PORT
    stop_server
    one_line_error echo-client -p "$port" hello
    [[ "$output" == *"cannot connect to 127.0.0.1:$port: Connection refused" ]]
    one_line_error echo-client -H nosuch.invalid -p 8000 hello
    [[ "$output" == *"cannot resolve 'nosuch.invalid'"* ]]
}

@test "echo-client reports a server that leaves before echoing everything" {
    start_server echo-server
    local port=$SERVER_PORT first
    open_conn first
    echo_line "$first" "hold"
    # Stop the server while echo-client waits in its backlog.
    spawn "$BIN/echo-client" -p "$port" waiting >"$BATS_TEST_TMPDIR/c.out" \
        2>&1
    local c=$!
    stop_server
    local status=0
    wait "$c" || status=$?
    [ "$status" -ne 0 ]
    [ "$(wc -l <"$BATS_TEST_TMPDIR/c.out")" -eq 1 ]
    grep -q '^echo-client: ' "$BATS_TEST_TMPDIR/c.out"
}

# --- the transcript --------------------------------------------------------

@test "the demo prints tests/expected/02-blocking-echo.txt" {
    NIO_BIN="$BIN" sh "$NIO_ROOT/chapters/02-blocking-echo/demo.sh" \
        >"$BATS_TEST_TMPDIR/demo.out" 2>"$BATS_TEST_TMPDIR/demo.err" 3>&-
    diff -u "$EXPECTED/02-blocking-echo.txt" "$BATS_TEST_TMPDIR/demo.out"
    if grep -Eq 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/demo.err"; then
        cat "$BATS_TEST_TMPDIR/demo.err" >&2
        return 1
    fi
}
