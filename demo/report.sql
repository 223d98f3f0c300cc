-- demo/report.sql: the one-page HTML report, inline SVG, no external assets.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
\pset footer off
SET client_min_messages = warning;

-- a line chart of one or two series over the hours: 640 x 220
CREATE FUNCTION pg_temp.chart(title text, label1 text, v1 numeric[], label2 text, v2 numeric[], unit text)
RETURNS text LANGUAGE sql AS $$
WITH pts AS (
    SELECT i, v1[i] AS a, v2[i] AS b FROM generate_subscripts(v1, 1) i
), scale AS (
    SELECT greatest(max(a), coalesce(max(b), 0), 1) AS top, count(*) AS n FROM pts
), poly AS (
    SELECT string_agg(format('%s,%s', round(50 + (i - 1) * 560.0 / greatest(n - 1, 1)),
                                     round(190 - a * 160.0 / top)), ' ' ORDER BY i) AS p1,
           string_agg(format('%s,%s', round(50 + (i - 1) * 560.0 / greatest(n - 1, 1)),
                                     round(190 - b * 160.0 / top)), ' ' ORDER BY i) FILTER (WHERE b IS NOT NULL) AS p2
      FROM pts, scale
)
SELECT format('<figure><svg viewBox="0 0 640 230" width="640" height="230" role="img" aria-label="%1$s">'
              '<text x="50" y="18" class="t">%1$s</text>'
              '<line x1="50" y1="190" x2="610" y2="190" class="axis"/><line x1="50" y1="30" x2="50" y2="190" class="axis"/>'
              '<text x="44" y="34" class="y">%2$s</text><text x="44" y="190" class="y">0</text>'
              '<polyline points="%3$s" class="s1"/>%4$s'
              '<text x="50" y="215" class="l1">&#9632; %5$s</text>%6$s'
              '<text x="610" y="215" class="y">hours 08&#8211;21 (%7$s)</text></svg></figure>',
              title, round(top), p1,
              CASE WHEN p2 IS NOT NULL THEN format('<polyline points="%s" class="s2"/>', p2) ELSE '' END,
              label1,
              CASE WHEN p2 IS NOT NULL THEN format('<text x="250" y="215" class="l2">&#9632; %s</text>', label2) ELSE '' END,
              unit)
  FROM poly, scale
$$;

