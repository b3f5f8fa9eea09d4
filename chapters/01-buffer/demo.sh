#!/bin/sh
# demo.sh - what `make chapter-1` runs: the buffer walk-through, then a
# short text copied through buffers far smaller than the text, to show
# that the read -> flip -> write -> compact loop loses and repeats nothing.
# NIO_BIN names the folder holding the chapter's programs.
set -eu
# shellcheck source=tools/demo-lib.sh
. "$(dirname "$0")/../../tools/demo-lib.sh"

"$bin/buffer-demo"

cat >"$work/in.txt" <<'TEXT'
A buffer is filled by one call and drained by another.
flip turns it from filling to draining; compact turns it back
and keeps whatever the last write left behind.
TEXT

echo
echo "Copying a $(wc -c <"$work/in.txt" | tr -d ' ')-byte text through" \
    "small buffers (buffer-demo --copy):"
echo
"$bin/buffer-demo" --copy <"$work/in.txt"
echo
for size in 16 5 1; do
    "$bin/buffer-demo" --copy --size "$size" <"$work/in.txt" >"$work/out.txt"
    in=$(wc -c <"$work/in.txt" | tr -d ' ')
    out=$(wc -c <"$work/out.txt" | tr -d ' ')
    if cmp -s "$work/in.txt" "$work/out.txt"; then
        same="identical"
    else
        same="DIFFERENT"
    fi
    printf 'through a %2s-byte buffer: %s bytes in, %s bytes out, %s\n' \
        "$size" "$in" "$out" "$same"
done
