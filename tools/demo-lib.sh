# shellcheck shell=sh
# demo-lib.sh - what the chapters' demo.sh (and measuring) scripts share: a
# scratch folder removed at exit, a bounded wait for a line in a file, and a
# server started on a free port, then stopped by its PID. POSIX sh. A demo
# sources it with
#
#     . "$(dirname "$0")/../../tools/demo-lib.sh"
#
# and gets: bin (the programs, from NIO_BIN), work (the scratch folder),
# server_pid and port (set by start_server). A demo that starts other
# background processes adds their PIDs to demo_pids, so that they are ended
# at exit too, and removes them once it has waited for them.

bin=${NIO_BIN:?NIO_BIN must name the folder with the programs}
work=$(mktemp -d)
server_pid=
demo_pids=
port=

# At exit, even a failed one: end what is still running, by PID, and remove
# the scratch folder.
demo_cleanup() {
    for pid in $demo_pids $server_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap demo_cleanup EXIT
trap 'exit 1' INT TERM

# wait_for FILE REGEX [PID [COUNT]]: returns once FILE has COUNT (default 1)
# lines matching the extended REGEX. Bounded (about a minute); fails the
# demo, showing what the programs wrote to $work/*.err, when time runs out
# or when PID (if not empty) ends without printing the line.
wait_for() {
    demo_tries=0
    while :; do
        demo_found=$(grep -Ec -- "$2" "$1" 2>/dev/null) || demo_found=0
        [ "$demo_found" -lt "${4:-1}" ] || return 0
        demo_tries=$((demo_tries + 1))
        if [ "$demo_tries" -gt 3000 ] ||
            { [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; }; then
            demo_found=$(grep -Ec -- "$2" "$1" 2>/dev/null) || demo_found=0
            [ "$demo_found" -lt "${4:-1}" ] || return 0
            echo "demo: no line matching /$2/ in $(basename "$1")" >&2
            cat "$work"/*.err >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.02
    done
}

# listening_port FILE: the port of the "listening on HOST:PORT" line in FILE.
listening_port() {
    sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$1"
}

# start_server PROGRAM ARGS...: runs $bin/PROGRAM -p 0 ARGS in the
# background, stdout in $work/server.out and stderr in $work/server.err,
# and waits for its "listening on" line; sets server_pid and port.
start_server() {
    demo_program=$1
    shift
    # Emptied here, not by the redirection below: that one happens in the
    # background, and the wait could see the previous server's line.
    : >"$work/server.out"
    # 4>&- 5>&-: the server must not hold open a FIFO the demo writes to.
    "$bin/$demo_program" -p 0 "$@" >"$work/server.out" 2>"$work/server.err" \
        4>&- 5>&- &
    server_pid=$!
    wait_for "$work/server.out" '^listening on ' "$server_pid"
    port=$(listening_port "$work/server.out")
}

# stop_server: SIGTERM (SIGKILL if it is still there a minute later), then
# waits for the server; sets status to its exit status.
stop_server() {
    kill -TERM "$server_pid"
    demo_tries=0
    while kill -0 "$server_pid" 2>/dev/null && [ "$demo_tries" -lt 3000 ]; do
        demo_tries=$((demo_tries + 1))
        sleep 0.02
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    status=0
    wait "$server_pid" || status=$?
    server_pid=
}

# server_output: what the server printed, without its "listening on" line
# (the port in it varies).
server_output() {
    grep -v '^listening on ' "$work/server.out" || true
}

# stop_server_and_show: stop_server, then a line with its exit status and
# what it printed (but its "listening on" line).
stop_server_and_show() {
    stop_server
    echo "--- the server printed (exit status $status):"
    server_output
}

# show_client PROGRAM ARGS...: prints "$ PROGRAM ARGS", runs the client
# against the server's port, shows its output and a failing exit status.
show_client() {
    demo_program=$1
    shift
    echo "\$ $demo_program $*"
    status=0
    "$bin/$demo_program" -p "$port" "$@" 2>&1 || status=$?
    [ "$status" -eq 0 ] || echo "(exit status $status)"
    echo
}
