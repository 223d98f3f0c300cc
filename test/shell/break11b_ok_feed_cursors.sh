#!/usr/bin/env bash
# break11b_ok_feed_cursors: erp.channel_availability_changes against garbage and
# edited cursors, and a lot crossing its minimum shelf life by date (a cursor
# whose date field says it was taken one or two days ago, nothing else changed).
# Garbage: each refused with the code doc/feeds.md gives (IE004 does not parse,
# IE010 another database or ahead), and the data unchanged.  Dates: a lot whose
# cut-off (expires_on - min_shelf_life_days) was yesterday is reported (ATP 0)
# to a cursor of two days ago and of yesterday, not to today's; a lot whose
# cut-off is today is promisable and not reported.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_b11b_feed_cursors
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
trap '"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1' EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
sqlstate() {
    local s
    # on stdin: a 300 kB statement is beyond what one command-line argument may hold
    s=$(printf '%s;\n' "$1" | "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -d "$DB" 2>&1 >/dev/null |
        sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' | head -1)
    echo "${s:-00000}"
}
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
# The lots' cut-offs are set from today, and the checks below read today again
# in other transactions: a run that began in the last minute before the
# session's midnight would find "today" moved on under it.  Wait for midnight.
LEFT=$(q "SELECT ceil(extract(epoch FROM (CURRENT_DATE + 1)::timestamptz - clock_timestamp()))::int")
if [ "$LEFT" -le 60 ]; then sleep $((LEFT + 1)); fi
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.node (code) VALUES ('DC1');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku) VALUES ('A');
INSERT INTO erp.item (sku, lot_tracked, min_shelf_life_days) VALUES ('CUT-TODAY', true, 30), ('CUT-YESTERDAY', true, 30);
SELECT erp.receive('A', 'DC1', 5);
SELECT erp.receive('CUT-TODAY', 'DC1', 5, lot => 'T', expires_on => CURRENT_DATE + 30);
SELECT erp.receive('CUT-YESTERDAY', 'DC1', 5, lot => 'Y', expires_on => CURRENT_DATE + 29);
SQL
q "SELECT next_since FROM erp.channel_availability_changes('WEB') LIMIT 1" >/dev/null
CUR=$(q "SELECT next_since FROM erp.channel_availability_changes('WEB') LIMIT 1")
# one more delta, so that the setup's master changes are behind the cursor
CUR=$(q "SELECT next_since FROM erp.channel_availability_changes('WEB', '$CUR') LIMIT 1")
SYS=$(cut -d/ -f2 <<<"$CUR"); DBOID=$(cut -d/ -f3 <<<"$CUR"); DAY=$(cut -d/ -f4 <<<"$CUR")
SNAPS=$(cut -d/ -f5- <<<"$CUR")
FINGER="SELECT md5(string_agg(b::text, ',' ORDER BY b::text)) FROM erp.stock_balance b"
BEFORE=$(q "$FINGER")
expect() {  # expect WHAT CODE CURSOR
    check "$1: $2" "$2" "$(sqlstate "SELECT * FROM erp.channel_availability_changes('WEB', \$c\$$3\$c\$)")"
}
check "(the SQLSTATE helper sees an error)" 22012 "$(sqlstate "SELECT 1 / 0")"
expect "random text" IE004 "$(head -c 60 /dev/urandom | base64 | tr -d '\n')"
expect "an empty cursor" IE004 ""
expect "a cursor of another format version" IE004 "2/${CUR#1/}"
expect "a truncated cursor" IE004 "${CUR:0:$(( ${#CUR} - 4 ))}"
expect "a cursor with a trailing space" IE004 "$CUR "
expect "a cursor with a trailing newline" IE004 "$CUR
"
expect "xmin > xmax" IE004 "1/$SYS/$DBOID/$DAY/3:3:/9:5:"
expect "in-progress ids out of order" IE004 "1/$SYS/$DBOID/$DAY/3:3:/3:20:9,7"
expect "an in-progress id twice" IE004 "1/$SYS/$DBOID/$DAY/3:3:/3:20:9,9"
expect "an in-progress id at xmax" IE004 "1/$SYS/$DBOID/$DAY/3:3:/3:20:20"
expect "a master snapshot newer than the snapshot" IE004 "1/$SYS/$DBOID/$DAY/9:9:/3:3:"
expect "a 20-digit number" IE004 "1/$SYS/$DBOID/$DAY/3:3:/3:18446744073709551615:"
expect "a negative number" IE004 "1/$SYS/$DBOID/$DAY/3:3:/-3:3:"
expect "a date 2026-02-30" IE004 "1/$SYS/$DBOID/20260230/$SNAPS"
expect "a date 0000-00-00" IE004 "1/$SYS/$DBOID/00000000/$SNAPS"
expect "a 300 kB cursor" IE004 "1/$SYS/$DBOID/$DAY/$SNAPS$(head -c 300000 /dev/zero | tr '\0' '7')"
expect "a snapshot from the future" IE010 "1/$SYS/$DBOID/$DAY/3:3:/900000000:900000000:"
expect "another database's cursor" IE010 "1/$SYS/$((DBOID + 1))/$DAY/$SNAPS"
expect "another cluster's cursor" IE010 "1/$((SYS + 1))/$DBOID/$DAY/$SNAPS"
expect "a snapshot older than the history kept" IE010 "1/$SYS/$DBOID/$DAY/3:3:/3:3:"
check "the refusals changed nothing" "$BEFORE" "$(q "$FINGER")"

at_day() { date -u -d "$1" +%Y%m%d; }
changes() { q "SELECT string_agg(coalesce(sku, '-') || '=' || coalesce(atp::text, '-'), ' ' ORDER BY sku) FROM erp.channel_availability_changes('WEB', '1/$SYS/$DBOID/$1/$SNAPS')"; }
TODAY=$(q "SELECT to_char(CURRENT_DATE, 'YYYYMMDD')")
check "a cursor of today: nothing changed" "-=-" "$(changes "$TODAY")"
check "a cursor of yesterday: the lot whose cut-off was yesterday went to 0" "CUT-YESTERDAY=0" \
    "$(changes "$(q "SELECT to_char(CURRENT_DATE - 1, 'YYYYMMDD')")")"
check "a cursor of two days ago: the same" "CUT-YESTERDAY=0" \
    "$(changes "$(q "SELECT to_char(CURRENT_DATE - 2, 'YYYYMMDD')")")"
check "(a lot whose cut-off is today is still promised)" 5 "$(q "SELECT erp.atp('CUT-TODAY', NULL, 'WEB')")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
