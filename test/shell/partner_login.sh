#!/usr/bin/env bash
# partner_login: a 3PL partner logs in as itself (a LOGIN role, psql -U, trust
# authentication of the test cluster) and tries every escape from the one
# partner rule (doc/governance.md, "Partner access"):
#   - SET ROLE to each group it belongs to, then read every table and move,
#     allocate, promise and verify at the shop's node;
#   - a search_path of its own first, with its own = operators and functions
#     named like the extension's;
#   - a pooled session kept open while the admin drops and re-creates its
#     partner role, and a partner role created after its node_access row;
#   - a NOINHERIT member of the partner role;
#   - every document function on a document of the shop's node.
# Every refusal must be IE009 and leave a checksum of every erp table as it
# was.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_partner_login
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
# as LOGIN SQL...: run statements as a login, print the last line of output (an
# error shows as "ERROR:  <SQLSTATE>")
as() {
    local login=$1 args=()
    shift
    for s in "$@"; do args+=(-c "$s"); done
    "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U "$login" -d "$DB" "${args[@]}" </dev/null 2>&1 | tail -1
}
cleanup() {
    [ -n "${POOL_PID:-}" ] && kill "$POOL_PID" 2>/dev/null
    [ -n "${HELD_PID:-}" ] && kill "$HELD_PID" 2>/dev/null
    "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP ROLE IF EXISTS pl_3pl_app, pl_3pl_ni, pl_late" \
        -c "DROP ROLE IF EXISTS pl_3pl" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1

echo "== the shop (DC1, DC2) and its 3PL (3PL), with a document of every kind at DC1"
admin >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse'), ('DC2', 'warehouse'), ('3PL', '3pl');
INSERT INTO erp.channel (code) VALUES ('WEB'), ('MKT');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n
 WHERE (c.code, n.code) IN (('WEB', 'DC1'), ('MKT', '3PL'));
INSERT INTO erp.item (sku, unit_cost, unit_price, category) VALUES ('TEE', 5, 20, 'apparel');
INSERT INTO erp.item (sku, unit_cost, unit_price, high_value) VALUES ('LAP', 800, 1200, true);
INSERT INTO erp.supplier (code) VALUES ('ACME');
INSERT INTO erp.stock_policy (item_id, node_id, supplier_id)
SELECT i.item_id, n.node_id, s.supplier_id FROM erp.item i, erp.node n, erp.supplier s;
SELECT erp.receive('TEE', 'DC1', 100), erp.receive('LAP', 'DC1', 5), erp.receive('TEE', 'DC2', 20),
       erp.receive('TEE', '3PL', 50);
CREATE FUNCTION pg_temp.order_at(ref text, lines jsonb, steps int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE o bigint := erp.capture_order(CASE WHEN ref LIKE 'M%' THEN 'MKT' ELSE 'WEB' END, ref, lines);
        l record;
BEGIN
    IF steps >= 1 THEN PERFORM erp.allocate(o); END IF;
    IF steps >= 2 THEN
        FOR l IN SELECT x->>'sku' AS sku, (x->>'qty')::bigint AS qty FROM jsonb_array_elements(lines) x LOOP
            PERFORM erp.pick(o, l.sku, l.qty);
        END LOOP;
    END IF;
    IF steps >= 3 THEN PERFORM erp.pack(o); END IF;
    IF steps >= 4 THEN PERFORM erp.ship(o); END IF;
    RETURN o;
END $$;
-- W1 allocated, W2 picked, W3 packed, W4 allocated, W5 captured, W6 shipped (1..6); M1 allocated at the 3PL (7)
SELECT pg_temp.order_at('W1', '[{"sku": "TEE", "qty": 2}]', 1), pg_temp.order_at('W2', '[{"sku": "TEE", "qty": 2}]', 2),
       pg_temp.order_at('W3', '[{"sku": "TEE", "qty": 2}]', 3), pg_temp.order_at('W4', '[{"sku": "TEE", "qty": 5}]', 1),
       pg_temp.order_at('W5', '[{"sku": "TEE", "qty": 1}]', 0),
       pg_temp.order_at('W6', '[{"sku": "TEE", "qty": 5}, {"sku": "LAP", "qty": 1}]', 4),
       pg_temp.order_at('M1', '[{"sku": "TEE", "qty": 3}]', 1);
-- returns of W6 (one tee stays returnable): A authorized (1), B received (2), C used -> refurbish (3), D defective -> vendor (4),
-- E a laptop as new, its refund waiting for approval (5)
SELECT erp.authorize_return(6, '[{"sku": "TEE", "qty": 1, "reason": "too_small"}]'),
       erp.authorize_return(6, '[{"sku": "TEE", "qty": 1, "reason": "too_small"}]'),
       erp.authorize_return(6, '[{"sku": "TEE", "qty": 1, "reason": "too_small"}]'),
       erp.authorize_return(6, '[{"sku": "TEE", "qty": 1, "reason": "defective"}]'),
       erp.authorize_return(6, '[{"sku": "LAP", "qty": 1, "reason": "changed_mind"}]');
SELECT erp.receive_return(2), erp.receive_return(3), erp.receive_return(4), erp.receive_return(5);
SELECT erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = 3), 'used'),
       erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = 4), 'defective'),
       erp.inspect_return((SELECT rma_line_id FROM erp.rma_line WHERE rma_id = 5), 'new');
