# shellcheck shell=bash disable=SC2154 # status and output come from bats's run
# helpers.bash - what every test file shares. Load it with `load helpers`.
#
# Paths:   NIO_ROOT (the checkout), NIO_BUILD (the build folder, set by make),
#          BIN (programs), UNIT (unit-test programs), EXPECTED (transcripts).
# Servers: start_server PROGRAM [ARGS...] runs PROGRAM -p 0 ARGS in the
#          background, waits (bounded) for its "listening on HOST:PORT" line
#          and sets SERVER_PID, SERVER_HOST, SERVER_PORT, SERVER_OUT and
#          SERVER_ERR. stop_server stops it by that PID and waits for it;
#          call it from teardown. Never by name. stop_and_check also
#          wants exit status 0 and a clean stderr.
# Shared checks: server_fds, wait_for_fds, server_kib (the server's /proc
#          figures), summary_is (web-client's summary), ask (one line and
#          its "received" over a /dev/tcp descriptor).

NIO_ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
NIO_BUILD="${NIO_BUILD:-$NIO_ROOT/build}"
BIN="$NIO_BUILD/bin"
UNIT="$NIO_BUILD/tests"
EXPECTED="$NIO_ROOT/tests/expected"
export NIO_ROOT NIO_BUILD BIN UNIT EXPECTED

# Build once: make test has built everything already (NIO_BUILT=1); a bats
# file run by hand builds what is missing first.
if [ -z "${NIO_BUILT:-}" ]; then
    make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" all >&2 || return 1
    export NIO_BUILT=1
fi

# Under a sanitizer, any report fails the program that made it.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadly_signal=1}"

# How long a server may take to start, and to stop, in seconds. Sanitized
# builds are slower; the bound is generous because it is only ever reached
# when something is wrong.
NIO_START_TIMEOUT="${NIO_START_TIMEOUT:-10}"
NIO_STOP_TIMEOUT="${NIO_STOP_TIMEOUT:-10}"

# run_unit NAME: runs a TAP unit test and fails unless every check passed.
run_unit() {
    run "$UNIT/$1"
    if [ "$status" -ne 0 ] || grep -q '^not ok' <<<"$output" ||
        ! grep -q '^1\.\.[1-9]' <<<"$output"; then
        printf '%s\n' "$output" | grep -v '^ok ' >&3
        return 1
    fi
}

# wait_for_line FILE PATTERN [SECONDS] [PID]: waits until FILE has a line
# matching the extended regex PATTERN. Fails when time runs out, or at once
# when PID (if given) has exited without printing it.
wait_for_line() {
    local file=$1 pattern=$2 limit=${3:-$NIO_START_TIMEOUT} pid=${4:-}
    local deadline=$((SECONDS + limit))
    until grep -Eq -- "$pattern" "$file" 2>/dev/null; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            grep -Eq -- "$pattern" "$file" 2>/dev/null && return 0
            echo "process $pid exited before printing /$pattern/" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "no line matching /$pattern/ in $file after ${limit}s" >&2
            return 1
        fi
        sleep 0.02
    done
}

