#!/usr/bin/env bash
# hot_sku_place_stress: hot_sku_stress.sh's flash sale through erp.place_order, whose
# new orders of plain items are allocated before their rows are written (the direct
# path of order_rows.c), mixed with two-line orders of two hot SKUs, the two-call
# capture_order + allocate path and cancellations.  The same books must hold.
#
# (hot_sku_stress.sh's description follows.)
# One hot SKU, 500 units at each of two nodes that serve one channel.  pgbench runs
# 16 clients for 5 seconds: 8 of 10 transactions capture an order for 1-3 units
# (a fresh external_ref each time) and allocate it; 2 of 10 cancel a recently
# allocated order.  Stock runs out during the run, so the last units are fought
# over.  Afterwards the books must still add up:
#   - pgbench finished with 0 failed transactions and no aborted client;
#   - the reserved balance equals the units held in erp.reservation, and the units
#     the allocated lines say they hold;
#   - reserved + available equals the 1000 units received (nothing created or lost);
#   - no balance (sum of its slots) is negative, nor any available slot (a
#     reserved slot may hold a shortfall a cancellation booked, balance.c);
#   - erp.verify() returns no rows.
# Retries: the global lock order (doc/concurrency.md, "Deadlocks") keeps these
# one-order transactions out of deadlocks, and test/shell/explicit_tx_stress.sh
# asserts zero of them without retries.  This test still lets pgbench retry a
# transaction that failed with 40P01 (--max-tries) and reports the retries, so that
# it measures the books rather than the lock order; only transactions that still
# failed count as failures.  Every other error aborts its client and fails this test.
#
# Run by scripts/test.sh with PGHOST, PGPORT, PGUSER, PGBIN and WORK set and the
# main test cluster running.  Exit 0 = pass, 1 = a check failed.
set -uo pipefail

: "${PGBIN:?PGBIN must point at the PostgreSQL bin directory}"
: "${WORK:?WORK must be a scratch directory}"

DB=ierp_hot_sku_place
CLIENTS=16
DURATION=5
PER_NODE=500
ORDER_SCRIPT=$WORK/hot_place_order.sql
PAIR_SCRIPT=$WORK/hot_place_pair.sql
TWO_CALL_SCRIPT=$WORK/hot_place_two_call.sql
CANCEL_SCRIPT=$WORK/hot_place_cancel.sql
BENCH_LOG=$WORK/hot_place_pgbench.log

failures=0

cleanup() {
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    rm -f "$ORDER_SCRIPT" "$PAIR_SCRIPT" "$TWO_CALL_SCRIPT" "$CANCEL_SCRIPT"
}
trap cleanup EXIT

# q SQL: one value (or rows) of unaligned, tuples-only output; stops on error.
q() {
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"
}

# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" == "$3" ]; then
        printf 'ok       %s [%s]\n' "$1" "$3"
    else
        printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"
        failures=$((failures + 1))
    fi
}

cleanup
"$PGBIN/createdb" "$DB" || exit 1

echo "== setting up $DB: one hot SKU, $PER_NODE units at each of two nodes"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, title, unit_price) VALUES ('HOT-1', 'the flash-sale sneaker', 99.00),
                                                     ('HOT-2', 'its matching sock', 5.00);
INSERT INTO erp.node (code, latitude, longitude) VALUES ('DC-A', 53.55, 9.99), ('DC-B', 48.14, 11.58);
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c CROSS JOIN erp.node n;
SELECT erp.receive('HOT-1', 'DC-A', $PER_NODE, ref => 'opening');
SELECT erp.receive('HOT-1', 'DC-B', $PER_NODE, ref => 'opening');
SELECT erp.receive('HOT-2', 'DC-A', $PER_NODE, ref => 'opening');
SELECT erp.receive('HOT-2', 'DC-B', $PER_NODE, ref => 'opening');
SQL
RECEIVED=$((4 * PER_NODE))

# A customer orders 1-3 units through place_order; another both SKUs; a third through
# the two calls.
cat >"$ORDER_SCRIPT" <<'SQL'
\set qty random(1, 3)
SELECT count(*) FROM erp.place_order('WEB', gen_random_uuid()::text,
    jsonb_build_array(jsonb_build_object('sku', 'HOT-1', 'qty', :qty)));
SQL
cat >"$PAIR_SCRIPT" <<'SQL'
\set qty random(1, 3)
SELECT count(*) FROM erp.place_order('WEB', gen_random_uuid()::text,
    jsonb_build_array(jsonb_build_object('sku', 'HOT-2', 'qty', :qty),
                      jsonb_build_object('sku', 'HOT-1', 'qty', 1)));
