#!/usr/bin/env bash
# break2_group_owned_definer_four_eyes (break-it pass 2 of issue 9): one approver
# alone applies its own adjustment.  Inside a SECURITY DEFINER function the
# recorded creator is the function's owner (IerpSessionIdentity).  Any
# member of erp_operator can make erp_operator that owner - no schema of its
# own needed: SET ROLE erp_operator; CREATE FUNCTION pg_temp.w() SECURITY
# DEFINER ... (TEMP is PUBLIC's by default).  The adjustment made through it
# has created_by = 'erp_operator', and four eyes (GovernanceSamePerson)
# compares the extension's group roles by name only, so the same login
# approves it.  Expected: IE009 and nothing moves (the person behind both
# is one login); actual: applied, created_by erp_operator, decided_by the
# approver, 30 units worth 150.00 (threshold 100.00).
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_groupfe
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS brk2g_appr" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', 'DC1', 100);
-- an approver: no schema, nothing but the extension's roles
CREATE ROLE brk2g_appr LOGIN IN ROLE erp_operator, erp_approver;
SQL
SUM=$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")
# one session of the approver: the direct way is refused, the temp function's way is not
OUT=$("$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U brk2g_appr -d "$DB" 2>&1 <<'SQL'
SELECT erp.adjust('TEE', 'DC1', 30, 'found') AS direct \gset
SELECT 'direct:' || erp.approve_adjustment(:direct)::text;
SET ROLE erp_operator;
CREATE FUNCTION pg_temp.w(q bigint) RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT erp.adjust('TEE', 'DC1', q, 'found') $$;
RESET ROLE;
SELECT pg_temp.w(30) AS a \gset
SELECT 'id:' || :a;
SELECT 'approve:' || COALESCE(erp.approve_adjustment(:a)::text, 'done');
SQL
)
echo "$OUT"
check "the approver approving its own direct adjustment is refused" "" "$(echo "$OUT" | grep '^direct:')"
check "the approver approving what it made through a function owned by erp_operator (a group it belongs to) is refused too (IE009)" \
      "2" "$(echo "$OUT" | grep -c 'IE009')"
check "both adjustments name the login, not the group, and both still wait" "pending_approval|brk2g_appr,pending_approval|brk2g_appr" \
      "$(admin -c "SELECT string_agg(status::text || '|' || created_by, ',' ORDER BY adjustment_id) FROM erp.adjustment")"
check "nothing was approved" "" "$(echo "$OUT" | grep '^approve:')"
check "and no stock moved" "$SUM" "$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
