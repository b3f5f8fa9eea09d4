#!/usr/bin/env bats
# Chapter 3: the Selector. The unit suite once per backend; the one-thread
# echo server with many clients on each backend, with a client that reads
# slowly (backpressure keeps memory bounded), with a client that vanishes,
# and with a descriptor select cannot watch; clean stops; bad arguments;
# the transcript; the benchmark's table.

load helpers
bats_require_minimum_version 1.5.0

teardown() {
    stop_server
    if [ -n "${CLIENT_PID:-}" ]; then
        kill "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=
    fi
}

# ThreadSanitizer does not intercept select(2), so a SIGTERM that arrives
# while a program waits in it is held back and never reaches the program's
# handler: a select-backend server cannot be stopped under it. The plain
# and ASan runs cover those tests; the unit suite still runs under TSan.
skip_select_server_under_tsan() {
    [ "${NIO_SAN:-}" != thread ] ||
        skip "ThreadSanitizer holds back signals that arrive during select(2)"
}

# unit_for BACKEND: the selector's unit suite against one backend.
unit_for() {
    run "$UNIT/test_selector" "$1"
    if [ "$status" -ne 0 ] || grep -q '^not ok' <<<"$output" ||
        ! grep -q '^1\.\.[1-9]' <<<"$output"; then
        printf '%s\n' "$output" | grep -v '^ok '
        return 1
    fi
}

@test "unit: the selector's contract on the select backend" {
    unit_for select
}

@test "unit: the selector's contract on the poll backend" {
    unit_for poll
}

@test "unit: the selector's contract on the epoll backend" {
    [ "$(uname -s)" = Linux ] || skip "epoll is Linux only"
    unit_for epoll
}

# swarm_check BACKEND CLIENTS: that many clients at once, 10 messages each,
# every byte checked; the server survives and reports them all.
swarm_check() {
    local backend=$1 clients=$2
    start_server selector-echo-server --backend "$backend"
    run "$BIN/echo-swarm" -p "$SERVER_PORT" -c "$clients" -n 10 -s 300 -t 60
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [[ "$output" == *"$clients connections: $clients ok, 0 failed; $((clients * 10)) messages of 300 bytes echoed and checked"* ]]
    kill -0 "$SERVER_PID"
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    grep -q "^served $clients connections, echoed $((clients * 3000)) bytes$" \
        "$SERVER_OUT"
    server_stderr_clean
}

@test "500 clients at once echo correctly (epoll)" {
    [ "$(uname -s)" = Linux ] || skip "epoll is Linux only"
    swarm_check epoll 500
}

@test "500 clients at once echo correctly (poll)" {
    swarm_check poll 500
}

@test "200 clients at once echo correctly (select, below FD_SETSIZE)" {
    skip_select_server_under_tsan
    swarm_check select 200
}

@test "interest ops follow the connection: OP_WRITE only while output waits" {
    # More than the kernel's largest send buffer, to a reader slower than
    # the server: some output has to wait for OP_WRITE.
    local wmem size
    wmem=$(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_wmem 2>/dev/null || :)
    size=$((${wmem:-4194304} + 2097152))
    start_server selector-echo-server -v
    run "$BIN/echo-swarm" -p "$SERVER_PORT" -c 1 -n 1 -s "$size" \
        --read-rate 5000000 --rcvbuf 16384
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    stop_server
    # Every change of interest ops is logged: OP_WRITE was added when output
    # stayed pending, and taken away again once it was sent.
    grep -Eq 'interest R -> RW$' "$SERVER_ERR"
    grep -Eq 'interest RW? -> R$' "$SERVER_ERR"
    # It ended with the connection, not with OP_WRITE left on.
    grep -q 'closing .*: end of stream, everything echoed' "$SERVER_ERR"
}

