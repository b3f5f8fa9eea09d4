#!/bin/sh
# browser-check.sh - a real browser, headless, for the course site's tests.
#
#   browser-check.sh find                  prints the browser to use, or says
#                                          why there is none and exits 3
#   browser-check.sh dom URL               prints the page's DOM once it has
#                                          loaded and its scripts have run
#                                          (after a form the page submits by
#                                          itself, the DOM of the answer)
#   browser-check.sh screenshot URL FILE   saves the page as a PNG
#
# The browser is $CHROMIUM, else the first of chromium, chromium-browser,
# google-chrome found on PATH. Each run gets a fresh profile, talks to
# nothing but URL (no sync, no updates, no QUIC) and is stopped, by its
# PID, after BROWSER_TIMEOUT seconds (default 60). Tests skip when `find`
# fails: `sudo apt-get install chromium` installs one on Debian.
set -eu

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
}

find_browser() {
    if [ -n "${CHROMIUM:-}" ]; then
        command -v "$CHROMIUM" && return 0
        echo "browser-check: CHROMIUM=$CHROMIUM is not a program" >&2
        return 3
    fi
    for name in chromium chromium-browser google-chrome; do
        command -v "$name" && return 0
    done
    echo "browser-check: no Chromium found (sudo apt-get install chromium)" >&2
    return 3
}

# run_browser OUTPUT ARGS...: the browser with the course's flags, its
# stdout in OUTPUT, bounded in time. Returns its exit status.
run_browser() {
    output=$1
    shift
    browser=$(find_browser) || exit 3
    profile=$(mktemp -d "${TMPDIR:-/tmp}/nio-browser.XXXXXX")
    "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$profile" --window-size=1000,1300 "$@" \
        >"$output" 2>"$profile.log" </dev/null &
    pid=$!
    limit=${BROWSER_TIMEOUT:-60}
    waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge "$((limit * 10))" ]; then
            echo "browser-check: the browser did not finish in ${limit}s" >&2
            kill "$pid" 2>/dev/null || true
            sleep 1
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    status=0
    wait "$pid" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "browser-check: the browser exited with status $status:" >&2
        grep -v -e dbus -e 'unexpected operator' "$profile.log" | tail -5 >&2 || true
    fi
    rm -rf "$profile" "$profile.log"
    return "$status"
}

case ${1:-} in
find)
    find_browser
    ;;
dom)
    [ $# -eq 2 ] || { usage; exit 2; }
    find_browser >/dev/null || exit 3
    dom=$(mktemp "${TMPDIR:-/tmp}/nio-dom.XXXXXX")
    status=0
    run_browser "$dom" --dump-dom "$2" || status=$?
    cat "$dom"
    rm -f "$dom"
    exit "$status"
    ;;
screenshot)
    [ $# -eq 3 ] || { usage; exit 2; }
    find_browser >/dev/null || exit 3
    mkdir -p "$(dirname "$3")"
    file=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
    rm -f "$file"
    run_browser /dev/null --screenshot="$file" "$2"
    [ -s "$file" ] || { echo "browser-check: no screenshot in $file" >&2; exit 1; }
    ;;
-h | --help)
    usage
    ;;
*)
    usage
    exit 2
    ;;
esac
