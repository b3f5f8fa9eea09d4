# shellcheck shell=bash
# lab-lib.bash - what the shell stages of a lab share (tests/lab/*.stages).
# tools/lab-check.sh runs a shell stage as
#     bash -c '. tests/lab/lab-lib.bash; . STAGES; lab_stage_run FUNCTION'
# with LAB_BIN (the programs built from the learner's files) and LAB_WORK
# (a scratch folder, emptied for each stage) in the environment.
#
#   lab_did WORDS             what the stage does next ("did:" on failure)
#   lab_fail EXPECTED GOT     prints did/expected/got and fails the stage
#   lab_start_server PROG ... runs PROG -p 0 ..., waits for "listening on",
#                             sets LAB_PORT and LAB_SERVER_PID
#   lab_stop_server           SIGTERM by that PID, waits; sets LAB_SERVER_STATUS
# Servers are always stopped by their PID when the stage ends, however it
# ends.

# shellcheck disable=SC2034 # LAB_PORT and LAB_SERVER_STATUS are for the stages
LAB_RUN=${LAB_WORK:?}/run
mkdir -p "$LAB_RUN"
lab_did_text="(the stage had not said yet)"
LAB_SERVER_PID=
LAB_PIDS=

# The stages file is sourced for its functions; its stage lines, which
# tools/lab-check.sh reads, do nothing here.
stage() { :; }

lab_did() {
    lab_did_text=$*
    echo "step: $*"
}

lab_fail() {
    echo "did:      $lab_did_text"
    echo "expected: $1"
    echo "got:      $2"
    exit 1
}

lab_cleanup() {
    local pid
    for pid in $LAB_PIDS $LAB_SERVER_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $LAB_PIDS $LAB_SERVER_PID; do
        wait "$pid" 2>/dev/null || true
    done
}

lab_stage_run() {
    trap lab_cleanup EXIT
    "$1"
}

# lab_wait_for FILE REGEX [PID] [SECONDS]: until FILE has a line matching
# REGEX; false when PID ends first or time (default 10 s) runs out.
lab_wait_for() {
    local file=$1 regex=$2 pid=${3:-} limit=${4:-10}
    local deadline=$((SECONDS + limit))
    until grep -Eq -- "$regex" "$file" 2>/dev/null; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            grep -Eq -- "$regex" "$file" 2>/dev/null
            return
        fi
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.02
    done
}

lab_start_server() {
    local program=$1
    shift
    : >"$LAB_RUN/server.out"
    "$LAB_BIN/$program" -p 0 "$@" >"$LAB_RUN/server.out" 2>"$LAB_RUN/server.err" &
    LAB_SERVER_PID=$!
    if ! lab_wait_for "$LAB_RUN/server.out" '^listening on ' "$LAB_SERVER_PID"; then
        lab_fail "$program to print 'listening on HOST:PORT' and keep running" \
            "$(tail -n 3 "$LAB_RUN/server.err" | tr '\n' ' ')"
    fi
    LAB_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$LAB_RUN/server.out" | head -n 1)
}

lab_stop_server() {
    [ -n "$LAB_SERVER_PID" ] || return 0
    kill -TERM "$LAB_SERVER_PID" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 "$LAB_SERVER_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.02
    done
    LAB_SERVER_STATUS=0
    wait "$LAB_SERVER_PID" || LAB_SERVER_STATUS=$?
    LAB_SERVER_PID=
}
