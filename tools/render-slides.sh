#!/bin/sh
# render-slides.sh OUTDIR - renders every deck in slides/ to OUTDIR/NAME.html
# with Marp. The Marp CLI is pinned and installed locally (under build/) with
# npm the first time; HTML output needs no browser. Nothing is installed
# globally.
set -eu

MARP_VERSION=4.5.1
out=${1:-build/slides}
tools=build/tools/marp

marp="$tools/node_modules/.bin/marp"
if [ ! -x "$marp" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "render-slides: npm is needed to install the Marp CLI once:" >&2
        echo "  sudo apt-get install nodejs npm   (Debian, Ubuntu)" >&2
        echo "  sudo dnf install nodejs npm       (Fedora)" >&2
        echo "  brew install node                 (macOS)" >&2
        exit 1
    fi
    echo "render-slides: installing @marp-team/marp-cli@$MARP_VERSION into $tools" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
        "@marp-team/marp-cli@$MARP_VERSION" >&2
fi

mkdir -p "$out"
status=0
for deck in slides/[0-9][0-9]-*.md; do
    [ -f "$deck" ] || continue
    name=$(basename "$deck" .md)
    if "$marp" --quiet --html "$deck" -o "$out/$name.html" </dev/null &&
        [ -s "$out/$name.html" ]; then
        echo "rendered $out/$name.html"
    else
        echo "render-slides: $deck did not render" >&2
        status=1
    fi
done
exit $status
