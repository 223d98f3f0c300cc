#!/usr/bin/env bash
# upgrade: ALTER EXTENSION inventory_erp UPDATE to the current version, from the
# first released version (0.1.0) and from the last (0.2.0), keeps the data and
# ends with exactly the objects a fresh install of the current version has.
# The comparison is a fingerprint of every object in schema erp: columns,
# constraints, indexes, function and view definitions, triggers, policies,
# privileges and comments.  From 0.2.0 the data check is row by row: every row
# of every erp table, on the columns it had before, is still there unchanged.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
OLD=ierp_upgrade_old
OLD2=ierp_upgrade_old2
NEW=ierp_upgrade_new
CURRENT=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$REPO_ROOT/inventory_erp.control")
FIRST=0.1.0
LAST=0.2.0
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
cleanup() {
    local db
    for db in "$OLD" "$OLD2" "$NEW"; do "$PGBIN/dropdb" --if-exists "$db" >/dev/null 2>&1; done
    "$PGBIN/psql" -X -q -d postgres -c "DROP ROLE IF EXISTS upgrade_partner" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" "$OLD" && "$PGBIN/createdb" "$OLD2" && "$PGBIN/createdb" "$NEW" || exit 1

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

echo "== $OLD2: version $LAST with a day of data (orders, a return, a count, a partner grant)"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$OLD2" >/dev/null <<SQL || exit 1
CREATE EXTENSION inventory_erp VERSION '$LAST';
CREATE ROLE upgrade_partner LOGIN IN ROLE erp_reader, erp_operator;
INSERT INTO erp.item (sku, unit_price, unit_cost, category) VALUES ('V-TEE', 20, 8, 'apparel'), ('V-MUG', 12, 4, 'home');
INSERT INTO erp.item (sku, unit_price, unit_cost, category, lot_tracked) VALUES ('V-VIT', 9, 3, 'health', true);
INSERT INTO erp.node (code, kind) VALUES ('V-DC', 'warehouse'), ('V-3PL', '3pl');
INSERT INTO erp.channel (code) VALUES ('V-WEB');
INSERT INTO erp.channel_node (channel_id, node_id, rank) SELECT c.channel_id, n.node_id, n.node_id FROM erp.channel c, erp.node n;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'upgrade_partner', node_id FROM erp.node WHERE code = 'V-3PL';
INSERT INTO erp.approval_policy (kind, max_auto_value) VALUES ('adjustment', 20);
SELECT erp.receive('V-TEE', 'V-DC', 10), erp.receive('V-MUG', 'V-DC', 5), erp.receive('V-TEE', 'V-3PL', 3),
       erp.receive('V-VIT', 'V-DC', 6, 'LOT-1', current_date + 365);
SELECT count(*) FROM erp.allocate(erp.capture_order('V-WEB', 'V-1', '[{"sku": "V-TEE", "qty": 2}, {"sku": "V-VIT", "qty": 1}]'));
SELECT count(*) FROM erp.allocate(erp.capture_order('V-WEB', 'V-2', '[{"sku": "V-MUG", "qty": 1}]', '{"lat": 52.5, "lon": 13.4}'));
SELECT count(*) FROM erp.allocate(erp.capture_order('V-WEB', 'V-3', '[{"sku": "V-MUG", "qty": 1}]'));
SELECT erp.pick(1, 'V-TEE', 2), erp.pick(1, 'V-VIT');
SELECT erp.pack(1);
SELECT erp.ship(1, 'DHL', 'V-T1');
SELECT erp.cancel_order(3);
SELECT erp.authorize_return(1, '[{"sku": "V-TEE", "qty": 1, "reason": "too_small"}]');
SELECT erp.receive_return(1);
SELECT erp.inspect_return(1, 'new');
SELECT erp.count('V-MUG', 'V-DC', 4);
SELECT erp.count('V-TEE', 'V-DC', 2);
SELECT erp.create_po(s, 'V-DC', '[{"sku": "V-MUG", "qty": 6, "unit_cost": 4}]', now() + interval '2 days')
  FROM (SELECT code AS s FROM erp.supplier LIMIT 1) x;
SELECT erp.transfer('V-TEE', 'V-DC', 'V-3PL', 1);
SQL
# every erp table's rows, on the columns each has now, kept aside as text
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$OLD2" >/dev/null <<'SQL' || exit 1
CREATE SCHEMA upgrade_before;
DO $$
DECLARE t record;
BEGIN
    FOR t IN SELECT c.relname, string_agg(format('%I::text AS %I', a.attname, a.attname), ', ' ORDER BY a.attnum) AS cols
               FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind IN ('r', 'p')
              GROUP BY c.relname LOOP
        EXECUTE format('CREATE TABLE upgrade_before.%I AS SELECT %s FROM erp.%I', t.relname, t.cols, t.relname);
    END LOOP;
END $$;
SQL
# per table: rows before, rows after, and rows of before that are not there
# unchanged after (on the columns of before)
ROWS_SQL=$(cat <<'SQL'
SELECT string_agg(format('SELECT %L AS t, (SELECT count(*) FROM upgrade_before.%I) AS before, (SELECT count(*) FROM erp.%I) AS after, '
                         '(SELECT count(*) FROM (SELECT * FROM upgrade_before.%I EXCEPT ALL SELECT %s FROM erp.%I) x) AS lost',
                         c.relname, c.relname, c.relname, c.relname,
                         (SELECT string_agg(format('%I::text', a.attname), ', ' ORDER BY a.attnum)
                            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), c.relname),
                  ' UNION ALL ' ORDER BY c.relname)
  FROM pg_class c WHERE c.relnamespace = 'upgrade_before'::regnamespace AND c.relkind = 'r'
SQL
)
TABLES=$(q "$OLD2" "SELECT count(*) FROM pg_class WHERE relnamespace = 'upgrade_before'::regnamespace")
echo "== ALTER EXTENSION inventory_erp UPDATE (from $LAST to $CURRENT)"
q "$OLD2" "ALTER EXTENSION inventory_erp UPDATE" || { echo "the update from $LAST failed"; exit 1; }
check "the extension is at the current version (from $LAST)" "$CURRENT" "$(q "$OLD2" "SELECT extversion FROM pg_extension WHERE extname = 'inventory_erp'")"
check "the day of data is in $TABLES tables (orders, return, counts, partner grant)" "yes" \
      "$(q "$OLD2" "SELECT CASE WHEN (SELECT count(*) FROM upgrade_before.sales_order) = 3 AND (SELECT count(*) FROM upgrade_before.rma_line) = 1
                              AND (SELECT count(*) FROM upgrade_before.cycle_count) = 2 AND (SELECT count(*) FROM upgrade_before.node_access) = 1
                              AND $TABLES > 20 THEN 'yes' ELSE 'no' END")"
CHANGED=$(q "$OLD2" "$(q "$OLD2" "$ROWS_SQL")" | awk -F'|' '$4 != 0 || ($2 != $3 && $1 != "state_transition" && $1 != "reason_code" && $1 != "disposition_rule") { printf "%s(before %s, after %s, lost or changed %s) ", $1, $2, $3, $4 }')
check "every row of every erp table is unchanged by the update from $LAST" "" "$CHANGED"
check "erp.verify() is empty after the update from $LAST" "0" "$(q "$OLD2" "SELECT count(*) FROM erp.verify()")"
check "the partner grant still restricts the partner's login (from $LAST)" "V-3PL" \
      "$("$PGBIN/psql" -X -q -At -U upgrade_partner -d "$OLD2" -c "SELECT string_agg(DISTINCT node, ',') FROM erp.availability")"
check "and the shop goes on working after the update from $LAST" "1" \
      "$(q "$OLD2" "SELECT count(*) FROM erp.allocate(erp.capture_order('V-WEB', 'V-4', '[{\"sku\": \"V-MUG\", \"qty\": 1}]'))")"
q "$OLD2" "SET client_min_messages = warning; DROP SCHEMA upgrade_before CASCADE" >/dev/null

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
NEW_FP=$(q "$NEW" "$FINGERPRINT") || NEW_FP="(fingerprint query failed)"
check "the fingerprint covers the schema (hundreds of objects)" "yes" \
      "$([ "${NEW_FP##* }" -gt 300 ] 2>/dev/null && echo yes || echo "no: $NEW_FP")"
for pair in "$FIRST:$OLD" "$LAST:$OLD2"; do
    from=${pair%%:*} db=${pair#*:}
    OLD_FP=$(q "$db" "$FINGERPRINT") || OLD_FP="(fingerprint query failed)"
    check "updated from $from: exactly the objects of a fresh install (fingerprint, objects)" "$NEW_FP" "$OLD_FP"
    if [ "$OLD_FP" != "$NEW_FP" ]; then
        echo "   differences (fresh < > updated from $from):"
        diff <(q "$NEW" "$OBJECTS SELECT o FROM objs ORDER BY o") <(q "$db" "$OBJECTS SELECT o FROM objs ORDER BY o") | head -20
    fi
done
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
