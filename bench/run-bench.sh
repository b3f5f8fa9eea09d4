#!/bin/sh
# run-bench.sh - the course's bottom line, measured side by side in one
# run on loopback: the chapter 7 server (httpd) against the best servers
# Debian packages - h2o, lighttpd and nginx - and against the floor
# (floor-server: a fixed answer, no parsing), with the same number of
# workers, driven by wrk; resident memory per idle keep-alive connection
# and per connection in the middle of a request head; the request
# parser's cost. Then each of the course's targets, met or missed by how
# much.
#
# `make bench` runs it after the chapters' own bench.sh, with NIO_BIN (the
# course's programs) and BENCH_OUT (the results folder). BENCH_BIN names
# the folder with floor-server and stress-client when it is not NIO_BIN.
# It writes BENCH_OUT/results.md (and results.png when gnuplot is
# installed) and prints the same table.
#
# Needs wrk (Debian: apt-get install wrk), and compares with h2o, lighttpd
# and nginx (apt-get install h2o lighttpd nginx-light), gnuplot for the
# plot; each part or server whose package is missing is skipped, with the
# package named in the results. Nothing is installed. With two CPUs or
# more, the servers run on the first half of them and wrk on the other
# (taskset), so that the client does not take the servers' CPU. About 4
# minutes with the defaults on 2 CPUs (one worker count; make bench's
# chapter benches add one):
#   BENCH_SECONDS=4    each wrk run
#   BENCH_ROUNDS=3     runs per server and case (the best is kept)
#   BENCH_CONNECTIONS=50  wrk's connections
#   BENCH_IDLE=10000   connections for the memory figures
#   BENCH_WORKERS      worker counts compared (default: 1, and the
#                      servers' CPU count too when it is 2 or more)
#   NGINX=/path/to/nginx  another nginx (NGINX= leaves nginx out); H2O
#                      and LIGHTTPD likewise
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${NIO_BIN:?NIO_BIN must name the folder with the programs}
out=${BENCH_OUT:?BENCH_OUT must name the folder for the results}
tools=${BENCH_BIN:-$bin}
seconds=${BENCH_SECONDS:-4}
rounds=${BENCH_ROUNDS:-3}
connections=${BENCH_CONNECTIONS:-50}
idle=${BENCH_IDLE:-10000}
mkdir -p "$out"
work=$(mktemp -d)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

