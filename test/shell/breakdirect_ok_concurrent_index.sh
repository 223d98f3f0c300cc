#!/usr/bin/env bash
# breakdirect_ok_concurrent_index: a DBA builds and rebuilds indexes of the order
# tables while erp.place_order writes new orders directly (issue 10,
# src/row_write.c inserts every index entry itself, skipping an index that is
# not ready for inserts yet, as the executor does).
# pgbench: 4 clients for 8 seconds place new orders (a fresh external_ref from a
# sequence), 1 client redelivers 40 references over and over (the SQL path,
# created false); meanwhile another session, in a loop: CREATE INDEX
# CONCURRENTLY of an expression index, a partial index on status and a
# reservation index, REINDEX INDEX CONCURRENTLY of the (channel_id,
# external_ref) key and of reservation_key, REINDEX TABLE CONCURRENTLY
# erp.order_line, DROP INDEX CONCURRENTLY.  Afterwards:
#   - pgbench: no failed transaction, no aborted client (no 23505, no XX000);
#   - every index of the three tables is valid, every btree one passes
#     bt_index_check(heapallindexed);
#   - counts through each new index equal counts through a sequential scan;
#   - each redelivered reference has one order; erp.verify() is empty.
# Run by scripts/test.sh with PGHOST, PGPORT, PGBIN and WORK set and the main
# test cluster running.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
: "${WORK:?}"
DB=ierp_breakdirect_cic
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s [%s]\n' "$1" "$3"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
DDL_PID=
cleanup() {
    [ -n "$DDL_PID" ] && kill "$DDL_PID" 2>/dev/null
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    rm -f "$WORK"/breakdirect_cic_*.sql "$WORK/breakdirect_cic_stop"
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" "$DB" || exit 1
q "CREATE EXTENSION inventory_erp; CREATE EXTENSION amcheck;
   INSERT INTO erp.node (code, kind) VALUES ('DC', 'warehouse'), ('DC2', 'warehouse');
   INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
   INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n;
   INSERT INTO erp.item (sku, unit_cost, unit_price, allow_backorder) VALUES ('TEE', 5, 20, false), ('CAP', 3, 9, true);
   SELECT erp.receive('TEE', 'DC', 1000000); SELECT erp.receive('TEE', 'DC2', 1000000); SELECT erp.receive('CAP', 'DC', 50);
   CREATE SEQUENCE public.refs;" >/dev/null || exit 1

cat >"$WORK/breakdirect_cic_new.sql" <<'SQL'
\set q random(1, 4)
SELECT count(*) FROM erp.place_order('WEB', 'N-' || nextval('public.refs'),
    jsonb_build_array(jsonb_build_object('sku', 'TEE', 'qty', :q), jsonb_build_object('sku', 'CAP', 'qty', 1)),
    jsonb_build_object('lat', 50, 'lon', 10, 'city', 'C' || :q));
SQL
cat >"$WORK/breakdirect_cic_again.sql" <<'SQL'
\set r random(1, 40)
SELECT count(*) FROM erp.place_order('WEB', 'D-' || :r, jsonb_build_array(jsonb_build_object('sku', 'TEE', 'qty', 1)));
SQL
STOP=$WORK/breakdirect_cic_stop
rm -f "$STOP"
(
    i=0
    while [ ! -e "$STOP" ]; do
        i=$((i + 1))
        {
            echo "SET lock_timeout = '20s';"
            echo "CREATE INDEX CONCURRENTLY cic_ref_lower_$i ON erp.sales_order (lower(external_ref));"
            echo "CREATE INDEX CONCURRENTLY cic_line_allocated_$i ON erp.order_line (item_id, qty) WHERE status = 'allocated';"
            echo "CREATE INDEX CONCURRENTLY cic_res_node_$i ON erp.reservation (node_id, qty);"
            echo "REINDEX INDEX CONCURRENTLY erp.sales_order_channel_id_external_ref_key;"
            echo "REINDEX INDEX CONCURRENTLY erp.reservation_key;"
            echo "REINDEX TABLE CONCURRENTLY erp.order_line;"
            if [ $((i % 2)) -eq 0 ]; then
                echo "DROP INDEX CONCURRENTLY erp.cic_ref_lower_$((i - 1));"
                echo "DROP INDEX CONCURRENTLY erp.cic_line_allocated_$((i - 1));"
                echo "DROP INDEX CONCURRENTLY erp.cic_res_node_$((i - 1));"
            fi
        } | "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >>"$WORK/breakdirect_cic_ddl.log" 2>&1 ||
            echo "DDL round $i failed" >>"$WORK/breakdirect_cic_ddl.log"
    done
    echo "rounds: $i" >>"$WORK/breakdirect_cic_ddl.log"
) &
DDL_PID=$!
: >"$WORK/breakdirect_cic_ddl.log"
"$PGBIN/pgbench" -n -c 5 -j 2 -T 8 -f "$WORK/breakdirect_cic_new.sql@4" -f "$WORK/breakdirect_cic_again.sql@1" "$DB" \
    >"$WORK/breakdirect_cic_pgbench.log" 2>&1
bench_rc=$?
touch "$STOP"
wait "$DDL_PID"
DDL_PID=
grep -E 'number of transactions actually processed|number of failed|aborted|ERROR' "$WORK/breakdirect_cic_pgbench.log" | head -5 | sed 's/^/   /'
sed 's/^/   ddl: /' "$WORK/breakdirect_cic_ddl.log" | grep -v '^   ddl: $' | head -5
check "pgbench exit status (no aborted client)" "0" "$bench_rc"
check "no error in pgbench's log (no 23505, no XX000)" "0" "$(grep -c 'ERROR' "$WORK/breakdirect_cic_pgbench.log")"
check "the DDL loop ran at least one full round without error" "0" "$(grep -c 'failed' "$WORK/breakdirect_cic_ddl.log")"
check "orders were placed during the DDL" "t" "$(q "SELECT count(*) > 100 FROM erp.sales_order")"
check "every index of the order tables is valid and ready" "0" \
    "$(q "SELECT count(*) FROM pg_index WHERE indrelid IN ('erp.sales_order'::regclass, 'erp.order_line'::regclass, 'erp.reservation'::regclass)
                                       AND NOT (indisvalid AND indisready)")"
check "every btree index passes bt_index_check(heapallindexed)" "0" \
    "$(q "SELECT count(*) FROM (SELECT bt_index_check(i.indexrelid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                                JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree'
                                 AND i.indrelid IN ('erp.sales_order'::regclass, 'erp.order_line'::regclass, 'erp.reservation'::regclass)) x
          WHERE false" 2>&1)"
seq_counts=$(q "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
               SELECT (SELECT count(*) FROM erp.sales_order WHERE lower(external_ref) >= 'n-' AND lower(external_ref) < 'n.') || ' ' ||
                      (SELECT count(*) FROM erp.order_line WHERE status = 'allocated' AND item_id = 1 AND qty BETWEEN 1 AND 4) || ' ' ||
                      (SELECT count(*) FROM erp.reservation WHERE node_id IN (1, 2) AND qty BETWEEN 1 AND 4)")
idx_counts=$(q "SET enable_seqscan = off;
               SELECT (SELECT count(*) FROM erp.sales_order WHERE lower(external_ref) >= 'n-' AND lower(external_ref) < 'n.') || ' ' ||
                      (SELECT count(*) FROM erp.order_line WHERE status = 'allocated' AND item_id = 1 AND qty BETWEEN 1 AND 4) || ' ' ||
                      (SELECT count(*) FROM erp.reservation WHERE node_id IN (1, 2) AND qty BETWEEN 1 AND 4)")
check "counts through the indexes equal counts through sequential scans" "$seq_counts" "$idx_counts"
check "each redelivered reference has one order" "0" \
    "$(q "SELECT count(*) FROM (SELECT external_ref FROM erp.sales_order WHERE external_ref LIKE 'D-%' GROUP BY 1 HAVING count(*) > 1) x")"
check "erp.verify() is empty" "0" "$(q "SELECT count(*) FROM erp.verify()")"
[ $failures -eq 0 ]
