# shellcheck shell=bash
# bench/lib.sh: sourced by bench/run.sh and bench/profile.sh.  The one throwaway
# durable cluster they both measure on, and one measured pgbench run.
#
#   bench_init NAME      work directory, BENCH_SECONDS / BENCH_ROUNDS, cleanup on exit
#   bench_cluster_up     private install of this build, durable cluster, database "bench"
#                        with pgbench's tables (scale 10), bench/setup.sql (the extension's
#                        1,000 SKUs x 3 nodes and HOT-1), bench/handwritten.sql (the
#                        hand-written baseline on the same stock) and the single hot row;
#                        then a warm-up of 8 x BENCH_WARMUP_ORDERS (default 100) orders of
#                        each order script, and VACUUM ANALYZE
#   bench_measure NAME CLIENTS PGBENCH-ARGS...
#                        one timed pgbench run (BENCH_SECONDS) after a CHECKPOINT; appends
#                        its TPS, p50 and p99 latency (ms, from pgbench's per-transaction
#                        log) and WAL bytes per transaction to the arrays tps_runs, p50_runs,
#                        p99_runs, wal_runs (keyed by NAME); a pgbench that fails is
#                        reported on stderr and its NAME added to BENCH_FAILED
#   median               median of the numbers on stdin, one a line
#   bench_side_summary SIDE N   medians of TPS, p50 and p99 over runs SIDE_1 .. SIDE_N
#
# REPO_ROOT must be the repository root and the working directory.

# shellcheck source=scripts/pgenv.sh
. "$REPO_ROOT/scripts/pgenv.sh"

declare -gA tps_runs=() p50_runs=() p99_runs=() wal_runs=()
declare -ga BENCH_FAILED=()

bench_cleanup() {
    if [ -n "${DATA:-}" ] && [ -n "${PGBIN:-}" ]; then
        pg_stop "$DATA"
    fi
    if [ -n "${WORK:-}" ]; then
        rm -rf "$WORK"
    fi
}

bench_init() {
    SECONDS_EACH=${BENCH_SECONDS:-10}
    # shellcheck disable=SC2034 # used by run.sh
    ROUNDS=${BENCH_ROUNDS:-3}
    WORK=$(pg_workdir "$1")
    DATA=$WORK/data
    LOGS=$WORK/pgbench-logs
    mkdir -p "$LOGS"
    trap bench_cleanup EXIT
}

bench_cluster_up() {
    pg_private_install "$WORK"
    pg_start "$DATA" "$(pg_free_port)" fsync=on synchronous_commit=on full_page_writes=on \
        shared_buffers=512MB max_connections=100 max_wal_size=4GB checkpoint_timeout=30min
    PGBENCH="$PGBIN/pgbench"
    PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d bench)

    as_pg "$PGBIN/createdb" -h "$PGHOST" -p "$PGPORT" bench
    "$PGBENCH" -i -q -s 10 bench >"$WORK/pgbench-init.log" 2>&1 || {
        cat "$WORK/pgbench-init.log" >&2
        return 1
    }
    "${PSQL[@]}" -f bench/setup.sql >/dev/null
    "${PSQL[@]}" -f bench/handwritten.sql >/dev/null
    "${PSQL[@]}" -c "CREATE TABLE hot_row (id int PRIMARY KEY, qty bigint)" \
        -c "INSERT INTO hot_row VALUES (1, 1000000000)"
    # Warm-up: the order tables hold some orders before the statistics are taken, as
    # on any live database.  Analyzed empty, the planner would estimate them at 0 rows
    # and the cached plans of every later order would scan them sequentially until
    # autovacuum re-analyzed them (a minute or more into the run).
    local s
    for s in bench/place_order.sql bench/capture_allocate.sql bench/handwritten_order.sql bench/hot_capture_allocate.sql; do
        "$PGBENCH" -n -j 2 -c 8 -t "${BENCH_WARMUP_ORDERS:-100}" -f "$s" bench >"$WORK/warmup.log" 2>&1 || {
            cat "$WORK/warmup.log" >&2
            return 1
        }
    done
    "${PSQL[@]}" -c "VACUUM ANALYZE"
}

# sql QUERY: one value
sql() { "${PSQL[@]}" -At -c "$1"; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# latency_ms Q FILE: the Q-quantile (nearest rank) of the latencies in FILE (microseconds,
# sorted, one a line), in milliseconds
latency_ms() {
    awk -v q="$1" '{a[NR]=$1} END {
        if (!NR) { print "nan"; exit }
        r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1
        printf "%.3f", a[r] / 1000 }' "$2"
}

# pgbench_logged PREFIX OUT PGBENCH-ARGS...: pgbench with its per-transaction log under
# PREFIX (one file per thread), its report in OUT; fails with the report when pgbench does
bench_pgbench_logged() {
    local prefix=$1 out=$2
    shift 2
    rm -f "$prefix".*
    "$PGBENCH" -n -j 2 -l --log-prefix="$prefix" "$@" bench >"$out" 2>&1 || {
        cat "$out" >&2
        return 1
    }
}

# bench_latencies PREFIX: sorted latencies (microseconds) of the logged transactions
# (the third field; failed or skipped ones, not numbers, are left out)
bench_latencies() {
    cat "$1".* | awk '$3 ~ /^[0-9]+$/ {print $3}' | sort -n
}

bench_measure() {
    local name=$1 clients=$2
    shift 2
    local prefix=$LOGS/$name out=$LOGS/$name.out lat=$LOGS/$name.lat
    local lsn tps processed wal
    "${PSQL[@]}" -c "CHECKPOINT"
    lsn=$(sql "SELECT pg_current_wal_lsn()")
    if ! bench_pgbench_logged "$prefix" "$out" -T "$SECONDS_EACH" -c "$clients" "$@"; then
        # its figures still count (pgbench reports what it processed), the run fails at the end
        echo "bench: pgbench of $name failed (its output is above)" >&2
        BENCH_FAILED+=("$name")
    fi
    wal=$(sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn')")
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out")
    processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    bench_latencies "$prefix" >"$lat"
    tps_runs[$name]+="$tps "
    p50_runs[$name]+="$(latency_ms 0.50 "$lat") "
    p99_runs[$name]+="$(latency_ms 0.99 "$lat") "
    wal_runs[$name]+="$(awk -v w="$wal" -v n="$processed" 'BEGIN { printf "%.0f", (n > 0 ? w / n : 0) }') "
    rm -f "$prefix".* "$lat"
}

# bench_median ARRAY NAME: median of the runs recorded in ARRAY[NAME]
bench_median() {
    local -n arr=$1
    local m
    m=$(tr ' ' '\n' <<<"${arr[$2]:-}" | { grep -v -e '^$' -e nan || true; } | median)
    echo "${m:-0}"
}

# bench_side_summary SIDE N: one line of the medians over runs SIDE_1 .. SIDE_N of TPS,
# p50 and p99 (for the scripts that alternate two workloads in numbered rounds)
bench_side_summary() {
    local side=$1 n=$2 i tps='' p50='' p99=''
    for ((i = 1; i <= n; i++)); do
        tps+="${tps_runs[${side}_$i]:-} "; p50+="${p50_runs[${side}_$i]:-} "; p99+="${p99_runs[${side}_$i]:-} "
    done
    printf '%-6s TPS %8.0f  p50 %s ms  p99 %s ms\n' "$side" "$(tr ' ' '\n' <<<"$tps" | grep -v '^$' | median)" \
        "$(tr ' ' '\n' <<<"$p50" | grep -v '^$' | median)" "$(tr ' ' '\n' <<<"$p99" | grep -v '^$' | median)"
}
