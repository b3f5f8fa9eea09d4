#!/usr/bin/env bash
# lab-check.sh N - checks a learner's chapter N, stage by stage, in the
# order of the lesson. Run by `make check-N`; the environment says:
#
#   LAB_DIR         where the learner's chapters are (default lab)
#   LAB=own         use the learner's labs of lower chapters too
#   STAGE=name      run only that stage
#   LAB_BUILD_BASE  the build folder (default build); the lab is built in
#                   LAB_BUILD_BASE/lab-check/, apart from the course's own
#   LAB_SAN         sanitizers (default address,undefined; empty for none)
#   LAB_TIMEOUT     seconds a stage may take (default 60)
#
# The stages of a chapter are listed in tests/lab/NN-name.stages, each as
#     stage NAME "Section" unit CHECK-PROGRAM   (runs CHECK-PROGRAM NAME)
#     stage NAME "Section" shell FUNCTION        (a bash function there)
# A stage passes on exit status 0. Otherwise it failed, and the reason is
# told apart: a check that said what it expected (status 1), a memory or
# undefined-behaviour error (the sanitizers' status), a crash (a signal),
# or a hang (the timeout). The last line is "chapter N: P of T stages
# passed"; the status is 0 only when all passed, 2 when the lab could not
# be checked at all (no lab, no such stage).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

