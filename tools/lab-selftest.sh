#!/usr/bin/env bash
# lab-selftest.sh [N...] - proves that the labs are honest (make lab-selftest,
# run by CI). For each chapter with a lab (default: all):
#
#   1. a freshly generated lab builds warning-free and fails every stage
#      ("0 of T");
#   2. the chapter's own files, copied into a lab, pass every stage;
#   3. every learner's mistake kept in tests/lab/mutations/NN-name/ makes
#      its stage fail, and every stage has at least one such mistake.
#      A mistake is a patch of the chapter's files named STAGE--what.patch,
#      applied to a copy of the chapter's files with `patch -p1`;
#   4. last, LAB=own: every lab filled from the chapters' own files passes
#      every stage of the highest chapter.
#
# Works in LAB_BUILD_BASE/lab-selftest/ (default build/), never in lab/.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
base=${LAB_BUILD_BASE:-build}
case $base in /*) ;; *) base=$root/$base ;; esac
work=$base/lab-selftest
labs=$work/lab
export LAB_BUILD_BASE=$base

chapters=("$@")
if [ "${#chapters[@]}" -eq 0 ]; then
    for f in tests/lab/[0-9][0-9]-*.stages; do
        n=$(basename "$f")
        chapters+=("$((10#${n%%-*}))")
    done
fi

problems=0
problem() {
    echo "  PROBLEM: $*"
    problems=$((problems + 1))
}

# check N [VAR=value...]: runs make check-N on the self-test's labs; the
# output is in $work/out, the status in $status.
check() {
    local n=$1
    shift
    env "$@" LAB_DIR="$labs" STAGE="${STAGE:-}" bash tools/lab-check.sh "$n" \
        >"$work/out" 2>&1
    status=$?
}

reference_into() { # N: the chapter's own lab files into the self-test's lab
    local name
    name=$(sh tools/lab.sh chapter "$1")
    rm -rf "${labs:?}/$name"
    mkdir -p "$labs/$name"
    for f in $(sh tools/lab.sh files "$1"); do
        cp "chapters/$name/$f" "$labs/$name/$f"
    done
}

mkdir -p "$work"
for n in "${chapters[@]}"; do
    name=$(sh tools/lab.sh chapter "$n") || exit 2
    total=$(grep -c '^stage ' "tests/lab/$name.stages")
    echo "== chapter $n ($name): $total stages"

    # 1. a fresh lab
    rm -rf "${labs:?}/$name"
    sh tools/lab.sh make "$n" "$labs" >/dev/null || problem "make lab-$n failed"
    STAGE='' check "$n"
    if grep -q 'does not build' "$work/out"; then
        problem "a fresh lab does not build warning-free:"
        sed 's/^/      /' "$work/out" | head -n 20
    elif [ "$status" -eq 1 ] && grep -q "^chapter $n: 0 of $total stages passed$" "$work/out"; then
        echo "  fresh lab:  0 of $total stages pass, as it should"
    else
        problem "a fresh lab passes some stage (or could not be checked):"
        grep -E 'passed|FAILED' "$work/out" | sed 's/^/      /'
    fi

    # 2. the chapter's own code
    reference_into "$n"
    STAGE='' check "$n"
    if [ "$status" -eq 0 ] && grep -q "^chapter $n: $total of $total stages passed$" "$work/out"; then
        echo "  reference:  $total of $total stages pass"
    else
        problem "the chapter's own code fails its lab:"
        sed 's/^/      /' "$work/out" | tail -n 30
    fi

    # 3. the mistakes
    declare -A covered=()
    for patch in tests/lab/mutations/"$name"/*.patch; do
        [ -f "$patch" ] || continue
        base_name=$(basename "$patch" .patch)
        stage=${base_name%%--*}
        reference_into "$n"
        if ! patch -s -p1 -d "$labs/$name" --no-backup-if-mismatch <"$patch" >/dev/null 2>&1; then
            problem "$patch no longer applies to the chapter's code"
            continue
        fi
        STAGE=$stage check "$n"
        if [ "$status" -eq 1 ] && grep -q "^chapter $n: 0 of 1 stages passed ($stage)$" "$work/out"; then
            how=$(grep -o 'FAILED.*' "$work/out" | head -n 1)
            echo "  mistake:    ${base_name#*--} -> stage $stage ${how}"
            covered[$stage]=1
        else
            problem "the mistake $patch does not fail stage $stage:"
            sed 's/^/      /' "$work/out" | tail -n 12
        fi
    done
    while read -r _ stage _; do
        [ -n "${covered[$stage]:-}" ] || problem "stage $stage of chapter $n has no mistake that fails it"
    done < <(grep '^stage ' "tests/lab/$name.stages")
    unset covered
    reference_into "$n"
done

# 4. every lab the learner's, the highest chapter on top of them.
if [ "$#" -eq 0 ]; then
    top=${chapters[${#chapters[@]}-1]}
    for n in "${chapters[@]}"; do reference_into "$n"; done
    STAGE='' check "$top" LAB=own
    total=$(grep -c '^stage ' "tests/lab/$(sh tools/lab.sh chapter "$top").stages")
    if [ "$status" -eq 0 ] && grep -q "^chapter $top: $total of $total stages passed$" "$work/out"; then
        echo "== LAB=own: chapter $top on every lab: $total of $total stages pass"
    else
        problem "LAB=own, chapter $top on every lab, fails:"
        sed 's/^/      /' "$work/out" | tail -n 30
    fi
fi

if [ "$problems" -gt 0 ]; then
    echo "lab-selftest: $problems problem(s)"
    exit 1
fi
echo "lab-selftest: every lab is honest"
