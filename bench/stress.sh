#!/bin/sh
# stress.sh - what the internet does to a server, done to httpd on
# loopback: many keep-alive connections for a long time, slowloris, resets
# in the middle of requests and responses, clients that never read,
# running out of descriptors, and SIGTERM under load. Each check starts
# its own httpd on port 0, prints one PASS or FAIL line with its figures,
# and stops the server by its PID; the script fails when any check fails.
#
# `make stress` runs it with NIO_BIN (httpd) and BENCH_BIN (stress-client,
# when it is elsewhere). Linux only: it reads /proc. Bounded: about 75 s
# with the defaults.
#   STRESS_SECONDS=30       the keep-alive run
#   STRESS_CONNECTIONS=1000 connections for the keep-alive run and slowloris
#   STRESS_RSS_TOLERANCE_KIB=1024  resident memory may differ by this much
#   STRESS_ONLY="keepalive slowloris reset noread exhaust sigterm"
# Under a sanitizer (NIO_SAN set, as `make SAN=... stress` does) resident
# memory says nothing about leaks - the sanitizer's allocator keeps freed
# memory in quarantine - so the memory comparisons are skipped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${NIO_BIN:?NIO_BIN must name the folder with the programs}
tools=${BENCH_BIN:-$bin}
seconds=${STRESS_SECONDS:-30}
connections=${STRESS_CONNECTIONS:-1000}
# 2 MiB: room for the allocator's arenas to settle across three threads,
# yet a leak of one byte per request over the keep-alive run's ~3 million
# requests would exceed it.
rss_tolerance=${STRESS_RSS_TOLERANCE_KIB:-2048}
only=${STRESS_ONLY:-"keepalive slowloris reset noread exhaust sigterm"}
header_timeout=2000
send_timeout=1000
probe_limit_ms=100
work=$(mktemp -d)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

cleanup() {
    stop_all
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ ! -d /proc/self/fd ]; then
    echo "stress: needs Linux's /proc (open descriptors, memory, CPU time)" >&2
    exit 1
fi
for program in "$bin/httpd" "$tools/stress-client"; do
    ok=no
    if [ ! -x "$program" ]; then
        echo "stress: $program is not built (make stress builds it)" >&2
        exit 1
    fi
done
client="$tools/stress-client"
failures=0
# The client and the server each need a descriptor per connection.
# shellcheck disable=SC3045 # -H: not POSIX, but in dash, bash and busybox
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((connections + 64)) ]; then
    echo "NOTE: the descriptor limit is $hard: $((hard - 64)) connections instead of $connections"
    connections=$((hard - 64))
fi

# result PASS|FAIL NAME FIGURES
result() {
    echo "$1: $2: $3"
    [ "$1" = PASS ] || failures=$((failures + 1))
}

# sanitizer_report: the first line of one in httpd's stderr, if any.
sanitizer_report() {
    grep -m 1 -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' \
        -e 'runtime error:' -e 'WARNING: ThreadSanitizer' \
        "$work/httpd.err" 2>/dev/null || true
}

# verdict NAME FIGURES yes|no: stops httpd (SIGTERM), then PASS when the
# check held and the server exited 0 without a sanitizer report.
verdict() {
    stop_wait=15 stop httpd
    ok=$3
    f=$2
    if [ "$stop_status" != 0 ]; then
        f="$f; httpd exited $stop_status on SIGTERM"
        ok=no
    fi
    report=$(sanitizer_report)
    if [ -n "$report" ]; then
        f="$f; $report"
        ok=no
    fi
    if [ "$ok" = yes ]; then
        result PASS "$1" "$f"
    else
        result FAIL "$1" "$f"
    fi
}

# start_httpd [ARGS...]: a fresh server on port 0 (raising its descriptor
# limit to the hard one, for the 1,000 connections); sets port and server.
start_httpd() {
    # shellcheck disable=SC2016 # expanded by that shell, not this one
    launch httpd sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"' \
        sh "$bin/httpd" -p 0 --access-log off "$@"
    if ! wait_listening httpd; then
        echo "stress: httpd did not start: $(head -n 1 "$work/httpd.err")" >&2
        exit 1
    fi
    server=$(pid_of httpd)
}

# settle PID FDS: waits (10 s at most) until the server is back to FDS
# open descriptors, or fewer; prints what it has.
settle() {
    tries=0
    while [ "$(fd_count "$1")" -gt "$2" ] && [ "$tries" -lt 500 ]; do
        tries=$((tries + 1))
        sleep 0.02
    done
    fd_count "$1"
}

