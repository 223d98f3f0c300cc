#!/usr/bin/env bash
# break2_definer_approver_right (break-it pass 2 of issue 9): erp.approve_adjustment
# checks the erp_approver right on GetOuterUserId() (the session's role in
# effect) but records and compares (four eyes) the acting identity, which
# inside another login's SECURITY DEFINER function is that function's owner.
# So an operator who is no approver (here: one with a schema of its own, as
# partner application logins have) writes a SECURITY DEFINER wrapper around
# erp.approve_adjustment; an approver calls it to apply the adjustment the
# approver made itself.  Expected: refused (IE009) - either the owner is no
# approver, or the person approving made the adjustment - and nothing moves;
# actual: applied, decided_by = the wrapper's owner (no approver), 50 units
# worth 250.00 (threshold 100.00) written off by one person.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break2_approver
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
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS brk2a_op, brk2a_appr" >/dev/null 2>&1
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
CREATE ROLE brk2a_op LOGIN IN ROLE erp_operator;
CREATE SCHEMA brk2a_ops AUTHORIZATION brk2a_op;
GRANT USAGE ON SCHEMA brk2a_ops TO PUBLIC;
-- an approver
CREATE ROLE brk2a_appr LOGIN IN ROLE erp_operator, erp_approver;
SQL
as brk2a_op "CREATE FUNCTION brk2a_ops.approve(id bigint) RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS \$\$ SELECT erp.approve_adjustment(id) \$\$" >/dev/null
as brk2a_op "GRANT EXECUTE ON FUNCTION brk2a_ops.approve(bigint) TO PUBLIC" >/dev/null

ADJ=$(as brk2a_appr "SELECT erp.adjust('TEE', 'DC1', -50, 'shrinkage')")
ADJ=${ADJ//[^0-9]/}
check "(the approver's write-off of 50 units waits for approval)" "pending_approval|brk2a_appr" \
      "$(admin -c "SELECT status, created_by FROM erp.adjustment WHERE adjustment_id = ${ADJ:-0}")"
check "(four eyes: the approver may not apply it directly)" "ERROR:  IE009" \
      "$(as brk2a_appr "SELECT erp.approve_adjustment(${ADJ:-0})")"
check "(the wrapper's owner, no approver, may not apply it directly)" "ERROR:  IE009" \
      "$(as brk2a_op "SELECT brk2a_ops.approve(${ADJ:-0})")"
SUM=$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")
check "the approver applying its own adjustment through a non-approver's SECURITY DEFINER wrapper is refused (IE009)" \
      "ERROR:  IE009" "$(as brk2a_appr "SELECT brk2a_ops.approve(${ADJ:-0})")"
check "and the adjustment still waits" "pending_approval|" \
      "$(admin -c "SELECT status, decided_by FROM erp.adjustment WHERE adjustment_id = ${ADJ:-0}")"
check "and no stock moved" "$SUM" "$(admin -c "SELECT md5(string_agg(b::text, '|' ORDER BY b::text)) FROM erp.stock_balance b")"
check "no applied adjustment names a decider that is no erp_approver" "0" \
      "$(admin -c "SELECT count(*) FROM erp.adjustment WHERE status = 'applied' AND NOT pg_has_role(decided_by, 'erp_approver', 'member')")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
