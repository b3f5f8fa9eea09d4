#!/usr/bin/env bats
# Chapter 7, the HTTP/1.1 server: the parser's table of cases; then httpd
# over the wire with curl and with http-probe (exact bytes): GET, HEAD,
# POST /echo with Content-Length and chunked bodies, keep-alive and
# HTTP/1.0, pipelining, every limit and timeout, 400-and-close after a
# framing error, the blocking handler on the pool, graceful shutdown, the
# access log, the conformance suite, and the transcript.

load helpers
bats_require_minimum_version 1.5.0

BG_PIDS=()

teardown() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    BG_PIDS=()
    if [ -n "${SERVER_PID:-}" ]; then
        stop_server
        [ "$SERVER_STATUS" -eq 0 ] || {
            echo "httpd exited with $SERVER_STATUS on SIGTERM" >&2
            cat "$SERVER_ERR" >&2
            return 1
        }
    fi
    server_stderr_clean
}

need_curl() {
    command -v curl >/dev/null 2>&1 ||
        skip "curl is not installed (apt-get install curl)"
}

url() {
    printf 'http://%s:%s%s' "$SERVER_HOST" "$SERVER_PORT" "$1"
}

# probe ARGS...: http-probe against the server; one line per response.
probe() {
    run "$BIN/http-probe" -p "$SERVER_PORT" "$@" 3>&-
}

# stats_field NAME: the first number called NAME in /stats ("busy",
# "open_connections": the server's, before the workers').
stats_field() {
    curl -s "$(url /stats)" | grep -o "\"$1\": [0-9]*" | head -n 1 |
        sed 's/.*: //'
}

# wait_for_stat NAME VALUE: polls /stats (bounded) until NAME >= VALUE.
wait_for_stat() {
    local deadline=$((SECONDS + 20)) value
    while :; do
        value=$(stats_field "$1")
        [ -n "$value" ] && [ "$value" -ge "$2" ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "/stats never showed $1 >= $2 (last: '$value')" >&2
            return 1
        fi
        sleep 0.02
    done
}

# in_background FILE COMMAND...: runs COMMAND with stdout in FILE.
in_background() {
    local out=$1
    shift
    "$@" >"$out" 2>&1 3>&- &
    BG_PIDS+=("$!")
}

# wait_pid PID: waits (bounded) for a background process to end.
wait_pid() {
    local deadline=$((SECONDS + 20))
    while kill -0 "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "$1 still running" >&2; return 1; }
        sleep 0.02
    done
    wait "$1" 2>/dev/null || true
}

H='Host: test\r\n'

# --- the parser -------------------------------------------------------------

@test "unit: the parser and the chunked decoder, rule by rule, fed whole, byte by byte and split at random" {
    run_unit test_http_parser
}

@test "unit: responses on the wire (framing, HEAD, chunked, no injection) and the route table" {
    run_unit test_http_response
}

# --- the program ---------------------------------------------------------------

@test "httpd --help lists every limit and timeout and exits 0" {
    run "$BIN/httpd" --help
    [ "$status" -eq 0 ]
    local flag
    for flag in --port --bind --workers --backend --access-log --root \
        --max-request-line --max-header-bytes --max-headers --max-body \
        --max-requests --header-timeout --body-timeout --send-timeout \
        --keepalive-timeout --shutdown-timeout --pool-threads; do
        grep -q -- "$flag" <<<"$output" || { echo "no $flag"; return 1; }
    done
}

@test "httpd refuses bad flag values with one line and a non-zero status" {
    local args
    for args in "--max-body abc" "--header-timeout 0" "--workers 0" \
        "--backend kqueue" "--root /nonexistent/dir" "--port 70000"; do
        # shellcheck disable=SC2086 # one word per flag and value
        run --separate-stderr "$BIN/httpd" -p 0 $args
        [ "$status" -ne 0 ] || { echo "accepted: $args"; return 1; }
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
        grep -q '^httpd: ' <<<"$stderr"
    done
}

# --- requests with curl ------------------------------------------------------

@test "GET /hello: status line, Date, Server, Content-Length, body" {
    need_curl
    start_server httpd
    run curl -si "$(url /hello)"
    [ "$status" -eq 0 ]
    grep -q $'^HTTP/1.1 200 OK\r$' <<<"$output"
    grep -Eq $'^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT\r$' <<<"$output"
    grep -q $'^Server: nio-c\r$' <<<"$output"
    grep -q $'^Content-Length: 14\r$' <<<"$output"
    [ "$(tail -n 1 <<<"$output")" = "Hello, world!" ]
}

@test "HEAD sends exactly the fields GET would, and no body" {
    need_curl
    start_server httpd
    local get head
    get=$(curl -s -D - -o /dev/null "$(url /hello)" | grep -v '^Date:')
    head=$(curl -s -I "$(url /hello)" | grep -v '^Date:')
    [ "$get" = "$head" ]
    grep -q 'Content-Length: 14' <<<"$head"
    probe --head 'HEAD /hello HTTP/1.1\r\n'"$H"'Connection: close\r\n\r\n'
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "closed" ] # no body bytes were left over
}

