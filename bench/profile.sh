#!/usr/bin/env bash
# bench/profile.sh: where the CPU of capture+allocate goes.
#
# Usage (as root, from anywhere; run `make` first, it builds nothing):
#   bench/profile.sh
#   BENCH_SECONDS=20 PROFILE_SCRIPT=bench/atp.sql PROFILE_CLIENTS=8 bench/profile.sh
#   PROFILE_KEEP=/tmp/ca.perf.data bench/profile.sh    # keep perf.data (and look with
#                                                      # perf report -i, while the binaries exist)
#
# Sets up the same durable throwaway cluster as bench/run.sh (bench/lib.sh), runs the
# pgbench script PROFILE_SCRIPT (default bench/capture_allocate.sql) at PROFILE_CLIENTS
# (default 8) clients, and while it runs samples every one of its postgres backends
# for BENCH_SECONDS (default 10) with `perf record -g` (PERF_CALLGRAPH, e.g. dwarf, is
# passed as --call-graph when set).  Prints:
#   * pgbench's TPS and the sample count;
#   * `perf report --no-children --sort symbol` (self time per function), top
#     PROFILE_LINES (default 40) lines;
#   * the same by shared object;
#   * the share of the samples under the executor start-up (children time of
#     ExecutorStart, standard_ExecutorStart and InitPlan: ExecutorStart includes the
#     other two) and, for context, under SPI, the executor's run and end, plan cache,
#     locks and WAL flush;
#   * the extension's own functions by children time (which of its statements cost).
# PostgreSQL's binary is stripped (no postgresql-15-dbgsym here): its static functions
# show as addresses and cannot be counted by name.
# perf is /usr/bin/perf (PERF to override).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh

PERF=${PERF:-/usr/bin/perf}
SCRIPT=${PROFILE_SCRIPT:-bench/capture_allocate.sql}
CLIENTS=${PROFILE_CLIENTS:-8}
LINES=${PROFILE_LINES:-40}
[ -x "$PERF" ] || { echo "profile.sh: no perf at $PERF" >&2; exit 1; }
[ -f "$SCRIPT" ] || { echo "profile.sh: no pgbench script $SCRIPT" >&2; exit 1; }

bench_init profile
bench_cluster_up >/dev/null
echo "== profiling $SCRIPT at $CLIENTS clients for ${BENCH_SECONDS:-10}s (durable cluster, $(nproc) cores)"

"${PSQL[@]}" -c "CHECKPOINT"
# pgbench runs a little longer than the sampling, so every sample sees the steady state
"$PGBENCH" -n -j 2 -c "$CLIENTS" -T "$((SECONDS_EACH + 4))" -f "$SCRIPT" bench >"$WORK/pgbench.out" 2>&1 &
pgbench_pid=$!

# its backends: wait until all clients are connected
pids=
for _ in $(seq 1 100); do
    pids=$(sql "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
                 WHERE application_name = 'pgbench' AND backend_type = 'client backend'
                HAVING count(*) >= $CLIENTS")
    [ -n "$pids" ] && break
    kill -0 "$pgbench_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$pids" ]; then
    wait "$pgbench_pid" || true
    cat "$WORK/pgbench.out" >&2
    echo "profile.sh: pgbench's $CLIENTS backends never all connected" >&2
    exit 1
fi
sleep 1

callgraph=(-g)
[ -n "${PERF_CALLGRAPH:-}" ] && callgraph=(--call-graph "$PERF_CALLGRAPH")
"$PERF" record "${callgraph[@]}" -o "$WORK/perf.data" -p "$pids" -- sleep "$SECONDS_EACH" \
    >"$WORK/perf-record.log" 2>&1 || {
    cat "$WORK/perf-record.log" >&2
    kill "$pgbench_pid" 2>/dev/null || true
    exit 1
}
wait "$pgbench_pid" || { cat "$WORK/pgbench.out" >&2; exit 1; }
printf 'pgbench: %.0f TPS over %ss; perf: %s\n' \
    "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK/pgbench.out")" "$((SECONDS_EACH + 4))" \
    "$(grep -o '([0-9]* samples)' "$WORK/perf-record.log" | tr -d '()' || true)"

echo
echo "== perf report --no-children --sort symbol (self time), top $LINES"
# (the report's trailing IPC columns are empty with a software clock: cut)
report() {
    "$PERF" report -i "$WORK/perf.data" --stdio -g none "$@" 2>/dev/null |
        grep -v '^#' | grep -v '^[[:space:]]*$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//'
}
report --no-children --sort symbol >"$WORK/self.txt"
sed -n "1,${LINES}p" "$WORK/self.txt"
echo
echo "== the same by shared object (unresolved addresses above are in these)"
report --no-children --sort dso >"$WORK/dso.txt"
sed -n '1,8p' "$WORK/dso.txt"

echo
echo "== share of samples under (children time, perf report --children)"
report --children --sort symbol >"$WORK/children.txt"
# lines look like "    21.05%     0.12%  [.] standard_ExecutorStart"
children_share() {
    awk -v f="$1" '$4 == f { sub(/%/, "", $1); print $1; found = 1; exit } END { if (!found) print "0" }' "$WORK/children.txt"
}
# (0 for a function PostgreSQL's stripped binary has no symbol for -- its static
# functions such as InitPlan show as addresses -- or that is a tail call and never on
# a stack, as ExecutorStart often is: standard_ExecutorStart then carries the share)
for f in ExecutorStart standard_ExecutorStart InitPlan standard_ExecutorRun standard_ExecutorEnd \
         SPI_execute_plan SPI_execute_plan_with_paramlist SPI_execute_with_args SPI_execute \
         SPI_prepare SPI_cursor_open GetCachedPlan LockAcquireExtended XLogFlush \
         exec_simple_query; do
    printf '  %-32s %6s %%\n' "$f" "$(children_share "$f")"
done
start=$(children_share ExecutorStart)
std=$(children_share standard_ExecutorStart)
printf 'executor start-up share: %s %% of the samples (ExecutorStart with its children%s)\n' \
    "$(awk -v a="$start" -v b="$std" 'BEGIN { print (a >= b ? a : b) }')" \
    "$(awk -v a="$start" -v b="$std" 'BEGIN { if (b > a) print "; standard_ExecutorStart, ExecutorStart is not in the call chains" }')"

echo
echo "== the extension's own functions by children time (inventory_erp.so), top 25"
report --children --sort dso,symbol >"$WORK/ext.txt"
awk '$3 == "inventory_erp.so"' "$WORK/ext.txt" | sed -n '1,25p'


if [ -n "${PROFILE_KEEP:-}" ]; then
    cp "$WORK/perf.data" "$PROFILE_KEEP"
    echo "perf.data kept as $PROFILE_KEEP"
fi
