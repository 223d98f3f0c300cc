#!/usr/bin/env bash
# kernel_stress: explicit multi-statement transactions (BEGIN ... COMMIT, several
# calls each) mixing every document that moves stock of three hot SKUs through the
# stock kernel (issue 10, "Must show"): orders (capture + allocate of 2-line orders
# whose lines come in random item order), cancellations, pick/pack/ship, returns
# (erp.authorize_return + erp.receive_return) and transfers both ways between two
# nodes (erp.transfer + erp.receive_transfer), some of them AFTER the transaction
# already owns slots of other balances.
#
# Catches: a wait out of the global lock order (40P01 "deadlock detected" in
# pgbench's output, or deadlock failures it counts), an error that aborts a client,
# an oversell (units reserved, picked, packed or shipped that never came in: the
# ledger's units in minus units out must equal what the balances hold, and
# reserved+picked+packed+shipped may not exceed what came in), a negative balance
# or available slot, reservations out of step with the balances, and any row of
# erp.verify().
#
# On f74b1af this fails: 20-40 deadlock failures (40P01) per run, none with
# KSTRESS_TRANSFERS=0: a transfer's exact take (STOCK_TAKE_ALL) that finds its
# source's slots owned waits for them out of the global lock order (TakeExact's
# forced OwnAllSlots in src/stock/slots.c), as kernel_opposite_order.spec shows.
# Since the fix such a take is refused with 55P03 (retry) instead of waiting.
#
# pgbench: 8 clients, 20 s, NO retries, balance_slots lowered to 4 so that
# sessions meet on full balances.  Run by scripts/test.sh with PGBIN and WORK set
# and the main test cluster running (as explicit_tx_stress.sh).  Exit 0 = pass.
set -uo pipefail

: "${PGBIN:?PGBIN must point at the PostgreSQL bin directory}"
: "${WORK:?WORK must be a scratch directory}"

DB=ierp_kernel_stress
CLIENTS=${KSTRESS_CLIENTS:-8}
DURATION=${KSTRESS_DURATION:-20}
PER_NODE=200
SLOTS=4
D=$WORK/kstress
BENCH_LOG=$WORK/kstress_pgbench.log
# KSTRESS_TRANSFERS=0 leaves the transfers out (to tell their deadlocks from the others')
TW=${KSTRESS_TRANSFERS:-2}

failures=0

cleanup() {
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    rm -rf "$D"
}
trap cleanup EXIT

q() {
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"
}

check() {
    if [ "$2" == "$3" ]; then
        printf 'ok       %s [%s]\n' "$1" "$3"
    else
        printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"
        failures=$((failures + 1))
    fi
}

cleanup
mkdir -p "$D"
"$PGBIN/createdb" "$DB" || exit 1

echo "== setting up $DB: three hot SKUs, $PER_NODE units of each at each of two nodes, $SLOTS slots"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || exit 1
ALTER DATABASE $DB SET inventory_erp.balance_slots = $SLOTS;
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, title, unit_price) VALUES ('HOT-1', 'sneaker', 99.00), ('HOT-2', 'cap', 19.00), ('HOT-3', 'sock', 5.00);
INSERT INTO erp.node (code) VALUES ('DC-A'), ('DC-B');
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, n.node_id FROM erp.channel c CROSS JOIN erp.node n;
SELECT erp.receive(s, n, $PER_NODE, ref => 'opening')
  FROM unnest(ARRAY['HOT-1', 'HOT-2', 'HOT-3']) s, unnest(ARRAY['DC-A', 'DC-B']) n;
SQL

# a 2-line order of two different hot SKUs, lines in random item order, captured and allocated
ORDER_SQL="SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', gen_random_uuid()::text,
    (SELECT jsonb_agg(jsonb_build_object('sku', s, 'qty', 1 + (random() * 2)::int))
       FROM (SELECT 'HOT-' || g AS s FROM generate_series(1, 3) g ORDER BY random() LIMIT 2) x)));"
# cancel one allocated order
CANCEL_SQL="WITH victim AS (
    SELECT order_id FROM erp.sales_order
     WHERE status = 'allocated'
       AND order_id > (SELECT coalesce(max(order_id), 0) - 300 FROM erp.sales_order)
     ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)
