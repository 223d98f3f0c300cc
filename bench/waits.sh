#!/usr/bin/env bash
# bench/waits.sh: where the order's time goes besides the CPU.  On the cluster of
# bench/run.sh (bench/lib.sh, durable), runs erp.place_order and the hand-written
# PL/pgSQL baseline at 8 clients, alternating (place, hw, place, hw), while one more
# backend samples pg_stat_activity every 10 ms (wait_event_type / wait_event of the
# pgbench sessions; no wait event = on the CPU).  Prints the share of samples per wait
# event for each side and each run's TPS.
# Not part of make bench or make test.
#
# Usage (as root, after `make`):  bench/waits.sh
#                                 WAITS_SECONDS=20 WAITS_CLIENTS=16 bench/waits.sh
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh
BENCH_SECONDS=${WAITS_SECONDS:-12}
CLIENTS=${WAITS_CLIENTS:-8}

bench_init waits
bench_cluster_up >/dev/null
"${PSQL[@]}" -c "CREATE UNLOGGED TABLE wait_sample (kind text, wait_type text, wait_event text)"

# sample KIND: in the background, for the length of one run
sample() {
    "${PSQL[@]}" -c "DO \$\$ BEGIN FOR i IN 1..$((BENCH_SECONDS * 80)) LOOP
        PERFORM pg_catalog.pg_stat_clear_snapshot();
        INSERT INTO wait_sample
        SELECT '$1', coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '-')
          FROM pg_catalog.pg_stat_activity
         WHERE datname = 'bench' AND application_name = 'pgbench' AND pid <> pg_catalog.pg_backend_pid();
        PERFORM pg_catalog.pg_sleep(0.01);
      END LOOP; END \$\$" &
}

echo "== $CLIENTS clients, ${SECONDS_EACH}s runs: erp.place_order (bench/place_order.sql) and hand-written (bench/handwritten_order.sql)"
for run in place_1 hw_1 place_2 hw_2; do
    script=bench/place_order.sql
    [ "${run%_*}" = hw ] && script=bench/handwritten_order.sql
    sample "${run%_*}"
    bench_measure "$run" "$CLIENTS" -f "$script"
    wait
    printf '%-8s TPS %8.0f\n' "$run" "$(bench_median tps_runs "$run")"
done
"${PSQL[@]}" -c "SELECT * FROM (
                    SELECT kind, wait_type, wait_event, count(*) AS samples,
                           round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY kind), 1) AS pct
                      FROM wait_sample GROUP BY 1, 2, 3) s
                  WHERE pct >= 0.5 ORDER BY kind, samples DESC"
[ ${#BENCH_FAILED[@]} -eq 0 ] || { echo "waits.sh: failed runs: ${BENCH_FAILED[*]}" >&2; exit 1; }