cleanup() {
    stop_all
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { echo "$*" >&2; }
notes="$work/notes.md"
: >"$notes"
note() { echo "- $*" >>"$notes"; }

for program in "$bin/httpd" "$tools/floor-server" "$tools/stress-client"; do
    if [ ! -x "$program" ]; then
        say "run-bench: $program is not built (make bench builds it)"
        exit 1
    fi
done
have() { command -v "$1" >/dev/null 2>&1; }
# find_server NAME VARIABLE: the program NAME, or what VARIABLE (NGINX,
# H2O, LIGHTTPD) names; VARIABLE= (empty) leaves it out. Debian puts
# nginx and lighttpd in /usr/sbin, not on a user's PATH.
find_server() {
    if eval "[ -n \"\${$2+set}\" ]"; then
        eval "echo \"\$$2\""
    elif have "$1"; then
        command -v "$1"
    elif [ -x "/usr/sbin/$1" ]; then
        echo "/usr/sbin/$1"
    fi
}
nginx=$(find_server nginx NGINX)
h2o=$(find_server h2o H2O)
lighttpd=$(find_server lighttpd LIGHTTPD)
nginx_version=
[ -z "$nginx" ] || nginx_version=$("$nginx" -v 2>&1 | sed 's/^nginx version: //')
h2o_version=
[ -z "$h2o" ] || h2o_version=$("$h2o" --version 2>&1 | sed -n 's/^h2o version //p' | head -n 1)
lighttpd_version=
[ -z "$lighttpd" ] || lighttpd_version=$("$lighttpd" -v 2>&1 | sed -n 's/^lighttpd\/\([^ ]*\).*/\1/p' | head -n 1)
have_wrk=no
have wrk && have_wrk=yes
[ -n "$nginx" ] || note "nginx is not installed (Debian: apt-get install nginx-light), or NGINX is empty: no nginx figures."
[ -n "$h2o" ] || note "h2o is not installed (Debian: apt-get install h2o), or H2O is empty: no h2o figures."
[ -n "$lighttpd" ] || note "lighttpd is not installed (Debian: apt-get install lighttpd), or LIGHTTPD is empty: no lighttpd figures."
[ "$have_wrk" = yes ] || note "wrk is not installed (Debian: apt-get install wrk): no requests/s or latency figures."

# Servers on the first half of the CPUs, wrk on the other half: sharing
# one CPU, the client's work would be counted against the server's speed.
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
pin_server=
pin_client=
half=$((cpus / 2))
# span FIRST LAST: "3", or "0-3".
span() { if [ "$1" = "$2" ]; then echo "$1"; else echo "$1-$2"; fi; }
if [ "$cpus" -ge 2 ] && have taskset; then
    pin_server="taskset -c $(span 0 $((half - 1)))"
    pin_client="taskset -c $(span "$half" $((cpus - 1)))"
    pinning="servers pinned to CPU $(span 0 $((half - 1))), wrk to CPU $(span "$half" $((cpus - 1))) (taskset)"
    default_workers=1
    [ "$half" -ge 2 ] && default_workers="1 $half"
else
    pinning="client and servers share the CPUs (not pinned: $cpus CPU$([ "$cpus" -ge 2 ] || echo ", or no taskset"))"
    default_workers="1 2"
    [ "$cpus" -ge 2 ] && note "taskset is missing (Debian: util-linux): client and servers share the CPUs."
fi
worker_counts=${BENCH_WORKERS:-$default_workers}

# The files both servers serve. The folder is world-readable: nginx's
# workers run as an unprivileged user when the bench runs as root.
www="$work/www"
mkdir -p "$www"
chmod 755 "$work" "$www"
printf 'Hello, world!' >"$www/hello.txt"
head -c 65536 /dev/zero | tr '\0' 'x' >"$www/64k.bin"
chmod 644 "$www/hello.txt" "$www/64k.bin"

# --- the servers --------------------------------------------------------

# start_httpd_as NAME WORKERS [ARGS...]: sets httpd_port, or boss_port
# for NAME boss. start_httpd WORKERS [ARGS...]: the same, named httpd.
start_httpd() { start_httpd_as httpd "$@"; }
start_httpd_as() {
    name=$1
    w=$2
    shift 2
    # 10,000 idle connections need more descriptors than the usual 1,024.
    # shellcheck disable=SC2016,SC2086 # expanded by that shell; pin_*: taskset and its CPUs, or nothing
    launch "$name" $pin_server sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"' \
        sh "$bin/httpd" -p 0 --workers "$w" --access-log off --root "$www" \
        "$@"
    wait_listening "$name" || {
        say "run-bench: $name did not start: $(head -n 1 "$work/$name.err")"
        exit 1
    }
    case $name in
    boss) boss_port=$port ;;
    *) httpd_port=$port ;;
    esac
}

start_floor() {
    # shellcheck disable=SC2086 # pin_*: taskset and its CPUs, or nothing
    launch floor $pin_server "$tools/floor-server" -p 0 --workers "$1"
    wait_listening floor || {
        say "run-bench: floor-server did not start"
        exit 1
    }
    floor_port=$port
}

# start_nginx WORKERS: its own configuration in the temporary folder, in
# the foreground (daemon off), so that its PID is the one to stop. Sets
# nginx_port, or leaves it empty when nginx would not start.
start_nginx() {
    nginx_port=
    [ -n "$nginx" ] || return 0
    mkdir -p "$work/nginx"
    for attempt in 1 2 3; do
        p=$("$tools/stress-client" free-port)
        cat >"$work/nginx/nginx.conf" <<CONF
# Generated by bench/run-bench.sh; lives only as long as the run.
worker_processes $1;
worker_rlimit_nofile $((idle + idle / 8 + 1024));
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events {
    # nginx starts reusing idle connections when fewer than 1/16 are free.
    worker_connections $((idle + idle / 8 + 512));
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 120s;
    keepalive_requests 1000;
    default_type text/plain;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$p;
        root $www;
    }
}
CONF
        # shellcheck disable=SC2016,SC2086 # expanded by that shell; pin_*: taskset and its CPUs, or nothing
        launch nginx $pin_server sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"' \
            sh "$nginx" -e "$work/nginx/error.log" -p "$work/nginx" \
            -c "$work/nginx/nginx.conf" -g 'daemon off;'
        if wait_answering "$p" /hello.txt; then
            nginx_port=$p
            return 0
        fi
        stop nginx
        : "$attempt"
    done
    note "nginx did not start: $(head -n 2 "$work/nginx.err" | tr '\n' ' ')"
    nginx=
}

# Descriptors a peer may ask for: the hard limit, which root may not pass.
hard_fds() {
    # shellcheck disable=SC3045 # -H: not POSIX, but in dash, bash and busybox
    h=$(ulimit -Hn)
    [ "$h" = unlimited ] && h=$((idle * 3))
    echo "$h"
}