SELECT erp.cancel_order(order_id) FROM victim;"
# pick, pack and ship one allocated order (every line)
FULFIL_SQL='DO $$
DECLARE
    o bigint;
    l record;
BEGIN
    SELECT order_id INTO o FROM erp.sales_order
     WHERE status = '"'"'allocated'"'"'
       AND order_id > (SELECT coalesce(max(order_id), 0) - 300 FROM erp.sales_order)
     ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF o IS NULL THEN RETURN; END IF;
    FOR l IN SELECT i.sku, ol.qty_allocated FROM erp.order_line ol JOIN erp.item i USING (item_id)
              WHERE ol.order_id = o AND ol.qty_allocated > 0 ORDER BY random() LOOP
        PERFORM erp.pick(o, l.sku, l.qty_allocated);
    END LOOP;
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
END
$$;'
# a return of one unit of a shipped order: authorised, then received
RETURN_SQL='DO $$
DECLARE
    o bigint;
    s text;
    r bigint;
BEGIN
    SELECT so.order_id INTO o FROM erp.sales_order so
     WHERE so.status = '"'"'shipped'"'"' AND NOT EXISTS (SELECT 1 FROM erp.rma x WHERE x.order_id = so.order_id)
     ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF o IS NULL THEN RETURN; END IF;
    SELECT i.sku INTO s FROM erp.order_line ol JOIN erp.item i USING (item_id)
     WHERE ol.order_id = o AND ol.qty_shipped > 0 ORDER BY random() LIMIT 1;
    -- another client may have returned the unit of this order since this read
    -- (FOR UPDATE does not re-check NOT EXISTS): the refusal (IE008) is an answer
    BEGIN
        r := erp.authorize_return(o, jsonb_build_array(jsonb_build_object('"'"'sku'"'"', s, '"'"'qty'"'"', 1, '"'"'reason'"'"', '"'"'changed_mind'"'"')));
    EXCEPTION WHEN SQLSTATE '"'"'IE008'"'"' THEN
        RETURN;
    END;
    PERFORM erp.receive_return(r);
END
$$;'
# a transfer of 1-3 units of a hot SKU either way (refused with IE001 when the
# source is short, or 55P03 when its units sit in slots other transactions own
# and the lock order forbids waiting for them -- the client's cue to retry: those
# refusals are answers, anything else is not), then the
# receipt of a transfer in transit
TRANSFER_SQL='DO $$
DECLARE
    t bigint;
    a text := CASE WHEN random() < 0.5 THEN '"'"'DC-A'"'"' ELSE '"'"'DC-B'"'"' END;
BEGIN
    BEGIN
        PERFORM erp.transfer('"'"'HOT-'"'"' || (1 + (random() * 2)::int), a,
                             CASE a WHEN '"'"'DC-A'"'"' THEN '"'"'DC-B'"'"' ELSE '"'"'DC-A'"'"' END, 1 + (random() * 2)::int);
    EXCEPTION WHEN SQLSTATE '"'"'IE001'"'"' OR SQLSTATE '"'"'55P03'"'"' THEN
        NULL;
    END;
    SELECT transfer_id INTO t FROM erp.transfer WHERE status = '"'"'in_transit'"'"'
     ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF t IS NOT NULL THEN PERFORM erp.receive_transfer(t); END IF;
END
$$;'

printf 'BEGIN;\n%s\n%s\nCOMMIT;\n' "$ORDER_SQL" "$ORDER_SQL" >"$D/orders.sql"
printf 'BEGIN;\n%s\n%s\nCOMMIT;\n' "$CANCEL_SQL" "$ORDER_SQL" >"$D/cancel.sql"
printf 'BEGIN;\n%s\n%s\nCOMMIT;\n' "$ORDER_SQL" "$CANCEL_SQL" >"$D/late_cancel.sql"
printf 'BEGIN;\n%s\n%s\nCOMMIT;\n' "$ORDER_SQL" "$FULFIL_SQL" >"$D/fulfil.sql"
printf 'BEGIN;\n%s\n%s\nCOMMIT;\n' "$RETURN_SQL" "$ORDER_SQL" >"$D/returns.sql"
printf 'BEGIN;\n%s\n%s\nCOMMIT;\n' "$TRANSFER_SQL" "$ORDER_SQL" >"$D/transfer.sql"
printf 'BEGIN;\n%s\n%s\n%s\nCOMMIT;\n' "$ORDER_SQL" "$TRANSFER_SQL" "$TRANSFER_SQL" >"$D/late_transfer.sql"

