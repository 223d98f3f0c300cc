#!/usr/bin/env bash
# The demo behind `make demo`: a multi-channel retailer's peak-season day, run
# through inventory_erp on a throwaway PostgreSQL 15 cluster of its own.
#
#   - an own storefront, Amazon and Zalando, a wholesale portal;
#   - an own DC, a 3PL and a drop-ship vendor; ~2,000 SKUs (apparel in sizes,
#     lot-tracked health & beauty with expiry, home goods, electronics, kits);
#   - 14 trading hours, ~20,000 orders, an Amazon promotion from 12 to 14 h,
#     warehouses with a capacity per hour, short picks, returns at apparel-like
#     rates, refunds for an approver, a supplier delay, replenishment, early
#     deliveries serving backorders, and cycle counts with a large variance
#     left waiting for approval.
#   - a simulated clock (demo/clock.sql) puts each hour's documents on that hour
#     of a day ending now, so ages, cycle times and latencies read like a day.
#   - before the day, twelve weeks of history (demo/history.sql: demand, forecast
#     refreshes, counts with a planted shrinkage, shipments and returns); after
#     it, tonight's planning jobs (demo/planning.sql: forecast refresh, anomaly
#     detection) and a replay of the reorder rules over the history
#     (demo/replenishment_sim.sql), shown in the report's planning section.
#
# It prints a progress line per hour, then the dashboard and the KPIs an
# operations lead reads, and writes a one-page HTML report (inline SVG, no
# external assets) whose path it prints.  The cluster is stopped and the work
# directory removed at the end, whatever happens.  DEMO_SCALE (default 1)
# scales the orders per hour.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh

SCALE=${DEMO_SCALE:-1}
REPORT=$REPO_ROOT/demo-report.html
WORK=$(pg_workdir demo)
DATA=$WORK/data

exec 3>&2
cleanup() {
    local rc=$?
    [ -n "${PGBIN:-}" ] && pg_stop "$DATA"
    rm -rf "$WORK"
    [ $rc -ne 0 ] && echo "demo: failed (exit $rc); the cluster is stopped and $WORK removed" >&3
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d demo -P border=2 -P null='' -P footer=off "$@"; }
heading() { printf '\n== %s\n\n' "$*"; }

echo "demo: installing this build into a private PostgreSQL and starting a throwaway cluster"
pg_private_install "$WORK"
pg_start "$DATA" "$(pg_free_port)" fsync=off synchronous_commit=off shared_buffers=256MB \
    max_wal_size=4GB max_worker_processes=16
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" demo

started=$(date +%s)
echo "demo: loading the retailer (channels, nodes, ~2,000 SKUs, opening stock, open purchase orders)"
sql -f demo/setup.sql >/dev/null
SKUS=$(sql -At -c "SELECT count(*) FROM demo_sku")
echo "demo: twelve weeks of history (demand, forecast refreshes, counts, shipments and returns; demo/history.sql)"
t=$(date +%s)
sql -f demo/history.sql >/dev/null
echo "demo: history loaded in $(( $(date +%s) - t )) s"

heading "The peak day, hour by hour"
printf '%-6s %7s %11s %9s %8s %12s %12s %9s  %s\n' hour orders reservations shipped returns "open orders" backordered "fill %" notes
for hour in $(seq 8 21); do
    orders=$((1200 * SCALE)); promo=0; note=""
    if [ "$hour" -ge 12 ] && [ "$hour" -le 14 ]; then orders=$((2400 * SCALE)); promo=1; note="Amazon promotion"; fi
    mark=$(sql -At -c "SELECT clock_timestamp()")
    sql -v hour="$hour" -v orders="$orders" -v capacity=$((1500 * SCALE)) -v promo="$promo" -v skus="$SKUS" \
        -f demo/hour.sql >/dev/null
    case $hour in
        10) sql -v step=counts -f demo/events.sql >/dev/null; note="cycle counts: one large variance waits for approval" ;;
        11) sql -v step=supplier_delay -f demo/events.sql >/dev/null; note="Volta's delivery is a week late" ;;
        15) sql -v step=replenish -f demo/events.sql >/dev/null; note="replenishment: purchase orders raised" ;;
        17) sql -v step=receive -f demo/events.sql >/dev/null
            sql -v step=landed -f demo/valuation.sql >/dev/null
            note="early deliveries; waiting orders served; a container's freight and duty landed" ;;
    esac
    sql -v hour="$hour" -v mark="$mark" -f demo/clock.sql >/dev/null
    sql -At -F ' ' -c "SELECT hour, orders, allocated_units, shipped_orders, returns, open_orders, backordered_units, fill_rate
                         FROM demo_hour WHERE hour = $hour" |
        while read -r h o a s r oo b f; do
            printf '%02d:00  %7s %11s %9s %8s %12s %12s %9s  %s\n' "$h" "$o" "$a" "$s" "$r" "$oo" "$b" "$f" "$note"
        done
