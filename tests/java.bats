#!/usr/bin/env bats
# The course's Java programs (chapters 4, 5 and 6) beside the C ones: the
# same scripted client against the C server and against the Java server
# must see the same replies, and in seed mode the same failure. Skipped,
# with the reason, where there is no JDK (or, for the Netty pair, no
# Debian libnetty-java).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
    if reason=$(sh "$NIO_ROOT/tools/java.sh" check 4); then
        NIO_BUILD="$NIO_BUILD" sh "$NIO_ROOT/tools/java.sh" build 6 >&2
    fi
}

setup() {
    if ! reason=$(sh "$NIO_ROOT/tools/java.sh" check 4); then
        skip "$reason"
    fi
    # start_server runs $BIN/PROGRAM; the Java launchers live beside it.
    JBIN="../java/bin"
    : "${BIN:?}"
}

teardown() {
    stop_server
}

# same_for C_SERVER JAVA_SERVER OPTIONS... -- CLIENT ARGS...: runs the
# client against each server (started with OPTIONS) and fails unless both
# runs print the same and exit the same. The client's output goes through
# $SAME_FILTER (default cat: all of it) first; with SAME_WAIT="N REGEX" it
# waits for N server lines matching REGEX before stopping the server.
# Leaves each side's output in $BATS_TEST_TMPDIR/{c,java}.{client,server}.
same_for() {
    local c_server=$1 java_server=$2 options=() side
    shift 2
    while [ "$1" != -- ]; do
        options+=("$1")
        shift
    done
    shift
    for side in c java; do
        if [ "$side" = c ]; then
            start_server "$c_server" "${options[@]}"
        else
            start_server "$JBIN/$java_server" "${options[@]}"
        fi
        local program=$1
        run "$BIN/$program" -p "$SERVER_PORT" "${@:2}" 3>&-
        printf '%s\n' "$output" | sed "s/:$SERVER_PORT\$/:PORT/" |
            ${SAME_FILTER:-cat} >"$BATS_TEST_TMPDIR/$side.client"
        echo "$status" >"$BATS_TEST_TMPDIR/$side.status"
        if [ -n "${SAME_WAIT:-}" ]; then
            wait_for_count "${SAME_WAIT%% *}" "${SAME_WAIT#* }"
        fi
        stop_and_check
        cp "$SERVER_OUT" "$BATS_TEST_TMPDIR/$side.server"
    done
    diff -u "$BATS_TEST_TMPDIR/c.client" "$BATS_TEST_TMPDIR/java.client"
    diff "$BATS_TEST_TMPDIR/c.status" "$BATS_TEST_TMPDIR/java.status"
}

# wait_for_count N REGEX: waits (bounded) for N lines matching REGEX in
# the server's output.
wait_for_count() {
    local deadline=$((SECONDS + NIO_START_TIMEOUT))
    until [ "$(grep -cE -- "$2" "$SERVER_OUT")" -ge "$1" ]; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.02
    done
}

@test "java: chapter 4, WebServer answers web-client as web-server does" {
    same_for web-server WebServer -- web-client -n 5
    grep -qx 'summary: connections 1, messages sent 5, replies received 5, errors 0' \
        "$BATS_TEST_TMPDIR/java.client"
    same_for web-server WebServer -- web-client -c 20 -n 50
    grep -qx 'summary: connections 20, messages sent 1000, replies received 1000, errors 0' \
        "$BATS_TEST_TMPDIR/java.client"
}

@test "java: chapter 4, WebClient sees what web-client sees" {
    start_server web-server
    run "$BIN/web-client" -p "$SERVER_PORT" -n 4
    local c_output=$output
    run "$BIN/$JBIN/WebClient" -p "$SERVER_PORT" -n 4
    [ "$status" -eq 0 ]
    [ "$output" = "$c_output" ]
    stop_and_check
}

