#!/bin/sh
# demo.sh - what `make chapter-4` runs: the web server and client done
# right (framing, many clients on one thread), then the seed's handler
# (web-server --seed) losing message boundaries and showing stale bytes.
# NIO_BIN names the folder holding the chapter's programs. Ports, PIDs and
# timings vary from run to run, so none of them is printed.
set -eu

bin=${NIO_BIN:?NIO_BIN must name the folder with the programs}
work=$(mktemp -d)
server_pid=

cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_server ARGS...: web-server on a free port; sets server_pid, port.
start_server() {
    : >"$work/server.out"
    "$bin/web-server" -p 0 "$@" >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    tries=0
    until grep -q '^listening on ' "$work/server.out"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 500 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "demo: web-server did not start" >&2
            cat "$work/server.err" >&2
            exit 1
        fi
        sleep 0.02
    done
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

# client ARGS...: shows the command, its output, and a failing status.
client() {
    echo "\$ web-client $*"
    status=0
    "$bin/web-client" -p "$port" "$@" 2>&1 || status=$?
    [ "$status" -eq 0 ] || echo "(exit status $status)"
    echo
}

echo "== web-server: one thread, one selector, a session per connection"
echo
start_server
client -n 3
client -c 100 -n 100
echo "# The seed's way, 'hello' with no newline: no line, so no reply."
client --no-framing -n 2
stop_server

echo
echo "== web-server --seed: the seed's handler, shared buffers, no framing"
echo
start_server --seed
echo "# Two messages in one write are read as one: one reply for two."
client --no-framing -n 2
echo "# One short message: the server prints stale bytes of the last one."
client --no-framing -n 1
stop_server
