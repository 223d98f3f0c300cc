#!/usr/bin/env bash
# maint_dump_restore_parallel: a database that has closed a period, archived
# the ledger before it and pruned its events survives pg_dump -j 2 (directory
# format) and pg_restore -j 2 (doc/maintenance.md, issue 13 "pg_restore -j
# works").  Extends a copy of dump_restore.sh's method (restore mode for the
# ledger and the slots) to parallel jobs, where tables load in any order that
# their dependencies allow: the closed periods, their balances, the archive,
# the ledger, the slots, the events and their stamps must all come back, and
# erp.verify() (which starts from the latest closed period) must be empty.
# Run by scripts/test.sh with PGHOST, PGPORT, PGUSER, PGBIN and WORK set and the
# main test cluster running.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}"
SRC=ierp_pdump_src
DST=ierp_pdump_dst
DUMP=$WORK/ierp_pdump.dir
LOG=$WORK/ierp_pdump_restore.log
failures=0
cleanup() {
    "$PGBIN/dropdb" --if-exists "$SRC" >/dev/null 2>&1
    "$PGBIN/dropdb" --if-exists "$DST" >/dev/null 2>&1
    rm -rf "$DUMP"
}
trap cleanup EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
same() {
    local a b
    a=$(q "$SRC" "$2") || { check "$1 (source query failed)" ok failed; return; }
    b=$(q "$DST" "$2") || { check "$1 (restored query failed)" ok failed; return; }
    check "$1 [$(head -c 50 <<<"$a" | tr '\n' ' ')...]" "$a" "$b"
}

cleanup
"$PGBIN/createdb" "$SRC" || exit 1
echo "== loading $SRC: history, a closed and archived period, events"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$SRC" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, title) SELECT 'SKU-' || g, 'item ' || g FROM generate_series(1, 40) g;
INSERT INTO erp.node (code) VALUES ('DC-1'), ('DC-2');
SELECT erp.receive('SKU-' || g, CASE WHEN g % 2 = 0 THEN 'DC-1' ELSE 'DC-2' END, 10 + g) FROM generate_series(1, 40) g;
SELECT erp.move('SKU-' || g, CASE WHEN g % 2 = 0 THEN 'DC-1' ELSE 'DC-2' END, 1, 'available', 'damaged', 'damage')
  FROM generate_series(1, 40, 3) g;
INSERT INTO erp.event (kind, payload) SELECT 'low_stock', jsonb_build_object('n', g) FROM generate_series(1, 5) g;
-- six weeks of age for what happened so far (a fixture: history is never written in the past)
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE erp.stock_move SET at = at - interval '42 days';
UPDATE erp.event SET at = at - interval '42 days';
UPDATE erp.event_commit SET committed_at = committed_at - interval '42 days';
COMMIT;
SELECT erp.close_period(current_date - 10);
SELECT erp.archive_ledger(current_date - 10);
SELECT erp.prune_events('30 days');
SELECT erp.receive('SKU-' || g, 'DC-1', 3) FROM generate_series(1, 40, 7) g;
SELECT erp.move('SKU-2', 'DC-1', 2, 'available', NULL, 'adjust');
INSERT INTO erp.event (kind) VALUES ('after_close');
-- the documents whose tables refer to each other (a parallel restore loads them at once)
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
SELECT count(*) FROM generate_series(1, 30) g,
    LATERAL erp.place_order('WEB', 'o' || g, jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (g % 20 + 1), 'qty', 1)));
SELECT erp.pick(o.order_id, 'SKU-' || (g % 20 + 1)) FROM generate_series(1, 10) g JOIN erp.sales_order o ON o.external_ref = 'o' || g;
SELECT erp.pack(o.order_id) FROM generate_series(1, 10) g JOIN erp.sales_order o ON o.external_ref = 'o' || g;
SELECT erp.ship(o.order_id) FROM generate_series(1, 10) g JOIN erp.sales_order o ON o.external_ref = 'o' || g;
SELECT erp.authorize_return(o.order_id, jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (g % 20 + 1), 'qty', 1)))
  FROM generate_series(1, 5) g JOIN erp.sales_order o ON o.external_ref = 'o' || g;