@test "POST /echo sends back a binary body sent with Content-Length" {
    need_curl
    start_server httpd
    head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/body"
    curl -s --data-binary @"$BATS_TEST_TMPDIR/body" \
        -H 'Content-Type: application/octet-stream' "$(url /echo)" \
        -o "$BATS_TEST_TMPDIR/back"
    cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/back"
}

@test "POST /echo with a chunked body comes back chunked, byte for byte" {
    need_curl
    start_server httpd
    head -c 150000 /dev/urandom >"$BATS_TEST_TMPDIR/body"
    run curl -s -D "$BATS_TEST_TMPDIR/headers" -H 'Transfer-Encoding: chunked' \
        --data-binary @"$BATS_TEST_TMPDIR/body" "$(url /echo)" \
        -o "$BATS_TEST_TMPDIR/back"
    [ "$status" -eq 0 ]
    cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/back"
    grep -qi $'^Transfer-Encoding: chunked\r$' "$BATS_TEST_TMPDIR/headers"
}

@test "chunked request with extensions and trailers, pipelined with a GET" {
    start_server httpd
    probe --bodies 'POST /echo HTTP/1.1\r\n'"$H"'Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: 12\r\n\r\nGET /hello HTTP/1.1\r\n'"$H"'\r\n'
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "hello, world200 OK" ] # the echo has no newline
    [ "${lines[2]}" = "Hello, world!" ]
}

@test "keep-alive: curl re-uses one connection for two requests" {
    need_curl
    start_server httpd
    run curl -sv "$(url /hello)" "$(url /hello)"
    [ "$status" -eq 0 ]
    grep -q 'Re-using existing connection' <<<"$output"
    [ "$(grep -c '^Hello, world!' <<<"$output")" -eq 2 ]
}

@test "HTTP/1.0: closed by default, kept open when asked" {
    need_curl
    start_server httpd
    run curl -si --http1.0 "$(url /hello)"
    grep -q $'^HTTP/1.1 200 OK\r$' <<<"$output"
    grep -q $'^Connection: close\r$' <<<"$output"
    run curl -sv --http1.0 -H 'Connection: keep-alive' "$(url /hello)" \
        "$(url /hello)"
    grep -q $'Connection: keep-alive\r$' <<<"$output"
    grep -q 'Re-using existing connection' <<<"$output"
    probe 'GET /hello HTTP/1.0\r\n\r\n'
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "closed" ]
}