# alive: the server still answers a normal request.
alive() {
    "$client" get -p "$port" -t 2000 >"$work/get.out" 2>/dev/null &&
        [ "$(value status "$work/get.out")" = 200 ]
}

# within AFTER BEFORE: true when resident memory grew by no more than the
# tolerance (KiB): giving memory back is fine, keeping it is what leaks
# look like. Always true for a sanitized server, whose allocator keeps
# freed memory on purpose.
within() {
    sanitized && return 0
    [ $(($1 - $2)) -le "$rss_tolerance" ]
}

# figures FILE NAME...: "NAME=value" for each, on one line.
figures() {
    f=$1
    shift
    line=
    for n in "$@"; do
        line="$line${line:+, }$n $(value "$n" "$f")"
    done
    echo "$line"
}

sanitized() {
    [ -n "${NIO_SAN:-}" ] && return 0
    grep -q -e libasan -e libtsan -e libmsan "/proc/$server/maps" 2>/dev/null
}

# memory_note: what the memory figures are worth.
memory_note() {
    if sanitized; then
        echo "not compared: a sanitized server"
    else
        echo "tolerance $rss_tolerance"
    fi
}

wants() {
    case " $only " in *" $1 "*) return 0 ;; esac
    return 1
}

# --- 1. many keep-alive connections, for a long time --------------------
if wants keepalive; then
    # At most 100 requests per connection: each connection closes and comes
    # back about once a second, so that the warm-up already sees the churn
    # the run will see. (With the default 1,000, all the connections reach
    # it together some seconds in, and that first wave of closes raises the
    # high-water mark of the workers' free lists once: growth, not a leak.)
    start_httpd --max-requests 100
    # A warm-up first: the allocator's and the kernel's first growth is
    # not a leak. Then the measured run, and the same figures after it.
    "$client" load -p "$port" -c "$connections" -d 3000 >/dev/null 2>&1 || true
    base_fds=$(fd_count "$server")
    fds0=$(settle "$server" "$base_fds")
    rss0=$(rss_kib "$server")
    # Resident memory is also read halfway through. The allocator keeps
    # what it was given at the busiest moment so far (a high-water mark,
    # which may still step up once in a while): the check is that the
    # second half, as many requests and reconnects as the first, adds no
    # more than the tolerance. A leak grows with every request, in both.
    "$client" load -p "$port" -c "$connections" -d "$((seconds * 1000))" \
        -t 10000 >"$work/load.out" 2>"$work/load.err" &
    load_pid=$!
    half=$(($(now_ms) + seconds * 500))
    while [ "$(now_ms)" -lt "$half" ] && kill -0 "$load_pid" 2>/dev/null; do
        sleep 0.1
    done
    rss_half=$(rss_kib "$server")
    wait "$load_pid" || true
    fds1=$(settle "$server" "$fds0")
    rss1=$(rss_kib "$server")
    errors=$(value errors "$work/load.out")
    requests=$(value requests "$work/load.out")
    f="$connections connections for ${seconds} s: $(figures "$work/load.out" requests requests/s reconnects errors 'p99 us'); descriptors $fds0 -> $fds1; resident KiB $rss0 -> $rss_half (halfway) -> $rss1 ($(memory_note), second half)"
    if [ -n "$requests" ] && [ "$requests" -gt 0 ] && [ "$errors" = 0 ] &&
        [ "$fds1" -eq "$fds0" ] && within "$rss1" "$rss_half" && alive; then
        ok=yes
    fi
    [ "$ok" = yes ] || f="$f $(head -n 1 "$work/load.err")"
    verdict keepalive "$f" "$ok"
fi

# --- 2. slowloris -------------------------------------------------------
if wants slowloris; then
    start_httpd --header-timeout "$header_timeout"
    fds0=$(fd_count "$server")
    "$client" slowloris -p "$port" -c "$connections" --drip-ms 100 \
        --probe-ms 50 -d $((header_timeout + 3000)) -t 2000 \
        >"$work/slow.out" 2>"$work/slow.err" || true
    fds1=$(settle "$server" "$fds0")
    closed=$(value 'closed by the server' "$work/slow.out")
    after_min=$(value 'closed after first byte, min ms' "$work/slow.out")
    after_max=$(value 'closed after first byte, max ms' "$work/slow.out")
    failed=$(value 'probe failed' "$work/slow.out")
    probes=$(value 'probe requests' "$work/slow.out")
    max=$(value 'probe max ms' "$work/slow.out")
    f="$connections connections dripping a header byte every 100 ms: ${closed:-?} closed by the server after ${after_min:-?} to ${after_max:-?} ms (header deadline $header_timeout ms); normal client: ${probes:-0} requests, ${failed:-?} failed, slowest ${max:-?} ms (limit $probe_limit_ms); descriptors $fds0 -> $fds1"
    ok=no
    if [ "${closed:-0}" -eq "$connections" ] &&
        [ "${after_max%.*}" -le $((header_timeout + 1000)) ] &&
        [ "${failed:-1}" -eq 0 ] && [ "${probes:-0}" -gt 0 ] &&
        awk -v m="${max:-999999}" -v l="$probe_limit_ms" 'BEGIN { exit !(m <= l) }' &&
        [ "$fds1" -eq "$fds0" ]; then
        ok=yes
    fi
    verdict slowloris "$f" "$ok"
