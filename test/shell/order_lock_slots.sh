#!/usr/bin/env bash
# order_lock_slots: one order holds few enough relation locks to stay in the
# backend's sixteen fast-path lock slots (issue 10: "at most 16 relations per
# order transaction").  A lock past them goes through PostgreSQL's shared lock
# table, whose partition locks every concurrent order then queues on.  In a warm
# session (caches and plans loaded by two earlier orders), one transaction runs
# erp.place_order of a one-line order, then lists its own relation locks.
# Catches: an index, table or sequence the order path opens and keeps locked to
# commit beyond the sixteen (such as index locks kept after a direct insert, which
# the executor releases at the end of an INSERT), and a lock that did not fit.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
db=ierp_lock_slots
cleanup() { "$PGBIN/dropdb" -U postgres --if-exists "$db" >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$db" || exit 1
out=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$db" 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('LS-N1', 'warehouse'), ('LS-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('LS-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, row_number() OVER (ORDER BY n.code) FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, title, unit_cost, unit_price) SELECT 'LS-' || g, 'item', 1, 2 FROM generate_series(1, 3) g;
SELECT count(erp.receive('LS-' || g, n, 10)) FROM generate_series(1, 3) g, (VALUES ('LS-N1'), ('LS-N2')) v(n);
SELECT count(*) FROM erp.place_order('LS-WEB', 'warm-1', '[{"sku": "LS-1", "qty": 1}]');
SELECT count(*) FROM erp.place_order('LS-WEB', 'warm-2', '[{"sku": "LS-2", "qty": 1}]');
BEGIN;
SELECT count(*) FROM erp.place_order('LS-WEB', 'measured', '[{"sku": "LS-3", "qty": 2}]');
SELECT 'relations ' || count(DISTINCT relation) FILTER (WHERE relation <> 'pg_catalog.pg_locks'::regclass)
       || ' outside fast path ' || count(*) FILTER (WHERE NOT fastpath AND relation <> 'pg_catalog.pg_locks'::regclass)
  FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation';
SELECT 'not fast: ' || coalesce(string_agg(relation::regclass::text || ' ' || mode, ', '), 'none')
  FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND NOT fastpath
   AND relation <> 'pg_catalog.pg_locks'::regclass;
COMMIT;
SELECT 'reserved ' || sum(qty) FROM erp.reservation r JOIN erp.sales_order o USING (order_id)
 WHERE o.external_ref = 'measured';
SQL
)
echo "$out"
failures=0
rel=$(echo "$out" | sed -n 's/^relations \([0-9]*\) outside fast path \([0-9]*\)$/\1/p')
slow=$(echo "$out" | sed -n 's/^relations \([0-9]*\) outside fast path \([0-9]*\)$/\2/p')
if [ -z "$rel" ] || [ "$rel" -gt 16 ]; then echo "FAIL: the order held ${rel:-?} relation locks, more than 16"; failures=$((failures + 1)); fi
if [ "${slow:-1}" != 0 ]; then echo "FAIL: ${slow:-?} locks outside the fast-path slots"; failures=$((failures + 1)); fi
echo "$out" | grep -qx 'reserved 2' || { echo "FAIL: the measured order did not reserve its 2 units"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] && echo "ok: one order stays within the fast-path lock slots"
exit $((failures > 0))
