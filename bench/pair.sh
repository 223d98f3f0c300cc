#!/usr/bin/env bash
# bench/pair.sh: erp.place_order against the hand-written PL/pgSQL version, in alternating
# short runs on one durable cluster (bench/lib.sh's), so that both see the same machine:
# on a shared machine whose load drifts, the ratio of each pair is steadier than the
# ratio of two medians taken minutes apart.  Not part of make bench or make test.
#
# Usage (as root, after `make`):  bench/pair.sh
#                                 PAIR_N=12 PAIR_SECONDS=5 PAIR_CLIENTS=8 bench/pair.sh
#
# PAIR_N pairs (default 8) of PAIR_SECONDS-second runs (default 5) at PAIR_CLIENTS
# clients (default 8); the order inside a pair alternates (place first, then hand-written
# first) so neither always runs on a freshly checkpointed cluster.  Prints each pair's TPS
# and ratio (and how many erp.stock_slot rows the 3,003 balances have by then), then the median ratio and, per side, the medians of TPS, p50, p99 and WAL bytes
# per order.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh
N=${PAIR_N:-8}
CLIENTS=${PAIR_CLIENTS:-8}
BENCH_SECONDS=${PAIR_SECONDS:-5}

bench_init pair
bench_cluster_up >/dev/null
echo "== pairs of ${SECONDS_EACH}s runs at $CLIENTS clients: place_order (bench/place_order.sql) / hand-written (bench/handwritten_order.sql)"
ratios=()
for ((i = 1; i <= N; i++)); do
    if ((i % 2)); then
        bench_measure "place_$i" "$CLIENTS" -f bench/place_order.sql
        bench_measure "hw_$i" "$CLIENTS" -f bench/handwritten_order.sql
    else
        bench_measure "hw_$i" "$CLIENTS" -f bench/handwritten_order.sql
        bench_measure "place_$i" "$CLIENTS" -f bench/place_order.sql
    fi
    p=$(bench_median tps_runs "place_$i")
    h=$(bench_median tps_runs "hw_$i")
    r=$(awk -v p="$p" -v h="$h" 'BEGIN { printf "%.3f", (h > 0 ? p / h : 0) }')
    ratios+=("$r")
    slots=$("${PSQL[@]}" -Atc "SELECT count(*) FROM erp.stock_slot")
    printf 'pair %2d  place %8.0f  hand-written %8.0f  ratio %s  slot rows %s\n' "$i" "$p" "$h" "$r" "$slots"
done
side() {
    local s=$1 what=$2 i all=
    local -n arr=$what
    for ((i = 1; i <= N; i++)); do all+="${arr[${s}_$i]:-} "; done
    tr ' ' '\n' <<<"$all" | { grep -v -e '^$' -e nan || true; } | median
}
echo "median ratio place/hand-written: $(printf '%s\n' "${ratios[@]}" | median)  (pairs: ${ratios[*]})"
for s in place hw; do
    printf '%-6s TPS %8.0f  p50 %s ms  p99 %s ms  WAL %s B/order\n' "$s" \
        "$(side "$s" tps_runs)" "$(side "$s" p50_runs)" "$(side "$s" p99_runs)" "$(side "$s" wal_runs)"
done
[ ${#BENCH_FAILED[@]} -eq 0 ] || { echo "pair.sh: failed runs: ${BENCH_FAILED[*]}" >&2; exit 1; }