# start_h2o WORKERS: like start_nginx. h2o drops root for nobody before it
# opens anything but its configuration and its error log.
start_h2o() {
    h2o_port=
    [ -n "$h2o" ] || return 0
    mkdir -p "$work/h2o"
    for attempt in 1 2 3; do
        p=$("$tools/stress-client" free-port)
        cat >"$work/h2o/h2o.conf" <<CONF
# Generated by bench/run-bench.sh; lives only as long as the run.
listen:
  host: 127.0.0.1
  port: $p
num-threads: $1
max-connections: $((idle + idle / 8 + 512))
# idle keep-alive connections stay (h2o has no request limit per connection)
http1-request-timeout: 120
error-log: $work/h2o/error.log
$( [ "$(id -u)" -eq 0 ] && echo "user: nobody")
hosts:
  default:
    paths:
      /:
        file.dir: $www
CONF
        # shellcheck disable=SC2016,SC2086 # expanded by that shell; pin_*: taskset and its CPUs, or nothing
        launch h2o $pin_server sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"' \
            sh "$h2o" -c "$work/h2o/h2o.conf"
        if wait_answering "$p" /hello.txt; then
            h2o_port=$p
            return 0
        fi
        stop h2o
        : "$attempt"
    done
    note "h2o did not start: $(head -n 2 "$work/h2o.err" | tr '\n' ' ')"
    h2o=
}

# start_lighttpd WORKERS: in the foreground (-D), logging to stderr.
# Access logs are a module, and no module is loaded: static files are
# lighttpd's own. It allows at most half its descriptors as connections.
start_lighttpd() {
    lighttpd_port=
    [ -n "$lighttpd" ] || return 0
    mkdir -p "$work/lighttpd"
    fds=$(hard_fds)
    for attempt in 1 2 3; do
        p=$("$tools/stress-client" free-port)
        cat >"$work/lighttpd/lighttpd.conf" <<CONF
# Generated by bench/run-bench.sh; lives only as long as the run.
server.document-root = "$www"
server.bind = "127.0.0.1"
server.port = $p
server.modules = ()
server.max-worker = $([ "$1" -gt 1 ] && echo "$1" || echo 0)
server.max-fds = $fds
server.max-connections = $((fds / 2))
server.max-keep-alive-requests = 1000
server.max-keep-alive-idle = 120
server.max-read-idle = 120
mimetype.assign = (".txt" => "text/plain", ".bin" => "application/octet-stream")
$( [ "$(id -u)" -eq 0 ] && printf 'server.username = "nobody"\nserver.groupname = "%s"\n' "$(id -gn nobody 2>/dev/null || echo nogroup)")
CONF
        # shellcheck disable=SC2016,SC2086 # expanded by that shell; pin_*: taskset and its CPUs, or nothing
        launch lighttpd $pin_server sh -c 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"' \
            sh "$lighttpd" -D -f "$work/lighttpd/lighttpd.conf"
        if wait_answering "$p" /hello.txt; then
            lighttpd_port=$p
            return 0
        fi
        stop lighttpd
        : "$attempt"
    done
    note "lighttpd did not start: $(head -n 2 "$work/lighttpd.err" | tr '\n' ' ')"
    lighttpd=
}

# The peers: each started, or skipped when missing.
start_peers() {
    start_h2o "$1"
    start_lighttpd "$1"
    start_nginx "$1"
}
stop_peers() {
    [ -n "$h2o_port" ] && stop h2o
    [ -n "$lighttpd_port" ] && stop lighttpd
    [ -n "$nginx_port" ] && stop nginx
    :
}

# What httpd can serve: the files (chapter 7, part 2), or until then the
# 14-byte /hello from a handler in place of the 13-byte file.
start_httpd 1
"$tools/stress-client" get -p "$httpd_port" --path /hello.txt \
    >"$work/probe.out" 2>/dev/null || true
if [ "$(value status "$work/probe.out")" = 200 ] &&
    [ "$(value 'body bytes' "$work/probe.out")" = 13 ]; then
    httpd_small=/hello.txt
    httpd_big=/64k.bin
else
    httpd_small=/hello
    httpd_big=
    note "httpd does not serve files from --root yet: its 13-byte rows use /hello (a 14-byte answer from a handler), and it has no 64 KiB row."
fi
stop httpd

# --- requests per second: wrk -------------------------------------------

