#!/usr/bin/env bash
# breakops_ok_close_period_race: erp.close_period and erp.archive_ledger race
# orders and receipts across a real midnight.  The closing session uses a
# time zone whose midnight falls 3 to 62 seconds into an 8-client pgbench run
# (place_order of 1-3 units, receipts of 1-5 units, cancellations), so
# transactions that began before that midnight write while the period up to
# the day before is closed (close_period waits for them and holds new
# writers); the ledger is then archived while the writers go on.  Afterwards:
# pgbench had no error; the close kept balances and the archive removed moves
# (not vacuous) and moves stayed; erp.verify() is empty; reserved ==
# erp.reservation == the lines' holds; reserved + available == everything
# received (the opening stock plus the receipts pgbench logged).
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}"
DB=ierp_breakops_close
OUT=$WORK/breakops_close
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s [%s]\n' "$1" "$3"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() { "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1; }
trap cleanup EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
rm -rf "$OUT"; mkdir -p "$OUT"
cleanup
"$PGBIN/createdb" "$DB" || exit 1
q >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, title, unit_price) VALUES ('HOT-1', 'sneaker', 99.00);
INSERT INTO erp.node (code) VALUES ('DC-A'), ('DC-B');
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c CROSS JOIN erp.node n;
SELECT erp.receive('HOT-1', 'DC-A', 300, ref => 'opening');
SELECT erp.receive('HOT-1', 'DC-B', 300, ref => 'opening');
CREATE TABLE public.bo_received (qty int);
SQL
cat >"$OUT/order.sql" <<'SQL'
\set qty random(1, 3)
SELECT count(*) FROM erp.place_order('WEB', gen_random_uuid()::text,
    jsonb_build_array(jsonb_build_object('sku', 'HOT-1', 'qty', :qty)));
SQL
cat >"$OUT/receipt.sql" <<'SQL'
\set qty random(1, 5)
BEGIN;
SELECT erp.receive('HOT-1', 'DC-A', :qty) > 0;
SELECT pg_sleep(random() * 0.05);
INSERT INTO public.bo_received VALUES (:qty);
END;
SQL
cat >"$OUT/cancel.sql" <<'SQL'
WITH victim AS (
    SELECT order_id FROM erp.sales_order WHERE status = 'allocated'
     ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)
SELECT erp.cancel_order(order_id) FROM victim;
SQL
# a time zone whose midnight is the next full minute at least 3 seconds away
# (UTC offset = minus that minute's time of day, within +-12 hours)
now=$(date -u +%s)
M=$(( (now + 3 + 59) / 60 * 60 ))
tod=$(( M % 86400 ))
off=$(( tod <= 43200 ? -tod : 86400 - tod ))
sign=$([ $off -lt 0 ] && echo - || echo +); aoff=${off#-}
TZSPEC="INTERVAL '$sign$(printf '%02d:%02d' $((aoff / 3600)) $((aoff % 3600 / 60)))' HOUR TO MINUTE"
echo "         closing session: SET TIME ZONE $TZSPEC (midnight at $(date -u -d @$M +%T) UTC)"
"$PGBIN/pgbench" -n -c 8 -j 2 -T $((M - now + 7)) -f "$OUT/order.sql@6" -f "$OUT/receipt.sql@3" -f "$OUT/cancel.sql@1" \
    "$DB" >"$OUT/pgbench.log" 2>&1 &
bpid=$!
sleep $((M - now + 1))
closed=$(q -c "SET TIME ZONE $TZSPEC" -c "SELECT erp.close_period(current_date - 1)" 2>&1)
echo "         close_period: $closed"
sleep 1
archived=$(q -c "SET TIME ZONE $TZSPEC" -c "SELECT erp.archive_ledger(current_date - 1)" 2>&1)
echo "         archive_ledger: $archived"
wait $bpid; rc=$?
grep -E 'ERROR|abort|^number of (failed )?trans' "$OUT/pgbench.log" | sort | uniq -c | head -10 | sed 's/^/         | /'
check "pgbench exit status (no client got an error)" 0 "$rc"
check "close_period kept balances" yes "$([[ $closed =~ ^[0-9]+$ ]] && [ "$closed" -gt 0 ] && echo yes || echo "no: $closed")"
check "archive_ledger removed moves" yes "$([[ $archived =~ ^[0-9]+$ ]] && [ "$archived" -gt 0 ] && echo yes || echo "no: $archived")"
check "moves written after the cut stayed in the ledger" yes "$([ "$(q -c 'SELECT count(*) FROM erp.stock_move')" -gt 0 ] && echo yes || echo no)"
check "archived + kept == every move (none lost, none twice)" 0 \
    "$(q -c "SELECT count(*) FROM erp.stock_move m JOIN erp.stock_move_archive a USING (move_id)")"
check "erp.verify() is empty" 0 "$(q -c "SELECT count(*) FROM erp.verify()")"
reserved=$(q -c "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state = 'reserved'")
available=$(q -c "SELECT coalesce(sum(qty), 0) FROM erp.stock_balance WHERE state = 'available'")
received=$(q -c "SELECT 600 + coalesce(sum(qty), 0) FROM public.bo_received")
check "reserved == erp.reservation" "$reserved" "$(q -c "SELECT coalesce(sum(qty), 0) FROM erp.reservation")"
check "reserved == the lines' holds" "$reserved" "$(q -c "SELECT coalesce(sum(qty_allocated - qty_shipped), 0) FROM erp.order_line")"
check "reserved + available == received" "$received" "$((reserved + available))"
check "the closed balances + the moves after them == today's balances" "" \
    "$(q -c "WITH c AS (SELECT * FROM erp.period_close ORDER BY cut DESC LIMIT 1),
               s AS (SELECT b.node_id, b.state, b.qty FROM erp.period_balance b JOIN c USING (upto)
                     UNION ALL
                     SELECT q.node_id, q.state, q.qty FROM erp.stock_move m CROSS JOIN c
                      CROSS JOIN LATERAL (VALUES (m.to_node_id, m.to_state, m.qty), (m.from_node_id, m.from_state, -m.qty)) q(node_id, state, qty)
                      WHERE q.state IS NOT NULL),
               t AS (SELECT node_id, state, sum(qty) qty FROM s GROUP BY 1, 2)
          SELECT string_agg(t.node_id || ':' || t.state || ' ' || t.qty || ' vs ' || coalesce(b.qty, 0), ', ')
            FROM t FULL JOIN (SELECT node_id, state, sum(qty) qty FROM erp.stock_balance GROUP BY 1, 2) b USING (node_id, state)
           WHERE coalesce(t.qty, 0) <> coalesce(b.qty, 0)")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
