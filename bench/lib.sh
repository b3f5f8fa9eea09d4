# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # sets and reads the caller's variables
# lib.sh - what run-bench.sh and stress.sh share: servers started in the
# background and stopped by their own process id, and the figures read
# from /proc (resident memory, open descriptors). Sourced, not run.
#
# The caller sets `work` (a temporary folder, removed by its trap) and
# calls stop_all from that trap. Each server has a NAME: its output goes to
# $work/NAME.out and $work/NAME.err, its process id to $work/NAME.pid.

# launch NAME COMMAND [ARGS...]: starts it in the background, stdin from
# /dev/null; sets `pid`.
launch() {
    name=$1
    shift
    : >"$work/$name.out"
    "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    echo "$pid" >"$work/$name.pid"
}

# pid_of NAME: the process id of a launched server (empty once stopped).
pid_of() {
    cat "$work/$1.pid" 2>/dev/null || true
}

# wait_listening NAME: waits (10 s at most) for its "listening on
# HOST:PORT" line; sets `port`, or returns 1 if it died or never said it.
wait_listening() {
    p=$(pid_of "$1")
    tries=0
    until grep -q '^listening on ' "$work/$1.out" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 500 ] || ! kill -0 "$p" 2>/dev/null; then
            return 1
        fi
        sleep 0.02
    done
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/$1.out")
}

# wait_answering PORT PATH: waits (10 s at most) until a request for PATH
# gets an answer, for a server that prints no "listening on" (nginx).
wait_answering() {
    tries=0
    until "$tools/stress-client" get -p "$1" --path "$2" -t 200 \
        >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -gt 100 ] && return 1
        sleep 0.1
    done
}

# stop NAME [SIGNAL]: sends SIGNAL (default TERM), waits up to `stop_wait`
# seconds (default 10), then KILL. Sets `stop_status` (its exit status)
# and `stop_ms` (how long it took to exit).
stop() {
    p=$(pid_of "$1")
    stop_status=
    stop_ms=0
    [ -n "$p" ] || return 0
    limit=$((${stop_wait:-10} * 50))
    started=$(now_ms)
    kill "-${2:-TERM}" "$p" 2>/dev/null || true
    tries=0
    while kill -0 "$p" 2>/dev/null && [ "$tries" -lt "$limit" ]; do
        # A zombie has exited: its parent (this shell) only has to reap it.
        state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
            "/proc/$p/status" 2>/dev/null)
        [ "$state" = Z ] && break
        tries=$((tries + 1))
        sleep 0.02
    done
    kill -KILL "$p" 2>/dev/null || true
    stop_status=0
    wait "$p" 2>/dev/null || stop_status=$?
    stop_ms=$(($(now_ms) - started))
    rm -f "$work/$1.pid"
}

# stop_all: every server still running (for the caller's trap).
stop_all() {
    for f in "$work"/*.pid; do
        [ -f "$f" ] || continue
        n=$(basename "$f" .pid)
        stop_wait=2 stop "$n"
    done
}

now_ms() {
    # %N is GNU date; elsewhere whole seconds are the best there is.
    t=$(date +%s%N 2>/dev/null)
    case $t in
    *N) echo $(($(date +%s) * 1000)) ;;
    *) echo $((t / 1000000)) ;;
    esac
}

# children PID: the processes whose parent is PID (nginx's workers).
children() {
    if [ -r "/proc/$1/task/$1/children" ]; then
        cat "/proc/$1/task/$1/children"
        return
    fi
    for s in /proc/[0-9]*/stat; do
        # Field 4 is the parent; the name before it may hold spaces.
        parent=$(sed 's/^.*) [A-Za-z] \([0-9]*\) .*$/\1/' "$s" 2>/dev/null) ||
            continue
        if [ "$parent" = "$1" ]; then
            s=${s#/proc/}
            echo "${s%/stat}"
        fi
    done
}

# rss_kib PID: resident memory in KiB of PID and its children together.
rss_kib() {
    total=0
    for p in "$1" $(children "$1"); do
        kib=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' \
            "/proc/$p/status" 2>/dev/null)
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}

# fd_count PID: its open descriptors.
fd_count() {
    find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l |
        tr -d ' '
}

# value NAME FILE: the value of a "NAME: value" line.
value() {
    sed -n "s|^$1: ||p" "$2" | head -n 1
}

# machine: one line naming the machine, for the results.
machine() {
    m="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') cores"
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null |
        head -n 1)
    [ -n "$model" ] && m="$m ($model)"
    m="$m, $(uname -sr)"
    if [ -r /etc/os-release ]; then
        m="$m, $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release)"
    fi
    echo "$m"
}

# cpu_ticks PID: the CPU time (user + system, in clock ticks) used so far
# by PID, all its threads, and its children (nginx's workers).
cpu_ticks() {
    total=0
    for p in "$1" $(children "$1"); do
        # Fields 14 and 15, counted after the name, which may hold spaces.
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null |
            awk '{ print $12 + $13 }')
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
