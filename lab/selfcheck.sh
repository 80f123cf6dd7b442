#!/usr/bin/env bash
# lab/selfcheck.sh -- the lab checks itself: each check fails as the tree stands, and its solution makes it pass
# SPDX-License-Identifier: MIT
#
# `make lab-selfcheck` (part of `make test`) runs this from the
# repository root, after `make lab-build` has built the lab's server, its
# C checks and the unit tests there. In a temporary copy of the tree (the
# files git knows of or would add, with their times; the build's objects
# beside them, so nothing is compiled twice; test/node_modules linked):
#
#   1. every exercise's check must say "not yet": an exercise that is
#      already done proves nothing about its check;
#   2. for each exercise, its solution (lab/solutions/NN-*.patch) is
#      applied, the check must say "done" and the unit suite (the tests of
#      `make unit`, relinked: make lab-unit) must still pass; then the
#      patch is reversed.
#
# So when the code moves on, a check that no longer fails, a solution
# that no longer applies or works, or one that breaks a unit test, fails
# `make test`. Prints one line per exercise, then "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
MAKE=${MAKE:-make}
started=$(date +%s)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wshub-lab.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- the copy ------------------------------------------------------------------
git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -cf - -T - 2>/dev/null | tar -xf - -C "$tmp"
mkdir -p "$tmp/build" "$tmp/test"
for f in build/o build/lab build/client_js.c build/faye_js.c; do
    [ -e "$f" ] && cp -a "$f" "$tmp/build/"
done
# The C checks are rebuilt here, from the copy's own lab/ files: they are
# cheap, and a student's solved copy of lab/mine must not stand in.
rm -rf "$tmp/build/lab/"*.log "$tmp/build/lab/"ex[0-9]* "$tmp/build/lab/mut"
[ -e test/node_modules ] && [ ! -e "$tmp/test/node_modules" ] && ln -s "$ROOT/test/node_modules" "$tmp/test/node_modules"
cd "$tmp"

passed=0 failed=0
say() { printf 'lab-selfcheck: %s\n' "$*"; }

# ---- 1. every check fails as the tree stands ---------------------------------------
declare -A before
while IFS= read -r line; do
    case $line in
    'ex '*) n=$(echo "$line" | awk '{print $2}'); before[$n]=$line ;;
    esac
done < <(MAKE="$MAKE" bash lab/run.sh 2>&1)
say "every check run on the tree as it stands, in $(( $(date +%s) - started )) s"

# ---- 2. each solution turns its check to done ---------------------------------------
while read -r n kind title; do
    case $n in ''|'#'*) continue ;; esac
    num=$((10#$n))
    label=$(printf 'ex %-2d %s' "$num" "$title")
    line=${before[$num]:-}
    if [ -z "$line" ]; then
        say "$label: FAILED -- lab/run.sh printed no line for it"; failed=$((failed + 1)); continue
    fi
    case $line in
    *': not yet -- '*) ;;
    *) say "$label: FAILED -- its check passes before any change (is the exercise done in this tree already?)"
       failed=$((failed + 1)); continue ;;
    esac
    patches=(lab/solutions/"$n"-*.patch)
    if [ ! -f "${patches[0]}" ] || [ "${#patches[@]}" -ne 1 ]; then
        say "$label: FAILED -- want exactly one lab/solutions/$n-*.patch"; failed=$((failed + 1)); continue
    fi
    patch=${patches[0]}
    t0=$(date +%s)
    if ! git apply "$patch" > build/lab/apply.log 2>&1; then
        say "$label: FAILED -- $patch does not apply: $(head -1 build/lab/apply.log)"
        failed=$((failed + 1)); continue
    fi
    result=ok
    if ! MAKE="$MAKE" bash lab/run.sh "$num" > build/lab/after.log 2>&1; then
        result="with $(basename "$patch") applied, the check says: $(head -1 build/lab/after.log)"
    elif ! $MAKE -s -j2 lab-unit > build/lab/unit-run.log 2>&1; then
        result="with $(basename "$patch") applied, the unit suite fails: $(tail -1 build/lab/unit-run.log)"
    fi
    if ! git apply -R "$patch" > build/lab/apply.log 2>&1; then
        result="$patch does not reverse: $(head -1 build/lab/apply.log)"
    fi
    if [ "$result" = ok ]; then
        say "$label: fails as it stands; $(basename "$patch") makes it done, unit suite passing ($(( $(date +%s) - t0 )) s)"
        passed=$((passed + 1))
    else
        say "$label: FAILED -- $result"
        failed=$((failed + 1))
    fi
done < lab/exercises

say "took $(( $(date +%s) - started )) s"
echo "lab-selfcheck: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
