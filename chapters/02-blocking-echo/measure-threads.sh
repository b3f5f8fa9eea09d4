#!/usr/bin/env bash
# measure-threads.sh [N] - what N idle connections cost a server with a
# thread per connection (default N = 1000).
#
# Starts `echo-server --threads N`, reads /proc/PID/status (VmSize: the
# virtual memory reserved, VmRSS: the memory really in use, Threads), opens
# N connections that send nothing, waits until the server runs N session
# threads, and reads the figures again. Also reads KernelStack from
# /proc/meminfo: each thread has a kernel stack that VmRSS does not count
# (it is machine-wide, so other programs starting threads meanwhile blur
# it). Then the same with `ulimit -s 256`, which makes each thread's stack
# reservation 256 KiB instead of the default 8 MiB.
#
# Linux only (/proc). Run from the top of the checkout after `make`:
#     bash chapters/02-blocking-echo/measure-threads.sh [N]
# NIO_BIN may name another folder holding echo-server.
set -euo pipefail

n=${1:-1000}
here=$(cd "$(dirname "$0")" && pwd)
bin=${NIO_BIN:-$here/../../build/bin}
[ -x "$bin/echo-server" ] || {
    echo "measure-threads: no $bin/echo-server; run make first" >&2
    exit 1
}
# The server and this shell each hold N sockets.
ulimit -n $((n * 2 + 64)) 2>/dev/null || {
    echo "measure-threads: cannot open $((n * 2 + 64)) files (ulimit -n)" >&2
    exit 1
}

work=$(mktemp -d)
pid=
fds=()
cleanup() {
    local fd
    for fd in "${fds[@]}"; do
        exec {fd}>&-
    done
    fds=()
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
}
trap 'cleanup; rm -rf "$work"' EXIT

field() { # FILE NAME -> the number after "NAME:"
    awk -v key="$2:" '$1 == key { print $2 }' "$1"
}

wait_until() { # SECONDS COMMAND... (polls, bounded)
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "measure-threads: timed out waiting for: $*" >&2
            exit 1
        fi
        sleep 0.05
    done
}

threads_are() { [ "$(field "/proc/$pid/status" Threads)" -eq "$1" ]; }

# measure STACK_LIMIT_KB ("" for the default)
measure() {
    local stack=$1
    (
        [ -z "$stack" ] || ulimit -s "$stack"
        exec "$bin/echo-server" -p 0 --threads "$n" >"$work/out" 2>"$work/err"
    ) &
    pid=$!
    wait_until 10 grep -q '^listening on ' "$work/out"
    local port
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/out")
    local size0 rss0 ks0
    size0=$(field "/proc/$pid/status" VmSize)
    rss0=$(field "/proc/$pid/status" VmRSS)
    ks0=$(field /proc/meminfo KernelStack)

    local i fd
    for ((i = 0; i < n; i++)); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$port"
        fds+=("$fd")
    done
    # main + stop watcher + one thread per connection
    wait_until 60 threads_are $((n + 2))

    local size1 rss1 ks1
    size1=$(field "/proc/$pid/status" VmSize)
    rss1=$(field "/proc/$pid/status" VmRSS)
    ks1=$(field /proc/meminfo KernelStack)
    local label=${stack:+$stack KiB}
    label=${label:-default ($(ulimit -s) KiB)}
    printf '%-20s %10s %10s %12s %12s %12s\n' "$label" \
        "$((size1 - size0)) kB" "$((rss1 - rss0)) kB" \
        "$(((size1 - size0) / n)) kB" "$(((rss1 - rss0) / n)) kB" \
        "$(((ks1 - ks0) / n)) kB"
    cleanup
}

echo "$n idle connections on echo-server --threads $n ($(uname -sr)," \
    "$(nproc) cores)"
echo
printf '%-20s %10s %10s %12s %12s %12s\n' "thread stack limit" "+VmSize" \
    "+VmRSS" "VmSize/conn" "VmRSS/conn" "kstack/conn"
measure ""
measure 256
