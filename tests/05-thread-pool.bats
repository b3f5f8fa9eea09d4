#!/usr/bin/env bats
# Chapter 5: the fixed thread pool, and pool-server, the seed's
# thread-per-connection design on it. The unit test checks the pool's
# contract: every task runs once, both shutdowns, both full-queue policies,
# timed waits, and worker threads that leave signals to the main thread.
# The program tests show what the design does and where it breaks: P
# clients served at once, client P+1 answered only after one of the first
# P leaves (proved by the order of events, not by timings), a hand-off that
# needs no delay (and the seed's accept-in-the-task race, shown), the
# reject policy, and clean stops with connections open, even while the
# accept loop is blocked on a full queue.

load helpers
bats_require_minimum_version 1.5.0

CLIENT_PID=

teardown() {
    if [ -n "$CLIENT_PID" ]; then
        kill "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=
    fi
    stop_server
}

# stopped_line_is TEXT: the server's last stdout line, exactly.
stopped_line_is() {
    local got
    got=$(grep '^stopped after ' "$SERVER_OUT")
    [ "$got" = "$1" ] || {
        echo "want: $1"
        echo "got:  $got"
        return 1
    }
}

# line_of PATTERN: the number of the first line of the server's stderr
# matching the extended regex PATTERN (fails when there is none).
line_of() {
    local n
    n=$(grep -nE -m1 -- "$1" "$SERVER_ERR" | cut -d: -f1)
    [ -n "$n" ] || { echo "no line /$1/ in the server's log" >&2; return 1; }
    echo "$n"
}

# start_script STEP...: script-client in the background, output to
# $CLIENT_OUT; sets CLIENT_PID (stopped in teardown).
start_script() {
    CLIENT_OUT="$BATS_TEST_TMPDIR/client.out"
    : >"$CLIENT_OUT"
    "$BIN/script-client" -p "$SERVER_PORT" -t 60 "$@" >"$CLIENT_OUT" 2>&1 3>&- &
    CLIENT_PID=$!
}

# wait_script: waits for the background script-client; sets CLIENT_STATUS.
wait_script() {
    CLIENT_STATUS=0
    wait "$CLIENT_PID" || CLIENT_STATUS=$?
    CLIENT_PID=
}

@test "the thread pool keeps its contract (unit test)" {
    run_unit test_thread_pool
}

@test "pool-server and script-client have --help" {
    run "$BIN/pool-server" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: pool-server"* ]]
    [[ "$output" == *"--threads"* ]]
    [[ "$output" == *"--backend"* ]]
    run "$BIN/script-client" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"usage: script-client"* ]]
    [[ "$output" == *"'quiet N MS'"* ]]
}

@test "bad arguments are refused with a one-line reason" {
    local args
    for args in "-p 99999" "-t 0" "-t 1025" "-t x" "-q 0" "--policy drop" \
        "--backend nope" "-s 3" "-l loud" "extra" "--bogus"; do
        # shellcheck disable=SC2086 # the arguments are meant to split
        run "$BIN/pool-server" $args
        [ "$status" -ne 0 ] || { echo "pool-server $args: status 0"; return 1; }
        [ -n "$output" ]
    done
    run "$BIN/pool-server" -t 0
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "pool-server: bad thread count '0'"* ]]
    # No steps, a bad port, a bad timeout, steps that make no sense.
    run "$BIN/script-client"
    [ "$status" -ne 0 ]
    [[ "$output" == "script-client: no steps"* ]]
    run "$BIN/script-client" -p 0 'open 1'
    [ "$status" -ne 0 ]
    run "$BIN/script-client" -t 0 'open 1'
    [ "$status" -ne 0 ]
    local step
    for step in 'open' 'open 0' 'open 17' 'send 1 x' 'expect x'; do
        run "$BIN/script-client" -p 1 "$step"
        [ "$status" -eq 1 ] || { echo "'$step': status $status"; return 1; }
        [ "${#lines[@]}" -eq 1 ]
    done
    # A step is checked when its turn comes: a bad one ends the script.
    start_server pool-server
    run "$BIN/script-client" -p "$SERVER_PORT" 'open 1' 'frobnicate 1'
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "client 1: connected" ]
    [[ "${lines[1]}" == "script-client: bad step 'frobnicate 1'"* ]]
    stop_and_check
}

@test "the server listens, answers, and stops cleanly on SIGTERM and SIGINT" {
    local signal
    for signal in TERM INT; do
        start_server pool-server
        [[ "$SERVER_HOST" == 127.0.0.1 ]]
        run "$BIN/web-client" -p "$SERVER_PORT"
        [ "$status" -eq 0 ]
        summary_is 1 5 5 0
        stop_and_check "$signal"
        stopped_line_is \
            'stopped after 1 connections, 5 messages answered, 0 closed at the stop'
    done
}

