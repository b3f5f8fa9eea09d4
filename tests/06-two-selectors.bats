#!/usr/bin/env bats
# Chapter 6: the event loop (unit tests) and the boss/worker server: chapter
# 4's protocol, thousands of connections held at once, an even spread over
# the workers, an idle server that does not wake up (and the seed's polling
# that does), a clean shutdown with connections open, the transcript.

load helpers
bats_require_minimum_version 1.5.0

LOAD_PID=

teardown() {
    if [ -n "$LOAD_PID" ]; then
        kill "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
        LOAD_PID=
    fi
    stop_server
}

# load_run ARGS...: ladder-load against the server started by start_server.
load_run() {
    run "$BIN/ladder-load" -p "$SERVER_PORT" "$@" 3>&-
}

# field NAME: the value of "NAME: value" in $output.
field() {
    sed -n "s/^$1: //p" <<<"$output"
}

# The server's per-worker connection counts, one per line, after it stopped.
worker_connections() {
    sed -n 's/^worker [0-9]*: \([0-9]*\) connections.*/\1/p' "$SERVER_OUT"
}

# CPU time (user + system, in clock ticks) the process has used so far.
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# Each loop's wakeup count from the summary, one per line.
selections() {
    sed -n 's/.*, \([0-9]*\) selections$/\1/p' "$SERVER_OUT"
}

@test "unit: the timer heap orders deadlines and ties" {
    run_unit test_timer_heap
}

@test "unit: the latency histogram's percentiles" {
    run_unit test_histogram
}

@test "unit: event loop tasks (FIFO), timers (in order), shutdown, group" {
    run_unit test_event_loop
}

@test "unit: cross-thread register waits in Java; a posted task does not" {
    run_unit test_event_loop_register
}

@test "--help explains the options and exits 0" {
    run "$BIN/boss-worker-server" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--workers N"* ]]
    [[ "$output" == *"--poll-ms MS"* ]]
    [[ "$output" == *"--backend NAME"* ]]
    run "$BIN/ladder-load" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--clients C"* ]]
}

@test "bad options fail with one line on stderr" {
    run "$BIN/boss-worker-server" --workers 0
    [ "$status" -ne 0 ]
    [[ "$output" == *"bad worker count '0'"* ]]
    run "$BIN/boss-worker-server" --poll-ms x
    [ "$status" -ne 0 ]
    [[ "$output" == *"bad poll interval"* ]]
    run "$BIN/boss-worker-server" --backend kqueue
    [ "$status" -ne 0 ]
    [[ "$output" == *"bad backend"* ]]
    run "$BIN/ladder-load" -c 5
    [ "$status" -ne 0 ]
    [[ "$output" == *"which port?"* ]]
}

@test "it speaks chapter 4's protocol: each line gets \"received\"" {
    start_server boss-worker-server --workers 2
    exec 4<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
    printf 'hello\r\nworld\n' >&4
    local first second
    read -r -t 10 first <&4
    read -r -t 10 second <&4
    exec 4>&-
    [ "$first" = received ]
    [ "$second" = received ]
    stop_and_check
}

@test "every backend serves, and so does the polling mode" {
    local backend
    for backend in select poll epoll --poll-ms=5; do
        if [ "$backend" = --poll-ms=5 ]; then
            start_server boss-worker-server --workers 2 --poll-ms 5
        else
            start_server boss-worker-server --workers 2 --backend "$backend"
        fi
        load_run -c 20 -n 5 -t 30000
        [ "$status" -eq 0 ] || { echo "$backend: $output"; return 1; }
        [ "$(field requests)" -eq 100 ]
        stop_and_check
    done
}

