#!/bin/sh
# bench.sh - the chapter ladder: requests per second and p99 latency of the
# servers of chapters 2, 3, 5 and 6 (boss/worker, and the same protocol
# served by a pipeline) at 10, 100 and 1,000 concurrent clients, all
# driven by one load generator (ladder-load) on loopback.
#
# Each cell: start the server on a free port, run ladder-load for a short
# warm-up and then LADDER_MS milliseconds (default 2000), stop the server.
# Every client sends a line and waits for the one-line reply before it
# sends again, so the figures compare the servers, not their pipelining.
#
# NIO_BIN names the folder with the programs, BENCH_OUT the folder for the
# results (06-two-selectors.md, and 06-two-selectors.png when gnuplot is
# installed). A server that is not built is skipped with the reason.
set -eu

bin=${NIO_BIN:?NIO_BIN must name the folder with the programs}
out=${BENCH_OUT:?BENCH_OUT must name the folder for the results}
measure_ms=${LADDER_MS:-2000}
warmup_ms=${LADDER_WARMUP_MS:-500}
clients_list=${LADDER_CLIENTS:-"10 100 1000"}
mkdir -p "$out"
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

if [ ! -x "$bin/ladder-load" ]; then
    echo "bench: $bin/ladder-load is not built (make all)" >&2
    exit 1
fi

# start_server PROGRAM ARGS...: on a free port; sets server_pid and port,
# or returns 1 when it does not start within 10 s.
start_server() {
    program=$1
    shift
    : >"$work/server.out"
    "$bin/$program" -p 0 "$@" </dev/null >"$work/server.out" \
        2>"$work/server.err" &
    server_pid=$!
    tries=0
    until grep -q '^listening on ' "$work/server.out"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 500 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            stop_server
            return 1
        fi
        sleep 0.02
    done
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
}

# stop_server: SIGTERM, up to 10 s to finish, then SIGKILL.
stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    tries=0
    while kill -0 "$server_pid" 2>/dev/null && [ "$tries" -lt 500 ]; do
        tries=$((tries + 1))
        sleep 0.02
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# value NAME FILE: the value of a "NAME: value" line.
value() {
    sed -n "s|^$1: ||p" "$2"
}


data="$work/ladder.dat"
table="$work/table.md"
: >"$data"
missing=""
{
    printf '| chapter: server |'
    for c in $clients_list; do printf ' %s clients |' "$c"; done
    printf '\n|---|'
    for c in $clients_list; do printf -- '---|'; done
    printf '\n'
} >"$table"

echo "The chapter ladder: ${measure_ms} ms per cell after ${warmup_ms} ms" \
    "of warm-up, one ladder-load on loopback." >&2
# The ladder's rungs: chapter, label, program, and its options for C
# clients (where C appears, the client count goes). Read from a here-
# document, not a pipe, so that the loop runs in this shell and the trap
# still knows which server to stop.
while IFS='|' read -r chapter short label program args; do
    row="| $chapter: \`$label\` |"
    plot_rate="\"$short\""
    plot_p99=""
    for c in $clients_list; do
        cell=""
        if [ ! -x "$bin/$program" ]; then
            cell="not built"
            case $missing in
            *"$program"*) ;;
            *) missing="$missing $program (chapter $chapter)" ;;
            esac
        else
            # shellcheck disable=SC2046 # the options are meant to split
            set -- $(echo "$args" | sed "s/C/$c/g")
            if ! start_server "$program" "$@"; then
                cell="did not start"
            else
                status=0
                "$bin/ladder-load" -p "$port" -c "$c" -d "$measure_ms" \
                    --warmup-ms "$warmup_ms" -t $((measure_ms + warmup_ms + 30000)) \
                    </dev/null >"$work/load.out" 2>"$work/load.err" ||
                    status=$?
                stop_server
                rate=$(value 'requests/s' "$work/load.out")
                p99=$(value 'p99 us' "$work/load.out")
                starved=$(value starved "$work/load.out")
                if [ -z "$rate" ]; then
                    cell="failed: $(head -n 1 "$work/load.err")"
                elif [ "${starved:-0}" -gt 0 ]; then
                    cell="stalls ($starved of $c never answered)"
                elif [ "$status" -ne 0 ]; then
                    cell="failed: $(head -n 1 "$work/load.err")"
                else
                    p99_ms=$(awk -v u="$p99" 'BEGIN { printf "%.2f", u / 1000 }')
                    cell="$rate req/s, p99 $p99_ms ms"
                    plot_rate="$plot_rate $rate"
                    plot_p99="$plot_p99 $p99_ms"
                fi
            fi
        fi
        case $cell in
        *req/s*) ;;
        *)
            plot_rate="$plot_rate ?"
            plot_p99="$plot_p99 ?"
            ;;
        esac
        echo "  chapter $chapter, $c clients: $cell" >&2
        row="$row $cell |"
    done
    echo "$row" >>"$table"
    echo "$plot_rate$plot_p99" >>"$data"
