#!/usr/bin/env bash
# The pg_regress scenarios (sql/*.sql) against a private cluster whose postgres
# runs under valgrind (memcheck), one scenario at a time, so that every error
# valgrind reports is tied to the scenario whose backends made it.  Run by
# `make valgrind` (which installs valgrind through scripts/deps.sh and builds
# the module with assertions, as `make test` does).  Slow: minutes.  Not part
# of `make test`.  TESTS=pattern runs only the matching scenarios.
# VALGRIND_SUITE=pgtap runs the pgTAP files (test/pgtap/*.sql, through
# pg_prove, in one database with pgtap and the extension) instead, e.g.
#   VALGRIND_SUITE=pgtap TESTS='35_idem|36_gs1' make valgrind
#
# Debian's PostgreSQL is not built with USE_VALGRIND, so memory inside a
# memory context is invisible to memcheck until the context gives its blocks
# back to malloc; what it does see: reads of freed large chunks and of freed
# contexts' blocks, uninitialised values reaching a branch or a system call,
# and writes past malloc'ed blocks.  scripts/valgrind.supp suppresses the
# false positives of an unmodified PostgreSQL server (padding bytes written to
# WAL and data files, CRCs over them); see that file; none of them has a frame in
# inventory_erp.so.
#
# Prints every error whose stack has a frame in inventory_erp.so (the scenario,
# the error, its stack; the innermost frame may be PostgreSQL's, called from
# ours), then the count of other errors; exits 1 when there is one.  Logs are kept in the work directory it prints.
set -uo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh

command -v valgrind >/dev/null || { echo "valgrind: not installed (scripts/deps.sh valgrind)" >&2; exit 1; }
PATTERN=${TESTS:-.}
WORK=$(pg_workdir valgrind)
DATA=$WORK/data
VG=$WORK/vg
SUPP=$REPO_ROOT/scripts/valgrind.supp
mkdir -p "$VG"
chmod 777 "$VG"
REGRESS_BIN=$(dirname "$("$SYS_PGBIN/pg_config" --pgxs)")/../test/regress/pg_regress