# wrk_run SERVER PORT PATH THREADS [HEADER]: one run; prints "rate p50
# p99 cpu" (requests/s, ms, ms, and the server's CPU microseconds per
# request) or "failed".
wrk_run() {
    server_pid=$(pid_of "$1")
    shift
    ticks0=$(cpu_ticks "$server_pid")
    if [ -n "${4:-}" ]; then
        # shellcheck disable=SC2086 # pin_*: taskset and its CPUs, or nothing
        $pin_client wrk -t"$3" -c"$connections" -d"${seconds}s" --latency -H "$4" \
            "http://127.0.0.1:$1$2" </dev/null >"$work/wrk.out" 2>&1 || true
    else
        # shellcheck disable=SC2086 # pin_*: taskset and its CPUs, or nothing
        $pin_client wrk -t"$3" -c"$connections" -d"${seconds}s" --latency \
            "http://127.0.0.1:$1$2" </dev/null >"$work/wrk.out" 2>&1 || true
    fi
    ticks=$(($(cpu_ticks "$server_pid") - ticks0))
    if grep -q -e 'Non-2xx' -e 'Socket errors' "$work/wrk.out"; then
        say "  wrk: $(grep -e 'Non-2xx' -e 'Socket errors' "$work/wrk.out" |
            tr '\n' ' ')"
    fi
    if grep -q 'Non-2xx' "$work/wrk.out" ||
        ! grep -q '^Requests/sec:' "$work/wrk.out"; then
        echo failed
        return
    fi
    awk -v ticks="$ticks" -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /s$/) return v * 1000
            return v
        }
        /^Requests\/sec:/ { rate = $2 }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /requests in/ { requests = $1 }
        END {
            cpu = requests > 0 ? ticks * 1e6 / hz / requests : 0
            printf "%.0f %.3f %.3f %.2f\n", rate, p50, p99, cpu
        }
    ' "$work/wrk.out"
}

# best SERVER CASE WORKERS FIGURES: keeps the run with the most requests/s
# in $work/best.SERVER.CASE.WORKERS (a busy machine only slows runs down).
best() {
    f="$work/best.$1.$2.$3"
    [ "$4" = failed ] && { [ -f "$f" ] || echo failed >"$f"; return; }
    if [ ! -f "$f" ] || [ "$(cut -d' ' -f1 "$f")" = failed ] ||
        [ "${4%% *}" -gt "$(cut -d' ' -f1 "$f")" ]; then
        echo "$4" >"$f"
    fi
}
figure() { cat "$work/best.$1.$2.$3" 2>/dev/null || echo "-"; }

# The cases: name, wrk header, httpd's path, nginx's path.
cases() {
    echo "keepalive||$httpd_small|/hello.txt"
    echo "close|Connection: close|$httpd_small|/hello.txt"
    [ -n "$httpd_big" ] && echo "64k||$httpd_big|/64k.bin"
    [ -n "$httpd_big" ] || echo "64k||-|/64k.bin"
}

if [ "$have_wrk" = yes ]; then
    for w in $worker_counts; do
        say "== $w worker(s): httpd, h2o, lighttpd, nginx and the floor, ${seconds} s per run, $rounds rounds; $pinning"
        start_httpd "$w"
        # chapter 6's design, for the case where it costs most
        start_httpd_as boss "$w" --accept boss
        start_floor "$w"
        start_peers "$w"
        threads=$w
        cases >"$work/cases"
        while IFS='|' read -r name header hpath npath; do
            # Every server gets a warm-up, then the servers take turns in
            # an A B B A order, so that a slow minute hits them all.
            servers=
            [ "$hpath" = - ] || servers=httpd
            [ -n "$h2o_port" ] && servers="$servers h2o"
            [ -n "$lighttpd_port" ] && servers="$servers lighttpd"
            [ -n "$nginx_port" ] && servers="$servers nginx"
            [ "$name" = keepalive ] && servers="$servers floor"
            [ "$name" = close ] && servers="$servers boss"
            [ -n "$servers" ] || continue
            reversed=$(echo "$servers" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
            round=0
            while [ "$round" -lt "$rounds" ]; do
                round=$((round + 1))
                order=$servers
                [ $((round % 2)) -eq 0 ] && order=$reversed
                for s in $order; do
                    case $s in
                    httpd) sport=$httpd_port path=$hpath ;;
                    nginx) sport=$nginx_port path=$npath ;;
                    h2o) sport=$h2o_port path=$npath ;;
                    lighttpd) sport=$lighttpd_port path=$npath ;;
                    floor) sport=$floor_port path=/ ;;
                    boss) sport=$boss_port path=$hpath ;;
                    esac
                    if [ "$round" -eq 1 ]; then
                        saved=$seconds
                        seconds=1
                        wrk_run "$s" "$sport" "$path" "$threads" "$header" >/dev/null
                        seconds=$saved
                    fi
                    r=$(wrk_run "$s" "$sport" "$path" "$threads" "$header")
                    say "  $name, $s, round $round: $r"
                    best "$s" "$name" "$w" "$r"
                done
            done
        done <"$work/cases"
        stop httpd
        stop boss
        stop floor
        stop_peers
    done