@test "java: chapter 4 --seed, the same lost boundary in both servers" {
    same_for web-server WebServer --seed -- web-client --no-framing -n 2 -t 2
    [ "$(cat "$BATS_TEST_TMPDIR/java.status")" -ne 0 ]
    grep -qx 'read 1: "received"' "$BATS_TEST_TMPDIR/java.client"
    grep -qx 'received : hellohello' "$BATS_TEST_TMPDIR/c.server"
    grep -qx 'received : hellohello' "$BATS_TEST_TMPDIR/java.server"
}

@test "java: chapter 5, PoolServer exhausts its pool as pool-server does" {
    same_for pool-server PoolServer --threads 2 -- script-client -t 30 \
        'open 1' 'send 1 hello' 'expect 1' \
        'open 2' 'send 2 hello' 'expect 2' \
        'open 3' 'send 3 hello' 'quiet 3 500' \
        'close 1' 'expect 3' 'close 2' 'close 3'
    [ "$(cat "$BATS_TEST_TMPDIR/java.status")" -eq 0 ]
    grep -qx 'client 3: nothing for 500 ms' "$BATS_TEST_TMPDIR/java.client"
}

@test "java: chapter 5 --seed-accept, one connection becomes several tasks in both" {
    same_for pool-server PoolServer --seed-accept --threads 1 --queue 4 -- \
        script-client -t 60 \
        'open 1' 'send 1 hello' 'expect 1' \
        'open 2' 'send 2 hello' 'quiet 2 300' \
        'close 1' 'expect 2' 'close 2'
    local tasks empty
    tasks=$(sed -n 's/.*; \([0-9]*\) tasks handed out.*/\1/p' \
        "$BATS_TEST_TMPDIR/java.server")
    empty=$(sed -n 's/.*, \([0-9]*\) found nothing to accept$/\1/p' \
        "$BATS_TEST_TMPDIR/java.server")
    [ "$tasks" -gt 2 ]
    [ "$empty" -ge 1 ]
}

# The parts of ladder-load's report that do not depend on timing.
ladder_counts() {
    grep -E '^(clients|connected|requests|errors|starved):'
}

@test "java: chapter 6, NioServer serves ladder-load as boss-worker-server does" {
    SAME_FILTER=ladder_counts
    for mode in "" "--poll-ms 1"; do
        # shellcheck disable=SC2086 # the mode is meant to split
        same_for boss-worker-server NioServer --workers 2 $mode -- \
            ladder-load -c 50 -n 20
        grep -qx 'requests: 1000' "$BATS_TEST_TMPDIR/java.client"
        grep -qx 'errors: 0' "$BATS_TEST_TMPDIR/java.client"
    done
}

# The Netty pair's printed lines, peer port and date replaced.
hello_lines() {
    sed -n -e 's/^\[127\.0\.0\.1:[0-9]*\] .*: hello world!$/[peer] <date>: hello world!/p' "$1"
}

@test "java: chapter 6, the Netty pair in Java and in C print the same" {
    if ! reason=$(sh "$NIO_ROOT/tools/java.sh" check 6); then
        skip "$reason"
    fi
    SAME_WAIT="3 hello world!$" same_for netty-server NettyServer -- \
        netty-client -i 20 -n 3
    grep -qx 'sent 3 messages to 127.0.0.1:PORT' "$BATS_TEST_TMPDIR/java.client"
    [ "$(cat "$BATS_TEST_TMPDIR/java.status")" -eq 0 ]
    diff <(hello_lines "$BATS_TEST_TMPDIR/c.server") \
        <(hello_lines "$BATS_TEST_TMPDIR/java.server")
    [ "$(hello_lines "$BATS_TEST_TMPDIR/java.server" | wc -l)" -eq 3 ]
    # And the Java client against the C server.
    start_server netty-server
    run "$BIN/$JBIN/NettyClient" -p "$SERVER_PORT" -i 20 -n 3
    [ "$status" -eq 0 ]
    wait_for_count 3 'hello world!$'
    stop_and_check
    [ "$(hello_lines "$SERVER_OUT" | wc -l)" -eq 3 ]
}
