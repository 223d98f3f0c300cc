#!/usr/bin/env bash
# event_consumer_stress: the exact consumer under concurrent writers (issue 11).
# Six writers commit events at once with random delays before their commits
# (so transactions commit out of event_id order): three psql scripts of
# BEGIN; INSERT 1-3 events; pg_sleep; COMMIT (some ROLLBACK, some rolled back
# to a savepoint before their COMMIT), a procedure that
# COMMITs inside its loop, erp.delay_po (supplier_delay events written by the
# extension's C code), and wrong pick scans (pick_exception events written and
# committed by the detached background worker).  Meanwhile a consumer loop
# reads batches of random size with erp.read_events and, at random, "crashes"
# (disconnects without acknowledging), acknowledges the whole batch, or
# acknowledges a prefix of it; every read is a new connection.
# Checks: the acknowledged events are exactly the events written (none lost,
# none twice); they came in strictly increasing (commit_seq, event_id) order;
# the read after a crash starts with the crashed batch's first event (the
# unacknowledged batch repeats); each event's commit_seq is its transaction's
# stamp; erp.verify() is empty.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}"
DB=ierp_event_stress
OUT=$WORK/event_stress
failures=0
WRITER_PIDS=()
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() {
    local p
    for p in "${WRITER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
}
trap cleanup EXIT
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

rm -rf "$OUT"; mkdir -p "$OUT"
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, unit_cost) VALUES ('EVS-1', 5);
INSERT INTO erp.node (code) VALUES ('EVS-DC');
INSERT INTO erp.supplier (code) VALUES ('EVS-SUP');
SELECT erp.receive('EVS-1', 'EVS-DC', 100);
INSERT INTO erp.channel (code, kind) VALUES ('EVS-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'EVS-WEB' AND n.code = 'EVS-DC';
SELECT count(*) FROM erp.allocate(erp.capture_order('EVS-WEB', 'EVS-O1', '[{"sku": "EVS-1", "qty": 1}]'));
SELECT erp.create_po('EVS-SUP', 'EVS-DC', '[{"sku": "EVS-1", "qty": 10}]', now() + interval '7 days');
CREATE PROCEDURE public.stress_writer(n integer) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        INSERT INTO erp.event (kind, payload) VALUES ('stress', jsonb_build_object('writer', 'proc', 'n', i));
        PERFORM pg_sleep(random() * 0.02);
        COMMIT;
    END LOOP;
END
$$;
CREATE FUNCTION public.wrong_scan(order_id bigint) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM erp.pick(order_id, 'EVS-WRONG', 1);
    RETURN 'accepted';
EXCEPTION WHEN SQLSTATE 'IE007' THEN
    RETURN 'refused';
END
$$;
SQL
BEFORE=$(q "SELECT count(*) FROM erp.event")

# the scripted writers: BEGIN; 1-3 events; a random pause; COMMIT (1 in 8 ROLLBACK)
for w in 1 2 3; do
    for i in $(seq 1 60); do
        echo "BEGIN;"
        # 1 in 8: all events rolled back to a savepoint, then COMMIT (no stamp may be drawn)
        undo=$([ $((RANDOM % 8)) -eq 0 ] && echo yes)
        [ -n "$undo" ] && echo "SAVEPOINT s;"
        for k in $(seq 1 $((RANDOM % 3 + 1))); do
            echo "INSERT INTO erp.event (kind, payload) VALUES ('stress', '{\"writer\": $w, \"n\": $i, \"k\": $k}');"
        done
        [ -n "$undo" ] && echo "ROLLBACK TO SAVEPOINT s;"
        echo "SELECT pg_sleep($((RANDOM % 25)) / 1000.0);"
        if [ $((RANDOM % 8)) -eq 0 ]; then echo "ROLLBACK;"; else echo "COMMIT;"; fi
    done >"$OUT/writer$w.sql"
done
PO=$(q "SELECT purchase_order_id FROM erp.purchase_order ORDER BY 1 DESC LIMIT 1")
ORDER=$(q "SELECT order_id FROM erp.sales_order WHERE external_ref = 'EVS-O1'")
for i in $(seq 1 40); do
    echo "BEGIN; SELECT erp.delay_po($PO, now() + interval '$((7 + i)) days'); SELECT pg_sleep($((RANDOM % 25)) / 1000.0); COMMIT;"
done >"$OUT/writer_delay.sql"
for i in $(seq 1 10); do
    echo "BEGIN; SELECT public.wrong_scan($ORDER); SELECT pg_sleep($((RANDOM % 25)) / 1000.0); ROLLBACK;"
done >"$OUT/writer_scan.sql"

echo "== six writers start"
for f in writer1 writer2 writer3 writer_delay writer_scan; do
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$OUT/$f.sql" >"$OUT/$f.log" 2>&1 &
    WRITER_PIDS+=($!)
done
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CALL public.stress_writer(80)" >"$OUT/writer_proc.log" 2>&1 &
WRITER_PIDS+=($!)

writers_running() {
    local p
    for p in "${WRITER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
    return 1
}

# the consumer: read, then crash, ack all, or ack a prefix
: >"$OUT/acked"
crashes=0; acks=0; partial=0; repeat_bad=0; crashed_first=""
empty_after_done=0
while :; do
    running=no; writers_running && running=yes
    max=$((RANDOM % 20 + 1))
    "$PGBIN/psql" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "$DB" \
        -c "SELECT commit_seq, event_id, cursor FROM erp.read_events('stress', $max)" >"$OUT/batch" 2>"$OUT/read.err" ||
        { cat "$OUT/read.err"; check "a read succeeds" ok failed; break; }
    n=$(wc -l <"$OUT/batch")
    if [ -n "$crashed_first" ]; then
        first=$(head -1 "$OUT/batch" | cut -d' ' -f1,2)
        [ "$first" == "$crashed_first" ] || repeat_bad=$((repeat_bad + 1))
        crashed_first=""
    fi
    if [ "$n" -eq 0 ]; then
        if [ "$running" = no ]; then
            empty_after_done=$((empty_after_done + 1))
            [ "$empty_after_done" -ge 2 ] && break
        fi
        sleep 0.01
        continue
    fi
    case $((RANDOM % 4)) in
        0)  crashes=$((crashes + 1))
            crashed_first=$(head -1 "$OUT/batch" | cut -d' ' -f1,2)
            continue ;;
        1)  take=$((RANDOM % n + 1)); partial=$((partial + 1)) ;;
        *)  take=$n ;;
    esac
    cursor=$(sed -n "${take}p" "$OUT/batch" | cut -d' ' -f3)
    "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "SELECT erp.ack_events('stress', '$cursor')" >/dev/null 2>"$OUT/ack.err" ||
        { cat "$OUT/ack.err"; check "an ack succeeds" ok failed; break; }
    head -"$take" "$OUT/batch" | cut -d' ' -f1,2 >>"$OUT/acked"
    acks=$((acks + 1))
