#!/bin/sh
# demo.sh - what `make chapter-6` runs: the boss/worker server with two
# worker loops serving a few clients, then a thousand connections at
# once, held open until the server is stopped (it closes them all); then
# how often an idle server wakes up, blocking in select versus polling the
# seed's way. Part 2: the article's Netty pair on the course's pipeline,
# then chapter 4's protocol served by a pipeline. NIO_BIN names the
# folder holding the programs. Ports, PIDs, timings, dates and exact
# wakeup counts vary from run to run, so none of them is printed.
set -eu
# shellcheck source=tools/demo-lib.sh
. "$(dirname "$0")/../../tools/demo-lib.sh"

# The per-loop summary without the wakeup counts, which vary.
summary() {
    server_output | sed -e 's/, [0-9]* selections$//'
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
start_server boss-worker-server --workers 2
echo
load -c 1 -n 2
load -c 10 -n 3
echo "\$ ladder-load -c 1000 -n 2 --hold   (1,000 connections at once)"
: >"$work/load.out"
"$bin/ladder-load" -p "$port" -c 1000 -n 2 --hold >"$work/load.out" \
    2>"$work/load.err" &
load_pid=$!
demo_pids=$load_pid
wait_for "$work/load.out" '^holding: ' "$load_pid"
grep -E '^(clients|connected|requests|errors|held|holding):' "$work/load.out"
echo
echo "Stopping the server while all 1,000 are still open:"
stop_server
load_status=0
wait "$load_pid" || load_status=$?
demo_pids=
grep '^closed by the server:' "$work/load.out"
echo "ladder-load exit status $load_status, server exit status $status;"
echo "the server printed:"
summary
echo

echo "An idle server for one second: how often does each loop wake up?"
for mode in blocking polling; do
    if [ "$mode" = blocking ]; then
        start_server boss-worker-server --workers 2
        label="blocking select, woken by tasks"
    else
        start_server boss-worker-server --workers 2 --poll-ms 1
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

echo
echo "Part 2: the pipeline. netty-server is the article's NettyServer: per"
echo "connection, line decoder -> string decoder -> a handler that prints."
start_server netty-server --workers 2
echo "\$ netty-client --interval-ms 100 --count 3"
"$bin/netty-client" -p "$port" --interval-ms 100 --count 3 |
    sed "s/:$port\$/:PORT/"
wait_for "$work/server.out" 'hello world!$' "$server_pid" 3
stop_server
echo "netty-server exit status $status; it printed (peer port and date"
echo "replaced):"
server_output | sed -e 's/^\[127\.0\.0\.1:[0-9]*\]/[127.0.0.1:PORT]/' \
    -e 's/\] .*: hello world!$/] <date>: hello world!/'
echo

echo "pipeline-server --workers 2: chapter 4's protocol again, as"
echo "line decoder -> string decoder -> line encoder -> business handler."
start_server pipeline-server --workers 2
echo
load -c 10 -n 3
stop_server
echo "pipeline-server exit status $status; it printed:"
server_output