fi

# --- the ladder's client counts ------------------------------------------

# Chapter 6's bench (06-two-selectors.md) compares the course's servers at
# 10, 100 and 1,000 clients, each with one request in flight. httpd and
# nginx get the same treatment here, from stress-client's closed loop (HTTP
# instead of lines), with their default worker count.
ladder_clients=${LADDER_CLIENTS:-"10 100 1000"}
ladder_ms=${LADDER_MS:-2000}
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
say "== the ladder's client counts: $ladder_clients, ${ladder_ms} ms each"
start_httpd "$cores"
start_nginx "$cores"
for s in httpd nginx; do
    case $s in
    httpd) sport=$httpd_port path=$httpd_small ;;
    nginx) sport=$nginx_port path=/hello.txt ;;
    esac
    [ -n "$sport" ] || continue
    for c in $ladder_clients; do
        "$tools/stress-client" load -p "$sport" --path "$path" -c "$c" \
            -d "$ladder_ms" --warmup-ms 500 >"$work/ladder.out" 2>&1 || true
        rate=$(value 'requests/s' "$work/ladder.out")
        p99=$(value 'p99 us' "$work/ladder.out")
        errors=$(value errors "$work/ladder.out")
        if [ -z "$rate" ]; then
            cell="failed"
        else
            cell="$rate req/s, p99 $(awk -v u="$p99" 'BEGIN { printf "%.2f", u / 1000 }') ms"
            [ "${errors:-0}" -eq 0 ] || cell="$cell, $errors errors"
        fi
        echo "$cell" >"$work/ladder.$s.$c"
        say "  $s, $c clients: $cell"
    done
done
stop httpd
[ -n "$nginx_port" ] && stop nginx

# --- memory per connection ----------------------------------------------

# conn_memory NAME PORT PATH MODE: resident KiB of the server before and
# after IDLE connections are opened and held, MODE hold (one request each,
# then idle keep-alive) or partial (a request head sent but for its final
# empty line: a request in the middle of arriving). Echoes "bytes-per-
# connection held before-KiB after-KiB", or a reason.
conn_memory() {
    p=$(pid_of "$1")
    "$tools/stress-client" get -p "$2" --path "$3" >/dev/null 2>&1 || true
    before=$(rss_kib "$p")
    launch "$4" "$tools/stress-client" "$4" -p "$2" -c "$idle" --path "$3" \
        -t 60000 --hold-ms 120000
    tries=0
    until grep -q '^held: ' "$work/$4.out"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 3000 ] || ! kill -0 "$(pid_of "$4")" 2>/dev/null; then
            break
        fi
        sleep 0.02
    done
    # The server reads what was sent a moment later: the figure has
    # settled when it is the same twice, 200 ms apart (5 s at most).
    after=$(rss_kib "$p")
    tries=0
    while [ "$tries" -lt 25 ]; do
        sleep 0.2
        last=$after
        after=$(rss_kib "$p")
        [ "$after" = "$last" ] && break
        tries=$((tries + 1))
    done
    held=$(value held "$work/$4.out")
    stop "$4"
    if [ -z "$held" ] || [ "$held" -eq 0 ]; then
        echo "failed: $(head -n 1 "$work/$4.err")"
        return
    fi
    echo "$(((after - before) * 1024 / held)) $held $before $after"
}

# How many the client may open: its hard limit, less some slack.
# shellcheck disable=SC3045 # -H: not POSIX, but in dash, bash and busybox
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((idle + 64)) ]; then
    note "the descriptor limit ($hard) allows fewer connections than $idle: measured with $((hard - 64))."
    idle=$((hard - 64))
fi
say "== memory: $idle connections, idle keep-alive and in the middle of a head, 1 worker each"
for s in httpd h2o lighttpd nginx; do
    for mode in hold partial; do
        eval "mem_${s}_$mode=-"
        case $s in
        httpd)
            start_httpd 1 --keepalive-timeout 120000 --header-timeout 120000
            sport=$httpd_port path=$httpd_small
            ;;
        *)
            "start_$s" 1
            eval "sport=\$${s}_port"
            path=/hello.txt
            ;;
        esac
        [ -n "$sport" ] || continue
        m=$(conn_memory "$s" "$sport" "$path" "$mode")
        eval "mem_${s}_$mode=\$m"
        stop "$s"
        say "  $s, $mode: $m"
    done
