#!/usr/bin/env bash
# integration_client: the example connector of doc/integration.md (examples/connector.py)
# run as a real integration would run it, all roles at once against one database:
# two storefronts (shared orders, redeliveries, lost COMMITs, retries by SQLSTATE),
# a warehouse (pick, pack, ship, wrong scans), a returns desk (authorize, receive,
# inspect), an exact event consumer (crashing between read and ack) and an
# availability feed (losing its cursor and resynchronising).  Bounded: 2 x 150 new
# orders, and a hard limit of 90 s per process.  Then it checks what a user of the
# connector relies on:
#   - every order a storefront saw acknowledged exists exactly once, under the one
#     id every acknowledgement of it gave, and no order exists that was never
#     acknowledged;
#   - the events the consumer processed are exactly the events written (the same
#     set, none twice);
#   - the feed's last view of every sku equals erp.channel_availability;
#   - erp.verify() finds nothing.
# A part whose feature is not installed yet is skipped LOUDLY ("NOT RUN").
# Needs Debian's python3 with psycopg 3 (scripts/deps.sh installs python3-psycopg).
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
CLIENT=$REPO_ROOT/examples/connector.py
DB=ierp_integration_client
ORDERS=${ORDERS:-150}
LIMIT=90
failures=0
skipped=()
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
# check_true MESSAGE CONDITION-WORD: CONDITION-WORD is "yes" when it holds
check_true() { check "$1" yes "$2"; }
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

