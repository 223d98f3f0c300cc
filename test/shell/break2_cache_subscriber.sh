#!/usr/bin/env bash
# break2_cache_subscriber (issue 10, second break-it pass): 48a9567 made the
# master caches' invalidation triggers ENABLE ALWAYS so that "a
# logical-replication subscriber" (sql/install/87_caches.sql) is heard -- but
# those triggers (item_cached, node_cached, ...) are STATEMENT triggers, and
# PostgreSQL's logical replication apply worker fires only ROW triggers
# (documented: "The logical replication apply process currently only fires row
# triggers, not statement triggers").  A change of erp.item replicated to a
# subscriber therefore reaches no session's cache there:
#
#   publisher and subscriber: item R-TEE at 20; erp.item published/subscribed
#   subscriber session S: captures an order of R-TEE (caches the item: 20)
#   publisher: UPDATE erp.item SET unit_price = 99 (replicated; the subscriber's row is 99)
#   subscriber session S: captures another order of R-TEE -> still at 20
#
# Passes when S's second order is at the price its erp.item row holds (99).
# Runs two throwaway clusters of its own (as test/shell/replication.sh).
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
PUB_DIR=$WORK/brk2_pub/data
SUB_DIR=$WORK/brk2_sub/data
FIFO_DIR=$(mktemp -d /tmp/break2_cache_subscriber.XXXXXX)
cleanup() { exec 3>&- 2>/dev/null; wait 2>/dev/null; pg_stop "$SUB_DIR"; pg_stop "$PUB_DIR"; rm -rf "$FIFO_DIR"; }
trap cleanup EXIT
mkdir -p "$WORK/brk2_pub" "$WORK/brk2_sub"
chmod 755 "$WORK" "$WORK/brk2_pub" "$WORK/brk2_sub"
PUB_PORT=$(pg_free_port)
SUB_PORT=$(pg_free_port)
( pg_start "$PUB_DIR" "$PUB_PORT" fsync=off wal_level=logical max_wal_senders=10 max_replication_slots=10 ) || exit 1
( pg_start "$SUB_DIR" "$SUB_PORT" fsync=off max_logical_replication_workers=8 max_worker_processes=16 ) || exit 1
pub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/brk2_pub" -p "$PUB_PORT" -U postgres -d shop "$@"; }
sub() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/brk2_sub" -p "$SUB_PORT" -U postgres -d shop "$@"; }
"$PGBIN/createdb" -h "$WORK/brk2_pub" -p "$PUB_PORT" -U postgres shop || exit 1
"$PGBIN/createdb" -h "$WORK/brk2_sub" -p "$SUB_PORT" -U postgres shop || exit 1

SETUP="CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, unit_price, unit_cost) VALUES ('R-TEE', 20, 8);
INSERT INTO erp.channel (code) VALUES ('R-WEB');"
pub -c "$SETUP" >/dev/null || exit 1
sub -c "$SETUP" >/dev/null || exit 1
pub -c "CREATE PUBLICATION brk2_items FOR TABLE erp.item" >/dev/null || exit 1
sub -c "CREATE SUBSCRIPTION brk2_items CONNECTION 'host=$WORK/brk2_pub port=$PUB_PORT dbname=shop user=postgres' PUBLICATION brk2_items WITH (copy_data = false)" >/dev/null || exit 1

# wait_for SQL EXPECTED: poll the subscriber until SQL returns EXPECTED (30 s at most)
wait_for() {
    for _ in $(seq 1 150); do
        [ "$(sub -c "$1" 2>/dev/null)" == "$2" ] && return 0
        sleep 0.2
    done
    return 1
}
wait_for "SELECT count(*) FROM pg_stat_subscription WHERE subname = 'brk2_items' AND pid IS NOT NULL" 1 ||
    echo "   (the subscription's worker did not start in time)"

# one long-lived subscriber session, fed through a FIFO
mkfifo "$FIFO_DIR/s"
"$PGBIN/psql" -X -q -At -h "$WORK/brk2_sub" -p "$SUB_PORT" -U postgres -d shop <"$FIFO_DIR/s" >"$FIFO_DIR/s.log" 2>&1 &
exec 3>"$FIFO_DIR/s"
PRICE_OF="SELECT l.unit_price FROM erp.order_line l JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = "
echo "SELECT erp.capture_order('R-WEB', 'S-1', '[{\"sku\": \"R-TEE\", \"qty\": 1}]') > 0;" >&3
wait_for "$PRICE_OF'S-1'" "20.00" || echo "   (the first capture did not finish)"

pub -c "UPDATE erp.item SET unit_price = 99 WHERE sku = 'R-TEE'" >/dev/null || exit 1
wait_for "SELECT unit_price FROM erp.item WHERE sku = 'R-TEE'" "99.00" || echo "   (the new price did not arrive in time)"
check "the new price arrived on the subscriber" "99.00" "$(sub -c "SELECT unit_price FROM erp.item WHERE sku = 'R-TEE'")"

echo "SELECT erp.capture_order('R-WEB', 'S-2', '[{\"sku\": \"R-TEE\", \"qty\": 1}]') > 0;" >&3
wait_for "SELECT count(*) FROM erp.sales_order WHERE external_ref = 'S-2'" 1 || echo "   (the second capture did not finish)"
exec 3>&-
wait
echo "--- subscriber session"; cat "$FIFO_DIR/s.log"
check "an order captured after the replicated change is at the subscriber's price" "99.00" "$(sub -c "$PRICE_OF'S-2'")"
sub -c "DROP SUBSCRIPTION brk2_items" >/dev/null
exit $((failures > 0))
