#!/usr/bin/env bash
# bench/run.sh (`make bench`): measures inventory_erp against PostgreSQL's own baselines
# and against the hand-written PL/pgSQL version a team would write instead, on ONE
# throwaway DURABLE cluster (fsync, synchronous_commit and full_page_writes on), in one run.
# It builds nothing: run `make` first (pg_private_install installs this build privately).
#
#   workload (pgbench script)                                    clients  its baseline
#   place_order_c8: erp.place_order (capture + allocate in one        8   simple_update_c8: pgbench -b simple-update
#     call) of a 1-line order, random SKU of 1,000 x 3 nodes              handwritten_c8: bench/handwritten.sql's
#     (place_order.sql)                                                     capture_allocate (handwritten_order.sql),
#   capture_allocate_c8: the same as two calls,                       8     one call as well
#     erp.allocate(erp.capture_order(...)) (capture_allocate.sql)
#   atp_c8: erp.atp of a random SKU at a random node (atp.sql)        8   select_only_c8: pgbench -b select-only
#   hot_place_order_c32: flash sale, every order 1 unit of HOT-1     32   hot_row_update_c32: one hot row's conditional
#     through place_order (hot_place_order.sql); and                        UPDATE (hot_row_update.sql)
#   hot_capture_allocate_c32: the same as two calls (hot_capture_allocate.sql)
#
# Before the rounds, 8 x BENCH_WARMUP_ORDERS (default 100) orders of each order script and
# VACUUM ANALYZE: statistics of empty order tables would make every cached plan scan them.
# Every round (BENCH_ROUNDS, default 3) runs all nine for BENCH_SECONDS (default 10) each,
# each after a CHECKPOINT (so WAL per transaction includes the full-page images of the
# pages a run touches first).  Printed:
#   * per workload and baseline, medians over the rounds of: TPS, p50 and p99 latency in ms
#     (pgbench's per-transaction log, -l), WAL bytes per transaction (pg_current_wal_lsn()
#     before and after, divided by the transactions pgbench processed); and each round's TPS;
#   * the ratios against issue 10's goals (capture+allocate / simple-update >= 0.80,
#     capture+allocate / handwritten >= 1.00, atp / select-only >= 0.80,
#     flash sale / hot-row UPDATE >= 2.00), each marked met or missed, capture+allocate
#     being place_order (one call, as the hand-written version), with each round's own
#     ratio beside it (on a machine whose load drifts, the rounds tell how far to trust
#     the median); the two-call ratios follow, without a goal;
#   * the oversell check of HOT-1 after the timed runs;
#   * the flash sale correctness check: FLASH-2 with 700 + 700 + 600 units at the 3 nodes,
#     32 clients ordering one unit each, FLASH_ORDERS_PER_CLIENT (default 125) orders per
#     client (pgbench -t: 4,000 orders for 2,000 units); lines left open because their
#     units were held by others (contention) are counted, then erp.allocate_pending()
#     decides them, as the job after a sale would; then exactly the stock reserved, 0
#     available at every node, one allocated line per unit, every other line short or
#     backordered with nothing allocated, erp.verify() empty: "flash sale check: PASS",
#     or "FAIL: <what>".
# Then, on clusters of their own: forecasts over 10,000 series (bench/forecast.sh;
# BENCH_FORECAST=0 skips), the cost of costing per shipped order (bench/costing.sh, BENCH_COSTING=0
# skips) and the distributed run on Citus, one node beside a coordinator
# with two workers (bench/citus.sh; one skip line without Citus, BENCH_CITUS=0 skips).
# Exits non-zero when a pgbench run fails, or the HOT-1 oversell check or the flash sale
# check fails.  The goals
# are reported, not enforced.  The checks read only the extension's public SQL
# (erp.capture_order, erp.allocate, erp.receive, erp.item, erp.node, erp.stock_balance,
# erp.order_line, erp.verify()).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh

FLASH_ORDERS_PER_CLIENT=${FLASH_ORDERS_PER_CLIENT:-125}
bench_init bench
bench_cluster_up >/dev/null
echo "== set up: pgbench scale 10; 1,000 SKUs x 3 nodes and HOT-1 (extension and hand-written); warmed up, analyzed"

names=(simple_update_c8 place_order_c8 capture_allocate_c8 handwritten_c8 select_only_c8 atp_c8
       hot_row_update_c32 hot_place_order_c32 hot_capture_allocate_c32)
for r in $(seq 1 "$ROUNDS"); do
    echo "== round $r of $ROUNDS (${SECONDS_EACH}s each)"
    bench_measure simple_update_c8 8 -b simple-update
    bench_measure place_order_c8 8 -f bench/place_order.sql
    bench_measure capture_allocate_c8 8 -f bench/capture_allocate.sql
    bench_measure handwritten_c8 8 -f bench/handwritten_order.sql
    bench_measure select_only_c8 8 -b select-only
    bench_measure atp_c8 8 -f bench/atp.sql
    bench_measure hot_row_update_c32 32 -f bench/hot_row_update.sql
    bench_measure hot_place_order_c32 32 -f bench/hot_place_order.sql
    bench_measure hot_capture_allocate_c32 32 -f bench/hot_capture_allocate.sql