@test "5,000 concurrent connections are held open and served" {
    local hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ "$hard" -lt 5100 ]; then
        skip "the hard limit on open files is $hard; 5,000 connections need 5,100 (raise it with ulimit -Hn)"
    fi
    start_server boss-worker-server --workers 2
    load_run -c 5000 -n 1 -t 90000
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [ "$(field connected)" -eq 5000 ]
    [ "$(field requests)" -eq 5000 ]
    [ "$(field errors)" -eq 0 ]
    # Not one closed before the last reply came: all 5,000 were open at once.
    [ "$(field held)" -eq 5000 ]
    stop_and_check
    grep -q '^boss: 5000 connections accepted' "$SERVER_OUT"
    # Each worker held its half at the same time.
    [ "$(grep -c '(2500 at once), 2500 messages' "$SERVER_OUT")" -eq 2 ]
}

@test "connections are spread evenly over the workers" {
    start_server boss-worker-server --workers 4
    load_run -c 400 -n 2 -t 30000
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    run worker_connections
    [ "${#lines[@]}" -eq 4 ]
    local n
    for n in "${lines[@]}"; do
        [ "$n" -eq 100 ] || { cat "$SERVER_OUT"; return 1; }
    done
}

@test "idle, the server uses no CPU; polling every 1 ms (the seed) does" {
    [ -r "/proc/$$/stat" ] || skip "no /proc to read CPU time from"
    local before idle polling loops n
    # Blocking select, woken only by tasks and I/O.
    start_server boss-worker-server --workers 8
    before=$(cpu_ticks "$SERVER_PID")
    sleep 2 # the idle time being measured
    idle=$(($(cpu_ticks "$SERVER_PID") - before))
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    run selections
    loops=${#lines[@]}
    [ "$loops" -eq 9 ]
    for n in "${lines[@]}"; do
        [ "$n" -le 10 ] || { cat "$SERVER_OUT"; return 1; }
    done
    # The seed's way: every loop wakes up every millisecond.
    start_server boss-worker-server --workers 8 --poll-ms 1
    before=$(cpu_ticks "$SERVER_PID")
    sleep 2
    polling=$(($(cpu_ticks "$SERVER_PID") - before))
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    run selections
    for n in "${lines[@]}"; do
        [ "$n" -ge 500 ] || { cat "$SERVER_OUT"; return 1; }
    done
    echo "CPU ticks over 2 s idle: blocking $idle, polling $polling" >&3
    [ "$idle" -le 5 ]
    [ "$polling" -gt "$idle" ]
}

@test "stopped with 300 connections open, it closes them all and exits 0" {
    start_server boss-worker-server --workers 3
    local out="$BATS_TEST_TMPDIR/load.out"
    : >"$out"
    "$BIN/ladder-load" -p "$SERVER_PORT" -c 300 -n 1 --hold -t 60000 \
        >"$out" 2>&1 3>&- &
    LOAD_PID=$!
    wait_for_line "$out" '^holding: 300$' 60 "$LOAD_PID"
    stop_and_check # under ASan: no leak, no use after free
    local load_status=0
    wait "$LOAD_PID" || load_status=$?
    LOAD_PID=
    [ "$load_status" -eq 0 ] || { cat "$out"; return 1; }
    grep -q '^closed by the server: 300$' "$out"
}

@test "stopped in the middle of a load, it exits 0 and clean" {
    start_server boss-worker-server --workers 2
    local out="$BATS_TEST_TMPDIR/load.out"
    "$BIN/ladder-load" -p "$SERVER_PORT" -c 200 -d 30000 >"$out" 2>&1 3>&- &
    LOAD_PID=$!
    # Wait until the server holds the connections (its descriptors show it).
    local deadline=$((SECONDS + 30))
    local fds=()
    until [ "${#fds[@]}" -ge 200 ]; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
        fds=("/proc/$SERVER_PID/fd/"*)
    done
    stop_and_check INT
    local load_status=0
    wait "$LOAD_PID" || load_status=$?
    LOAD_PID=
    # The load generator saw its connections closed under it.
    [ "$load_status" -ne 0 ]
}

@test "a line longer than the buffer closes that connection only" {
    start_server boss-worker-server --workers 1 --buffer-size 64
    exec 4<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
    printf '%0200d' 0 >&4
    # No reply line: read fails with 1 at end of stream or on a reset (the
    # server closed with our bytes unread); a timeout would be above 128.
    run read -r -t 10 reply <&4
    exec 4>&-
    [ "$status" -eq 1 ]
    load_run -c 5 -n 3
    [ "$status" -eq 0 ]
    stop_and_check
}

@test "select(2) cannot watch descriptors past FD_SETSIZE: those are refused" {
    local hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ "$hard" -lt 1300 ]; then
        skip "the hard limit on open files is $hard; this needs 1,300"
    fi
    start_server boss-worker-server --workers 1 --backend select
    load_run -c 1100 -n 1 -t 30000
    [ "$status" -ne 0 ]
    [ "$(field errors)" -gt 0 ]
    grep -q 'SELECTOR_FD_TOO_LARGE' "$SERVER_ERR"
    # The server lives on and serves the next client.
    load_run -c 5 -n 2
    [ "$status" -eq 0 ]
    stop_and_check
}

