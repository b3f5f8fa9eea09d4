#!/bin/sh
# measure-cost.sh [CLIENTS] [MESSAGES] - what a thread per connection costs.
#
# Runs the same load, web-client -c CLIENTS -n MESSAGES (every client
# busy at once), against three servers in turn:
#   pool-server --threads CLIENTS   one busy thread per client (this chapter)
#   pool-server --threads 100       the seed's pool size, same clients
#   web-server                      chapter 4: one thread, one selector
# and reads from /proc what each server used for it: threads, peak resident
# memory (VmHWM), address space (VmSize), context switches summed over
# every thread (/proc/PID/task/*/status), CPU time and wall time.
#
# Linux only (/proc). NIO_BIN names the folder with the programs (default
# build/bin); build them first with `make`. Defaults: 8 clients, 20000
# messages each.
set -eu

clients=${1:-8}
messages=${2:-20000}
NIO_BIN=${NIO_BIN:-build/bin}
# shellcheck source=tools/demo-lib.sh
. "$(dirname "$0")/../../tools/demo-lib.sh"

for p in pool-server web-server web-client; do
    [ -x "$bin/$p" ] || { echo "measure-cost: no $bin/$p; run make" >&2; exit 1; }
done
[ -r /proc/self/status ] || { echo "measure-cost: needs Linux /proc" >&2; exit 1; }

# status_field PID NAME: a field of /proc/PID/status, in kB for sizes.
status_field() {
    awk -v name="$2:" '$1 == name { print $2; exit }' "/proc/$1/status"
}

# switches PID: "VOLUNTARY NONVOLUNTARY", summed over the process's threads.
switches() {
    cat "/proc/$1"/task/*/status 2>/dev/null | awk '
        $1 == "voluntary_ctxt_switches:" { v += $2 }
        $1 == "nonvoluntary_ctxt_switches:" { n += $2 }
        END { print v + 0, n + 0 }'
}

# cpu_ticks PID: user + system time of the whole process, in clock ticks.
# The command name, field 2, may hold spaces: count from after its ")".
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

now_ms() {
    # GNU date has %N; elsewhere the wall time is only to the second.
    t=$(date +%s%N)
    case $t in
    *N) echo $(($(date +%s) * 1000)) ;;
    *) echo $((t / 1000000)) ;;
    esac
}

ticks_per_s=$(getconf CLK_TCK)

# measure LABEL PROGRAM ARGS...: one row of the table.
measure() {
    label=$1 program=$2
    shift 2
    start_server "$program" "$@"

    # shellcheck disable=SC2046 # two numbers, meant to split
    set -- $(switches "$server_pid")
    vol0=$1 invol0=$2
    cpu0=$(cpu_ticks "$server_pid")
    start=$(now_ms)
    "$bin/web-client" -p "$port" -c "$clients" -n "$messages" -t 600 \
        >"$work/client" 2>&1 || {
        echo "measure-cost: the load failed against $label:" >&2
        cat "$work/client" >&2
        exit 1
    }
    wall=$(($(now_ms) - start))
    cpu1=$(cpu_ticks "$server_pid")
    # shellcheck disable=SC2046
    set -- $(switches "$server_pid")
    vol=$(($1 - vol0)) invol=$(($2 - invol0))
    threads=$(status_field "$server_pid" Threads)
    hwm=$(status_field "$server_pid" VmHWM)
    size=$(status_field "$server_pid" VmSize)
    cpu=$(((cpu1 - cpu0) * 1000 / ticks_per_s))

    stop_server
    printf '%-28s %7s %9s kB %9s kB %10s %12s %7s %7s\n' "$label" \
        "$threads" "$hwm" "$size" "$vol" "$invol" "$cpu" "$wall"
}

echo "load: web-client -c $clients -n $messages ($clients clients busy at once)"
echo "machine: $(getconf _NPROCESSORS_ONLN) cores, $(uname -sr)"
echo
printf '%-28s %7s %12s %12s %10s %12s %7s %7s\n' server threads \
    "peak RSS" "address sp." "voluntary" "involuntary" "cpu ms" "wall ms"
measure "pool-server --threads $clients" pool-server --threads "$clients"
measure "pool-server --threads 100" pool-server --threads 100
measure "web-server (one selector)" web-server
echo
echo "context switches: summed over every thread, during the load only"