done

declare -A tps p50 p99 wal
for n in "${names[@]}"; do
    tps[$n]=$(bench_median tps_runs "$n")
    p50[$n]=$(bench_median p50_runs "$n")
    p99[$n]=$(bench_median p99_runs "$n")
    wal[$n]=$(bench_median wal_runs "$n")
done

echo
echo "== results: medians of $ROUNDS x ${SECONDS_EACH}s on a durable cluster ($(nproc) cores, PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}'))"
printf '%-26s %9s %9s %9s %10s   %s\n' "workload" "TPS" "p50 ms" "p99 ms" "WAL B/tx" "TPS per round"
for n in "${names[@]}"; do
    printf '%-26s %9.0f %9.3f %9.3f %10.0f   %s\n' "$n" "${tps[$n]}" "${p50[$n]}" "${p99[$n]}" "${wal[$n]}" \
        "$(awk '{for (i = 1; i <= NF; i++) printf "%s%.0f", (i > 1 ? " " : ""), $i}' <<<"${tps_runs[$n]}")"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# round_ratios A B: the ratio of workload A to workload B in each round (the two ran
# seconds apart, so a load that drifts over the run moves both), one a line
round_ratios() {
    paste <(tr ' ' '\n' <<<"${tps_runs[$1]:-}" | grep -v '^$') <(tr ' ' '\n' <<<"${tps_runs[$2]:-}" | grep -v '^$') |
        awk '{ printf "%.2f\n", ($2 > 0 ? $1 / $2 : 0) }'
}
# goal_row LABEL A B GOAL: the ratio of A's and B's median TPS beside its goal, met or
# missed (by how much), then each round's own ratio
goal_row() {
    local r verdict
    r=$(ratio "${tps[$2]}" "${tps[$3]}")
    verdict=$(awk -v r="$r" -v g="$4" 'BEGIN { if (r >= g) print "met"; else printf "missed by %.0f%%\n", (g - r) / g * 100 }')
    printf '%-52s %6s  >= %4.2f  %-15s %s\n' "$1" "$r" "$4" "$verdict" "$(round_ratios "$2" "$3" | paste -sd' ')"
}
echo
printf '%-52s %6s  %-8s %-15s %s\n' "ratio (median TPS)" "value" "goal" "" "per round"
goal_row "capture+allocate (place_order) c8 / simple-update c8" place_order_c8 simple_update_c8 0.80
goal_row "capture+allocate (place_order) c8 / handwritten c8" place_order_c8 handwritten_c8 1.00
goal_row "erp.atp c8 / select-only c8" atp_c8 select_only_c8 0.80
goal_row "flash sale (place_order) c32 / hot-row UPDATE c32" hot_place_order_c32 hot_row_update_c32 2.00
echo "the same as two calls, allocate(capture_order(...)) (no goal of their own):"
printf '%-52s %6s\n' "  capture_order+allocate c8 / handwritten c8" "$(ratio "${tps[capture_allocate_c8]}" "${tps[handwritten_c8]}")"
printf '%-52s %6s\n' "  flash sale, two calls c32 / hot-row UPDATE c32" "$(ratio "${tps[hot_capture_allocate_c32]}" "${tps[hot_row_update_c32]}")"

status=0
if [ "${#BENCH_FAILED[@]}" -gt 0 ]; then
    echo
    echo "FAIL: pgbench reported errors in: ${BENCH_FAILED[*]}"
    status=1
fi

echo
echo "== oversell check on HOT-1 (after the timed runs)"
hot=$("${PSQL[@]}" -At -v sku=HOT-1 -v received=10000000 -f bench/oversell_check.sql)
echo "$hot"
[ "$(tail -n 1 <<<"$hot")" = "HOT-1 oversell check: PASS" ] || status=1

echo
flash_orders=$((32 * FLASH_ORDERS_PER_CLIENT))
echo "== flash sale of FLASH-2: 700 + 700 + 600 units, $flash_orders one-unit orders from 32 clients"
"${PSQL[@]}" -c "INSERT INTO erp.item (sku, title, unit_price) VALUES ('FLASH-2', 'Second flash-sale item', 10)" \
    -c "SELECT erp.receive('FLASH-2', 'DC-1', 700), erp.receive('FLASH-2', 'DC-2', 700), erp.receive('FLASH-2', 'DC-3', 600)" \
    >/dev/null
flash_ok=1
bench_pgbench_logged "$LOGS/flash" "$LOGS/flash.out" -c 32 -t "$FLASH_ORDERS_PER_CLIENT" \
    -f bench/flash_sale.sql || flash_ok=0
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$LOGS/flash.out")
bench_latencies "$LOGS/flash" >"$LOGS/flash.lat"
printf 'pgbench: %s of %s orders processed, %.0f TPS, p50 %s ms, p99 %s ms\n' "${processed:-0}" "$flash_orders" \
    "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$LOGS/flash.out")" \
    "$(latency_ms 0.50 "$LOGS/flash.lat")" "$(latency_ms 0.99 "$LOGS/flash.lat")"