done

# --- the parser ---------------------------------------------------------

parser_whole=
parser_bytes=
parser_size=
if [ -x "$bin/http-parser-bench" ]; then
    say "== the parser: http-parser-bench, best of 3"
    for run in 1 2 3; do
        "$bin/http-parser-bench" >"$work/parser.out"
        size=$(sed -n 's/^request: \([0-9]*\) bytes.*/\1/p' "$work/parser.out")
        whole=$(sed -n 's/^whole: *\([0-9]*\) ns.*/\1/p' "$work/parser.out")
        bytes=$(sed -n 's/^byte by byte: *\([0-9]*\) ns.*/\1/p' "$work/parser.out")
        parser_size=$size
        if [ -z "$parser_whole" ] || [ "$whole" -lt "$parser_whole" ]; then
            parser_whole=$whole
        fi
        if [ -z "$parser_bytes" ] || [ "$bytes" -lt "$parser_bytes" ]; then
            parser_bytes=$bytes
        fi
        : "$run"
    done
else
    note "http-parser-bench is not built: no parser figures."
fi

# --- the results --------------------------------------------------------

# ratio A B: A / B with two decimals, or "-".
ratio() {
    case "$1$2" in
    *-* | *failed*) echo "-" ;;
    *) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }' ;;
    esac
}
rate_of() { f=$(figure "$@"); echo "${f%% *}"; }
# plot_fields "RATE P50 P99" N: field N, or "?" when the run failed.
plot_fields() {
    echo "$1" | awk -v n="$2" '{ print NF == 4 ? $n : "?" }'
}

