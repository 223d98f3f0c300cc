#!/usr/bin/env bash
# t_worker_events: events written through a worker are not lost.  A client on worker 1
# allocates an order that runs out of stock (stockout, backorder_created) and scans a
# wrong item (IE007: the pick exception is committed by the event worker of worker 1);
# the events are in worker 1's own erp.event, with ids from its range.
# erp.citus_collect_events() on the coordinator copies them into the coordinator's
# erp.event with those ids, where a LISTEN erp_event session is notified and a
# consumer (erp.read_events) reads them after the coordinator's own; a second call
# copies nothing again and deletes the worker's copies; a rolled-back call loses
# nothing.
# Catches: events left behind on a worker, ids that collide with the coordinator's,
# an event copied twice or deleted before the coordinator has it, no notification.
# Run by test/citus/run.sh. Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_wevents
citus_db "$DB" || exit 1
c() { citus_psql 0 -d "$DB" "$@"; }
w1() { citus_psql 1 -d "$DB" "$@"; }
c -c "SET client_min_messages = warning" -c "SET citus.shard_count = 4" -c "SELECT erp.distribute()" >/dev/null || exit 1
c -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.item (sku, gtin, unit_cost, unit_price, allow_backorder) VALUES ('TEE', '4006381333931', 1, 10, true);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('MUG', 1, 8);
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
SELECT erp.receive('TEE', 'DC1', 3), erp.receive('MUG', 'DC1', 5);
-- an event written through the coordinator: the order takes every MUG (stockout)
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'C-1', '[{"sku": "MUG", "qty": 5}]'));
SQL
W=$((1 << 48))
COORD_EVENTS=$(c -c "SELECT count(*) FROM erp.event")
check "(through the coordinator: one stockout event, id 1)" "1 1" "$COORD_EVENTS $(c -c "SELECT max(event_id) FROM erp.event")"
# through worker 1
w1 -c "SET client_min_messages = warning" -c "SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'W-1', '[{\"sku\": \"TEE\", \"qty\": 5}]'))" >/dev/null || exit 1
check "through worker 1: a wrong scan is refused (IE007)" "IE007" \
    "$(w1 -v VERBOSITY=sqlstate -c "SELECT erp.pick((SELECT order_id FROM erp.sales_order WHERE external_ref = 'W-1'), 'MUG', 1)" 2>&1 | grep -o IE007)"
WORKER_EVENTS="backorder_created pick_exception stockout"
check "worker 1's own erp.event has them, ids from its range" "$WORKER_EVENTS 3" \
    "$(w1 -c "SELECT string_agg(kind, ' ' ORDER BY kind) || ' ' || count(*) FILTER (WHERE event_id > $W) FROM erp.event")"
check "the coordinator's does not yet" "$COORD_EVENTS" "$(c -c "SELECT count(*) FROM erp.event")"
c -c "SELECT count(*) FROM erp.read_events('audit', 100)" >/dev/null   # a consumer, created now
check "a collection that rolls back moves nothing and deletes nothing" "3 $COORD_EVENTS 3" \
    "$(c -c "BEGIN" -c "SELECT erp.citus_collect_events()" -c "ROLLBACK" | head -1) $(c -c "SELECT count(*) FROM erp.event") $(w1 -c "SELECT count(*) FROM erp.event")"
"$PGBIN/psql" -X -q -At -h localhost -p "${CITUS_PORT_LIST%% *}" -U postgres -d "$DB" >"$CITUS_LOG_DIR/wevents-listener.out" 2>&1 <<'SQL' &
LISTEN erp_event;
SELECT pg_sleep(4);
SELECT 'listened';
SQL
LISTENER=$!
sleep 1
check "erp.citus_collect_events() copies the worker's events to the coordinator" "3" "$(c -c "SELECT erp.citus_collect_events()")"
wait "$LISTENER"
check "with their ids, from worker 1's range" "$WORKER_EVENTS 3" \
    "$(c -c "SELECT string_agg(kind, ' ' ORDER BY kind) || ' ' || count(*) FROM erp.event WHERE event_id > $W AND event_id < 2 * $W")"
check "the pick exception keeps its facts" "pick_exception MUG 1" \
    "$(c -c "SELECT kind || ' ' || (payload->>'scan') || ' ' || (payload->>'qty') FROM erp.event WHERE kind = 'pick_exception'")"
check "the LISTEN session on the coordinator was notified of each" "3" \
    "$(grep -cE "\"erp_event\" with payload .*\"id\": 2814749767106(57|58|59)," "$CITUS_LOG_DIR/wevents-listener.out")"
check "a consumer reads them after the coordinator's own, once" "stockout backorder_created pick_exception stockout" \
    "$(c -c "SELECT string_agg(kind, ' ' ORDER BY commit_seq, kind) FROM erp.read_events('audit', 100)")"
check "worker 1 still has its copies until the next call" "3" "$(w1 -c "SELECT count(*) FROM erp.event")"
check "a second call copies nothing again" "0" "$(c -c "SELECT erp.citus_collect_events()")"
check "and deletes the worker's copies" "0 $((COORD_EVENTS + 3))" \
    "$(w1 -c "SELECT count(*) FROM erp.event") $(c -c "SELECT count(*) FROM erp.event")"
check "ids unique across nodes" "0" "$(c -c "SELECT count(*) - count(DISTINCT event_id) FROM erp.event")"
check "refused on a worker (IE010)" "IE010" \
    "$(w1 -v VERBOSITY=sqlstate -c "SELECT erp.citus_collect_events()" 2>&1 | grep -o IE010)"
check "refused for a batch of 0 (IE004)" "IE004" \
    "$(c -v VERBOSITY=sqlstate -c "SELECT erp.citus_collect_events(0)" 2>&1 | grep -o IE004)"
check "erp.verify() is empty" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] && echo "== t_worker_events: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