@test "10 MB to a client that reads slowly: completes, memory stays bounded" {
    [ -r /proc/self/status ] || skip "needs /proc to read the server's memory"
    start_server selector-echo-server -v
    local start max now
    start=$(server_kib VmRSS)
    max=$start
    # 8 MB/s through a 16 KiB receive buffer: the kernel cannot absorb the
    # difference, so the server has to stop reading.
    "$BIN/echo-swarm" -p "$SERVER_PORT" -c 1 -n 1 -s 10485760 \
        --read-rate 8000000 --rcvbuf 16384 -t 120 \
        >"$BATS_TEST_TMPDIR/swarm.out" 2>&1 3>&- &
    CLIENT_PID=$!
    while kill -0 "$CLIENT_PID" 2>/dev/null; do
        now=$(server_kib VmRSS)
        [ "$now" -le "$max" ] || max=$now
        sleep 0.05
    done
    local status=0
    wait "$CLIENT_PID" || status=$?
    CLIENT_PID=
    cat "$BATS_TEST_TMPDIR/swarm.out"
    [ "$status" -eq 0 ]
    grep -q '1 connection: 1 ok, 0 failed' "$BATS_TEST_TMPDIR/swarm.out"
    echo "server memory: $start kB at the start, at most $max kB"
    # Two 16 KiB buffers per connection. A server without backpressure
    # holds megabytes here (measured: about 7 MB with 16 MiB buffers).
    [ $((max - start)) -lt 4096 ]
    # And the reason it stayed small: it stopped reading, then resumed.
    grep -Eq 'interest RW? -> W$' "$SERVER_ERR"
    grep -Eq 'interest W -> RW$' "$SERVER_ERR"
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    grep -q '^served 1 connection, echoed 10485760 bytes$' "$SERVER_OUT"
    server_stderr_clean
}

@test "a client that vanishes mid-echo costs only its own connection" {
    start_server selector-echo-server -v
    # This client gives up after a second with echoes unread: its close
    # resets the connection while the server is still writing to it.
    run "$BIN/echo-swarm" -p "$SERVER_PORT" -c 1 -n 1 -s 8388608 \
        --read-rate 100000 --rcvbuf 16384 -t 1
    [ "$status" -ne 0 ]
    [[ "$output" == *"1 connection: 0 ok, 1 failed"* ]]
    wait_for_line "$SERVER_ERR" 'closing .*(reset|Broken pipe)' 10
    run "$BIN/echo-swarm" -p "$SERVER_PORT" -c 20 -n 5
    [ "$status" -eq 0 ]
    [[ "$output" == *"20 connections: 20 ok, 0 failed"* ]]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    grep -q '^served 21 connections' "$SERVER_OUT"
    server_stderr_clean
}

@test "end of stream closes that connection only; others keep echoing" {
    start_server selector-echo-server
    local a b line
    # shellcheck disable=SC2153 # set by start_server
    exec {a}<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
    exec {b}<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
    printf 'from b\n' >&"$b"
    read -r -t 10 -u "$b" line
    [ "$line" = "from b" ]
    exec {b}>&-
    printf 'from a\n' >&"$a"
    read -r -t 10 -u "$a" line
    [ "$line" = "from a" ]
    exec {a}>&-
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    grep -q '^served 2 connections, echoed 14 bytes$' "$SERVER_OUT"
}

@test "SIGTERM and SIGINT stop it cleanly with clients still connected" {
    local signal fds=() fd i line
    for signal in TERM INT; do
        start_server selector-echo-server
        for i in 1 2 3; do
            exec {fd}<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
            fds+=("$fd")
            printf 'hello %s\n' "$i" >&"$fd"
            read -r -t 10 -u "$fd" line
            [ "$line" = "hello $i" ]
        done
        # Each connection's attachment must be freed on the way out: the
        # sanitized run's leak check fails the server otherwise.
        stop_server "$signal"
        [ "$SERVER_STATUS" -eq 0 ]
        grep -q '^served 3 connections, echoed 24 bytes$' "$SERVER_OUT"
        server_stderr_clean
        for fd in "${fds[@]}"; do
            # The server closed them: end of stream.
            if read -r -t 10 -u "$fd" line; then
                echo "connection $fd still open: '$line'"
                return 1
            fi
            exec {fd}>&-
        done
        fds=()
    done
}

