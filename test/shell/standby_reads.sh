#!/usr/bin/env bash
# standby_reads: a storefront may point its reads at a streaming standby
# (doc/operations.md, "Physical backups": replicas need nothing specific).  A
# primary with a small shop and a pg_basebackup standby of it: on the standby,
# erp.atp, erp.availability, erp.channel_availability, erp.dashboard, the pick
# queue and erp.verify() answer as on the primary, and a write is refused with
# PostgreSQL's read-only error (25006), not a lock error.
# Catches: a read path that locks the kernel's tables in a write mode (refused
# during recovery: "cannot acquire lock mode RowExclusiveLock on database
# objects while recovery is in progress"), or writes anything.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}" "${REPO_ROOT:?}"
. "$REPO_ROOT/scripts/pgenv.sh"
PRI_DIR=$WORK/standby_pri/data
STB_DIR=$WORK/standby_stb/data
cleanup() { pg_stop "$STB_DIR"; pg_stop "$PRI_DIR"; rm -rf "$WORK/standby_pri" "$WORK/standby_stb"; }
trap cleanup EXIT
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
PRI_PORT=$(pg_free_port)
( pg_start "$PRI_DIR" "$PRI_PORT" fsync=off max_wal_senders=4 ) || exit 1
pri() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/standby_pri" -p "$PRI_PORT" -U postgres -d shop "$@"; }
"$PGBIN/createdb" -h "$WORK/standby_pri" -p "$PRI_PORT" -U postgres shop || exit 1
pri >/dev/null <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('SB-N1', 'warehouse'), ('SB-N2', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('SB-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, row_number() OVER (ORDER BY n.code) FROM erp.channel c, erp.node n;
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES ('SB-A', 'a', 1, 2), ('SB-B', 'b', 1, 2);
SELECT erp.receive('SB-A', 'SB-N1', 10), erp.receive('SB-A', 'SB-N2', 4), erp.receive('SB-B', 'SB-N2', 3);
SELECT count(*) FROM erp.place_order('SB-WEB', 'sb-1', '[{"sku": "SB-A", "qty": 3}, {"sku": "SB-B", "qty": 1}]');
SQL
mkdir -p "$WORK/standby_stb"
chown postgres: "$WORK/standby_stb"
as_pg "$PGBIN/pg_basebackup" -h "$WORK/standby_pri" -p "$PRI_PORT" -U postgres -D "$STB_DIR" -R -X stream \
    >"$WORK/standby_basebackup.log" 2>&1 || { cat "$WORK/standby_basebackup.log"; exit 1; }
STB_PORT=$(pg_free_port)
as_pg "$PGBIN/pg_ctl" -D "$STB_DIR" -o "-p $STB_PORT -k $WORK/standby_stb -c listen_addresses='' -c hot_standby=on" \
    -l "$STB_DIR/server.log" -w -t 60 start >/dev/null || { cat "$STB_DIR/server.log"; exit 1; }
stb() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK/standby_stb" -p "$STB_PORT" -U postgres -d shop "$@"; }
# one more order after the copy: the standby must replay it before it is read
pri -c "SELECT count(*) FROM erp.place_order('SB-WEB', 'sb-2', '[{\"sku\": \"SB-A\", \"qty\": 2}]')" >/dev/null || exit 1
lsn=$(pri -c "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 100); do
    [ "$(stb -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn" 2>/dev/null)" = t ] && break
    sleep 0.2
done
check "the standby is in recovery" t "$(stb -c 'SELECT pg_is_in_recovery()' 2>&1)"

reads="SELECT erp.atp('SB-A', 'SB-N1', 'SB-WEB'), erp.atp('SB-A', 'SB-N2', 'SB-WEB'), erp.atp('SB-B', 'SB-N2', 'SB-WEB');
SELECT string_agg(format('%s %s %s', sku, node, available), ', ' ORDER BY sku, node) FROM erp.availability;
SELECT count(*) FROM erp.channel_availability;
SELECT count(*) FROM erp.dashboard;
SELECT count(*) FROM erp.pick_queue;
SELECT count(*) FROM erp.verify();"
expected=$(pri -c "$reads" 2>&1)
check "the primary's reads (atp 8 1 2: sb-1 whole at SB-N2, sb-2 at SB-N1)" "8|1|2" "$(echo "$expected" | head -1)"
check "the same reads on the standby" "$expected" "$(stb -c "$reads" 2>&1)"
err=$(stb -c "SELECT erp.receive('SB-A', 'SB-N1', 1)" 2>&1 >/dev/null; true)
check "a write on the standby is refused as read-only" "ERROR:  cannot execute" "$(echo "$err" | grep -o '^ERROR:  cannot execute' | head -1)"
state=$("$PGBIN/psql" -X -q -At -h "$WORK/standby_stb" -p "$STB_PORT" -U postgres -d shop \
    -c "\\set VERBOSITY verbose" -c "SELECT erp.receive('SB-A', 'SB-N1', 1)" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)
check "its SQLSTATE" "25006" "$state"
[ "$failures" -eq 0 ] && echo "ok: reads on a standby answer as on the primary"
exit $((failures > 0))