# A line whose units were held by transactions it could not wait for stays open
# (not short) for erp.allocate_pending, the job that runs after a sale; run it,
# as production would, and say how many it had to decide.
left_open=$("${PSQL[@]}" -At -c "SELECT count(*) FROM erp.order_line l JOIN erp.item i USING (item_id)
                                  WHERE i.sku = 'FLASH-2' AND l.status = 'open'")
"${PSQL[@]}" -At -c "SELECT erp.allocate_pending()" >/dev/null
echo "lines left open under contention (decided by erp.allocate_pending): $left_open"
flash=$("${PSQL[@]}" -At -v sku=FLASH-2 -v stock=2000 -v orders="$flash_orders" -f bench/flash_check.sql)
echo "$flash"
if [ "$flash_ok" -ne 1 ] || [ "${processed:-0}" -ne "$flash_orders" ]; then
    echo "flash sale check: FAIL: pgbench processed ${processed:-0} of $flash_orders orders"
    status=1
elif [ "$(tail -n 1 <<<"$flash")" != "flash sale check: PASS" ]; then
    status=1
fi

# checkout holds (issue 16 item 4; the holds helper's section): a checkout's hold, then its
# order captured with hold_ref and allocated (bench/hold_capture_allocate.sql), beside
# capture + allocate alone (bench/capture_allocate.sql), 8 clients each, ROUNDS x SECONDS_EACH,
# after a warm-up of 8 x BENCH_WARMUP_ORDERS checkouts and ANALYZE of the hold tables.
# Orders per second; the hold is a transaction of its own, as while a shopper pays.
echo
echo "== checkout holds: hold + capture(hold_ref) + allocate c8 beside capture + allocate c8"
"$PGBENCH" -n -j 2 -c 8 -t "${BENCH_WARMUP_ORDERS:-100}" -f bench/hold_capture_allocate.sql bench \
    >"$WORK/warmup-holds.log" 2>&1 || { cat "$WORK/warmup-holds.log"; status=1; }
"${PSQL[@]}" -c "ANALYZE erp.checkout_hold, erp.checkout_hold_line" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
    bench_measure plain_capture_allocate_c8 8 -f bench/capture_allocate.sql
    bench_measure hold_capture_allocate_c8 8 -f bench/hold_capture_allocate.sql
done
for n in plain_capture_allocate_c8 hold_capture_allocate_c8; do
    printf '%-26s %9.0f TPS, p50 %s ms, p99 %s ms, WAL %s B/tx   per round: %s\n' "$n" \
        "$(bench_median tps_runs "$n")" "$(bench_median p50_runs "$n")" "$(bench_median p99_runs "$n")" \
        "$(bench_median wal_runs "$n")" "${tps_runs[$n]}"
done
printf '%-52s %6s   per round: %s\n' "hold + capture + allocate / capture + allocate" \
    "$(ratio "$(bench_median tps_runs hold_capture_allocate_c8)" "$(bench_median tps_runs plain_capture_allocate_c8)")" \
    "$(round_ratios hold_capture_allocate_c8 plain_capture_allocate_c8 | paste -sd' ')"
"${PSQL[@]}" -At -c "SELECT 'checkout holds: ' || count(*) FILTER (WHERE status = 'converted') || ' converted of '
                            || count(*) || ', verify problems ' || (SELECT count(*) FROM erp.verify())
                       FROM erp.checkout_hold"
if [ "${#BENCH_FAILED[@]}" -gt 0 ]; then status=1; fi

# erp.refresh_forecasts over 10,000 series (its own throwaway cluster): time per series
if [ "${BENCH_FORECAST:-1}" = 1 ]; then
    echo
    echo "== forecasts (bench/forecast.sh)"
    bash "$REPO_ROOT/bench/forecast.sh" || status=1
fi

# what costing costs an order: capture+allocate+pick+pack+ship on this tree beside the tree
# before costing (bench/costing.sh; its own clusters; needs the git history, BENCH_COSTING=0 skips)
echo
echo "== costing (bench/costing.sh)"
if [ "${BENCH_COSTING:-1}" != 1 ]; then
    echo "costing: skipped (BENCH_COSTING=0)"
elif ! git -C "$REPO_ROOT" rev-parse --verify -q "${BASE:-cac932c^}^{commit}" >/dev/null 2>&1; then
    echo "costing: skipped (no git history with the commit before costing; run bench/costing.sh in a clone)"
else
    bash "$REPO_ROOT/bench/costing.sh" || status=1
fi

# the distributed run (its own Citus cluster; one skip line without Citus or with BENCH_CITUS=0)
echo
echo "== distributed (bench/citus.sh)"
bash "$REPO_ROOT/bench/citus.sh" || status=1
exit "$status"
