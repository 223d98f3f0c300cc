#!/usr/bin/env bash
# partner_pick_exception (found by the break-it pass, issue 9 follow-up): a 3PL's picker scans
# a wrong item for an order of the 3PL's own node.  The pick is refused (IE007)
# and the pick_exception is committed by the event worker - but with node_id
# NULL, and erp.event's policy shows a partner the rows whose node_id is one of
# its nodes only.  doc/governance.md tells consumers to re-read erp.event under
# their own rights on each notification: the partner's connector is notified
# of the event id and then cannot read its own pick exception.
# Expected: the partner reads the pick_exception of its own order.
# Actual (1ccb86a): 0 rows (the superuser sees it, node_id NULL).  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break_partner_event
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
as() { "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U "$1" -d "$DB" -c "$2" </dev/null 2>&1 | tail -1; }
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS brk_pe_app" -c "DROP ROLE IF EXISTS brk_pe_3pl" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U postgres -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('3PL', '3pl');
INSERT INTO erp.channel (code) VALUES ('MKT');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT 1, node_id FROM erp.node WHERE code = '3PL';
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', '3PL', 10);
SELECT erp.capture_order('MKT', 'M1', '[{"sku": "TEE", "qty": 1}]');
SELECT count(*) FROM erp.allocate(1);
CREATE ROLE brk_pe_3pl;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'brk_pe_3pl', node_id FROM erp.node WHERE code = '3PL';
CREATE ROLE brk_pe_app LOGIN IN ROLE brk_pe_3pl, erp_operator;
SQL
check "(the partner sees its own order)" "1" "$(as brk_pe_app "SELECT count(*) FROM erp.sales_order WHERE order_id = 1")"
check "(its picker's wrong scan is refused: IE007)" "ERROR:  IE007" "$(as brk_pe_app "SELECT erp.pick(1, 'WRONG-LABEL', 1)")"
check "(the exception is recorded)" "1" \
      "$(as postgres "SELECT count(*) FROM erp.event WHERE kind = 'pick_exception' AND order_id = 1")"
check "the partner reads the pick_exception of its own order" "1" \
      "$(as brk_pe_app "SELECT count(*) FROM erp.event WHERE kind = 'pick_exception' AND order_id = 1")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