done <<'RUNGS'
2|2 thread per client|echo-server --threads C|echo-server|--threads C --backlog 1024
3|3 one selector|selector-echo-server|selector-echo-server|
5|5 pool of C|pool-server --threads C|pool-server|--threads C
5|5 pool of 4 (stalls)|pool-server --threads 4|pool-server|--threads 4
6|6 boss + 2 workers|boss-worker-server|boss-worker-server|
6|6 boss + 1 worker|boss-worker-server --workers 1|boss-worker-server|--workers 1
6|6 pipeline|pipeline-server|pipeline-server|
RUNGS

machine="$(nproc 2>/dev/null || echo '?') cores, $(uname -sr)"
if [ -r /etc/os-release ]; then
    machine="$machine, $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release)"
fi
{
    echo "# The chapter ladder"
    echo
    echo "Requests per second and p99 latency, one request in flight per"
    echo "client (send a line, wait for the reply line), measured by"
    echo "\`ladder-load -c C -d $measure_ms --warmup-ms $warmup_ms\` on"
    echo "loopback; server and load generator share the machine ($machine)."
    echo "\"stalls\": some clients never got an answer in the whole run."
    echo "echo-server and pool-server get one thread per client (C); a pool"
    echo "smaller than C stalls the rest (chapter 5)."
    echo "The boss/worker server has one worker loop per core by default"
    echo "(here $(nproc 2>/dev/null || echo '?')), plus the boss; so has"
    echo "pipeline-server, the same protocol through a pipeline of handlers."
    echo
    cat "$table"
    if [ -n "$missing" ]; then
        echo
        echo "Skipped, because not built yet:$missing. Build it (make all)"
        echo "and run make bench again: its row fills in."
    fi
} >"$out/06-two-selectors.md"
cat "$out/06-two-selectors.md"
echo
echo "(written to $out/06-two-selectors.md)"

if command -v gnuplot >/dev/null 2>&1; then
    cols=$(echo "$clients_list" | wc -w)
    plot_rates=""
    plot_p99s=""
    i=0
    for c in $clients_list; do
        i=$((i + 1))
        sep=${plot_rates:+, }
        plot_rates="$plot_rates$sep'$data' using $((i + 1)):xtic(1) title '$c clients'"
        plot_p99s="$plot_p99s$sep'$data' using $((i + 1 + cols)):xtic(1) title '$c clients'"
    done
    if gnuplot <<PLOT 2>"$work/gnuplot.err"; then
set terminal pngcairo size 1200,560 noenhanced
set output '$out/06-two-selectors.png'
set datafile missing '?'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key below horizontal
set grid ytics
set xtics rotate by -30 left
set bmargin 7
set multiplot layout 1,2 title 'The chapter ladder ($machine)'
set title 'requests per second (higher is better)'
set yrange [0:*]
plot $plot_rates
set title 'p99 latency, ms (lower is better; log scale)'
set logscale y
set yrange [0.01:*]
plot $plot_p99s
unset multiplot
PLOT
        echo "(plot: $out/06-two-selectors.png)"
    else
        echo "(gnuplot failed, no plot: $(head -n 1 "$work/gnuplot.err"))"
    fi
else
    echo "(gnuplot is not installed: no plot; the table above has the figures)"
fi
