#!/usr/bin/env bash
# t_hot_sku: 8 clients on the coordinator capture and allocate orders of one hot SKU
# at once, more than there is (200 units at two nodes, 8 x 40 orders of 1 or 2):
# exactly the stock is reserved, never more, no client sees a deadlock (40P01) or
# any other error, and erp.verify() stays empty.  Citus routes every statement of
# the allocation to the hot item's shard; the slots spread the contention.
# Catches: oversell through the routed path, a lock order that deadlocks across
# shards, statements that touch other shards (two-phase commits between clients).
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_hot
citus_db "$DB" || exit 1
c() { citus_psql 0 -d "$DB" "$@"; }
c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" >/dev/null || exit 1
c -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('DC2', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('HOT', 1, 10), ('COLD', 1, 10);
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, n.node_id FROM erp.channel c, erp.node n;
SELECT erp.receive('HOT', 'DC1', 120), erp.receive('HOT', 'DC2', 80), erp.receive('COLD', 'DC1', 1000);
SQL
pids=()
for k in $(seq 1 8); do
    (
        for j in $(seq 1 40); do
            q=$(( (j + k) % 2 + 1 ))
            echo "SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'H$k-$j', '[{\"sku\": \"HOT\", \"qty\": $q}, {\"sku\": \"COLD\", \"qty\": 1}]'));"
        done | "$PGBIN/psql" -X -q -At -h localhost -p "${CITUS_PORT_LIST%% *}" -U postgres -d "$DB" >"$CITUS_LOG_DIR/hot-$k.out" 2>&1
    ) &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
check "no client saw an error (40P01 or any other)" "" "$(grep -h -E 'ERROR|FATAL' "$CITUS_LOG_DIR"/hot-*.out | sort | uniq -c)"
check "all 320 orders were captured" "320" "$(c -c "SELECT count(*) FROM erp.sales_order")"
check "demand above stock: exactly the 200 units are reserved, none oversold" "200 0 0" \
    "$(c -c "SELECT sum(reserved) || ' ' || sum(available) || ' ' || count(*) FILTER (WHERE available < 0) FROM erp.availability WHERE sku = 'HOT'")"
check "the hot SKU's lines hold exactly the reserved units, none more than ordered" "200 0" \
    "$(c -c "SELECT sum(qty_allocated) || ' ' || count(*) FILTER (WHERE qty_allocated > qty) FROM erp.order_line l JOIN erp.item i USING (item_id) WHERE i.sku = 'HOT'")"
check "(demand was above stock: 480 units ordered)" "480" \
    "$(c -c "SELECT sum(qty) FROM erp.order_line l JOIN erp.item i USING (item_id) WHERE i.sku = 'HOT'")"
check "every COLD line was allocated" "320" "$(c -c "SELECT sum(qty_allocated) FROM erp.order_line l JOIN erp.item i USING (item_id) WHERE i.sku = 'COLD'")"
check "erp.verify() is empty" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] && echo "== t_hot_sku: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
