#!/bin/sh
# demo.sh - what `make chapter-4` runs: the web server and client done
# right (framing, many clients on one thread), then the seed's handler
# (web-server --seed) losing message boundaries and showing stale bytes.
# NIO_BIN names the folder holding the chapter's programs. Ports, PIDs and
# timings vary from run to run, so none of them is printed.
set -eu
# shellcheck source=tools/demo-lib.sh
. "$(dirname "$0")/../../tools/demo-lib.sh"

echo "== web-server: one thread, one selector, a session per connection"
echo
start_server web-server
show_client web-client -n 3
show_client web-client -c 100 -n 100
echo "# The seed's way, 'hello' with no newline: no line, so no reply."
show_client web-client --no-framing -n 2
stop_server_and_show

echo
echo "== web-server --seed: the seed's handler, shared buffers, no framing"
echo
start_server web-server --seed
echo "# Two messages in one write are read as one: one reply for two."
show_client web-client --no-framing -n 2
echo "# One short message: the server prints stale bytes of the last one."
show_client web-client --no-framing -n 1
stop_server_and_show
