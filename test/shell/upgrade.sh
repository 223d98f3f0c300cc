#!/usr/bin/env bash
# upgrade: ALTER EXTENSION inventory_erp UPDATE from the first released version
# (0.1.0) to the current one keeps the data and ends with exactly the objects a
# fresh install of the current version has.  The comparison is a fingerprint of
# every object in schema erp: columns, constraints, indexes, function and view
# definitions, triggers, policies, privileges and comments.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
OLD=ierp_upgrade_old
NEW=ierp_upgrade_new
CURRENT=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$REPO_ROOT/inventory_erp.control")
FIRST=0.1.0
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
cleanup() { "$PGBIN/dropdb" --if-exists "$OLD" >/dev/null 2>&1; "$PGBIN/dropdb" --if-exists "$NEW" >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
"$PGBIN/createdb" "$OLD" && "$PGBIN/createdb" "$NEW" || exit 1

echo "== $OLD: version $FIRST with a day of data"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$OLD" >/dev/null <<SQL || exit 1
CREATE EXTENSION inventory_erp VERSION '$FIRST';
INSERT INTO erp.item (sku, unit_price, unit_cost, category) VALUES ('U-TEE', 20, 8, 'apparel'), ('U-MUG', 12, 4, 'home');
INSERT INTO erp.node (code) VALUES ('U-DC');
INSERT INTO erp.channel (code) VALUES ('U-WEB');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n;
SELECT erp.receive('U-TEE', 'U-DC', 10), erp.receive('U-MUG', 'U-DC', 5);
SELECT count(*) FROM erp.allocate(erp.capture_order('U-WEB', 'U-1', '[{"sku": "U-TEE", "qty": 2}]'));
SELECT erp.pick(1, 'U-TEE', 2);
SELECT erp.pack(1);
SELECT erp.ship(1);
SELECT erp.authorize_return(1, '[{"sku": "U-TEE", "qty": 1, "reason": "too_small"}]');
SELECT erp.count('U-MUG', 'U-DC', 4);
SQL
BEFORE=$(q "$OLD" "SELECT (SELECT count(*) FROM erp.stock_move) || '/' || (SELECT sum(qty) FROM erp.stock_balance) || '/' || (SELECT count(*) FROM erp.rma_line) || '/' || (SELECT count(*) FROM erp.cycle_count)")

echo "== ALTER EXTENSION inventory_erp UPDATE (to $CURRENT)"
q "$OLD" "ALTER EXTENSION inventory_erp UPDATE" || { echo "the update failed"; exit 1; }
check "the extension is at the current version" "$CURRENT" "$(q "$OLD" "SELECT extversion FROM pg_extension WHERE extname = 'inventory_erp'")"
check "the data is unchanged" "$BEFORE" "$(q "$OLD" "SELECT (SELECT count(*) FROM erp.stock_move) || '/' || (SELECT sum(qty) FROM erp.stock_balance) || '/' || (SELECT count(*) FROM erp.rma_line) || '/' || (SELECT count(*) FROM erp.cycle_count)")"
check "erp.verify() is empty after the update" "0" "$(q "$OLD" "SELECT count(*) FROM erp.verify()")"
check "the new views read the old data" "1" "$(q "$OLD" "SELECT orders_shipped FROM erp.kpi_split_shipments")"
check "and go on working: a new order after the update" "1" \
      "$(q "$OLD" "SELECT count(*) FROM erp.allocate(erp.capture_order('U-WEB', 'U-2', '[{\"sku\": \"U-MUG\", \"qty\": 1}]'))")"

echo "== $NEW: a fresh install of $CURRENT"
q "$NEW" "CREATE EXTENSION inventory_erp" || exit 1

OBJECTS=$(cat <<'SQL'
WITH objs AS (
    SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' acl=' || COALESCE(c.relacl::text, '') ||
           ' rls=' || c.relrowsecurity || ' comment=' || COALESCE(obj_description(c.oid, 'pg_class'), '') AS o
      FROM pg_class c WHERE c.relnamespace = 'erp'::regnamespace
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
           ' notnull=' || a.attnotnull || ' default=' || COALESCE(pg_get_expr(d.adbin, d.adrelid), '') ||
           ' comment=' || COALESCE(col_description(c.oid, a.attnum), '')
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
     WHERE c.relnamespace = 'erp'::regnamespace
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'erp'::regnamespace
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE c.relnamespace = 'erp'::regnamespace
    UNION ALL
    SELECT 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid) FROM pg_class c
     WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind = 'v'
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure || ' acl=' || COALESCE(p.proacl::text, '') || ' ' ||
           pg_get_functiondef(p.oid) || ' comment=' || COALESCE(obj_description(p.oid, 'pg_proc'), '')
      FROM pg_proc p WHERE p.pronamespace = 'erp'::regnamespace AND p.prokind IN ('f', 'p')
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'erp'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'policy ' || tablename || ' ' || policyname || ' ' || COALESCE(qual, '') FROM pg_policies WHERE schemaname = 'erp'
    UNION ALL
    SELECT 'type ' || t.typname || ' ' || COALESCE(obj_description(t.oid, 'pg_type'), '') ||
           COALESCE((SELECT ' labels=' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                       FROM pg_enum e WHERE e.enumtypid = t.oid), '')
      FROM pg_type t WHERE t.typnamespace = 'erp'::regnamespace AND t.typtype IN ('b', 'e')
    UNION ALL
    SELECT 'config ' || c.relname || ' ' || COALESCE(x.extcondition[array_position(x.extconfig, c.oid)], '')
      FROM pg_extension x, pg_class c WHERE x.extname = 'inventory_erp' AND c.oid = ANY (x.extconfig)
    UNION ALL
    SELECT 'row ' || from_state || '>' || to_state || ':' || event || ' engine=' || COALESCE(engine, '')
      FROM erp.state_transition WHERE builtin
)
SQL
)
FINGERPRINT="$OBJECTS SELECT md5(string_agg(o, E'\n' ORDER BY o)) || ' ' || count(*) FROM objs"
OLD_FP=$(q "$OLD" "$FINGERPRINT") || OLD_FP="(fingerprint query failed)"
NEW_FP=$(q "$NEW" "$FINGERPRINT") || NEW_FP="(fingerprint query failed)"
check "the fingerprint covers the schema (hundreds of objects)" "yes" \
      "$([ "${NEW_FP##* }" -gt 300 ] 2>/dev/null && echo yes || echo "no: $NEW_FP")"
check "the updated database has exactly the objects of a fresh install (fingerprint, objects)" "$NEW_FP" "$OLD_FP"
if [ "$OLD_FP" != "$NEW_FP" ]; then
    echo "   differences (fresh < > updated):"
    diff <(q "$NEW" "$OBJECTS SELECT o FROM objs ORDER BY o") <(q "$OLD" "$OBJECTS SELECT o FROM objs ORDER BY o") | head -20
fi
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
