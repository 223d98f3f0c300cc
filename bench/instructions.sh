#!/usr/bin/env bash
# bench/instructions.sh: instructions per order, counted by callgrind (repeatable whatever
# else the machine does, unlike a timing on a shared 2-core box).
#
# Usage (as root, after `make`; needs valgrind: `scripts/deps.sh valgrind`):
#   bench/instructions.sh                 # place, two-call, hand-written, atp; 200 each
#   INSTR_KINDS="place hw" INSTR_N=400 bench/instructions.sh
#   INSTR_KEEP=/tmp/dir bench/instructions.sh   # keep each kind's two runs as
#                                               # /tmp/dir/KIND.{short,long}.callgrind; per
#                                               # statement by function: bench/cg_diff.py
#
# Sets up the cluster of bench/run.sh (bench/lib.sh: pgbench's tables, the extension's
# 1,000 SKUs x 3 nodes, the hand-written baseline, warmed up and analyzed), stops it, and
# for each kind runs a single-user backend (postgres --single) under callgrind twice on a
# fresh copy of the data directory: once with 20 statements (warm-up: caches, plans) and
# once with 20 + INSTR_N.  The difference divided by INSTR_N is the kind's instructions
# per statement (one statement is one transaction in single-user mode).  The 10 SKUs used
# repeat, so the per-backend caches are warm as in a long-lived connection.
#   place  SELECT count(*) FROM erp.place_order('WEB', <new ref>, <one line>)
#   ca     SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', <new ref>, <one line>))
#   hw     SELECT handwritten.capture_allocate('WEB', <new ref>, <sku>, 1)
#   atp    SELECT erp.atp(<sku>, 'DC-1', 'WEB')
#   pargs  place with all six arguments given (ship_to NULL, priority 0, idempotency_key
#          NULL): no argument defaults for the parser and the planner to expand
#   hot    place of one unit of HOT-1, the flash-sale SKU, over as many slot rows as the
#          warm-up's 8 concurrent clients spread it into (printed)
#   pcold, hcold  place and hw over the 1,000 SKUs in turn: every statement's SKU is new to
#          the backend (per-backend caches cold for it), as for most orders of a pgbench
#          run of bench/place_order.sql, whose connections last one run
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. bench/lib.sh
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (scripts/deps.sh valgrind)" >&2; exit 1; }
KINDS=${INSTR_KINDS:-place ca hw atp}
N=${INSTR_N:-200}

bench_init instructions
bench_cluster_up >/dev/null
echo "HOT-1 slot rows after the warm-up: $("${PSQL[@]}" -Atc "SELECT count(*) FROM erp.stock_slot s JOIN erp.item i USING (item_id) WHERE i.sku = 'HOT-1'")"
pg_stop "$DATA"

statements() {
    local kind=$1 m=$2 i k
    for ((i = 1; i <= m; i++)); do
        k=$((i % 10 + 1))
        case $kind in pcold | hcold) k=$((i % 1000 + 1)) ;; esac
        case $kind in
        place | pcold) echo "SELECT count(*) FROM erp.place_order('WEB', 'instr-$kind-$i', '[{\"sku\": \"SKU-$k\", \"qty\": 1}]');" ;;
        pargs) echo "SELECT count(*) FROM erp.place_order('WEB', 'instr-$kind-$i', '[{\"sku\": \"SKU-$k\", \"qty\": 1}]', NULL, 0, NULL);" ;;
        ca) echo "SELECT count(*) FROM erp.allocate(erp.capture_order('WEB', 'instr-$kind-$i', '[{\"sku\": \"SKU-$k\", \"qty\": 1}]'));" ;;
        hw | hcold) echo "SELECT handwritten.capture_allocate('WEB', 'instr-$kind-$i', 'SKU-$k', 1);" ;;
        atp) echo "SELECT erp.atp('SKU-$k', 'DC-1', 'WEB');" ;;
        hot) echo "SELECT count(*) FROM erp.place_order('WEB', 'instr-$kind-$i', '[{\"sku\": \"HOT-1\", \"qty\": 1}]');" ;;
        *) echo "instructions.sh: unknown kind $kind" >&2; return 1 ;;
        esac
    done
}

# count KIND M: instructions of a single-user backend running M statements of KIND
count() {
    local kind=$1 m=$2 copy=$WORK/copy
    rm -rf "$copy"
    cp -a "$DATA" "$copy"
    chown -R postgres: "$copy"
    statements "$kind" "$m" >"$WORK/in.sql"
    chmod 644 "$WORK/in.sql"
    as_pg valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
        "$PGBIN/postgres" --single -D "$copy" -c fsync=off bench <"$WORK/in.sql" >"$WORK/out.txt" 2>"$WORK/vg.txt"
    if grep -q ERROR "$WORK/out.txt"; then
        grep -m1 ERROR "$WORK/out.txt" >&2
        return 1
    fi
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$WORK/vg.txt"
}

echo "== instructions per statement (callgrind, single-user backend, $N after 20 of warm-up)"
for kind in $KINDS; do
    a=$(count "$kind" 20)
    if [ -n "${INSTR_KEEP:-}" ]; then
        mkdir -p "$INSTR_KEEP"
        cp "$WORK/callgrind.out" "$INSTR_KEEP/$kind.short.callgrind"
    fi
    b=$(count "$kind" $((20 + N)))
    if [ -n "${INSTR_KEEP:-}" ]; then
        cp "$WORK/callgrind.out" "$INSTR_KEEP/$kind.long.callgrind"
    fi
    awk -v a="$a" -v b="$b" -v n="$N" -v k="$kind" 'BEGIN { printf "%-6s %10.0f\n", k, (b - a) / n }'
done
