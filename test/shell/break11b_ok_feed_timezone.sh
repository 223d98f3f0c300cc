#!/usr/bin/env bash
# break11b_ok_feed_timezone: a feed polled from sessions with different TimeZone
# settings (a connection pool, an operator's psql).  ATP promises from
# CURRENT_DATE, the SESSION's date, and the feed cursor carries that date
# (doc/feeds.md: "the lots whose promisable cut-off lies between the date of the
# cursor's call and today").  A lot whose cut-off is today in one zone is
# promisable there and not in a zone already at the next day.  Polled in UTC,
# then in the other zone, then in UTC again (the cursor's date then runs
# backwards), each poll must leave the feed's view equal to what the channel
# promises in that session.  It held.  The zone is picked from the hour so that
# its date differs from UTC's: UTC+14 from 10:00 UTC on, UTC-12 before (a run
# that would begin in the last minute before midnight UTC waits for midnight).
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_b11b_feed_tz
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
trap '"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1' EXIT
# q ZONE SQL
q() { PGTZ=$1 "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$2"; }
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
# The zones' dates must differ for the whole run (a few seconds): UTC+14's from
# 10:00 UTC to midnight, UTC-12's from midnight to 12:00.  A run that begins in
# the last minute before midnight UTC would see UTC's date move on under it
# (then UTC+14 and UTC share a date, and the lot's cut-off, set from UTC's date
# at the start, is yesterday in both): wait for midnight to pass first.
LEFT=$(q UTC "SELECT ceil(extract(epoch FROM (CURRENT_DATE + 1)::timestamptz - clock_timestamp()))::int")
if [ "$LEFT" -le 60 ]; then sleep $((LEFT + 1)); fi
HOUR=$(date -u +%H)
if [ "$((10#$HOUR))" -ge 10 ]; then OTHER=Etc/GMT-14; SHIFT=1; else OTHER=Etc/GMT+12; SHIFT=-1; fi
# the lot's cut-off: UTC's today when the other zone is at tomorrow (promisable in
# UTC, not there); the other zone's today when it is at yesterday (the reverse)
CUTOFF_DAYS=$([ "$SHIFT" = 1 ] && echo 0 || echo -1)
PGTZ=UTC "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.node (code) VALUES ('DC1');
INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, lot_tracked, min_shelf_life_days) VALUES ('TZ-LOT', true, 30);
SELECT erp.receive('TZ-LOT', 'DC1', 5, lot => 'L', expires_on => CURRENT_DATE + 30 + $CUTOFF_DAYS);
SQL
check "(the zones' dates differ)" yes "$([ "$(q UTC "SELECT CURRENT_DATE")" != "$(q "$OTHER" "SELECT CURRENT_DATE")" ] && echo yes)"
UTC_ATP=$(q UTC "SELECT erp.atp('TZ-LOT', NULL, 'WEB')")
OTHER_ATP=$(q "$OTHER" "SELECT erp.atp('TZ-LOT', NULL, 'WEB')")
check "(ATP differs by zone: UTC $UTC_ATP, $OTHER $OTHER_ATP)" yes "$([ "$UTC_ATP" != "$OTHER_ATP" ] && echo yes)"

declare -A view
cursor=""
poll() {  # poll ZONE: one delta (a full resynchronisation the first time), applied to view
    local zone=$1 rows line sku atp
    if [ -z "$cursor" ]; then
        rows=$(q "$zone" "SELECT coalesce(sku, ''), coalesce(atp::text, ''), next_since FROM erp.channel_availability_changes('WEB') " | tr '|' ' ')
    else
        rows=$(q "$zone" "SELECT coalesce(sku, ''), coalesce(atp::text, ''), next_since FROM erp.channel_availability_changes('WEB', '$cursor')" | tr '|' ' ')
    fi
    while read -r sku atp line; do
        if [ -z "$line" ]; then line=$atp; atp=""; fi     # the NULL row: "" "" cursor
        [ -n "$sku" ] && [ -n "$atp" ] && view[$sku]=$atp
        [ -z "$atp" ] && [ -n "$sku" ] && line=$sku && sku=""
        cursor=$line
    done <<<"$rows"
}
poll UTC
check "the first poll (UTC) shows the UTC promise" "$UTC_ATP" "${view[TZ-LOT]:-}"
poll "$OTHER"
check "a poll from $OTHER shows that zone's promise" "$OTHER_ATP" "${view[TZ-LOT]:-}"
poll UTC
check "a poll from UTC again: the feed's view is what UTC promises" "$UTC_ATP" "${view[TZ-LOT]:-}"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
