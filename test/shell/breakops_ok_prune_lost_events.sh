#!/usr/bin/env bash
# breakops_ok_prune_lost_events: erp.prune_events('0 seconds') runs again and
# again while four pgbench writers commit events (1 or 2 per transaction, in
# overlapping transactions) and consumers read them with
# erp.read_events/erp.ack_events:
#   - "main" reads batches of 1-40 and, at random, acknowledges the batch, a
#     prefix of it, or nothing (the batch comes again: redelivery);
#   - "late" is created while the writers and the prunes run, starts at the
#     oldest event kept and reads to the end;
#   - phase 2: "idle" is created before a second round of writers and prunes
#     and reads nothing until they are over.
# Checks: prunes really deleted events while main was behind (the test is not
# vacuous); main acknowledged exactly the events written (none skipped, none
# twice); late acknowledged exactly every event from its first
# one on in commit order; idle, read after the second round, finds every event of it;
# each consumer's acknowledged events came in increasing (commit_seq,
# event_id) order.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}"
DB=ierp_breakops_prune
OUT=$WORK/breakops_prune
failures=0
PIDS=()
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
}
trap cleanup EXIT
q() { "$PGBIN/psql" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
rm -rf "$OUT"; mkdir -p "$OUT"
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
CREATE SEQUENCE public.bo_n;
CREATE TABLE public.bo_acked (consumer text, n bigint, commit_seq bigint, event_id bigint, ord bigserial);
CREATE TABLE public.bo_phase (phase int);
INSERT INTO public.bo_phase VALUES (1);
-- one consumer pass: read a random batch, ack all / a prefix / nothing; returns rows read
CREATE FUNCTION public.bo_consume(c text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    rows erp.event[];
    r record;
    batch int := 1 + (random() * 39)::int;
    mode float8 := random();
    k int := 0;
    take int;
    last_cursor text;
    got int;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS bo_batch (i int, n bigint, commit_seq bigint, event_id bigint, cursor text);
    TRUNCATE bo_batch;
    INSERT INTO bo_batch SELECT row_number() OVER (), (e.payload->>'n')::bigint, e.commit_seq, e.event_id, e.cursor
      FROM erp.read_events(c, batch) e;
    GET DIAGNOSTICS got = ROW_COUNT;
    IF got = 0 THEN RETURN 0; END IF;
    take := CASE WHEN mode < 0.2 THEN 0 WHEN mode < 0.5 THEN 1 + (random() * (got - 1))::int ELSE got END;
    IF take = 0 THEN RETURN got; END IF;
    SELECT cursor INTO last_cursor FROM bo_batch WHERE i = take;
    PERFORM erp.ack_events(c, last_cursor);
    INSERT INTO public.bo_acked (consumer, n, commit_seq, event_id)
    SELECT c, b.n, b.commit_seq, b.event_id FROM bo_batch b WHERE b.i <= take ORDER BY b.i;
    RETURN got;
END
$$;
SQL
cat >"$OUT/writer.sql" <<'SQL'
BEGIN;
INSERT INTO erp.event (kind, payload) VALUES ('bo', jsonb_build_object('n', nextval('public.bo_n')));
\set two random(0, 1)
\if :two
SELECT pg_sleep(random() * 0.005);
INSERT INTO erp.event (kind, payload) VALUES ('bo', jsonb_build_object('n', nextval('public.bo_n')));
\endif
END;
SQL
consumer_loop() { # consumer_loop NAME: until the writers are done and nothing is left
    local c=$1 got
    while :; do
        got=$(q "SELECT public.bo_consume('$c')") || { echo "consumer $c failed" >&2; return 1; }
        if [ "$got" == 0 ] && [ -f "$OUT/writers_done" ]; then
            got=$(q "SELECT public.bo_consume('$c')"); [ "$got" == 0 ] && return 0
        fi
    done
}
prune_loop() {
    : >"$OUT/pruned"
    while [ ! -f "$OUT/writers_done" ]; do
        q "SELECT erp.prune_events('0 seconds')" >>"$OUT/pruned" 2>>"$OUT/prune.err" || echo "prune failed" >>"$OUT/prune.err"
    done
}

echo "== phase 1: writers, prunes, main and late consumers"
q "SELECT count(*) FROM erp.read_events('main', 1)" >/dev/null   # main exists from the start
"$PGBIN/pgbench" -n -c 4 -j 2 -T 6 -f "$OUT/writer.sql" "$DB" >"$OUT/pgbench1.log" 2>&1 &
PIDS+=($!); wpid=$!
prune_loop & PIDS+=($!); ppid=$!
consumer_loop main & PIDS+=($!); mpid=$!
sleep 3
consumer_loop late & PIDS+=($!); lpid=$!
wait $wpid; check "the writers ran without error" 0 $?
touch "$OUT/writers_done"
wait $ppid; wait $mpid; mrc=$?; wait $lpid; lrc=$?
check "the consumers ran without error" "0 0" "$mrc $lrc"
check "no prune failed" "" "$(cat "$OUT/prune.err")"
written=$(q "SELECT last_value FROM public.bo_n")
echo "         $written events written, $(wc -l <"$OUT/pruned") prunes"
check "prunes deleted events while main read (not vacuous)" yes \
    "$(awk '{s += $1} END {print (s > 0 ? "yes" : "no")}' "$OUT/pruned")"
check "main acknowledged every event written, once" "$written $written 1 $written" \
    "$(q "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM public.bo_acked WHERE consumer = 'main'")"
check "main's acknowledged events came in commit order" 0 \
    "$(q "SELECT count(*) FROM (SELECT (commit_seq, event_id) < lag((commit_seq, event_id)) OVER (ORDER BY ord) AS back FROM public.bo_acked WHERE consumer = 'main') s WHERE back")"
# late's tail in commit order: every event main acknowledged at or after late's
# first one (main acknowledged them all, with their commit_seq) came to late too
check "late acknowledged a gap-free tail: every event from its first one on (commit order), once" "0 0" \
    "$(q "WITH f AS (SELECT commit_seq, event_id FROM public.bo_acked WHERE consumer = 'late' ORDER BY ord LIMIT 1)
          SELECT (SELECT count(*) FROM public.bo_acked m, f WHERE m.consumer = 'main'
                     AND (m.commit_seq, m.event_id) >= (f.commit_seq, f.event_id)
                     AND NOT EXISTS (SELECT 1 FROM public.bo_acked a WHERE a.consumer = 'late' AND a.n = m.n)) || ' ' ||
                 (SELECT count(*) - count(DISTINCT n) FROM public.bo_acked WHERE consumer = 'late')")"
check "late's first event is one not pruned when it started (it started at the oldest kept)" yes \
    "$(q "SELECT CASE WHEN min(n) IS NOT NULL THEN 'yes' ELSE 'no' END FROM public.bo_acked WHERE consumer = 'late'")"

echo "== phase 2: an idle consumer during writers and prunes"
rm -f "$OUT/writers_done"
start=$(q "SELECT last_value FROM public.bo_n")
q "SELECT count(*) FROM erp.read_events('idle', 1)" >/dev/null
# idle's read above returned the oldest kept event, if any: its cursor stays at 0
"$PGBIN/pgbench" -n -c 4 -j 2 -T 3 -f "$OUT/writer.sql" "$DB" >"$OUT/pgbench2.log" 2>&1 &
PIDS+=($!); wpid=$!
prune_loop & PIDS+=($!); ppid=$!
consumer_loop main & PIDS+=($!); mpid=$!
wait $wpid; touch "$OUT/writers_done"; wait $ppid; wait $mpid
written2=$(q "SELECT last_value FROM public.bo_n")
consumer_loop idle
check "idle, read after the prunes, finds every event written while it waited" 0 \
    "$(q "SELECT count(*) FROM generate_series($start + 1, $written2) g(n)
           WHERE NOT EXISTS (SELECT 1 FROM public.bo_acked a WHERE a.consumer = 'idle' AND a.n = g.n)")"
check "main again acknowledged every event, once" "$written2 $written2" \
    "$(q "SELECT count(*), count(DISTINCT n) FROM public.bo_acked WHERE consumer = 'main'")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