n=${1:?usage: lab-check.sh N}
lab_dir=${LAB_DIR:-lab}
base=${LAB_BUILD_BASE:-build}
case $base in /*) ;; *) base=$root/$base ;; esac
san=${LAB_SAN-address,undefined}
limit=${LAB_TIMEOUT:-60}
only=${STAGE:-}
name=$(sh tools/lab.sh chapter "$n") || exit 2
stages_file=tests/lab/$name.stages
[ -f "$stages_file" ] || { echo "lab: chapter $n has no stages yet" >&2; exit 2; }
case $lab_dir in /*) ;; *) lab_dir=$root/$lab_dir ;; esac

# --- which files are the learner's -----------------------------------------

lab_files=$(sh tools/lab.sh files "$n")
missing=
for f in $lab_files; do
    [ -f "$lab_dir/$name/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
    echo "lab: $lab_dir/$name/ lacks:$missing" >&2
    echo "lab: run 'make lab-$n' first; it creates the files and never overwrites yours" >&2
    exit 2
fi
sources=
for f in $lab_files; do sources="$sources $name/$f"; done
own_note=
if [ "${LAB:-}" = own ]; then
    for dir in chapters/[0-9][0-9]-*/; do
        lower=$(basename "$dir")
        [ "$lower" \< "$name" ] || continue
        m=$((10#${lower%%-*}))
        lower_files=$(sh tools/lab.sh files "$m" 2>/dev/null) || continue
        [ -n "$lower_files" ] || continue
        complete=yes
        for f in $lower_files; do
            [ -f "$lab_dir/$lower/$f" ] || complete=
        done
        if [ -n "$complete" ]; then
            for f in $lower_files; do sources="$sources $lower/$f"; done
            own_note="$own_note $m"
        elif [ -d "$lab_dir/$lower" ]; then
            echo "lab: $lab_dir/$lower is incomplete; chapter $m's own code is used" >&2
        fi
    done
    build=$base/lab-check/own
else
    build=$base/lab-check/$name
fi
sources=${sources# }

# A build folder remembers whose sources it was built from, and with
# which compiler and sanitizers; when that changes, everything is built
# again (common/ and the checks too: objects built for another sanitizer
# do not link).
stamp="$lab_dir $sources san=$san cc=${CC:-cc}"
mkdir -p "$build"
if [ "$(cat "$build/.lab-sources" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "${build:?}/obj" "${build:?}/lib" "${build:?}/bin" "${build:?}/tests"
    printf '%s\n' "$stamp" >"$build/.lab-sources"
fi

# --- the stages --------------------------------------------------------------

declare -a stage_names stage_sections stage_kinds stage_runs
stage() {
    stage_names+=("$1")
    stage_sections+=("$2")
    stage_kinds+=("$3")
    stage_runs+=("$4")
}
# shellcheck source=/dev/null
. "$stages_file"
total=${#stage_names[@]}
if [ -n "$only" ]; then
    found=
    for s in "${stage_names[@]}"; do [ "$s" = "$only" ] && found=yes; done
    if [ -z "$found" ]; then
        echo "lab: chapter $n has no stage '$only'; its stages are: ${stage_names[*]}" >&2
        exit 2
    fi
fi

# The lesson heading a stage points to, in full, with its file:
# chapters/01-buffer/README.md, "5. The code of flip and compact".
section_of() {
    grep -H '^##' "chapters/$name"/*.md | sed 's/:#* */:/' |
        awk -v p="$1" '{ f = $0; sub(/:.*/, "", f); h = substr($0, length(f) + 2)
                t = h; sub(/^[0-9]+\.[0-9.]* */, "", t) }
            index(t, p) == 1 || index(h, p) == 1 { printf "%s, \"%s\"\n", f, h; exit }'
}

echo "chapter $n: checking $lab_dir/$name/ ($(echo "$lab_files" | tr '\n' ' ' | sed 's/ $//'))"
[ -n "$own_note" ] && echo "  with your labs of chapter(s):$own_note"

# --- build ------------------------------------------------------------------

log=$build/build.log
unset MAKEFLAGS MAKELEVEL
if ! make -s -j2 BUILD="$build" CC="${CC:-cc}" OPT=-O1 SAN="$san" \
    LAB_DIR="$lab_dir" LAB_SOURCES="$sources" "lab-build-$n" >"$log" 2>&1; then
    echo
    echo "Your code does not build (warnings are errors: -Wall -Wextra -Werror):"
    grep -E 'error|warning|undefined reference' "$log" | head -n 20 | sed 's/^/    /'
    echo
    echo "chapter $n: 0 of $total stages passed"
    exit 1
fi

# --- run --------------------------------------------------------------------

export LAB_BIN=$build/bin LAB_TESTS=$build/tests LAB_ROOT=$root
export ASAN_OPTIONS=exitcode=86:detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=exitcode=87
export UBSAN_OPTIONS=halt_on_error=1:exitcode=88:print_stacktrace=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export LAB_WORK=$out

passed=0
for i in "${!stage_names[@]}"; do
    s=${stage_names[$i]}
    [ -z "$only" ] || [ "$s" = "$only" ] || continue
    section=$(section_of "${stage_sections[$i]}")
    label=$(printf 'stage %d/%d %s ' $((i + 1)) "$total" "$s")
    printf '%s' "$label"
    : >"$out/stage.out"
    rm -rf "$out/run" && mkdir -p "$out/run"
    # timeout puts the stage in a process group of its own and, when time
    # runs out, ends the whole group: servers a stage started go with it.
    case ${stage_kinds[$i]} in
    unit)
        timeout -k 5 "$limit" "$LAB_TESTS/${stage_runs[$i]}" "$s" \
            >"$out/stage.out" 2>&1
        status=$?
        ;;
    shell)
        # shellcheck disable=SC2016 # expanded by the inner bash
        timeout -k 5 "$limit" bash -c '. tests/lab/lab-lib.bash; . "$1"; lab_stage_run "$2"' \
            lab "$stages_file" "${stage_runs[$i]}" >"$out/stage.out" 2>&1
        status=$?
        ;;
    *)
        echo "lab: $stages_file: stage $s has an unknown kind" >&2
        exit 2
        ;;
    esac
    # What the programs a shell stage ran wrote to stderr counts as well:
    # a sanitizer report from a server ends up there.
    cat "$out"/run/*.err >>"$out/stage.out" 2>/dev/null
    dots=$((40 - ${#label}))
    [ "$dots" -lt 3 ] && dots=3
    printf '%*s' "$dots" '' | tr ' ' '.'
    if [ "$status" -eq 0 ]; then
        echo " passed"
        passed=$((passed + 1))
        continue
    fi
    report=$out/stage.out
    if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$report" ||
        [ "$status" -eq 86 ] || [ "$status" -eq 87 ] || [ "$status" -eq 88 ]; then
        if grep -q 'ERROR: LeakSanitizer' "$report"; then
            echo " FAILED: your code leaks memory"
        else
            echo " FAILED: a memory error or undefined behaviour in your code"
        fi
        grep '^step: ' "$report" | tail -n 1 | sed "s/^step: /    last step: /"
        grep -E 'ERROR: |runtime error:|SUMMARY:' "$report" | head -n 3 | sed 's/^/    /'
        # The frames in the learner's files say where to look.
        grep -E '^ *#[0-9]+ .*('"$lab_dir"'|lab/)' "$report" | head -n 6 | sed 's/^ */    /'
    elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo " FAILED: it hung (no answer within ${limit} s)"
        grep '^step: ' "$report" | tail -n 1 | sed "s/^step: /    last step: /"
    elif [ "$status" -gt 128 ]; then
        echo " FAILED: it crashed ($(kill -l $((status - 128)) 2>/dev/null || echo "signal $((status - 128))"))"
        grep '^step: ' "$report" | tail -n 1 | sed "s/^step: /    last step: /"
    else
        echo " FAILED"
        grep -v '^step: ' "$report" | head -n 12 | sed 's/^/    /'
    fi
    echo "    read:     ${section:-chapters/$name/README.md}"
done

if [ -n "$only" ]; then
    echo "chapter $n: $passed of 1 stages passed ($only)"
    [ "$passed" -eq 1 ]
    exit
fi
echo "chapter $n: $passed of $total stages passed"
[ "$passed" -eq "$total" ]
