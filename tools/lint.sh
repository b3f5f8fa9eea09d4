#!/bin/sh
# lint.sh "C FILES" "SHELL FILES" - cppcheck, shellcheck and clang-format.
# Each tool that is missing is named with the package that brings it, and
# the lint fails: a lint that silently checks nothing would lie.
set -u

c_files=$1
sh_files=$2
status=0

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "lint: $1 is missing; install it with: sudo apt-get install $2" >&2
        status=1
        return 1
    fi
}

# shellcheck disable=SC2086 # the lists are meant to split into words
if need cppcheck cppcheck; then
    cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
        --inline-suppr --suppress=missingIncludeSystem \
        -D_POSIX_C_SOURCE=200809L -Ichapters -Icommon $c_files || status=1
fi
# shellcheck disable=SC2086
if need shellcheck shellcheck; then
    shellcheck -x $sh_files || status=1
    # Bats files are bash with a little syntax of their own.
    shellcheck -x -s bash -e SC2030,SC2031,SC2154,SC2034 tests/*.bats || status=1
fi
# shellcheck disable=SC2086
if need clang-format clang-format; then
    clang-format --dry-run --Werror $c_files || status=1
fi

[ "$status" -eq 0 ] && echo "lint: clean"
exit $status
