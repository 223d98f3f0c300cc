#!/usr/bin/env bash
# t_layout: erp.distribute() lays the tables out as erp.citus_layout() says, once
# (a second call changes nothing), gives each worker its own range of ids, and
# erp.undistribute() brings every row back (ids kept) with the foreign keys and
# policies of a plain install, after which DROP EXTENSION leaves no shard behind.
# Catches: a table left local or distributed the wrong way, item tables in
# different colocation groups (joins on item_id would cross nodes), ids that repeat
# when rows are inserted through a worker, a refusal that changes something, rows
# or constraints lost on the way back, shards left on the workers.
# Run by test/citus/run.sh (PGBIN, CITUS_PORT_LIST). Exit 0 = pass.
set -uo pipefail
. "$REPO_ROOT/scripts/pgenv.sh"
. "$REPO_ROOT/test/citus/lib.sh"
DB=ierp_citus_layout
citus_db "$DB" || exit 1
c() { citus_psql 0 -d "$DB" "$@"; }

policies() { c -c "SELECT string_agg(tablename || '.' || policyname || ': ' || qual, E'\n' ORDER BY tablename, policyname) FROM pg_policies WHERE schemaname = 'erp'"; }
fkeys() { c -c "SELECT string_agg(conrelid::regclass || '.' || conname || ': ' || pg_get_constraintdef(oid), E'\n' ORDER BY conrelid::regclass::text, conname) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'erp'::regnamespace"; }
POL0=$(policies)
FK0=$(fkeys)
c -c "INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse')" \
  -c "INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 1, 10), ('MUG', 2, 8)" || exit 1

check "erp.distribute() refused on a worker (IE010)" "IE010" \
    "$(citus_psql 1 -d "$DB" -v VERBOSITY=sqlstate -c "SELECT erp.distribute()" 2>&1 | grep -o 'IE010')"
check "the refusal on the worker distributed nothing" "0" "$(c -c "SELECT count(*) FROM pg_dist_partition")"

check "erp.distribute() laid out every table but the coordinator's" \
    "$(c -c "SELECT count(*) FROM erp.citus_layout() WHERE placement <> 'coordinator'")" \
    "$(c -c "SET client_min_messages = warning; SET citus.shard_count = 4; SELECT erp.distribute()")"
check "a second call lays out nothing" "0" "$(c -c "SET client_min_messages = warning; SELECT erp.distribute()")"
check "reference tables are the layout's reference tables" \
    "$(c -c "SELECT string_agg(relname, ',' ORDER BY relname) FROM erp.citus_layout() WHERE placement = 'reference'")" \
    "$(c -c "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid WHERE p.partmethod = 'n' AND p.repmodel = 't'")"
check "the item tables are distributed by item_id, in one colocation group" \
    "$(c -c "SELECT string_agg(relname, ',' ORDER BY relname) || ' 1' FROM erp.citus_layout() WHERE placement = 'item'")" \
    "$(c -c "SELECT string_agg(c.relname, ',' ORDER BY c.relname) || ' ' || count(DISTINCT p.colocationid) FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid WHERE p.partmethod = 'h' AND column_to_column_name(p.logicalrelid, p.partkey) = 'item_id'")"
check "the coordinator's tables are unknown to Citus" "0" \
    "$(c -c "SELECT count(*) FROM erp.citus_layout() l JOIN pg_dist_partition p ON p.logicalrelid = format('erp.%I', l.relname)::regclass WHERE l.placement = 'coordinator'")"
check "the rows are there after distributing" "DC1 MUG,TEE" \
    "$(c -c "SELECT (SELECT string_agg(code, ',') FROM erp.node) || ' ' || (SELECT string_agg(sku, ',' ORDER BY sku) FROM erp.item)")"
for n in 1 2; do
    check "the database's sessions on node $n run multi-shard statements over one connection per node" "sequential" \
        "$(citus_psql $n -d "$DB" -c "SHOW citus.multi_shard_modify_mode")"
done
check "on Citus the policies have no subquery" "0" \
    "$(c -c "SELECT count(*) FROM pg_policies WHERE schemaname = 'erp' AND qual ~* 'SELECT' AND tablename IN (SELECT relname FROM erp.citus_layout() WHERE placement <> 'coordinator')")"

# ids: rows inserted through the coordinator and through each worker
c -c "INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('VIA-COORD', 1, 2)" || exit 1
citus_psql 1 -d "$DB" -c "INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('VIA-W1', 1, 2)" -c "INSERT INTO erp.node (code, kind) VALUES ('DC-W1', 'warehouse')" || exit 1
citus_psql 2 -d "$DB" -c "INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('VIA-W2', 1, 2)" || exit 1
check "ids: the coordinator's next, each worker's from its own range (group * 2^48 + 1)" \
    "VIA-COORD=3 VIA-W1=$((1 << 48 | 1)) VIA-W2=$((2 << 48 | 1)) DC-W1=$((1 << 48 | 1))" \
    "$(c -c "SELECT string_agg(sku || '=' || item_id, ' ' ORDER BY item_id) FROM erp.item WHERE sku LIKE 'VIA-%'") DC-W1=$(c -c "SELECT node_id FROM erp.node WHERE code = 'DC-W1'")"
for n in 1 2; do
    # every id sequence; not erp.edi_control_seq, whose 9-digit X12 control numbers
    # cannot be split by node (EDI documents are written on the coordinator: doc/scaling.md)
    check "every sequence of worker $n is in its range" "0" \
        "$(citus_psql $n -d "$DB" -c "SELECT count(*) FROM pg_class c JOIN pg_sequence q ON q.seqrelid = c.oid WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind = 'S' AND q.seqmax > (3::bigint << 48) AND (xpath('/row/last_value/text()', query_to_xml(format('SELECT last_value FROM %s', c.oid::regclass), false, true, '')))[1]::text::bigint < ($n::bigint << 48)")"
done
check "erp.undistribute() brought every laid out table back" \
    "$(c -c "SELECT count(*) FROM erp.citus_layout() WHERE placement <> 'coordinator'")" \
    "$(c -c "SET client_min_messages = warning; SELECT erp.undistribute()")"
check "a second call brings back nothing" "0" "$(c -c "SET client_min_messages = warning; SELECT erp.undistribute()")"
check "nothing is distributed any more" "0" "$(c -c "SELECT count(*) FROM pg_dist_partition")"
check "every row came back with its id" "1:TEE 2:MUG 3:VIA-COORD $((1 << 48 | 1)):VIA-W1 $((2 << 48 | 1)):VIA-W2" \
    "$(c -c "SELECT string_agg(item_id || ':' || sku, ' ' ORDER BY item_id) FROM erp.item")"
check "the foreign keys are those of a plain install" "$FK0" "$(fkeys)"
check "the database setting is gone" "parallel" "$(c -c "SHOW citus.multi_shard_modify_mode")"
check "the policies are those of a plain install" "$POL0" "$(policies)"
check "erp.verify() is empty" "0" "$(c -c "SELECT count(*) FROM erp.verify()")"
check "DROP EXTENSION works" "0" \
    "$(citus_psql 0 -d "$DB" -c "DROP EXTENSION inventory_erp" -c "SELECT count(*) FROM pg_extension WHERE extname = 'inventory_erp'" 2>&1)"
for n in 1 2; do
    check "no shard is left on worker $n" "0" \
        "$(citus_psql $n -d "$DB" -c "SET citus.show_shards_for_app_name_prefixes = '*'" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'erp'")"
done
[ "$failures" -eq 0 ] && echo "== t_layout: pass" || echo "== $failures mismatch(es)"
exit $((failures > 0))
