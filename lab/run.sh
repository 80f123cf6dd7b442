#!/usr/bin/env bash
# lab/run.sh -- run the lab's checks and say, per exercise, done or not yet
# SPDX-License-Identifier: MIT
#
#   lab/run.sh        every exercise, one line each; exits 0 (a progress report)
#   lab/run.sh N      exercise N alone; its whole output if it is not done,
#                     and exit 1 until it is
#
# `make lab` and `make lab EX=N` call this from the repository root.
# First what the checks need is built (build/lab/wshub, the C checks),
# then the checks run, LAB_JOBS (default 3) at a time. Each tests
# behaviour: through real clients against the server, or by calling the
# code with no network. A line reads
#   ex N  <title>: done
#   ex N  <title>: not yet -- <the first assertion that failed>
# Each check's whole output is kept in build/lab/exNN.log.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
ROOT=$PWD
mkdir -p build/lab

only=${1:-}
if [ -n "$only" ]; then
    only=$(printf '%02d' "$((10#$only))" 2>/dev/null) || { echo "lab: EX must be a number"; exit 2; }
    grep -q "^$only " lab/exercises || { echo "lab: there is no exercise $1 (see lab/README.md)"; exit 2; }
fi

# The first line that says what failed: a check.h or reporter "FAIL ..."
# line, else a compiler error, else the last line of the log.
first_failure() {
    local log=$1 line
    line=$(grep -m1 '^FAIL ' "$log" | sed 's/^FAIL //')
    [ -n "$line" ] || line=$(grep -m1 -E 'error:|Error:' "$log")
    [ -n "$line" ] || line=$(grep -v '^\s*$' "$log" | tail -1)
    printf '%s' "${line:-no output}" | cut -c1-200
}

# What check n (of kind) needs built: the server, or its own program.
target_of() {
    case $2 in
    node) echo build/lab/wshub ;;
    *) echo "build/lab/ex$1" ;;
    esac
}

# Run check n (of kind), its output in log; 0 when it passes. Whatever it
# needs has been built (or failed to build, said in build/lab/exNN.build).
run_check() {
    local n=$1 kind=$2 log=$3
    if [ -s "build/lab/ex$n.build" ]; then
        local why
        why=$(grep -m1 -E 'error|Error' "build/lab/ex$n.build")
        { echo "FAIL it does not build: ${why:-see below}"; cat "build/lab/ex$n.build"; } > "$log"
        return 1
    fi
    case $kind in
    node)
        WSHUB_BIN="$ROOT/build/lab/wshub" timeout 120 node --test \
            --test-reporter="$ROOT/lab/lib/reporter.mjs" "lab/checks/ex$n.test.js" > "$log" 2>&1
        ;;
    c)
        timeout 60 "./build/lab/ex$n" > "$log" 2>&1
        ;;
    mutants)
        if ! timeout 60 "./build/lab/ex$n-real" > "$log" 2>&1; then
            echo "FAIL your test fails against the real chat.c; it must pass there" >> "$log"
            return 1
        fi
        local m why
        for m in lab/mutants/ex$n-*.sed; do
            m=$(basename "$m" .sed)
            if timeout 60 "./build/lab/mut/$m.run" > "build/lab/$m.log" 2>&1; then
                why=$(sed -n 's/^# mutant: //p' "lab/mutants/$m.sed")
                echo "FAIL your test passes against a broken chat.c: $why ($m)" >> "$log"
                return 1
            fi
        done
        ;;
    esac
}

# Check n's line, into build/lab/exNN.line; 0 when done.
judge() {
    local n=$1 kind=$2 title=$3 log=build/lab/ex$1.log label
    label=$(printf 'ex %-2d %s' "$((10#$n))" "$title")
    if run_check "$n" "$kind" "$log"; then
        echo "$label: done" > "build/lab/ex$n.line"
    else
        echo "$label: not yet -- $(first_failure "$log")" > "build/lab/ex$n.line"
        return 1
    fi
}

# The exercises asked for.
list=()
while read -r n kind title; do
    case $n in ''|'#'*) continue ;; esac
    [ -z "$only" ] || [ "$n" = "$only" ] || continue
    list+=("$n|$kind|$title")
done < lab/exercises

# Build first, one target at a time (two makes at once would race on
# the same objects); a target that does not build fails its checks.
declare -A built
for e in "${list[@]}"; do
    IFS='|' read -r n kind title <<< "$e"
    t=$(target_of "$n" "$kind")
    if [ -z "${built[$t]:-}" ]; then
        if $MAKE -s -j2 "$t" > "build/lab/target.log" 2>&1; then built[$t]=ok; else built[$t]=failed; fi
        cp build/lab/target.log "build/lab/$(basename "$t").buildlog"
    fi
    if [ "${built[$t]}" = ok ]; then
        : > "build/lab/ex$n.build"
    else
        cp "build/lab/$(basename "$t").buildlog" "build/lab/ex$n.build"
    fi
done

# Then run the checks, LAB_JOBS at a time (most of a failing check's
# time is spent waiting for something that does not come).
jobs_max=${LAB_JOBS:-3}
for e in "${list[@]}"; do
    IFS='|' read -r n kind title <<< "$e"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    judge "$n" "$kind" "$title" &
done
wait

done_count=0 total=0 status=0
for e in "${list[@]}"; do
    IFS='|' read -r n kind title <<< "$e"
    total=$((total + 1))
    cat "build/lab/ex$n.line"
    if grep -q ': done$' "build/lab/ex$n.line"; then
        done_count=$((done_count + 1))
    else
        status=1
        if [ -n "$only" ]; then
            echo "---- the check's output (build/lab/ex$n.log) ----"
            cat "build/lab/ex$n.log"
        fi
    fi
done

if [ -n "$only" ]; then
    exit $status
fi
echo "lab: $done_count of $total exercises done (make lab EX=N shows one in full)"
exit 0