@test "the framework answers 404, 405 with Allow, 501, and OPTIONS" {
    need_curl
    start_server httpd
    run curl -si "$(url /nope)"
    grep -q $'^HTTP/1.1 404 Not Found\r$' <<<"$output"
    run curl -si -X POST -d x "$(url /hello)"
    grep -q $'^HTTP/1.1 405 Method Not Allowed\r$' <<<"$output"
    grep -q $'^Allow: GET, HEAD, OPTIONS\r$' <<<"$output"
    run curl -si -X TRACE "$(url /hello)"
    grep -q $'^HTTP/1.1 501 Not Implemented\r$' <<<"$output"
    run curl -si -X OPTIONS "$(url /echo)"
    grep -q $'^HTTP/1.1 204 No Content\r$' <<<"$output"
    grep -q $'^Allow: POST, OPTIONS\r$' <<<"$output"
    run curl -si -X OPTIONS --request-target '*' "$(url /)"
    grep -q $'^HTTP/1.1 204 No Content\r$' <<<"$output"
    grep -q $'^Allow: GET, HEAD, POST, OPTIONS\r$' <<<"$output"
}

@test "Expect: 100-continue is answered before the body, only when it will be read" {
    start_server httpd
    probe --gap 300 --bodies \
        'POST /echo HTTP/1.1\r\n'"$H"'Expect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n' 'ping'
    [ "${lines[0]}" = "100 Continue" ]
    [ "${lines[1]}" = "200 OK" ]
    [ "${lines[2]}" = "pingclosed" ] # the body has no newline
    # /hello does not take POST: the answer comes at once, no 100, closed.
    probe 'POST /hello HTTP/1.1\r\n'"$H"'Expect: 100-continue\r\nContent-Length: 4\r\n\r\n'
    [ "${lines[0]}" = "405 Method Not Allowed" ]
    [ "${lines[1]}" = "closed" ]
}

# --- pipelining and framing ----------------------------------------------------

@test "pipelined requests in one write are answered in order" {
    start_server httpd
    probe --bodies 'GET /hello HTTP/1.1\r\n'"$H"'\r\nPOST /echo HTTP/1.1\r\n'"$H"'Content-Length: 6\r\n\r\nsecondGET /nope HTTP/1.1\r\n'"$H"'\r\nGET /hello HTTP/1.1\r\n'"$H"'Connection: close\r\n\r\n'
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "Hello, world!" ]
    [ "${lines[2]}" = "200 OK" ]
    [ "${lines[3]}" = "second404 Not Found" ]
    [ "${lines[4]}" = $'Not Found\r' ]
    [ "${lines[5]}" = "200 OK" ]
    [ "${lines[6]}" = "Hello, world!" ]
    [ "${lines[7]}" = "closed" ]
}

@test "a body split over several writes is never read as a request" {
    start_server httpd
    # The body of the second request looks like a request: it is a body.
    probe --gap 300 'POST /echo HTTP/1.1\r\n'"$H"'Content-Length: 32\r\n\r\n' \
        'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n'
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "open" ] # one answer, and nothing left over
    [ "${#lines[@]}" -eq 2 ]
}

@test "after a framing error: one 400, then close; the next request is never answered" {
    start_server httpd
    local bad
    for bad in \
        'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
        'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n' \
        'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab' \
        'GET /hello HTTP/1.1\r\nHost: a\r\nX: a\nGET /hello HTTP/1.1\r\n\r\n' \
        'GET /hello HTTP/1.1\r\nHost: a\r\nX: folded\r\n continued\r\n\r\n' \
        'GET /hello HTTP/1.1\r\nHost : a\r\n\r\n' \
        'GET /hello HTTP/1.1\r\n\r\n'; do
        probe "${bad}GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
        [ "${lines[0]}" = "400 Bad Request" ] || { echo "$bad: $output"; return 1; }
        [ "${lines[1]}" = "closed" ] || { echo "$bad: $output"; return 1; }
    done
    # and the server lives on
    probe 'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
    [ "${lines[0]}" = "200 OK" ]
}

