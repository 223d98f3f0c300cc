#!/usr/bin/env bash
# kernel_routed: the stock kernel's two paths give the same books.  On one node it
# reads and writes erp.stock_slot and erp.stock_move directly (index scan, heap
# update); on Citus it must route SQL statements that name the whole key
# (inventory_erp.kernel_access = routed forces that path here).  The same day of
# business - receipts of a plain and a lot-tracked item, orders captured,
# allocated (one short), picked, short-picked, packed, shipped and cancelled, a
# transfer sent and received, a count, refusals - runs in a database on each path.
# Catches: a routed statement that misses the guard's permission (IE005), that
# writes another key or loses a slot, a direct write the next read does not see,
# or any difference between the paths: the ledger (every row but its id and time),
# the balances, the order lines and erp.verify() (empty on both) must match.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() {
    for d in ierp_kernel_direct ierp_kernel_routed; do "$PGBIN/dropdb" -U postgres --if-exists "$d" >/dev/null 2>&1; done
}
trap cleanup EXIT
cleanup

scenario() {
    local db=$1 access=$2
    "$PGBIN/createdb" -U postgres "$db" || return 1
    "$PGBIN/psql" -X -q -U postgres -d "$db" -c "ALTER DATABASE $db SET inventory_erp.kernel_access = $access" >/dev/null || return 1
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$db" >/dev/null <<'SQL' || return 1
CREATE EXTENSION inventory_erp;
-- which path ran: SQL statements on the kernel's tables fire triggers, direct heap writes do not
CREATE TABLE kernel_statements (n bigint NOT NULL);
INSERT INTO kernel_statements VALUES (0);
CREATE FUNCTION count_kernel_statement() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN UPDATE public.kernel_statements SET n = n + 1; RETURN NULL; END $$;
CREATE TRIGGER zz_count AFTER INSERT OR UPDATE OR DELETE ON erp.stock_slot
    FOR EACH STATEMENT EXECUTE FUNCTION count_kernel_statement();
CREATE TRIGGER zz_count AFTER INSERT ON erp.stock_move
    FOR EACH STATEMENT EXECUTE FUNCTION count_kernel_statement();
INSERT INTO erp.node (code, kind, latitude, longitude) VALUES ('DC1', 'warehouse', 52, 13), ('DC2', 'warehouse', 48, 11);
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, n.node_id FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 1, 10), ('MUG', 1, 8);
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked) VALUES ('MILK', 1, 2, true);
SELECT erp.receive('TEE', 'DC1', 20), erp.receive('TEE', 'DC2', 5), erp.receive('MUG', 'DC1', 3);
SELECT erp.receive('MILK', 'DC1', 6, 'L1', '2099-01-01'), erp.receive('MILK', 'DC1', 4, 'L2', '2098-01-01');
CREATE TABLE o (n int PRIMARY KEY, id bigint);
INSERT INTO o SELECT 1, erp.capture_order('WEB', 'A1', '[{"sku": "TEE", "qty": 4}, {"sku": "MILK", "qty": 5}]');
INSERT INTO o SELECT 2, erp.capture_order('WEB', 'A2', '[{"sku": "MUG", "qty": 5}]');
INSERT INTO o SELECT 3, erp.capture_order('WEB', 'A3', '[{"sku": "TEE", "qty": 18}]');
SELECT count(*) FROM o, LATERAL erp.allocate(o.id);
SELECT erp.pick((SELECT id FROM o WHERE n = 1), 'TEE', 4);
SELECT erp.pick((SELECT id FROM o WHERE n = 1), 'MILK', 4);
SELECT erp.short_pick((SELECT id FROM o WHERE n = 1), 'MILK', 1);
SELECT erp.cancel_order((SELECT id FROM o WHERE n = 2));
SELECT erp.cancel_order((SELECT id FROM o WHERE n = 3));
SELECT erp.receive_transfer(erp.transfer('TEE', 'DC1', 'DC2', 3));
SELECT erp.count('MUG', 'DC1', 2);
SQL
    # refusals change nothing on either path
    "$PGBIN/psql" -X -q -At -U postgres -d "$db" -c "SELECT erp.move('TEE', 'DC1', 1000, 'available', 'damaged', 'damage')" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -At -U postgres -d "$db" -c "INSERT INTO erp.stock_slot (item_id, node_id, slot, available) VALUES (1, 1, 99, 5)" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$db" >/dev/null <<'SQL' || return 1
SELECT erp.pack((SELECT id FROM o WHERE n = 1));
SELECT erp.ship((SELECT id FROM o WHERE n = 1), 'DHL', 'T1');
SQL
}
books() {
    "$PGBIN/psql" -X -q -At -U postgres -d "$1" <<'SQL'
SELECT string_agg(format('%s/%s/%s/%s/%s/%s/%s/%s', i.sku, m.lot_id, m.qty, m.from_node_id, m.from_state,
                         m.to_node_id, m.to_state, m.event), ' ' ORDER BY m.move_id) FROM erp.stock_move m JOIN erp.item i USING (item_id);
SELECT string_agg(format('%s/%s/%s/%s=%s', item_id, node_id, lot_id, state, qty), ' ' ORDER BY item_id, node_id, lot_id, state) FROM erp.stock_balance;
SELECT string_agg(format('%s/%s=%s/%s/%s', order_id, line_no, qty_allocated, qty_shipped, status), ' ' ORDER BY order_id, line_no) FROM erp.order_line;
SQL
}

scenario ierp_kernel_direct direct || { echo "the scenario failed on the direct path"; exit 1; }
scenario ierp_kernel_routed routed || { echo "the scenario failed on the routed path"; exit 1; }
check "the routed path wrote the slots and the ledger with SQL statements" "yes" \
    "$("$PGBIN/psql" -X -q -At -U postgres -d ierp_kernel_routed -c "SELECT CASE WHEN n > 0 THEN 'yes' ELSE 'no: ' || n END FROM kernel_statements")"
check "the direct path wrote them without any statement" "0" \
    "$("$PGBIN/psql" -X -q -At -U postgres -d ierp_kernel_direct -c "SELECT n FROM kernel_statements")"
check "the ledger, balances and order lines are the same on both paths" "$(books ierp_kernel_direct)" "$(books ierp_kernel_routed)"
check "(the scenario moved stock: 16 ledger rows or more)" "yes" \
    "$("$PGBIN/psql" -X -q -At -U postgres -d ierp_kernel_routed -c "SELECT count(*) >= 16 FROM erp.stock_move" | sed 's/t/yes/')"
for d in ierp_kernel_direct ierp_kernel_routed; do
    check "erp.verify() is empty ($d)" "0" "$("$PGBIN/psql" -X -q -At -U postgres -d "$d" -c "SELECT count(*) FROM erp.verify()")"
    check "no slot of a state no document vouches for is below zero ($d)" "0" \
        "$("$PGBIN/psql" -X -q -At -U postgres -d "$d" -c "SELECT count(*) FROM erp.stock_slot WHERE least(available, quarantined, damaged, incoming, in_transit) < 0")"
done
[ "$failures" -eq 0 ] && echo "== kernel_routed: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
