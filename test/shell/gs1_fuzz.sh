#!/usr/bin/env bash
# gs1_fuzz: the GS1 parser (src/gs1.c) fed 20,000 mutated and random texts of
# any byte but NUL (a SQL_ASCII database, so that no encoding check stands
# between the bytes and the parser), through erp.parse_gs1 and, every tenth,
# erp.receive (test/fuzz/gs1_fuzz.sql says what is checked).  Under `make test`
# the module has assertions on.  Exit 0 = every text parsed or refused as
# documented, no crash, and each outcome seen (so the run is not vacuous).
set -uo pipefail
: "${PGBIN:?}" "${REPO_ROOT:?}"
DB=ierp_gs1_fuzz
cleanup() { "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres -E SQL_ASCII --locale=C -T template0 "$DB" || exit 1
out=$("$PGBIN/psql" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -U postgres -d "$DB" \
      -c 'CREATE EXTENSION inventory_erp' -f "$REPO_ROOT/test/fuzz/gs1_fuzz.sql" \
      -c 'SELECT * FROM gs1fuzz.run(20000, 255, 0.36)' \
      -c "SELECT 'VIOLATION input (hex): ' || encode(convert_to(input, 'SQL_ASCII'), 'hex') FROM gs1fuzz_result WHERE outcome LIKE 'VIOLATION%' LIMIT 5" 2>&1)
rc=$?
echo "$out" | sed 's/^/   /'
[ $rc -eq 0 ] || { echo "the fuzz session failed (a crash ends it)"; exit 1; }
grep -q VIOLATION <<<"$out" && exit 1
for outcome in 'parsed' 'refused IE004' 'received' 'receipt refused'; do
    grep -Eq "^$outcome [0-9]+$" <<<"$out" || { echo "no call ended '$outcome': the run proves nothing"; exit 1; }
done
exit 0
