#!/usr/bin/env bash
# replication: erp.create_publication() publishes the ledger, balances, orders,
# returns and events; a subscriber that has the extension installed receives
# them, first by the initial copy and then change by change, and its books stay
# consistent (erp.verify() empty there too).  Runs two throwaway clusters of its
# own.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
PUB_DIR=$WORK/repl_pub/data
SUB_DIR=$WORK/repl_sub/data
cleanup() { pg_stop "$SUB_DIR"; pg_stop "$PUB_DIR"; }
trap cleanup EXIT
mkdir -p "$WORK/repl_pub" "$WORK/repl_sub"
chmod 755 "$WORK" "$WORK/repl_pub" "$WORK/repl_sub"
PUB_PORT=$(pg_free_port)
SUB_PORT=$(pg_free_port)
( pg_start "$PUB_DIR" "$PUB_PORT" fsync=off wal_level=logical max_wal_senders=10 max_replication_slots=10 ) || exit 1
( pg_start "$SUB_DIR" "$SUB_PORT" fsync=off max_logical_replication_workers=8 max_worker_processes=16 ) || exit 1
pub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/repl_pub" -p "$PUB_PORT" -U postgres -d shop "$@"; }
sub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/repl_sub" -p "$SUB_PORT" -U postgres -d shop "$@"; }
"$PGBIN/createdb" -h "$WORK/repl_pub" -p "$PUB_PORT" -U postgres shop || exit 1
"$PGBIN/createdb" -h "$WORK/repl_sub" -p "$SUB_PORT" -U postgres shop || exit 1

echo "== the publisher: a small shop with a day's activity"
pub >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, unit_price, unit_cost) VALUES ('R-TEE', 20, 8), ('R-MUG', 12, 4);
INSERT INTO erp.node (code) VALUES ('R-DC');
INSERT INTO erp.channel (code) VALUES ('R-WEB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n;
SELECT erp.receive('R-TEE', 'R-DC', 10), erp.receive('R-MUG', 'R-DC', 1);
SELECT count(*) FROM erp.allocate(erp.capture_order('R-WEB', 'R-1', '[{"sku": "R-TEE", "qty": 2}, {"sku": "R-MUG", "qty": 1}]'));
SELECT erp.pick(1, 'R-TEE', 2), erp.pick(1, 'R-MUG');
SELECT erp.pack(1);
SELECT erp.ship(1);
SELECT erp.create_publication('erp_pub');
SQL
sub -c "CREATE EXTENSION inventory_erp" >/dev/null || exit 1
sub -c "CREATE SUBSCRIPTION erp_sub CONNECTION 'host=$WORK/repl_pub port=$PUB_PORT dbname=shop user=postgres' PUBLICATION erp_pub" >/dev/null || exit 1

# wait_for SQL EXPECTED: poll the subscriber until SQL returns EXPECTED (30 s at most)
wait_for() {
    for _ in $(seq 1 150); do
        [ "$(sub -c "$1" 2>/dev/null)" == "$2" ] && return 0
        sleep 0.2
    done
    return 1
}
wait_for "SELECT count(*) = count(*) FILTER (WHERE srsubstate = 'r') AND count(*) > 0 FROM pg_subscription_rel" t ||
    echo "   (initial copy did not finish in time)"

SAME_SQL="SELECT (SELECT count(*) FROM erp.stock_move) || '/' || (SELECT sum(qty) FROM erp.stock_balance)
          || '/' || (SELECT string_agg(external_ref || ':' || status, ',' ORDER BY order_id) FROM erp.sales_order)
          || '/' || (SELECT count(*) FROM erp.shipment_line) || '/' || (SELECT count(*) FROM erp.rma_line)
          || '/' || (SELECT COALESCE(max(event_id), 0) FROM erp.event)"
echo "== after the initial copy"
wait_for "$SAME_SQL" "$(pub -c "$SAME_SQL")"
check "ledger, balances, orders, shipments, returns and events arrived" "$(pub -c "$SAME_SQL")" "$(sub -c "$SAME_SQL")"

echo "== then change by change: a return, and an order that stocks out"
pub >/dev/null <<'SQL' || exit 1
SELECT erp.authorize_return(1, '[{"sku": "R-TEE", "qty": 1, "reason": "too_small"}]');
SELECT erp.receive_return(1);
SELECT erp.inspect_return(1, 'new');
SELECT count(*) FROM erp.allocate(erp.capture_order('R-WEB', 'R-2', '[{"sku": "R-TEE", "qty": 9}]'));
SQL
wait_for "$SAME_SQL" "$(pub -c "$SAME_SQL")"
check "the return, the new order and its stockout event arrived" "$(pub -c "$SAME_SQL")" "$(sub -c "$SAME_SQL")"
check "the subscriber's stock picture matches the publisher's" \
    "$(pub -c "SELECT string_agg(sku || '@' || node || ':' || available || '/' || reserved, ',' ORDER BY sku) FROM erp.availability")" \
    "$(sub -c "SELECT string_agg(sku || '@' || node || ':' || available || '/' || reserved, ',' ORDER BY sku) FROM erp.availability")"
check "erp.verify() is empty on the subscriber" "0" "$(sub -c "SELECT count(*) FROM erp.verify()")"
check "the stockout event is on the subscriber" "1" "$(sub -c "SELECT count(*) FROM erp.event WHERE kind = 'stockout' AND payload->>'sku' = 'R-TEE'")"

sub -c "DROP SUBSCRIPTION erp_sub" >/dev/null
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
