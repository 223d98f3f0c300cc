#!/usr/bin/env bash
# dump_restore: pg_dump / pg_restore of a database using inventory_erp keeps all its
# data (SPEC.md section 9): master data, lots, the ledger, the balances derived from
# it, custom state transitions and reason codes, and identity sequences that go on
# after the restored rows.  Exit 0 = pass, 1 = a mismatch.
#
# The balances are dumped as the rows of erp.stock_slot (erp.stock_balance is a
# view over them).  The ledger and the slots accept reloaded rows only in
# restore mode (inventory_erp.restore_mode, which only a superuser can switch
# on): the restore runs with PGOPTIONS='-c inventory_erp.restore_mode=on'.  A
# restore without it is refused cleanly (IE005, an empty ledger, nothing
# half-loaded), which is checked first.
#
# Run by scripts/test.sh with PGHOST, PGPORT, PGUSER, PGBIN, WORK and REPO_ROOT set
# and the main test cluster running.  Prints every check it makes.
set -uo pipefail

: "${PGBIN:?PGBIN must point at the PostgreSQL bin directory}"
: "${WORK:?WORK must be a scratch directory}"

SRC=ierp_dump_src
DST=ierp_dump_dst
NOMODE=ierp_dump_nomode
DUMP=$WORK/ierp_dump.pgdump
RESTORE_LOG=$WORK/ierp_pg_restore.log

mismatches=0

cleanup() {
    "$PGBIN/dropdb" --if-exists "$SRC" >/dev/null 2>&1
    "$PGBIN/dropdb" --if-exists "$DST" >/dev/null 2>&1
    "$PGBIN/dropdb" --if-exists "$NOMODE" >/dev/null 2>&1
    rm -f "$DUMP"
}
trap cleanup EXIT

# q DB SQL: one value (or rows) of unaligned, tuples-only output; stops on error.
q() {
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" == "$3" ]; then
        printf 'ok       %s\n' "$1"
    else
        printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"
        mismatches=$((mismatches + 1))
    fi
}

# same NAME SQL: SQL gives the same answer in the source and the restored database.
same() {
    local a b
    a=$(q "$SRC" "$2") || { check "$1 (source query failed)" ok failed; return; }
    b=$(q "$DST" "$2") || { check "$1 (restored query failed)" ok failed; return; }
    check "$1 [$(head -c 60 <<<"$a" | tr '\n' ' ')...]" "$a" "$b"
}

cleanup
"$PGBIN/createdb" "$SRC" || exit 1

echo "== loading $SRC"
PGAPPNAME=dump-test-loader "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$SRC" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;

INSERT INTO erp.supplier (code, name, lead_time_days) VALUES ('ACME', 'Acme textiles', 12);
INSERT INTO erp.item (sku, gtin, title, unit_cost, unit_price)
VALUES ('TEE-M', '4006381333931', 'Organic tee, size M', 6.50, 19.90);
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('MUG', 'Stoneware mug', 3.10, 12.00);
INSERT INTO erp.item (sku, title, lot_tracked, min_shelf_life_days, unit_cost, unit_price)
VALUES ('VITC-60', 'Vitamin C, 60 tablets', true, 30, 2.00, 8.50);
INSERT INTO erp.node (code, name, kind, latitude, longitude)
VALUES ('DC-EAST', 'East distribution centre', 'warehouse', 52.52, 13.40),
       ('STORE-01', 'High Street store', 'store', 52.50, 13.37);
INSERT INTO erp.channel (code, name, kind, priority) VALUES ('WEB', 'Web shop', 'storefront', 10);
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'DC-EAST' THEN 1 ELSE 2 END
  FROM erp.channel c CROSS JOIN erp.node n WHERE c.code = 'WEB';
INSERT INTO erp.stock_policy (item_id, node_id, safety_stock, reorder_point, order_up_to, lead_time_days, supplier_id)
SELECT i.item_id, n.node_id, 5, 20, 80, 12, s.supplier_id
  FROM erp.item i, erp.node n, erp.supplier s
 WHERE i.sku = 'TEE-M' AND n.code = 'DC-EAST' AND s.code = 'ACME';

-- configuration added by the business, next to what the extension ships
INSERT INTO erp.state_transition (from_state, to_state, event) VALUES ('damaged', 'quarantined', 'send_to_check');
INSERT INTO erp.reason_code (code, description) VALUES ('water_damage', 'Warehouse: water damage');