@test "P concurrent clients against P threads all get exactly their replies" {
    start_server pool-server --threads 4
    run "$BIN/web-client" -p "$SERVER_PORT" -c 4 -n 100 -t 60
    [ "$status" -eq 0 ]
    summary_is 4 400 400 0
    # Eight times as many clients as threads: they take turns, and each
    # still gets every reply, no more.
    run "$BIN/web-client" -p "$SERVER_PORT" -c 32 -n 100 -t 60
    [ "$status" -eq 0 ]
    summary_is 32 3200 3200 0
    stop_and_check
    stopped_line_is \
        'stopped after 36 connections, 3600 messages answered, 0 closed at the stop'
}

@test "every backend serves the same, in the acceptor and in each task" {
    local backend backends="select poll epoll"
    # ThreadSanitizer does not treat select(2) as a blocking call, so it
    # holds a signal back until the select returns, which it never does:
    # under TSan a select-based server cannot be stopped by SIGTERM
    # (google/sanitizers#838). The select backend runs in the other builds.
    [ "${NIO_SAN:-}" != thread ] || backends="poll epoll"
    for backend in $backends; do
        start_server pool-server --threads 3 --backend "$backend"
        run "$BIN/web-client" -p "$SERVER_PORT" -c 3 -n 200 -t 60
        [ "$status" -eq 0 ] || { echo "$backend: $output"; return 1; }
        summary_is 3 600 600 0
        stop_and_check
    done
}

@test "pool exhaustion: with 2 threads, client 3 is answered only after client 1 leaves" {
    start_server pool-server --threads 2 --log-level info
    local reply c1 c2 c3
    exec {c1}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    ask "$c1"
    exec {c2}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    ask "$c2"

    # Client 3 connects and speaks. The server accepts it at once and
    # queues it: both threads are held by clients 1 and 2.
    exec {c3}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    printf 'hello\n' >&"$c3"
    wait_for_line "$SERVER_ERR" \
        'connection 3: handed to the pool, 2 of 2 threads busy, 1 waiting' 30
    # No thread will take it while 1 and 2 stay, however long we wait:
    # a bounded look, which can only fail if the server is wrong.
    if read -r -t 1 reply <&"$c3"; then
        echo "client 3 was answered while both threads were busy: '$reply'"
        return 1
    fi
    run ! grep -q 'connection 3: a thread took it' "$SERVER_ERR"
    # The busy threads are serving, not stuck: client 2 still gets answers.
    ask "$c2" 'again'

    # Client 1 leaves: its thread is free, takes client 3, answers it.
    exec {c1}>&-
    read -r -t 30 reply <&"$c3"
    [ "$reply" = received ]
    # The log shows the same order: 1 closed, then a thread took 3.
    [ "$(line_of 'connection 1: closed')" -lt \
        "$(line_of 'connection 3: a thread took it')" ]
    exec {c2}>&- {c3}>&-
    wait_for_line "$SERVER_ERR" 'connection 3: closed' 30
    stop_and_check
    stopped_line_is \
        'stopped after 3 connections, 4 messages answered, 0 closed at the stop'
}

@test "the hand-off needs no delay: 300 connections at once, each served once" {
    start_server pool-server --threads 4 --queue 16 --log-level info
    run "$BIN/web-client" -p "$SERVER_PORT" -c 300 -n 2 -t 120
    [ "$status" -eq 0 ]
    summary_is 300 600 600 0
    wait_for_line "$SERVER_ERR" 'connection 300: closed' 30
    # One task per connection, each taken by a thread exactly once: the
    # main thread accepted, the task got the channel itself.
    [ "$(grep -c ': handed to the pool,' "$SERVER_ERR")" -eq 300 ]
    [ "$(grep -c ': a thread took it$' "$SERVER_ERR")" -eq 300 ]
    [ "$(grep -c ': closed: every reply sent$' "$SERVER_ERR")" -eq 300 ]
    # With a queue of 16 the accept loop had to wait for threads, and did.
    grep -q 'the queue is full (16): the accept loop waits for a thread' \
        "$SERVER_ERR"
    run ! grep -q 'found no connection' "$SERVER_ERR"
    stop_and_check
    stopped_line_is \
        'stopped after 300 connections, 600 messages answered, 0 closed at the stop'
}

@test "the seed's way (--seed-accept): one connection becomes several tasks" {
    # The task accepts, so the main loop sees the listener still ready and
    # hands out more tasks for the same connection. With the only thread
    # held by client 1, client 2's connection keeps the listener ready:
    # tasks pile up until the queue is full, and all but one find nothing.
    start_server pool-server --seed-accept --threads 1 --queue 4 \
        --log-level info
    run "$BIN/script-client" -p "$SERVER_PORT" -t 60 \
        'open 1' 'send 1 hello' 'expect 1' \
        'open 2' 'send 2 hello' 'quiet 2 300' \
        'close 1' 'expect 2' 'close 2'
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    wait_for_line "$SERVER_ERR" 'a task found no connection to accept' 30
    wait_for_line "$SERVER_ERR" 'connection 2: closed' 30
    stop_and_check
    local line tasks empty
    line=$(grep '^stopped after ' "$SERVER_OUT")
    [[ "$line" == "stopped after 2 connections, 2 messages answered, 0 closed at the stop; "* ]]
    tasks=$(sed -n 's/.*; \([0-9]*\) tasks handed out.*/\1/p' <<<"$line")
    empty=$(sed -n 's/.*, \([0-9]*\) found nothing to accept$/\1/p' <<<"$line")
    echo "$line"
    [ "$tasks" -gt 2 ]
    [ "$empty" -ge 1 ]
}

