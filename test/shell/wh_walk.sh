#!/usr/bin/env bash
# wh_walk (issue 16): the demo's DC in bins.  Loads the demo retailer (demo/setup.sql),
# runs demo/warehouse.sql (bins per category, putaway after receipt, 60 orders for
# the DC, one wave of 40) and checks the wave's walk against picking order by order:
# the wholesale delivery received in cases and the B2B orders' case lines, then
# the wave visits fewer bins and walks a shorter sequence than its orders one by one
# (the figures are in doc/warehouse.md), then picks the whole wave by its pick list
# and finds erp.verify() empty.
# Exit 0 = pass.
set -uo pipefail
: "${PGBIN:?}" "${REPO_ROOT:?}"
DB=ierp_wh_walk
failures=0
check() {
    if [ "$2" == "$3" ]; then printf 'ok       %s\n' "$1"
    else printf 'MISMATCH %s\n         expected: %s\n         actual:   %s\n' "$1" "$2" "$3"; failures=$((failures + 1)); fi
}
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$DB" "$@"; }
cleanup() { "$PGBIN/dropdb" -U postgres --if-exists "$DB" >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
"$PGBIN/createdb" -U postgres "$DB" || exit 1
cd "$REPO_ROOT"
q -f demo/setup.sql >/dev/null || { echo "FAIL: demo/setup.sql"; exit 1; }
out=$("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U postgres -d "$DB" -f demo/warehouse.sql 2>&1) || { echo "$out"; echo "FAIL: demo/warehouse.sql"; exit 1; }
echo "$out"
read -r wave_bins wave_walk obo_bins obo_walk <<<"$(q -F ' ' -c "
    WITH w AS (SELECT max(wave_id) AS wave_id FROM erp.wave), stop AS (
        SELECT b.pick_sequence AS ps, b.bin_id, unnest(p.order_ids) AS order_id
          FROM w, erp.pick_list(w.wave_id) p JOIN erp.bin b ON b.code = p.bin
    ), per_order AS (SELECT order_id, count(DISTINCT bin_id) AS bins, max(ps) AS walk FROM stop GROUP BY 1)
    SELECT (SELECT count(DISTINCT bin_id) FROM stop), (SELECT max(ps) FROM stop),
           (SELECT sum(bins) FROM per_order), (SELECT sum(walk) FROM per_order)")"
check "the wholesale delivery was received in cases: 10 lines of 3 cases of 12" "10 360 received" \
      "$(q -F ' ' -c "SELECT count(*), sum(l.qty_received), min(p.status::text) FROM erp.purchase_order p
                        JOIN erp.purchase_order_line l USING (purchase_order_id)
                        JOIN erp.supplier s USING (supplier_id)
                       WHERE p.purchase_order_id = (SELECT max(x.purchase_order_id) FROM erp.purchase_order x
                                                     JOIN erp.supplier y USING (supplier_id) WHERE y.code = 'HOMECO')")"
check "the receipt's ledger rows carry the units, 36 per line" "10 36" \
      "$(q -F ' ' -c "SELECT count(*), min(m.qty) FROM erp.stock_move m JOIN erp.purchase_order p ON m.ref = 'po:' || p.purchase_order_id
                      WHERE m.event = 'receive' AND p.purchase_order_id = (SELECT max(x.purchase_order_id) FROM erp.purchase_order x
                                                     JOIN erp.supplier y USING (supplier_id) WHERE y.code = 'HOMECO')")"
check "each of the 12 B2B orders has one line of a case (12 units)" "12 12" \
      "$(q -F ' ' -c "SELECT count(DISTINCT o.order_id), min(l.qty) FROM erp.sales_order o JOIN erp.order_line l USING (order_id)
                       JOIN erp.item_uom u ON u.item_id = l.item_id AND u.uom = 'case'
                      WHERE o.external_ref LIKE 'WH-DEMO-%'")"
check "the wave has 40 orders" "40" "$(q -c "SELECT count(*) FROM erp.wave_order")"
check "the wave visits fewer bins than its orders one by one ($wave_bins < $obo_bins)" "yes" \
      "$([ "${wave_bins:-0}" -gt 0 ] && [ "$wave_bins" -lt "${obo_bins:-0}" ] && echo yes || echo no)"
check "and walks a shorter sequence ($wave_walk < $obo_walk)" "yes" \
      "$([ "${wave_walk:-0}" -gt 0 ] && [ "$wave_walk" -lt "${obo_walk:-0}" ] && echo yes || echo no)"
check "every stop of the pick list is picked by wave" "0" "$(q -c "
    SELECT count(erp.pick_wave(w.wave_id, p.bin, p.sku, p.qty))
      FROM (SELECT max(wave_id) AS wave_id FROM erp.wave) w, erp.pick_list(w.wave_id) p" >/dev/null;
    q -c "SELECT count(*) FROM erp.pick_list((SELECT max(wave_id) FROM erp.wave))")"
check "no unit left to pick in the wave's orders" "0" "$(q -c "
    SELECT coalesce(sum(r.qty - r.qty_picked), 0) FROM erp.reservation r JOIN erp.wave_order wo USING (order_id)")"
check "erp.verify() is empty" "0" "$(q -c "SELECT count(*) FROM erp.verify()")"
[ "$failures" -eq 0 ] || exit 1