done
wait
for f in writer1 writer2 writer3 writer_delay writer_scan writer_proc; do
    check "writer $f ran without error" "" "$(grep -E 'ERROR|FATAL' "$OUT/$f.log" | head -3)"
done
echo "   (consumer: $acks acks, $partial of them partial, $crashes crashes)"

WRITTEN=$(q "SELECT count(*) FROM erp.event")
check "the writers wrote events (of all three origins)" "pick_exception stress supplier_delay" \
    "$(q "SELECT string_agg(kind, ' ' ORDER BY kind) FROM (SELECT DISTINCT kind FROM erp.event WHERE event_id > 0) k")"
check "some reads crashed before their ack (the test exercised repeats)" yes "$([ "$crashes" -gt 0 ] && echo yes)"
check "acknowledged events = events written ($WRITTEN, $BEFORE before the writers)" "$WRITTEN" "$(wc -l <"$OUT/acked")"
check "no event acknowledged twice" 0 "$(cut -d' ' -f2 "$OUT/acked" | sort -n | uniq -d | wc -l)"
check "the acknowledged set is the written set" \
    "$(q "SELECT md5(string_agg(event_id::text, ',' ORDER BY event_id)) FROM erp.event")" \
    "$(cut -d' ' -f2 "$OUT/acked" | sort -n | paste -sd, | tr -d '\n' | md5sum | cut -d' ' -f1)"
check "events came in strictly increasing (commit_seq, event_id) order" 0 \
    "$(awk 'NR > 1 && ($1 < s || ($1 == s && $2 <= e)) {bad++} {s = $1; e = $2} END {print bad + 0}' "$OUT/acked")"
check "after each crash the next read began with the crashed batch's first event" 0 "$repeat_bad"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE TABLE public.acked (commit_seq bigint, event_id bigint)" >/dev/null
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "\\copy public.acked FROM '$OUT/acked' WITH (DELIMITER ' ')" >/dev/null
check "each event's commit_seq is its own transaction's stamp" 0 \
    "$(q "SELECT count(*) FROM public.acked a JOIN erp.event e USING (event_id) JOIN erp.event_commit c ON c.txn_id = e.txn_id WHERE c.commit_seq <> a.commit_seq")"
check "no stamp without events (writers whose events all rolled back, to a savepoint too, drew none)" 0 \
    "$(q "SELECT count(*) FROM erp.event_commit c WHERE NOT EXISTS (SELECT 1 FROM erp.event e WHERE e.txn_id = c.txn_id)")"
check "erp.verify() is empty" 0 "$(q "SELECT count(*) FROM erp.verify()")"

echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