SELECT erp.receive('TEE-M', 'DC-EAST', 100, ref => 'opening');
SELECT erp.receive('MUG', 'DC-EAST', 24, ref => 'opening');
SELECT erp.receive('VITC-60', 'DC-EAST', 50, 'L2031-03', '2031-03-31', ref => 'po:11');
SELECT erp.receive('VITC-60', 'DC-EAST', 40, 'L2031-09', '2031-09-30', ref => 'po:12');
SELECT erp.move('TEE-M', 'DC-EAST', 6, 'available', 'quarantined', 'hold', ref => 'qc:1');
SELECT erp.move('TEE-M', 'DC-EAST', 4, 'quarantined', 'available', 'release_hold', ref => 'qc:1');
SELECT erp.receive_transfer(erp.transfer('TEE-M', 'DC-EAST', 'STORE-01', 25));
SELECT erp.transfer('TEE-M', 'DC-EAST', 'STORE-01', 5);
SELECT erp.move('VITC-60', 'DC-EAST', 3, 'available', 'quarantined', 'hold', 'L2031-03', 'recall:2');
SELECT erp.move('MUG', 'DC-EAST', 1, 'available', NULL, 'adjust', ref => 'count:1');
SET ROLE erp_operator;
SELECT erp.move('TEE-M', 'DC-EAST', 3, 'available', 'damaged', 'damage', ref => 'incident:7');
SELECT erp.move('TEE-M', 'DC-EAST', 1, 'damaged', 'quarantined', 'send_to_check', ref => 'qc:2');
RESET ROLE;
SQL

# What is compared, one query per aspect; each answers in one stable text.
ITEMS="SELECT count(*) FROM erp.item"
ITEM_ROWS="SELECT string_agg(concat_ws('|', item_id, sku, gtin, title, unit_cost, unit_price, lot_tracked, min_shelf_life_days), ';' ORDER BY item_id) FROM erp.item"
MOVES="SELECT count(*) FROM erp.stock_move"
MOVE_ROWS="SELECT string_agg(concat_ws('|', move_id, item_id, lot_id, qty, from_node_id, from_state, to_node_id, to_state, event, ref, at), ';' ORDER BY move_id) FROM erp.stock_move"
MOVE_AUDIT="SELECT string_agg(concat_ws('|', move_id, actor, application_name), ';' ORDER BY move_id) FROM erp.stock_move"
STATE_SUMS="SELECT string_agg(state || '=' || qty, ' ' ORDER BY state) FROM (SELECT state, sum(qty) AS qty FROM erp.stock_balance GROUP BY state HAVING sum(qty) <> 0) s"
BALANCES="SELECT string_agg(concat_ws('|', i.sku, n.code, l.lot_code, s.state, s.qty), ';' ORDER BY i.sku, n.code, l.lot_code, s.state)
            FROM (SELECT item_id, node_id, lot_id, state, sum(qty) AS qty FROM erp.stock_balance
                   GROUP BY 1, 2, 3, 4 HAVING sum(qty) <> 0) s
            JOIN erp.item i ON i.item_id = s.item_id JOIN erp.node n ON n.node_id = s.node_id
            LEFT JOIN erp.lot l ON l.lot_id = s.lot_id"
LOTS="SELECT string_agg(concat_ws('|', lot_id, item_id, lot_code, expires_on), ';' ORDER BY lot_id) FROM erp.lot"
NODES="SELECT string_agg(concat_ws('|', node_id, code, name, kind, latitude, longitude, active), ';' ORDER BY node_id) FROM erp.node"
CHANNELS="SELECT string_agg(concat_ws('|', c.code, c.kind, c.priority, n.code, cn.rank), ';' ORDER BY c.code, n.code) FROM erp.channel c JOIN erp.channel_node cn ON cn.channel_id = c.channel_id JOIN erp.node n ON n.node_id = cn.node_id"
POLICIES="SELECT string_agg(concat_ws('|', item_id, node_id, safety_stock, reorder_point, order_up_to, lead_time_days, supplier_id), ';' ORDER BY stock_policy_id) FROM erp.stock_policy"
SUPPLIERS="SELECT string_agg(concat_ws('|', supplier_id, code, name, lead_time_days), ';' ORDER BY supplier_id) FROM erp.supplier"
CUSTOM_TRANSITIONS="SELECT string_agg(concat_ws('|', state_transition_id, from_state, to_state, event, cross_node), ';' ORDER BY state_transition_id) FROM erp.state_transition WHERE NOT builtin"
ALL_TRANSITIONS="SELECT count(*) || ' rows, ' || count(DISTINCT (from_state, to_state, event)) || ' distinct' FROM erp.state_transition"
CUSTOM_REASONS="SELECT string_agg(concat_ws('|', reason_code_id, code, description), ';' ORDER BY reason_code_id) FROM erp.reason_code WHERE NOT builtin"
ALL_REASONS="SELECT count(*) || ' rows, ' || count(DISTINCT code) || ' distinct' FROM erp.reason_code"
VERIFY="SELECT count(*) FROM erp.verify()"

