#!/usr/bin/env bash
# event_dump_restore: pg_dump / pg_restore keeps the exact consumer's state
# (issue 11): the commit stamps (erp.event_commit), the events' transaction
# numbers, the consumers and their cursors, and the sequences behind them.
# After the restore (in restore mode, as dump_restore.sh does it) a consumer
# goes on exactly where it was: the events it had not acknowledged come, then
# the new ones; nothing it acknowledged comes again.  New transactions get
# numbers and stamps after the restored ones, though the restored cluster
# hands out xids the old one used already.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}"
SRC=ierp_evdump_src
DST=ierp_evdump_dst
DUMP=$WORK/ierp_evdump.pgdump
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() {
    "$PGBIN/dropdb" --if-exists "$SRC" >/dev/null 2>&1
    "$PGBIN/dropdb" --if-exists "$DST" >/dev/null 2>&1
    rm -f "$DUMP"
}
trap cleanup EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
cleanup
"$PGBIN/createdb" "$SRC" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$SRC" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.event (kind) VALUES ('one');
INSERT INTO erp.event (kind) VALUES ('two');
BEGIN;
INSERT INTO erp.event (kind) VALUES ('three');
INSERT INTO erp.event (kind) VALUES ('four');
COMMIT;
SELECT count(*) FROM erp.read_events('feed', 2);
SELECT erp.ack_events('feed', '2:2');
SELECT count(*) FROM erp.read_events('feed', 1);
SQL
STAMPS="SELECT string_agg(concat_ws('|', commit_seq, txn_id, xid, committed_at), ';' ORDER BY commit_seq) FROM erp.event_commit"
EVENTS="SELECT string_agg(concat_ws('|', event_id, kind, txn_id), ';' ORDER BY event_id) FROM erp.event"
CONSUMERS="SELECT string_agg(concat_ws('|', consumer, owner_name, acked_commit_seq, acked_event_id, read_commit_seq, read_event_id, created_at, updated_at), ';' ORDER BY consumer) FROM erp.event_consumer"

"$PGBIN/pg_dump" -Fc -f "$DUMP" "$SRC" || exit 1
"$PGBIN/createdb" "$DST" || exit 1
PGOPTIONS='-c inventory_erp.restore_mode=on' "$PGBIN/pg_restore" -d "$DST" "$DUMP" >"$WORK/ierp_evdump.log" 2>&1
check "pg_restore exit status" 0 "$?"
check "pg_restore printed no error" "" "$(grep -E 'error|warning' "$WORK/ierp_evdump.log" | head -3)"
for what in STAMPS EVENTS CONSUMERS; do
    check "$what survive the dump" "$(q "$SRC" "${!what}")" "$(q "$DST" "${!what}")"
done
check "the restored events were not stamped a second time" 3 "$(q "$DST" "SELECT count(*) FROM erp.event_commit")"
check "the consumer goes on with what it had not acknowledged" "three,four" \
    "$(q "$DST" "SELECT string_agg(kind, ',' ORDER BY commit_seq, event_id) FROM erp.read_events('feed')")"
q "$DST" "INSERT INTO erp.event (kind) VALUES ('five')" >/dev/null
check "a new transaction's number and stamp come after the restored ones" "4|4" \
    "$(q "$DST" "SELECT e.txn_id || '|' || c.commit_seq FROM erp.event e JOIN erp.event_commit c USING (txn_id) WHERE e.kind = 'five'")"
check "... and its event is read after them, once" "three,four,five" \
    "$(q "$DST" "SELECT string_agg(kind, ',' ORDER BY commit_seq, event_id) FROM erp.read_events('feed')")"
check "erp.verify() is empty in the restored database" 0 "$(q "$DST" "SELECT count(*) FROM erp.verify()")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
