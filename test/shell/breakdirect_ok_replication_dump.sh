#!/usr/bin/env bash
# breakdirect_ok_replication_dump: orders written by erp.place_order's and
# erp.capture_order's direct path (issue 10: heap tuples and index entries
# without the executor) reach a logical replication subscriber, and survive
# pg_dump / pg_restore, exactly as written.
#   - the publisher (erp.create_publication) takes a 1,000-line order, split,
#     backordered, short and lot orders, a capture then an allocate, after the
#     subscription is ready: the subscriber gets every order, line and
#     reservation column for column, finds them through its indexes, and its
#     erp.verify() is empty;
#   - pg_dump -Fc of the publisher's database, restored (restore mode) into a
#     new database: the same rows; a redelivery there says created false and
#     holds nothing more; a new order is written directly with ids after the
#     restored ones.
# Two clusters of its own.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO_ROOT/scripts/pgenv.sh"

failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
DIR=$(pg_workdir breakdirect_repl)
mkdir -p "$DIR/pub" "$DIR/sub"
chmod 755 "$DIR/pub" "$DIR/sub"
cleanup() {
    pg_stop "$DIR/sub/data"
    pg_stop "$DIR/pub/data"
    if [ "$failures" -eq 0 ]; then rm -rf "$DIR"; else echo "(kept $DIR)"; fi
}
trap cleanup EXIT
PUB_PORT=$(pg_free_port)
SUB_PORT=$(pg_free_port)
( pg_start "$DIR/pub/data" "$PUB_PORT" fsync=off wal_level=logical max_wal_senders=10 max_replication_slots=10 log_min_messages=warning ) || exit 1
( pg_start "$DIR/sub/data" "$SUB_PORT" fsync=off max_logical_replication_workers=8 max_worker_processes=16 log_min_messages=warning ) || exit 1
pub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$DIR/pub" -p "$PUB_PORT" -U postgres -d "${DB:-shop}" "$@"; }
sub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$DIR/sub" -p "$SUB_PORT" -U postgres -d shop "$@"; }
"$PGBIN/createdb" -h "$DIR/pub" -p "$PUB_PORT" -U postgres shop || exit 1
"$PGBIN/createdb" -h "$DIR/sub" -p "$SUB_PORT" -U postgres shop || exit 1

pub >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, unit_price, unit_cost, allow_backorder, lot_tracked) VALUES
    ('TEE', 20, 8, false, false), ('CAP', 9.99, 3, true, false), ('VIT', 7, 2, false, true);
INSERT INTO erp.node (code, latitude, longitude) VALUES ('DC-N', 53.55, 9.99), ('DC-S', 48.14, 11.58);
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n;
SELECT erp.receive('TEE', 'DC-N', 900), erp.receive('TEE', 'DC-S', 900), erp.receive('CAP', 'DC-S', 3);
SELECT erp.receive('VIT', 'DC-N', 4, lot => 'V-1', expires_on => current_date + 200);
SELECT erp.receive('VIT', 'DC-N', 4, lot => 'V-2', expires_on => current_date + 100);
SELECT erp.create_publication('erp_pub');
SQL
sub -c "CREATE EXTENSION inventory_erp" >/dev/null || exit 1
sub -c "CREATE SUBSCRIPTION erp_sub CONNECTION 'host=$DIR/pub port=$PUB_PORT dbname=shop user=postgres' PUBLICATION erp_pub" >/dev/null || exit 1
wait_for() {
    for _ in $(seq 1 150); do
        [ "$(sub -c "$1" 2>/dev/null)" == "$2" ] && return 0
        sleep 0.2
    done
    return 1
}
wait_for "SELECT count(*) = count(*) FILTER (WHERE srsubstate = 'r') AND count(*) > 0 FROM pg_subscription_rel" t ||
    echo "   (initial copy did not finish in time)"

echo "== orders placed on the publisher after the subscription is ready"
LINES=$(pub -c "SELECT jsonb_agg(jsonb_build_object('sku', 'TEE', 'qty', 1 + g % 2)) FROM generate_series(1, 1000) g")
pub >/dev/null <<SQL || exit 1
SELECT count(*) FROM erp.place_order('WEB', 'BIG', '$LINES', '{"lat": 50, "lon": 10}', 3);
SELECT count(*) FROM erp.place_order('WEB', 'MIX', '[{"sku": "TEE", "qty": 2}, {"sku": "CAP", "qty": 5}, {"sku": "VIT", "qty": 6}]');
SELECT count(*) FROM erp.place_order('WEB', 'SHORT', '[{"sku": "VIT", "qty": 9}]');
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'CAPTURED', '[{"sku": "TEE", "qty": 4, "unit_price": "0.5"}]', '{"city": "Kiel"}'));
SELECT erp.capture_order('WEB', 'OPEN', '[{"sku": "TEE", "qty": 1}]');
SQL
ORDERS="SELECT string_agg(format('%s %s %s %s %s %s %s', order_id, channel_id, external_ref, status, priority, ship_to, created_at), ',' ORDER BY order_id) FROM erp.sales_order"
LINES_SQL="SELECT md5(string_agg(format('%s %s %s %s %s %s %s %s %s %s', order_line_id, order_id, line_no, item_id, qty, unit_price,
                                        qty_allocated, qty_backordered, qty_shipped, status), ',' ORDER BY order_line_id)) || ' ' || count(*)
           FROM erp.order_line"
