#!/usr/bin/env bash
# valuation_close_race: erp.close_period and erp.archive_ledger with costs, while
# sales, purchase receipts, transfers and landed-cost bills write cost entries
# across a real midnight (issue 14: the close snapshots values too).
#
# Two items (average and fifo) at a DC and a store.  The closing session uses a
# time zone whose midnight falls a few seconds into an 8-client pgbench run
# (sales of 1-3 units shipped from the DC, partial receipts of open purchase
# orders, transfers of 1 unit to the store, freight bills on received purchase
# orders), so transactions that began before that midnight write cost entries
# while the period up to the day before is closed; the ledger and the cost
# entries are then archived while the writers go on.  Afterwards:
#   - pgbench had no failed transaction (a landed cost that may not wait for a
#     busy cost balance out of the lock order, 55P03, is counted, not failed);
#   - the close kept costs (erp.period_cost) and the archive moved cost entries
#     (not vacuous), and none is both archived and in the ledger;
#   - the closed costs per item and node are exactly the sum of the archived
#     cost entries (the period's entries, no more, no less);
#   - erp.verify() and erp.verify_costs() are empty; erp.inventory_value_at(now())
#     equals erp.inventory_value; kpi_margin's cogs equals every cogs entry
#     (ledger and archive) of the orders.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}"
DB=ierp_valuation_close
OUT=$WORK/valuation_close
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s [%s]\n' "$1" "$3"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() { [ -n "${KEEPDB:-}" ] || "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1; }
trap cleanup EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
rm -rf "$OUT"; mkdir -p "$OUT"
cleanup
"$PGBIN/createdb" "$DB" || exit 1
q >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, title, unit_price, unit_cost, cost_method) VALUES
    ('VC-AVG', 'average', 30.00, 10.00, 'average'), ('VC-FIFO', 'fifo', 30.00, 10.00, 'fifo');
INSERT INTO erp.node (code) VALUES ('DC-A'), ('ST-B');
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE n.code = 'DC-A';
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('SUP', 3);
-- opening stock, and twenty open purchase orders received a few units at a time
SELECT erp.receive_po(erp.create_po('SUP', 'DC-A',
    '[{"sku": "VC-AVG", "qty": 3000, "unit_cost": 10.00}, {"sku": "VC-FIFO", "qty": 3000, "unit_cost": 10.00}]', now() + interval '1 day'));
SELECT count(erp.create_po('SUP', 'DC-A', jsonb_build_array(
    jsonb_build_object('sku', 'VC-AVG', 'qty', 1000, 'unit_cost', 8 + g % 7),
    jsonb_build_object('sku', 'VC-FIFO', 'qty', 1000, 'unit_cost', 8 + g % 5)), now() + interval '1 day'))
  FROM generate_series(1, 20) g;
