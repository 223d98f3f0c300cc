#!/usr/bin/env bash
# partner_costs: a 3PL partner, logged in as itself, sees the costs of its own
# node only (sql/install/86_access_costs.sql).  The shop receives a purchase
# order at its warehouse and unplanned stock at the 3PL, bills freight on the
# purchase order and ships from both nodes; then the partner's login (a member
# of erp_reader and erp_operator, as a 3PL's app would be) reads the cost
# tables, the finance views and erp.verify_costs(), also after SET ROLE to its
# groups.  Catches: cost entries, balances, layers, landed costs or the value
# and margin of the shop's own warehouse visible to a partner.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_partner_costs
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
as() { "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U "$1" -d "$DB" -c "$2" </dev/null 2>&1 | tail -1; }
cleanup() {
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS pc_3pl_app" -c "DROP ROLE IF EXISTS pc_3pl" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
admin >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('3PL', '3pl');
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'DC1' THEN 1 ELSE 2 END FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, unit_cost, unit_price, category) VALUES ('TEE', 5, 20, 'apparel');
INSERT INTO erp.supplier (code) VALUES ('ACME');
SELECT erp.receive_po(erp.create_po('ACME', 'DC1', '[{"sku": "TEE", "qty": 10, "unit_cost": 4}]', now() + interval '1 day'));
SELECT erp.add_landed_cost(max(purchase_order_id), 'freight', 10.00) FROM erp.purchase_order;
SELECT erp.receive('TEE', '3PL', 6);
-- one order at each node: 10 units at DC1 first, then 3 at the 3PL
SELECT count(*) FROM erp.place_order('WEB', 'o-dc1', '[{"sku": "TEE", "qty": 10}]');
SELECT count(*) FROM erp.place_order('WEB', 'o-3pl', '[{"sku": "TEE", "qty": 3}]');
SELECT erp.pick(o.order_id, 'TEE', l.qty_allocated), erp.pack(o.order_id), erp.ship(o.order_id)
  FROM erp.sales_order o JOIN erp.order_line l USING (order_id) ORDER BY o.order_id;
CREATE ROLE pc_3pl;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'pc_3pl', node_id FROM erp.node WHERE code = '3PL';
CREATE ROLE pc_3pl_app LOGIN IN ROLE pc_3pl, erp_reader, erp_operator;
SQL
N3PL=$(admin -c "SELECT node_id FROM erp.node WHERE code = '3PL'")
echo "== the shop sees both nodes"
check "cost entries at both nodes" "2" "$(admin -c "SELECT count(DISTINCT node_id) FROM erp.cost_entry")"
check "a landed cost" "1" "$(admin -c "SELECT count(*) FROM erp.landed_cost")"
check "value on hand: 3 left at the 3PL (of 6 at 5.00)" "3PL 3 15.00" "$(admin -c "SELECT string_agg(node || ' ' || qty || ' ' || value, ', ') FROM erp.inventory_value")"
echo "== the partner's login"
for setrole in "" "SET ROLE erp_reader; " "SET ROLE erp_operator; "; do
    check "${setrole}cost entries of other nodes" "0" "$(as pc_3pl_app "${setrole}SELECT count(*) FROM erp.cost_entry WHERE node_id <> $N3PL")"
    check "${setrole}cost entries of its node" "t" "$(as pc_3pl_app "${setrole}SELECT count(*) > 0 FROM erp.cost_entry WHERE node_id = $N3PL")"
    check "${setrole}cost balances and layers of other nodes" "0" "$(as pc_3pl_app "${setrole}SELECT (SELECT count(*) FROM erp.cost_balance WHERE node_id <> $N3PL) + (SELECT count(*) FROM erp.cost_layer WHERE node_id <> $N3PL) + (SELECT count(*) FROM erp.cost_delta WHERE node_id <> $N3PL)")"
    check "${setrole}the DC1 purchase order's landed cost" "0" "$(as pc_3pl_app "${setrole}SELECT (SELECT count(*) FROM erp.landed_cost) + (SELECT count(*) FROM erp.landed_cost_line)")"
    check "${setrole}margin: only the 3PL's cost of goods sold (3 x 5.00)" "15.00" "$(as pc_3pl_app "${setrole}SELECT abs(sum(value)) FROM erp.cost_entry WHERE kind = 'cogs'")"
    check "${setrole}value at the start: nothing of DC1" "0" "$(as pc_3pl_app "${setrole}SELECT count(*) FROM erp.inventory_value_at(now()) WHERE node = 'DC1'")"
    check "${setrole}verify_costs" "0" "$(as pc_3pl_app "${setrole}SELECT count(*) FROM erp.verify_costs()")"
done
check "the shop's books are healthy" "0" "$(admin -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] && echo "ok: a partner sees the costs of its own node only"
exit $((failures > 0))
