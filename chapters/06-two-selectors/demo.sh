#!/bin/sh
# demo.sh - what `make chapter-6` runs: the boss/worker server with two
# worker loops serving a few clients, then a thousand connections at
# once, held open until the server is stopped (it closes them all); then
# how often an idle server wakes up, blocking in select versus polling the
# seed's way. NIO_BIN names the folder holding the programs. Ports, PIDs,
# timings and exact wakeup counts vary from run to run, so none of them is
# printed.
set -eu

bin=${NIO_BIN:?NIO_BIN must name the folder with the programs}
work=$(mktemp -d)
server_pid=
load_pid=

cleanup() {
    for pid in $load_pid $server_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_for FILE PATTERN PID WHAT: polls (bounded) until FILE has a line
# matching PATTERN; fails when PID exits first.
wait_for() {
    tries=0
    until grep -q "$2" "$1"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 1500 ] || ! kill -0 "$3" 2>/dev/null; then
            grep -q "$2" "$1" && return 0
            echo "demo: $4 did not get there" >&2
            cat "$work"/*.err >&2 || true
            exit 1
        fi
        sleep 0.02
    done
}

# start_server ARGS...: boss-worker-server on a free port.
start_server() {
    : >"$work/server.out"
    "$bin/boss-worker-server" -p 0 "$@" >"$work/server.out" \
        2>"$work/server.err" &
    server_pid=$!
    wait_for "$work/server.out" '^listening on ' "$server_pid" "the server"
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
}

# stop_server: SIGTERM and wait; sets status.
stop_server() {
    kill -TERM "$server_pid"
    status=0
    wait "$server_pid" || status=$?
    server_pid=
}

# The per-loop summary without the wakeup counts, which vary.
summary() {
    grep -v '^listening on ' "$work/server.out" |
        sed -e 's/, [0-9]* selections$//'
}

# load ARGS...: shows the command and the lines of its output that do not
# vary (not the timings).
load() {
    echo "\$ ladder-load $*"
    if ! "$bin/ladder-load" -p "$port" "$@" >"$work/small.out" \
        2>"$work/small.err"; then
        cat "$work/small.err" >&2
        exit 1
    fi
    grep -E '^(clients|requests|errors):' "$work/small.out" |
        awk '{ printf "%s%s", sep, $0; sep = ", " } END { print "" }'
    echo
}

echo "boss-worker-server --workers 2: one boss loop accepts, two worker"
echo "loops serve; the boss hands connections to the workers in turn."
start_server --workers 2
echo
load -c 1 -n 2
load -c 10 -n 3
echo "\$ ladder-load -c 1000 -n 2 --hold   (1,000 connections at once)"
: >"$work/load.out"
"$bin/ladder-load" -p "$port" -c 1000 -n 2 --hold >"$work/load.out" \
    2>"$work/load.err" &
load_pid=$!
wait_for "$work/load.out" '^holding: ' "$load_pid" "ladder-load"
grep -E '^(clients|connected|requests|errors|held|holding):' "$work/load.out"
echo
echo "Stopping the server while all 1,000 are still open:"
stop_server
load_status=0
wait "$load_pid" || load_status=$?
load_pid=
grep '^closed by the server:' "$work/load.out"
echo "ladder-load exit status $load_status, server exit status $status;"
echo "the server printed:"
summary
echo

echo "An idle server for one second: how often does each loop wake up?"
for mode in blocking polling; do
    if [ "$mode" = blocking ]; then
        start_server --workers 2
        label="blocking select, woken by tasks"
    else
        start_server --workers 2 --poll-ms 1
        label="--poll-ms 1, the seed's select(1)"
    fi
    sleep 1 # the quiet second being measured
    stop_server
    most=$(sed -n 's/.*, \([0-9]*\) selections$/\1/p' "$work/server.out" |
        sort -n | tail -n 1)
    least=$(sed -n 's/.*, \([0-9]*\) selections$/\1/p' "$work/server.out" |
        sort -n | head -n 1)
    if [ "$most" -lt 10 ]; then
        verdict="fewer than 10 times each"
    elif [ "$least" -gt 200 ]; then
        verdict="hundreds of times each (more than 200)"
    else
        verdict="between 10 and 200 times"
    fi
    echo "  $label: the 3 loops woke up $verdict"
done
