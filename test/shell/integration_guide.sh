#!/usr/bin/env bash
# integration_guide: every SQL example of doc/integration.md runs, in the order of
# the page, in one psql session on the shop of examples/setup.sql, in a cluster of
# its own with wal_level = logical (the logical decoding and publication examples
# need it).  A block whose first lines say "-- expect: IE010" must be refused with
# exactly that SQLSTATE; every other block must run without error, and when the
# page shows its output (a plain ``` block right after it), print exactly that.  A block that
# says "-- needs: erp.some_function" is skipped, loudly, while that function or
# relation is not installed.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
DOC=$REPO_ROOT/doc/integration.md
failures=0
DIR=$WORK/guide
DATA=$DIR/data
cleanup() { pg_stop "$DATA"; }
trap cleanup EXIT
mkdir -p "$DIR"
chmod 755 "$WORK" "$DIR"
PORT=$(pg_free_port)
( pg_start "$DATA" "$PORT" fsync=off wal_level=logical max_wal_senders=4 max_replication_slots=4 ) || exit 1
psql_shop() { "$PGBIN/psql" -X -q -h "$DIR" -p "$PORT" -U postgres -d shop "$@"; }
"$PGBIN/createdb" -h "$DIR" -p "$PORT" -U postgres shop || exit 1
psql_shop -v ON_ERROR_STOP=1 -f "$REPO_ROOT/examples/setup.sql" >"$DIR/setup.out" 2>&1 ||
    { cat "$DIR/setup.out"; echo "examples/setup.sql failed"; exit 1; }

# The blocks: blocks/N.sql, one per ```sql fence of the page, and blocks/N.out,
# the plain ``` fence that follows it (its output as the page shows it), if any.
mkdir -p "$DIR/blocks" "$DIR/out"
awk -v dir="$DIR/blocks" '
    /^ *```sql *$/ { n++; inblock = 1; file = sprintf("%s/%03d.sql", dir, n); printf "" > file; next }
    inblock && /^ *```/ { inblock = 0; close(file); after = 1; next }
    inblock { sub(/^  /, ""); print >> file; next }
    inout && /^ *```/ { inout = 0; close(file); next }
    inout { print >> file; next }
    after && /^ *$/ { next }
    after && /^ *``` *$/ { after = 0; inout = 1; file = sprintf("%s/%03d.out", dir, n); printf "" > file; next }
    { after = 0 }
' "$DOC"
mapfile -t blocks < <(ls "$DIR/blocks"/*.sql 2>/dev/null)
echo "== ${#blocks[@]} SQL examples in doc/integration.md"
[ ${#blocks[@]} -ge 10 ] || { echo "MISMATCH fewer than 10 SQL examples found"; exit 1; }

installed() { # installed NAME: a function or relation of that name exists
    [ "$(psql_shop -At -c "SELECT to_regproc('$1') IS NOT NULL OR to_regclass('$1') IS NOT NULL")" = t ]
}

# One script: each block between a reset of psql's LAST_ERROR_SQLSTATE and a line
# that reports it, so that the blocks share one session (\gset variables) and each
# is judged on its own.
SCRIPT=$DIR/guide.sql
{
    echo '\set VERBOSITY verbose'
    echo '\set ON_ERROR_STOP 0'
} >"$SCRIPT"
declare -A expect skip
for f in "${blocks[@]}"; do
    b=$(basename "$f" .sql)
    expect[$b]=$(sed -n 's/^-- expect: *\([0-9A-Z]\{5\}\).*/\1/p' "$f" | head -1)
    expect[$b]=${expect[$b]:-00000}
    skip[$b]=""
    for need in $(sed -n 's/^-- needs: *//p' "$f"); do
        [ "$need" = "wal_level=logical" ] && continue
        installed "$need" || skip[$b]="${skip[$b]} $need"
    done
    if [ -n "${skip[$b]}" ]; then
        echo "\\echo @@block $b skipped" >>"$SCRIPT"
        continue
    fi
    { echo '\set LAST_ERROR_SQLSTATE 00000'; echo "\\o $DIR/out/$b.txt"; cat "$f"; echo
      echo '\o'; echo "\\echo @@block $b :LAST_ERROR_SQLSTATE"; } >>"$SCRIPT"
done
psql_shop -f "$SCRIPT" >"$DIR/guide.out" 2>"$DIR/guide.err"

# norm FILE: without trailing blanks on lines, nor blank lines at the end
norm() { sed 's/[[:space:]]*$//' "$1" | awk 'NF { for (; blank > 0; blank--) print ""; print; next } { blank++ }'; }
for f in "${blocks[@]}"; do
    b=$(basename "$f" .sql)
    first=$(grep -v '^--' "$f" | head -1 | cut -c1-70)
    got=$(sed -n "s/^@@block $b //p" "$DIR/guide.out")
    if [ -n "${skip[$b]}" ]; then
        printf 'NOT RUN  example %s (%s): needs%s, not installed\n' "$b" "$first" "${skip[$b]}"
    elif [ "$got" != "${expect[$b]}" ]; then
        printf 'MISMATCH example %s (%s)\n         expected: %s\n         actual:   %s\n' "$b" "$first" "${expect[$b]}" "$got"
        failures=$((failures + 1))
    elif [ "$got" = 00000 ] && [ -f "$DIR/blocks/$b.out" ] &&
         ! diff -u <(norm "$DIR/blocks/$b.out") <(norm "$DIR/out/$b.txt") >"$DIR/out/$b.diff"; then
        printf 'MISMATCH example %s (%s): output differs from the page\n' "$b" "$first"
        sed 's/^/         /' "$DIR/out/$b.diff"
        failures=$((failures + 1))
    else
        printf 'ok       example %s (%s) -> %s%s\n' "$b" "$first" "$got" "$([ -f "$DIR/blocks/$b.out" ] && [ "$got" = 00000 ] && echo ', output as shown')"
    fi
done
if [ -n "${GUIDE_SHOW:-}" ]; then  # while writing the page: every block's real output
    for f in "$DIR"/out/*.txt; do echo "---- $(basename "$f" .txt)"; cat "$f"; done
fi
if [ "$failures" -gt 0 ]; then
    echo "-- errors:"; sed 's/^/   /' "$DIR/guide.err"
fi
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
