#!/usr/bin/env bash
# break2_definer_creator_four_eyes (break-it pass 2 of issue 9): the creator
# side of four eyes.  Inside another login's SECURITY DEFINER function the
# recorded creator (erp.adjustment.created_by) is that function's owner, not
# the login that ran it.  An operator with a schema of its own offers a
# SECURITY DEFINER "write-off" wrapper around erp.adjust (or erp.count); an
# approver writes 40 units off through it (created_by = the wrapper's owner)
# and then approves the adjustment itself: four eyes compares the recorded
# names, sees two people, and applies it.  One login decided twice.
# Expected: IE009 and nothing moves; actual: applied.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_creator
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
as() {
    local login=$1 args=()
    shift
    for s in "$@"; do args+=(-c "$s"); done
    "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U "$login" -d "$DB" "${args[@]}" </dev/null 2>&1 | tail -1
}
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS brk2c_op, brk2c_appr" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', 'DC1', 100);
-- an operator that is no approver, with a schema of its own
CREATE ROLE brk2c_op LOGIN IN ROLE erp_operator;
CREATE SCHEMA brk2c_ops AUTHORIZATION brk2c_op;
GRANT USAGE ON SCHEMA brk2c_ops TO PUBLIC;
-- an approver
CREATE ROLE brk2c_appr LOGIN IN ROLE erp_operator, erp_approver;
SQL
as brk2c_op "CREATE FUNCTION brk2c_ops.writeoff(q bigint) RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS \$\$ SELECT erp.adjust('TEE', 'DC1', q, 'shrinkage') \$\$" >/dev/null
as brk2c_op "GRANT EXECUTE ON FUNCTION brk2c_ops.writeoff(bigint) TO PUBLIC" >/dev/null
SUM=$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")
check "a write-off through another operator's SECURITY DEFINER wrapper is refused (IE009): it would be made in the owner's name" \
      "ERROR:  IE009" "$(as brk2c_appr "SELECT brk2c_ops.writeoff(-40)")"
check "so there is nothing for the approver to approve" "0" "$(admin -c "SELECT count(*) FROM erp.adjustment")"
check "and no stock moved" "$SUM" "$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
