#!/usr/bin/env bash
# bench/holds.sh: the checkout-holds section of make bench alone (bench/run.sh's "checkout
# holds"), on the same kind of durable cluster (bench/lib.sh): a checkout's hold, then its
# order captured with hold_ref and allocated (bench/hold_capture_allocate.sql), beside
# capture + allocate alone (bench/capture_allocate.sql), 8 clients each, in alternating runs.
# Not part of make bench or make test.
#
# Usage (as root, after `make`):  bench/holds.sh
#                                 BENCH_SECONDS=10 BENCH_ROUNDS=5 bench/holds.sh
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh

bench_init holds
bench_cluster_up >/dev/null
echo "== checkout holds: hold + capture(hold_ref) + allocate c8 beside capture + allocate c8, ${SECONDS_EACH}s x $ROUNDS"
"$PGBENCH" -n -j 2 -c 8 -t "${BENCH_WARMUP_ORDERS:-100}" -f bench/hold_capture_allocate.sql bench \
    >"$WORK/warmup-holds.log" 2>&1 || { cat "$WORK/warmup-holds.log" >&2; exit 1; }
"${PSQL[@]}" -c "ANALYZE erp.checkout_hold, erp.checkout_hold_line" >/dev/null
for ((r = 1; r <= ROUNDS; r++)); do
    bench_measure plain_$r 8 -f bench/capture_allocate.sql
    bench_measure hold_$r 8 -f bench/hold_capture_allocate.sql
done
ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
    p=$(bench_median tps_runs "plain_$r")
    h=$(bench_median tps_runs "hold_$r")
    ratios+=("$(awk -v a="$h" -v b="$p" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
    printf 'round %d  capture+allocate %6.0f  hold+capture+allocate %6.0f  ratio %s   WAL B/tx %s / %s\n' "$r" "$p" "$h" \
        "${ratios[-1]}" "$(bench_median wal_runs "plain_$r")" "$(bench_median wal_runs "hold_$r")"
done
echo "median ratio hold+capture+allocate / capture+allocate: $(printf '%s\n' "${ratios[@]}" | median)"
for s in plain hold; do bench_side_summary "$s" "$ROUNDS"; done
"${PSQL[@]}" -At -c "SELECT 'checkout holds: ' || count(*) FILTER (WHERE status = 'converted') || ' converted of '
                            || count(*) || ', verify problems ' || (SELECT count(*) FROM erp.verify())
                       FROM erp.checkout_hold"
[ ${#BENCH_FAILED[@]} -eq 0 ] || { echo "holds.sh: failed runs: ${BENCH_FAILED[*]}" >&2; exit 1; }