-- a purchase order for DC1 (1), a transfer DC2 -> DC1 (1), a count at DC1 waiting for approval
SELECT erp.create_po('ACME', 'DC1', '[{"sku": "TEE", "qty": 10}]', now() + interval '7 days');
SELECT erp.transfer('TEE', 'DC2', 'DC1', 5);
SELECT erp.count('LAP', 'DC1', 3);
INSERT INTO erp.event (kind, node_id) SELECT 'note', node_id FROM erp.node WHERE code = 'DC1';
INSERT INTO erp.event (kind, node_id) SELECT 'note', node_id FROM erp.node WHERE code = '3PL';
-- the partner: a role without login listed for the 3PL's node, its application's
-- login (operator and approver, as doc/governance.md sets it up), and a
-- NOINHERIT member
CREATE ROLE pl_3pl;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'pl_3pl', node_id FROM erp.node WHERE code = '3PL';
-- another partner's listing (its role need not exist)
INSERT INTO erp.node_access (role_name, node_id) SELECT 'pl_other', node_id FROM erp.node WHERE code = 'DC2';
CREATE ROLE pl_3pl_app LOGIN IN ROLE pl_3pl, erp_operator, erp_approver;
CREATE ROLE pl_3pl_ni LOGIN NOINHERIT IN ROLE pl_3pl, erp_operator;
CREATE SCHEMA pl_own AUTHORIZATION pl_3pl_app;
-- a checksum of every erp table, as their owner sees them
CREATE FUNCTION public.erp_checksum() RETURNS text LANGUAGE plpgsql AS $$
DECLARE t record; acc text := ''; h text;
BEGIN
    FOR t IN SELECT c.oid::regclass AS rel FROM pg_class c
              WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind = 'r' ORDER BY c.relname LOOP
        EXECUTE format('SELECT coalesce(md5(string_agg(x::text, ''|'' ORDER BY x::text)), '''') FROM %s x', t.rel) INTO h;
        acc := acc || t.rel || '=' || h || ';';
    END LOOP;
    RETURN md5(acc);
END $$;
REVOKE ALL ON FUNCTION public.erp_checksum() FROM PUBLIC;
SQL
check "setup: the refund of the laptop waits for approval" "awaiting_approval" \
      "$(admin -c "SELECT refund_status FROM erp.rma_line WHERE rma_id = 5")"
check "setup: the count at DC1 waits for approval" "pending_approval" "$(admin -c "SELECT status FROM erp.adjustment")"
check "setup: the superuser sees every node" "" "$(admin -c "SELECT erp.visible_nodes()")"
N3PL=$(admin -c "SELECT node_id FROM erp.node WHERE code = '3PL'")
SUM=$(admin -c "SELECT public.erp_checksum()")

# foreign: rows of relations a partner must not see (other nodes, other documents)
FOREIGN="SELECT (SELECT count(*) FROM erp.stock_balance WHERE node_id <> $N3PL)
 + (SELECT count(*) FROM erp.stock_move WHERE coalesce(from_node_id, to_node_id) <> $N3PL AND coalesce(to_node_id, from_node_id) <> $N3PL)
 + (SELECT count(*) FROM erp.reservation WHERE node_id <> $N3PL)
 + (SELECT count(*) FROM erp.sales_order WHERE external_ref NOT LIKE 'M%')
 + (SELECT count(*) FROM erp.order_line l JOIN erp.sales_order o USING (order_id) WHERE o.external_ref NOT LIKE 'M%')
 + (SELECT count(*) FROM erp.shipment) + (SELECT count(*) FROM erp.shipment_line)
 + (SELECT count(*) FROM erp.rma) + (SELECT count(*) FROM erp.rma_line)
 + (SELECT count(*) FROM erp.purchase_order) + (SELECT count(*) FROM erp.purchase_order_line)
 + (SELECT count(*) FROM erp.transfer) + (SELECT count(*) FROM erp.cycle_count) + (SELECT count(*) FROM erp.adjustment)
 + (SELECT count(*) FROM erp.event WHERE node_id IS DISTINCT FROM $N3PL)
 + (SELECT count(*) FROM erp.availability WHERE node <> '3PL')
 + (SELECT count(*) FROM erp.node_access WHERE node_id <> $N3PL)"
OWN="SELECT (SELECT count(*) FROM (SELECT state FROM erp.stock_balance GROUP BY state HAVING sum(qty) > 0) s) || '/' || (SELECT string_agg(external_ref, ',') FROM erp.sales_order)
 || '/' || (SELECT count(*) FROM erp.event)"
check "the shop's own superuser sees the foreign rows (the check can fail)" "yes" \
      "$([ "$(admin -c "$FOREIGN")" -gt 20 ] && echo yes)"

echo "== the partner logs in as itself and SETs each of its groups"
for g in "" erp_operator erp_approver erp_reader; do
    set_role=${g:+SET ROLE $g}
    check "as pl_3pl_app${g:+ SET ROLE $g}: erp.visible_nodes() is its node" "{$N3PL}" \
          "$(as pl_3pl_app "${set_role:-SELECT 1}" "SELECT erp.visible_nodes()")"
    check "as pl_3pl_app${g:+ SET ROLE $g}: no row of another node or document in any table or view" "0" \
          "$(as pl_3pl_app "${set_role:-SELECT 1}" "$FOREIGN")"
done
check "as pl_3pl_app SET ROLE pl_3pl (the partner role has no rights of its own): 42501" "ERROR:  42501" \
      "$(as pl_3pl_app "SET ROLE pl_3pl" "SELECT count(*) FROM erp.stock_balance")"
check "its own rows: its stock, its marketplace order, its node's event" "2/M1/1" \
      "$(as pl_3pl_app "SET ROLE erp_operator" "$OWN")"
for g in erp_operator erp_approver; do
    for sql in "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage')" \
               "SELECT erp.receive('TEE', 'DC1', 1)" \
               "SELECT erp.count('TEE', 'DC1', 0)" \
               "SELECT erp.transfer('TEE', 'DC1', '3PL', 1)" \
               "SELECT count(*) FROM erp.allocate(5)"; do
        check "SET ROLE $g; $sql: IE009" "ERROR:  IE009" "$(as pl_3pl_app "SET ROLE $g" "$sql")"
    done
done
check "erp.atp at DC1 counts nothing for the partner" "0" "$(as pl_3pl_app "SET ROLE erp_operator" "SELECT erp.atp('TEE', 'DC1')")"
check "(the shop is promised DC1's stock)" "yes" "$([ "$(admin -c "SELECT erp.atp('TEE', 'DC1')")" -gt 0 ] && echo yes)"
check "the refused calls changed nothing" "$SUM" "$(admin -c "SELECT public.erp_checksum()")"
check "the partner works at its own node: a damaged tee at the 3PL" "t" \
      "$(as pl_3pl_app "SET ROLE erp_operator" "SELECT erp.move('TEE', '3PL', 1, 'available', 'damaged', 'damage') > 0")"
check "and the ledger names its login, not the role it SET" "pl_3pl_app" \
      "$(admin -c "SELECT actor FROM erp.stock_move ORDER BY move_id DESC LIMIT 1")"
SUM=$(admin -c "SELECT public.erp_checksum()")

echo "== a search_path of its own, with its own = and functions named like the extension's"
as pl_3pl_app "CREATE FUNCTION pl_own.yes(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true'" >/dev/null
as pl_3pl_app "CREATE OPERATOR pl_own.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = pl_own.yes)" >/dev/null
as pl_3pl_app "CREATE FUNCTION pl_own.no(name, name) RETURNS boolean LANGUAGE sql AS 'SELECT false'" >/dev/null
as pl_3pl_app "CREATE OPERATOR pl_own.= (LEFTARG = name, RIGHTARG = name, FUNCTION = pl_own.no)" >/dev/null
as pl_3pl_app "CREATE FUNCTION pl_own.visible_nodes() RETURNS bigint[] LANGUAGE sql AS 'SELECT NULL::bigint[]'" >/dev/null
as pl_3pl_app "CREATE FUNCTION pl_own.order_visible(bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true'" >/dev/null
as pl_3pl_app "GRANT USAGE ON SCHEMA pl_own TO PUBLIC" >/dev/null
check "its operators exist" "2" "$(admin -c "SELECT count(*) FROM pg_operator WHERE oprnamespace = 'pl_own'::regnamespace")"
HIJACK="SET search_path = pl_own, erp, public, pg_catalog"
check "hijacked search_path: no row of another node or document" "0" \
      "$(as pl_3pl_app "$HIJACK" "SET ROLE erp_operator" "$FOREIGN")"
check "hijacked search_path: erp.visible_nodes() is still its node" "{$N3PL}" \
      "$(as pl_3pl_app "$HIJACK" "SET ROLE erp_operator" "SELECT erp.visible_nodes()")"
check "hijacked search_path: erp.verify() shows no other node's row" "0" \
      "$(as pl_3pl_app "$HIJACK" "SET ROLE erp_operator" "SELECT count(*) FROM erp.verify() WHERE node_id IS DISTINCT FROM $N3PL")"
check "hijacked search_path: a move at DC1 is IE009" "ERROR:  IE009" \
      "$(as pl_3pl_app "$HIJACK" "SET ROLE erp_operator" "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage')")"
check "hijacked search_path: cancelling a DC1 order is IE009" "ERROR:  IE009" \
      "$(as pl_3pl_app "$HIJACK" "SET ROLE erp_operator" "SELECT erp.cancel_order(1)")"
check "the refused calls changed nothing" "$SUM" "$(admin -c "SELECT public.erp_checksum()")"

echo "== a NOINHERIT member of the partner role"
check "NOINHERIT, SET ROLE erp_operator: erp.visible_nodes() is the partner's node" "{$N3PL}" \
      "$(as pl_3pl_ni "SET ROLE erp_operator" "SELECT erp.visible_nodes()")"
check "NOINHERIT: no row of another node or document" "0" "$(as pl_3pl_ni "SET ROLE erp_operator" "$FOREIGN")"
check "NOINHERIT: a move at DC1 is IE009" "ERROR:  IE009" \
      "$(as pl_3pl_ni "SET ROLE erp_operator" "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage')")"
check "NOINHERIT: picking a DC1 order is IE009" "ERROR:  IE009" \
      "$(as pl_3pl_ni "SET ROLE erp_operator" "SELECT erp.pick(1, 'TEE', 1)")"
check "the refused calls changed nothing" "$SUM" "$(admin -c "SELECT public.erp_checksum()")"

echo "== pooled sessions while the admin drops and re-creates the partner role"
coproc POOL { "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U postgres -d "$DB" 2>&1; }
POOL_PID=$POOL_PID
coproc HELD { "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U pl_3pl_app -d "$DB" 2>&1; }
HELD_PID=$HELD_PID
# say SESSION SQL: run SQL in a kept session, print its last output line
# (a notification psql shows after a result is a line of its own)
say() {
    local in out line last=""
    if [ "$1" = pool ]; then in=${POOL[1]}; out=${POOL[0]}; else in=${HELD[1]}; out=${HELD[0]}; fi
    printf '%s\n\\echo __done__\n' "$2" >&"$in"
    while IFS= read -r -t 20 line <&"$out"; do
        [ "$line" = "__done__" ] && { printf '%s\n' "$last"; return 0; }
        last=$line
    done
    echo "(timeout)"
}
say held "SET ROLE erp_operator;" >/dev/null
check "held partner session, before: restricted" "{$N3PL}" "$(say held "SELECT erp.visible_nodes();")"
say pool "SET SESSION AUTHORIZATION pl_3pl_app;" >/dev/null
check "pooled session as the partner, before: restricted" "{$N3PL}" "$(say pool "SELECT erp.visible_nodes();")"
say pool "RESET SESSION AUTHORIZATION;" >/dev/null
check "pooled session, admin again: sees all" "" "$(say pool "SELECT erp.visible_nodes();")"
admin -c "DROP ROLE pl_3pl" -c "CREATE ROLE pl_3pl" -c "GRANT pl_3pl TO pl_3pl_app, pl_3pl_ni" >/dev/null
check "held partner session, after the role was re-created: restricted" "{$N3PL}" "$(say held "SELECT erp.visible_nodes();")"
check "held partner session: a move at DC1 is IE009" "ERROR:  IE009" \
      "$(say held "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage');")"
check "held partner session: no row of another node or document" "0" "$(say held "$FOREIGN;")"
say pool "SET SESSION AUTHORIZATION pl_3pl_app;" >/dev/null
check "pooled session, the partner again after the re-creation: restricted" "{$N3PL}" "$(say pool "SELECT erp.visible_nodes();")"
check "pooled session as the partner: a move at DC1 is IE009" "ERROR:  IE009" \
      "$(say pool "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage');")"
say pool "RESET SESSION AUTHORIZATION;" >/dev/null
admin -c "INSERT INTO erp.node_access (role_name, node_id) VALUES ('pl_late', $N3PL)" >/dev/null
SUM=$(admin -c "SELECT public.erp_checksum()")
check "pooled session: a row for a role that does not exist yet restricts nobody" "" "$(say pool "SELECT erp.visible_nodes();")"
admin -c "CREATE ROLE pl_late LOGIN IN ROLE erp_operator" >/dev/null
say pool "SET SESSION AUTHORIZATION pl_late;" >/dev/null
check "pooled session as a partner role created after its row: restricted" "{$N3PL}" "$(say pool "SELECT erp.visible_nodes();")"
check "pooled session as the late partner: a move at DC1 is IE009" "ERROR:  IE009" \
      "$(say pool "SELECT erp.move('TEE', 'DC1', 1, 'available', 'damaged', 'damage');")"
check "pooled session as the late partner: no row of another node or document" "0" "$(say pool "$FOREIGN;")"
say pool "RESET SESSION AUTHORIZATION;" >/dev/null
echo "== LISTEN/NOTIFY: the partner hears id, kind and node, and finds nothing behind another node's"
say held "LISTEN erp_event;" >/dev/null
EV=$(admin -c "INSERT INTO erp.event (kind, node_id, payload) SELECT 'note', node_id, '{\"secret\": 1}' FROM erp.node WHERE code = 'DC1' RETURNING event_id")
heard=$(say held "SELECT 1;")
check "the notification carries id, kind and node id, nothing else (not the payload's secret)" "yes" \
      "$(grep -Eq "\"erp_event\" with payload \"\\{\"id\": $EV, \"kind\": \"note\", \"node_id\": [0-9]+\\}\" received" <<<"$heard" &&
         ! grep -q secret <<<"$heard" && echo yes)"
check "re-read under the partner's rights, another node's event is not there" "0" \
      "$(say held "SELECT count(*) FROM erp.event WHERE event_id = $EV;")"
say held "UNLISTEN erp_event;" >/dev/null
SUM=$(admin -c "SELECT public.erp_checksum()")
check "a new login as the late partner: restricted" "{$N3PL}" "$(as pl_late "SELECT erp.visible_nodes()")"
check "the refused calls changed nothing" "$SUM" "$(admin -c "SELECT public.erp_checksum()")"

echo "== every document function on a document of DC1"
B_LINE=$(admin -c "SELECT rma_line_id FROM erp.rma_line WHERE rma_id = 2")
C_LINE=$(admin -c "SELECT rma_line_id FROM erp.rma_line WHERE rma_id = 3")
D_LINE=$(admin -c "SELECT rma_line_id FROM erp.rma_line WHERE rma_id = 4")
E_LINE=$(admin -c "SELECT rma_line_id FROM erp.rma_line WHERE rma_id = 5")
ADJ=$(admin -c "SELECT adjustment_id FROM erp.adjustment")
while IFS='|' read -r role sql; do
    check "SET ROLE $role; $sql: IE009" "ERROR:  IE009" "$(as pl_3pl_app "SET ROLE $role" "$sql")"
    now=$(admin -c "SELECT public.erp_checksum()" </dev/null)
    check "   and nothing changed" "$SUM" "$now"
    SUM=$now    # a call that wrongly went through must not fail the checks after it
done <<EOF
erp_operator|SELECT erp.cancel_order(1)
erp_operator|SELECT count(*) FROM erp.allocate(5)
erp_operator|SELECT erp.pick(1, 'TEE', 1)
erp_operator|SELECT erp.short_pick(4, 'TEE', 1)
erp_operator|SELECT erp.pack(2)
erp_operator|SELECT erp.ship(3)
erp_operator|SELECT erp.capture_order('WEB', 'W-BY-3PL', '[{"sku": "TEE", "qty": 1}]')
erp_operator|SELECT erp.authorize_return(6, '[{"sku": "TEE", "qty": 1, "reason": "too_small"}]')
erp_operator|SELECT erp.receive_return(1)
erp_operator|SELECT erp.receive_return(1, '3PL')
erp_operator|SELECT erp.inspect_return($B_LINE, 'new')
erp_approver|SELECT erp.approve_refund($E_LINE)
erp_operator|SELECT erp.receive_po(1)
erp_operator|SELECT erp.delay_po(1, now() + interval '30 days')
erp_operator|SELECT erp.receive_transfer(1)
erp_approver|SELECT erp.approve_adjustment($ADJ)
erp_operator|SELECT erp.complete_refurbish($C_LINE)
erp_operator|SELECT erp.return_to_vendor($D_LINE)
EOF

echo "== erp.verify() shows the partner its own nodes' problems only"
# (the superuser damages TEE's available balance at every node: a slot of
# erp.stock_slot, with its guard trigger off)
admin -c "SET session_replication_role = replica" \
      -c "UPDATE erp.stock_slot SET available = available + 1 WHERE available > 0 AND item_id = (SELECT item_id FROM erp.item WHERE sku = 'TEE')" >/dev/null
check "the superuser sees problems at several nodes (the check can fail)" "yes" \
      "$([ "$(admin -c "SELECT count(DISTINCT node_id) FROM erp.verify()")" -gt 1 ] && echo yes)"
check "the partner sees its own node's problem" "yes" \
      "$([ "$(as pl_3pl_app "SET ROLE erp_operator" "SELECT count(*) FROM erp.verify() WHERE node_id = $N3PL")" -gt 0 ] && echo yes)"
check "and no other node's" "0" \
      "$(as pl_3pl_app "SET ROLE erp_operator" "SELECT count(*) FROM erp.verify() WHERE node_id IS DISTINCT FROM $N3PL")"

echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
