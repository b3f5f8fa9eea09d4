#!/bin/sh
# render-slides.sh OUTDIR - renders every deck in slides/ to OUTDIR/NAME.html
# with Marp and the course theme (slides/theme/), then checks in headless
# Chromium that every slide's content fits its 1280x720 slide
# (tools/check-slides.mjs): a slide that overflows fails, named by deck and
# slide number. The Marp CLI and playwright-core (which drives the
# Chromium already on the machine; it downloads none) are pinned and
# installed locally, under build/, with npm the first time. Nothing is
# installed globally.
#
# Without a Chromium the decks are still rendered and the check is skipped
# with a note, unless SLIDES_CHECK=required (CI), which makes that a failure.
set -eu

MARP_VERSION=4.5.1
PLAYWRIGHT_VERSION=1.57.0
out=${1:-build/slides}
tools=build/tools/marp
checker=build/tools/slide-check

need_npm() {
    command -v npm >/dev/null 2>&1 && return 0
    echo "render-slides: npm is needed to install $1 once:" >&2
    echo "  sudo apt-get install nodejs npm   (Debian, Ubuntu)" >&2
    echo "  sudo dnf install nodejs npm       (Fedora)" >&2
    echo "  brew install node                 (macOS)" >&2
    exit 1
}

marp="$tools/node_modules/.bin/marp"
if [ ! -x "$marp" ]; then
    need_npm "the Marp CLI"
    echo "render-slides: installing @marp-team/marp-cli@$MARP_VERSION into $tools" >&2
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
        "@marp-team/marp-cli@$MARP_VERSION" >&2
fi

# The check renders each deck a second time with Marp's bare template:
# every slide laid out at once, none hidden by the presenter's navigation.
mkdir -p "$out" "$out/check"
status=0
for deck in slides/[0-9][0-9]-*.md; do
    [ -f "$deck" ] || continue
    name=$(basename "$deck" .md)
    rm -f "$out/$name.html" "$out/check/$name.html"
    # The deck goes last: --theme-set takes every word up to the next option.
    if "$marp" --html --theme-set slides/theme -o "$out/$name.html" "$deck" \
        </dev/null 2>"$out/check/$name.log" &&
        [ -s "$out/$name.html" ] &&
        "$marp" --html --theme-set slides/theme --template bare \
            -o "$out/check/$name.html" "$deck" </dev/null 2>>"$out/check/$name.log" &&
        [ -s "$out/check/$name.html" ]; then
        echo "rendered $out/$name.html"
    else
        echo "render-slides: $deck did not render:" >&2
        cat "$out/check/$name.log" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] || exit "$status"

browser=$(sh chapters/07-http-server/site/browser-check.sh find 2>/dev/null) || browser=
if [ -z "$browser" ]; then
    if [ "${SLIDES_CHECK:-}" = required ]; then
        echo "render-slides: no Chromium to check that the slides fit (sudo apt-get install chromium)" >&2
        exit 1
    fi
    echo "render-slides: not checked that every slide fits: no Chromium (sudo apt-get install chromium)" >&2
    exit 0
fi
if [ ! -f "$checker/node_modules/playwright-core/package.json" ]; then
    need_npm "playwright-core"
    echo "render-slides: installing playwright-core@$PLAYWRIGHT_VERSION into $checker" >&2
    mkdir -p "$checker"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$checker" --no-audit \
        --no-fund --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >&2
fi
node tools/check-slides.mjs "$checker/node_modules" "$browser" "$out"/check/[0-9][0-9]-*.html