@test "make chapter-6's transcript matches tests/expected" {
    run env NIO_BIN="$BIN" sh "$NIO_ROOT/chapters/06-two-selectors/demo.sh"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    diff <(printf '%s\n' "$output") "$EXPECTED/06-two-selectors.txt"
}

# --- part 2: the pipeline ------------------------------------------------

# hello_lines: the lines netty-server printed for the article's message.
hello_lines() {
    grep -cE '^\[127\.0\.0\.1:[0-9]+\] [A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9:]{8} [A-Z+0-9-]+ [0-9]{4}: hello world!$' \
        "$SERVER_OUT" || true
}

# wait_for_lines N: waits (bounded) until netty-server has printed N hello
# lines: a client may exit before the server has read its last line.
wait_for_lines() {
    local deadline=$((SECONDS + NIO_START_TIMEOUT))
    until [ "$(hello_lines)" -ge "$1" ]; do
        [ "$SECONDS" -lt "$deadline" ] || {
            echo "only $(hello_lines) of $1 lines printed" >&2
            return 1
        }
        sleep 0.02
    done
}

@test "unit: pipeline order, pass on and stop, exceptions, state, codecs at every split" {
    run_unit test_pipeline
}

@test "the pipeline programs have --help and refuse bad options" {
    for program in pipeline-server netty-server netty-client; do
        run "$BIN/$program" --help
        [ "$status" -eq 0 ]
        [[ "$output" == *"--port PORT"* ]]
    done
    run "$BIN/netty-client" --help
    [[ "$output" == *"--interval-ms MS"* && "$output" == *"--count N"* ]]
    [[ "$output" == *"--host HOST"* ]]
    run "$BIN/netty-client" --count 0
    [ "$status" -ne 0 ]
    [[ "$output" == *"bad count '0'"* ]]
    run "$BIN/netty-server" --max-line x
    [ "$status" -ne 0 ]
    [[ "$output" == *"bad line length 'x'"* ]]
}

@test "the Netty pair: netty-client --count 5 is printed by netty-server, line by line" {
    start_server netty-server --workers 2
    run "$BIN/netty-client" -p "$SERVER_PORT" --interval-ms 20 --count 5 3>&-
    [ "$status" -eq 0 ]
    [ "$output" = "sent 5 messages to 127.0.0.1:$SERVER_PORT" ]
    wait_for_lines 5
    stop_and_check
    [ "$(hello_lines)" -eq 5 ]
    grep -qx 'stopped after 1 connections, 5 lines' "$SERVER_OUT"
}

@test "several netty-clients at once: each one's lines, all of them" {
    start_server netty-server --workers 2
    local pids=() i
    for i in 1 2 3 4 5 6; do
        "$BIN/netty-client" -p "$SERVER_PORT" -i 10 -n 8 \
            >"$BATS_TEST_TMPDIR/client.$i" 2>&1 3>&- &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}"
    done
    wait_for_lines 48
    stop_and_check
    [ "$(hello_lines)" -eq 48 ]
    # Six peers, eight lines each: no line lost or merged with another.
    [ "$(sed -n 's/^\[\(127.0.0.1:[0-9]*\)\] .*hello world!$/\1/p' \
        "$SERVER_OUT" | sort | uniq -c | awk '$1 == 8' | wc -l)" -eq 6 ]
}