stop_server() {
    [ -f "$DATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 300 stop >/dev/null 2>&1
    return 0
}
trap stop_server EXIT

pg_private_install "$WORK" || exit 1
PORT=$(pg_free_port)
mkdir -p "$DATA"
chown postgres: "$DATA" "$WORK" 2>/dev/null || true
as_pg "$PGBIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 ||
    { cat "$WORK/initdb.log"; exit 1; }

echo "valgrind: starting postgres under memcheck (logs in $VG)"
# jit=off: LLVM's JIT code is not ours and only slows valgrind down
as_pg valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=no \
    --leak-check=no --num-callers=30 --error-exitcode=0 \
    --error-markers=VGERROR-BEGIN,VGERROR-END --suppressions="$SUPP" --gen-suppressions=all \
    --log-file="$VG/%p.log" \
    "$PGBIN/postgres" -D "$DATA" -p "$PORT" -k "$WORK" -c listen_addresses= -c fsync=off \
    -c jit=off -c max_connections=20 -c log_min_messages=warning \
    >"$WORK/server.log" 2>&1 &
for _ in $(seq 1 300); do
    "$PGBIN/psql" -X -q -h "$WORK" -p "$PORT" -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 1
done
"$PGBIN/psql" -X -q -h "$WORK" -p "$PORT" -U postgres -d postgres -c 'SELECT 1' >/dev/null ||
    { echo "valgrind: the server did not start"; tail -20 "$WORK/server.log"; exit 1; }

SUITE=${VALGRIND_SUITE:-regress}
case "$SUITE" in
    regress) mapfile -t scenarios < <(ls sql/*.sql | xargs -n1 basename | sed 's/\.sql$//' | grep -E -- "$PATTERN") ;;
    pgtap)
        "$PGBIN/psql" -X -q -h "$WORK" -p "$PORT" -U postgres -d postgres -c 'CREATE DATABASE ierp_tap' >/dev/null &&
        "$PGBIN/psql" -X -q -h "$WORK" -p "$PORT" -U postgres -d ierp_tap \
            -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION inventory_erp' >/dev/null || exit 1
        mapfile -t scenarios < <(ls test/pgtap/*.sql | xargs -n1 basename | sed 's/\.sql$//' | grep -E -- "$PATTERN") ;;
    *) echo "valgrind: VALGRIND_SUITE is regress or pgtap, not $SUITE" >&2; exit 1 ;;
esac
# run_scenario NAME: one pg_regress scenario or one pgTAP file; sets result
run_scenario() {
    if [ "$SUITE" = pgtap ]; then
        if pg_prove --ext .sql -h "$WORK" -p "$PORT" -U postgres -d ierp_tap "test/pgtap/$1.sql" \
            >"$WORK/tap-$1.log" 2>&1; then
            result=ok
        else
            result="pgTAP failed (see $WORK/tap-$1.log)"
        fi
    elif "$REGRESS_BIN" --host="$WORK" --port="$PORT" --user=postgres --inputdir=. \
        --outputdir="$WORK/regress-$1" --bindir="$PGBIN" --dbname=ierp_valgrind "$1" >"$WORK/regress-$1.log" 2>&1; then
        result=ok
    else
        result="differs from expected/$1.out (see $WORK/regress-$1)"
    fi
}
declare -A owner   # valgrind log file -> scenario
for t in "${scenarios[@]}"; do
    before=$(ls "$VG")
    started=$SECONDS
    run_scenario "$t"
    for f in $(comm -13 <(echo "$before") <(ls "$VG")); do owner[$f]=$t; done
    printf 'valgrind: %-28s %4d s  %s\n' "$t" $((SECONDS - started)) "$result"
done
stop_server
trap - EXIT
for f in $(ls "$VG"); do [ -n "${owner[$f]:-}" ] || owner[$f]="(server start/stop)"; done

# a frame of ours: in inventory_erp.so, or (with its debug info) in one of src/*.c
OURS_RE="inventory_erp\.so|\(($(ls src/*.c src/stock/*.c | xargs -n1 basename | sed 's/\.c$//' | paste -sd'|'))\.c:[0-9]+\)"
ours=0
others=0
report=$WORK/inventory_erp-errors.txt
: >"$report"
for f in $(ls "$VG"); do
    # one error per block between the markers
    while IFS= read -r -d $'\f' block; do
        [ -n "$block" ] || continue
        if grep -Eq "$OURS_RE" <<<"$block"; then
            ours=$((ours + 1))
            { echo "---- error $ours, scenario ${owner[$f]}, process log $f"; grep -v 'VGERROR' <<<"$block"; } >>"$report"
        else
            others=$((others + 1))
            printf '   other error, scenario %s, %s: %s\n' "${owner[$f]}" "$f" \
                "$(grep -m1 -E '== [A-Z]' <<<"$block" | sed 's/^==[0-9]*== //') at $(grep -oE 'by 0x[0-9A-F]+: [A-Za-z_][A-Za-z_0-9]*' <<<"$block" | head -3 | sed 's/.*: //' | paste -sd' ')" \
                >>"$WORK/other-errors.txt"
        fi
    done < <(awk '/VGERROR-BEGIN/ {on = 1; next} /VGERROR-END/ {on = 0; printf "\f"; next} on' "$VG/$f")
done
if [ $ours -gt 0 ]; then
    echo "valgrind: $ours error(s) in inventory_erp.so:"
    cat "$report"
fi
[ $others -gt 0 ] && cat "$WORK/other-errors.txt"
echo "valgrind: $ours error(s) with a frame in inventory_erp.so, $others other error(s) (logs: $VG)"
[ $ours -eq 0 ]
