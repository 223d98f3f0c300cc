#!/usr/bin/env bash
# breakops_ok_compact_flash_sale: erp.compact_slots() in a loop (and with
# max_rows 1) while 16 pgbench clients fight over one SKU, 150 units at each
# of two nodes, through erp.place_order (1-3 units), cancellations of
# allocated orders, and a clerk who receives 2 units and writes 2 off again
# (each leaves slot rows that go back to all zeros: work for the compaction).
# No retries: a deadlock (40P01) or any other error reaching a client aborts
# it and fails the test.  Afterwards: the compaction deleted rows (not
# vacuous) and never failed; reserved == erp.reservation == the lines' holds;
# reserved + available == received - written off (no slot with units was
# deleted: its units would be missing); no negative balance or available
# slot; no line holds more than it ordered; erp.verify() is empty.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}"
DB=ierp_breakops_compact
OUT=$WORK/breakops_compact
failures=0
PIDS=()
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s [%s]\n' "$1" "$3"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
}
trap cleanup EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
rm -rf "$OUT"; mkdir -p "$OUT"
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, title, unit_price) VALUES ('HOT-1', 'the flash-sale sneaker', 99.00);
INSERT INTO erp.node (code) VALUES ('DC-A'), ('DC-B');
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c CROSS JOIN erp.node n;
SELECT erp.receive('HOT-1', 'DC-A', 150, ref => 'opening');
SELECT erp.receive('HOT-1', 'DC-B', 150, ref => 'opening');
CREATE TABLE public.bo_written_off (qty int);
SQL
cat >"$OUT/order.sql" <<'SQL'
\set qty random(1, 3)
SELECT count(*) FROM erp.place_order('WEB', gen_random_uuid()::text,
    jsonb_build_array(jsonb_build_object('sku', 'HOT-1', 'qty', :qty)));
SQL
cat >"$OUT/cancel.sql" <<'SQL'
WITH victim AS (
    SELECT order_id FROM erp.sales_order
     WHERE status = 'allocated'
       AND order_id > (SELECT coalesce(max(order_id), 0) - 200 FROM erp.sales_order)
     ORDER BY random() LIMIT 1
       FOR UPDATE SKIP LOCKED
)
SELECT erp.cancel_order(order_id) FROM victim;
SQL
cat >"$OUT/clerk.sql" <<'SQL'
\set node random(0, 1)
BEGIN;
SELECT erp.receive('HOT-1', CASE WHEN :node = 0 THEN 'DC-A' ELSE 'DC-B' END, 2) > 0;
SELECT erp.move('HOT-1', CASE WHEN :node = 0 THEN 'DC-A' ELSE 'DC-B' END, 2, 'available', NULL, 'adjust') > 0;
END;
SQL
: >"$OUT/compacted"; : >"$OUT/compact.err"
compact_loop() {
    local i=0
    while [ ! -f "$OUT/done" ]; do
        i=$((i + 1))
        q "SELECT erp.compact_slots($([ $((i % 2)) -eq 0 ] && echo 1 || echo 10000))" >>"$OUT/compacted" 2>>"$OUT/compact.err" ||
            echo "compact_slots failed" >>"$OUT/compact.err"
    done
}
compact_loop & PIDS+=($!); cpid=$!
"$PGBIN/pgbench" -n -c 16 -j 2 -T 8 -f "$OUT/order.sql@6" -f "$OUT/cancel.sql@2" -f "$OUT/clerk.sql@2" \
    "$DB" >"$OUT/pgbench.log" 2>&1
rc=$?
touch "$OUT/done"; wait $cpid
q "SELECT erp.compact_slots()" >>"$OUT/compacted" 2>>"$OUT/compact.err"
grep -E 'ERROR|abort|^number of (failed )?trans' "$OUT/pgbench.log" | sort | uniq -c | head -10 | sed 's/^/         | /'
check "pgbench exit status (no client got an error)" 0 "$rc"
check "no 40P01 reached a client" 0 "$(grep -c '40P01\|deadlock' "$OUT/pgbench.log")"
check "compact_slots never failed" "" "$(sort -u "$OUT/compact.err")"
check "compact_slots deleted rows (not vacuous)" yes \
    "$(awk '{s += $1} END {print (s > 0 ? "yes" : "no")}' "$OUT/compacted")"
echo "         $(awk '{s += $1} END {print s}' "$OUT/compacted") slot rows compacted in $(wc -l <"$OUT/compacted") calls; $(q "SELECT count(*) FROM erp.sales_order") orders"
reserved=$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state = 'reserved'")
available=$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state = 'available'")
check "reserved == units held in erp.reservation" "$reserved" "$(q "SELECT coalesce(sum(qty), 0) FROM erp.reservation")"
check "reserved == units the order lines hold" "$reserved" "$(q "SELECT coalesce(sum(qty_allocated - qty_shipped), 0) FROM erp.order_line")"
check "reserved + available == 300 received (clerk's receipts written off again)" 300 "$((reserved + available))"
check "no negative balance" 0 "$(q "SELECT count(*) FROM (SELECT sum(qty) s FROM erp.stock_balance GROUP BY item_id, node_id, lot_id, state) b WHERE s < 0")"
check "no negative available slot" 0 "$(q "SELECT count(*) FROM erp.stock_slot WHERE available < 0")"
check "no line holds more than it ordered (no oversell)" 0 "$(q "SELECT count(*) FROM erp.order_line WHERE qty_allocated > qty")"
check "erp.verify() is empty" 0 "$(q "SELECT count(*) FROM erp.verify()")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
