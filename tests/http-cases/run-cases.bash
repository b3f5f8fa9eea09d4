#!/usr/bin/env bash
# run-cases.bash PROBE PORT CASES [--skip PREFIX] - sends each case of CASES
# (see cases.txt for the format) to the HTTP server on 127.0.0.1:PORT with
# http-probe (PROBE), judges the answers, and prints one line per case,
# then "N passed, M failed"; cases named PREFIX... are left out. Exits 1
# when any case failed, 2 on bad usage.
set -uo pipefail

usage() {
    echo "usage: run-cases.bash PROBE PORT CASES [--skip PREFIX]" >&2
    exit 2
}
[ $# -eq 3 ] || [ $# -eq 5 ] || usage
probe=$1 port=$2 cases=$3 skip=
if [ $# -eq 5 ]; then
    [ "$4" = --skip ] || usage
    skip=$5
fi
[ -x "$probe" ] || { echo "run-cases: $probe is not a program" >&2; exit 2; }
[ -f "$cases" ] || { echo "run-cases: no cases in $cases" >&2; exit 2; }

# What a server must never answer a request it accepts.
is_bad() {
    case $1 in
    400 | 411 | 413 | 414 | 431 | 5??) return 0 ;;
    *) return 1 ;;
    esac
}

# judge EXPECT STATUSES CLOSED: prints why the answer is wrong, if it is.
judge() {
    local expect=$1 closed=$3 s
    local -a got
    read -r -a got <<<"$2"
    case $expect in
    ok\ *)
        local want=${expect#ok }
        if [ "${#got[@]}" -ne "$want" ]; then
            echo "${#got[@]} answers (${got[*]:-none}), expected $want"
            return
        fi
        for s in "${got[@]}"; do
            is_bad "$s" && { echo "a valid request was refused: ${got[*]}"; return; }
        done
        ;;
    *)
        local allowed=${expect%% *} want_close=
        [ "$expect" != "${expect% close}" ] && want_close=1
        if [ "${#got[@]}" -eq 0 ]; then
            echo "no answer"
        elif [[ "|$allowed|" != *"|${got[0]}|"* ]]; then
            echo "status ${got[0]}, expected $allowed"
        elif [ "${#got[@]}" -gt 1 ]; then
            echo "answered ${#got[@]} messages (${got[*]}) after a bad one"
        elif [ -n "$want_close" ] && [ "$closed" != yes ]; then
            echo "the connection stayed open after a framing error"
        fi
        ;;
    esac
}

passed=0 failed=0
while IFS=$'\t' read -r name expect request; do
    case $name in '' | '#'*) continue ;; esac
    [ -n "$skip" ] && [[ "$name" == "$skip"* ]] && continue
    # " <GAP> " splits the request into parts sent 300 ms apart.
    parts=()
    rest=$request
    while [[ "$rest" == *' <GAP> '* ]]; do
        parts+=("${rest%% <GAP> *}")
        rest=${rest#* <GAP> }
    done
    parts+=("$rest")
    out=$("$probe" -p "$port" --wait 500 --gap 300 "${parts[@]}" 2>&1)
    statuses=$(sed -n 's/^\([0-9][0-9][0-9]\) .*/\1/p' <<<"$out" | tr '\n' ' ' | sed 's/ $//')
    closed=no
    grep -qx closed <<<"$out" && closed=yes
    why=$(judge "$expect" "$statuses" "$closed")
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        echo "ok $name: ${statuses:-no answer}"
    else
        failed=$((failed + 1))
        echo "not ok $name: $why"
    fi
done <"$cases"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
