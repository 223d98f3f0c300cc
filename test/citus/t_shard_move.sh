#!/usr/bin/env bash
# t_shard_move: citus_move_shard_placement moves the shard group of a hot item (its
# balances, ledger, reservations, ... colocated) from one worker to the other while
# 4 clients capture and allocate orders of it; the moved rows keep their ids, the
# guards let Citus's copy through, no client sees an error, and afterwards exactly
# the stock is reserved and erp.verify() is empty.
# Catches: a guard that refuses the shard copy (IE005), rows lost or doubled by the
# move, orders failing across the move.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_move
citus_db "$DB" || exit 1
c() { citus_psql 0 -d "$DB" "$@"; }
c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" >/dev/null || exit 1
c -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('HOT', 1, 10);
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
SELECT erp.receive('HOT', 'DC1', 150);
SQL
LEDGER0=$(c -c "SELECT string_agg(move_id || ':' || event || ':' || qty, ' ' ORDER BY move_id) FROM erp.stock_move")
placement() { c -c "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n ON n.groupid = p.groupid WHERE p.shardid = get_shard_id_for_distribution_column('erp.stock_slot', 1)"; }
FROM=$(placement)
read -r -a ports <<<"$CITUS_PORT_LIST"
TO=${ports[1]}; [ "$FROM" = "$TO" ] && TO=${ports[2]}
pids=()
for k in 1 2 3 4; do
    (
        for j in $(seq 1 40); do
            echo "SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'M$k-$j', '[{\"sku\": \"HOT\", \"qty\": 1}]'));"
        done | "$PGBIN/psql" -X -q -At -h localhost -p "${ports[0]}" -U postgres -d "$DB" >"$CITUS_LOG_DIR/move-$k.out" 2>&1
    ) &
    pids+=($!)
done
sleep 1
check "the shard group moved while the clients ran" "" \
    "$(c -c "SELECT citus_move_shard_placement(get_shard_id_for_distribution_column('erp.stock_slot', 1), 'localhost', $FROM, 'localhost', $TO, shard_transfer_mode => 'block_writes')" 2>&1)"
for p in "${pids[@]}"; do wait "$p"; done
check "the item's shards are on the other worker now" "$TO" "$(placement)"
check "no client saw an error" "" "$(grep -h -E 'ERROR|FATAL' "$CITUS_LOG_DIR"/move-*.out | sort | uniq -c)"
check "all 160 orders were captured" "160" "$(c -c "SELECT count(*) FROM erp.sales_order")"
check "exactly the 150 units are reserved" "150 0" \
    "$(c -c "SELECT sum(reserved) || ' ' || sum(available) FROM erp.availability")"
check "the ledger rows from before the move are there with their ids" "$LEDGER0" \
    "$(c -c "SELECT string_agg(move_id || ':' || event || ':' || qty, ' ' ORDER BY move_id) FROM erp.stock_move WHERE event = 'receive'")"
check "one allocation ledger row per unit reserved, ids unique" "150 150" \
    "$(c -c "SELECT sum(qty) || ' ' || count(DISTINCT move_id) FROM erp.stock_move WHERE event = 'allocate'")"
check "erp.verify() is empty" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] && echo "== t_shard_move: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