@test "select backend: a client above FD_SETSIZE is refused alone, clearly" {
    skip_select_server_under_tsan
    local hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] || [ "$hard" -ge 1200 ] ||
        skip "the hard descriptor limit ($hard) is below 1200"
    SERVER_OUT="$BATS_TEST_TMPDIR/server.out"
    SERVER_ERR="$BATS_TEST_TMPDIR/server.err"
    : >"$SERVER_OUT"
    : >"$SERVER_ERR"
    # Started by hand: the server inherits descriptors 16 to 1040, so that
    # after its own few (listener, pipes) and a handful of clients, the
    # next client's descriptor is above 1023.
    (
        ulimit -Sn 1200
        for ((fd = 16; fd <= 1040; fd++)); do
            eval "exec $fd</dev/null"
        done
        for ((fd = 3; fd < 16; fd++)); do
            eval "exec $fd>&-"
        done
        exec "$BIN/selector-echo-server" -p 0 --backend select
    ) >"$SERVER_OUT" 2>"$SERVER_ERR" 3>&- &
    SERVER_PID=$!
    wait_for_line "$SERVER_OUT" '^listening on ' "$NIO_START_TIMEOUT" \
        "$SERVER_PID"
    SERVER_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$SERVER_OUT")

    local i fd line refused=0 fds=()
    for ((i = 1; i <= 20; i++)); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
        fds+=("$fd")
        printf 'ping %s\n' "$i" >&"$fd"
        if ! read -r -t 10 -u "$fd" line; then
            refused=$i
            break
        fi
        [ "$line" = "ping $i" ]
    done
    echo "client $refused was refused"
    [ "$refused" -gt 1 ]
    grep -q "its descriptor 10[0-9][0-9] is not below FD_SETSIZE (1024), so the select backend cannot watch it; use --backend poll or epoll" \
        "$SERVER_ERR"
    # The server lives on and still serves the clients it has.
    printf 'still here\n' >&"${fds[0]}"
    read -r -t 10 -u "${fds[0]}" line
    [ "$line" = "still here" ]
    for fd in "${fds[@]}"; do
        exec {fd}>&-
    done
    stop_and_check
}

@test "out of descriptors: accepts pause, then resume as clients leave" {
    SERVER_OUT="$BATS_TEST_TMPDIR/server.out"
    SERVER_ERR="$BATS_TEST_TMPDIR/server.err"
    : >"$SERVER_OUT"
    : >"$SERVER_ERR"
    # A hard limit of 40 descriptors: about 30 connections fit, the rest
    # wait in the listen backlog until some of the first ones leave.
    (
        ulimit -n 40
        exec "$BIN/selector-echo-server" -p 0
    ) >"$SERVER_OUT" 2>"$SERVER_ERR" 3>&- &
    SERVER_PID=$!
    wait_for_line "$SERVER_OUT" '^listening on ' "$NIO_START_TIMEOUT" \
        "$SERVER_PID"
    SERVER_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$SERVER_OUT")
    run "$BIN/echo-swarm" -p "$SERVER_PORT" -c 60 -n 3 -t 60
    [ "$status" -eq 0 ] || { echo "$output"; cat "$SERVER_ERR"; return 1; }
    [[ "$output" == *"60 connections: 60 ok, 0 failed"* ]]
    grep -q 'cannot accept (Too many open files); pausing accepts' \
        "$SERVER_ERR"
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    grep -q '^served 60 connections' "$SERVER_OUT"
    server_stderr_clean
}

@test "--help: usage on stdout, exit 0, for all three programs" {
    local program
    for program in selector-echo-server echo-swarm selector-bench; do
        run --separate-stderr "$BIN/$program" --help
        [ "$status" -eq 0 ]
        [[ "$output" == usage:* ]]
        [ -z "$stderr" ]
    done
    run "$BIN/selector-echo-server" --help
    [[ "$output" == *"--backend NAME"* ]]
}