SQL
cat >"$TWO_CALL_SCRIPT" <<'SQL'
\set qty random(1, 3)
SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', gen_random_uuid()::text,
    jsonb_build_array(jsonb_build_object('sku', 'HOT-1', 'qty', :qty))));
SQL
# A customer cancels one of the last 200 orders that is still allocated.  The CTE
# (materialised: random() is volatile) locks the order, skipping any another
# client holds, and re-checks its status under the lock, so cancel_order never
# meets an order that was cancelled meanwhile; it then locks the row again, which
# this transaction already holds.  No allocated order yet: nothing happens.
cat >"$CANCEL_SCRIPT" <<'SQL'
WITH victim AS (
    SELECT order_id FROM erp.sales_order
     WHERE status = 'allocated'
       AND order_id > (SELECT coalesce(max(order_id), 0) - 200 FROM erp.sales_order)
     ORDER BY random() LIMIT 1
       FOR UPDATE SKIP LOCKED
)
SELECT erp.cancel_order(order_id) FROM victim;
SQL

echo "== pgbench: $CLIENTS clients, ${DURATION}s, place_order@5 two-line place_order@3 capture+allocate@2 cancels@2"
"$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$DURATION" --max-tries=20 --failures-detailed \
    -f "$ORDER_SCRIPT@5" -f "$PAIR_SCRIPT@3" -f "$TWO_CALL_SCRIPT@2" -f "$CANCEL_SCRIPT@2" "$DB" >"$BENCH_LOG" 2>&1
bench_rc=$?
sed 's/^/         | /' "$BENCH_LOG" | grep -Ev '^         \| (pgbench: )?client [0-9]+ .*(retr|continues)' | head -60

echo "== what pgbench reports"
check "pgbench exit status" 0 "$bench_rc"
check "no client aborted" 0 "$(grep -Ec 'aborted' "$BENCH_LOG")"
check "failed transactions" 0 "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$BENCH_LOG")"
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$BENCH_LOG")
check "transactions were processed" yes "$([ "${processed:-0}" -gt 0 ] && echo yes || echo no)"

echo "== the books after the sale"
orders=$(q "SELECT count(*) FROM erp.sales_order")
cancelled=$(q "SELECT count(*) FROM erp.sales_order WHERE status = 'cancelled'")
short=$(q "SELECT count(*) FROM erp.order_line WHERE status = 'short'")
echo "         $orders orders captured, $cancelled cancelled, $short lines short"
check "orders were captured" yes "$([ "${orders:-0}" -gt 0 ] && echo yes || echo no)"
check "orders were cancelled" yes "$([ "${cancelled:-0}" -gt 0 ] && echo yes || echo no)"
reserved=$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state = 'reserved'")
available=$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state = 'available'")
check "reserved balance == units held in erp.reservation" \
    "$reserved" "$(q "SELECT coalesce(sum(qty), 0) FROM erp.reservation")"
check "reserved balance == units the order lines say they hold" \
    "$reserved" "$(q "SELECT coalesce(sum(qty_allocated - qty_shipped), 0) FROM erp.order_line")"
check "reserved ($reserved) + available ($available) == units received" "$RECEIVED" "$((reserved + available))"
check "no other state holds units" "" "$(q "SELECT string_agg(DISTINCT state::text, ',') FROM erp.stock_balance
                                           WHERE state NOT IN ('available', 'reserved') AND qty <> 0")"
check "no balance (sum of its slots) is negative" 0 \
    "$(q "SELECT count(*) FROM (SELECT sum(qty) AS s FROM erp.stock_balance GROUP BY item_id, node_id, lot_id, state) b WHERE s < 0")"
check "no available slot is negative" 0 "$(q "SELECT count(*) FROM erp.stock_slot WHERE available < 0")"
check "no line holds more than it ordered" 0 "$(q "SELECT count(*) FROM erp.order_line WHERE qty_allocated > qty")"
check "erp.verify() returns no rows" 0 "$(q "SELECT count(*) FROM erp.verify()")"

echo "== $failures failed check(s)"
# a one-line summary for repeated runs (XTX_SUMMARY=/path/file TESTS=hot_sku make test)
if [ -n "${XTX_SUMMARY:-}" ]; then
    echo "hot_sku_place tx=$processed retried=$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' "$BENCH_LOG") failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$BENCH_LOG") checks_failed=$failures" >>"$XTX_SUMMARY"
fi
[ "$failures" -eq 0 ]
