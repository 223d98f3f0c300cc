#!/usr/bin/env bash
# bench/wal_breakdown.sh: where an order's WAL goes, by relation and record type.
#
# Usage (as root, after `make`):  bench/wal_breakdown.sh            # 400 orders of each
#                                 WAL_N=1000 bench/wal_breakdown.sh
#                                 WAL_PRE_SQL='DROP INDEX erp.sales_order_pick_idx' bench/wal_breakdown.sh
#                                 (a schema change to measure, run once before the passes)
#                                 WAL_FIRST=1 bench/wal_breakdown.sh   # by relation: the first pass
#                                 WAL_KEEP=/tmp/dir bench/wal_breakdown.sh  # keep each kind's pg_waldump
#                                 output (KIND.dump) and relfilenode names (KIND.rels)
#
# On the cluster of bench/run.sh (bench/lib.sh), after a CHECKPOINT, runs WAL_N one-line
# orders of each kind (erp.place_order, then the hand-written PL/pgSQL baseline) from one
# client, then a second CHECKPOINT-free pass of the same count, and prints for each kind
# pg_waldump's per-record statistics of the second pass (the first pays the full-page
# images after the checkpoint; its total per order is printed first) divided by the number
# of orders, and bytes per order by
# relation (record data and images together, from pg_waldump's record lines).
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh
N=${WAL_N:-400}

bench_init walbreak
[ -n "${WAL_KEEP:-}" ] && trap - EXIT
bench_cluster_up >/dev/null
if [ -n "${WAL_PRE_SQL:-}" ]; then
    "${PSQL[@]}" -c "$WAL_PRE_SQL"
fi
WALDUMP="$PGBIN/pg_waldump"
[ -x "$WALDUMP" ] || WALDUMP="$SYS_PGBIN/pg_waldump"

relnames() {
    sql "SELECT relfilenode || ' ' || c.oid::regclass FROM pg_class c WHERE relfilenode <> 0"
}

for kind in place hw; do
    case $kind in
        place) script=bench/place_order.sql ;;
        hw) script=bench/handwritten_order.sql ;;
    esac
    "${PSQL[@]}" -c "CHECKPOINT"
    first=$(sql "SELECT pg_current_wal_lsn()")
    "$PGBENCH" -n -c 1 -t "$N" -f "$script" bench >/dev/null
    start=$(sql "SELECT pg_current_wal_lsn()")
    echo "== $kind: $(sql "SELECT round(pg_wal_lsn_diff('$start', '$first') / $N)") WAL bytes per order in the first pass (after a CHECKPOINT: with the full-page images of the pages it touches first)"
    "$PGBENCH" -n -c 1 -t "$N" -f "$script" bench >/dev/null
    end=$(sql "SELECT pg_current_wal_lsn()")
    sql "SELECT pg_switch_wal()" >/dev/null
    total=$(sql "SELECT pg_wal_lsn_diff('$end', '$start')")
    echo "== $kind: $(awk -v t="$total" -v n="$N" 'BEGIN { printf "%.0f", t / n }') WAL bytes per order (no checkpoint in the pass)"
    if [ -n "${WAL_FIRST:-}" ]; then
        # WAL_FIRST=1: the first pass's records by relation instead (full-page images included)
        end=$start
        start=$first
        echo "   (by relation: the first pass, WAL_FIRST is set)"
    fi
    "$WALDUMP" -p "$DATA/pg_wal" -s "$start" -e "$end" >"$WORK/$kind.dump" 2>/dev/null || true
    relnames >"$WORK/rels"
    if [ -n "${WAL_KEEP:-}" ]; then
        mkdir -p "$WAL_KEEP" && cp "$WORK/$kind.dump" "$WORK/rels" "$WAL_KEEP/" && mv "$WAL_KEEP/rels" "$WAL_KEEP/$kind.rels"
    fi
    # per relation: sum of record lengths (tot_len) of records touching it
    awk -v n="$N" 'NR == FNR { name[$1] = $2; next }
        {
            len = 0; rel = "-"
            for (i = 1; i <= NF; i++) {
                if ($i == "tot_len:" || $i == "len") {}
            }
            if (match($0, /len \(rec\/tot\): *[0-9]+\/ *[0-9]+/)) {
                s = substr($0, RSTART, RLENGTH); sub(/.*\/ */, "", s); len = s + 0
                if ($0 ~ / FPW/) { img += 1 }
            }
            if (match($0, /rel [0-9]+\/[0-9]+\/[0-9]+/)) {
                r = substr($0, RSTART + 4, RLENGTH - 4); split(r, p, "/"); rel = (p[3] in name) ? name[p[3]] : p[3]
            } else if (match($0, /rmgr: [A-Za-z]+/)) {
                rel = "(" substr($0, RSTART + 6, RLENGTH - 6) ")"
            }
            bytes[rel] += len
        }
        END { for (r in bytes) printf "%8.0f  %s\n", bytes[r] / n, r
              printf "%8.2f  full-page images per order\n", img / n }' "$WORK/rels" "$WORK/$kind.dump" | sort -rn | head -30
done
