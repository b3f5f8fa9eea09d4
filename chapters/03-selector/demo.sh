#!/bin/sh
# demo.sh - chapter 3's transcript: the same one-thread echo server on each
# backend, a hundred clients at once, then a client that reads slowly.
# Run by `make chapter-3` with NIO_BIN set; prints nothing that varies.
set -eu

bin=${NIO_BIN:?NIO_BIN must name the folder of the built programs}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nio-03.XXXXXX")
pid=

cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start ARGS...: starts the server on a free port; sets pid and port.
start() {
    # Emptied here, not by the redirection below: that one happens in the
    # background, and the wait could see the previous server's line.
    : >"$tmp/out"
    "$bin/selector-echo-server" -p 0 "$@" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    tries=0
    until grep -q '^listening on ' "$tmp/out" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 500 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "the server did not start:" >&2
            cat "$tmp/err" >&2
            exit 1
        fi
        sleep 0.02
    done
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/out")
}

# stop: SIGTERM (SIGKILL after 10 s), then the server's own summary line.
stop() {
    kill -TERM "$pid"
    tries=0
    while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 500 ]; do
        tries=$((tries + 1))
        sleep 0.02
    done
    kill -KILL "$pid" 2>/dev/null || true
    status=0
    wait "$pid" || status=$?
    pid=
    echo "server: $(sed -n 's/^served/served/p' "$tmp/out") (exit $status)"
}

for backend in select poll epoll; do
    echo "== selector-echo-server --backend $backend: 100 clients at once"
    start --backend "$backend"
    "$bin/echo-swarm" -p "$port" -c 100 -n 10 -s 100 2>/dev/null
    stop
    echo
done

echo "== a client that reads slowly: 10 MB echoed, 16 KiB buffers"
start -v
"$bin/echo-swarm" -p "$port" -c 1 -n 1 -s 10485760 --read-rate 8000000 \
    --rcvbuf 16384 2>/dev/null
stop
# The verbose log shows each change of interest ops; "-> W" is the
# moment the server stopped reading from the client (backpressure).
if grep -q 'interest .* -> W$' "$tmp/err"; then
    echo "the server dropped OP_READ while its output was full: yes"
else
    echo "the server dropped OP_READ while its output was full: no"
fi
if grep -q 'interest W -> RW$' "$tmp/err"; then
    echo "and took OP_READ back once the client caught up: yes"
else
    echo "and took OP_READ back once the client caught up: no"
fi
