#!/bin/sh
# demo.sh - what `make chapter-5` runs: pool-server, the seed's design done
# right (the main thread accepts, a pool thread serves each connection until
# it closes). First clients that come and go, then a pool of two threads
# and a third client that waits until one of the first two leaves, then a
# stop with connections open. The order of events is fixed by the script,
# not by timing. NIO_BIN names the folder holding the programs. Ports, PIDs
# and timings vary from run to run, so none of them is printed.
set -eu

bin=${NIO_BIN:?NIO_BIN must name the folder with the programs}
work=$(mktemp -d)
server_pid=
client_pid=

cleanup() {
    for pid in $client_pid $server_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_for FILE PATTERN PID WHAT: polls FILE until a line matches (bounded).
wait_for() {
    tries=0
    until grep -q "$2" "$1"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 1000 ] || ! kill -0 "$3" 2>/dev/null; then
            grep -q "$2" "$1" && return 0
            echo "demo: $4" >&2
            cat "$work/server.err" >&2
            exit 1
        fi
        sleep 0.02
    done
}

# start_server ARGS...: pool-server on a free port; sets server_pid, port.
start_server() {
    : >"$work/server.out"
    "$bin/pool-server" -p 0 "$@" >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    wait_for "$work/server.out" '^listening on ' "$server_pid" \
        "pool-server did not start"
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
}

# stop_server: SIGTERM, wait, then show what the server printed (without
# the "listening on" line, whose port varies).
stop_server() {
    kill -TERM "$server_pid"
    status=0
    wait "$server_pid" || status=$?
    server_pid=
    echo "--- the server printed (exit status $status):"
    grep -v '^listening on ' "$work/server.out" || true
}

# web_client ARGS...: shows the command, its output, and a failing status.
web_client() {
    echo "\$ web-client $*"
    status=0
    "$bin/web-client" -p "$port" "$@" 2>&1 || status=$?
    [ "$status" -eq 0 ] || echo "(exit status $status)"
    echo
}

echo "== pool-server --threads 4: each connection is served by a thread"
echo
start_server --threads 4
echo "# Four clients, four threads: each connection has one to itself."
web_client -c 4 -n 100
echo "# Forty clients: four at a time; each one that leaves frees a thread."
web_client -c 40 -n 100
stop_server

echo
echo "== pool-server --threads 2: the third client waits for a thread"
echo
start_server --threads 2
echo "\$ script-client 'open 1' 'send 1 hello' 'expect 1' \\"
echo "                'open 2' 'send 2 hello' 'expect 2' \\"
echo "                'open 3' 'send 3 hello' 'quiet 3 500' \\"
echo "                'close 1' 'expect 3' 'close 2' 'close 3'"
"$bin/script-client" -p "$port" \
    'open 1' 'send 1 hello' 'expect 1' \
    'open 2' 'send 2 hello' 'expect 2' \
    'open 3' 'send 3 hello' 'quiet 3 500' \
    'close 1' 'expect 3' 'close 2' 'close 3' 2>&1 ||
    echo "(exit status $?)"
echo

echo "== stopping with three connections open: two served, one waiting"
echo
echo "\$ script-client 'open 4' 'send 4 hello' 'expect 4' \\"
echo "                'open 5' 'send 5 hello' 'expect 5' \\"
echo "                'open 6' 'send 6 hello' 'quiet 6 500' \\"
echo "                'eof 4' 'eof 5' 'eof 6' &"
: >"$work/client.out"
"$bin/script-client" -p "$port" \
    'open 4' 'send 4 hello' 'expect 4' \
    'open 5' 'send 5 hello' 'expect 5' \
    'open 6' 'send 6 hello' 'quiet 6 500' \
    'eof 4' 'eof 5' 'eof 6' >"$work/client.out" 2>&1 &
client_pid=$!
# SIGTERM only once client 6 is known to be waiting.
wait_for "$work/client.out" '^client 6: nothing' "$client_pid" \
    "script-client did not get as far as client 6"
echo "\$ kill -TERM <pool-server>"
stop_server
status=0
wait "$client_pid" || status=$?
client_pid=
echo "--- the client printed (exit status $status):"
cat "$work/client.out"