CREATE TABLE public.vc_landed (busy int);
CREATE FUNCTION public.sell(p_sku text, p_qty bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('WEB', gen_random_uuid()::text,
                                  jsonb_build_array(jsonb_build_object('sku', p_sku, 'qty', p_qty, 'unit_price', 30.00)));
    p record;
BEGIN
    FOR p IN SELECT a.sku, sum(a.qty) AS qty FROM erp.allocate(o) a GROUP BY a.sku LOOP
        PERFORM erp.pick(o, p.sku, p.qty::bigint);
    END LOOP;
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    RETURN o;
END
$$;
SQL
cat >"$OUT/sell.sql" <<'SQL'
\set qty random(1, 3)
\set f random(0, 1)
SELECT public.sell(CASE WHEN :f = 1 THEN 'VC-FIFO' ELSE 'VC-AVG' END, :qty);
SQL
cat >"$OUT/receive.sql" <<'SQL'
\set po random(2, 21)
\set qty random(1, 5)
SELECT erp.receive_po(:po, jsonb_build_array(jsonb_build_object('sku', 'VC-AVG', 'qty', :qty),
                                             jsonb_build_object('sku', 'VC-FIFO', 'qty', :qty)));
SQL
cat >"$OUT/transfer.sql" <<'SQL'
\set f random(0, 1)
SELECT erp.receive_transfer(erp.transfer(CASE WHEN :f = 1 THEN 'VC-FIFO' ELSE 'VC-AVG' END, 'DC-A', 'ST-B', 1));
SQL
cat >"$OUT/landed.sql" <<'SQL'
\set po random(1, 21)
\set cents random(100, 999)
DO $$
BEGIN
    PERFORM erp.add_landed_cost(:po, 'freight', round(:cents / 100.0, 2), 'qty');
EXCEPTION WHEN lock_not_available THEN
    INSERT INTO public.vc_landed VALUES (1);
END
$$;
SQL
# a time zone whose midnight is the next full minute at least 4 seconds away
now=$(date -u +%s)
M=$(( (now + 4 + 59) / 60 * 60 ))
tod=$(( M % 86400 ))
off=$(( tod <= 43200 ? -tod : 86400 - tod ))
sign=$([ $off -lt 0 ] && echo - || echo +); aoff=${off#-}
TZSPEC="INTERVAL '$sign$(printf '%02d:%02d' $((aoff / 3600)) $((aoff % 3600 / 60)))' HOUR TO MINUTE"
echo "         closing session: SET TIME ZONE $TZSPEC (midnight at $(date -u -d @$M +%T) UTC)"
"$PGBIN/pgbench" -n -c 8 -j 2 -T $((M - now + 8)) --max-tries=20 --failures-detailed \
    -f "$OUT/sell.sql@5" -f "$OUT/receive.sql@2" -f "$OUT/transfer.sql@2" -f "$OUT/landed.sql@1" \
    "$DB" >"$OUT/pgbench.log" 2>&1 &
bpid=$!
sleep $((M - now + 1))
closed=$(q -c "SET TIME ZONE $TZSPEC" -c "SELECT erp.close_period(current_date - 1)" 2>&1)
echo "         close_period: $closed"
sleep 2
archived=$(q -c "SET TIME ZONE $TZSPEC" -c "SELECT erp.archive_ledger(current_date - 1)" 2>&1)
echo "         archive_ledger: $archived"
wait $bpid; rc=$?
grep -E 'ERROR|abort|^number of (failed )?trans' "$OUT/pgbench.log" | sort | uniq -c | head -10 | sed 's/^/         | /'
echo "         landed costs that found a balance busy (55P03, not retried): $(q -c 'SELECT count(*) FROM public.vc_landed')"
check "pgbench exit status (no client got an error)" 0 "$rc"
check "failed transactions" 0 "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$OUT/pgbench.log")"
landed=$(q -c "SELECT count(*) FROM erp.landed_cost")
to_orders=$(q -c "SELECT count(*) FROM (SELECT ref, landed_cost_id FROM erp.cost_entry UNION ALL SELECT ref, landed_cost_id FROM erp.cost_entry_archive) e WHERE landed_cost_id IS NOT NULL AND ref LIKE 'order:%'")
to_store=$(q -c "SELECT count(*) FROM (SELECT node_id, kind, landed_cost_id FROM erp.cost_entry UNION ALL SELECT node_id, kind, landed_cost_id FROM erp.cost_entry_archive) e JOIN erp.node n USING (node_id) WHERE e.kind = 'landed_cost' AND n.code = 'ST-B'")
echo "         $landed landed costs; $to_orders of their entries are COGS of orders, $to_store landed at the store through transfers"
check "landed costs were posted, some as COGS of orders" yes \
    "$([ "$landed" -gt 0 ] && [ "$to_orders" -gt 0 ] && echo yes || echo no)"
check "close_period kept balances" yes "$([[ $closed =~ ^[0-9]+$ ]] && [ "$closed" -gt 0 ] && echo yes || echo "no: $closed")"
check "close_period kept costs" yes "$([ "$(q -c 'SELECT count(*) FROM erp.period_cost')" -gt 0 ] && echo yes || echo no)"
check "archive_ledger removed moves" yes "$([[ $archived =~ ^[0-9]+$ ]] && [ "$archived" -gt 0 ] && echo yes || echo "no: $archived")"
check "archive_ledger moved cost entries" yes "$([ "$(q -c 'SELECT count(*) FROM erp.cost_entry_archive')" -gt 0 ] && echo yes || echo no)"
check "cost entries written after the cut stayed" yes "$([ "$(q -c 'SELECT count(*) FROM erp.cost_entry')" -gt 0 ] && echo yes || echo no)"
check "no cost entry both archived and in the ledger" 0 \
    "$(q -c "SELECT count(*) FROM erp.cost_entry e JOIN erp.cost_entry_archive a USING (item_id, cost_entry_id)")"
check "the closed costs are exactly the archived entries, per item and node (cents)" "" \
    "$(q -c "SELECT string_agg(concat_ws(' ', coalesce(p.item_id, a.item_id), coalesce(p.node_id, a.node_id), p.value, a.value), ', ')
               FROM erp.period_cost p
               FULL JOIN (SELECT item_id, node_id, sum(qty) AS qty, sum(value) AS value FROM erp.cost_entry_archive GROUP BY 1, 2) a
                 USING (item_id, node_id)
              WHERE p.value IS DISTINCT FROM a.value OR p.qty IS DISTINCT FROM a.qty")"
check "erp.verify() is empty" 0 "$(q -c "SELECT count(*) FROM erp.verify()")"
check "erp.verify_costs() is empty" 0 "$(q -c "SELECT count(*) FROM erp.verify_costs()")"
check "inventory_value_at(now()) == inventory_value" \
    "$(q -c "SELECT string_agg(concat_ws(' ', sku, node, qty, value), ', ' ORDER BY sku, node) FROM erp.inventory_value")" \
    "$(q -c "SELECT string_agg(concat_ws(' ', sku, node, qty, value), ', ' ORDER BY sku, node) FROM erp.inventory_value_at(now())")"
check "kpi_margin's cogs == the orders' cogs entries, ledger and archive" \
    "$(q -c "SELECT -sum(value) FROM (SELECT ref, kind, value FROM erp.cost_entry UNION ALL SELECT ref, kind, value FROM erp.cost_entry_archive) e WHERE kind = 'cogs' AND ref LIKE 'order:%'")" \
    "$(q -c "SELECT sum(cogs) FROM erp.kpi_margin")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
