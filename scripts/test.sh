#!/usr/bin/env bash
# Runs every test of inventory_erp against a private, throwaway PostgreSQL cluster:
#   1. pg_regress scenarios       sql/*.sql         against expected/*.out
#   2. pgTAP contracts            test/pgtap/*.sql  through pg_prove (one count per assertion)
#   3. isolation specs            test/isolation/specs/*.spec
#   4. shell tests                test/shell/*.sh   (dump/restore, stress, ...; exit 0 = pass)
#   5. the Citus suite            test/citus/t_*.sh on a coordinator and two workers of its
#                                 own (test/citus/run.sh); skipped when Citus is not installed
# and ends with exactly one line "N passed, N failed" (", N skipped" after it when tests
# were skipped); exits 1 when anything failed.
# Set TESTS=pattern to run only the tests whose name matches (handy while developing).
set -uo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh

PATTERN=${TESTS:-.}
WORK=$(pg_workdir test)
DATA=$WORK/data
passed=0
failed=0
skipped=0
failures=()

cleanup() {
    pg_stop "$DATA"
    if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

pass() { passed=$((passed + ${2:-1})); }
fail() { failed=$((failed + ${2:-1})); failures+=("$1"); }

pg_private_install "$WORK" || { echo "0 passed, 1 failed"; exit 1; }
PORT=$(pg_free_port)
pg_start "$DATA" "$PORT" fsync=off max_connections=120 max_prepared_transactions=10 \
    log_min_messages=warning || { echo "0 passed, 1 failed"; exit 1; }
export PGBIN WORK REPO_ROOT
REGRESS_BIN=$(dirname "$("$SYS_PGBIN/pg_config" --pgxs)")/../test/regress/pg_regress
ISOLATION_BIN=$(dirname "$("$SYS_PGBIN/pg_config" --pgxs)")/../test/isolation/pg_isolation_regress

# 1. pg_regress
mapfile -t regress < <(ls sql/*.sql 2>/dev/null | xargs -rn1 basename | sed 's/\.sql$//' | grep -E -- "$PATTERN")
if [ ${#regress[@]} -gt 0 ]; then
    echo "== pg_regress: ${#regress[@]} scenario(s)"
    rm -rf results regression.diffs regression.out
    "$REGRESS_BIN" --host="$PGHOST" --port="$PGPORT" --user=postgres \
        --inputdir=. --outputdir=. --bindir="$PGBIN" --dbname=ierp_regress "${regress[@]}" \
        >"$WORK/regress.log" 2>&1
    cat "$WORK/regress.log" | grep -E '^(ok|not ok|test|     ) ' | sed 's/^/   /'
    for t in "${regress[@]}"; do
        if grep -Eq "(^| )$t +\.\.\. ok|^ok [0-9]+ +[-+] $t " "$WORK/regress.log"; then pass "$t"; else fail "regress/$t"; fi
    done
    [ -f regression.diffs ] && echo "   (differences in regression.diffs)"
fi

# 2. pgTAP
mapfile -t taps < <(ls test/pgtap/*.sql 2>/dev/null | grep -E -- "$PATTERN")
if [ ${#taps[@]} -gt 0 ]; then
    echo "== pgTAP: ${#taps[@]} file(s)"
    as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" ierp_tap
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d ierp_tap \
        -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION inventory_erp' >"$WORK/tap-setup.log" 2>&1 ||
        { cat "$WORK/tap-setup.log"; fail "pgtap/setup"; }
    for f in "${taps[@]}"; do
        out=$(pg_prove --verbose --ext .sql -h "$PGHOST" -p "$PGPORT" -U postgres -d ierp_tap "$f" 2>&1)
        rc=$?
        ok=$(grep -Ec '^ *ok [0-9]+' <<<"$out")
        nok=$(grep -Ec '^ *not ok [0-9]+' <<<"$out")
        pass "$f" "$ok"
        if [ "$nok" -gt 0 ]; then
            fail "$f" "$nok"
        elif [ $rc -ne 0 ]; then
            fail "$f"
        fi
        printf '   %-40s %4d ok, %d not ok%s\n' "$(basename "$f")" "$ok" "$nok" "$([ $rc -ne 0 ] && echo ', FAILED')"
        if [ $rc -ne 0 ]; then grep -Ev '^ *ok [0-9]+' <<<"$out" | sed 's/^/      /' | head -40; fi
    done
fi

# 3. isolation
mapfile -t specs < <(ls test/isolation/specs/*.spec 2>/dev/null | xargs -rn1 basename | sed 's/\.spec$//' | grep -E -- "$PATTERN")
if [ ${#specs[@]} -gt 0 ]; then
    echo "== isolation: ${#specs[@]} spec(s)"
    rm -rf test/isolation/output_iso
    "$ISOLATION_BIN" --host="$PGHOST" --port="$PGPORT" --user=postgres \
        --inputdir=test/isolation --outputdir=test/isolation/output_iso --bindir="$PGBIN" \
        --dbname=ierp_isolation --load-extension=inventory_erp "${specs[@]}" >"$WORK/isolation.log" 2>&1
    grep -E '^(ok|not ok|test|     ) ' "$WORK/isolation.log" | sed 's/^/   /'
    for t in "${specs[@]}"; do
        if grep -Eq "(^| )$t +\.\.\. ok|^ok [0-9]+ +[-+] $t " "$WORK/isolation.log"; then pass "$t"; else fail "isolation/$t"; fi
    done
    [ -f test/isolation/output_iso/regression.diffs ] && echo "   (differences in test/isolation/output_iso/regression.diffs)"
fi

# 4. shell tests
mapfile -t shells < <(ls test/shell/*.sh 2>/dev/null | grep -E -- "$PATTERN")
if [ ${#shells[@]} -gt 0 ]; then
    echo "== shell: ${#shells[@]} test(s)"
    for s in "${shells[@]}"; do
        name=$(basename "$s" .sh)
        if bash "$s" >"$WORK/$name.log" 2>&1; then
            pass "$s"
            printf '   %-40s ok\n' "$name"
        else
            fail "shell/$name"
            printf '   %-40s FAILED\n' "$name"
            tail -20 "$WORK/$name.log" | sed 's/^/      /'
        fi
    done
fi

# 5. Citus
mapfile -t citus_tests < <(ls test/citus/t_*.sh 2>/dev/null | grep -E -- "$PATTERN")
if [ ${#citus_tests[@]} -gt 0 ]; then
    echo "== citus: ${#citus_tests[@]} test(s)"
    citus_out=$(bash test/citus/run.sh "${citus_tests[@]}" 2>&1)
    sed -e 's/^ok \(.*\)/   \1 ok/' -e 's/^FAILED \(.*\)/   \1 FAILED/' -e 's/^skip: /   skipped: /' <<<"$citus_out"
    if grep -q '^skip: ' <<<"$citus_out"; then
        skipped=$((skipped + ${#citus_tests[@]}))
    else
        for t in "${citus_tests[@]}"; do
            name=$(basename "$t" .sh)
            if grep -qx "ok $name" <<<"$citus_out"; then pass "$t"; else fail "citus/$name"; fi
        done
    fi
fi

if [ "$failed" -gt 0 ]; then
    echo "failed: ${failures[*]}"
    echo "(logs kept in $WORK)"
fi
echo "$passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" -eq 0 ]
