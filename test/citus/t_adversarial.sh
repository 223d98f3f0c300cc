#!/usr/bin/env bash
# t_adversarial: attacks on the distributed layout.
#   - a partner (login with node DC2) writing a shard directly on the worker that
#     holds it (42501), acting at DC1 through a worker (IE009): nothing changes;
#   - a superuser's direct write to a shard on a worker: refused (IE005), nothing
#     changes; so is a superuser's write to the distributed tables through the
#     coordinator or a worker (the balances, the ledger, the costs: IE005 in the
#     backend it was sent to, before Citus sends it on the connection the kernel's
#     routed writes use), and the functions still work afterwards;
#   - a shard move of the partner's item while the partner works through a worker:
#     no error, every receipt booked, still its node only;
#   - an order redelivered through both workers and the coordinator at once: one order,
#     every delivery answered with its id; a call retried with its idempotency key on
#     the node it was made on: run once.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_adversarial
P=ierp_citus_adv_3pl
citus_db "$DB" || exit 1
c() { citus_psql 0 -d "$DB" "$@"; }
read -r -a ports <<<"$CITUS_PORT_LIST"
c -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $P" -c "CREATE ROLE $P LOGIN IN ROLE erp_operator" >/dev/null || exit 1
c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" >/dev/null || exit 1
c -v ON_ERROR_STOP=1 >/dev/null <<SQL || exit 1
SET client_min_messages = warning;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('DC2', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) VALUES (1, 1, 1), (1, 2, 2);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 4, 20), ('CAP', 3, 12);
INSERT INTO erp.node_access (role_name, node_id) VALUES ('$P', 2);
SELECT erp.receive('TEE', 'DC1', 50), erp.receive('TEE', 'DC2', 10), erp.receive('CAP', 'DC2', 20);
SQL
books() { c -c "SELECT string_agg(format('%s/%s=%s/%s', item_id, node_id, available, reserved), ' ' ORDER BY item_id, node_id) FROM erp.stock_slot" \
            -c "SELECT count(*) || ' moves, ' || count(*) FILTER (WHERE event = 'receive') || ' receipts' FROM erp.stock_move"; }
BOOKS0=$(books)
check "(the books: TEE at DC1 and DC2, CAP at DC2)" "1/1=50/0 1/2=10/0 2/2=20/0
3 moves, 3 receipts" "$BOOKS0"
# the worker that holds TEE's shards, and the shard names there
TEE_SHARD=$(c -c "SELECT get_shard_id_for_distribution_column('erp.stock_slot', 1)")
TEE_PORT=$(c -c "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE p.shardid = $TEE_SHARD")
N=1; [ "${ports[2]}" = "$TEE_PORT" ] && N=2
MOVE_SHARD=$(c -c "SELECT get_shard_id_for_distribution_column('erp.stock_move', 1)")
wn() { citus_psql $N -d "$DB" "$@"; }

# a partner on the worker
check "the partner writing erp.stock_slot's shard on the worker: refused (42501)" "42501" \
    "$(wn -U "$P" -v VERBOSITY=sqlstate -c "UPDATE erp.stock_slot_$TEE_SHARD SET available = available + 100" 2>&1 | grep -o 42501)"
check "the partner inserting into the ledger's shard on the worker: refused (42501)" "42501" \
    "$(wn -U "$P" -v VERBOSITY=sqlstate -c "INSERT INTO erp.stock_move_$MOVE_SHARD (item_id, qty, event) VALUES (1, 5, 'receive')" 2>&1 | grep -o 42501)"
check "the partner reading that shard sees DC2's row only" "1 2" \
    "$(wn -U "$P" -c "SELECT count(*) || ' ' || min(node_id) FROM erp.stock_slot_$TEE_SHARD WHERE available <> 0")"
check "the partner moving DC1's stock through the worker: refused (IE009)" "IE009 IE009" \
    "$(wn -U "$P" -v VERBOSITY=sqlstate -c "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage')" -c "SELECT erp.transfer('TEE', 'DC1', 'DC2', 5)" 2>&1 | grep -o IE009 | tr '\n' ' ' | sed 's/ $//')"
check "nothing changed" "$BOOKS0" "$(books)"

# a superuser
check "a superuser's direct write to the shard on the worker: refused (IE005)" "IE005 IE005" \
    "$(wn -v VERBOSITY=sqlstate -c "UPDATE erp.stock_slot_$TEE_SHARD SET available = available + 100" -c "DELETE FROM erp.stock_slot_$TEE_SHARD" 2>&1 | grep -o IE005 | tr '\n' ' ' | sed 's/ $//')"
