#!/usr/bin/env bash
# breakplan_ok_refresh_memory (break-it pass on issue 15, helper breakplan):
# erp.refresh_forecasts reads its series through a cursor and fits each in a
# memory context reset after it (doc/planning.md), so its backend's private
# memory must not grow with the number of series.  Measured: the peak of the
# backend's RssAnon (anonymous, i.e. private, resident memory; shared buffers
# are not in it), sampled every 0.1 s during a refresh of 1,000 series and,
# in a fresh backend, of 10,000 series (2,500 items x 2 channels x 2 nodes,
# 60 days each, a quarter each weekly, trend, slow mover, flat).  Passes when
# the 10,000-series refresh grows the backend by less than twice the
# 1,000-series growth plus 16 MB: ten times the series, not ten times the
# memory.  It HELD (numbers in the output).  About a minute on 2 cores.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_breakplan_mem
trap '"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1' EXIT
psql_() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
psql_ >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code) VALUES ('M-DC1'), ('M-DC2');
INSERT INTO erp.channel (code) VALUES ('M-WEB'), ('M-MKT');
INSERT INTO erp.item (sku) SELECT 'M-' || k FROM generate_series(1, 2500) k;
SELECT setseed(0.25);
INSERT INTO erp.demand_import (item_id, channel_id, node_id, day, qty)
SELECT i.item_id, c.channel_id, n.node_id, CURRENT_DATE - d,
       greatest(0, round(CASE i.item_id % 4
           WHEN 0 THEN 20 + 8 * sin(2 * pi() * d / 7)
           WHEN 1 THEN 10 + 0.1 * (60 - d)
           WHEN 2 THEN CASE WHEN random() < 0.2 THEN 3 ELSE 0 END
           ELSE 15 END + 3 * (random() - 0.5)))
  FROM erp.item i, erp.channel c, erp.node n, generate_series(1, 60) d;
VACUUM ANALYZE;
SQL

# refresh_peak ITEMS: activates the first ITEMS items only (4 series each),
# runs erp.refresh_forecasts() in a fresh backend and prints
# "series baseline_kB peak_kB"
refresh_peak() {
    local items=$1 fifo pid base peak cur series
    psql_ -c "UPDATE erp.item SET active = (substr(sku, 3)::int <= $items)" >/dev/null || return 1
    fifo=$(mktemp -u /tmp/breakplan-mem.XXXXXX)
    mkfifo "$fifo"
    # one session: says its pid, waits for the go (a line on stdin), refreshes
    { echo "SELECT pg_backend_pid();"; read -r _ <"$fifo"; echo "SELECT erp.refresh_forecasts();"; } |
        psql_ >"$fifo.out" 2>&1 &
    local job=$!
    for _ in $(seq 1 100); do
        pid=$(head -1 "$fifo.out" 2>/dev/null)
        [ -n "$pid" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] || { echo "no backend"; return 1; }
    base=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status")
    peak=$base
    echo go >"$fifo"
    while kill -0 "$job" 2>/dev/null; do
        cur=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        [ -n "$cur" ] && [ "$cur" -gt "$peak" ] && peak=$cur
        sleep 0.1
    done
    wait "$job" || { cat "$fifo.out"; rm -f "$fifo" "$fifo.out"; return 1; }
    series=$(sed -n 2p "$fifo.out")
    rm -f "$fifo" "$fifo.out"
    echo "$series $base $peak"
}

read -r s1 b1 p1 < <(refresh_peak 250) || exit 1
read -r s2 b2 p2 < <(refresh_peak 2500) || exit 1
g1=$((p1 - b1))
g2=$((p2 - b2))
echo "refresh of $s1 series: backend private memory $b1 kB -> peak $p1 kB (+$g1 kB)"
echo "refresh of $s2 series: backend private memory $b2 kB -> peak $p2 kB (+$g2 kB)"
rows=$(psql_ -c "SELECT count(*) FROM erp.forecast_snapshot")
echo "snapshot rows: $rows"
fail=0
[ "$s1" = 1000 ] && [ "$s2" = 10000 ] || { echo "FAIL: expected 1000 and 10000 series"; fail=1; }
[ "$rows" = $(( (1000 + 10000) * 28 )) ] || { echo "FAIL: expected $(( 11000 * 28 )) snapshot rows"; fail=1; }
limit=$((2 * g1 + 16384))
if [ "$g2" -lt "$limit" ]; then
    echo "ok: 10x the series grew the backend by $g2 kB, under $limit kB"
else
    echo "FAIL: 10x the series grew the backend by $g2 kB (limit $limit kB): memory grows with the series"
    fail=1
fi
exit $fail