fi

# --- 3. resets in the middle of requests and of responses ---------------
if wants reset; then
    start_httpd
    base_fds=$(fd_count "$server")
    # The same rounds twice, measured the second time: the buffers the
    # first rounds leave in the workers' free lists are reused, not leaked.
    for mode in warm-up measured; do
        "$client" reset -p "$port" --mode request --path /echo \
            --body-bytes 100000 -c 100 --rounds 5 >"$work/reset1.out" 2>&1 ||
            true
        "$client" reset -p "$port" --mode response --path /echo \
            --body-bytes 524288 -c 50 --rounds 4 >"$work/reset2.out" 2>&1 ||
            true
        ok=no
    if [ "$mode" = warm-up ]; then
            fds0=$(settle "$server" "$base_fds")
            rss0=$(rss_kib "$server")
        fi
    done
    fds1=$(settle "$server" "$fds0")
    rss1=$(rss_kib "$server")
    mid_request=$(value 'reset in the middle of a request' "$work/reset1.out")
    mid_response=$(value 'reset in the middle of a response' "$work/reset2.out")
    f="${mid_request:-0} resets mid-request (half of a 100,000-byte body), ${mid_response:-0} mid-response (after the first KiB of a 512 KiB echo), after the same as a warm-up; descriptors $fds0 -> $fds1; resident KiB $rss0 -> $rss1 ($(memory_note))"
    if [ "${mid_request:-0}" -eq 500 ] && [ "${mid_response:-0}" -eq 200 ] &&
        [ "$fds1" -eq "$fds0" ] && within "$rss1" "$rss0" && alive; then
        ok=yes
    fi
    [ "$ok" = yes ] || f="$f $(head -n 1 "$work/reset1.out")"
    verdict reset "$f" "$ok"
fi