partial_bytes=$(value 'head bytes' "$work/partial.out" 2>/dev/null || true)
results="$work/results.md"
plotdata="$work/plot.dat"
: >"$plotdata"
peers="h2o lighttpd nginx"
# cell SERVER CASE W: "requests/s (CPU us per request)", or "-".
cell() {
    figure "$1" "$2" "$3" | awk '{ if (NF == 4) printf "%s (%s)", $1, $4; else print "-" }'
}
cpu_of() { figure "$@" | awk 'NF == 4 { print $4 }'; }
p99_of() { figure "$@" | awk 'NF == 4 { print $3 }'; }
label_of() {
    case $1 in
    keepalive) echo "13 B, keep-alive" ;;
    close) echo "13 B, Connection: close" ;;
    64k) echo "64 KiB, keep-alive" ;;
    esac
}
# best_peer CASE W rate|cpu: "NAME VALUE" of the best peer (most
# requests/s, or least CPU per request), or nothing.
best_peer() {
    for s in $peers; do
        f=$(figure "$s" "$1" "$2")
        echo "$s $f"
    done | awk -v by="$3" 'NF == 5 {
        v = by == "rate" ? $2 : $5
        if (best == "" || (by == "rate" ? v > bv : v < bv)) { best = $1; bv = v }
    } END { if (best != "") print best, bv }'
}
{
    echo "# nio-c: measured"
    echo
    echo "Machine: $(machine). Taken $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Loopback only; $pinning."
    echo
    if [ "$have_wrk" = yes ]; then
        echo "## httpd, h2o, lighttpd, nginx and the floor"
        echo
        echo "\`wrk -t W -c $connections -d ${seconds}s --latency\`, W = the"
        echo "servers' workers; the best of $rounds runs per cell, the servers"
        echo "taking turns in an order reversed every round, after a 1 s"
        echo "warm-up each. Each cell: requests/s, and in brackets the server's"
        echo "CPU per request in microseconds (its user + system time during"
        echo "the run, all threads and worker processes, divided by the"
        echo "requests wrk counted: the figure that still compares the servers"
        echo "when the client is the bottleneck). All serve the same files from"
        echo "configurations this script writes: loopback, W workers, access"
        echo "logs off, 1,000 requests per keep-alive connection (h2o has no"
        echo "such limit). h2o ${h2o_version:-(not installed)}: \`num-threads W\`,"
        echo "\`file.dir\`. lighttpd ${lighttpd_version:-(not installed)}: no modules,"
        echo "\`server.max-worker\` W (0 for one). nginx ${nginx_version:-(not installed)}:"
        echo "\`worker_processes W\`, sendfile and tcp_nopush on (as in Debian's"
        echo "nginx.conf). httpd: \`--workers W --access-log off --root DIR\`;"
        echo "boss: the same with \`--accept boss\` (chapter 6's hand-off). The"
        echo "floor: bench/floor-server, a fixed 13-byte answer to anything that"
        echo "ends with an empty line."
        echo
        echo "| case | workers | httpd | boss | h2o | lighttpd | nginx | floor |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
        for w in $worker_counts; do
            for c in keepalive close 64k; do
                echo "| $(label_of "$c") | $w | $(cell httpd "$c" "$w") | $(cell boss "$c" "$w") | $(cell h2o "$c" "$w") | $(cell lighttpd "$c" "$w") | $(cell nginx "$c" "$w") | $(cell floor "$c" "$w") |"
                # The plot's row: label, then rates and CPU per request of
                # httpd, h2o, lighttpd, nginx, floor ("?": none).
                row="\"$(label_of "$c"), $w w\""
                for s in httpd h2o lighttpd nginx floor; do
                    row="$row $(plot_fields "$(figure "$s" "$c" "$w")" 1)"
                done
                for s in httpd h2o lighttpd nginx floor; do
                    row="$row $(plot_fields "$(figure "$s" "$c" "$w")" 4)"
                done
                echo "$row" >>"$plotdata"
            done
        done
        echo
        echo "p50 / p99 latency, ms:"
        echo
        echo "| case | workers | httpd | h2o | lighttpd | nginx | floor |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        for w in $worker_counts; do
            for c in keepalive close 64k; do
                printf '| %s | %s |' "$(label_of "$c")" "$w"
                for s in httpd h2o lighttpd nginx floor; do
                    printf ' %s |' "$(figure "$s" "$c" "$w" | awk '{ if (NF == 4) printf "%s / %s", $2, $3; else print "-" }')"
                done
                printf '\n'
            done
        done
        echo
    fi
    echo "## The ladder's client counts"
    echo
    echo "Requests per second and p99 latency with one request in flight per"
    echo "connection (\`stress-client load -c C -d $ladder_ms --warmup-ms 500\`),"
    echo "$cores workers each: the HTTP rungs above chapter 6's ladder."
    echo
    printf '| server |'
    for c in $ladder_clients; do printf ' %s clients |' "$c"; done
    printf '\n|---|'
    for c in $ladder_clients; do printf -- '---:|'; done
    printf '\n'
    for s in httpd nginx; do
        [ -f "$work/ladder.$s.$(echo "$ladder_clients" | cut -d' ' -f1)" ] || continue
        printf '| %s |' "$s"
        for c in $ladder_clients; do printf ' %s |' "$(cat "$work/ladder.$s.$c")"; done
        printf '\n'
    done
    echo
    echo "## Memory per connection"
    echo
    echo "$idle connections opened by \`stress-client\`, 1 worker each: \`hold\`"
    echo "sends one request on each and keeps them open, idle; \`partial\` sends"
    echo "a ${partial_bytes:-84}-byte request head but for its final empty line, so"
    echo "that each is a request in the middle of arriving. Resident memory"
    echo "(VmRSS of the server and its child processes) before and once"
    echo "settled, divided by the connections held. The kernel's socket"
    echo "buffers are not in these figures (they are the same for every"
    echo "server)."
    echo
    echo "| server | idle keep-alive, bytes per connection | mid-head, bytes per connection | held (idle / mid-head) | RSS KiB before / held (idle; mid-head) |"
    echo "|---|---:|---:|---:|---:|"
    for s in httpd h2o lighttpd nginx; do
        mi=- mp=-
        eval "mi=\$mem_${s}_hold mp=\$mem_${s}_partial"
        if [ "$mi" = - ] && [ "$mp" = - ]; then
            echo "| $s | not measured | | | |"
            continue
        fi
        echo "| $s | $(echo "$mi" | awk '{ print NF == 4 ? $1 : $0 }') | $(echo "$mp" | awk '{ print NF == 4 ? $1 : $0 }') | $(echo "$mi" | awk '{ print NF == 4 ? $2 : "-" }') / $(echo "$mp" | awk '{ print NF == 4 ? $2 : "-" }') | $(echo "$mi" | awk '{ print NF == 4 ? $3 " / " $4 : "-" }'); $(echo "$mp" | awk '{ print NF == 4 ? $3 " / " $4 : "-" }') |"
    done
    echo
    if [ -n "$parser_whole" ]; then
        echo "## The request parser"
        echo
        echo "\`http-parser-bench\` (chapter 7), -O2, best of 3: a ${parser_size}-byte"
        echo "browser request."
        echo
        echo "| parsed | ns per request | ns per byte |"
        echo "|---|---:|---:|"
        echo "| whole, one call | $parser_whole | $(awk "BEGIN { printf \"%.2f\", $parser_whole / $parser_size }") |"
        echo "| one byte per call | $parser_bytes | $(awk "BEGIN { printf \"%.2f\", $parser_bytes / $parser_size }") |"
        echo
    fi

    # The targets: each met, or missed by how much.
    echo "## Targets"
    echo
    target() { # WHAT VALUE GOAL higher|lower UNIT
        if [ -z "$2" ] || [ "$2" = - ]; then
            echo "- $1: not measured"
            return
        fi
        awk -v what="$1" -v v="$2" -v goal="$3" -v dir="$4" -v unit="$5" 'BEGIN {
            met = dir == "higher" ? v >= goal : v <= goal
            if (met)
                printf "- %s: %s%s (goal %s %s%s): met\n", what, v, unit, dir == "higher" ? ">=" : "<=", goal, unit
            else
                printf "- %s: %s%s (goal %s %s%s): missed by %.1f %%\n", what, v, unit, dir == "higher" ? ">=" : "<=", goal, unit, 100 * (dir == "higher" ? (goal - v) / goal : (v - goal) / goal)
        }'
    }
    for w in $worker_counts; do
        for c in keepalive close 64k; do
            # First by requests/s: httpd's over the best peer's.
            # shellcheck disable=SC2046 # a name and a figure, meant to split
            set -- $(best_peer "$c" "$w" rate)
            if [ $# -eq 2 ]; then
                target "httpd first by requests/s, $(label_of "$c"), $w worker(s): httpd / best peer ($1)" \
                    "$(ratio "$(rate_of httpd "$c" "$w")" "$2")" 1.00 higher " x"
            fi
            # First by CPU per request: the best peer's over httpd's.
            # shellcheck disable=SC2046 # a name and a figure, meant to split
            set -- $(best_peer "$c" "$w" cpu)
            if [ $# -eq 2 ]; then
                target "httpd first by CPU per request, $(label_of "$c"), $w worker(s): best peer ($1) / httpd" \
                    "$(ratio "$2" "$(cpu_of httpd "$c" "$w")")" 1.00 higher " x"
            fi
        done
        target "httpd keep-alive CPU per request over the floor's, $w worker(s)" \
            "$(ratio "$(cpu_of httpd keepalive "$w")" "$(cpu_of floor keepalive "$w")")" 1.10 lower " x"
    done
    for mode in hold partial; do
        eval "m=\$mem_httpd_$mode"
        case $m in
        - | failed*) m=- ;;
        *) m=$(echo "$m" | cut -d' ' -f1) ;;
        esac
        case $mode in
        hold) target "httpd, resident memory per idle keep-alive connection" "$m" 397 lower " bytes" ;;
        partial) target "httpd, resident memory per connection in the middle of a small head" "$m" 2048 lower " bytes" ;;
        esac
    done
    target "parser, ${parser_size:-700}-byte request parsed whole" "${parser_whole:--}" 300 lower " ns"
    if [ -s "$notes" ]; then
        echo
        echo "## Notes"
        echo
        cat "$notes"
    fi
} >"$results"

