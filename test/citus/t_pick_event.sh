#!/usr/bin/env bash
# t_pick_event: on the distributed layout a pick exception (a scan that matches no
# item of the order, IE007) is recorded in erp.event, which lives on the
# coordinator, and reaches a session that LISTENs on erp_event there, although the
# pick's transaction writes the shards of two workers (two-phase commit).
# Catches: a NOTIFY inside a worker's prepared transaction (refused: the event lost
# while IE007 says it was recorded), an event row the coordinator cannot see.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_pick
citus_db "$DB" || exit 1
c() { citus_psql 0 -d "$DB" "$@"; }
c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" >/dev/null || exit 1
c -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, gtin, unit_cost, unit_price) VALUES ('TEE', '4006381333931', 1, 10);
INSERT INTO erp.item (sku, unit_cost, unit_price) SELECT 'MUG-' || g, 1, 8 FROM generate_series(1, 6) g;
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
SELECT erp.receive(sku, 'DC1', 10) FROM erp.item;
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'P-1',
    '[{"sku": "TEE", "qty": 2}, {"sku": "MUG-1", "qty": 1}, {"sku": "MUG-2", "qty": 1}, {"sku": "MUG-3", "qty": 1}, {"sku": "MUG-4", "qty": 1}]'));
SQL
check "(the order's items are on both workers)" "2" \
    "$(c -c "SELECT count(DISTINCT n.nodeport) FROM erp.item i JOIN pg_dist_placement p ON p.shardid = get_shard_id_for_distribution_column('erp.stock_slot', i.item_id) JOIN pg_dist_node n ON n.groupid = p.groupid WHERE i.sku IN ('TEE', 'MUG-1', 'MUG-2', 'MUG-3', 'MUG-4')")"
"$PGBIN/psql" -X -q -At -h localhost -p "${CITUS_PORT_LIST%% *}" -U postgres -d "$DB" >"$CITUS_LOG_DIR/listener.out" 2>&1 <<'SQL' &
LISTEN erp_event;
SELECT pg_sleep(4);
SELECT 'listened';
SQL
LISTENER=$!
sleep 1
check "the wrong scan is refused (IE007)" "IE007" \
    "$(c -v VERBOSITY=sqlstate -c "SELECT erp.pick(1, '5012345678900')" 2>&1 | grep -o 'IE007')"
check "the pick exception is in erp.event" "pick_exception 1 1 5012345678900 5" \
    "$(c -c "SELECT kind || ' ' || count(*) OVER () || ' ' || order_id || ' ' || (payload->>'scan') || ' ' || jsonb_array_length(payload->'lines') FROM erp.event WHERE kind = 'pick_exception'")"
wait "$LISTENER"
check "the LISTEN session on the coordinator was notified of it" "1" \
    "$(grep -c "\"erp_event\" with payload .*\"kind\": \"pick_exception\"" "$CITUS_LOG_DIR/listener.out")"
c -c "SELECT erp.pick(1, '4006381333931', 2)" >/dev/null
check "the pick that matches still works after it" "2 0" \
    "$(c -c "SELECT sum(qty_picked) FROM erp.reservation WHERE item_id = 1") $(c -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] && echo "== t_pick_event: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
