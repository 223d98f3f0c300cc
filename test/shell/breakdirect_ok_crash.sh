#!/usr/bin/env bash
# breakdirect_ok_crash: crashes around erp.place_order's direct path (issue 10:
# the order, its lines and its reservations written as heap tuples and index
# entries by src/row_write.c, WAL-logged by heap_insert and the index AMs).
# Own cluster.
#   1. kill -9 of a backend that placed a 1,000-line order inside an open
#      transaction: after recovery the order, its lines, reservations, ledger
#      rows and events are not visible, the stock is as before;
#   2. kill -9 right after a committed place_order: after recovery it is all
#      there, as it was returned;
#   3. an immediate stop (pg_ctl stop -m immediate: no checkpoint, recovery from
#      WAL only) after committed orders and with one open: the same;
# and after each: erp.verify() is empty and every btree index of the order
# tables passes amcheck's bt_index_check(heapallindexed), the heap
# verify_heapam.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO_ROOT/scripts/pgenv.sh"

failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
DIR=$(pg_workdir breakdirect_crash)
DATA=$DIR/data
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    exec 7>&- 2>/dev/null
    pg_stop "$DATA"
    if [ "$failures" -eq 0 ]; then rm -rf "$DIR"; else echo "(kept $DIR)"; fi
}
trap cleanup EXIT
PORT=$(pg_free_port)
OPTS=(max_connections=20 log_min_messages=warning restart_after_crash=on)
pg_start "$DATA" "$PORT" "${OPTS[@]}" || exit 1
DB=ierp_breakdirect_crash
"$PGBIN/createdb" "$DB" || exit 1
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
up() { for _ in $(seq 1 300); do q "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
q "CREATE EXTENSION inventory_erp; CREATE EXTENSION amcheck" || exit 1
q "INSERT INTO erp.node (code, kind) VALUES ('DC', 'warehouse'), ('DC2', 'warehouse');
   INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
   INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
   INSERT INTO erp.item (sku, unit_cost, unit_price, allow_backorder) VALUES ('TEE', 5, 20, false), ('CAP', 3, 9, true);
   SELECT erp.receive('TEE', 'DC', 1200); SELECT erp.receive('TEE', 'DC2', 1200); SELECT erp.receive('CAP', 'DC', 5);
   CREATE INDEX tee_ref_lower ON erp.sales_order (lower(external_ref));
   CREATE INDEX open_lines ON erp.order_line (item_id) WHERE status = 'allocated';" >/dev/null || exit 1
LINES=$(q "SELECT jsonb_agg(jsonb_build_object('sku', CASE WHEN g % 10 = 0 THEN 'CAP' ELSE 'TEE' END, 'qty', 1 + g % 3))
             FROM generate_series(1, 1000) g")

# the books of the order tables and the stock, one line
books() {
    q "SELECT (SELECT count(*) FROM erp.sales_order) || ' orders, ' || (SELECT count(*) FROM erp.order_line) || ' lines, '
           || (SELECT coalesce(sum(qty), 0) FROM erp.reservation) || ' held, ' || (SELECT count(*) FROM erp.stock_move) || ' moves, '
           || (SELECT count(*) FROM erp.event) || ' events, '
           || (SELECT string_agg(state || ':' || q, ' ' ORDER BY state) FROM (SELECT state, sum(qty) AS q FROM erp.stock_balance GROUP BY 1) b)"
}
sound() {
    check "$1: erp.verify() is empty" "0" "$(q "SELECT count(*) FROM erp.verify()")"
    check "$1: every btree index of the order tables passes bt_index_check(heapallindexed)" "ok" \
        "$(q "SELECT CASE WHEN count(bt_index_check(i.indexrelid, true)) > 0 THEN 'ok' END
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
               WHERE a.amname = 'btree' AND i.indrelid IN ('erp.sales_order'::regclass, 'erp.order_line'::regclass, 'erp.reservation'::regclass)" 2>&1)"
    check "$1: verify_heapam finds nothing wrong in the order tables" "0" \
        "$(q "SELECT count(*) FROM verify_heapam('erp.sales_order'), verify_heapam('erp.order_line') x, verify_heapam('erp.reservation') y" 2>&1)"
}
# an order's rows as one line
order_of() {
    q "SELECT o.status || ' ' || count(DISTINCT l.line_no) || ' lines ' || sum(l.qty_allocated) || ' allocated ' || sum(l.qty_backordered)
              || ' backordered ' || (SELECT coalesce(sum(qty), 0) FROM erp.reservation r WHERE r.order_id = o.order_id) || ' held'
         FROM erp.sales_order o JOIN erp.order_line l USING (order_id) WHERE o.external_ref = '$1' GROUP BY o.order_id, o.status"
}

# A: a session we can keep open; its backend pid in $APID
open_a() {
    rm -f "$DIR/fa"
    mkfifo "$DIR/fa"
    "$PGBIN/psql" -X -q -At -d "$DB" <"$DIR/fa" >"$DIR/a.out" 2>&1 &
    PIDS+=($!)
    exec 7>"$DIR/fa"
    echo "SELECT 'pid:' || pg_backend_pid();" >&7
    for _ in $(seq 1 100); do grep -q '^pid:' "$DIR/a.out" && break; sleep 0.05; done
    APID=$(sed -n 's/^pid://p' "$DIR/a.out")
}
# waits until A printed $1
a_said() { for _ in $(seq 1 600); do grep -q "$1" "$DIR/a.out" && return 0; sleep 0.05; done; return 1; }
close_a() { exec 7>&-; wait; PIDS=(); }

echo "== 1. kill -9 after a 1,000-line place_order in an open transaction"
q "SELECT count(*) FROM erp.place_order('WEB', 'warm', '[{\"sku\": \"TEE\", \"qty\": 1}]')" >/dev/null
before=$(books)
open_a
echo "BEGIN; SELECT 'rows:' || count(*) FROM erp.place_order('WEB', 'BIG-OPEN', '$LINES');" >&7
a_said '^rows:' || echo "the open place_order did not return"
check "the order was placed (1,000 lines, rows returned)" "1" "$(grep -c '^rows:' "$DIR/a.out")"
kill -9 "$APID"
close_a
up || { echo "the server did not come back"; exit 1; }
check "after recovery nothing of it is visible, the stock is as before" "$before" "$(books)"
check "no order BIG-OPEN" "0" "$(q "SELECT count(*) FROM erp.sales_order WHERE external_ref = 'BIG-OPEN'")"
sound "1"

echo "== 2. kill -9 right after a committed place_order"
open_a
echo "SELECT 'rows:' || count(*) FROM erp.place_order('WEB', 'BIG-DONE', '$LINES');" >&7
a_said '^rows:' || echo "place_order did not return"
placed=$(order_of BIG-DONE)
kill -9 "$APID"
close_a
up || { echo "the server did not come back"; exit 1; }
check "after recovery the committed order is there as it was returned" "$placed" "$(order_of BIG-DONE)"
check "... with its 1,000 lines" "1000" "$(q "SELECT count(*) FROM erp.order_line l JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'BIG-DONE'")"
check "... found through the expression index" "1" \
    "$(q "SET enable_seqscan = off; SELECT count(*) FROM erp.sales_order WHERE lower(external_ref) = 'big-done'")"
sound "2"

echo "== 3. immediate stop with committed orders and one open"
for i in 1 2 3 4 5; do q "SELECT count(*) FROM erp.place_order('WEB', 'S-$i', '[{\"sku\": \"TEE\", \"qty\": $i}, {\"sku\": \"CAP\", \"qty\": 1}]')" >/dev/null; done
q "SELECT erp.capture_order('WEB', 'C-1', '[{\"sku\": \"TEE\", \"qty\": 3}]')" >/dev/null
before=$(books)
small=$(for i in 1 2 3 4 5; do order_of "S-$i"; done)
open_a
echo "BEGIN; SELECT 'rows:' || count(*) FROM erp.place_order('WEB', 'S-OPEN', '$LINES');" >&7
a_said '^rows:' || echo "the open place_order did not return"
as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1
close_a
as_pg "$PGBIN/pg_ctl" -D "$DATA" -o "-p $PORT -k $DIR -c listen_addresses='' -c max_connections=20 -c log_min_messages=warning" \
    -l "$DATA/server.log" -w -t 60 start >/dev/null || { cat "$DATA/server.log"; exit 1; }
up || { echo "the server did not come back"; exit 1; }
check "after recovery from WAL the committed orders are there, the open one is not" "$before" "$(books)"
check "... each as it was" "$small" "$(for i in 1 2 3 4 5; do order_of "S-$i"; done)"
check "... and the captured order is open with its line" "open 1 lines 0 allocated 0 backordered 0 held" "$(order_of C-1)"
sound "3"
check "a redelivery after recovery finds the order (created false)" "f" \
    "$(q "SELECT DISTINCT created FROM erp.place_order('WEB', 'S-2', '[{\"sku\": \"TEE\", \"qty\": 2}, {\"sku\": \"CAP\", \"qty\": 1}]')")"
check "a new order after recovery is written and allocated" "allocated 1 lines 4 allocated 0 backordered 4 held" \
    "$(q "SELECT count(*) FROM erp.place_order('WEB', 'S-NEW', '[{\"sku\": \"TEE\", \"qty\": 4}]')" >/dev/null; order_of S-NEW)"
[ $failures -eq 0 ]
