#!/usr/bin/env bash
# break11b_ok_event_crash: the exact consumer across crashes (issue 11).
# Own cluster.  Three writers commit 1-3 events per transaction with random
# pauses before COMMIT (out of event_id order), reconnecting after each crash.
# Two consumers meanwhile:
#   x: exactly once: BEGIN; read_events into public.processed; pause; ack the
#      last cursor; COMMIT (work and ack in one transaction, doc/events.md);
#   y: at least once: read (autocommit), append to a file, pause, then ack in
#      another connection.
# Chaos: four times a kill -9 of x's backend while it sits between read and ack
# (the postmaster restarts every backend: writers, y too), then an immediate
# server stop (pg_ctl stop -m immediate) and a restart.
# Checks after the writers end and both consumers have drained: x processed every
# committed event exactly once, in strictly increasing (commit_seq, event_id);
# y's file holds every committed event, in order apart from the repeats of
# batches whose ack was lost; nothing in erp.event_consumer is beyond the
# stamps; erp.verify() is empty.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO_ROOT/scripts/pgenv.sh"

failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
DIR=$(pg_workdir b11bcrash)
DATA=$DIR/data
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    pg_stop "$DATA"
    if [ "$failures" -eq 0 ]; then rm -rf "$DIR"; else echo "(kept $DIR)"; fi
}
trap cleanup EXIT
PORT=$(pg_free_port)
pg_start "$DATA" "$PORT" max_connections=40 log_min_messages=warning restart_after_crash=on || exit 1
DB=ierp_b11b_crash
"$PGBIN/createdb" "$DB" || exit 1
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
up() { for _ in $(seq 1 300); do q "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
q "CREATE EXTENSION inventory_erp; CREATE TABLE public.processed (commit_seq bigint, event_id bigint)" || exit 1
STOP=$DIR/stop

writer() {  # writer W: transactions until $STOP exists, a new connection after any failure
    local w=$1 i=0
    while [ ! -e "$STOP" ]; do
        {
            for _ in $(seq 1 20); do
                i=$((i + 1))
                echo "BEGIN;"
                for k in $(seq 1 $((RANDOM % 3 + 1))); do
                    echo "INSERT INTO erp.event (kind, payload) VALUES ('crash', '{\"w\": $w, \"i\": $i, \"k\": $k}');"
                done
                echo "SELECT pg_sleep($((RANDOM % 20)) / 1000.0);"
                [ $((RANDOM % 6)) -eq 0 ] && echo "ROLLBACK;" || echo "COMMIT;"
            done
        } | "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null 2>&1 || sleep 0.2
    done
}
consumer_x() {  # exactly once: work and ack in one transaction
    while :; do
        out=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" 2>&1 <<'SQL'
SET application_name = 'b11b_x';
BEGIN;
CREATE TEMP TABLE b ON COMMIT DROP AS SELECT * FROM erp.read_events('x', 1 + (random() * 15)::int);
INSERT INTO public.processed SELECT commit_seq, event_id FROM b;
SELECT pg_sleep(0.03);
SELECT erp.ack_events('x', cursor) FROM b ORDER BY commit_seq DESC, event_id DESC LIMIT 1;
SELECT 'n=' || count(*) FROM b;
COMMIT;
SQL
)
        if [[ "$out" == *"n=0"* ]] && [ -e "$STOP.x" ]; then break; fi
        [[ "$out" == *n=* ]] || sleep 0.2
    done
}
consumer_y() {  # at least once: read, record, ack separately
    : >"$DIR/y.acked"; : >"$DIR/y.all"
    while :; do
        "$PGBIN/psql" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$DB" \
            -c "SELECT commit_seq, event_id, cursor FROM erp.read_events('y', 1 + (random() * 15)::int)" >"$DIR/y.batch" 2>/dev/null ||
            { sleep 0.2; continue; }
        n=$(wc -l <"$DIR/y.batch")
        if [ "$n" -eq 0 ]; then [ -e "$STOP.x" ] && break; sleep 0.02; continue; fi
        cut -d' ' -f1,2 "$DIR/y.batch" >>"$DIR/y.all"
        sleep 0.02
        cur=$(tail -1 "$DIR/y.batch" | cut -d' ' -f3)
        q "SELECT erp.ack_events('y', '$cur')" >/dev/null 2>&1 && cut -d' ' -f1,2 "$DIR/y.batch" >>"$DIR/y.acked"
    done
}

