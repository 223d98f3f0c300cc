#!/usr/bin/env bash
# bench/flash.sh: the flash-sale goal of make bench alone, in alternating pairs on one
# durable cluster (bench/lib.sh's): erp.place_order of one unit of HOT-1 at 32 clients
# (bench/hot_place_order.sql) beside a single hot row's conditional UPDATE at 32 clients
# (bench/hot_row_update.sql), so that both see the same machine.  After each pair it
# prints how many erp.stock_slot rows HOT-1 has (the slots a contended balance spreads
# over, one more per contended take, up to inventory_erp.balance_slots).
# Not part of make bench or make test.
#
# Usage (as root, after `make`):  bench/flash.sh
#                                 FLASH_N=6 FLASH_SECONDS=8 bench/flash.sh
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh
N=${FLASH_N:-5}
BENCH_SECONDS=${FLASH_SECONDS:-6}

bench_init flash
bench_cluster_up >/dev/null
echo "== pairs of ${SECONDS_EACH}s runs at 32 clients: flash sale (bench/hot_place_order.sql) / hot-row UPDATE (bench/hot_row_update.sql)"
ratios=()
for ((i = 1; i <= N; i++)); do
    if ((i % 2)); then
        bench_measure "flash_$i" 32 -f bench/hot_place_order.sql
        bench_measure "row_$i" 32 -f bench/hot_row_update.sql
    else
        bench_measure "row_$i" 32 -f bench/hot_row_update.sql
        bench_measure "flash_$i" 32 -f bench/hot_place_order.sql
    fi
    f=$(bench_median tps_runs "flash_$i")
    h=$(bench_median tps_runs "row_$i")
    r=$(awk -v p="$f" -v h="$h" 'BEGIN { printf "%.3f", (h > 0 ? p / h : 0) }')
    ratios+=("$r")
    slots=$("${PSQL[@]}" -Atc "SELECT count(*) FROM erp.stock_slot s JOIN erp.item i USING (item_id) WHERE i.sku = 'HOT-1'")
    printf 'pair %2d  flash %8.0f  hot row %8.0f  ratio %s  HOT-1 slot rows %s\n' "$i" "$f" "$h" "$r" "$slots"
done
echo "median ratio flash sale / hot-row UPDATE: $(printf '%s\n' "${ratios[@]}" | median)  (pairs: ${ratios[*]})"
for s in flash row; do bench_side_summary "$s" "$N"; done
[ ${#BENCH_FAILED[@]} -eq 0 ] || { echo "flash.sh: failed runs: ${BENCH_FAILED[*]}" >&2; exit 1; }
