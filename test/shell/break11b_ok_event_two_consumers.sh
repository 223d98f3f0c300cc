#!/usr/bin/env bash
# break11b_ok_event_two_consumers: several sessions of ONE consumer name at once
# (doc/events.md: "two sessions of one consumer take turns ... would read the
# same batch").  Run in the exactly-once pattern (BEGIN; read_events; record the
# events; ack the last cursor; COMMIT), the turns make the sessions share the
# work with nothing lost and nothing twice:
#   rc: three sessions at READ COMMITTED, consumer 'shared' (new: its first
#       reads race to create it);
#   rr: two sessions at REPEATABLE READ, consumer 'shared_rr', which may be
#       refused with 40001 (retried, as a client would).
# Writers commit 1-3 events per transaction with pauses, out of id order.
# Checks: every committed event recorded exactly once per consumer name; no
# error but 40001 (rr only); erp.verify() empty.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${WORK:?}"
DB=ierp_b11b_two
OUT=$WORK/b11b_two
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
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
rm -rf "$OUT"; mkdir -p "$OUT"
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
q "CREATE EXTENSION inventory_erp;
   CREATE TABLE public.done (consumer text, session text, commit_seq bigint, event_id bigint)" || exit 1

for w in 1 2; do
    for i in $(seq 1 120); do
        echo "BEGIN;"
        for k in $(seq 1 $((RANDOM % 3 + 1))); do
            echo "INSERT INTO erp.event (kind, payload) VALUES ('two', '{\"w\": $w, \"i\": $i, \"k\": $k}');"
        done
        echo "SELECT pg_sleep($((RANDOM % 15)) / 1000.0);"
        echo "COMMIT;"
    done >"$OUT/writer$w.sql"
done
for w in 1 2; do
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$OUT/writer$w.sql" >"$OUT/writer$w.log" 2>&1 &
    PIDS+=($!)
done
WRITERS=("${PIDS[@]}")

consumer() {  # consumer NAME SESSION ISOLATION
    local name=$1 s=$2 iso=$3 out empty=0
    while :; do
        out=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -d "$DB" 2>&1 <<SQL
BEGIN ISOLATION LEVEL $iso;
CREATE TEMP TABLE b ON COMMIT DROP AS SELECT * FROM erp.read_events('$name', 1 + (random() * 9)::int);
INSERT INTO public.done SELECT '$name', '$s', commit_seq, event_id FROM b;
SELECT pg_sleep(random() * 0.01);
SELECT erp.ack_events('$name', cursor) FROM b ORDER BY commit_seq DESC, event_id DESC LIMIT 1;
SELECT 'n=' || count(*) FROM b;
COMMIT;
SQL
)
        case $out in
            *ERROR*) grep -q 'ERROR: *40001' <<<"$out" && [ "$iso" != "READ COMMITTED" ] ||
                         echo "$out" >>"$OUT/errors.$s" ;;
            *"n=0"*) if [ -e "$OUT/stop" ]; then empty=$((empty + 1)); [ $empty -ge 2 ] && break; fi; sleep 0.01 ;;
        esac
    done
}
consumer shared a "READ COMMITTED" & PIDS+=($!)
consumer shared b "READ COMMITTED" & PIDS+=($!)
consumer shared c "READ COMMITTED" & PIDS+=($!)
consumer shared_rr d "REPEATABLE READ" & PIDS+=($!)
consumer shared_rr e "REPEATABLE READ" & PIDS+=($!)
for p in "${WRITERS[@]}"; do wait "$p"; done
touch "$OUT/stop"
wait
PIDS=()
check "the writers ran without error" "" "$(cat "$OUT"/writer*.log | grep -E 'ERROR|FATAL' | head -3)"
check "the consumers met no error (but 40001 at REPEATABLE READ)" "" "$(cat "$OUT"/errors.* 2>/dev/null | head -5)"
for c in shared shared_rr; do
    check "$c: every committed event recorded" 0 \
        "$(q "SELECT count(*) FROM erp.event e WHERE NOT EXISTS (SELECT 1 FROM public.done d WHERE d.consumer = '$c' AND d.event_id = e.event_id)")"
    check "$c: no event recorded twice" 0 \
        "$(q "SELECT count(*) FROM (SELECT event_id FROM public.done WHERE consumer = '$c' GROUP BY 1 HAVING count(*) > 1) x")"
done
check "the three sessions of 'shared' all did some of the work" 3 "$(q "SELECT count(DISTINCT session) FROM public.done WHERE consumer = 'shared'")"
check "erp.verify() is empty" 0 "$(q "SELECT count(*) FROM erp.verify()")"
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
