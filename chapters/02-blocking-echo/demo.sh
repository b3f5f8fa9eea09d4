#!/bin/sh
# demo.sh - what `make chapter-2` runs: the blocking echo server, first
# iterative and then with a thread per connection, driven by echo-client.
# It shows a second client waiting for the first, TCP's byte stream (one
# write read in two pieces, three writes read as one), a 10 MB message
# through a 64-byte buffer, two clients served at once, and a clean stop.
# Ports differ from run to run, so the server logs are shown with PORT.
# NIO_BIN names the folder holding the chapter's programs.
set -eu
# shellcheck source=tools/demo-lib.sh
. "$(dirname "$0")/../../tools/demo-lib.sh"

stop_and_report() {
    stop_server
    echo "server exited with status $status"
}

# The server's log without the numbers that change from run to run.
server_log() {
    sed -e 's/127\.0\.0\.1:[0-9][0-9]*/127.0.0.1:PORT/' "$work/server.out"
}

client() {
    "$bin/echo-client" -p "$port" "$@"
}

echo "== 1. An iterative server: echo-server --buffer-size 64 --trace"
start_server echo-server --buffer-size 64 --trace
echo
echo "\$ echo-client 'hello, blocking world'"
client 'hello, blocking world'
long="A TCP connection carries a stream of bytes; it keeps no trace of"
long="$long the writes that put them there....."
echo "\$ echo-client '<a line of ${#long} characters>'"
client "$long"

echo
echo "== 2. A second client waits until the first one leaves"
echo
mkfifo "$work/in1"
"$bin/echo-client" -p "$port" <"$work/in1" >"$work/c1.out" 2>&1 &
client1=$!
demo_pids=$client1
exec 4>"$work/in1"
echo "first line from client 1" >&4
wait_for "$work/c1.out" '^first line from client 1$' "$client1"
echo "client 1 connected, sent a line and got it back; it stays connected"
# 4>&- : client 2 must not hold client 1's input open.
"$bin/echo-client" -p "$port" --trace one two three \
    >"$work/c2.out" 2>"$work/c2.err" 4>&- &
client2=$!
demo_pids="$client1 $client2"
wait_for "$work/c2.err" '^sent ' "$client2" 3
echo "client 2 connected and sent one, two, three (three writes)"
echo "client 2 has received $(wc -c <"$work/c2.out" | tr -d ' ') bytes so far"
echo "second line from client 1" >&4
wait_for "$work/c1.out" '^second line from client 1$' "$client1"
echo "client 1 sent another line and got it back"
if grep -q '^connection 4 accepted' "$work/server.out"; then
    echo "the server has accepted client 2: yes"
else
    echo "the server has accepted client 2: not yet"
fi
echo "client 1 closes its input and leaves; client 2 gets its replies:"
exec 4>&-
wait "$client1"
wait "$client2"
demo_pids=
sed 's/^/  /' "$work/c2.out"

echo
echo "== 3. The server's log"
echo
stop_and_report
server_log
echo
echo "Connection 2: one write of 101 bytes came in as two reads (64 + 37)."
echo "Connection 4: three writes (4 + 4 + 6 bytes) came in as one read."
echo "Connection 4 was accepted only after connection 3 closed."

echo
echo "== 4. A thread per connection: echo-server --threads 2 --buffer-size 64"
start_server echo-server --threads 2 --buffer-size 64
echo
echo "\$ echo-client --size 10485760"
client --size 10485760
echo
mkfifo "$work/in2"
"$bin/echo-client" -p "$port" <"$work/in2" >"$work/c3.out" 2>&1 &
client3=$!
demo_pids=$client3
exec 5>"$work/in2"
echo "still here" >&5
wait_for "$work/c3.out" '^still here$' "$client3"
echo "client 1 connected, sent a line and got it back; it stays connected"
echo "\$ echo-client 'served at once'"
client 'served at once' 5>&-
echo "stopping the server while client 1 is still connected"
stop_and_report
exec 5>&-
status=0
wait "$client3" || status=$?
demo_pids=
echo "client 1 said: $(tail -n 1 "$work/c3.out") (status $status)"
echo
server_log
