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
#   - every shipment took exactly round(value x qty / units, 2) of the balance it
#     owned, and between two shipments the balance grew only by receipts (see
#     the replay below);
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
check "the value on hand covers the units on hand" \
    "$(q "SELECT sum(qty) FROM erp.stock_balance WHERE state NOT IN ('incoming', 'return_pending')")" \
    "$(q "SELECT sum(qty) FROM erp.inventory_value")"
check "value = receipts - COGS" \
    "$(q "SELECT sum(value) FILTER (WHERE kind = 'receipt') + sum(value) FILTER (WHERE kind = 'cogs') FROM erp.cost_entry")" \
    "$(q "SELECT sum(value) FROM erp.inventory_value")"
# replay: every shipment recomputed from the balance it owned.  A shipment owns the
# balance (its cost tag) and records the balance after it (balance_qty, balance_value);
# receipts append without owning it and are folded in by the next shipment.  So, in id
# order (the order the shipments owned the balance in):
#   - each shipment took round(value before x qty / units before, 2), the last units
#     the whole value (before = after - its own entry);
#   - between two shipments the balance grew by what receipts brought: never fewer
#     units, and between 8.00 and 16.00 a unit (the prices of the run; the opening 10.00);
#   - the balance row holds what the last shipment left (receipts since are deltas).
read -r bad_issue bad_fold <<<"$(q "
WITH i AS (
    SELECT qty, value, balance_qty - qty AS pre_qty, balance_value - value AS pre_value,
           lag(balance_qty, 1, 0::bigint) OVER (ORDER BY cost_entry_id) AS prev_qty,
           lag(balance_value, 1, 0::numeric) OVER (ORDER BY cost_entry_id) AS prev_value
      FROM erp.cost_entry WHERE kind = 'cogs' AND qty < 0
)
SELECT count(*) FILTER (WHERE -value <> CASE WHEN pre_qty = -qty THEN pre_value
                                             ELSE round(pre_value * -qty / pre_qty, 2) END),
       count(*) FILTER (WHERE pre_qty < prev_qty OR pre_value - prev_value < 8 * (pre_qty - prev_qty)
                           OR pre_value - prev_value > 16 * (pre_qty - prev_qty))
  FROM i" | tr '|' ' ')"
check "every shipment took its share of the balance it owned, to the cent" 0 "$bad_issue"
check "between shipments the balance grew only by receipts at their prices" 0 "$bad_fold"
check "the balance row holds what the last shipment left" \
    "$(q "SELECT balance_qty || ' ' || balance_value FROM erp.cost_entry WHERE kind = 'cogs' AND qty < 0 ORDER BY cost_entry_id DESC LIMIT 1")" \
    "$(q "SELECT qty || ' ' || value FROM erp.cost_balance")"

if [ "$failures" -gt 0 ]; then
    echo "valuation_stress: $failures check(s) failed"
    exit 1
fi
echo "valuation_stress: all checks passed"