@test "the seed's pitfall: a request is not one 1024-byte read" {
    start_server httpd
    # 3,000 bytes of header fields, then the same request a few bytes per write
    local big
    big="X-Padding: $(head -c 3000 /dev/zero | tr '\0' 'p')\r\n"
    probe 'GET /hello HTTP/1.1\r\n'"$H$big"'Connection: close\r\n\r\n'
    [ "${lines[0]}" = "200 OK" ]
    probe --drip 5 'GET /hello HTTP/1.1\r\n'"$H"'Connection: close\r\n\r\n'
    [ "${lines[0]}" = "200 OK" ]
}

# --- limits ------------------------------------------------------------------------

@test "limit: a request line over --max-request-line is 414, at the limit is fine" {
    start_server httpd --max-request-line 64
    local path
    path=/$(head -c 48 /dev/zero | tr '\0' 'a')
    probe "GET ${path} HTTP/1.1\r\n${H}Connection: close\r\n\r\n" # 64 bytes
    [ "${lines[0]}" = "404 Not Found" ]
    probe "GET ${path}a HTTP/1.1\r\n${H}\r\n" # 65 bytes
    [ "${lines[0]}" = "414 URI Too Long" ]
    [ "${lines[1]}" = "closed" ]
}

@test "limit: a head over --max-header-bytes or --max-headers is 431" {
    start_server httpd --max-header-bytes 256 --max-headers 4
    local pad
    pad=$(head -c 220 /dev/zero | tr '\0' 'x')
    probe "GET /hello HTTP/1.1\r\n${H}X: ${pad}\r\n\r\n"
    [ "${lines[0]}" = "431 Request Header Fields Too Large" ]
    [ "${lines[1]}" = "closed" ]
    probe "GET /hello HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"
    [ "${lines[0]}" = "431 Request Header Fields Too Large" ]
    probe "GET /hello HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\nConnection: close\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
}

@test "limit: a body over --max-body is 413, before a byte of it is read" {
    start_server httpd --max-body 10
    probe --bodies "POST /echo HTTP/1.1\r\n${H}Content-Length: 10\r\nConnection: close\r\n\r\n0123456789"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "0123456789closed" ]
    # announced too big: refused at once, without 100 Continue
    probe "POST /echo HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 11\r\n\r\n"
    [ "${lines[0]}" = "413 Content Too Large" ]
    [ "${lines[1]}" = "closed" ]
    # chunked: found while decoding
    probe "POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n67890\r\n0\r\n\r\n"
    [ "${lines[0]}" = "413 Content Too Large" ]
    [ "${lines[1]}" = "closed" ]
}

@test "limit: --max-requests closes the connection after that many answers" {
    start_server httpd --max-requests 2
    probe "GET /hello HTTP/1.1\r\n${H}\r\nGET /hello HTTP/1.1\r\n${H}\r\nGET /hello HTTP/1.1\r\n${H}\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "200 OK" ]
    [ "${lines[2]}" = "closed" ]
    [ "${#lines[@]}" -eq 3 ]
}

# --- timeouts ------------------------------------------------------------------------

@test "timeout: a head dripped slower than --header-timeout gets 408 and is closed" {
    start_server httpd --header-timeout 500
    probe --drip 100 "GET /hello HTTP/1.1\r\n${H}X-Slow: 0123456789\r\n\r\n"
    [ "${lines[0]}" = "408 Request Timeout" ]
    [ "${lines[1]}" = "closed" ]
    # the deadline is for the whole head: a fast drip within it is fine
    probe --drip 2 "GET /hello HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
}

