#!/usr/bin/env bash
# prometheus_exporter: Debian's prometheus-postgres-exporter, started on a free
# localhost port with contrib/prometheus/inventory_erp_queries.yaml against a
# database of the test cluster, serves the inventory_erp metrics, read back
# over HTTP: the dashboard, the KPI views, pending approvals, the event backlog
# per consumer and the balance slot counts, with the values a small scenario
# gives them.  The exporter logs in as a role that is erp_reader and pg_monitor
# and nothing else, with jit off, as doc/monitoring.md sets it up.  A metric
# follows the database: after the approval the pending approval is gone from
# the next scrape.  No skip: without the exporter (scripts/deps.sh installs
# it) this test fails.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${PGHOST:?}" "${PGPORT:?}"
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO_ROOT/scripts/pgenv.sh"
EXPORTER=${PROMETHEUS_POSTGRES_EXPORTER:-/usr/bin/prometheus-postgres-exporter}
QUERIES=$REPO_ROOT/contrib/prometheus/inventory_erp_queries.yaml
DB=ierp_prometheus
OUT=$(mktemp -d /tmp/inventory_erp-prometheus.XXXXXX)
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
cleanup() {
    [ -n "${EXPORTER_PID:-}" ] && kill "$EXPORTER_PID" 2>/dev/null && wait "$EXPORTER_PID" 2>/dev/null
    "$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
    "$PGBIN/psql" -X -q -d postgres -c 'DROP ROLE IF EXISTS ierp_exporter' -c 'DROP ROLE IF EXISTS ierp_prom_approver' >/dev/null 2>&1
    rm -rf "$OUT"
}
trap cleanup EXIT

if [ ! -x "$EXPORTER" ]; then
    echo "FAIL: $EXPORTER is missing (Debian package prometheus-postgres-exporter; scripts/deps.sh installs it)"
    exit 1
fi

psql_db() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

"$PGBIN/dropdb" --if-exists "$DB" >/dev/null 2>&1
"$PGBIN/createdb" "$DB" || exit 1
# One item, one node, one channel; 10 received, an order of 3 allocated; a
# cycle count finds 2 of the 7 left: a variance of 5 x 50.00 = 250.00, above the
# default adjustment threshold of 100.00, waits for an approver.
psql_db >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('PROM-1', 50, 80);
INSERT INTO erp.node (code) VALUES ('PROM-DC');
SELECT erp.receive('PROM-1', 'PROM-DC', 10);
INSERT INTO erp.channel (code, kind) VALUES ('PROM-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'PROM-WEB' AND n.code = 'PROM-DC';
SELECT count(*) FROM erp.allocate(erp.capture_order('PROM-WEB', 'PROM-O1', '[{"sku": "PROM-1", "qty": 3}]'));
SELECT erp.count('PROM-1', 'PROM-DC', 2);
SQL
# two more events, each in a transaction of its own (two more commit stamps)
for n in 1 2; do
    psql_db -c "INSERT INTO erp.event (kind, payload) VALUES ('test', '{\"n\": $n}')" >/dev/null || exit 1
done
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<'SQL' || exit 1
DROP ROLE IF EXISTS ierp_exporter;
DROP ROLE IF EXISTS ierp_prom_approver;
CREATE ROLE ierp_exporter LOGIN IN ROLE erp_reader, pg_monitor;
ALTER ROLE ierp_exporter SET jit = off;
CREATE ROLE ierp_prom_approver LOGIN IN ROLE erp_operator, erp_approver;
SQL
# Two consumers: "billing" read one event and acknowledged it, "audit" has
# read nothing (its first call with max 1 creates it and acknowledges nothing).
CURSOR=$(psql_db -c "SELECT cursor FROM erp.read_events('billing', 1)")
psql_db -c "SELECT erp.ack_events('billing', '$CURSOR')" >/dev/null || exit 1
psql_db -c "SELECT count(*) FROM erp.read_events('audit', 1)" >/dev/null || exit 1
EVENTS=$(psql_db -c "SELECT count(*) FROM erp.event")
check "the scenario recorded events (the approval request, two by hand)" yes "$([ "${EVENTS:-0}" -ge 3 ] && echo yes)"

PORT=$(pg_free_port)
DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=ierp_exporter dbname=$DB sslmode=disable" \
    "$EXPORTER" --web.listen-address="127.0.0.1:$PORT" --extend.query-path="$QUERIES" \
    >"$OUT/exporter.log" 2>&1 &
EXPORTER_PID=$!

# scrape FILE: GET /metrics into FILE (waits up to 20 s for the exporter to listen)
scrape() {
    /usr/bin/python3 - "$PORT" "$1" <<'PY'
import sys, time, urllib.request
port, dest = sys.argv[1], sys.argv[2]
for _ in range(100):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20) as r:
            open(dest, "wb").write(r.read())
            sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
}
# value FILE NAME [LABEL="VALUE"]: the sample of metric NAME (with that label)
value() {
    grep -E "^$2(\{| )" "$1" | { if [ -n "${3:-}" ]; then grep -F "$3"; else cat; fi; } | awk '{print $NF}' | head -1
}

echo "== the exporter serves the inventory_erp metrics"
if ! scrape "$OUT/m1"; then
    echo "FAIL: no answer from the exporter on 127.0.0.1:$PORT"; cat "$OUT/exporter.log"; exit 1