SELECT erp.receive_return(rma_id) FROM erp.rma;
SELECT erp.count('SKU-' || g, 'DC-2', 5) FROM generate_series(1, 9, 2) g;
SELECT erp.adjust('SKU-7', 'DC-2', -1, 'damage');
SELECT erp.import_demand('[{"sku": "SKU-1", "day": "2026-11-01", "qty": 3}]');
INSERT INTO erp.anomaly (kind, ref, node_id, score, value) SELECT 'shrinkage', 'planted', node_id, 9, 10 FROM erp.node WHERE code = 'DC-1';
SQL
check "erp.verify() is empty in the source" 0 "$(q "$SRC" "SELECT count(*) FROM erp.verify()")"
check "the source archived its old moves" yes "$(q "$SRC" "SELECT CASE WHEN count(*) > 40 THEN 'yes' ELSE 'no' END FROM erp.stock_move_archive")"

# The extension's tables and their foreign keys come with CREATE EXTENSION, before any data:
# a one-step pg_restore -j loads referring tables beside the ones they refer to and fails
# (channel_node before channel).  The recipe of doc/operations.md: the schema, then the data
# in parallel with the foreign-key triggers off (a data-only restore), then the rest.
echo "== pg_dump -Fd -j 2; createdb; pg_restore in three sections, data and post-data with -j 2 (restore mode)"
"$PGBIN/pg_dump" -Fd -j 2 -f "$DUMP" "$SRC" || { check "pg_dump -j 2" 0 $?; exit 1; }
"$PGBIN/createdb" "$DST" || exit 1
rc=0
{
    PGOPTIONS='-c inventory_erp.restore_mode=on' "$PGBIN/pg_restore" --section=pre-data -d "$DST" "$DUMP" || rc=1
    PGOPTIONS='-c inventory_erp.restore_mode=on' "$PGBIN/pg_restore" -j 2 --section=data --disable-triggers -d "$DST" "$DUMP" || rc=1
    PGOPTIONS='-c inventory_erp.restore_mode=on' "$PGBIN/pg_restore" -j 2 --section=post-data -d "$DST" "$DUMP" || rc=1
} >"$LOG" 2>&1
sed 's/^/         | /' "$LOG"
check "pg_restore -j 2 exit status" 0 "$rc"
check "pg_restore printed no error" 0 "$(grep -Ec 'error|warning' "$LOG")"

echo "== restored database against the source"
same "closed periods" "SELECT string_agg(concat_ws('|', upto, cut, last_move_id, archived_at IS NOT NULL), ';' ORDER BY upto) FROM erp.period_close"
same "closed balances" "SELECT string_agg(concat_ws('|', upto, item_id, node_id, bin_id, lot_id, state, qty), ';' ORDER BY upto, item_id, node_id, lot_id, state) FROM erp.period_balance"
same "archived moves" "SELECT count(*) || '/' || sum(qty) || '/' || max(move_id) FROM erp.stock_move_archive"
same "ledger" "SELECT string_agg(concat_ws('|', move_id, item_id, qty, from_state, to_state, at), ';' ORDER BY move_id) FROM erp.stock_move"
same "balances" "SELECT string_agg(concat_ws('|', item_id, node_id, state, qty), ';' ORDER BY item_id, node_id, state) FROM erp.stock_balance"
same "events" "SELECT string_agg(concat_ws('|', event_id, kind, payload), ';' ORDER BY event_id) FROM erp.event"
same "orders and lines" "SELECT string_agg(concat_ws('|', o.external_ref, o.status, l.line_no, l.qty_allocated, l.qty_shipped, l.status), ';' ORDER BY o.external_ref, l.line_no) FROM erp.sales_order o JOIN erp.order_line l USING (order_id)"
same "reservations" "SELECT string_agg(concat_ws('|', order_id, line_no, item_id, node_id, qty, qty_picked, qty_packed), ';' ORDER BY order_id, line_no) FROM erp.reservation"
same "returns" "SELECT string_agg(concat_ws('|', rma_id, rma_line_id, item_id, qty), ';' ORDER BY rma_line_id) FROM erp.rma_line"
same "counts and adjustments" "SELECT (SELECT count(*) FROM erp.cycle_count) || '/' || (SELECT count(*) FROM erp.adjustment) || '/' || (SELECT count(*) FROM erp.anomaly) || '/' || (SELECT count(*) FROM erp.demand_import)"
check "erp.verify() is empty in the restored database" 0 "$(q "$DST" "SELECT count(*) FROM erp.verify()")"
check "the restored database closes the next period" yes \
    "$(q "$DST" "SELECT CASE WHEN erp.close_period(current_date - 1) >= 0 THEN 'yes' END")"
check "... and archives it, erp.verify() still empty" 0 \
    "$(q "$DST" "SELECT erp.archive_ledger(current_date - 1)" >/dev/null && q "$DST" "SELECT count(*) FROM erp.verify()")"

echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