-- stock by state and node: one stacked bar per node
CREATE FUNCTION pg_temp.stock_chart() RETURNS text LANGUAGE sql AS $$
WITH groups(g, label, cls, states) AS (VALUES
    (1, 'available', 'c1', ARRAY['available']),
    (2, 'committed to orders', 'c2', ARRAY['reserved', 'picked', 'packed']),
    (3, 'held (inspection, quarantine, damaged, refurbish, vendor)', 'c3',
        ARRAY['inspection', 'quarantined', 'damaged', 'refurbish', 'vendor_return']),
    (4, 'inbound (incoming, in transit, returns due)', 'c4', ARRAY['incoming', 'in_transit', 'return_pending'])
), per AS (
    SELECT n.code, n.node_id, g.g, g.cls, COALESCE(sum(b.qty), 0) AS qty
      FROM erp.node n CROSS JOIN groups g
      LEFT JOIN erp.stock_balance b ON b.node_id = n.node_id AND b.state::text = ANY (g.states)
     GROUP BY n.code, n.node_id, g.g, g.cls
), tot AS (SELECT max(s) AS top FROM (SELECT sum(qty) AS s FROM per GROUP BY code) x),
bars AS (
    SELECT code, row_number() OVER (ORDER BY code) AS r,
           string_agg(format('<rect x="%s" y="%s" width="%s" height="22" class="%s"><title>%s %s: %s units</title></rect>',
                             round(120 + (sum_before) * 480.0 / top), 0, round(qty * 480.0 / top), cls, code, g, qty),
                      '' ORDER BY g) AS rects
      FROM (SELECT p.*, COALESCE(sum(qty) OVER (PARTITION BY code ORDER BY g ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS sum_before
              FROM per p) p, tot
     GROUP BY code
)
SELECT format('<figure><svg viewBox="0 0 640 %s" width="640" height="%s" role="img" aria-label="Stock by state and node">'
              '<text x="10" y="18" class="t">Stock by state and node (units)</text>%s%s</svg></figure>',
              60 + count(*) * 34 + 70, 60 + count(*) * 34 + 70,
              string_agg(format('<g transform="translate(0,%s)"><text x="10" y="16" class="n">%s</text>%s</g>',
                                30 + (r - 1) * 34, code, replace(rects, 'y="0"', 'y="0"')), '' ORDER BY r),
              (SELECT string_agg(format('<rect x="10" y="%s" width="12" height="12" class="%s"/><text x="28" y="%s" class="y0">%s</text>',
                                        50 + (SELECT count(*) FROM bars) * 34 + (g - 1) * 16, cls,
                                        61 + (SELECT count(*) FROM bars) * 34 + (g - 1) * 16, label), '' ORDER BY g)
                 FROM groups))
  FROM bars
$$;

-- an HTML table of a query's rows
CREATE FUNCTION pg_temp.html_table(caption text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record; head text := ''; body text := ''; k text; first boolean := true;
BEGIN
    FOR r IN EXECUTE format('SELECT to_json(x) AS j FROM (%s) x', q) LOOP
        IF first THEN
            FOR k IN SELECT key FROM json_each(r.j) LOOP head := head || '<th>' || replace(k, '_', ' ') || '</th>'; END LOOP;
            first := false;
        END IF;
        body := body || '<tr>' || (SELECT string_agg('<td>' || COALESCE(value #>> '{}', '') || '</td>', '' ORDER BY ordinality)
                                     FROM json_each(r.j) WITH ORDINALITY) || '</tr>';
    END LOOP;
    RETURN format('<table><caption>%s</caption><tr>%s</tr>%s</table>', caption, head, body);
END $$;

SELECT '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>inventory_erp: peak day report</title><style>'
    || 'body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1340px}h1{font-size:20px}'
    || '.grid{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:6px}'
    || 'table{border-collapse:collapse;margin:12px 0;font-size:13px}caption{text-align:left;font-weight:600;padding:4px 0}'
    || 'td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}'
    || '.t{font-weight:600;font-size:13px}.y{font-size:10px;text-anchor:end;fill:#666}.y0{font-size:11px;fill:#444}'
    || '.n{font-size:12px}.axis{stroke:#999}.s1{fill:none;stroke:#1f6feb;stroke-width:2}.s2{fill:none;stroke:#d4722c;stroke-width:2}'
    || '.l1{font-size:11px;fill:#1f6feb}.l2{font-size:11px;fill:#d4722c}'
    || '.c1{fill:#2da44e}.c2{fill:#1f6feb}.c3{fill:#d4722c}.c4{fill:#8c959f}'
    || '</style></head><body>'
    || format('<h1>Peak day at the demo retailer: %s orders, %s shipments, %s returns</h1>',
              (SELECT count(*) FROM erp.sales_order), (SELECT count(*) FROM erp.shipment), (SELECT count(*) FROM erp.rma))
    || '<p>Generated by <code>make demo</code> from the views of inventory_erp (erp.dashboard, erp.kpi_*, erp.availability); every number below is a query result.</p>'
    || '<div class="grid">'
    || pg_temp.stock_chart()
    || (SELECT pg_temp.chart('Orders captured and shipped per hour', 'orders', array_agg(orders::numeric ORDER BY hour),
                             'shipments', array_agg(shipped_orders::numeric ORDER BY hour), 'Amazon promotion 12-14 h')
          FROM demo_hour)
    || (SELECT pg_temp.chart('Unit fill rate and split shipment rate (%)', 'fill rate', array_agg(fill_rate ORDER BY hour),
                             'split rate', array_agg(split_rate ORDER BY hour), '%') FROM demo_hour)
    || (SELECT pg_temp.chart('Open orders and backordered units', 'open orders', array_agg(open_orders::numeric ORDER BY hour),
                             'backordered units', array_agg(backordered_units::numeric ORDER BY hour), 'end of hour') FROM demo_hour)
    || '</div>'
    || pg_temp.html_table('Dashboard (erp.dashboard)', 'SELECT * FROM erp.dashboard')
    || pg_temp.html_table('Fill rate by channel (erp.kpi_fill_rate)', 'SELECT * FROM erp.kpi_fill_rate ORDER BY channel')
    || pg_temp.html_table('Split shipments (erp.kpi_split_shipments)', 'SELECT * FROM erp.kpi_split_shipments ORDER BY channel')
    || pg_temp.html_table('Order aging (erp.kpi_order_aging)', 'SELECT * FROM erp.kpi_order_aging ORDER BY status')
    || pg_temp.html_table('Backorder exposure, top 10 (erp.kpi_backorder_exposure)',
                          'SELECT sku, orders, units_backordered, revenue_at_risk, inbound FROM erp.kpi_backorder_exposure ORDER BY revenue_at_risk DESC LIMIT 10')
    || pg_temp.html_table('Returns: receipt to sellable again (erp.kpi_return_cycle_time)', 'SELECT * FROM erp.kpi_return_cycle_time ORDER BY category')
    || pg_temp.html_table('Refund latency (erp.kpi_refund_latency)', 'SELECT * FROM erp.kpi_refund_latency')
    || pg_temp.html_table('Inventory accuracy (erp.kpi_inventory_accuracy)', 'SELECT * FROM erp.kpi_inventory_accuracy ORDER BY node')
    || pg_temp.html_table('Adjustments (erp.kpi_adjustment_rate)', 'SELECT * FROM erp.kpi_adjustment_rate ORDER BY node')
    || pg_temp.html_table('Events of the day (erp.event)', 'SELECT kind, count(*) AS events FROM erp.event GROUP BY kind ORDER BY count(*) DESC')
    || pg_temp.html_table('The hours (demo)', 'SELECT * FROM demo_hour ORDER BY hour')
    || '</body></html>';
