#!/usr/bin/env bash
# bench/waits.sh: where an order's time goes at 8 clients, erp.place_order beside the
# hand-written PL/pgSQL version (issue 10: why they run at parity), on the cluster of
# bench/run.sh (bench/lib.sh).  Not part of make bench or make test.
#
# Usage (as root, after `make`):  bench/waits.sh
#                                 WAITS_SECONDS=8 WAITS_ROUNDS=3 WAITS_ORDERS=1000 bench/waits.sh
#
# For each side, WAITS_ROUNDS times (alternating the sides; default 2):
#   1. wait events: a WAITS_SECONDS-second pgbench run (default 6) at 8 clients while a
#      procedure samples pg_stat_activity of the pgbench backends at 20 Hz; the share of
#      samples per wait_event_type:wait_event ("CPU" when none), summed over the rounds;
#      with the run's TPS, and pg_stat_wal's fsyncs (orders per fsync, ms per fsync:
#      track_wal_io_timing is turned on for this cluster)
#   2. CPU per order: `pgbench -c 8 -t WAITS_ORDERS` (default 1000 per client); the user
#      and system CPU of the backends (the postmaster's cutime/cstime: every backend has
#      exited when pgbench returns) divided by the orders
# Then, once per side, from one client: buffers per order by relation (pg_statio deltas
# over 1,000 orders, relations above 0.1 per order), and WAL full-page images per order by
# relation in the first WAITS_FPI_ORDERS orders (default 8,000, at 8 clients) after a
# CHECKPOINT (pg_waldump).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh
SECS=${WAITS_SECONDS:-6}
ROUNDS_W=${WAITS_ROUNDS:-2}
PER_CLIENT=${WAITS_ORDERS:-1000}
FPI_ORDERS=${WAITS_FPI_ORDERS:-8000}

bench_init waits
bench_cluster_up >/dev/null
WALDUMP="$PGBIN/pg_waldump"
[ -x "$WALDUMP" ] || WALDUMP="$SYS_PGBIN/pg_waldump"
"${PSQL[@]}" -c "ALTER SYSTEM SET track_wal_io_timing = on" -c "SELECT pg_reload_conf()" >/dev/null
"${PSQL[@]}" <<'SQL'
CREATE TABLE public.waits_sample (kind text, wait text);
-- one sample per COMMIT: pg_stat_activity is read once per transaction
CREATE PROCEDURE public.waits_sample(kind text, samples int, pause float8)
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..samples LOOP
        INSERT INTO public.waits_sample
        SELECT kind, COALESCE(wait_event_type || ':' || wait_event, 'CPU')
          FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND application_name = 'pgbench' AND pid <> pg_backend_pid();
        COMMIT;
        PERFORM pg_sleep(pause);
    END LOOP;
END $$;
SQL

script_of() {
    case $1 in
        place) echo bench/place_order.sql ;;
        hw) echo bench/handwritten_order.sql ;;
    esac
}
xacts() { sql "SELECT xact_commit FROM pg_stat_database WHERE datname = 'bench'"; }
pm_cpu() { awk '{print $16, $17}' "/proc/$(head -1 "$DATA/postmaster.pid")/stat"; }

waits_round() {
    local kind=$1 x0 x1 out=$WORK/waits-$kind.out
    "${PSQL[@]}" -c "CHECKPOINT" -c "SELECT pg_stat_reset_shared('wal')" >/dev/null
    x0=$(xacts)
    "$PGBENCH" -n -j 2 -c 8 -T "$SECS" -f "$(script_of "$kind")" bench >"$out" 2>&1 &
    local pid=$!
    sleep 1
    "${PSQL[@]}" -c "CALL public.waits_sample('$kind', $(((SECS - 2) * 20)), 0.05)"
    wait "$pid"
    x1=$(xacts)
    printf '%-6s wait-event run: %s; %s\n' "$kind" "$(grep -o 'tps = [0-9.]*' "$out")" \
        "$(sql "SELECT format('%s orders per fsync, %s ms per fsync', round(($x1 - $x0)::numeric / NULLIF(wal_sync, 0), 2),
                              round((wal_sync_time / NULLIF(wal_sync, 0))::numeric, 2)) FROM pg_stat_wal")"
}

cpu_round() {
    local kind=$1 a b n=$((8 * PER_CLIENT))
    "${PSQL[@]}" -c "CHECKPOINT" >/dev/null
    a=$(pm_cpu)
    "$PGBENCH" -n -j 2 -c 8 -t "$PER_CLIENT" -f "$(script_of "$kind")" bench >"$WORK/cpu-$kind.out" 2>&1
    sleep 0.3
    b=$(pm_cpu)
    # clock ticks (1/100 s) -> microseconds per order
    read -r ua sa <<<"$a"
    read -r ub sb <<<"$b"
    printf '%-6s CPU per order (8 clients, -t %s): user %d us, system %d us; %s\n' "$kind" "$PER_CLIENT" \
        $(((ub - ua) * 10000 / n)) $(((sb - sa) * 10000 / n)) "$(grep -o 'tps = [0-9.]*' "$WORK/cpu-$kind.out")"
}

