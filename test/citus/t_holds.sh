#!/usr/bin/env bash
# t_holds: checkout holds and substitutes on the distributed layout, as on one
# node: a hold lowers ATP (its lines live on the item's worker), an order captured
# with its hold_ref keeps the held units, an expired hold's units count again in
# ATP before erp.expire_holds runs and are given back by it, a line that allows
# substitutes is filled by one; erp.verify() is empty after each step.
# Catches: a hold statement Citus cannot route (a hold line without item_id), a
# verify that Citus refuses, a conversion that loses the held units.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_holds
citus_db "$DB" || exit 1
c() { citus_psql 0 -d "$DB" "$@"; }
c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" >/dev/null || exit 1
c -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) SELECT 'MUG-' || g, 1, 8 FROM generate_series(1, 6) g;
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
SELECT erp.receive(sku, 'DC1', 10) FROM erp.item WHERE sku <> 'MUG-5';
SELECT erp.set_substitute('MUG-5', 'MUG-6', 1);
SQL
check "a hold of 3 + 2 units across two items" "t" \
    "$(c -c "SELECT erp.hold('WEB', 'CART-1', '[{\"sku\": \"MUG-1\", \"qty\": 3}, {\"sku\": \"MUG-2\", \"qty\": 2}]') > 0")"
check "ATP of MUG-1 and MUG-2 drops by the held units" "7 8" \
    "$(c -c "SELECT erp.atp('MUG-1', channel => 'WEB') || ' ' || erp.atp('MUG-2', channel => 'WEB')")"
check "erp.verify() is empty with the hold open" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
check "the order is captured with the hold's ref" "1" \
    "$(c -c "SELECT erp.capture_order('WEB', 'H-1', '[{\"sku\": \"MUG-1\", \"qty\": 3}, {\"sku\": \"MUG-2\", \"qty\": 2}]',
                                      NULL, 0, NULL, (SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = 'CART-1'))" 2>&1)"
check "the order keeps the held units" "3 2" \
    "$(c -c "SELECT string_agg(qty_allocated::text, ' ' ORDER BY line_no) FROM erp.order_line WHERE order_id = 1")"
check "the hold is converted; ATP unchanged by the conversion" "converted 7 8" \
    "$(c -c "SELECT status || ' ' || erp.atp('MUG-1', channel => 'WEB') || ' ' || erp.atp('MUG-2', channel => 'WEB') FROM erp.checkout_hold WHERE cart_ref = 'CART-1'")"
c -c "SELECT erp.hold('WEB', 'CART-2', '[{\"sku\": \"MUG-3\", \"qty\": 4}]')" >/dev/null
check "a second hold lowers ATP of MUG-3" "6" "$(c -c "SELECT erp.atp('MUG-3', channel => 'WEB')")"
# the TTL passes (simulated: the hold and its line, which carries expires_at for the probe)
c -c "UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute' WHERE cart_ref = 'CART-2'" \
  -c "UPDATE erp.checkout_hold_line SET expires_at = now() - interval '1 minute'
       WHERE item_id = (SELECT item_id FROM erp.item WHERE sku = 'MUG-3')
         AND hold_id = (SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = 'CART-2')" >/dev/null
check "its TTL passed: ATP counts the units before the job runs" "10" "$(c -c "SELECT erp.atp('MUG-3', channel => 'WEB')")"
check "erp.expire_holds gives them back" "1 expired 10 0" \
    "$(c -c "SELECT erp.expire_holds()") $(c -c "SELECT status || ' ' || erp.atp('MUG-3', channel => 'WEB') FROM erp.checkout_hold WHERE cart_ref = 'CART-2'") $(c -c "SELECT count(*) FROM erp.verify()")"
check "a line that allows substitutes is filled by MUG-6 (MUG-5 has none)" "MUG-6 2" \
    "$(c -c "SELECT string_agg(sku || ' ' || qty, ',') FROM erp.allocate(erp.capture_order('WEB', 'S-1', '[{\"sku\": \"MUG-5\", \"qty\": 2, \"substitutes\": true}]'))")"
check "erp.verify() is empty at the end" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] && echo "== t_holds: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
