#!/bin/sh
# demo.sh - what `make chapter-7` runs: httpd with two worker loops, asked
# a few things by curl and by http-probe (which sends exact bytes):
# GET, HEAD, POST /echo with a Content-Length and a chunked body, what the
# framework answers by itself, keep-alive, pipelining, a smuggling attempt
# refused; then a second httpd serving files with --root (a range, a 304,
# a redirect, two ways out of the root refused); a request in flight when
# SIGTERM arrives. NIO_BIN names the folder holding the programs. The Date,
# ETag and Last-Modified fields and the port change from run to run, so
# none is printed: URL stands for http://127.0.0.1:PORT.
set -eu
# shellcheck source=tools/demo-lib.sh
. "$(dirname "$0")/../../tools/demo-lib.sh"

if ! command -v curl >/dev/null 2>&1; then
    echo "demo: curl is needed (apt-get install curl)" >&2
    exit 1
fi

# show SHOWN CURL-ARGS...: prints "$ SHOWN" (the command as a reader
# would type it), runs curl with the arguments, and prints the status line,
# the fields but Date, and the body. CRs are removed.
show() {
    printf '$ %s\n' "$1"
    shift
    : >"$work/body" # curl writes no file for an empty body
    curl -s "$@" -o "$work/body" -D "$work/head" || true
    grep -v -e '^Date: ' -e '^ETag: ' -e '^Last-Modified: ' "$work/head" |
        tr -d '\r'
    case " $* " in
    *" -I "*) ;; # HEAD: curl writes the fields where the body would go
    *) cat "$work/body" ;;
    esac
    echo
}

probe() {
    "$bin/http-probe" -p "$port" "$@"
}

start_server httpd --workers 2 --access-log off

echo "httpd --workers 2: two worker loops, each accepting its own connections and serving HTTP."
echo
u="http://127.0.0.1:$port"
show "curl -i $u/hello" "$u/hello" | sed "s|$u|URL|"
echo "HEAD gets the same fields, and no body:"
show "curl -I $u/hello" -I "$u/hello" | sed "s|$u|URL|"
echo "POST /echo sends the body back, with Content-Length..."
show "curl -i -d ping $u/echo" -d ping "$u/echo" | sed "s|$u|URL|"
echo "...and chunked when it came chunked:"
printf 'a body sent in chunks\n' |
    show "printf 'a body sent in chunks\\n' | curl -i -H 'Transfer-Encoding: chunked' --data-binary @- $u/echo" \
        -H 'Transfer-Encoding: chunked' --data-binary @- "$u/echo" |
    sed "s|$u|URL|"
echo "What no handler has to answer: 405 (with Allow), 404, 501."
show "curl -i -X POST $u/hello" -X POST "$u/hello" | sed "s|$u|URL|"
show "curl -i $u/nope" "$u/nope" | sed "s|$u|URL|"
show "curl -i -X TRACE $u/" -X TRACE "$u/" | sed "s|$u|URL|"

echo "Keep-alive: curl asks twice on one connection."
echo "\$ curl -v URL/hello URL/hello"
curl -sv "http://127.0.0.1:$port/hello" "http://127.0.0.1:$port/hello" 2>&1 |
    grep -E '^(Hello|\* Re-using existing connection)' |
    sed 's/ #[0-9]* with host.*//'
echo

echo "Pipelining: three requests in one write, three answers in order."
echo "\$ http-probe --bodies 'GET /hello ...GET /nope ...POST /echo ...'"
probe --bodies "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nConnection: close\r\n\r\nthird\n"
echo

echo "A smuggling attempt: Content-Length and Transfer-Encoding together."
echo "One answer, then the connection is closed: the bytes after it are"
echo "never read as a request."
echo "\$ http-probe --bodies 'POST /echo ... Content-Length: 5 ... Transfer-Encoding: chunked ... GET /hello ...'"
probe --bodies "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n" |
    tr -d '\r'
echo

echo "Part 2: a second httpd serves the files under www/ (--root)."
mkdir -p "$work/www/docs"
printf 'Hello from a file.\n' >"$work/www/hello.txt"
printf '<h1>docs</h1>\n' >"$work/www/docs/index.html"
: >"$work/files.out"
"$bin/httpd" -p 0 --workers 1 --access-log off --root "$work/www" \
    >"$work/files.out" 2>"$work/files.err" &
files_pid=$!
demo_pids=$files_pid
wait_for "$work/files.out" '^listening on ' "$files_pid"
f="http://127.0.0.1:$(listening_port "$work/files.out")"
show "curl -i $f/hello.txt" "$f/hello.txt" | sed "s|$f|URL|"
echo "One range of it:"
show "curl -i -r 13- $f/hello.txt" -r 13- "$f/hello.txt" | sed "s|$f|URL|"
echo "Asked again with the ETag it got: 304, no body."
etag=$(curl -s -D - -o /dev/null "$f/hello.txt" | tr -d '\r' |
    sed -n 's/^ETag: //p')
show "curl -i -H 'If-None-Match: ETAG' $f/hello.txt" \
    -H "If-None-Match: $etag" "$f/hello.txt" | sed "s|$f|URL|"
echo "A directory without its final slash is redirected:"
show "curl -i $f/docs" "$f/docs" | sed "s|$f|URL|"
echo "Two ways out of the root, both refused:"
show "curl -i --path-as-is $f/../../etc/passwd" --path-as-is \
    "$f/../../etc/passwd" | sed "s|$f|URL|"
show "curl -i $f/%2e%2e/%2e%2e/etc/passwd" "$f/%2e%2e/%2e%2e/etc/passwd" |
    sed "s|$f|URL|"
kill -TERM "$files_pid"
wait "$files_pid"
demo_pids=

echo "SIGTERM while /sleep?ms=500 runs on the thread pool: the request is"
echo "answered, then httpd exits."
: >"$work/client.out"
curl -s "http://127.0.0.1:$port/sleep?ms=500" >"$work/client.out" &
client_pid=$!
demo_pids=$client_pid
tries=0
until curl -s "http://127.0.0.1:$port/stats" | grep -q '"busy": 1'; do
    tries=$((tries + 1))
    if [ "$tries" -gt 1500 ]; then
        echo "demo: the sleeping request never started" >&2
        exit 1
    fi
    sleep 0.02
done
stop_server
wait "$client_pid" || true
demo_pids=
echo "the client got: $(cat "$work/client.out")"
echo "httpd exit status: $status"
