#!/bin/sh
# demo.sh - chapter 3's transcript: the same one-thread echo server on each
# backend, a hundred clients at once, then a client that reads slowly.
# Run by `make chapter-3` with NIO_BIN set; prints nothing that varies.
set -eu
# shellcheck source=tools/demo-lib.sh
. "$(dirname "$0")/../../tools/demo-lib.sh"

# stop: stops the server, then shows its own summary line.
stop() {
    stop_server
    summary=$(sed -n 's/^served/served/p' "$work/server.out")
    echo "server: $summary (exit $status)"
}

for backend in select poll epoll; do
    echo "== selector-echo-server --backend $backend: 100 clients at once"
    start_server selector-echo-server --backend "$backend"
    "$bin/echo-swarm" -p "$port" -c 100 -n 10 -s 100 2>/dev/null
    stop
    echo
done

echo "== a client that reads slowly: 10 MB echoed, 16 KiB buffers"
start_server selector-echo-server -v
"$bin/echo-swarm" -p "$port" -c 1 -n 1 -s 10485760 --read-rate 8000000 \
    --rcvbuf 16384 2>/dev/null
stop
# The verbose log shows each change of interest ops; "-> W" is the
# moment the server stopped reading from the client (backpressure).
if grep -q 'interest .* -> W$' "$work/server.err"; then
    echo "the server dropped OP_READ while its output was full: yes"
else
    echo "the server dropped OP_READ while its output was full: no"
fi
if grep -q 'interest W -> RW$' "$work/server.err"; then
    echo "and took OP_READ back once the client caught up: yes"
else
    echo "and took OP_READ back once the client caught up: no"
fi
