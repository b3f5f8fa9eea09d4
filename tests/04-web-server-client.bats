#!/usr/bin/env bats
# Chapter 4: the seed's WebServer and WebClient, done right. The session's
# unit test, then the programs: framing under merged and split messages,
# 100 concurrent clients, resets, half-closes, partial writes, every
# backend, the seed's handler losing boundaries, bad arguments, the
# transcript. web_session_probe is the misbehaving client (TAP output).

load helpers
bats_require_minimum_version 1.5.0

PROBE="$UNIT/web_session_probe"

teardown() {
    stop_server
}

# probe SCENARIO N: runs the probe against the server; fails on "not ok".
probe() {
    run "$PROBE" "$1" "$SERVER_PORT" "$2"
    if [ "$status" -ne 0 ] || grep -q '^not ok' <<<"$output"; then
        echo "$output"
        return 1
    fi
}

@test "the web session keeps its contract (unit test)" {
    run_unit test_web_session
}

@test "both programs have --help" {
    run "$BIN/web-server" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: web-server"* ]]
    [[ "$output" == *"--backend"* ]]
    run "$BIN/web-client" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: web-client"* ]]
    [[ "$output" == *"--connections"* ]]
}

@test "bad arguments are refused with a one-line reason" {
    local args
    for args in "-p 99999" "-p x" "--backend nope" "-s 3" "-l loud" \
        "extra"; do
        # shellcheck disable=SC2086 # the arguments are meant to split
        run "$BIN/web-server" $args
        [ "$status" -ne 0 ] || { echo "web-server $args: status 0"; return 1; }
        [ -n "$output" ]
    done
    for args in "-n 0" "-n 1x" "-c 0" "-c 10001" "-p 0" "-t 0" \
        "--backend nope" "--no-framing -n 1001" "extra" "--bogus"; do
        # shellcheck disable=SC2086
        run "$BIN/web-client" $args
        [ "$status" -ne 0 ] || { echo "web-client $args: status 0"; return 1; }
        [ -n "$output" ]
    done
    run "$BIN/web-client" -n 0
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "web-client: bad message count '0'"* ]]
}

@test "the server listens, answers, and stops cleanly on SIGTERM and SIGINT" {
    local signal
    for signal in TERM INT; do
        start_server web-server
        [[ "$SERVER_HOST" == 127.0.0.1 ]]
        run "$BIN/web-client" -p "$SERVER_PORT"
        [ "$status" -eq 0 ]
        summary_is 1 5 5 0
        [ "$(grep -c '^reply [1-5]: received$' <<<"$output")" -eq 5 ]
        stop_and_check "$signal"
        grep -qx 'stopped after 1 connections, 5 messages answered' \
            "$SERVER_OUT"
    done
}

@test "nc-style lines: LF and CRLF each get one reply, split lines wait" {
    start_server web-server
    local reply
    exec {conn}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    printf 'hello\r\nhel' >&"$conn"
    read -r -t 10 reply <&"$conn"
    [ "$reply" = received ]
    # "hel" alone is no line: nothing may come back until "lo\n" does.
    if read -r -t 0.2 reply <&"$conn"; then
        echo "a reply to half a line: '$reply'"
        return 1
    fi
    ask "$conn" 'lo'
    exec {conn}>&-
    stop_and_check
    grep -qx 'stopped after 1 connections, 2 messages answered' "$SERVER_OUT"
}

@test "framing: 1,000 messages in one write get 1,000 replies" {
    start_server web-server
    probe burst 1000
    [[ "$output" == *"ok 2 - 1000 lines (6000 bytes) in one write"* ]]
    stop_and_check
}

@test "framing: 1,000 messages sent one byte per write get 1,000 replies" {
    start_server web-server
    probe bytewise 1000
    [[ "$output" == *"(6000 writes)"* ]]
    stop_and_check
}

@test "100 concurrent clients x 100 messages all get exactly their replies" {
    start_server web-server
    run "$BIN/web-client" -p "$SERVER_PORT" -c 100 -n 100 -t 60
    [ "$status" -eq 0 ]
    summary_is 100 10000 10000 0
    # With -c > 1 only the summary is printed.
    [ "${#lines[@]}" -eq 1 ]
    stop_and_check
    grep -qx 'stopped after 100 connections, 10000 messages answered' \
        "$SERVER_OUT"
}

@test "500 connects at once are all accepted and served" {
    # The listen backlog is SOMAXCONN; with the seed's (Java's default, 50)
    # a burst like this overflows the accept queue.
    start_server web-server
    run "$BIN/web-client" -p "$SERVER_PORT" -c 500 -n 10 -t 60
    [ "$status" -eq 0 ]
    summary_is 500 5000 5000 0
    stop_and_check
}

@test "each connection's interest goes OP_READ -> OP_WRITE -> OP_READ" {
    start_server web-server -l debug
    exec {conn}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    ask "$conn"
    # The reply is out: the key must be back to OP_READ before the next.
    wait_for_line "$SERVER_ERR" 'interest READ\|WRITE -> READ$'
    exec {conn}>&-
    wait_for_line "$SERVER_ERR" 'closed: every reply sent$'
    stop_and_check
    grep -q 'interest READ -> READ|WRITE$' "$SERVER_ERR"
}

@test "a client that resets mid-stream does not disturb the others" {
    start_server web-server
    local i
    # A client already talking before the resets, and after them.
    exec {conn}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    ask "$conn"
    # Many clients at the same time, while five others reset.
    "$BIN/web-client" -p "$SERVER_PORT" -c 20 -n 500 -t 60 \
        >"$BATS_TEST_TMPDIR/client.out" 2>&1 3>&- &
    local client_pid=$!
    for i in 1 2 3 4 5; do
        probe reset 200
    done
    local client_status=0
    wait "$client_pid" || client_status=$?
    [ "$client_status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/client.out"; return 1; }
    output=$(cat "$BATS_TEST_TMPDIR/client.out")
    summary_is 20 10000 10000 0
    ask "$conn"
    exec {conn}>&-
    stop_and_check
    grep -q '^stopped after 26 connections' "$SERVER_OUT"
}