@test "netty-client exits 1 with the reason when nobody listens" {
    start_server netty-server
    local port=$SERVER_PORT
    stop_and_check
    run "$BIN/netty-client" -p "$port" -n 1
    [ "$status" -eq 1 ]
    [[ "$output" == *"netty-client: connect: Connection refused"* ]]
}

@test "netty-client exits 1 when the server closes first" {
    start_server netty-server --max-line 8
    # A line too long for the server: it closes, the client notices.
    run "$BIN/netty-client" -p "$SERVER_PORT" -i 10 -n 1000 3>&-
    [ "$status" -eq 1 ]
    [[ "$output" == *"the server closed the connection"* ]]
    wait_for_line "$SERVER_OUT" 'closed: line longer than 8 bytes'
    stop_and_check
}

@test "a connection closing mid-line: the whole lines are printed, the part dropped, the server lives" {
    start_server netty-server
    local idle
    idle=$(server_fds)
    exec {conn}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    printf 'first whole\nsecond wh' >&"$conn"
    wait_for_line "$SERVER_OUT" '\] first whole$'
    printf 'ole\nthe third is cut' >&"$conn"
    wait_for_line "$SERVER_OUT" '\] second whole$'
    exec {conn}>&-
    wait_for_fds "$idle" # the server closed its side: no leak
    run "$BIN/netty-client" -p "$SERVER_PORT" -i 10 -n 2 3>&-
    [ "$status" -eq 0 ]
    wait_for_lines 2
    stop_and_check
    run ! grep -q 'cut' "$SERVER_OUT"
    grep -qx 'stopped after 2 connections, 4 lines' "$SERVER_OUT"
}

@test "pipeline-server answers chapter 4's protocol like boss-worker-server" {
    local program want=()
    for program in boss-worker-server pipeline-server; do
        start_server "$program" --workers 2
        run "$BIN/web-client" -p "$SERVER_PORT" -c 20 -n 50 3>&-
        [ "$status" -eq 0 ]
        summary_is 20 1000 1000 0
        # A line split over two writes, and two lines in one.
        exec {conn}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
        printf 'hel' >&"$conn"
        ask "$conn" lo
        printf 'one\r\ntwo\n' >&"$conn"
        local a b
        read -r -t 10 a <&"$conn"
        read -r -t 10 b <&"$conn"
        [ "$a $b" = "received received" ]
        exec {conn}>&-
        stop_and_check
    done
}

@test "pipeline-server: a line longer than the buffer closes that connection only" {
    start_server pipeline-server --buffer-size 64
    exec {good}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    ask "$good"
    exec {bad}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    # 200 bytes and a newline: an unbounded server would answer it.
    # (It may reset the connection before it all goes: that is fine.)
    printf '%0200d\n' 0 >&"$bad" || true
    local reply=
    read -r -t 10 reply <&"$bad" 2>/dev/null || true
    [ "$reply" != received ] # closed (a reset, or end of stream)
    exec {bad}>&-
    ask "$good"
    exec {good}>&-
    stop_and_check
}

@test "pipeline-server holds 1,000 connections and closes them all at the stop" {
    start_server pipeline-server --workers 2
    "$BIN/ladder-load" -p "$SERVER_PORT" -c 1000 -n 2 --hold \
        >"$BATS_TEST_TMPDIR/load.out" 2>&1 3>&- &
    LOAD_PID=$!
    wait_for_line "$BATS_TEST_TMPDIR/load.out" '^holding: 1000$' 60 "$LOAD_PID"
    stop_and_check
    wait "$LOAD_PID"
    LOAD_PID=
    grep -qx 'closed by the server: 1000' "$BATS_TEST_TMPDIR/load.out"
    grep -qx 'stopped after 1000 connections, 2000 messages answered' \
        "$SERVER_OUT"
}
