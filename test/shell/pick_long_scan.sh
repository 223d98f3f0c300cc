#!/usr/bin/env bash
# pick_long_scan (found by the break-it pass, issue 9 follow-up): a wrong scan is a pick
# exception that must be recorded in erp.event even though the pick is refused
# (doc/reference.md: "The pick_exception and return_discrepancy events of
# refused calls are committed at once by their own worker"; 0.3.0: "Scan/sku in
# the event kept up to 1024 bytes, cut at a character boundary").  But erp.pick
# bounds the scan to 64 bytes (IerpCheckText(scan, "scan", IERP_MAX_KEY_LEN))
# before the exception is recorded: a wrong scan of 65+ bytes - a GS1
# DataMatrix/GS1-128 string with lot and expiry, a QR code URL read from the
# wrong label - is refused IE004 and no pick_exception is written.
# Expected: the refusal (any IE code) AND a pick_exception event for order 1.
# Actual (1ccb86a): IE004, no event.  Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}"
DB=ierp_break_long_scan
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { "$PGBIN/psql" -X -q -At -v VERBOSITY=sqlstate -U postgres -d "$DB" -c "$1" 2>&1 | tail -1; }
cleanup() { "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U postgres -d "$DB" >/dev/null <<'SQL' || exit 1
CREATE EXTENSION inventory_erp;
INSERT INTO erp.node (code, kind) VALUES ('DC1', 'warehouse');
INSERT INTO erp.channel (code) VALUES ('WEB');
INSERT INTO erp.channel_node (channel_id, node_id) VALUES (1, 1);
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('TEE', 5, 20);
SELECT erp.receive('TEE', 'DC1', 10);
SELECT erp.capture_order('WEB', 'W1', '[{"sku": "TEE", "qty": 1}]');
SELECT count(*) FROM erp.allocate(1);
SQL
check "(a short wrong scan is refused and recorded)" "ERROR:  IE007" "$(q "SELECT erp.pick(1, 'NOT-ON-ORDER', 1)")"
check "(its pick_exception is in erp.event)" "1" \
      "$(q "SELECT count(*) FROM erp.event WHERE kind = 'pick_exception' AND payload->>'scan' = 'NOT-ON-ORDER'")"
# a GS1 element string: GTIN, lot, expiry, serial (80 bytes)
LONG='01095011015300031724123110ABC123456789012345621SERIAL0000000000000000000000000000'
res=$(q "SELECT erp.pick(1, '$LONG', 1)")
check "a wrong 80-byte scan is refused with an IE code" "yes" "$([[ "$res" == "ERROR:  IE0"* ]] && echo yes)"
check "and its pick_exception is in erp.event too" "1" \
      "$(q "SELECT count(*) FROM erp.event WHERE kind = 'pick_exception' AND order_id = 1 AND payload->>'scan' = '$LONG'")"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
exit 0