for w in 1 2 3; do writer $w & PIDS+=($!); done
consumer_x & XPID=$!
consumer_y & YPID=$!
PIDS+=($XPID $YPID)

kills=0
for round in 1 2 3 4; do
    sleep 1.5
    pid=""
    for _ in $(seq 1 100); do
        pid=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'b11b_x' AND query LIKE '%pg_sleep%' AND state = 'active'" 2>/dev/null | head -1)
        [ -n "$pid" ] && break
        sleep 0.01
    done
    if [ -n "$pid" ]; then kill -9 "$pid" && kills=$((kills + 1)); fi
    sleep 0.5
    up || { check "the server came back after kill -9" yes no; break; }
done
sleep 1.5
as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1
check "the server stopped immediately" no "$([ -f "$DATA/postmaster.pid" ] && echo yes || echo no)"
sleep 0.5
as_pg "$PGBIN/pg_ctl" -D "$DATA" -o "-p $PORT -k $DIR -c listen_addresses=''" -l "$DATA/server.log" -w -t 60 start >/dev/null ||
    { check "the server restarted" yes no; exit 1; }
up
sleep 2
touch "$STOP"
for p in "${PIDS[@]:0:3}"; do wait "$p"; done
touch "$STOP.x"
wait "$XPID" "$YPID"
PIDS=()
echo "   ($kills kill -9 of the consumer's backend between read and ack, then one immediate stop)"
check "x's backend was killed between read and ack at least twice" yes "$([ "$kills" -ge 2 ] && echo yes)"

ALL=$(q "SELECT count(*) FROM erp.event")
check "the writers committed events" yes "$([ "$ALL" -gt 100 ] && echo yes)"
check "x processed every committed event" 0 \
    "$(q "SELECT count(*) FROM erp.event e WHERE NOT EXISTS (SELECT 1 FROM public.processed p WHERE p.event_id = e.event_id)")"
check "x processed no event twice" 0 "$(q "SELECT count(*) FROM (SELECT event_id FROM public.processed GROUP BY 1 HAVING count(*) > 1) d")"
check "x processed nothing that is not a committed event" 0 \
    "$(q "SELECT count(*) FROM public.processed p WHERE NOT EXISTS (SELECT 1 FROM erp.event e WHERE e.event_id = p.event_id)")"
check "each processed commit_seq is its event's stamp" 0 \
    "$(q "SELECT count(*) FROM public.processed p JOIN erp.event e USING (event_id) JOIN erp.event_commit c ON c.txn_id = e.txn_id WHERE c.commit_seq <> p.commit_seq")"
"$PGBIN/psql" -X -q -d "$DB" -c "CREATE TABLE public.y_all (n serial, commit_seq bigint, event_id bigint)" \
    -c "\\copy public.y_all (commit_seq, event_id) FROM '$DIR/y.all' WITH (DELIMITER ' ')" >/dev/null
check "y saw every committed event" 0 \
    "$(q "SELECT count(*) FROM erp.event e WHERE NOT EXISTS (SELECT 1 FROM public.y_all y WHERE y.event_id = e.event_id)")"
check "y never saw an event of a transaction stamped after one it had not seen yet (every new event is the next in commit order)" 0 \
    "$(q "WITH f AS (SELECT event_id, min(n) AS first, min(commit_seq) AS s FROM public.y_all GROUP BY 1)
          SELECT count(*) FROM f a JOIN f b ON (b.s, b.event_id) > (a.s, a.event_id) AND b.first < a.first")"
check "y's acknowledged events are each acknowledged once" 0 "$(cut -d' ' -f2 "$DIR/y.acked" | sort | uniq -d | wc -l)"
check "no stamp without events" 0 \
    "$(q "SELECT count(*) FROM erp.event_commit c WHERE NOT EXISTS (SELECT 1 FROM erp.event e WHERE e.txn_id = c.txn_id)")"
check "erp.verify() is empty" 0 "$(q "SELECT count(*) FROM erp.verify()")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