cp "$results" "$out/results.md"
cat "$results"
echo
echo "(written to $out/results.md)"

if ! have gnuplot; then
    echo "(gnuplot is not installed (apt-get install gnuplot-nox): no plot; the table has the figures)"
elif [ ! -s "$plotdata" ]; then
    echo "(no requests/s figures: no plot)"
elif gnuplot <<PLOT 2>"$work/gnuplot.err"; then
set terminal pngcairo size 1400,600 noenhanced
set output '$out/results.png'
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
set xtics rotate by -25 left
set bmargin 8
set multiplot layout 1,2 title 'httpd, h2o, lighttpd, nginx and the floor, wrk -c $connections; $pinning'
set title 'requests per second (higher is better)'
set yrange [0:*]
plot '$plotdata' using 2:xtic(1) title 'httpd', '' using 3 title 'h2o', '' using 4 title 'lighttpd', '' using 5 title 'nginx', '' using 6 title 'floor'
set title 'server CPU per request, us (lower is better)'
plot '$plotdata' using 7:xtic(1) title 'httpd', '' using 8 title 'h2o', '' using 9 title 'lighttpd', '' using 10 title 'nginx', '' using 11 title 'floor'
unset multiplot
PLOT
    echo "(plot: $out/results.png)"
else
    echo "(gnuplot failed, no plot: $(head -n 1 "$work/gnuplot.err"))"
fi
