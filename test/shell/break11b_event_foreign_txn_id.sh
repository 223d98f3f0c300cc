#!/usr/bin/env bash
# Found by the break-it pass of issue 11; fixed in a4d0512: this test now guards the fix.
# break11b_event_foreign_txn_id: the first event of a transaction that carries
# another transaction's number (an owner's hand-written INSERT with txn_id set).
# doc/events.md: "a row with another transaction's number is refused (IE004)".
# Only a SECOND number in one transaction is refused today: the first is noted
# and stamped at commit (src/event_stamp.c, EventStampNote), so
#   1. a number already stamped fails at COMMIT with a unique violation (23505)
#      of erp.event_commit.txn_id instead of IE004 at the INSERT;
#   2. a number not drawn yet is accepted and stamped; the business transaction
#      that later draws that number (an erp.receive/allocate writing a stockout,
#      here a plain event) cannot commit: 23505 at its COMMIT.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break11b_txn
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
trap '"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1' EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
# sqlstate SQL: the SQLSTATE SQL (one autocommitted statement) ends with, 00000 when it succeeded
sqlstate() {
    local s
    s=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -d "$DB" -c "$1" 2>&1 >/dev/null |
        sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1)
    echo "${s:-00000}"
}

"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
q "CREATE EXTENSION inventory_erp" || exit 1
q "INSERT INTO erp.event (kind) VALUES ('first')"
T1=$(q "SELECT txn_id FROM erp.event WHERE kind = 'first'")
BEFORE=$(q "SELECT count(*) FROM erp.event")

check "an event with the number of a committed transaction is refused with IE004" IE004 \
    "$(sqlstate "INSERT INTO erp.event (kind, txn_id) VALUES ('forged_past', $T1)")"
check "(and nothing was written)" "$BEFORE" "$(q "SELECT count(*) FROM erp.event")"

NEXT=$(q "SELECT last_value + 1 FROM erp.event_txn_id_seq")
check "an event with a number not drawn yet is refused with IE004" IE004 \
    "$(sqlstate "INSERT INTO erp.event (kind, txn_id) VALUES ('forged_future', $NEXT)")"
check "the next event-writing transaction commits (it draws number $NEXT)" 00000 \
    "$(sqlstate "INSERT INTO erp.event (kind) VALUES ('honest')")"
check "its event is there" 1 "$(q "SELECT count(*) FROM erp.event WHERE kind = 'honest'")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