fi
M=$OUT/m1
check "the exporter's role is no superuser" f "$(psql_db -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'ierp_exporter'")"
check "pg_up: the exporter reached the database" 1 "$(value "$M" pg_up)"
check "no query of the scrape failed (pg_exporter_last_scrape_error)" 0 "$(value "$M" pg_exporter_last_scrape_error)"
check "the queries file loaded (pg_exporter_user_queries_load_error)" 0 "$(value "$M" pg_exporter_user_queries_load_error)"
check "the exporter logged no error" "" "$(grep -iE 'level=(error|warn)' "$OUT/exporter.log" | head -3)"

echo "== the dashboard"
check "orders open" 1 "$(value "$M" inventory_erp_dashboard_orders_open)"
check "units on hand: 10 (the write-off of 5 waits for its approval)" 10 "$(value "$M" inventory_erp_dashboard_units_on_hand)"
check "units available: 10 - 3 reserved" 7 "$(value "$M" inventory_erp_dashboard_units_available)"
check "inventory value: 10 x 50.00" 500 "$(value "$M" inventory_erp_dashboard_inventory_value)"
check "unit fill rate" 100 "$(value "$M" inventory_erp_dashboard_unit_fill_rate_pct)"
check "adjustments awaiting approval" 1 "$(value "$M" inventory_erp_dashboard_adjustments_awaiting_approval)"
check "split rate with nothing shipped is NaN (no denominator)" NaN "$(value "$M" inventory_erp_dashboard_split_rate_pct)"

echo "== KPIs, labelled by channel, node, status"
check "fill rate of channel PROM-WEB: units ordered" 3 "$(value "$M" inventory_erp_fill_rate_units_ordered 'channel="PROM-WEB"')"
check "fill rate of channel PROM-WEB: unit fill rate" 100 "$(value "$M" inventory_erp_fill_rate_unit_fill_rate_pct 'channel="PROM-WEB"')"
check "order aging: one allocated order under 24 h" 1 "$(value "$M" inventory_erp_order_aging_under_24h 'status="allocated"')"
check "adjustments at node PROM-DC pending approval" 1 "$(value "$M" inventory_erp_adjustments_pending_approval 'node="PROM-DC"')"
check "backorders: no item" 0 "$(value "$M" inventory_erp_backorders_items)"
check "refunds: none awaiting approval" 0 "$(value "$M" inventory_erp_refunds_awaiting_approval)"
check "no metric carries a sku label" "" "$(grep -E '^inventory_erp_.*[{,]sku=' "$M" | head -1)"

echo "== pending approvals"
check "one adjustment waits" 1 "$(value "$M" inventory_erp_approvals_pending 'kind="adjustment"')"
check "its value: 5 x 50.00" 250 "$(value "$M" inventory_erp_approvals_value 'kind="adjustment"')"
check "no refund waits (the series exists, at 0)" 0 "$(value "$M" inventory_erp_approvals_pending 'kind="refund"')"

echo "== event backlog per consumer"
check "events in the outbox" "$EVENTS" "$(value "$M" inventory_erp_events_total)"
check "two consumers" 2 "$(value "$M" inventory_erp_events_consumers)"
check "billing acknowledged one event: the others are behind its cursor" "$((EVENTS - 1))" \
    "$(value "$M" inventory_erp_event_consumer_unacked_events 'consumer="billing"')"
check "audit acknowledged nothing: every event is behind" "$EVENTS" \
    "$(value "$M" inventory_erp_event_consumer_unacked_events 'consumer="audit"')"
LATEST=$(psql_db -c "SELECT max(commit_seq) FROM erp.event_commit")
check "audit is behind by every commit stamp" "$LATEST" \
    "$(value "$M" inventory_erp_event_consumer_stamps_behind 'consumer="audit"')"
check "the consumer's owner is a label" yes \
    "$(grep -qE '^inventory_erp_event_consumer_unacked_events\{.*owner="postgres"' "$M" && echo yes)"

echo "== balance slots"
check "one balance at PROM-DC" 1 "$(value "$M" inventory_erp_slots_balances 'node="PROM-DC"')"
check "slot rows at PROM-DC as in erp.stock_slot" \
    "$(psql_db -c "SELECT count(*) FROM erp.stock_slot s JOIN erp.node n USING (node_id) WHERE n.code = 'PROM-DC'")" \
    "$(value "$M" inventory_erp_slots_rows 'node="PROM-DC"')"
check "no empty slot row" 0 "$(value "$M" inventory_erp_slots_empty_rows 'node="PROM-DC"')"
check "erp.verify() finds nothing" 0 "$(value "$M" inventory_erp_verify_problems)"

echo "== the next scrape follows the database"
"$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U ierp_prom_approver -d "$DB" \
    -c "SELECT erp.approve_adjustment(adjustment_id) FROM erp.adjustment WHERE status = 'pending_approval'" >/dev/null ||
    { echo "FAIL: the approval was refused"; exit 1; }
scrape "$OUT/m2" || { echo "FAIL: the second scrape got no answer"; exit 1; }
check "after the approval no adjustment waits" 0 "$(value "$OUT/m2" inventory_erp_approvals_pending 'kind="adjustment"')"
check "the dashboard says so too" 0 "$(value "$OUT/m2" inventory_erp_dashboard_adjustments_awaiting_approval)"
check "units on hand: 10 - 5 written off" 5 "$(value "$OUT/m2" inventory_erp_dashboard_units_on_hand)"

echo "failures: $failures"
[ "$failures" -eq 0 ]