done

heading "Warehouse (demo/warehouse.sql: DC-BER in bins, putaway where erp.suggest_bin says, one wave walked)"
sql -f demo/warehouse.sql

heading "Orchestration (demo/orchestration.sql: promise dates, a wholesale order by EDI, a fraud hold released, a parcel returned to sender)"
sql -f demo/orchestration.sql

heading "Checkout holds (demo/holds.sql: storefront checkouts hold stock while the shopper pays; most become orders, some are abandoned or expire)"
sql -f demo/holds.sql

heading "Planning (demo/planning.sql: the nightly forecast refresh and anomaly detection)"
t=$(date +%s)
sql -f demo/planning.sql
echo "(in $(( $(date +%s) - t )) s)"
sql -P title="Forecast accuracy, last 28 days (erp.kpi_forecast_accuracy)" -c "SELECT * FROM erp.kpi_forecast_accuracy ORDER BY channel, category"
sql -P title="Open anomalies (erp.anomalies, top 5)" -c "SELECT kind, ref, node, sku, score, value FROM erp.anomalies LIMIT 5"
sql -P title="Worklist (erp.worklist, top 5)" -c "SELECT kind, ref, node, score, value, days_waiting FROM erp.worklist LIMIT 5"
heading "Replenishment rules replayed over the last 56 days of demand (demo/replenishment_sim.sql)"
t=$(date +%s)
sql -f demo/replenishment_sim.sql
echo "(in $(( $(date +%s) - t )) s)"

heading "Finance (demo/valuation.sql: value on hand, margin, return cost, turns; costs reconciled)"
sql -v step=report -f demo/valuation.sql

heading "Dashboard (erp.dashboard)"
sql -x -c "SELECT * FROM erp.dashboard"
heading "KPIs"
sql -P title="Fill rate by channel (erp.kpi_fill_rate)" -c "SELECT * FROM erp.kpi_fill_rate ORDER BY channel"
sql -P title="Split shipments (erp.kpi_split_shipments)" -c "SELECT * FROM erp.kpi_split_shipments ORDER BY channel"
sql -P title="Order aging (erp.kpi_order_aging)" -c "SELECT * FROM erp.kpi_order_aging ORDER BY status"
sql -P title="Backorder exposure, top 5 by revenue at risk" \
    -c "SELECT sku, orders, units_backordered, revenue_at_risk, inbound, next_expected_at::date FROM erp.kpi_backorder_exposure ORDER BY revenue_at_risk DESC LIMIT 5"
sql -P title="Return cycle time, receipt to sellable (erp.kpi_return_cycle_time)" -c "SELECT * FROM erp.kpi_return_cycle_time ORDER BY category"
sql -P title="Refund latency (erp.kpi_refund_latency)" -c "SELECT * FROM erp.kpi_refund_latency"
sql -P title="Inventory accuracy from cycle counts (erp.kpi_inventory_accuracy)" -c "SELECT * FROM erp.kpi_inventory_accuracy ORDER BY node"
sql -P title="Adjustments (erp.kpi_adjustment_rate)" -c "SELECT * FROM erp.kpi_adjustment_rate ORDER BY node"
sql -P title="Waiting for an approver" -c "
SELECT 'adjustment ' || a.adjustment_id AS what, i.sku, n.code AS node, a.qty_delta AS units, a.value
  FROM erp.adjustment a JOIN erp.item i USING (item_id) JOIN erp.node n USING (node_id) WHERE a.status = 'pending_approval'
UNION ALL
SELECT 'refunds', NULL, NULL, count(*), sum(refund_amount) FROM erp.rma_line WHERE refund_status = 'awaiting_approval'"
sql -P title="Events of the day (erp.event, the integration outbox)" -c "SELECT kind, count(*) AS events FROM erp.event GROUP BY kind ORDER BY count(*) DESC"
sql -P title="Supplier delay and the orders it puts at risk" -c "
SELECT payload->>'supplier' AS supplier, payload->>'po_id' AS po, (payload->>'expected_at')::timestamptz::date AS now_expected,
       jsonb_array_length(payload->'orders_at_risk') AS orders_at_risk
  FROM erp.event WHERE kind = 'supplier_delay' ORDER BY event_id"
sql -P title="The books (erp.verify(): no rows is healthy)" -c "SELECT count(*) AS inconsistencies FROM erp.verify()"

sql -f demo/report.sql -o "$REPORT"
heading "Done in $(( $(date +%s) - started )) s"
echo "The one-page report: $REPORT"
