#!/usr/bin/env bash
# bench/costing.sh: what costing costs an order (issue 14).  The same workload on two
# builds, one after the other, each on a fresh throwaway cluster:
#   base     the tree at BASE (default: the parent of cac932c, the commit that brought
#            costing), no costing
#   costing  this tree (perpetual costing in the kernel)
# Workload (pgbench, CLIENTS clients, SECONDS seconds, ROUNDS rounds, alternating
# builds): one transaction = capture a 1-unit order of a random SKU of 1,000 at one
# node, allocate, pick, pack and ship it (the shipment posts COGS with costing on).
# The cluster runs with fsync=off and synchronous_commit=off: the figure is the
# CPU and lock cost of costing, not the disk's.  Prints per build the median TPS
# and average latency, and the difference in ms per order.
# Run after `make`; needs PostgreSQL 15's pgbench.
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh
CLIENTS=${CLIENTS:-4}
SECONDS_EACH=${SECONDS_EACH:-10}
ROUNDS=${ROUNDS:-3}
BASE=${BASE:-cac932c^}   # the tree just before costing landed
WORK=$(pg_workdir costing-bench)
DATA=
trap '[ -n "$DATA" ] && pg_stop "$DATA"; rm -rf "$WORK"' EXIT

mkdir -p "$WORK/base-src"
git archive "$BASE" | tar -x -C "$WORK/base-src"
make -s -C "$WORK/base-src" >/dev/null 2>&1

cat >"$WORK/setup.sql" <<'SQL'
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code) VALUES ('DC-1');
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, title, unit_price, unit_cost) SELECT 'SKU-' || i, 'Item ' || i, 20, 10 FROM generate_series(1, 1000) i;
SELECT count(erp.receive('SKU-' || i, 'DC-1', 1000000)) FROM generate_series(1, 1000) i;
CREATE FUNCTION public.sell(p_sku text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('WEB', gen_random_uuid()::text,
                                  jsonb_build_array(jsonb_build_object('sku', p_sku, 'qty', 1)));
BEGIN
    PERFORM erp.allocate(o);
    PERFORM erp.pick(o, p_sku, 1);
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    RETURN o;
END
$$;
SELECT count(public.sell('SKU-' || i)) FROM generate_series(1, 1000) i;
VACUUM ANALYZE;
SQL
cat >"$WORK/sell.sql" <<'SQL'
\set sku random(1, 1000)
SELECT public.sell('SKU-' || :sku);
SQL

declare -A tps lat
run() {   # run NAME SRC
    local name=$1 src=$2 inst=$WORK/$1 out
    mkdir -p "$inst"
    REPO_ROOT=$src pg_private_install "$inst" >/dev/null
    DATA=$inst/data
    pg_start "$DATA" "$(pg_free_port)" fsync=off synchronous_commit=off full_page_writes=off >/dev/null
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -f "$WORK/setup.sql" >/dev/null
    out=$("$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -f "$WORK/sell.sql" postgres 2>&1)
    tps[$name]+="$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out") "
    lat[$name]+="$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out") "
    pg_stop "$DATA"; DATA=
    rm -rf "$inst"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for r in $(seq 1 "$ROUNDS"); do
    run base "$WORK/base-src"
    run costing "$REPO_ROOT"
done
tb=$(median <<<"${tps[base]}"); tc=$(median <<<"${tps[costing]}")
lb=$(median <<<"${lat[base]}"); lc=$(median <<<"${lat[costing]}")
echo "capture+allocate+pick+pack+ship, $CLIENTS clients, ${SECONDS_EACH}s x $ROUNDS rounds (base $BASE)"
printf '  %-8s TPS runs: %s median %s, latency ms runs: %s median %s\n' base "${tps[base]}" "$tb" "${lat[base]}" "$lb"
printf '  %-8s TPS runs: %s median %s, latency ms runs: %s median %s\n' costing "${tps[costing]}" "$tc" "${lat[costing]}" "$lc"
awk -v a="$lb" -v b="$lc" -v ta="$tb" -v tc="$tc" 'BEGIN { printf "  costing adds %.3f ms per order (%.1f%% of the order'"'"'s latency), TPS ratio %.3f\n", b - a, 100 * (b - a) / a, tc / ta }'