start_server() {
    local program=$1
    shift
    SERVER_OUT="$BATS_TEST_TMPDIR/server.out"
    SERVER_ERR="$BATS_TEST_TMPDIR/server.err"
    : >"$SERVER_OUT"
    : >"$SERVER_ERR"
    # 3>&- 4>&- : the server must not hold Bats's own descriptors, or Bats
    # would wait for it to exit before reporting.
    "$BIN/$program" -p 0 "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" 3>&- 4>&- &
    SERVER_PID=$!
    if ! wait_for_line "$SERVER_OUT" '^listening on ' "$NIO_START_TIMEOUT" \
        "$SERVER_PID"; then
        echo "--- $program stderr:" >&2
        cat "$SERVER_ERR" >&2
        stop_server TERM
        return 1
    fi
    local address
    address=$(grep -m1 '^listening on ' "$SERVER_OUT")
    address=${address#listening on }
    SERVER_PORT=${address##*:}
    SERVER_HOST=${address%:*}
    SERVER_HOST=${SERVER_HOST#[}
    SERVER_HOST=${SERVER_HOST%]}
    export SERVER_PID SERVER_HOST SERVER_PORT SERVER_OUT SERVER_ERR
}

# stop_server [SIGNAL]: sends SIGNAL (default TERM) to the server started by
# start_server, waits up to NIO_STOP_TIMEOUT seconds, then kills it. Sets
# SERVER_STATUS to its exit status. Safe to call twice, or with no server.
stop_server() {
    local signal=${1:-TERM}
    [ -n "${SERVER_PID:-}" ] || return 0
    local pid=$SERVER_PID deadline=$((SECONDS + NIO_STOP_TIMEOUT))
    SERVER_PID=
    kill -"$signal" "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "server $pid did not stop within ${NIO_STOP_TIMEOUT}s" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.02
    done
    SERVER_STATUS=0
    wait "$pid" 2>/dev/null || SERVER_STATUS=$?
    export SERVER_STATUS
}

# server_stderr_clean: fails when the server's stderr holds a sanitizer
# report, so that a test run under `make sanitize` catches it even when the
# report did not change the exit status.
server_stderr_clean() {
    if grep -Eq 'ERROR: (Address|Leak|Thread|Undefined)Sanitizer|runtime error:|WARNING: ThreadSanitizer' \
        "${SERVER_ERR:-/dev/null}"; then
        cat "$SERVER_ERR" >&2
        return 1
    fi
}

# stop_and_check [SIGNAL]: stop_server, then the server must have exited 0
# with a clean stderr (under ASan that includes the leak check, under TSan
# the races).
stop_and_check() {
    stop_server "${1:-TERM}"
    [ "$SERVER_STATUS" -eq 0 ] || { cat "$SERVER_ERR" >&2; return 1; }
    server_stderr_clean
}

# --- what several chapters' tests share ---------------------------------

# server_fds: how many descriptors the server holds now (Linux /proc).
server_fds() {
    find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}

# wait_for_fds N [at-most]: polls (bounded) until the server holds exactly
# N descriptors (with at-most: N or fewer), as when the connections it
# served have all been closed.
wait_for_fds() {
    local deadline=$((SECONDS + 2 * NIO_STOP_TIMEOUT)) have
    while :; do
        have=$(server_fds)
        if [ "${2:-}" = at-most ]; then
            [ "$have" -gt "$1" ] || return 0
        else
            [ "$have" -ne "$1" ] || return 0
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "the server holds $have descriptors, not $1:" >&2
            ls -l "/proc/$SERVER_PID/fd" >&2
            return 1
        fi
        sleep 0.02
    done
}

# server_kib FIELD: the server's VmRSS (resident now) or VmHWM (the peak so
# far) from /proc, in KiB.
server_kib() {
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$SERVER_PID/status"
}

# summary_is C SENT REPLIES ERRORS: checks web-client's summary line in
# $output (and that no sanitizer spoke, even when the client was meant to
# fail).
summary_is() {
    if grep -Eq 'Sanitizer|runtime error:' <<<"$output"; then
        echo "$output"
        return 1
    fi
    local want="summary: connections $1, messages sent $2, replies received $3, errors $4"
    grep -qxF "$want" <<<"$output" || {
        echo "want: $want"
        echo "got:  $output"
        return 1
    }
}

# ask FD [LINE] [SECONDS]: sends LINE (default "hello") on the /dev/tcp
# connection open on descriptor FD and checks, within SECONDS (default
# 30), that the reply line is "received", the answer of the servers of
# chapters 4 to 6.
ask() {
    local reply=
    printf '%s\n' "${2:-hello}" >&"$1"
    read -r -t "${3:-30}" reply <&"$1" || true
    [ "$reply" = received ] || {
        echo "the reply to '${2:-hello}' was '$reply', not 'received'" >&2
        return 1
    }
}

# chapter_demo N: prints what `make chapter-N` prints on stdout, built with
# the same settings as the binaries under test (plain, sanitized, ...).
# Use it as `run chapter_demo 3` and compare with "$EXPECTED/NN-name.txt".
chapter_demo() {
    make -s --no-print-directory -C "$NIO_ROOT" BUILD="$NIO_BUILD" \
        SAN="${NIO_SAN:-}" OPT="${NIO_OPT:--O2}" "chapter-$1" 2>/dev/null
}