@test "a half-closed client still gets every reply, then end of stream" {
    start_server web-server
    "$BIN/web-client" -p "$SERVER_PORT" -c 20 -n 500 -t 60 \
        >"$BATS_TEST_TMPDIR/client.out" 2>&1 3>&- &
    local client_pid=$!
    probe halfclose 1000
    [[ "$output" == *"ok 3 - exactly 1000 replies"* ]]
    [[ "$output" == *"ok 4 - then end of stream from the server"* ]]
    local client_status=0
    wait "$client_pid" || client_status=$?
    [ "$client_status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/client.out"; return 1; }
    output=$(cat "$BATS_TEST_TMPDIR/client.out")
    summary_is 20 10000 10000 0
    stop_and_check
}

@test "partial writes: a client that does not read gets every reply later" {
    start_server web-server
    probe stall 3000000
    [[ "$output" == *"ok 2 - the server stopped reading"* ]]
    [[ "$output" == *"ok 4 - exactly "*" replies"* ]]
    stop_and_check
}

@test "a line longer than the buffer closes that connection only" {
    start_server web-server -s 16
    local reply other
    exec {other}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    exec {conn}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    printf 'this line is far longer than sixteen bytes\n' >&"$conn"
    # The server closes it without a reply: read sees end of stream (1),
    # not a timeout (> 128).
    local rc=0
    read -r -t 10 reply <&"$conn" || rc=$?
    [ "$rc" -eq 1 ]
    [ -z "$reply" ]
    exec {conn}>&-
    ask "$other" 'short'
    exec {other}>&-
    stop_and_check
}

@test "stopping with clients connected closes and frees every session" {
    start_server web-server
    local a b reply
    exec {a}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    exec {b}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    printf 'hello\nunfinished' >&"$a"
    read -r -t 10 reply <&"$a"
    [ "$reply" = received ]
    printf 'hello\n' >&"$b"
    read -r -t 10 reply <&"$b"
    stop_and_check
    grep -qx 'stopped after 2 connections, 2 messages answered' "$SERVER_OUT"
    # Both connections were closed by the server: end of stream (1).
    local rc=0
    read -r -t 10 reply <&"$a" || rc=$?
    [ "$rc" -eq 1 ]
    rc=0
    read -r -t 10 reply <&"$b" || rc=$?
    [ "$rc" -eq 1 ]
    exec {a}>&- {b}>&-
}

@test "a connect failure is an error in the summary, not a hang" {
    # A port that was just free: start a server, note its port, stop it.
    start_server web-server
    local port=$SERVER_PORT
    stop_and_check
    run "$BIN/web-client" -p "$port" -c 3 -n 2 -t 10
    [ "$status" -ne 0 ]
    summary_is 3 0 0 3
    [ "$(grep -c 'connect: Connection refused' <<<"$output")" -eq 3 ]
}

backend_round() {
    start_server web-server --backend "$1"
    run "$BIN/web-client" -p "$SERVER_PORT" --backend "$1" -c 50 -n 100 -t 60
    [ "$status" -eq 0 ]
    summary_is 50 5000 5000 0
    probe burst 1000
    probe reset 100
    probe bytewise 100
    stop_and_check
    # (How many of the resetting client's lines were answered varies.)
    grep -q '^stopped after 53 connections, ' "$SERVER_OUT"
}

@test "the select backend serves the same" {
    backend_round select
}

@test "the poll backend serves the same" {
    backend_round poll
}

@test "the epoll backend serves the same" {
    if ! grep -q 'epoll' <<<"$("$BIN/web-server" --help)"; then
        skip "no epoll on this system"
    fi
    backend_round epoll
}

@test "without framing: the framed server cannot find a message" {
    start_server web-server
    run "$BIN/web-client" -p "$SERVER_PORT" --no-framing -n 2
    [ "$status" -ne 0 ]
    summary_is 1 2 0 0
    [[ "$output" == *"message boundaries are lost"* ]]
    stop_and_check
    grep -qx 'stopped after 1 connections, 0 messages answered' "$SERVER_OUT"
}

@test "the seed's handler takes two messages in one read as one" {
    start_server web-server --seed
    run "$BIN/web-client" -p "$SERVER_PORT" --no-framing -n 2
    [ "$status" -ne 0 ]
    summary_is 1 2 1 0
    [[ "$output" == *'read 1: "received"'* ]]
    grep -qx 'received : hellohello' "$SERVER_OUT"
    # The next client sends one "hello"; the seed prints the whole shared
    # array, so the first client's bytes show up in the second's message.
    run "$BIN/web-client" -p "$SERVER_PORT" --no-framing -n 1
    [ "$status" -eq 0 ]
    summary_is 1 1 1 0
    [ "$(grep -cx 'received : hellohello' "$SERVER_OUT")" -eq 2 ]
    # A framed client on the seed's server: a reply with no newline.
    run "$BIN/web-client" -p "$SERVER_PORT" -n 2
    [ "$status" -ne 0 ]
    summary_is 1 2 0 1
    [[ "$output" == *"closed in the middle of a reply"* ]]
    stop_and_check
}

@test "make chapter-4 prints the expected transcript" {
    run --separate-stderr make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" \
        SAN="${NIO_SAN:-}" chapter-4
    [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
    diff -u "$EXPECTED/04-web-server-client.txt" <(printf '%s\n' "$output")
}