check "nothing changed" "$BOOKS0" "$(books)"
sqlstates() { grep -oE '^ERROR:  [0-9A-Z]{5}' | sed 's/^ERROR:  //' | tr '\n' ' ' | sed 's/ $//'; }
writes=(-c "UPDATE erp.stock_slot SET available = available + 1 WHERE item_id = 1 AND node_id = 2"
        -c "DELETE FROM erp.stock_slot WHERE item_id = 2"
        -c "INSERT INTO erp.stock_move (item_id, qty, event, to_node_id, to_state) VALUES (1, 5, 'receive', 2, 'available')"
        -c "UPDATE erp.stock_move SET qty = qty + 1 WHERE item_id = 1"
        -c "DELETE FROM erp.cost_entry WHERE item_id = 1"
        -c "UPDATE erp.cost_balance SET qty = qty + 1 WHERE item_id = 1")
check "a superuser's writes to balances, ledger and costs through the coordinator: refused (IE005 x6)" \
    "IE005 IE005 IE005 IE005 IE005 IE005" "$(c -v VERBOSITY=sqlstate "${writes[@]}" 2>&1 | sqlstates)"
check "the same through worker $N: refused (IE005 x6)" \
    "IE005 IE005 IE005 IE005 IE005 IE005" "$(wn -v VERBOSITY=sqlstate "${writes[@]}" 2>&1 | sqlstates)"
check "nothing changed, erp.verify() is empty" "$BOOKS0 0" "$(books) $(c -c "SELECT count(*) FROM erp.verify()")"
check "(the functions still write the books: a receipt through the coordinator)" "1/1=51/0 1/2=10/0 2/2=20/0
4 moves, 4 receipts" "$(c -c "SELECT erp.receive('TEE', 'DC1', 1)" >/dev/null; books)"
BOOKS0=$(books)

# a shard move while the partner works through the worker
FROM=$TEE_PORT
TO=${ports[1]}; [ "$FROM" = "$TO" ] && TO=${ports[2]}
(
    for j in $(seq 1 30); do
        echo "SELECT erp.receive('TEE', 'DC2', 1);"
        echo "SELECT 'other nodes: ' || count(*) FROM erp.availability WHERE node <> 'DC2';"
    done | "$PGBIN/psql" -X -q -At -h localhost -p "${ports[$N]}" -U "$P" -d "$DB" >"$CITUS_LOG_DIR/adv-partner.out" 2>&1
) &
PARTNER=$!
sleep 1
check "the shard group of TEE moved while the partner worked" "" \
    "$(c -c "SELECT citus_move_shard_placement($TEE_SHARD, 'localhost', $FROM, 'localhost', $TO, shard_transfer_mode => 'block_writes')" 2>&1)"
wait "$PARTNER"
check "TEE's shards are on the other worker now" "$TO" \
    "$(c -c "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid) WHERE p.shardid = $TEE_SHARD")"
check "the partner saw no error, and never another node's row" "0 errors, 30 x other nodes: 0" \
    "$(grep -cvE '^[0-9]+$|^other nodes: ' "$CITUS_LOG_DIR/adv-partner.out") errors, $(grep -E '^other nodes: ' "$CITUS_LOG_DIR/adv-partner.out" | sort | uniq -c | awk '{$1 = $1 " x"; print}')"
check "every one of its 30 receipts is booked" "1/1=51/0 1/2=40/0 2/2=20/0
34 moves, 34 receipts" "$(books)"
check "erp.verify() is empty" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"

# redelivery
pids=()
rm -f "$CITUS_LOG_DIR"/adv-redeliver-*.out
for k in 0 1 2 3 4 5; do
    citus_psql $((k % 3)) -d "$DB" -c "SELECT erp.capture_order('WEB', 'R-1', '[{\"sku\": \"CAP\", \"qty\": 1}]')" >"$CITUS_LOG_DIR/adv-redeliver-$k.out" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
check "an order delivered six times through three nodes at once: one order" "1" \
    "$(c -c "SELECT count(*) FROM erp.sales_order WHERE external_ref = 'R-1'")"
check "every delivery was answered with its id" "6 $(c -c "SELECT order_id FROM erp.sales_order WHERE external_ref = 'R-1'")" \
    "$(cat "$CITUS_LOG_DIR"/adv-redeliver-*.out | sort | uniq -c | awk '{print $1, $2}')"
check "a receipt retried with its idempotency key on the worker it was made on: run once" "1 1" \
    "$(wn -c "SELECT erp.receive('CAP', 'DC2', 7, idempotency_key => 'adv-1') = erp.receive('CAP', 'DC2', 7, idempotency_key => 'adv-1')" | sed 's/t/1/') $(c -c "SELECT count(*) FROM erp.stock_move WHERE event = 'receive' AND qty = 7")"
check "erp.verify() is empty" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] && echo "== t_adversarial: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