RES="SELECT string_agg(format('%s %s %s %s %s %s %s %s %s', reservation_id, order_id, line_no, item_id, node_id, lot_id, qty, qty_picked, qty_packed), ','
                       ORDER BY reservation_id) FROM erp.reservation"
SAME="SELECT md5(($ORDERS) || ($LINES_SQL) || ($RES))"
wait_for "$SAME" "$(pub -c "$SAME")" || echo "   (the subscriber did not catch up in time)"
check "the orders arrived column for column" "$(pub -c "$ORDERS")" "$(sub -c "$ORDERS")"
check "the lines arrived column for column (1,000 + 6)" "$(pub -c "$LINES_SQL")" "$(sub -c "$LINES_SQL")"
check "the reservations arrived column for column" "$(pub -c "$RES")" "$(sub -c "$RES")"
check "the subscriber finds them through its indexes" "1 1000 1" \
    "$(sub -c "SET enable_seqscan = off" -c "SELECT (SELECT count(*) FROM erp.sales_order WHERE channel_id = 1 AND external_ref = 'BIG') || ' ' ||
              (SELECT count(*) FROM erp.order_line WHERE order_id = (SELECT order_id FROM erp.sales_order WHERE channel_id = 1 AND external_ref = 'BIG')) || ' ' ||
              (SELECT count(DISTINCT order_id) FROM erp.reservation WHERE order_id = (SELECT order_id FROM erp.sales_order WHERE channel_id = 1 AND external_ref = 'MIX') AND item_id = 3)")"
check "erp.verify() is empty on the subscriber" "0" "$(sub -c "SELECT count(*) FROM erp.verify()")"
sub -c "DROP SUBSCRIPTION erp_sub" >/dev/null

echo "== pg_dump -Fc, pg_restore in restore mode"
"$PGBIN/pg_dump" -h "$DIR/pub" -p "$PUB_PORT" -U postgres -Fc -f "$DIR/shop.dump" shop || { check "pg_dump" 0 $?; exit 1; }
"$PGBIN/createdb" -h "$DIR/pub" -p "$PUB_PORT" -U postgres shop2 || exit 1
PGOPTIONS='-c inventory_erp.restore_mode=on' "$PGBIN/pg_restore" -h "$DIR/pub" -p "$PUB_PORT" -U postgres -d shop2 "$DIR/shop.dump" \
    >"$DIR/restore.log" 2>&1
check "pg_restore exit status" "0" "$?"
check "the restored orders are the same" "$(pub -c "$ORDERS")" "$(DB=shop2 pub -c "$ORDERS")"
check "the restored lines are the same" "$(pub -c "$LINES_SQL")" "$(DB=shop2 pub -c "$LINES_SQL")"
check "the restored reservations are the same" "$(pub -c "$RES")" "$(DB=shop2 pub -c "$RES")"
check "erp.verify() is empty in the restored database" "0" "$(DB=shop2 pub -c "SELECT count(*) FROM erp.verify()")"
held=$(DB=shop2 pub -c "SELECT sum(qty) FROM erp.reservation")
check "a redelivery in the restored database finds the order (created false)" "f" \
    "$(DB=shop2 pub -c "SELECT DISTINCT created FROM erp.place_order('WEB', 'MIX', '[{\"sku\": \"TEE\", \"qty\": 2}, {\"sku\": \"CAP\", \"qty\": 5}, {\"sku\": \"VIT\", \"qty\": 6}]')")"
check "... and holds nothing more" "$held" "$(DB=shop2 pub -c "SELECT sum(qty) FROM erp.reservation")"
max_ids=$(DB=shop2 pub -c "SELECT (SELECT max(order_id) FROM erp.sales_order) || ' ' || (SELECT max(order_line_id) FROM erp.order_line) || ' ' || (SELECT max(reservation_id) FROM erp.reservation)")
DB=shop2 pub -c "SELECT count(*) FROM erp.place_order('WEB', 'AFTER', '[{\"sku\": \"TEE\", \"qty\": 3}]')" >/dev/null
check "a new order in the restored database is written with ids after the restored ones" "t" \
    "$(DB=shop2 pub -c "SELECT o.order_id > split_part('$max_ids', ' ', 1)::bigint AND l.order_line_id > split_part('$max_ids', ' ', 2)::bigint
                                 AND r.reservation_id > split_part('$max_ids', ' ', 3)::bigint
                            FROM erp.sales_order o JOIN erp.order_line l USING (order_id) JOIN erp.reservation r USING (order_id)
                           WHERE o.external_ref = 'AFTER'")"
check "erp.verify() is still empty" "0" "$(DB=shop2 pub -c "SELECT count(*) FROM erp.verify()")"
[ $failures -eq 0 ]
