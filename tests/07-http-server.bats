#!/usr/bin/env bats
# Chapter 7, the HTTP/1.1 server: the parser's table of cases; then httpd
# over the wire with curl and with http-probe (exact bytes): GET, HEAD,
# POST /echo with Content-Length and chunked bodies, keep-alive and
# HTTP/1.0, pipelining, every limit and timeout, 400-and-close after a
# framing error, the blocking handler on the pool, graceful shutdown, the
# access log. Part 2, static files: the normaliser, the file module and
# the dates as unit tests; then httpd --root: GET and HEAD, conditionals,
# ranges, directories, the traversal table, a 100 MB file with flat
# memory, descriptors closed whatever happens; the course site, make run
# and a real browser. Last, the course's conformance cases
# (tests/http-cases/) and the transcript.

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
    for flag in --port --bind --workers --accept --backend --access-log --root \
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

# chunked_head PATH BYTES: a chunked POST head of exactly BYTES bytes, its
# final CRLF included, padded by an X-Pad field; the last on its connection.
chunked_head() {
    local start="POST $1 HTTP/1.1\r\n${H}Connection: close\r\nTransfer-Encoding: chunked\r\nX-Pad: "
    local bare
    bare=$(printf '%b' "$start\r\n\r\n" | wc -c)
    printf '%s%s\\r\\n\\r\\n' "$start" "$(printf 'p%.0s' $(seq 1 $(($2 - bare))))"
}

@test "chunked: a head of exactly --max-header-bytes, then its body, is answered at once" {
    # The head filled the input buffer: the body was read into no room at
    # all, a zero-byte read the loop repeated until --body-timeout (408).
    start_server httpd --body-timeout 10000
    local head
    head=$(chunked_head /echo 8192)
    [ "$(printf '%b' "$head" | wc -c)" -eq 8192 ]
    probe --bodies "${head}3\r\nabc\r\n0\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "abcclosed" ] # the echo has no newline
    # and one byte less with an empty trailer section: not 431
    head=$(chunked_head /echo 8191)
    probe --bodies "${head}3\r\nabc\r\n0\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "abcclosed" ]
    # a body nobody reads (decoded in place) after the longest head
    head=$(chunked_head /hello 8192)
    probe --bodies "${head/POST/GET}3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "Hello, world!" ]
    [ "${lines[2]}" = "closed" ]
}

@test "chunked: after a head of 8,191 bytes, a 1 MB body and long trailers still arrive" {
    start_server httpd --body-timeout 10000 --max-body 2000000
    local head
    head=$(chunked_head /echo 8191)
    head -c 1000000 /dev/zero | tr '\0' 'z' >"$BATS_TEST_TMPDIR/data"
    { printf "%x\r\n" 1000000; cat "$BATS_TEST_TMPDIR/data"; printf '\r\n0\r\n'
      # a trailer section of 7,000 bytes: under the limit on its own
      printf 'X-Trailer: %s\r\n\r\n' "$(printf 't%.0s' $(seq 1 6985))"; } \
        >"$BATS_TEST_TMPDIR/body"
    probe --bodies --file "$BATS_TEST_TMPDIR/body" "$head"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "$(cat "$BATS_TEST_TMPDIR/data")closed" ]
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

@test "HTTP/1.2 is served as HTTP/1.1 (RFC 9110 2.5); HTTP/2.0 gets 505" {
    start_server httpd
    # Kept alive as 1.1 is, so both requests are answered on one connection.
    probe --bodies 'GET /hello HTTP/1.2\r\n'"$H"'\r\nGET /hello HTTP/1.9\r\n'"$H"'Connection: close\r\n\r\n'
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "Hello, world!" ]
    [ "${lines[2]}" = "200 OK" ]
    [ "${lines[4]}" = "closed" ]
    # ... and, like 1.1, without a Host it is a bad request.
    probe 'GET /hello HTTP/1.2\r\n\r\n'
    [ "${lines[0]}" = "400 Bad Request" ]
    probe 'GET /hello HTTP/2.0\r\n'"$H"'\r\n'
    [ "${lines[0]}" = "505 HTTP Version Not Supported" ]
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

@test "memory: a head grows past the first buffer and field array, up to the limits" {
    start_server httpd
    # 64 fields (Host, 20, 41, Connection, X-Pad) and 8,192 bytes in all,
    # sent in two pieces: the strings parsed from the first piece must
    # follow the buffer as it grows
    local first="" fields="" i head bare pad
    for i in $(seq 1 20); do first+="X-First-$i: $i\r\n"; done
    for i in $(seq 21 61); do fields+="X-Field-$i: $i\r\n"; done
    head="GET /hello HTTP/1.1\r\n${H}${first}${fields}Connection: close\r\nX-Pad: "
    bare=$(printf '%b' "${head}\r\n\r\n" | wc -c)
    pad=$(printf 'p%.0s' $(seq 1 $((8192 - bare))))
    [ "$(printf '%b' "${head}${pad}\r\n\r\n" | wc -c)" -eq 8192 ]
    probe --gap 200 "GET /hello HTTP/1.1\r\n${H}${first}" \
        "${fields}Connection: close\r\nX-Pad: ${pad}\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "closed" ]
    # one byte more is 431, and so is one field more, as they always were
    probe "${head}${pad}p\r\n\r\n"
    [ "${lines[0]}" = "431 Request Header Fields Too Large" ]
    probe "${head}x\r\nX-65: 1\r\n\r\n"
    [ "${lines[0]}" = "431 Request Header Fields Too Large" ]
    # after a big head, small ones on the same connection
    probe "GET /hello HTTP/1.1\r\n${H}${fields}X-Pad: ${pad}\r\n\r\nGET /hello HTTP/1.1\r\n${H}\r\nGET /hello HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "200 OK" ]
    [ "${lines[2]}" = "200 OK" ]
}