@test "timeout: a connection that sends nothing is closed after --header-timeout" {
    start_server httpd --header-timeout 300
    probe --time --wait 10000 ''
    [ "${lines[0]}" = "closed" ]
    local ms=${lines[1]#elapsed }
    ms=${ms% ms}
    [ "$ms" -ge 250 ] && [ "$ms" -lt 8000 ]
}

@test "timeout: an idle keep-alive connection is closed after --keepalive-timeout" {
    start_server httpd --keepalive-timeout 300
    probe --time --wait 10000 "GET /hello HTTP/1.1\r\n${H}\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "closed" ]
    local ms=${lines[2]#elapsed }
    ms=${ms% ms}
    [ "$ms" -ge 250 ] && [ "$ms" -lt 8000 ]
}

@test "timeout: a body that stalls for --body-timeout gets 408 and is closed" {
    start_server httpd --body-timeout 300
    probe --wait 10000 "POST /echo HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc"
    [ "${lines[0]}" = "408 Request Timeout" ]
    [ "${lines[1]}" = "closed" ]
}

@test "timeout: a client that stops reading is dropped after --send-timeout" {
    start_server httpd --send-timeout 300 --max-body 16777216
    head -c 16777216 /dev/zero >"$BATS_TEST_TMPDIR/big"
    probe --no-read 2500 --wait 5000 --file "$BATS_TEST_TMPDIR/big" \
        "POST /echo HTTP/1.1\r\n${H}Content-Length: 16777216\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
    grep -q '^incomplete body: [0-9]* of 16777216 bytes$' <<<"$output"
    [ "${lines[-1]}" = "closed" ]
}

# --- the blocking handler and the pool ----------------------------------------------

@test "a blocking handler runs on the pool: the worker loop serves others meanwhile" {
    need_curl
    start_server httpd --workers 1
    in_background "$BATS_TEST_TMPDIR/sleep.out" curl -s "$(url '/sleep?ms=3000')"
    local sleeper=${BG_PIDS[-1]}
    wait_for_stat busy 1
    run curl -s "$(url /hello)"
    [ "$output" = "Hello, world!" ]
    kill -0 "$sleeper" # /hello did not wait for the sleeper
    wait_pid "$sleeper"
    [ "$(cat "$BATS_TEST_TMPDIR/sleep.out")" = "slept 3000 ms" ]
}

@test "with every pool thread busy and the queue full, a blocking route answers 503" {
    need_curl
    start_server httpd --pool-threads 1 --pool-queue 1
    in_background "$BATS_TEST_TMPDIR/1.out" curl -s "$(url '/sleep?ms=1500')"
    wait_for_stat busy 1
    in_background "$BATS_TEST_TMPDIR/2.out" curl -s "$(url '/sleep?ms=1')"
    wait_for_stat queued 1
    run curl -si "$(url '/sleep?ms=1')"
    grep -q $'^HTTP/1.1 503 Service Unavailable\r$' <<<"$output"
    wait_pid "${BG_PIDS[0]}"
    wait_pid "${BG_PIDS[1]}"
    [ "$(cat "$BATS_TEST_TMPDIR/2.out")" = "slept 1 ms" ]
}

@test "/stats reports connections, requests per worker, the pool and uptime" {
    need_curl
    start_server httpd --workers 3
    curl -s "$(url /hello)" "$(url /hello)" >/dev/null
    run curl -s "$(url /stats)"
    # the first curl's connection may not be closed yet: 1 or 2 open
    grep -Eq '^\{"uptime_seconds": [0-9]+\.[0-9]{3}, "open_connections": [12], "requests": 2, "workers": \[' <<<"$output"
    [ "$(grep -o '"worker": ' <<<"$output" | wc -l)" -eq 3 ]
    grep -q '"pool": {"threads": 4, "busy": 0, "queued": 0}' <<<"$output"
}

@test "every selector backend serves the same answers" {
    local backend
    for backend in select poll epoll; do
        start_server httpd --backend "$backend"
        probe --bodies "GET /hello HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
        [ "${lines[0]}" = "200 OK" ] || { echo "$backend: $output"; return 1; }
        [ "${lines[1]}" = "Hello, world!" ]
        stop_server
        [ "$SERVER_STATUS" -eq 0 ]
    done
}

# --- graceful shutdown ------------------------------------------------------------------

@test "SIGTERM with a request in flight: it is answered, then exit 0" {
    need_curl
    start_server httpd
    in_background "$BATS_TEST_TMPDIR/sleep.out" curl -s "$(url '/sleep?ms=1000')"
    local sleeper=${BG_PIDS[-1]}
    wait_for_stat busy 1
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    wait_pid "$sleeper"
    [ "$(cat "$BATS_TEST_TMPDIR/sleep.out")" = "slept 1000 ms" ]
}

@test "SIGTERM closes idle keep-alive connections at once, not after their timeout" {
    start_server httpd --keepalive-timeout 60000 --access-log "$BATS_TEST_TMPDIR/access.log"
    in_background "$BATS_TEST_TMPDIR/probe.out" "$BIN/http-probe" -p "$SERVER_PORT" \
        --wait 30000 "GET /hello HTTP/1.1\r\n${H}\r\n"
    local client=${BG_PIDS[-1]}
    wait_for_line "$BATS_TEST_TMPDIR/access.log" '"GET /hello HTTP/1.1" 200'
    local before=$SECONDS
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    [ $((SECONDS - before)) -lt 5 ]
    wait_pid "$client"
    grep -qx 'closed' "$BATS_TEST_TMPDIR/probe.out"
}

@test "SIGTERM with a slow client: exit 0 within --shutdown-timeout" {
    need_curl
    start_server httpd --header-timeout 60000 --shutdown-timeout 500
    in_background "$BATS_TEST_TMPDIR/probe.out" "$BIN/http-probe" -p "$SERVER_PORT" \
        --say-connected --drip 200 \
        "GET /hello HTTP/1.1\r\n${H}X-Slow: 0123456789012345678901234567890\r\n\r\n"
    wait_for_line "$BATS_TEST_TMPDIR/probe.out" '^connected$'
    wait_for_stat open_connections 2 # the slow one, and /stats itself
    local before=$SECONDS
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    [ $((SECONDS - before)) -lt 5 ]
}

# --- the access log --------------------------------------------------------------------

@test "access log: Common Log Format to a file, to stderr, or off" {
    need_curl
    start_server httpd --access-log "$BATS_TEST_TMPDIR/access.log"
    curl -s "$(url /hello)" "$(url /nope)" >/dev/null
    wait_for_line "$BATS_TEST_TMPDIR/access.log" '/nope'
    grep -Eq '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\] "GET /hello HTTP/1\.1" 200 14$' \
        "$BATS_TEST_TMPDIR/access.log"
    grep -Eq '"GET /nope HTTP/1\.1" 404 11$' "$BATS_TEST_TMPDIR/access.log"
    stop_server
    start_server httpd --access-log -
    curl -s "$(url /hello)" >/dev/null
    wait_for_line "$SERVER_ERR" '"GET /hello HTTP/1\.1" 200 14$'
    stop_server
    start_server httpd --access-log off
    curl -s "$(url /hello)" >/dev/null
    stop_server
    run grep -c 'GET /hello' "$SERVER_ERR"
    [ "$output" = 0 ]
}

# --- conformance and transcript -----------------------------------------------------------

@test "conformance: 86 raw requests from public suites, judged by run-http-cases" {
    local runner="$NIO_ROOT/../shared/conformance/run-http-cases"
    [ -x "$runner" ] || skip "no conformance suite at $runner"
    command -v python3 >/dev/null || skip "python3 is not installed"
    start_server httpd --access-log off
    run "$runner" "$SERVER_HOST" "$SERVER_PORT"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [ "${lines[-1]}" = "86 passed, 0 failed" ]
}

@test "make chapter-7's transcript matches tests/expected" {
    need_curl
    run env NIO_BIN="$BIN" sh "$NIO_ROOT/chapters/07-http-server/demo.sh"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    diff <(printf '%s\n' "$output") "$EXPECTED/07-http-server.txt"
}