echo "== source database"
check "erp.verify() is empty in the source" 0 "$(q "$SRC" "$VERIFY")"
check "the source has 3 items" 3 "$(q "$SRC" "$ITEMS")"
check "the source has 13 moves" 13 "$(q "$SRC" "$MOVES")"

echo "== pg_dump -Fc $SRC"
if "$PGBIN/pg_dump" -Fc -f "$DUMP" "$SRC"; then
    check "pg_dump exit status" 0 0
else
    check "pg_dump exit status" 0 "$?"
    exit 1
fi

echo "== createdb $NOMODE; pg_restore -d $NOMODE (without restore mode: refused)"
"$PGBIN/createdb" "$NOMODE" || exit 1
"$PGBIN/pg_restore" -d "$NOMODE" "$DUMP" >"$RESTORE_LOG.nomode" 2>&1
nomode_rc=$?
grep -E 'ERROR|DETAIL|HINT' "$RESTORE_LOG.nomode" | sed 's/^/         | /'
check "pg_restore without restore mode fails" yes "$([ "$nomode_rc" -ne 0 ] && echo yes || echo no)"
check "the ledger's rows are refused with IE005 naming restore mode" yes \
    "$(grep -q 'rows of erp.stock_move are appended only by the stock kernel' "$RESTORE_LOG.nomode" && grep -q 'inventory_erp.restore_mode' "$RESTORE_LOG.nomode" && echo yes || echo no)"
check "the balances' rows (the slots of erp.stock_slot) are refused as well" yes \
    "$(grep -q 'erp.stock_slot is derived from the ledger and cannot be written directly' "$RESTORE_LOG.nomode" && echo yes || echo no)"
check "nothing of the ledger or the balances was loaded" "0/0/0" \
    "$(q "$NOMODE" "SELECT (SELECT count(*) FROM erp.stock_move) || '/' || (SELECT count(*) FROM erp.stock_slot) || '/' || (SELECT count(*) FROM erp.stock_balance)")"
check "the half-restored database is still consistent (erp.verify() empty)" 0 "$(q "$NOMODE" "$VERIFY")"
check "an ordinary session cannot switch restore mode on" 42501 \
    "$("$PGBIN/psql" -X -q -At -d "$NOMODE" -c "CREATE ROLE ierp_dump_clerk" -c "LOAD 'inventory_erp'" \
         -c "SET ROLE ierp_dump_clerk" -c "SET inventory_erp.restore_mode = on" 2>&1 |
       grep -c "permission denied to set parameter" | sed "s/^1$/42501/; s/^0$/accepted/")"
# before the module is loaded, a SET of the mode is only a placeholder: it must not open a guard
check "restore mode set by an admin before the module loads opens no guard (IE010)" IE010 \
    "$("$PGBIN/psql" -X -q -At -d "$NOMODE" -c "GRANT erp_admin TO ierp_dump_clerk" \
         -c "SET SESSION AUTHORIZATION ierp_dump_clerk" -c "SET inventory_erp.restore_mode = on" \
         -c "\\set VERBOSITY sqlstate" \
         -c "INSERT INTO erp.state_transition (from_state, to_state, event) VALUES ('available', 'reserved', 'grab')" 2>&1 |
       grep -Eo 'IE010|INSERT' | head -1)"
check "... and no such row was added" 0 \
    "$(q "$NOMODE" "SELECT count(*) FROM erp.state_transition WHERE event = 'grab'")"
"$PGBIN/psql" -X -q -d "$NOMODE" -c "DROP ROLE IF EXISTS ierp_dump_clerk" >/dev/null 2>&1

echo "== createdb $DST; PGOPTIONS='-c inventory_erp.restore_mode=on' pg_restore -d $DST"
"$PGBIN/createdb" "$DST" || exit 1
PGOPTIONS='-c inventory_erp.restore_mode=on' "$PGBIN/pg_restore" -d "$DST" "$DUMP" >"$RESTORE_LOG" 2>&1
restore_rc=$?
sed 's/^/         | /' "$RESTORE_LOG"
check "pg_restore exit status" 0 "$restore_rc"
check "pg_restore printed no error" 0 "$(grep -Ec '^pg_restore: (error|warning)' "$RESTORE_LOG")"

echo "== restored database against the source"
same "item count" "$ITEMS"
same "items (id, sku, gtin, title, prices, lot tracking)" "$ITEM_ROWS"
same "move count" "$MOVES"
same "moves (id, item, lot, qty, from, to, event, ref, time)" "$MOVE_ROWS"
check "moves keep their actor and application_name" \
    "$(q "$SRC" "$MOVE_AUDIT")" "$(q "$DST" "$MOVE_AUDIT")"