echo "== pgbench: $CLIENTS clients, ${DURATION}s, no retries: orders@4 cancels@2 late-cancels@2 fulfil@3 returns@2 transfers@$TW late-transfers@$TW"
"$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$DURATION" --failures-detailed --verbose-errors \
    -f "$D/orders.sql@4" -f "$D/cancel.sql@2" -f "$D/late_cancel.sql@2" -f "$D/fulfil.sql@3" \
    -f "$D/returns.sql@2" -f "$D/transfer.sql@$TW" -f "$D/late_transfer.sql@$TW" \
    "$DB" >"$BENCH_LOG" 2>&1
bench_rc=$?
grep -Ev '^pgbench: client [0-9]+ .*continues' "$BENCH_LOG" | sed 's/^/         | /' | head -60

echo "== what pgbench reports"
check "pgbench exit status" 0 "$bench_rc"
check "no deadlock failure" 0 "$(sed -n 's/^number of deadlock failures: \([0-9]*\).*/\1/p' "$BENCH_LOG")"
check "no 40P01 / deadlock detected in any client log" 0 "$(grep -Eic 'deadlock detected|40P01' "$BENCH_LOG")"
check "no client aborted" 0 "$(grep -Ec 'aborted' "$BENCH_LOG")"
check "failed transactions" 0 "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$BENCH_LOG")"
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$BENCH_LOG")
check "transactions were processed" yes "$([ "${processed:-0}" -gt 0 ] && echo yes || echo no)"

echo "== every document kind ran"
for what in "cancelled orders:SELECT count(*) FROM erp.sales_order WHERE status = 'cancelled'" \
            "shipped orders:SELECT count(*) FROM erp.sales_order WHERE status = 'shipped'" \
            "received returns:SELECT count(*) FROM erp.stock_move WHERE ref LIKE 'rma:%'" \
            "transfers:SELECT count(*) FROM erp.transfer" \
            "received transfers:SELECT count(*) FROM erp.transfer WHERE status = 'received'"; do
    if [ "$TW" = 0 ] && [[ $what == *transfers:* ]]; then continue; fi
    n=$(q "${what#*:}")
    echo "         ${what%%:*}: $n"
    check "some ${what%%:*}" yes "$([ "${n:-0}" -gt 0 ] && echo yes || echo no)"
done

echo "== the books"
came_in=$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_move WHERE from_state IS NULL")
went_out=$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_move WHERE to_state IS NULL")
in_balances=$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance")
check "balances ($in_balances) == units in ($came_in) - units out ($went_out): nothing created or lost" \
    "$((came_in - went_out))" "$in_balances"
held=$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state IN ('reserved', 'picked', 'packed')")
shipped=$(q "SELECT coalesce(sum(qty_shipped), 0) FROM erp.order_line")
check "no oversell: reserved+picked+packed ($held) + shipped ($shipped) <= units in ($came_in)" \
    yes "$([ $((held + shipped)) -le "$came_in" ] && echo yes || echo no)"
check "reserved balance == units held in erp.reservation" \
    "$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state = 'reserved'")" \
    "$(q "SELECT coalesce(sum(qty), 0) FROM erp.reservation")"
check "no balance (sum of its slots) is negative" 0 \
    "$(q "SELECT count(*) FROM (SELECT sum(qty) AS s FROM erp.stock_balance GROUP BY item_id, node_id, lot_id, state) b WHERE s < 0")"
check "no available slot is negative" 0 "$(q "SELECT count(*) FROM erp.stock_balance WHERE qty < 0 AND state = 'available'")"
check "erp.verify() returns no rows" "" "$(q "SELECT string_agg(v::text, '; ') FROM erp.verify() v")"

echo "== $failures failed check(s)"
[ "$failures" -eq 0 ]
