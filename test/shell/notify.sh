#!/usr/bin/env bash
# notify: a session that LISTENs on erp_event is told of an event once the
# transaction that recorded it commits, and of nothing for a transaction that
# rolls back (SPEC section 9).  The payload is {"id": .., "kind": ..,
# "node_id": ..} (issue 11: listeners filter without reading) and carries no
# other fact (no quantity, sku or code: LISTEN cannot be restricted).  A pick
# exception, committed by its own writer although the picker's transaction
# rolls back, is announced by that writer's commit; an event the owner inserts
# by hand is announced too.  Two psql coprocesses play the listener and the
# writer.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_notify
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() {
    [ -n "${LISTENER_PID:-}" ] && kill "$LISTENER_PID" 2>/dev/null
    [ -n "${WRITER_PID:-}" ] && kill "$WRITER_PID" 2>/dev/null
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
}
trap cleanup EXIT
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, unit_cost) VALUES ('NTF-1', 50);
INSERT INTO erp.node (code) VALUES ('NTF-DC');
SELECT erp.receive('NTF-1', 'NTF-DC', 10);
INSERT INTO erp.channel (code, kind) VALUES ('NTF-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'NTF-WEB' AND n.code = 'NTF-DC';
SELECT count(*) FROM erp.allocate(erp.capture_order('NTF-WEB', 'NTF-O1', '[{"sku": "NTF-1", "qty": 1}]'));
SQL

coproc LISTENER { "$PGBIN/psql" -X -q -At -d "$DB" 2>&1; }
LISTENER_PID=$LISTENER_PID
coproc WRITER { "$PGBIN/psql" -X -q -At -d "$DB" 2>&1; }
WRITER_PID=$WRITER_PID

# say SESSION SQL: run SQL in a coprocess and print its output lines (up to a marker)
say() {
    local in out line
    if [ "$1" = listener ]; then in=${LISTENER[1]}; out=${LISTENER[0]}; else in=${WRITER[1]}; out=${WRITER[0]}; fi
    printf '%s\n\\echo __done__\n' "$2" >&"$in"
    while IFS= read -r -t 10 line <&"$out"; do
        [ "$line" = "__done__" ] && return 0
        printf '%s\n' "$line"
    done
    echo "(timeout)"
}
notified() { say listener "SELECT 1;" | sed -n 's/.*"erp_event" with payload "\(.*\)" received from .*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
# payload_of ID: the payload expected for event ID, from its row
payload_of() {
    "$PGBIN/psql" -X -q -At -d "$DB" -c "SELECT format('{\"id\": %s, \"kind\": \"%s\", \"node_id\": %s}', event_id, kind, coalesce(node_id::text, 'null')) FROM erp.event WHERE event_id = 0$1"
}

say listener "LISTEN erp_event;" >/dev/null

echo "== an event recorded and rolled back announces nothing"
say writer "BEGIN;" >/dev/null
say writer "INSERT INTO erp.event (kind, payload) VALUES ('test', '{\"n\": 1}');" >/dev/null
check "nothing is announced while the writer's transaction is open" "" "$(notified)"
say writer "ROLLBACK;" >/dev/null
check "nothing is announced for a rolled-back event" "" "$(notified)"

echo "== an event recorded by a function is announced when its transaction commits"
say writer "BEGIN;" >/dev/null
say writer "SELECT erp.count('NTF-1', 'NTF-DC', 2);" >/dev/null
ID=$(say writer "SELECT max(event_id) FROM erp.event WHERE kind = 'adjustment_approval_needed';")
check "the large count variance recorded an adjustment_approval_needed event" "yes" "$([ -n "$ID" ] && echo yes)"
check "nothing is announced before commit" "" "$(notified)"
say writer "COMMIT;" >/dev/null
NODE=$("$PGBIN/psql" -X -q -At -d "$DB" -c "SELECT node_id FROM erp.node WHERE code = 'NTF-DC'")
check "after commit the listener receives id, kind and node of the event" \
    "{\"id\": $ID, \"kind\": \"adjustment_approval_needed\", \"node_id\": $NODE}" "$(notified)"
check "and only once" "" "$(notified)"

echo "== a wrong scan in a transaction that rolls back: its event is announced by its writer"
ORDER=$("$PGBIN/psql" -X -q -At -d "$DB" -c "SELECT order_id FROM erp.sales_order WHERE external_ref = 'NTF-O1'")
say writer "BEGIN;" >/dev/null
say writer "SAVEPOINT before_scan;" >/dev/null
say writer "SELECT erp.pick($ORDER, 'NTF-WRONG', 1);" >/dev/null
say writer "ROLLBACK TO SAVEPOINT before_scan;" >/dev/null
PICK_ID=$(say writer "SELECT max(event_id) FROM erp.event WHERE kind = 'pick_exception';")
say writer "ROLLBACK;" >/dev/null
check "the pick exception was committed by its writer" "yes" "$([ -n "$PICK_ID" ] && echo yes)"
GOT=$(notified)
check "the listener received its id, kind and node, and no other fact" "$(payload_of "$PICK_ID")" "$GOT"
check "... naming the kind pick_exception" yes "$(grep -q '"kind": "pick_exception"' <<<"$GOT" && echo yes)"
check "the picker's rollback announces nothing more" "" "$(notified)"
check "the event is still there after the rollback" "1" \
    "$("$PGBIN/psql" -X -q -At -d "$DB" -c "SELECT count(*) FROM erp.event WHERE event_id = 0$PICK_ID AND payload->>'scan' = 'NTF-WRONG'")"

echo "== an event the owner inserts by hand, about no node: node_id null"
say writer "INSERT INTO erp.event (kind, payload) VALUES ('test', '{\"qty\": 5, \"sku\": \"NTF-1\"}');" >/dev/null
HAND_ID=$("$PGBIN/psql" -X -q -At -d "$DB" -c "SELECT max(event_id) FROM erp.event WHERE kind = 'test'")
check "the listener receives id, kind and a null node_id, and not the payload's qty or sku" \
    "{\"id\": $HAND_ID, \"kind\": \"test\", \"node_id\": null}" "$(notified)"

echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