@test "the reject policy closes a connection at once when the queue is full" {
    start_server pool-server --threads 1 --queue 1 --policy reject \
        --log-level info
    run "$BIN/script-client" -p "$SERVER_PORT" -t 60 \
        'open 1' 'send 1 hello' 'expect 1' \
        'open 2' 'send 2 hello' 'quiet 2 200' \
        'open 3' 'eof 3' \
        'close 1' 'expect 2' 'close 2'
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [ "${lines[6]}" = "client 3: connected" ]
    [ "${lines[7]}" = "client 3: closed by the server" ]
    [ "${lines[9]}" = 'client 2: got "received"' ]
    grep -q 'connection 3: refused: every thread is busy and the queue is full' \
        "$SERVER_ERR"
    wait_for_line "$SERVER_ERR" 'connection 2: closed' 30
    stop_and_check
    stopped_line_is \
        'stopped after 3 connections, 2 messages answered, 0 closed at the stop, 1 refused'
}

@test "clean stop with connections open: served ones and queued ones are closed" {
    start_server pool-server --threads 2 --log-level info
    start_script 'open 1' 'send 1 hello' 'expect 1' \
        'open 2' 'send 2 hello' 'expect 2' \
        'open 3' 'send 3 hello' 'quiet 3 200' \
        'eof 1' 'eof 2' 'eof 3'
    wait_for_line "$CLIENT_OUT" '^client 3: nothing for' 60 "$CLIENT_PID"
    stop_and_check TERM
    wait_script
    [ "$CLIENT_STATUS" -eq 0 ] || { cat "$CLIENT_OUT"; return 1; }
    grep -qx 'client 1: closed by the server' "$CLIENT_OUT"
    grep -qx 'client 2: closed by the server' "$CLIENT_OUT"
    grep -qx 'client 3: closed by the server' "$CLIENT_OUT"
    grep -q 'connection 1: closed: server stopping' "$SERVER_ERR"
    grep -q 'connection 2: closed: server stopping' "$SERVER_ERR"
    grep -q 'connection 3: closed: server stopping' "$SERVER_ERR"
    stopped_line_is \
        'stopped after 3 connections, 2 messages answered, 3 closed at the stop'
}

@test "clean stop while the accept loop is blocked on a full queue" {
    # One thread (client 1), a queue of one (client 2): handing client 3
    # over blocks the main thread inside submit. SIGINT must still stop
    # everything, since every task watches the stop pipe itself.
    start_server pool-server --threads 1 --queue 1 --log-level info
    start_script 'open 1' 'send 1 hello' 'expect 1' \
        'open 2' 'send 2 hello' 'open 3' 'send 3 hello' 'quiet 3 200' \
        'eof 1' 'eof 2' 'eof 3'
    wait_for_line "$CLIENT_OUT" '^client 3: nothing for' 60 "$CLIENT_PID"
    wait_for_line "$SERVER_ERR" \
        'the queue is full \(1\): the accept loop waits for a thread' 30
    stop_and_check INT
    wait_script
    [ "$CLIENT_STATUS" -eq 0 ] || { cat "$CLIENT_OUT"; return 1; }
    [ "$(grep -c ': closed by the server$' "$CLIENT_OUT")" -eq 3 ]
    stopped_line_is \
        'stopped after 3 connections, 1 messages answered, 3 closed at the stop'
}

@test "measure-cost.sh runs and reports both designs" {
    run env NIO_BIN="$BIN" sh "$NIO_ROOT/chapters/05-thread-pool/measure-cost.sh" 2 200
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    # Threads, then sizes and counts. A sanitizer may add a thread of its
    # own, so the exact counts are checked only in a plain build.
    local threads='[0-9]+ +[0-9]+ kB +[0-9]+ kB( +[0-9]+){4}$'
    grep -Eq "^pool-server --threads 2 +$threads" <<<"$output"
    grep -Eq "^pool-server --threads 100 +$threads" <<<"$output"
    grep -Eq "^web-server \(one selector\) +$threads" <<<"$output"
    if [ -z "${NIO_SAN:-}" ]; then
        grep -Eq '^pool-server --threads 2 +3 ' <<<"$output"
        grep -Eq '^pool-server --threads 100 +101 ' <<<"$output"
        grep -Eq '^web-server \(one selector\) +1 ' <<<"$output"
    fi
}

@test "make chapter-5 prints the expected transcript" {
    run --separate-stderr make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" \
        SAN="${NIO_SAN:-}" OPT="${NIO_OPT:--O2}" chapter-5
    [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
    diff -u "$EXPECTED/05-thread-pool.txt" <(printf '%s\n' "$output")
}