TMP=$(mktemp -d /tmp/inventory_erp-client.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

"$PY" -c 'import psycopg' || { echo "python3-psycopg is missing: run scripts/deps.sh"; exit 1; }
"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
# Eight items at two nodes of the channel WEB; 120 units each, fewer than the
# orders ask for, so some lines are backordered (CL-G, CL-H allow it) or short.
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, unit_cost, unit_price, allow_backorder)
SELECT 'CL-' || s, 2, 30, s IN ('G', 'H') FROM unnest(ARRAY['A','B','C','D','E','F','G','H']) s;
INSERT INTO erp.node (code, latitude, longitude) VALUES ('CL-DC1', 51.5, -0.1), ('CL-DC2', 53.4, -2.2);
INSERT INTO erp.channel (code, kind) VALUES ('WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, row_number() OVER (ORDER BY n.code)
  FROM erp.channel c, erp.node n WHERE c.code = 'WEB';
SELECT erp.receive(i.sku, n.code, CASE n.code WHEN 'CL-DC1' THEN 80 ELSE 40 END, ref => 'opening')
  FROM erp.item i, erp.node n ORDER BY i.sku, n.code;
SQL
export PGDATABASE=$DB

has_fn() { q "SELECT to_regproc('$1') IS NOT NULL OR to_regclass('$1') IS NOT NULL"; }
IDEM=()
if [ "$(has_fn erp.place_order)" != t ]; then
    skipped+=("erp.place_order is not installed: the storefronts capture and allocate in two calls, and 'created' is not checked")
fi
# Idempotency keys that work make lost COMMITs safe for every call, not only for
# captures (which are idempotent on the order's external_ref anyway).
if [ "$(q "SELECT count(*) FROM pg_proc WHERE pronamespace = 'erp'::regnamespace AND proname ~ 'idempot'")" != 0 ]; then
    IDEM=(--idempotent)
else
    skipped+=("idempotency keys are not read yet: warehouse and returns do not lose COMMIT replies")
fi

run() { # run NAME ROLE ARGS...: start one role in the background
    local name=$1
    shift
    timeout "$LIMIT" "$PY" "$CLIENT" "$@" --name "$name" --out "$TMP/$name.jsonl" \
        --seconds "$LIMIT" 2>"$TMP/$name.log" &
    pids+=($!)
    eval "PID_$name=$!"
}

echo "== running: storefront x2 ($ORDERS new orders each), warehouse, returns, consumer, feed"
run consumer consumer --until-file "$TMP/stop-followers" --crash 0.15 --batch 20
run feed feed --until-file "$TMP/stop-followers" --sku-prefix CL- --gap 0.1
run warehouse warehouse --until-file "$TMP/stop-writers" "${IDEM[@]}"
run returns returns --until-file "$TMP/stop-writers" "${IDEM[@]}"
run A storefront --orders "$ORDERS" --sku-prefix CL- --seed 1 --lose-commit 0.08
run B storefront --orders "$ORDERS" --sku-prefix CL- --seed 2 --lose-commit 0.08
# shellcheck disable=SC2154
{ wait "$PID_A"; rcA=$?; wait "$PID_B"; rcB=$?; }
touch "$TMP/stop-writers"
{ wait "$PID_warehouse"; rcW=$?; wait "$PID_returns"; rcR=$?; }
touch "$TMP/stop-followers"
{ wait "$PID_consumer"; rcC=$?; wait "$PID_feed"; rcF=$?; }
pids=()
for n in A B warehouse returns consumer feed; do sed "s/^/   [$n] /" "$TMP/$n.log"; done
check "every client process ended by itself and without error (A B warehouse returns consumer feed)" \
    "0 0 0 0 0 0" "$rcA $rcB $rcW $rcR $rcC $rcF"

# Load what the clients saw, one JSON document per row.
q "CREATE TABLE connector_log (role text, doc jsonb)"
for n in A B warehouse returns consumer feed; do
    [ -f "$TMP/$n.jsonl" ] || continue
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE TEMP TABLE l (doc jsonb);" \
        -c "\\copy l FROM '$TMP/$n.jsonl' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" \
        -c "INSERT INTO connector_log SELECT '$n', doc FROM l;" || exit 1
done
stat() { q "SELECT coalesce(sum((doc->>'$2')::bigint), 0) FROM connector_log WHERE role IN ($1) AND doc->>'kind' = 'stats'"; }

echo "== the storefronts: every acknowledged order exists exactly once"
check_true "the storefronts placed orders, redelivered some, shared some and lost COMMIT replies" \
    "$(q "SELECT CASE WHEN $(stat "'A','B'" acknowledged) >= 2 * $ORDERS AND $(stat "'A','B'" redelivery) > 0
                      AND $(stat "'A','B'" shared) > 0 AND $(stat "'A','B'" lost_commit) > 0 THEN 'yes' END")"
check "no storefront call was refused" "0" \
    "$(q "SELECT count(*) FROM connector_log WHERE role IN ('A','B') AND doc->>'kind' = 'refused'")"
q "CREATE TABLE ack AS SELECT doc->>'ref' AS ref, doc->>'delivery' AS delivery, (doc->>'order_id')::bigint AS order_id,
        (doc->>'created')::boolean AS created FROM connector_log WHERE doc->>'kind' = 'ack'"
check "every acknowledgement of one order gave the same order id" "" \
    "$(q "SELECT string_agg(ref, ' ') FROM (SELECT ref FROM ack GROUP BY ref HAVING count(DISTINCT order_id) > 1) x")"
check "every acknowledged order exists, under the id it was acknowledged with, exactly once" "" \
    "$(q "SELECT string_agg(a.ref, ' ') FROM (SELECT DISTINCT ref, order_id FROM ack) a
           WHERE (SELECT count(*) FROM erp.sales_order o JOIN erp.channel c USING (channel_id)
                   WHERE c.code = 'WEB' AND o.external_ref = a.ref AND o.order_id = a.order_id) <> 1
              OR (SELECT count(*) FROM erp.sales_order o WHERE o.external_ref = a.ref) <> 1")"
check "no order exists that no storefront saw acknowledged" "" \
    "$(q "SELECT string_agg(external_ref, ' ') FROM erp.sales_order o
           WHERE NOT EXISTS (SELECT 1 FROM ack WHERE ack.ref = o.external_ref)")"
check "both storefronts' new orders and the shared ones are all there" \
    "$(q "SELECT count(DISTINCT ref) FROM ack")" "$(q "SELECT count(*) FROM erp.sales_order")"
if [ "$(has_fn erp.place_order)" = t ]; then
    check "exactly one delivery of each order was told created (a retried lost COMMIT replays it; a redelivery says created = false)" "" \
        "$(q "SELECT string_agg(ref, ' ') FROM (SELECT ref FROM ack GROUP BY ref
               HAVING count(DISTINCT delivery) FILTER (WHERE created) <> 1) x")"
fi

echo "== the warehouse and the returns desk"
check_true "the warehouse shipped orders, and met wrong scans (IE007)" \
    "$(q "SELECT CASE WHEN $(stat "'warehouse'" shipped) > 0 AND $(stat "'warehouse'" wrong_scan_IE007) > 0 THEN 'yes' END")"
check "every order the warehouse shipped is shipped, once" "" \
    "$(q "SELECT string_agg(w.order_id::text, ' ') FROM (SELECT (doc->>'order_id')::bigint AS order_id, count(*) n
            FROM connector_log WHERE role = 'warehouse' AND doc->>'kind' = 'shipped' GROUP BY 1) w
           WHERE w.n <> 1 OR (SELECT count(*) FROM erp.shipment s WHERE s.order_id = w.order_id) <> 1")"
check "the warehouse and the returns desk were refused nothing else" "" \
    "$(q "SELECT string_agg(role || ':' || (doc->>'sqlstate'), ' ') FROM connector_log
           WHERE role IN ('warehouse', 'returns') AND doc->>'kind' = 'refused'")"
if [ "$(has_fn erp.pick_queue)" = t ]; then
    check "the warehouse drained its queue: erp.pick_queue is empty" "0" "$(q "SELECT count(*) FROM erp.pick_queue")"
    check "the returns desk drained its queue: erp.returns_desk is empty" "0" "$(q "SELECT count(*) FROM erp.returns_desk")"
else
    skipped+=("erp.pick_queue and erp.returns_desk are not installed: the warehouse and the desk read the tables")
fi
check_true "the returns desk authorized, received and inspected returns" \
    "$(q "SELECT CASE WHEN $(stat "'returns'" returned) > 0 AND
                      $(stat "'returns'" returned) = (SELECT count(*) FROM erp.rma) AND
                      (SELECT count(*) FROM connector_log WHERE role = 'returns' AND doc->>'kind' = 'inspected')
                        = (SELECT count(*) FROM erp.rma_line WHERE condition IS NOT NULL) THEN 'yes' END")"

echo "== the consumer: events processed = events written"
if [ "$(has_fn erp.read_events)" = t ]; then
    check_true "the consumer processed events and crashed between read and ack" \
        "$(q "SELECT CASE WHEN $(stat "'consumer'" events) > 0 AND $(stat "'consumer'" crash_before_ack) > 0 THEN 'yes' END")"
    check "no event was processed twice" "" \
        "$(q "SELECT string_agg(event_id::text, ' ') FROM (SELECT event_id FROM public.connector_processed_event
               GROUP BY event_id HAVING count(*) > 1) x")"
    check "every event written was processed" "" \
        "$(q "SELECT string_agg(event_id::text, ' ') FROM (SELECT event_id FROM erp.event
               EXCEPT SELECT event_id FROM public.connector_processed_event) x")"
    check "nothing was processed that is not an event" "" \
        "$(q "SELECT string_agg(event_id::text, ' ') FROM (SELECT event_id FROM public.connector_processed_event
               EXCEPT SELECT event_id FROM erp.event) x")"
    check_true "the run wrote events of several kinds" \
        "$(q "SELECT CASE WHEN count(DISTINCT kind) >= 2 THEN 'yes' END FROM erp.event")"
else
    skipped+=("erp.read_events is not installed: the exact consumer was NOT RUN and events were not compared")
fi

echo "== the feed: its last view equals erp.channel_availability"
if [ "$(has_fn erp.channel_availability_changes)" = t ]; then
    check_true "the feed polled, saw changes and resynchronised after gaps" \
        "$(q "SELECT CASE WHEN $(stat "'feed'" changes) > 0 AND $(stat "'feed'" resync) > 0 THEN 'yes' END")"
    check "the feed's view of every sku is the channel's ATP" "" \
        "$(q "WITH feed AS (SELECT doc->>'sku' AS sku, (doc->>'atp')::bigint AS atp FROM connector_log
                             WHERE role = 'feed' AND doc->>'kind' = 'atp'),
                   truth AS (SELECT sku, atp FROM erp.channel_availability WHERE channel = 'WEB' AND sku LIKE 'CL-%')
              SELECT string_agg(sku || '=' || atp, ' ') FROM ((SELECT * FROM feed EXCEPT SELECT * FROM truth)
                     UNION ALL (SELECT * FROM truth EXCEPT SELECT * FROM feed)) x")"
else
    skipped+=("erp.channel_availability_changes is not installed: the feed was NOT RUN")
fi

echo "== the books"
check "erp.verify() finds nothing" "0" "$(q "SELECT count(*) FROM erp.verify()")"

for s in "${skipped[@]}"; do echo "NOT RUN / SKIPPED: $s"; done
echo "== $failures mismatch(es)"
[ "$failures" -eq 0 ]
