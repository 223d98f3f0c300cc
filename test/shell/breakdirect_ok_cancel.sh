#!/usr/bin/env bash
# breakdirect_ok_cancel: a large erp.place_order cancelled in the middle (issue
# 10: a new order is allocated in memory, the stock moved, then its rows are
# written at the end by src/order_rows.c).
#   - statement_timeout from 1 ms up to 400 ms on a 1,000-line place_order;
#   - pg_cancel_backend from another session after 0 to 400 ms, in autocommit
#     and inside an explicit transaction (then ROLLBACK);
# and after each, in the same session, a small order placed at once (after the
# cancelled case, a pause of 0.8 s catches a cancel that arrives after the large
# call ended: as the large call got faster, a late cancel hit the small order and
# it was counted as not allocated).  Whether
# each large call was cancelled or finished depends on the machine; what must
# hold either way: a large order is there whole (1,000 lines, its reservations
# equal to its allocated units) or not at all, the small order after it is
# allocated, reserved stock equals the units in erp.reservation, nothing was
# created or lost, and erp.verify() is empty.
# Run by scripts/test.sh with PGHOST, PGPORT, PGBIN and WORK set and the main
# test cluster running.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
: "${WORK:?}"
DB=ierp_breakdirect_cancel
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s [%s]\n' "$1" "$3"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
cleanup() { "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1; rm -f "$WORK"/breakdirect_cancel_*; }
trap cleanup EXIT
cleanup
"$PGBIN/createdb" "$DB" || exit 1
q "CREATE EXTENSION inventory_erp;
   INSERT INTO erp.node (code, kind) VALUES ('DC', 'warehouse'), ('DC2', 'warehouse');
   INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
   INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
   INSERT INTO erp.item (sku, unit_cost, unit_price, allow_backorder) VALUES ('TEE', 5, 20, false), ('CAP', 3, 9, true), ('MUG', 2, 8, false);
   SELECT erp.receive('TEE', 'DC', 40000); SELECT erp.receive('TEE', 'DC2', 40000);
   SELECT erp.receive('CAP', 'DC', 500); SELECT erp.receive('MUG', 'DC2', 1000);" >/dev/null || exit 1
LINES=$(q "SELECT jsonb_agg(jsonb_build_object('sku', (ARRAY['TEE', 'CAP', 'MUG'])[1 + g % 3], 'qty', 1 + g % 4)) FROM generate_series(1, 1000) g")
received=$(q "SELECT sum(qty) FROM erp.stock_balance")
cancelled=0
finished=0
outcome() {  # counts what a psql output file says about the big call
    if grep -q '^big:' "$1"; then finished=$((finished + 1)); else cancelled=$((cancelled + 1)); fi
}

echo "== statement_timeout"
for t in 1 2 3 5 8 13 20 30 50 80 120 200 400; do
    "$PGBIN/psql" -X -q -At -d "$DB" >"$WORK/breakdirect_cancel_t$t" 2>&1 <<SQL
SET statement_timeout = '${t}ms';
SELECT 'big:' || count(*) FROM erp.place_order('WEB', 'T-$t', '$LINES');
RESET statement_timeout;
SELECT 'small:' || order_status FROM erp.place_order('WEB', 'T-$t-after', '[{"sku": "TEE", "qty": 2}]');
SQL
    outcome "$WORK/breakdirect_cancel_t$t"
done

echo "== pg_cancel_backend, in autocommit and in an explicit transaction"
for ms in 0 5 10 20 40 80 150 250 400; do
    for tx in auto explicit; do
        f=$WORK/breakdirect_cancel_c$ms$tx
        {
            echo "SELECT 'pid:' || pg_backend_pid();"
            echo "SELECT pg_sleep(0.3);"
            [ "$tx" = explicit ] && echo "BEGIN;"
            echo "SELECT 'big:' || count(*) FROM erp.place_order('WEB', 'C-$ms-$tx', '$LINES');"
            [ "$tx" = explicit ] && echo "ROLLBACK;"
            # a cancel sent after the large call ended lands in this sleep, not in the small
            # order (it is sent at most 0.7 s after the large call began)
            echo "SELECT pg_sleep(0.8);"
            echo "SELECT 'small:' || order_status FROM erp.place_order('WEB', 'C-$ms-$tx-after', '[{\"sku\": \"TEE\", \"qty\": 2}]');"
        } | "$PGBIN/psql" -X -q -At -d "$DB" >"$f" 2>&1 &
        for _ in $(seq 1 100); do grep -q '^pid:' "$f" && break; sleep 0.02; done
        pid=$(sed -n 's/^pid://p' "$f")
        sleep 0.3
        sleep "$(printf '0.%03d' "$ms")"
        q "SELECT pg_cancel_backend($pid)" >/dev/null 2>&1   # the call may be over already
        wait
        outcome "$f"
    done
done
echo "   (large calls cancelled: $cancelled, finished: $finished)"

check "every small order after a large call was allocated" "$((13 + 18))" "$(cat "$WORK"/breakdirect_cancel_* | grep -c '^small:allocated$')"
check "... none of them with another status" "" "$(cat "$WORK"/breakdirect_cancel_* | grep '^small:' | grep -v '^small:allocated$' | sort | uniq -c)"
check "no error but a cancellation (57014) in any session" "0" \
    "$(cat "$WORK"/breakdirect_cancel_* | grep 'ERROR' | grep -vc 'canceling statement due to \(statement timeout\|user request\)')"
check "every large order is there whole or not at all" "0" \
    "$(q "SELECT count(*) FROM (SELECT o.order_id FROM erp.sales_order o JOIN erp.order_line l USING (order_id)
                               WHERE o.external_ref NOT LIKE '%-after' GROUP BY o.order_id HAVING count(*) <> 1000) x")"
check "... with reservations equal to its allocated units" "0" \
    "$(q "SELECT count(*) FROM erp.sales_order o
           WHERE (SELECT coalesce(sum(qty_allocated), 0) FROM erp.order_line l WHERE l.order_id = o.order_id)
              <> (SELECT coalesce(sum(qty), 0) FROM erp.reservation r WHERE r.order_id = o.order_id)")"
check "no large order of a rolled-back transaction" "0" "$(q "SELECT count(*) FROM erp.sales_order WHERE external_ref LIKE 'C-%-explicit'")"
check "reserved stock equals the units in erp.reservation" \
    "$(q "SELECT coalesce(sum(qty), 0) FROM erp.reservation")" "$(q "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state = 'reserved'")"
check "nothing created or lost" "$received" "$(q "SELECT sum(qty) FROM erp.stock_balance")"
check "erp.verify() is empty" "0" "$(q "SELECT count(*) FROM erp.verify()")"
[ $failures -eq 0 ]