echo "== $ROUNDS_W alternating rounds per side (uptime: $(uptime | sed 's/.*load/load/'))"
for ((r = 1; r <= ROUNDS_W; r++)); do
    if ((r % 2)); then order="place hw"; else order="hw place"; fi
    for kind in $order; do
        waits_round "$kind"
        cpu_round "$kind"
    done
done
echo "== wait events, share of the samples of the 8 pgbench backends (20 Hz)"
sql "SELECT format('%-6s %-28s %5s %%', kind, wait, round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY kind), 1))
       FROM public.waits_sample GROUP BY kind, wait HAVING count(*) * 200 >= (SELECT count(*) FROM public.waits_sample s WHERE s.kind = waits_sample.kind)
      ORDER BY kind DESC, count(*) DESC"

echo "== buffers per order by relation (one client, 1,000 orders, pg_statio)"
for kind in place hw; do
    "${PSQL[@]}" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS public.statio0" \
        -c "CREATE TABLE public.statio0 AS
              SELECT relid::regclass::text AS rel, heap_blks_hit + heap_blks_read AS b FROM pg_statio_all_tables
              UNION ALL SELECT indexrelid::regclass::text, idx_blks_hit + idx_blks_read FROM pg_statio_all_indexes" >/dev/null
    "$PGBENCH" -n -c 1 -t 1000 -f "$(script_of "$kind")" bench >/dev/null
    sleep 1.5 # the backend's statistics reach shared memory after it exits
    echo "-- $kind: $(sql "WITH now AS (SELECT relid::regclass::text AS rel, heap_blks_hit + heap_blks_read AS b FROM pg_statio_all_tables
                       UNION ALL SELECT indexrelid::regclass::text, idx_blks_hit + idx_blks_read FROM pg_statio_all_indexes)
              SELECT round(sum(n.b - s.b) / 1000.0, 1) FROM now n JOIN public.statio0 s USING (rel)") buffers per order in all"
    sql "WITH now AS (SELECT relid::regclass::text AS rel, heap_blks_hit + heap_blks_read AS b FROM pg_statio_all_tables
                      UNION ALL SELECT indexrelid::regclass::text, idx_blks_hit + idx_blks_read FROM pg_statio_all_indexes)
         SELECT format('%6s  %s', round((n.b - s.b) / 1000.0, 2), n.rel) FROM now n JOIN public.statio0 s USING (rel)
          WHERE n.b - s.b >= 100 ORDER BY n.b - s.b DESC"
done

echo "== full-page images per order by relation, first $FPI_ORDERS orders after a CHECKPOINT (8 clients)"
sql "SELECT relfilenode || ' ' || c.oid::regclass FROM pg_class c WHERE relfilenode <> 0" >"$WORK/rels"
for kind in place hw; do
    "${PSQL[@]}" -c "CHECKPOINT" >/dev/null
    a=$(sql "SELECT pg_current_wal_lsn()")
    "$PGBENCH" -n -j 2 -c 8 -t $((FPI_ORDERS / 8)) -f "$(script_of "$kind")" bench >/dev/null
    b=$(sql "SELECT pg_current_wal_lsn()")
    sql "SELECT pg_switch_wal()" >/dev/null
    echo "-- $kind: $(sql "SELECT round(pg_wal_lsn_diff('$b', '$a') / $FPI_ORDERS)") WAL bytes per order"
    "$WALDUMP" -p "$DATA/pg_wal" -s "$a" -e "$b" 2>/dev/null | awk -v n="$FPI_ORDERS" '
        NR == FNR { name[$1] = $2; next }
        / FPW/ && match($0, /rel [0-9]+\/[0-9]+\/[0-9]+/) {
            r = substr($0, RSTART + 4, RLENGTH - 4); split(r, p, "/"); rel = (p[3] in name) ? name[p[3]] : p[3]
            match($0, /len \(rec\/tot\): *[0-9]+\/ *[0-9]+/); s = substr($0, RSTART, RLENGTH); sub(/.*\/ */, "", s)
            c[rel]++; b[rel] += s
        }
        END { for (r in c) if (b[r] / n >= 1) printf "%6.0f B/order  %5d images  %s\n", b[r] / n, c[r], r }' "$WORK/rels" - | sort -rn
done
