#!/usr/bin/env bash
# bench/queues.sh (not part of `make test` or `make bench`): latency of the queues
# the apps read (erp.pick_queue, erp.returns_desk, erp.approval_queue) at the
# demo's volume, without and with the index the pick queue is read by
# (erp.sales_order_pick_idx, sql/install/17_queues.sql).
#
#   make && bench/queues.sh
#
# Builds nothing (`make` first).  On one throwaway cluster: the demo's retailer
# (demo/setup.sql) and its whole day (demo/hour.sql and demo/events.sql, hours 8
# to 21, ~20,400 orders), as scripts/demo.sh runs it; VACUUM ANALYZE; then per
# queue a pgbench run of QUEUES_CLIENTS (default 4) clients for BENCH_SECONDS
# (default 10), each transaction one app read:
#   pick       SELECT * FROM erp.pick_queue WHERE node = <random node> LIMIT 50
#   returns    SELECT * FROM erp.returns_desk WHERE node = <random node> LIMIT 50
#   approvals  SELECT * FROM erp.approval_queue LIMIT 50
# first with erp.sales_order_pick_idx dropped ("without"), then with it
# ("with").  Prints TPS, p50 and p99 (ms, from pgbench's per-transaction log)
# per queue and index state; doc/performance.md records a run.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_init queues
CLIENTS=${QUEUES_CLIENTS:-4}

pg_private_install "$WORK"
pg_start "$DATA" "$(pg_free_port)" fsync=off synchronous_commit=off shared_buffers=256MB \
    max_wal_size=4GB max_connections=50
PGBENCH="$PGBIN/pgbench"
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d bench)
as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" bench

echo "queues: loading the demo's retailer and running its day (a few minutes)"
"${PSQL[@]}" -f demo/setup.sql >/dev/null
skus=$(sql "SELECT count(*) FROM demo_sku")
for hour in $(seq 8 21); do
    orders=1200; promo=0
    if [ "$hour" -ge 12 ] && [ "$hour" -le 14 ]; then orders=2400; promo=1; fi
    mark=$(sql "SELECT clock_timestamp()")
    "${PSQL[@]}" -v hour="$hour" -v orders="$orders" -v capacity=1500 -v promo="$promo" -v skus="$skus" \
        -f demo/hour.sql >/dev/null
    case $hour in
        10) "${PSQL[@]}" -v step=counts -f demo/events.sql >/dev/null ;;
        11) "${PSQL[@]}" -v step=supplier_delay -f demo/events.sql >/dev/null ;;
        15) "${PSQL[@]}" -v step=replenish -f demo/events.sql >/dev/null ;;
        17) "${PSQL[@]}" -v step=receive -f demo/events.sql >/dev/null ;;
    esac
    "${PSQL[@]}" -v hour="$hour" -v mark="$mark" -f demo/clock.sql >/dev/null
done
"${PSQL[@]}" -c "VACUUM ANALYZE"
echo "queues: $(sql "SELECT count(*) FROM erp.sales_order") orders;" \
     "ready to pick: $(sql "SELECT string_agg(node || ' ' || n, ', ' ORDER BY node) FROM (SELECT node, count(*) n FROM erp.pick_queue GROUP BY node) q");" \
     "returns desk rows $(sql "SELECT count(*) FROM erp.returns_desk"); approvals waiting $(sql "SELECT count(*) FROM erp.approval_queue")"

nodes="ARRAY['DC-BER', '3PL-LEJ', 'DROP-VND']"
printf '\\set n random(1, 3)\nSELECT * FROM erp.pick_queue WHERE node = (%s)[:n] LIMIT 50;\n' "$nodes" >"$WORK/pick.sql"
printf '\\set n random(1, 3)\nSELECT * FROM erp.returns_desk WHERE node = (%s)[:n] LIMIT 50;\n' "$nodes" >"$WORK/returns.sql"
printf 'SELECT * FROM erp.approval_queue LIMIT 50;\n' >"$WORK/approvals.sql"

index_def=$(sql "SELECT pg_get_indexdef('erp.sales_order_pick_idx'::regclass)")
"${PSQL[@]}" -c "DROP INDEX erp.sales_order_pick_idx"
for q in pick returns approvals; do bench_measure "${q}_without" "$CLIENTS" -f "$WORK/$q.sql"; done
"${PSQL[@]}" -c "$index_def" -c "ANALYZE erp.sales_order"
for q in pick returns approvals; do bench_measure "${q}_with" "$CLIENTS" -f "$WORK/$q.sql"; done

printf '\n%-22s %9s %9s %9s\n' "queue/index" TPS "p50 ms" "p99 ms"
for q in pick returns approvals; do
    for s in without with; do
        printf '%-22s %9s %9s %9s\n' "$q/$s" "$(bench_median tps_runs "${q}_$s")" \
            "$(bench_median p50_runs "${q}_$s")" "$(bench_median p99_runs "${q}_$s")"
    done
done
[ ${#BENCH_FAILED[@]} -eq 0 ] || { echo "failed: ${BENCH_FAILED[*]}" >&2; exit 1; }