# --- 4. clients that never read -----------------------------------------
if wants noread; then
    start_httpd --send-timeout "$send_timeout"
    fds0=$(fd_count "$server")
    rss0=$(rss_kib "$server")
    started=$(now_ms)
    launch noread "$client" noread -p "$port" -c 100 -d 3000 --probe-ms 50 \
        -t 10000
    # The clients pipeline until the server stops taking requests, then
    # hold their connections without reading: the server must let them go
    # by itself, after the send timeout, and keep its memory bounded.
    # (The normal client's own connection may be open at any moment: the
    # figure kept is the sample that met the condition.)
    tries=0
    peak=$rss0
    fds1=$(fd_count "$server")
    until grep -q '^stuck: ' "$work/noread.out" && [ "$fds1" -le "$fds0" ]; do
        tries=$((tries + 1))
        [ "$tries" -gt 500 ] && break
        r=$(rss_kib "$server")
        [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.02
        fds1=$(fd_count "$server")
    done
    released_ms=$(($(now_ms) - started))
    holding=no
    kill -0 "$(pid_of noread)" 2>/dev/null && holding=yes
    stop_wait=15 stop noread TERM
    out="$work/noread.out"
    failed=$(value 'probe failed' "$out")
    probes=$(value 'probe requests' "$out")
    max=$(value 'probe max ms' "$out")
    f="100 connections pipelining $(value 'requests pipelined' "$out") requests, never reading: server descriptors $fds0 -> $fds1 ${released_ms} ms after they started, the clients still holding: $holding (send timeout $send_timeout ms); server resident KiB $rss0, at most $peak; normal client: ${probes:-0} requests, ${failed:-?} failed, slowest ${max:-?} ms (limit $probe_limit_ms)"
    ok=no
    if [ "$fds1" -le "$fds0" ] && [ "$holding" = yes ] &&
        [ "${failed:-1}" -eq 0 ] && [ "${probes:-0}" -gt 0 ] &&
        awk -v m="${max:-999999}" -v l="$probe_limit_ms" 'BEGIN { exit !(m <= l) }' &&
        alive; then
        ok=yes
    fi
    verdict noread "$f" "$ok"
fi

# --- 5. out of descriptors ----------------------------------------------
if wants exhaust; then
    limit=64
    # shellcheck disable=SC2016 # expanded by that shell, not this one
    launch httpd sh -c 'ulimit -n "$1" && shift && exec "$@"' sh "$limit" \
        "$bin/httpd" -p 0 --access-log off --workers 1 \
        --keepalive-timeout 60000
    ok=no
    if ! wait_listening httpd; then
        echo "stress: httpd did not start: $(head -n 1 "$work/httpd.err")" >&2
        exit 1
    fi
    server=$(pid_of httpd)
    "$client" exhaust -p "$port" --pid "$server" -c 100 -d 2000 -t 5000 \
        >"$work/exhaust.out" 2>"$work/exhaust.err" || true
    out="$work/exhaust.out"
    first=$(value 'answered before the limit' "$out")
    keeper=$(value 'keeper requests while out of descriptors' "$out")
    cpu=$(value 'server cpu ms while out of descriptors' "$out")
    later=$(value 'answered after descriptors freed' "$out")
    cpu_ms=${cpu%% *}
    kept=${keeper%% of*}
    asked=$(echo "$keeper" | sed -n 's/^[0-9]* of \([0-9]*\).*/\1/p')
    got=${later%% of*}
    waiting=$(value waiting "$out")
    warnings=$(grep -c 'accept' "$work/httpd.err" || true)
    f="limit $limit descriptors, 100 connections: ${first:-?} answered, ${waiting:-?} waiting; keeper connection ${keeper:-?}; server CPU ${cpu:-?} (limit 200 ms); after freeing: ${later:-?}; $warnings accept warnings logged"
    if [ -n "$first" ] && [ "$first" -lt 100 ] && [ -n "$kept" ] &&
        [ "$kept" = "$asked" ] && [ "${cpu_ms:-9999}" -le 200 ] &&
        [ -n "$got" ] && [ "$got" = "$waiting" ] && alive; then
        ok=yes
    fi
    [ "$ok" = yes ] || f="$f $(head -n 1 "$work/exhaust.err")"
    verdict exhaust "$f" "$ok"
fi

# --- 6. SIGTERM under load ----------------------------------------------
if wants sigterm; then
    start_httpd --pool-threads 32
    launch inflight "$client" inflight -p "$port" -c 100 --slow 32 \
        --warmup-ms 1000 --slow-path '/sleep?ms=1000' --stats-path /stats \
        -t 20000
    tries=0
    until grep -q '^in flight' "$work/inflight.out" || [ "$tries" -gt 1000 ]; do
        tries=$((tries + 1))
        sleep 0.02
    done
    stop_wait=15 stop httpd TERM
    status=$stop_status
    took=$stop_ms
    tries=0
    while kill -0 "$(pid_of inflight)" 2>/dev/null && [ "$tries" -lt 500 ]; do
        tries=$((tries + 1))
        sleep 0.02
    done
    stop inflight
    out="$work/inflight.out"
    slow=$(value 'slow answered' "$out")
    truncated=$(value 'truncated responses' "$out")
    bad=$(value 'bad status' "$out")
    errors=$(value errors "$out")
    open=$(value 'still open' "$out")
    f="SIGTERM with 32 one-second requests in flight and 100 connections loading: exit $status after $took ms; slow requests answered ${slow:-?}; load: $(value 'load responses' "$out") responses, ${truncated:-?} truncated, ${bad:-?} bad, ${errors:-?} errors, $(value 'closed before an answer (idle to the server)' "$out") closed while idle to the server; ${open:-?} left open"
    report=$(sanitizer_report)
    [ -z "$report" ] || f="$f; $report"
    if grep -q '^in flight: [0-9]*$' "$out" && [ "$status" = 0 ] &&
        [ "$slow" = "32 of 32" ] && [ "$truncated" = 0 ] && [ "$bad" = 0 ] &&
        [ "$errors" = 0 ] && [ "$open" = 0 ] && [ -z "$report" ]; then
        result PASS sigterm "$f"
    else
        result FAIL sigterm "$f"
    fi
fi

if [ "$failures" -gt 0 ]; then
    echo "stress: $failures check(s) failed"
    exit 1
fi
echo "stress: all checks passed"
