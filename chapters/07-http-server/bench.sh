#!/bin/sh
# bench.sh - chapter 7's measured figures: the request parser on a
# realistic ~700-byte browser request, parsed whole and fed one byte at a
# time (http-parser-bench). `make bench` runs it with NIO_BIN (the
# programs) and BENCH_OUT (a folder); it prints a Markdown table and writes
# BENCH_OUT/07-http-server.md. PARSER_REQUESTS sets how many requests are
# timed (default 2,000,000); the best of three runs is kept, since a busy
# machine only ever makes a run slower.
set -eu

bin=${NIO_BIN:?NIO_BIN must name the folder with the programs}
out=${BENCH_OUT:?BENCH_OUT must name the folder for the results}
requests=${PARSER_REQUESTS:-2000000}
mkdir -p "$out"

if [ ! -x "$bin/http-parser-bench" ]; then
    echo "bench: $bin/http-parser-bench is not built (make all)" >&2
    exit 1
fi

best_whole=
best_bytes=
size=
for run in 1 2 3; do
    result=$("$bin/http-parser-bench" -n "$requests")
    size=$(printf '%s\n' "$result" | sed -n 's/^request: \([0-9]*\) bytes.*/\1/p')
    whole=$(printf '%s\n' "$result" | sed -n 's/^whole: *\([0-9]*\) ns.*/\1/p')
    bytes=$(printf '%s\n' "$result" |
        sed -n 's/^byte by byte: *\([0-9]*\) ns.*/\1/p')
    if [ -z "$best_whole" ] || [ "$whole" -lt "$best_whole" ]; then
        best_whole=$whole
    fi
    if [ -z "$best_bytes" ] || [ "$bytes" -lt "$best_bytes" ]; then
        best_bytes=$bytes
    fi
    : "$run"
done

table=$(cat <<TABLE
| parser, ${size}-byte request | ns per request | ns per byte |
|---|---:|---:|
| parsed whole (one call) | $best_whole | $(awk "BEGIN { printf \"%.2f\", $best_whole / $size }") |
| fed byte by byte ($size calls) | $best_bytes | $(awk "BEGIN { printf \"%.2f\", $best_bytes / $size }") |
TABLE
)
{
    echo "## Chapter 7: the HTTP request parser"
    echo
    echo "$table"
    echo
    echo "Best of 3 runs of \`http-parser-bench -n $requests\`, -O2."
} >"$out/07-http-server.md"
echo "$table"
