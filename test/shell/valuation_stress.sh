#!/usr/bin/env bash
# valuation_stress: the moving average of a hot SKU under concurrent purchase
# receipts and sales (SPEC.md section 10, issue 14).
#
# One SKU (cost_method average) at one node, opened with 5000 units bought at
# 10.00.  pgbench runs 12 clients for 5 seconds: 7 of 10 transactions sell 1-3
# units (capture, allocate, pick, pack, ship: COGS at the moving average), 3 of
# 10 create and receive a purchase order of 5 units at a random price between
# 8.00 and 16.00 (the average moves).  Afterwards:
#   - pgbench finished with 0 failed transactions and no aborted client (a
#     transaction that failed with a deadlock is retried, --max-tries, and
#     reported; only one that still failed counts);
#   - erp.verify() and erp.verify_costs() return no rows;
#   - replaying the cost entries in id order (the order their postings held the
#     balance's row lock in, so the commit order of the postings) recomputes
#     every entry exactly: a receipt at its purchase order line's unit_cost, a
#     shipment at round(value x qty / units on hand, 2) of the running balance;
#   - the balance holds the units on hand and value = opening + receipts - COGS.
#
# Run by scripts/test.sh with PGHOST, PGPORT, PGUSER, PGBIN and WORK set and the
# main test cluster running.  Exit 0 = pass, 1 = a check failed.
set -uo pipefail

: "${PGBIN:?PGBIN must point at the PostgreSQL bin directory}"
: "${WORK:?WORK must be a scratch directory}"

DB=ierp_valuation_stress
CLIENTS=12
DURATION=5
SELL_SCRIPT=$WORK/valuation_sell.sql
BUY_SCRIPT=$WORK/valuation_buy.sql
BENCH_LOG=$WORK/valuation_pgbench.log

failures=0

cleanup() {
    [ -n "${KEEPDB:-}" ] || "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    rm -f "$SELL_SCRIPT" "$BUY_SCRIPT"
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
"$PGBIN/createdb" "$DB" || exit 1

echo "== setting up $DB: one hot SKU, 5000 units at 10.00"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, title, unit_price, unit_cost) VALUES ('HOT-1', 'the hot sneaker', 30.00, 10.00);
INSERT INTO erp.node (code) VALUES ('DC-A');
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c CROSS JOIN erp.node n;
INSERT INTO erp.supplier (code, lead_time_days) VALUES ('SUP', 3);
SELECT erp.receive_po(erp.create_po('SUP', 'DC-A', '[{"sku": "HOT-1", "qty": 5000, "unit_cost": 10.00}]',
                                    now() + interval '1 day'));
-- a sale: capture, allocate, pick, pack and ship (all units are in stock)
CREATE FUNCTION public.sell(p_qty bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('WEB', gen_random_uuid()::text,
                                  jsonb_build_array(jsonb_build_object('sku', 'HOT-1', 'qty', p_qty, 'unit_price', 30.00)));
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

cat >"$SELL_SCRIPT" <<'SQL'
\set qty random(1, 3)
SELECT public.sell(:qty);
SQL
cat >"$BUY_SCRIPT" <<'SQL'
\set cents random(800, 1600)
SELECT erp.receive_po(erp.create_po('SUP', 'DC-A',
    jsonb_build_array(jsonb_build_object('sku', 'HOT-1', 'qty', 5, 'unit_cost', round(:cents / 100.0, 2))),
    now() + interval '1 day'));
SQL

echo "== pgbench: $CLIENTS clients, ${DURATION}s, sales@7 receipts@3"
"$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$DURATION" --max-tries=20 --failures-detailed \
    -f "$SELL_SCRIPT@7" -f "$BUY_SCRIPT@3" "$DB" >"$BENCH_LOG" 2>&1
bench_rc=$?
sed 's/^/         | /' "$BENCH_LOG" | grep -Ev '^         \| (pgbench: )?client [0-9]+ .*(retr|continues)' | head -40

echo "== what pgbench reports"
check "pgbench exit status" 0 "$bench_rc"
check "no client aborted" 0 "$(grep -Ec 'aborted' "$BENCH_LOG")"
check "failed transactions" 0 "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$BENCH_LOG")"

echo "== the costs after the run"
shipments=$(q "SELECT count(*) FROM erp.cost_entry WHERE kind = 'cogs'")
receipts=$(q "SELECT count(*) FROM erp.cost_entry WHERE kind = 'receipt'")
echo "         $shipments shipments and $receipts receipts costed"
check "shipments were costed" yes "$([ "${shipments:-0}" -gt 10 ] && echo yes || echo no)"
check "receipts at new prices were costed" yes "$([ "${receipts:-0}" -gt 5 ] && echo yes || echo no)"
check "erp.verify() finds nothing" 0 "$(q "SELECT count(*) FROM erp.verify()")"
check "erp.verify_costs() finds nothing" 0 "$(q "SELECT count(*) FROM erp.verify_costs()")"
check "every shipped unit has its cost entry" \
    "$(q "SELECT sum(qty) FROM erp.shipment_line")" \
    "$(q "SELECT -sum(qty) FROM erp.cost_entry WHERE kind = 'cogs'")"
check "the balance holds the units on hand" \
    "$(q "SELECT sum(qty) FROM erp.stock_balance WHERE state NOT IN ('incoming', 'return_pending')")" \
    "$(q "SELECT qty FROM erp.cost_balance")"
check "value = receipts - COGS" \
    "$(q "SELECT sum(value) FILTER (WHERE kind = 'receipt') + sum(value) FILTER (WHERE kind = 'cogs') FROM erp.cost_entry")" \
    "$(q "SELECT value FROM erp.cost_balance")"
# replay: every entry recomputed from the running balance before it
mismatches=$(q "
WITH RECURSIVE e AS (
    SELECT row_number() OVER (ORDER BY c.cost_entry_id) AS n, c.kind, c.qty, c.value, l.unit_cost AS price
      FROM erp.cost_entry c LEFT JOIN erp.purchase_order_line l ON l.purchase_order_line_id = c.purchase_order_line_id
), r AS (
    SELECT 0::bigint AS n, 0::bigint AS qty, 0::numeric AS value, 0 AS bad
    UNION ALL
    SELECT e.n, r.qty + e.qty, r.value + e.value,
           r.bad + CASE WHEN e.value = CASE WHEN e.kind = 'receipt' THEN round(e.price * e.qty, 2)
                                            WHEN -e.qty = r.qty THEN -r.value
                                            ELSE -round(r.value * -e.qty / r.qty, 2) END THEN 0 ELSE 1 END
      FROM r JOIN e ON e.n = r.n + 1
)
SELECT bad FROM r ORDER BY n DESC LIMIT 1")
check "replaying the entries in lock order recomputes each one exactly" 0 "$mismatches"

if [ "$failures" -gt 0 ]; then
    echo "valuation_stress: $failures check(s) failed"
    exit 1
fi
echo "valuation_stress: all checks passed"
