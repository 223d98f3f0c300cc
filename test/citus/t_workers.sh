#!/usr/bin/env bash
# t_workers: clients write through the coordinator and through each worker (Citus
# lets a worker plan and route statements on distributed tables): receipts, orders
# captured and allocated.  Every id stays unique, each node's from its own range
# (coordinator 1.., worker g from g * 2^48 + 1), and the books are whole.
# Catches: worker sequences that restart at 1 (duplicate ids), a guard that
# refuses the kernel's writes routed from a worker, a lookup that reads a worker's
# empty table instead of the reference table's rows.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_workers
citus_db "$DB" || exit 1
c() { citus_psql 0 -d "$DB" "$@"; }
c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" >/dev/null || exit 1
c -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('DC2', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 1, 10), ('MUG', 2, 8);
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, n.node_id FROM erp.channel c, erp.node n;
SELECT erp.receive('TEE', 'DC1', 10, ref => 'via-coordinator');
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'C-1', '[{"sku": "TEE", "qty": 2}]'));
SQL
for n in 1 2; do
    citus_psql $n -d "$DB" -v ON_ERROR_STOP=1 >/dev/null <<SQL || { echo "writing through worker $n failed"; exit 1; }
SELECT erp.receive('MUG', 'DC$n', 5, ref => 'via-worker-$n');
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'W$n-1', '[{"sku": "MUG", "qty": $n}]'));
SQL
done
G1=$((1 << 48)); G2=$((2 << 48))
check "ledger ids: the coordinator's from 1, each worker's from its range" \
    "1:receive:10 2:allocate:2 $((G1 + 1)):receive:5 $((G1 + 2)):allocate:1 $((G2 + 1)):receive:5 $((G2 + 2)):allocate:2" \
    "$(c -c "SELECT string_agg(format('%s:%s:%s', move_id, event, qty), ' ' ORDER BY move_id) FROM erp.stock_move")"
check "order ids likewise" "1:C-1:allocated $((G1 + 1)):W1-1:allocated $((G2 + 1)):W2-1:allocated" \
    "$(c -c "SELECT string_agg(format('%s:%s:%s', order_id, external_ref, status), ' ' ORDER BY order_id) FROM erp.sales_order")"
check "every reservation's id is unique" "3 3" \
    "$(c -c "SELECT count(*) || ' ' || count(DISTINCT reservation_id) FROM erp.reservation")"
check "the balances as the moves say (orders take from DC1, ranked first)" "MUG/DC1=2/3 MUG/DC2=5/0 TEE/DC1=8/2" \
    "$(c -c "SELECT string_agg(format('%s/%s=%s/%s', sku, node, available, reserved), ' ' ORDER BY sku, node) FROM erp.availability")"
check "the same seen from a worker" "$(c -c "SELECT string_agg(format('%s/%s=%s/%s', sku, node, available, reserved), ' ' ORDER BY sku, node) FROM erp.availability")" \
    "$(citus_psql 2 -d "$DB" -c "SELECT string_agg(format('%s/%s=%s/%s', sku, node, available, reserved), ' ' ORDER BY sku, node) FROM erp.availability")"
check "erp.verify() is empty" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] && echo "== t_workers: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