same "balance sums per state" "$STATE_SUMS"
same "balances per sku, node, lot and state" "$BALANCES"
same "lots (id, item, code, expiry)" "$LOTS"
same "nodes" "$NODES"
same "channels and their nodes" "$CHANNELS"
same "stock policies" "$POLICIES"
same "suppliers" "$SUPPLIERS"
same "custom state transitions" "$CUSTOM_TRANSITIONS"
same "state transitions in all (builtin ones not duplicated)" "$ALL_TRANSITIONS"
same "custom reason codes" "$CUSTOM_REASONS"
same "reason codes in all (builtin ones not duplicated)" "$ALL_REASONS"
check "the restored balances show the receipts net of what left" \
    "in_transit=5 available=200 quarantined=6 damaged=2" "$(q "$DST" "$STATE_SUMS")"
check "erp.verify() is empty in the restored database" 0 "$(q "$DST" "$VERIFY")"

echo "== the restored database goes on working"
# every identity sequence is at or past the highest restored key of its table
behind=$(q "$DST" "
    SELECT coalesce(string_agg(t.relname, ', '), 'none') FROM (
        SELECT c.relname, a.attname, pg_get_serial_sequence(c.oid::regclass::text, a.attname) AS seq
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind = 'r' AND a.attidentity <> ''
    ) t
    WHERE (xpath('/row/m/text()',
                 query_to_xml(format('SELECT max(%I) AS m FROM erp.%I', t.attname, t.relname), false, true, ''))
          )[1]::text::bigint
          > coalesce((SELECT last_value FROM pg_sequences s
                       WHERE s.schemaname || '.' || s.sequencename = t.seq), 0)")
check "identity sequences behind their table's highest key" none "$behind"

max_move=$(q "$DST" "SELECT max(move_id) FROM erp.stock_move")
new_move=$(q "$DST" "SELECT erp.receive('MUG', 'DC-EAST', 6, ref => 'after-restore')")
check "a new receipt gets a move_id after the restored ones ($new_move > $max_move)" yes \
    "$([ -n "$new_move" ] && [ "$new_move" -gt "$max_move" ] && echo yes || echo no)"
max_lot=$(q "$DST" "SELECT max(lot_id) FROM erp.lot")
q "$DST" "SELECT erp.receive('VITC-60', 'DC-EAST', 10, 'L2032-01', '2032-01-31')" >/dev/null
new_lot=$(q "$DST" "SELECT lot_id FROM erp.lot WHERE lot_code = 'L2032-01'")
check "a new lot gets a lot_id after the restored ones ($new_lot > $max_lot)" yes \
    "$([ -n "$new_lot" ] && [ "$new_lot" -gt "$max_lot" ] && echo yes || echo no)"
max_item=$(q "$DST" "SELECT max(item_id) FROM erp.item")
new_item=$(q "$DST" "INSERT INTO erp.item (sku, title) VALUES ('CAP', 'Cap') RETURNING item_id")
check "a new item gets an item_id after the restored ones ($new_item > $max_item)" yes \
    "$([ -n "$new_item" ] && [ "$new_item" -gt "$max_item" ] && echo yes || echo no)"
check "the restored custom transition is allowed: send_to_check works" yes \
    "$(q "$DST" "SELECT erp.move('TEE-M', 'DC-EAST', 1, 'damaged', 'quarantined', 'send_to_check') > 0" 2>&1 | sed 's/^t$/yes/')"
check "the balances after the new moves" \
    "DC-EAST|MUG|available=29 DC-EAST|TEE-M|quarantined=4 DC-EAST|TEE-M|damaged=1" \
    "$(q "$DST" "SELECT string_agg(n.code || '|' || i.sku || '|' || b.state || '=' || b.qty, ' ' ORDER BY n.code, i.sku, b.state)
                   FROM (SELECT item_id, node_id, state, sum(qty) AS qty FROM erp.stock_balance GROUP BY 1, 2, 3) b
                   JOIN erp.item i ON i.item_id = b.item_id JOIN erp.node n ON n.node_id = b.node_id
                  WHERE (i.sku = 'MUG' AND b.state = 'available') OR (i.sku = 'TEE-M' AND n.code = 'DC-EAST' AND b.state IN ('damaged', 'quarantined'))")"
check "erp.verify() is still empty after the new moves" 0 "$(q "$DST" "$VERIFY")"

echo "== $mismatches mismatch(es)"
[ "$mismatches" -eq 0 ]
