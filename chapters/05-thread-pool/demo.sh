#!/bin/sh
# demo.sh - what `make chapter-5` runs: pool-server, the seed's design done
# right (the main thread accepts, a pool thread serves each connection until
# it closes). First clients that come and go, then a pool of two threads
# and a third client that waits until one of the first two leaves, then a
# stop with connections open. The order of events is fixed by the script,
# not by timing. NIO_BIN names the folder holding the programs. Ports, PIDs
# and timings vary from run to run, so none of them is printed.
set -eu
# shellcheck source=tools/demo-lib.sh
. "$(dirname "$0")/../../tools/demo-lib.sh"

echo "== pool-server --threads 4: each connection is served by a thread"
echo
start_server pool-server --threads 4
echo "# Four clients, four threads: each connection has one to itself."
show_client web-client -c 4 -n 100
echo "# Forty clients: four at a time; each one that leaves frees a thread."
show_client web-client -c 40 -n 100
stop_server_and_show

echo
echo "== pool-server --threads 2: the third client waits for a thread"
echo
start_server pool-server --threads 2
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
demo_pids=$client_pid
# SIGTERM only once client 6 is known to be waiting.
wait_for "$work/client.out" '^client 6: nothing' "$client_pid"
echo "\$ kill -TERM <pool-server>"
stop_server_and_show
status=0
wait "$client_pid" || status=$?
demo_pids=
echo "--- the client printed (exit status $status):"
cat "$work/client.out"
