#!/usr/bin/env bash
# bench/forecast.sh: erp.refresh_forecasts() over 10,000 series on a throwaway
# cluster: 2,500 items x 2 channels x 2 nodes, each with FORECAST_DAYS (default
# 120) days of demand (weekly pattern, trend or slow mover, a quarter each plus
# plain noise) loaded into erp.demand_import.  Prints the time of each of
# FORECAST_ROUNDS (default 3) refreshes, the median, and the time per series.
# Not a test: nothing is asserted.  Usage: bash bench/forecast.sh
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh
DAYS=${FORECAST_DAYS:-120}
ROUNDS=${FORECAST_ROUNDS:-3}
WORK=$(pg_workdir bench-forecast)
DATA=$WORK/data
trap 'pg_stop "$DATA"; rm -rf "$WORK"' EXIT

pg_private_install "$WORK"
pg_start "$DATA" "$(pg_free_port)" shared_buffers=256MB work_mem=64MB
psql_() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
psql_ -c 'CREATE EXTENSION inventory_erp'
psql_ <<SQL
INSERT INTO erp.node (code) VALUES ('B-DC1'), ('B-DC2');
INSERT INTO erp.channel (code) VALUES ('B-WEB'), ('B-MKT');
INSERT INTO erp.item (sku, category) SELECT 'B-' || k, 'cat' || (k % 10) FROM generate_series(1, 2500) k;
SELECT setseed(0.5);
INSERT INTO erp.demand_import (item_id, channel_id, node_id, day, qty)
SELECT i.item_id, c.channel_id, n.node_id, CURRENT_DATE - d,
       greatest(0, round(CASE i.item_id % 4
           WHEN 0 THEN 20 + 8 * sin(2 * pi() * d / 7)             -- weekly pattern
           WHEN 1 THEN 10 + 0.1 * ($DAYS - d)                      -- trend
           WHEN 2 THEN CASE WHEN random() < 0.2 THEN 3 ELSE 0 END  -- slow mover
           ELSE 15 END + 3 * (random() - 0.5) * (i.item_id % 4 <> 2)::int))
  FROM erp.item i, erp.channel c, erp.node n, generate_series(1, $DAYS) d
 WHERE i.sku LIKE 'B-%';
VACUUM ANALYZE;
SQL
series=$(psql_ -At -c "SELECT count(DISTINCT (item_id, channel_id, node_id)) FROM erp.demand_import")
rows=$(psql_ -At -c "SELECT count(*) FROM erp.demand_import")
echo "series: $series, history rows: $rows ($DAYS days each)"
times=()
for r in $(seq 1 "$ROUNDS"); do
    ms=$(psql_ -At <<'SQL' | tail -1
SELECT clock_timestamp() AS t0 \gset
SELECT erp.refresh_forecasts() AS n \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000)
SQL
)
    echo "round $r: ${ms} ms"
    times+=("$ms")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median: ${median} ms for $series series = $(awk -v m="$median" -v s="$series" 'BEGIN {printf "%.3f", m / s}') ms per series"
psql_ -c "SELECT model, count(DISTINCT (item_id, channel_id, node_id)) AS series FROM erp.forecast_snapshot GROUP BY model ORDER BY model"
