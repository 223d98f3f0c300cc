#!/usr/bin/env bash
# Found by the break-it pass of issue 11; fixed in a4d0512: this test now guards the fix.
# break11b_feed_cursor_xid_epoch: an edited feed cursor whose snapshot names a
# transaction id that pg_snapshot cannot hold (a 64-bit id whose low 32 bits are
# 0: 4294967296 = epoch 1, xid 0) passes the cursor's own checks (CursorParse in
# src/feeds.c checks xmin > 0 and the order of the ids only) and reaches the cast
# to pg_snapshot in CursorCheckUsable: the caller gets 22P02 "invalid input syntax
# for type pg_snapshot" instead of doc/feeds.md's IE004 (cursor does not parse) or
# IE010 (ahead of this database).  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_b11b_feed_epoch
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
trap '"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1' EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
sqlstate() {
    local s
    s=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -d "$DB" -c "$1" 2>&1 >/dev/null |
        sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1)
    echo "${s:-00000}"
}
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.node (code) VALUES ('DC1');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku) VALUES ('A');
SELECT erp.receive('A', 'DC1', 5);
SQL
CUR=$(q "SELECT next_since FROM erp.channel_availability_changes('WEB') LIMIT 1")
HEAD=$(cut -d/ -f1-4 <<<"$CUR")       # 1/<system>/<database>/<date>
MASTER=$(cut -d/ -f5 <<<"$CUR")
refused() {  # refused WHAT CURSOR: IE004 or IE010, never another code
    local s
    s=$(sqlstate "SELECT * FROM erp.channel_availability_changes('WEB', '$2')")
    case $s in IE004|IE010) s="IE004 or IE010" ;; esac
    check "$1 is refused with IE004 or IE010" "IE004 or IE010" "$s"
}
refused "a snapshot whose xmin and xmax are 2^32 (xid 0 of epoch 1)" "$HEAD/$MASTER/4294967296:4294967296:"
refused "a snapshot whose xmax is 2^32" "$HEAD/$MASTER/3:4294967296:"
refused "a snapshot with an in-progress id of 2^32" "$HEAD/$MASTER/3:4294967300:4294967296"
refused "a master snapshot of 2^32" "$HEAD/4294967296:4294967296:/4294967296:4294967296:"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
