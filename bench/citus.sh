#!/usr/bin/env bash
# bench/citus.sh: the distributed run of the benchmark (doc/scaling.md).  On a throwaway
# DURABLE Citus cluster of its own (test/citus/lib.sh: a coordinator and two workers of
# the private PostgreSQL copy on this machine), the same workload twice: in a database
# of the coordinator without Citus (one node) and in a database laid out by
# erp.distribute() (BENCH_CITUS_SHARDS shards, default 8): capture+allocate of a 1-line
# order of a random SKU of bench/setup.sql's catalogue (bench/capture_allocate.sql),
# BENCH_CITUS_CLIENTS clients (default 4) for BENCH_SECONDS (default 10).  Prints the
# orders per second of each and their ratio.  On one machine this shows Citus's overhead
# per order (remote commands, two-phase commit over every node), not scale.
# Skips with one line when Citus is not installed; BENCH_CITUS=0 skips it too.
# Builds nothing: run `make` first.
#   bench/citus.sh
set -uo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh
. test/citus/lib.sh
[ "${BENCH_CITUS:-1}" = 0 ] && { echo "citus: skipped (BENCH_CITUS=0)"; exit 0; }
SECONDS_=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CITUS_CLIENTS:-4}
SHARDS=${BENCH_CITUS_SHARDS:-8}
WORK=$(pg_workdir bench-citus)
pg_private_install "$WORK" || exit 1
if ! citus_available; then
    echo "citus: skipped (Citus is not installed in PostgreSQL $PGVER)"
    rm -rf "$WORK"
    exit 0
fi
trap 'citus_stop; rm -rf "$WORK"' EXIT
citus_start "$WORK" || exit 1
citus_db ierp_bench || exit 1
citus_psql 0 -d postgres -c "CREATE DATABASE ierp_bench_one" || exit 1
citus_psql 0 -d ierp_bench_one -c "CREATE EXTENSION inventory_erp" || exit 1
citus_psql 0 -d ierp_bench -c "SET client_min_messages = warning" -c "SET citus.shard_count = $SHARDS" \
    -c "SELECT erp.distribute()" >/dev/null || exit 1
for db in ierp_bench_one ierp_bench; do
    PGOPTIONS="-c client_min_messages=warning" citus_psql 0 -d "$db" -v ON_ERROR_STOP=1 -f bench/setup.sql >/dev/null || exit 1
done
tps() {
    "$PGBIN/pgbench" -n -h localhost -p "${CITUS_PORT_LIST%% *}" -U postgres -c "$CLIENTS" -j "$CLIENTS" \
        -T "$SECONDS_" -f bench/capture_allocate.sql "$1" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
ONE=$(tps ierp_bench_one)
DIST=$(tps ierp_bench)
printf 'citus: capture_allocate, %s clients, %s s, coordinator + 2 workers on this machine, %s shards\n' "$CLIENTS" "$SECONDS_" "$SHARDS"
printf '  one node    %10s orders/s\n  distributed %10s orders/s\n  ratio       %10s\n' "${ONE:-failed}" "${DIST:-failed}" \
    "$(awk -v a="${DIST:-0}" -v b="${ONE:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')"
for db in ierp_bench_one ierp_bench; do
    printf '  erp.verify() rows (%s): %s\n' "$db" "$(citus_psql 0 -d "$db" -c "SELECT count(*) FROM erp.verify()")"
done
