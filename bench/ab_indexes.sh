#!/usr/bin/env bash
# ab_indexes.sh: capture+allocate with and without the two indexes issue 11 put on the order
# path (sales_order_pick_idx, stock_move_txid_brin), alternating on one durable cluster,
# 3 rounds of 8 s each, with simple-update per round as the baseline.  Prints TPS per run.
# Usage: bash bench/ab_indexes.sh   (not part of make bench or make test)
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$REPO_ROOT"; ROUNDS=1
. bench/lib.sh
SECONDS_EACH=8
bench_init ab
bench_cluster_up >/dev/null
for r in 1 2 3; do
  bench_measure with_$r 8 -f bench/capture_allocate.sql
  sql "DROP INDEX erp.sales_order_pick_idx; DROP INDEX erp.stock_move_txid_brin" >/dev/null
  bench_measure without_$r 8 -f bench/capture_allocate.sql
  sql "CREATE INDEX sales_order_pick_idx ON erp.sales_order (priority DESC, created_at, order_id) WHERE status IN ('allocated', 'partially_allocated', 'picking'); CREATE INDEX stock_move_txid_brin ON erp.stock_move USING brin (txid)" >/dev/null
  bench_measure simple_$r 8 -b simple-update
done
for n in with_1 without_1 simple_1 with_2 without_2 simple_2 with_3 without_3 simple_3; do echo "$n ${tps_runs[$n]}"; done