@test "memory: a connection in the middle of a small head holds under 3 KiB" {
    [ -z "${NIO_SAN:-}" ] || skip "resident memory means little under a sanitizer"
    start_server httpd --workers 1
    probe "GET /hello HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
    local before after last fd i n=1000
    local -a fds=()
    before=$(server_kib VmRSS)
    for i in $(seq 1 $n); do
        exec {fd}<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
        printf 'GET /hello HTTP/1.1\r\nHost: test\r\nAccept: */*\r\n' >&$fd
        fds+=("$fd")
    done
    # settled: the same figure twice, 200 ms apart (bounded)
    after=$(server_kib VmRSS)
    for i in $(seq 1 50); do
        sleep 0.2
        last=$after
        after=$(server_kib VmRSS)
        [ "$after" != "$last" ] || break
    done
    for fd in "${fds[@]}"; do exec {fd}>&-; done
    echo "# $(((after - before) * 1024 / n)) bytes per connection" >&3
    # 22 KiB each before the buffers started small; 2 KiB is the target
    [ $(((after - before) * 1024 / n)) -lt 3072 ]
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

# raw_exchange BYTES: sends BYTES (printf escapes) on a fresh connection and
# keeps every byte of the answer, up to the server's close, in RAW_FILE.
raw_exchange() {
    RAW_FILE="$BATS_TEST_TMPDIR/raw.out"
    exec 5<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
    # shellcheck disable=SC2059 # the bytes are the format, escapes and all
    printf "$1" >&5
    timeout 20 cat <&5 >"$RAW_FILE" || true
    exec 5<&-
}

@test "timeout: a 408 to an unfinished HEAD request has no body, like a 400 to one" {
    start_server httpd --header-timeout 300
    raw_exchange "HEAD /hello HTTP/1.1\r\n${H}"
    head -n 1 "$RAW_FILE" | grep -q '^HTTP/1.1 408 '
    grep -q $'^Content-Length: [1-9][0-9]*\r$' "$RAW_FILE" # as GET's would be
    # nothing after the empty line that ends the head
    [ "$(tail -c 4 "$RAW_FILE" | od -An -c | tr -d ' ')" = '\r\n\r\n' ]
    raw_exchange "HEAD /hello HTTP/1.1\r\nBad Field: x\r\n\r\n"
    head -n 1 "$RAW_FILE" | grep -q '^HTTP/1.1 400 '
    [ "$(tail -c 4 "$RAW_FILE" | od -An -c | tr -d ' ')" = '\r\n\r\n' ]
    # a GET's 408 still says why, in its body
    raw_exchange "GET /hello HTTP/1.1\r\n${H}"
    grep -q 'did not arrive in time' "$RAW_FILE"
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

# thread_count: the server's threads now.
thread_count() {
    local tasks=("/proc/$SERVER_PID/task"/*)
    echo "${#tasks[@]}"
}

@test "--accept: the workers accept for themselves, or a boss hands over; both serve and stop" {
    need_curl
    [ -d /proc/self/task ] || skip "no /proc/PID/task on this system"
    local mode backend threads_workers threads_boss urls=() i
    for ((i = 0; i < 40; i++)); do urls+=("$(printf '/hello?%d' "$i")"); done
    for backend in select poll epoll; do
        for mode in workers boss; do
            start_server httpd --workers 2 --accept "$mode" --backend "$backend"
            [ "$mode" = workers ] && threads_workers=$(thread_count)
            [ "$mode" = boss ] && threads_boss=$(thread_count)
            # 40 connections, one after another, each closed by the client.
            run curl -s -H 'Connection: close' "${urls[@]/#/$(url '')}"
            [ "$output" = "$(printf 'Hello, world!\n%.0s' "${urls[@]}")" ] ||
                { echo "$backend $mode: $output"; return 1; }
            # Each was adopted by exactly one worker: 40, and /stats's own.
            run curl -s "$(url /stats)"
            [ "$(grep -o '"connections": [0-9]*' <<<"$output" |
                awk '{ n += $2 } END { print n }')" -eq 41 ] ||
                { echo "$backend $mode: $output"; return 1; }
            stop_server
            [ "$SERVER_STATUS" -eq 0 ]
        done
        # The boss is one thread more; without it, nobody is idle.
        [ "$threads_boss" -eq $((threads_workers + 1)) ] ||
            { echo "$backend: $threads_boss vs $threads_workers threads"; return 1; }
    done
    run --separate-stderr "$BIN/httpd" -p 0 --accept everyone
    [ "$status" -ne 0 ]
    [ "$stderr" = "httpd: --accept: 'everyone' is neither boss nor workers" ]
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

# --- part 2: static files ----------------------------------------------------------------

SITE_SCRIPT="$NIO_ROOT/chapters/07-http-server/site/build-site.sh"
BROWSER="$NIO_ROOT/chapters/07-http-server/site/browser-check.sh"

# make_root: a document root in $ROOT with files, directories, a dotfile,
# a FIFO and symbolic links that stay inside or lead out of it; the files
# outside it say SECRET.
make_root() {
    BASE="$BATS_TEST_TMPDIR/base"
    ROOT="$BASE/root"
    mkdir -p "$ROOT/sub" "$ROOT/docs/inner" "$ROOT/a/b" "$ROOT/.git" \
        "$ROOT/my docs" "$BASE/outside"
    printf 'TOP SECRET\n' >"$BASE/secret.txt"
    printf 'ALSO SECRET\n' >"$BASE/outside/secret2.txt"
    printf 'hello, world\n' >"$ROOT/hello.txt"
    printf '<h1>home</h1>\n' >"$ROOT/index.html"
    printf 'sub\n' >"$ROOT/sub/index.html"
    printf 'c\n' >"$ROOT/a/b/c.txt"
    printf 'spaced\n' >"$ROOT/my docs/index.html"
    printf '[core]\n' >"$ROOT/.git/config"
    printf 'x\n' >"$ROOT/docs/<b>&\"'.txt"
    printf 'y\n' >"$ROOT/docs/plain.txt"
    printf 'body { }\n' >"$ROOT/style.css"
    printf 'a file called hello\n' >"$ROOT/hello"
    printf 'no extension\n' >"$ROOT/LICENSE"
    ln -s hello.txt "$ROOT/link-inside"
    ln -s sub "$ROOT/link-dir-inside"
    ln -s ../secret.txt "$ROOT/link-outside"
    ln -s "$BASE/secret.txt" "$ROOT/link-absolute"
    ln -s ../outside "$ROOT/dir-outside"
    ln -s .. "$ROOT/dir-up"
    ln -s "$BASE/secret.txt" "$ROOT/sub/deep-link"
    mkfifo "$ROOT/fifo"
    # 0123456789 repeated: byte N is N % 10, so any range can be checked.
    : >"$ROOT/digits.txt"
    for _ in $(seq 1 100); do printf '0123456789' >>"$ROOT/digits.txt"; done
    TZ=UTC touch -t 199411060849.37 "$ROOT/hello.txt"
}

# field_lines FILE: the fields of a `curl -D` dump but Date (which changes
# between two requests), CRs removed, names in lower case.
field_lines() {
    tr -d '\r' <"$1" | grep -v '^$' | grep -vi '^date:' |
        awk -F': ' '{ printf "%s: %s\n", tolower($1), substr($0, length($1) + 3) }'
}

field() { # field FILE NAME -> the first value of NAME in a `curl -D` dump
    tr -d '\r' <"$1" | grep -i "^$2:" | head -n 1 | sed 's/^[^:]*: //'
}

# raw_get TARGET [METHOD]: sends the target exactly as given (no client
# tidies it up) and sets RAW_STATUS and RAW_BODY. Bounded by read timeouts.
raw_get() {
    local line status="" body="" in_body=0
    exec 5<>"/dev/tcp/$SERVER_HOST/$SERVER_PORT"
    printf '%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
        "${2:-GET}" "$1" >&5
    while IFS= read -r -t 10 line <&5 || [ -n "$line" ]; do
        line=${line%$'\r'}
        if [ -z "$status" ]; then
            status=$(cut -d' ' -f2 <<<"$line")
        elif [ "$in_body" -eq 1 ]; then
            body+="$line"$'\n'
        elif [ -z "$line" ]; then
            in_body=1
        fi
    done
    exec 5<&-
    RAW_STATUS=$status
    RAW_BODY=$body
}

# children_of PID: the processes whose parent is PID, from /proc.
children_of() {
    local status
    for status in /proc/[0-9]*/status; do
        if grep -qx "PPid:[[:space:]]*$1" "$status" 2>/dev/null; then
            status=${status#/proc/}
            echo "${status%/status}"
        fi
    done
}

@test "unit: the path normaliser's table" {
    run_unit test_static_path
}

@test "unit: traversal, listing, conditionals, ranges and sendfile" {
    run_unit test_static_file
}

@test "unit: the small-file cache misses once its file changes" {
    run_unit test_static_cache
}

@test "unit: HTTP dates, three formats in, IMF-fixdate out" {
    run_unit test_http_date
}

@test "httpd --root wants a directory, and --list-dirs wants --root" {
    make_root
    local args
    for args in "--root $ROOT/hello.txt" "--root $BASE/nothing" "--list-dirs"; do
        # shellcheck disable=SC2086 # one word per flag and value
        run --separate-stderr "$BIN/httpd" -p 0 $args
        [ "$status" -ne 0 ] || { echo "accepted: $args"; return 1; }
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
        grep -q '^httpd: ' <<<"$stderr"
    done
    run "$BIN/httpd" --help
    grep -q -- '--list-dirs' <<<"$output"
}

@test "static: GET sends the file with its type, length and validators" {
    need_curl
    make_root
    start_server httpd --root "$ROOT"
    run curl -sS -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/body" \
        -w '%{http_code}' "$(url /hello.txt)"
    [ "$output" = 200 ]
    cmp "$BATS_TEST_TMPDIR/body" "$ROOT/hello.txt"
    [ "$(field "$BATS_TEST_TMPDIR/h" content-type)" = "text/plain; charset=utf-8" ]
    [ "$(field "$BATS_TEST_TMPDIR/h" x-content-type-options)" = nosniff ]
    [ "$(field "$BATS_TEST_TMPDIR/h" content-length)" = 13 ]
    [ "$(field "$BATS_TEST_TMPDIR/h" last-modified)" = "Sun, 06 Nov 1994 08:49:37 GMT" ]
    [[ "$(field "$BATS_TEST_TMPDIR/h" etag)" =~ ^\"[0-9a-f.-]+\"$ ]]
    [ "$(field "$BATS_TEST_TMPDIR/h" accept-ranges)" = bytes ]
    run curl -sS -o /dev/null -w '%{content_type}' "$(url /style.css)"
    [ "$output" = "text/css; charset=utf-8" ]
    run curl -sS "$(url /)"
    [ "$output" = "<h1>home</h1>" ]
    # An unknown extension, and a file without one: octet-stream.
    run curl -sS -o /dev/null -w '%{content_type}' "$(url /LICENSE)"
    [ "$output" = application/octet-stream ]
    # A percent-encoded name is decoded once.
    run curl -sS "$(url /%68ello.txt)"
    [ "$output" = "hello, world" ]
}

@test "static: HEAD sends exactly GET's fields and no body" {
    need_curl
    make_root
    start_server httpd --root "$ROOT"
    local f
    for f in /hello.txt /index.html /digits.txt / /sub /nothing.txt; do
        curl -sS -D "$BATS_TEST_TMPDIR/get" -o /dev/null "$(url "$f")"
        curl -sS -I -o "$BATS_TEST_TMPDIR/head" "$(url "$f")"
        diff <(field_lines "$BATS_TEST_TMPDIR/get") \
            <(field_lines "$BATS_TEST_TMPDIR/head")
    done
    # Over a raw socket: the status, then the connection closes with not
    # a byte of body.
    raw_get /hello.txt HEAD
    [ "$RAW_STATUS" = 200 ]
    [ -z "$RAW_BODY" ]
    probe --head "HEAD /digits.txt HTTP/1.1\r\n${H}\r\nHEAD /hello.txt HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "200 OK" ]
    [ "${lines[2]}" = "closed" ]
}

@test "static: the routes win over files; other methods on a file get 405" {
    need_curl
    make_root
    start_server httpd --root "$ROOT"
    run curl -sS "$(url /hello)" # a route, though a file has the name
    [ "$output" = "Hello, world!" ]
    run curl -sS -d ping "$(url /echo)"
    [ "$output" = ping ]
    run curl -sS "$(url /stats)"
    [[ "$output" == '{"uptime_seconds": '* ]]
    run curl -si -X POST -d x "$(url /hello.txt)"
    grep -q $'^HTTP/1.1 405 Method Not Allowed\r$' <<<"$output"
    grep -q $'^Allow: GET, HEAD, OPTIONS\r$' <<<"$output"
    # A method no route takes anywhere is the framework's 501.
    run curl -si -X DELETE "$(url /hello.txt)"
    grep -q $'^HTTP/1.1 501 Not Implemented\r$' <<<"$output"
    run curl -sS -o /dev/null -w '%{http_code}' "$(url /nothing.txt)"
    [ "$output" = 404 ]
}

@test "static: If-None-Match and If-Modified-Since give 304 without a body" {
    need_curl
    make_root
    # Every request checks the file, so the change at the end shows at once.
    start_server httpd --root "$ROOT" --cache-valid 0
    curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null "$(url /hello.txt)"
    local etag lm
    etag=$(field "$BATS_TEST_TMPDIR/h" etag)
    lm=$(field "$BATS_TEST_TMPDIR/h" last-modified)

    run curl -sS -D "$BATS_TEST_TMPDIR/h304" -o "$BATS_TEST_TMPDIR/b" \
        -w '%{http_code}' -H "If-None-Match: $etag" "$(url /hello.txt)"
    [ "$output" = 304 ]
    [ ! -s "$BATS_TEST_TMPDIR/b" ]
    [ "$(field "$BATS_TEST_TMPDIR/h304" etag)" = "$etag" ]
    [ -z "$(field "$BATS_TEST_TMPDIR/h304" content-length)" ]
    run curl -sS -o /dev/null -w '%{http_code}' \
        -H "If-None-Match: \"other\", W/$etag" "$(url /hello.txt)"
    [ "$output" = 304 ]
    run curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: *" \
        "$(url /hello.txt)"
    [ "$output" = 304 ]
    run curl -sS -o /dev/null -w '%{http_code}' -H "If-Modified-Since: $lm" \
        "$(url /hello.txt)"
    [ "$output" = 304 ]
    run curl -sS -o /dev/null -w '%{http_code}' \
        -H "If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT" "$(url /hello.txt)"
    [ "$output" = 304 ]
    run curl -sS -o /dev/null -w '%{http_code}' \
        -H "If-Modified-Since: Sun Nov  6 08:49:37 1994" "$(url /hello.txt)"
    [ "$output" = 304 ]
    run curl -sS -o /dev/null -w '%{http_code}' \
        -H "If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT" "$(url /hello.txt)"
    [ "$output" = 200 ]
    # If-None-Match wins: a tag that differs means 200, whatever the date.
    run curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' \
        -H "If-Modified-Since: $lm" "$(url /hello.txt)"
    [ "$output" = 200 ]
    # An invalid date is ignored.
    run curl -sS -o /dev/null -w '%{http_code}' \
        -H "If-Modified-Since: yesterday" "$(url /hello.txt)"
    [ "$output" = 200 ]
    # If-Match with another tag: 412.
    run curl -sS -o /dev/null -w '%{http_code}' -H 'If-Match: "other"' \
        "$(url /hello.txt)"
    [ "$output" = 412 ]
    # A file that changes gets a new tag.
    printf 'hello, again\n' >"$ROOT/hello.txt"
    run curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" \
        "$(url /hello.txt)"
    [ "$output" = 200 ]
}

@test "static: a small file served from memory shows each change at once with --cache-valid 0" {
    need_curl
    make_root
    start_server httpd --root "$ROOT" --cache-valid 0
    run curl -sS "$(url /style.css)"
    [ "$output" = 'body { }' ]
    run curl -sS "$(url /style.css)" # the second one comes from the cache
    [ "$output" = 'body { }' ]
    printf 'p { }\n' >"$ROOT/style.css"
    run curl -sS "$(url /style.css)"
    [ "$output" = 'p { }' ]
    # The same length, new bytes: the modification time tells.
    printf 'a { }\n' >"$ROOT/style.css"
    TZ=UTC touch -t 200001010000.00 "$ROOT/style.css"
    run curl -sS "$(url /style.css)"
    [ "$output" = 'a { }' ]
    chmod 000 "$ROOT/style.css"
    if [ "$(id -u)" != 0 ]; then # root reads it anyway
        run curl -sS -o /dev/null -w '%{http_code}' "$(url /style.css)"
        [ "$output" = 403 ]
    fi
    rm -f "$ROOT/style.css"
    run curl -sS -o /dev/null -w '%{http_code}' "$(url /style.css)"
    [ "$output" = 404 ]
    ln -s hello.txt "$ROOT/style.css"
    run curl -sS -o /dev/null -w '%{http_code}' "$(url /style.css)"
    [ "$output" = 403 ]
}

@test "static: with --cache-valid, a change shows within the window and stays" {
    need_curl
    make_root
    start_server httpd --root "$ROOT" --cache-valid 300
    printf 'body { }\n' >"$ROOT/style.css"
    run curl -sS "$(url /style.css)"
    [ "$output" = 'body { }' ]
    printf 'p { }\n' >"$ROOT/style.css"
    local changed=$EPOCHREALTIME
    # Asked again and again: the old answer for a while, then the new one
    # for good, within the window (and some slack for a busy machine).
    local seen=old elapsed_ms
    while :; do
        run curl -sS "$(url /style.css)"
        elapsed_ms=$(awk -v a="$changed" -v b="$EPOCHREALTIME" \
            'BEGIN { printf "%d", (b - a) * 1000 }')
        if [ "$output" = 'p { }' ]; then
            seen=new
        elif [ "$seen" = new ]; then
            echo "the old bytes came back after the new ones" >&2
            return 1
        else
            [ "$output" = 'body { }' ]
        fi
        [ "$elapsed_ms" -lt 1500 ] || break
        [ "$seen" = new ] && [ "$elapsed_ms" -gt 600 ] && break
    done
    [ "$seen" = new ]
}

@test "static: one range is 206 with Content-Range; each form" {
    need_curl
    make_root
    start_server httpd --root "$ROOT"
    local spec expect_range expect_body
    while read -r spec expect_range expect_body; do
        expect_range=${expect_range//_/ }
        run curl -sS -D "$BATS_TEST_TMPDIR/h" -w '%{http_code}' \
            -H "Range: $spec" "$(url /digits.txt)" -o "$BATS_TEST_TMPDIR/b"
        [ "$output" = 206 ] || { echo "$spec: $output"; return 1; }
        [ "$(field "$BATS_TEST_TMPDIR/h" content-range)" = "$expect_range" ]
        [ "$(field "$BATS_TEST_TMPDIR/h" content-length)" = "${#expect_body}" ]
        [ "$(cat "$BATS_TEST_TMPDIR/b")" = "$expect_body" ] ||
            { echo "$spec: $(cat "$BATS_TEST_TMPDIR/b")"; return 1; }
    done <<'TABLE'
bytes=0-0 bytes_0-0/1000 0
bytes=3-7 bytes_3-7/1000 34567
bytes=995- bytes_995-999/1000 56789
bytes=-4 bytes_996-999/1000 6789
bytes=998-5000 bytes_998-999/1000 89
TABLE
    # If-Range with the current tag: the range; with another: the whole file.
    local etag
    curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null "$(url /digits.txt)"
    etag=$(field "$BATS_TEST_TMPDIR/h" etag)
    run curl -sS -o /dev/null -w '%{http_code} %{size_download}' \
        -H 'Range: bytes=0-9' -H "If-Range: $etag" "$(url /digits.txt)"
    [ "$output" = "206 10" ]
    run curl -sS -o /dev/null -w '%{http_code} %{size_download}' \
        -H 'Range: bytes=0-9' -H 'If-Range: "old"' "$(url /digits.txt)"
    [ "$output" = "200 1000" ]
}

@test "static: unsatisfiable ranges are 416; others are ignored" {
    need_curl
    make_root
    start_server httpd --root "$ROOT"
    run curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null -w '%{http_code}' \
        -H 'Range: bytes=1000-' "$(url /digits.txt)"
    [ "$output" = 416 ]
    [ "$(field "$BATS_TEST_TMPDIR/h" content-range)" = "bytes */1000" ]
    run curl -sS -o /dev/null -w '%{http_code}' -H 'Range: bytes=-0' \
        "$(url /digits.txt)"
    [ "$output" = 416 ]
    local spec
    # Several ranges: the whole file (no multipart); a unit that is not
    # bytes, or a range that does not parse: ignored.
    for spec in 'bytes=0-1,5-6' 'items=0-5' 'bytes=5-3' 'bytes=abc'; do
        run curl -sS -o "$BATS_TEST_TMPDIR/b" -w '%{http_code}' \
            -H "Range: $spec" "$(url /digits.txt)"
        [ "$output" = 200 ] || { echo "$spec: $output"; return 1; }
        cmp "$BATS_TEST_TMPDIR/b" "$ROOT/digits.txt"
    done
}

@test "static: directories: index.html, 301 without the slash, no listing" {
    need_curl
    make_root
    start_server httpd --root "$ROOT"
    run curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null -w '%{http_code}' \
        "$(url /sub)"
    [ "$output" = 301 ]
    [ "$(field "$BATS_TEST_TMPDIR/h" location)" = /sub/ ]
    run curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null -w '%{http_code}' \
        "$(url /my%20docs)"
    [ "$output" = 301 ]
    [ "$(field "$BATS_TEST_TMPDIR/h" location)" = /my%20docs/ ]
    run curl -sSL "$(url /my%20docs)"
    [ "$output" = spaced ]
    run curl -sS "$(url /sub/)"
    [ "$output" = sub ]
    run curl -sS -o /dev/null -w '%{http_code}' "$(url /docs/)"
    [ "$output" = 403 ]
    # A file is not a directory.
    run curl -sS -o /dev/null -w '%{http_code}' "$(url /hello.txt/)"
    [ "$output" = 404 ]
}

@test "static: a 2,040-byte directory path without its slash gets 301, however long its Location" {
    need_curl
    make_root
    local seg path="" spaced="" i
    seg=$(printf 'd%.0s' {1..254})
    for i in 1 2 3 4 5 6 7 8; do path+="/$seg"; done # 2,040 bytes
    mkdir -p "$ROOT$path"
    echo deep >"$ROOT$path/index.html"
    # the same depth in names of spaces: a Location of over 6 KiB
    seg=$(printf ' %.0s' {1..254})
    for i in 1 2 3 4 5 6 7 8; do spaced+="/$seg"; done
    mkdir -p "$ROOT$spaced"
    start_server httpd --root "$ROOT"
    run curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null -w '%{http_code}' \
        "$(url "$path")"
    [ "$output" = 301 ]
    [ "$(field "$BATS_TEST_TMPDIR/h" location)" = "$path/" ]
    run curl -sSL "$(url "$path")"
    [ "$output" = deep ]
    run curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null -w '%{http_code}' \
        "$(url "${spaced// /%20}")"
    [ "$output" = 301 ]
    [ "$(field "$BATS_TEST_TMPDIR/h" location)" = "${spaced// /%20}/" ]
    # the next answer on the server is as small as ever
    run curl -sS "$(url /sub/)"
    [ "$output" = sub ]
}

@test "static: --list-dirs lists a directory with escaped names" {
    need_curl
    make_root
    start_server httpd --root "$ROOT" --list-dirs
    run curl -sS -D "$BATS_TEST_TMPDIR/h" "$(url /docs/)"
    [ "$status" -eq 0 ]
    [[ "$(field "$BATS_TEST_TMPDIR/h" content-type)" == text/html* ]]
    [[ "$output" == *'&lt;b&gt;&amp;&quot;&#39;.txt'* ]]
    [[ "$output" == *'href="/docs/plain.txt"'* ]]
    [[ "$output" == *'href="/docs/inner/"'* ]]
    [[ "$output" != *'<b>'* ]]
    # The root's listing shows no dotfile, no link, no FIFO.
    run curl -sS "$(url /a/)"
    [[ "$output" == *'href="/a/b/"'* ]]
    rm "$ROOT/index.html"
    run curl -sS "$(url /)"
    [[ "$output" == *'href="/hello.txt"'* ]]
    [[ "$output" != *'.git'* ]]
    [[ "$output" != *'link-'* ]]
    [[ "$output" != *'fifo'* ]]
}

@test "static: --list-dirs cuts a huge listing, by count and by bytes, and says so" {
    need_curl
    make_root
    local pad many="$ROOT/many" deep="" seg i
    pad=$(printf 'n%.0s' {1..200})
    mkdir "$many"
    (cd "$many" && seq -f "$pad-%05g" 1 3000 | xargs touch)
    seg=$(printf 'd%.0s' {1..254})
    for i in 1 2 3 4 5 6 7 8; do deep+="/$seg"; done
    mkdir -p "$ROOT$deep"
    (cd "$ROOT$deep" && seq -f "$pad-%05g" 1 600 | xargs touch)
    start_server httpd --root "$ROOT" --list-dirs
    # 3,000 names: the first 1,000 read are listed
    run curl -sS -o "$BATS_TEST_TMPDIR/list" -w '%{http_code}' "$(url /many/)"
    [ "$output" = 200 ]
    [ "$(grep -c "^<li><a href=\"/many/$pad-" "$BATS_TEST_TMPDIR/list")" -eq 1000 ]
    grep -q '^<p>The listing is cut: only 1000 entries are shown.</p>$' \
        "$BATS_TEST_TMPDIR/list"
    # 600 names under a 2,040-byte path: over 1 MiB of page before 600
    run curl -sS -o "$BATS_TEST_TMPDIR/list" -w '%{http_code}' \
        "$(url "$deep/")"
    [ "$output" = 200 ]
    local shown
    shown=$(grep -c '^<li><a href="/d' "$BATS_TEST_TMPDIR/list")
    [ "$shown" -lt 600 ] && [ "$shown" -gt 100 ]
    grep -q "^<p>The listing is cut: only $shown entries are shown.</p>\$" \
        "$BATS_TEST_TMPDIR/list"
    [ "$(wc -c <"$BATS_TEST_TMPDIR/list")" -lt $((1024 * 1024 + 8192)) ]
    # a listing that fits is not cut
    run curl -sS "$(url /docs/)"
    [[ "$output" != *'listing is cut'* ]]
}

@test "static: no traversal spelling reaches a file outside the root" {
    make_root
    start_server httpd --root "$ROOT"
    local target expect
    local -i tried=0
    while read -r target expect; do
        raw_get "$target"
        tried+=1
        if [ "$RAW_STATUS" != "$expect" ] || [[ "$RAW_BODY" == *SECRET* ]]; then
            echo "$target: got $RAW_STATUS, expected $expect" >&2
            return 1
        fi
    done <<'TABLE'
/../secret.txt 400
/..%2fsecret.txt 400
/..%2Fsecret.txt 400
/%2e%2e/secret.txt 400
/%2E%2e/secret.txt 400
/%2e%2e%2fsecret.txt 400
/.%2e/secret.txt 400
/./../secret.txt 400
//../secret.txt 400
/./sub/./../../ 400
/a/../../secret.txt 400
/a/b/../../../secret.txt 400
/hello.txt/../../secret.txt 400
/docs/%2e%2e/%2e%2e/secret.txt 400
/..%5csecret.txt 400
/%5c..%5csecret.txt 400
/%252e%252e/secret.txt 404
/..%252fsecret.txt 404
/%c0%ae%c0%ae/secret.txt 400
/%e0%80%ae%e0%80%ae/secret.txt 400
/%c0%af../secret.txt 400
/hello.txt%00.html 400
/%00 400
/%2 400
/%zz/secret.txt 400
/..;/secret.txt 404
/.../secret.txt 404
http://localhost/../secret.txt 400
http://localhost/%2e%2e/secret.txt 400
/link-inside 403
/link-dir-inside/index.html 403
/link-outside 403
/link-absolute 403
/dir-outside/secret2.txt 403
/dir-up/secret.txt 403
/sub/deep-link 403
/fifo 403
/.git/config 404
/%2egit/config 404
/.git 404
/hello.txt 200
/a/b/../../hello.txt 200
TABLE
    [ "$tried" -ge 40 ]
    # Backslashes are refused by the request parser or by the normaliser.
    raw_get '/..\secret.txt'
    [ "$RAW_STATUS" = 400 ]
    raw_get '/\..\secret.txt'
    [ "$RAW_STATUS" = 400 ]
    # And the server is still there.
    raw_get /hello.txt
    [ "$RAW_STATUS" = 200 ]
    [ "$RAW_BODY" = $'hello, world\n' ]
}

@test "static: keep-alive and pipelining carry file bodies one after another" {
    need_curl
    make_root
    start_server httpd --root "$ROOT"
    run curl -sv -o "$BATS_TEST_TMPDIR/1" "$(url /digits.txt)" \
        -o "$BATS_TEST_TMPDIR/2" "$(url /hello.txt)"
    grep -q 'Re-using existing connection' <<<"$output"
    cmp "$BATS_TEST_TMPDIR/1" "$ROOT/digits.txt"
    cmp "$BATS_TEST_TMPDIR/2" "$ROOT/hello.txt"
    probe --bodies "GET /sub/ HTTP/1.1\r\n${H}\r\nGET /digits.txt HTTP/1.1\r\n${H}Range: bytes=10-14\r\n\r\nGET /nothing HTTP/1.1\r\n${H}\r\nGET /hello HTTP/1.1\r\n${H}Connection: close\r\n\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[1]}" = "sub" ]
    [ "${lines[2]}" = "206 Partial Content" ]
    [ "${lines[3]}" = "01234404 Not Found" ]
    [ "${lines[4]}" = $'Not Found\r' ]
    [ "${lines[5]}" = "200 OK" ]
    [ "${lines[6]}" = "Hello, world!" ]
    [ "${lines[7]}" = "closed" ]
}

@test "static: a 100 MB file streams with the server's memory unchanged" {
    need_curl
    make_root
    head -c 104857600 /dev/urandom >"$ROOT/big.bin"
    start_server httpd --root "$ROOT" --workers 1
    curl -sS -o /dev/null "$(url /hello.txt)" # warm up
    local rss peak_before peak_after sum
    rss=$(server_kib VmRSS)
    peak_before=$(server_kib VmHWM)
    sum=$(curl -sS "$(url /big.bin)" | cksum)
    [ "$sum" = "$(cksum <"$ROOT/big.bin")" ]
    peak_after=$(server_kib VmHWM)
    echo "# resident $rss KiB before; peak $peak_before KiB before, $peak_after KiB after 100 MB" >&3
    [ "$((peak_after - peak_before))" -lt 4096 ]
    # The end of it, through the same path.
    run curl -sS -o "$BATS_TEST_TMPDIR/tail" -w '%{http_code} %{size_download}' \
        -H 'Range: bytes=104857000-' "$(url /big.bin)"
    [ "$output" = "206 600" ]
    cmp "$BATS_TEST_TMPDIR/tail" <(tail -c 600 "$ROOT/big.bin")
}

@test "static: a client that stops reading holds neither the loop nor memory" {
    need_curl
    make_root
    dd if=/dev/zero of="$ROOT/big.bin" bs=1048576 count=0 seek=100 2>/dev/null
    start_server httpd --root "$ROOT" --workers 1 \
        --access-log "$BATS_TEST_TMPDIR/access.log"
    curl -sS -o /dev/null "$(url /hello.txt)"
    local peak_before peak_after
    peak_before=$(server_kib VmHWM)
    # A request for 100 MB whose answer is never read, on the only worker.
    in_background "$BATS_TEST_TMPDIR/stalled.out" "$BIN/http-probe" \
        -p "$SERVER_PORT" --no-read 20000 --wait 20000 \
        "GET /big.bin HTTP/1.1\r\n${H}\r\n"
    wait_for_line "$BATS_TEST_TMPDIR/access.log" '"GET /big.bin HTTP/1.1" 200'
    # Meanwhile the other clients are served at once.
    for _ in 1 2 3 4 5; do
        run curl -sS -m 5 "$(url /hello.txt)"
        [ "$output" = "hello, world" ]
    done
    peak_after=$(server_kib VmHWM)
    echo "# peak $peak_before KiB before, $peak_after KiB with a stalled reader" >&3
    [ "$((peak_after - peak_before))" -lt 4096 ]
}

@test "static: every file descriptor is closed: sent, refused, cut off or stalled" {
    need_curl
    make_root
    dd if=/dev/zero of="$ROOT/big.bin" bs=1048576 count=0 seek=100 2>/dev/null
    start_server httpd --root "$ROOT" --list-dirs --send-timeout 300
    local base
    base=$(server_fds) # the listener, the loops' own, the root: no client yet
    for _ in 1 2 3; do
        curl -sS -o /dev/null "$(url /hello.txt)" "$(url /digits.txt)" \
            "$(url /sub)" "$(url /docs/)" "$(url /nothing)" "$(url /link-inside)"
        curl -sS -o /dev/null -I "$(url /digits.txt)"
        curl -sS -o /dev/null -H 'If-None-Match: *' "$(url /digits.txt)"
        curl -sS -o /dev/null -H 'Range: bytes=5000-' "$(url /digits.txt)"
    done
    # A client that reads a little of 100 MB and leaves.
    curl -sS -o /dev/null --max-filesize 1 -r 0-99999999 "$(url /big.bin)" || true
    curl -sS -o /dev/null -m 0.5 --limit-rate 100k "$(url /big.bin)" || true
    # One that stops reading: dropped after --send-timeout.
    probe --no-read 2000 --wait 3000 "GET /big.bin HTTP/1.1\r\n${H}\r\n"
    [ "${lines[0]}" = "200 OK" ]
    [ "${lines[-1]}" = "closed" ]
    wait_for_fds "$base" at-most
}

@test "static: SIGTERM with a file half sent: exit 0 within --shutdown-timeout" {
    make_root
    dd if=/dev/zero of="$ROOT/big.bin" bs=1048576 count=0 seek=100 2>/dev/null
    start_server httpd --root "$ROOT" --shutdown-timeout 500 \
        --access-log "$BATS_TEST_TMPDIR/access.log"
    in_background "$BATS_TEST_TMPDIR/stalled.out" "$BIN/http-probe" \
        -p "$SERVER_PORT" --no-read 20000 --wait 20000 \
        "GET /big.bin HTTP/1.1\r\n${H}\r\n"
    wait_for_line "$BATS_TEST_TMPDIR/access.log" '"GET /big.bin HTTP/1.1" 200'
    local before=$SECONDS
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    [ $((SECONDS - before)) -lt 5 ]
}

# --- the course site ----------------------------------------------------------------------

@test "build-site.sh lists every chapter, its lesson, the form and /stats" {
    local site="$BATS_TEST_TMPDIR/site" dir name count=0
    run sh "$SITE_SCRIPT" "$site"
    [ "$status" -eq 0 ]
    for dir in "$NIO_ROOT"/chapters/[0-9][0-9]-*/; do
        name=$(basename "$dir")
        count=$((count + 1))
        grep -q "chapters/$name/" "$site/index.html"
        if [ -f "$dir/README.md" ]; then
            grep -q "href=\"chapters/$name/README.html\"" "$site/index.html"
            [ -s "$site/chapters/$name/README.html" ]
            cmp "$dir/README.md" "$site/chapters/$name/README.md"
        fi
    done
    [ "$(grep -c '^<li value=' "$site/index.html")" -eq "$count" ]
    grep -q '<form id="echo-form" method="post" action="/echo"' "$site/index.html"
    grep -q 'href="/stats"' "$site/index.html"
    # It rebuilds its own folder, and leaves anybody else's alone.
    run sh "$SITE_SCRIPT" "$site"
    [ "$status" -eq 0 ]
    mkdir "$BATS_TEST_TMPDIR/mine"
    touch "$BATS_TEST_TMPDIR/mine/precious"
    run sh "$SITE_SCRIPT" "$BATS_TEST_TMPDIR/mine"
    [ "$status" -ne 0 ]
    [ -f "$BATS_TEST_TMPDIR/mine/precious" ]
}

# md_count FILE WHAT: how many list items or tables a Markdown file has,
# outside its code blocks: what a converter must turn into <li> and <table>.
md_count() {
    awk -v what="$2" '
        /^[ \t]*```/ { fence = !fence; next }
        fence { next }
        what == "li" && /^ *([-*+]|[0-9]+[.)]) / { n++ }
        what == "table" && /^[ \t]*\|[ \t]*:?-+/ { n++ }
        END { print n + 0 }' "$1"
}

@test "the site's Markdown: paragraphs, lists, tables, code and emphasis" {
    local md="$BATS_TEST_TMPDIR/t.md" page="$BATS_TEST_TMPDIR/t.html" name
    cat >"$md" <<'MD'
# A *title*

Two lines of
one paragraph, with `a < b`, **strong**, *emphasis* and [a link](x.md#y).

- first
- second, which
  goes on
  1. nested `x`
  2. nested y
- third

| Java | C |
|---|--:|
| `flip()` | `buffer_flip` \| `a | b` |

```c
int *p = &x; /* **not bold** */
```
<!-- excerpt: some/file.c#name -->
MD
    awk -v title=T -v raw=t.md -f "$NIO_ROOT/chapters/07-http-server/site/markdown.awk" \
        "$md" >"$page"
    grep -qx '<h1 id="a-title">A <em>title</em></h1>' "$page"
    grep -qx '<p>Two lines of' "$page"
    grep -qx 'one paragraph, with <code>a &lt; b</code>, <strong>strong</strong>, <em>emphasis</em> and <a href="x.html#y">a link</a>.</p>' "$page"
    [ "$(grep -c '^<ul>$' "$page")" -eq 1 ]
    [ "$(grep -c '^<ol>$' "$page")" -eq 1 ]
    [ "$(grep -c '^<li>$' "$page")" -eq 5 ]
    [ "$(grep -c '^</li></ol>$' "$page")" -eq 1 ]
    grep -qx 'nested <code>x</code>' "$page"
    grep -qF '<tr><th>Java</th><th style="text-align: right">C</th></tr>' "$page"
    grep -qF '<tr><td><code>flip()</code></td><td style="text-align: right"><code>buffer_flip</code> | <code>a | b</code></td></tr>' "$page"
    grep -qF '<pre class="code"><code class="language-c">int *p = &amp;x; /* **not bold** */' "$page"
    run grep -c 'excerpt\|^- \|^<p>- ' "$page"
    [ "$output" = 0 ]
    # Every lesson: each list item and each table of the Markdown is one
    # in the page, and no line is left as a literal "- " item.
    sh "$SITE_SCRIPT" "$BATS_TEST_TMPDIR/site" >/dev/null
    for md in "$NIO_ROOT"/chapters/[0-9][0-9]-*/README.md; do
        name=$(basename "$(dirname "$md")")
        page="$BATS_TEST_TMPDIR/site/chapters/$name/README.html"
        [ "$(grep -c '^<li>$' "$page")" -eq "$(md_count "$md" li)" ] ||
            { echo "$name: list items differ"; return 1; }
        [ "$(grep -c '^<table>' "$page")" -eq "$(md_count "$md" table)" ] ||
            { echo "$name: tables differ"; return 1; }
        if grep -q '^<p>- ' "$page"; then echo "$name: a literal list"; return 1; fi
    done
}

@test "make run builds the site and serves it with httpd" {
    need_curl
    local out="$BATS_TEST_TMPDIR/run.out" err="$BATS_TEST_TMPDIR/run.err"
    # PORT=0: any free port; httpd prints the one it got. The same build
    # settings, so that nothing is rebuilt differently into this folder.
    make -s -C "$NIO_ROOT" BUILD="$NIO_BUILD" ${NIO_SAN:+SAN=$NIO_SAN} \
        ${NIO_OPT:+OPT=$NIO_OPT} PORT=0 run >"$out" 2>"$err" 3>&- &
    local make_pid=$! port server
    BG_PIDS+=("$make_pid") # on SIGTERM, make passes it on to httpd
    wait_for_line "$out" '^listening on 127\.0\.0\.1:[0-9]+$' 60 "$make_pid"
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
    # The recipe execs httpd: it is make's child. Stopped by its PID.
    server=$(children_of "$make_pid")
    [ -n "$server" ]
    [ "$(cat "/proc/$server/comm")" = httpd ]
    run curl -sS "http://127.0.0.1:$port/"
    [[ "$output" == *'id="chapters"'* ]]
    [[ "$output" == *'action="/echo"'* ]]
    run curl -sS -d 'message=hi' "http://127.0.0.1:$port/echo"
    [ "$output" = "message=hi" ]
    run curl -sS -o /dev/null -w '%{http_code}' \
        "http://127.0.0.1:$port/chapters/07-http-server/README.html"
    [ "$output" = 200 ]
    kill -TERM "$server"
    wait_pid "$make_pid"
    if kill -0 "$server" 2>/dev/null; then
        echo "httpd ($server) outlived make" >&2
        return 1
    fi
    grep -q '^serving the course; open the address httpd prints' "$out"
    [ -s "$NIO_BUILD/site/index.html" ]
}

@test "the course site renders in headless Chromium and /echo round-trips" {
    sh "$BROWSER" find >/dev/null 2>&1 ||
        skip "Chromium is not installed (sudo apt-get install chromium)"
    local site="$BATS_TEST_TMPDIR/site" nonce="echo-$RANDOM-$$" dir lesson
    local -i chapters=0
    sh "$SITE_SCRIPT" "$site" >/dev/null
    start_server httpd --root "$site"
    run sh "$BROWSER" dom "$(url /)"
    [ "$status" -eq 0 ]
    [[ "$output" == *'id="chapters"'* ]]
    for dir in "$NIO_ROOT"/chapters/[0-9][0-9]-*/; do chapters+=1; done
    [ "$(grep -o '<li value=' <<<"$output" | wc -l)" -eq "$chapters" ]
    # A lesson, as the browser built it: its Java <-> C table is a table
    # (a header cell, then a row of cells) and its lists are lists.
    lesson=chapters/03-selector/README.html
    run sh "$BROWSER" dom "$(url "/$lesson")"
    [ "$status" -eq 0 ]
    [[ "$output" == *'<th>Java</th><th>C (<code>selector.h</code>)</th>'* ]]
    [[ "$output" == *'<tr><td><code>Selector.open()</code></td><td><code>selector_open(SELECTOR_BACKEND_EPOLL)</code>'* ]]
    [[ "$output" == *'<ul>'*'<li>'*'the <strong>key set</strong> (<code>keys()</code>)'*'</li>'* ]]
    [ "$(grep -c '<li>' <<<"$output")" -eq \
        "$(md_count "$NIO_ROOT/chapters/03-selector/README.md" li)" ]
    [[ "$output" != *'<p>- '* ]]
    # The form posts to /echo and the browser shows what came back.
    run sh "$BROWSER" dom "$(url "/echo-check.html?$nonce")"
    [ "$status" -eq 0 ]
    [[ "$output" == *"message=$nonce"* ]]
    mkdir -p "$NIO_BUILD/screenshots"
    sh "$BROWSER" screenshot "$(url /)" "$NIO_BUILD/screenshots/07-course-site.png"
    [ -s "$NIO_BUILD/screenshots/07-course-site.png" ]
    sh "$BROWSER" screenshot "$(url "/$lesson")" "$NIO_BUILD/screenshots/07-lesson-page.png"
    [ -s "$NIO_BUILD/screenshots/07-lesson-page.png" ]
}

# --- conformance and transcript -----------------------------------------------------------

CASES="$NIO_ROOT/tests/http-cases"

@test "conformance: the course's HTTP cases, with and without --root" {
    local -i count
    count=$(grep -c $'^[a-z0-9].*\t' "$CASES/cases.txt")
    [ "$count" -ge 90 ]
    # As make run serves: files from --root answer every path no route has.
    make_root
    start_server httpd --access-log off --root "$ROOT"
    run bash "$CASES/run-cases.bash" "$BIN/http-probe" "$SERVER_PORT" "$CASES/cases.txt"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [ "${lines[-1]}" = "$count passed, 0 failed" ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    # Routes only: a path that climbs is then simply not found.
    start_server httpd --access-log off
    run bash "$CASES/run-cases.bash" "$BIN/http-probe" "$SERVER_PORT" \
        "$CASES/cases.txt" --skip root-
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [[ "${lines[-1]}" == *" passed, 0 failed" ]]
}

@test "conformance: the case runner fails a wrong answer, and says why" {
    local cases="$BATS_TEST_TMPDIR/cases.txt"
    printf '%s\t%s\t%s\n' \
        served-but-expected-400 '400 close' 'GET /hello HTTP/1.1\r\nHost: a\r\n\r\n' \
        refused-but-expected-ok 'ok 1' 'GET /hello HTTP/1.1\r\n\r\n' \
        two-asked-one-sent 'ok 2' 'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' \
        right 'ok 1' 'GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' \
        >"$cases"
    start_server httpd --access-log off
    run bash "$CASES/run-cases.bash" "$BIN/http-probe" "$SERVER_PORT" "$cases"
    [ "$status" -eq 1 ]
    [ "${lines[0]}" = "not ok served-but-expected-400: status 200, expected 400" ]
    [ "${lines[1]}" = "not ok refused-but-expected-ok: a valid request was refused: 400" ]
    [ "${lines[2]}" = "not ok two-asked-one-sent: 1 answers (200), expected 2" ]
    [ "${lines[3]}" = "ok right: 200" ]
    [ "${lines[-1]}" = "1 passed, 3 failed" ]
}

@test "make chapter-7's transcript matches tests/expected" {
    need_curl
    run env NIO_BIN="$BIN" sh "$NIO_ROOT/chapters/07-http-server/demo.sh"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    diff <(printf '%s\n' "$output") "$EXPECTED/07-http-server.txt"
}
