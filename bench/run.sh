#!/usr/bin/env bash
# bench/run.sh: measures inventory_erp against PostgreSQL's own baselines, on the same
# throwaway DURABLE cluster (fsync and synchronous_commit on), in the same run, and prints
# each workload's median TPS and its ratio to its baseline.
#
#   workload                               clients   baseline
#   capture+allocate, 1-line, 1,000 SKUs x 3 nodes   8   pgbench -b simple-update, 8 clients
#   erp.atp                                      8   pgbench -b select-only, 8 clients
#   hot-SKU capture+allocate (flash sale)       32   single hot row conditional UPDATE, 32 clients
#
# BENCH_SECONDS (default 10) per measurement, BENCH_ROUNDS (default 3) rounds, medians quoted.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh

SECONDS_EACH=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WORK=$(pg_workdir bench)
DATA=$WORK/data
trap 'pg_stop "$DATA"; rm -rf "$WORK"' EXIT

pg_private_install "$WORK"
pg_start "$DATA" "$(pg_free_port)" fsync=on synchronous_commit=on full_page_writes=on \
    shared_buffers=512MB max_connections=100 max_wal_size=4GB checkpoint_timeout=30min
PGBENCH="$PGBIN/pgbench"
PSQL="$PGBIN/psql -X -q -v ON_ERROR_STOP=1"

echo "== setting up (pgbench scale 10, 1,000 SKUs x 3 nodes, one hot SKU)"
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" bench
"$PGBENCH" -i -q -s 10 bench >/dev/null 2>&1
$PSQL -d bench -f bench/setup.sql >/dev/null
$PSQL -d bench -c "CREATE TABLE hot_row (id int PRIMARY KEY, qty bigint); INSERT INTO hot_row VALUES (1, 1000000000)" -c "VACUUM ANALYZE"

# tps SCRIPT-ARGS...: one pgbench run, prints its TPS
tps() {
    "$PGBENCH" -n -T "$SECONDS_EACH" -j 2 "$@" bench 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A runs
names=(simple_update_c8 capture_allocate_c8 select_only_c8 atp_c8 hot_row_update_c32 hot_capture_allocate_c32)
for r in $(seq 1 "$ROUNDS"); do
    echo "== round $r of $ROUNDS (${SECONDS_EACH}s each)"
    runs[simple_update_c8]+="$(tps -b simple-update -c 8) "
    runs[capture_allocate_c8]+="$(tps -f bench/capture_allocate.sql -c 8) "
    runs[select_only_c8]+="$(tps -b select-only -c 8) "
    runs[atp_c8]+="$(tps -f bench/atp.sql -c 8) "
    runs[hot_row_update_c32]+="$(tps -f bench/hot_row_update.sql -c 32) "
    runs[hot_capture_allocate_c32]+="$(tps -f bench/hot_capture_allocate.sql -c 32) "
    $PSQL -d bench -c "CHECKPOINT" >/dev/null
done

declare -A med
for n in "${names[@]}"; do
    med[$n]=$(tr ' ' '\n' <<<"${runs[$n]}" | grep . | median)
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "== results: median TPS of $ROUNDS x ${SECONDS_EACH}s on a durable cluster ($(nproc) cores)"
printf '%-44s %10s   %s\n' "workload" "TPS" "runs"
for n in "${names[@]}"; do printf '%-44s %10.0f   %s\n' "$n" "${med[$n]}" "${runs[$n]}"; done
echo
printf '%-60s %6s  %s\n' "ratio" "value" "goal"
printf '%-60s %6s  %s\n' "capture+allocate c8 / simple-update c8" "$(ratio "${med[capture_allocate_c8]}" "${med[simple_update_c8]}")" ">= 0.80"
printf '%-60s %6s  %s\n' "erp.atp c8 / select-only c8" "$(ratio "${med[atp_c8]}" "${med[select_only_c8]}")" ">= 0.80"
printf '%-60s %6s  %s\n' "hot-SKU capture+allocate c32 / hot-row UPDATE c32" "$(ratio "${med[hot_capture_allocate_c32]}" "${med[hot_row_update_c32]}")" ">= 2.00"

echo
echo "== oversell check on the hot SKU"
$PSQL -d bench -At -c "
SELECT format('received %s, reserved %s, available %s, orders allocated %s, verify problems %s',
       (SELECT sum(qty) FROM erp.stock_move m JOIN erp.item i USING (item_id) WHERE i.sku = 'HOT-1' AND m.event = 'receive'),
       (SELECT sum(qty) FROM erp.stock_balance b JOIN erp.item i USING (item_id) WHERE i.sku = 'HOT-1' AND b.state = 'reserved'),
       (SELECT sum(qty) FROM erp.stock_balance b JOIN erp.item i USING (item_id) WHERE i.sku = 'HOT-1' AND b.state = 'available'),
       (SELECT count(*) FROM erp.order_line l JOIN erp.item i USING (item_id) WHERE i.sku = 'HOT-1' AND l.status = 'allocated'),
       (SELECT count(*) FROM erp.verify()))"