# bad_args REASON PROGRAM ARGS...: fails with one line naming REASON.
bad_args() {
    local reason=$1 program=$2
    shift 2
    run --separate-stderr "$BIN/$program" "$@"
    [ "$status" -ne 0 ] || { echo "$* succeeded"; return 1; }
    [ -z "$output" ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || {
        echo "$stderr"
        return 1
    }
    [[ "$stderr" == *"$reason"* ]] || { echo "$stderr"; return 1; }
}

@test "bad arguments: one line on stderr and a non-zero exit" {
    bad_args "unknown backend 'kqueue'" selector-echo-server --backend kqueue
    bad_args "bad port '70000'" selector-echo-server -p 70000
    bad_args "bad port 'x'" selector-echo-server -p x
    bad_args "bad buffer size '0'" selector-echo-server -s 0
    bad_args "unknown option '--nope'" selector-echo-server --nope
    bad_args "unknown option '-z'" selector-echo-server -z
    bad_args "needs a value" selector-echo-server -p
    bad_args "unexpected argument 'extra'" selector-echo-server extra
    bad_args "bad value '0' for --connections" echo-swarm -c 0
    bad_args "bad value '-c' for --port" echo-swarm -p -c 5
    bad_args "unknown backend 'epol'" echo-swarm --backend epol
    bad_args "bad --idle list" selector-bench --idle 10,x
    bad_args "bad --time-ms" selector-bench --time-ms 1
}

@test "a port in use is a clear start-up error" {
    start_server selector-echo-server
    run --separate-stderr "$BIN/selector-echo-server" -p "$SERVER_PORT"
    [ "$status" -ne 0 ]
    [[ "$stderr" == *"cannot listen on 127.0.0.1:$SERVER_PORT: "* ]]
}

@test "the benchmark prints a table; select stops below FD_SETSIZE" {
    run --separate-stderr "$BIN/selector-bench" --idle 10,2000 --time-ms 20 \
        --data "$BATS_TEST_TMPDIR/bench.dat"
    [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
    [[ "${lines[0]}" == "| idle descriptors | select (µs) | poll (µs) |"* ]]
    [[ "${lines[2]}" =~ ^\|\ 10\ \|\ [0-9.]+\ \|\ [0-9.]+\ \| ]]
    [[ "${lines[3]}" == "| 2000 | n/a (descriptors above FD_SETSIZE) |"* ]]
    grep -Eq '^2000	-	[0-9.]+' "$BATS_TEST_TMPDIR/bench.dat"
}

@test "bench.sh writes the table (and the plot when gnuplot is there)" {
    run env NIO_BIN="$BIN" BENCH_OUT="$BATS_TEST_TMPDIR/bench" \
        sh "$NIO_ROOT/chapters/03-selector/bench.sh" --idle 10,100 \
        --time-ms 20
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    grep -q '^| 100 |' "$BATS_TEST_TMPDIR/bench/03-selector.md"
    if command -v gnuplot >/dev/null 2>&1; then
        [ -s "$BATS_TEST_TMPDIR/bench/03-selector.png" ]
    else
        [[ "$output" == *"gnuplot is not installed"* ]]
    fi
}

@test "the lesson shows the transcript as it is" {
    awk '/^<!-- output: tests\/expected\/03-selector.txt -->$/ { on = 1; next }
         on && /^```text$/ { inside = 1; next }
         inside && /^```$/ { exit }
         inside { print }' "$NIO_ROOT/chapters/03-selector/README.md" \
        >"$BATS_TEST_TMPDIR/lesson.txt"
    [ -s "$BATS_TEST_TMPDIR/lesson.txt" ]
    diff -u "$EXPECTED/03-selector.txt" "$BATS_TEST_TMPDIR/lesson.txt"
}

@test "make chapter-3 prints the expected transcript" {
    skip_select_server_under_tsan # the demo runs all three backends
    run --separate-stderr chapter_demo 3
    [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
    diff -u "$EXPECTED/03-selector.txt" <(printf '%s\n' "$output")
}
