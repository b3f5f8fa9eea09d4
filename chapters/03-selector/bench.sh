#!/bin/sh
# bench.sh - chapter 3's measurement: the cost of one selection with one
# active descriptor and 10 to 10,000 idle ones, on select, poll and epoll.
# `make bench` runs it with NIO_BIN (the programs) and BENCH_OUT (a folder);
# it prints a Markdown table, writes BENCH_OUT/03-selector.md and, when
# gnuplot is installed, draws BENCH_OUT/03-selector.png. Extra arguments go
# to selector-bench (e.g. --idle 10,100 --time-ms 50 for a quick look).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${NIO_BIN:-$here/../../build/bin}
out=${BENCH_OUT:-$here/../../build/bench}
mkdir -p "$out"
data=$out/03-selector.dat
table=$out/03-selector.md
plot=$out/03-selector.png

if [ ! -x "$bin/selector-bench" ]; then
    echo "bench.sh: $bin/selector-bench is missing; run make first" >&2
    exit 1
fi

figures=$("$bin/selector-bench" --data "$data" "$@")
os=$(uname -s)
if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091 # the system's file, not the project's
    os=$(. /etc/os-release && echo "${PRETTY_NAME:-$os}")
fi
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
{
    echo "## Chapter 3: one selection, one active descriptor, N idle ones"
    echo
    echo "Microseconds per selection, the median of 5 rounds."
    echo "Machine: $cores cores, $os, $(uname -sr)."
    echo "Command: selector-bench --data 03-selector.dat${*:+ $*}"
    echo
    printf '%s\n' "$figures"
} >"$table"
cat "$table"

if command -v gnuplot >/dev/null 2>&1; then
    gnuplot <<GNUPLOT
set terminal pngcairo size 800,500 noenhanced
set output "$plot"
set title "One selection: one active descriptor, N idle ones"
set xlabel "idle descriptors registered"
set ylabel "microseconds per selection"
set logscale xy
set key top left
set grid
set datafile missing "-"
plot "$data" using 1:2 with linespoints title "select", \
     "$data" using 1:3 with linespoints title "poll", \
     "$data" using 1:4 with linespoints title "epoll"
GNUPLOT
    echo
    echo "plot: $plot"
else
    echo
    echo "gnuplot is not installed, so no plot (sudo apt-get install gnuplot)."
fi
