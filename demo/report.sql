-- demo/report.sql: the one-page HTML report of `make demo` (scripts/demo.sh
-- writes it to demo-report.html).  Inline SVG and CSS only, no external
-- resource; every number is a query result over the demo database.
--
-- Top to bottom: what the operations lead acts on first (cards ordered by
-- severity), the day in figures, the charts (as wide as the page, each axis
-- scaled to its data, gridlines and labels), stock by state with what is not
-- available, the planning views when this build has them, margin by channel
-- and return reason with the inventory value at cost, then the detail tables.  scripts/check-report.sh renders it in headless Chromium and fails
-- on an empty or broken page.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
\pset footer off
SET client_min_messages = warning;

-- text for HTML (codes, skus and names come from the database)
CREATE FUNCTION pg_temp.esc(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT replace(replace(replace(replace(COALESCE(t, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
$$;

-- a number for people: thousands separated, at most 2 decimals, a dash for NULL
CREATE FUNCTION pg_temp.fmt(v numeric, unit text DEFAULT '') RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN v IS NULL THEN '&#8211;'
            WHEN round(v, 2) = trunc(v) THEN to_char(trunc(v), 'FM999,999,999,990')
            WHEN round(v, 2) = round(v, 1) THEN to_char(round(v, 1), 'FM999,999,999,990.0')
            ELSE to_char(round(v, 2), 'FM999,999,999,990.00') END || unit
$$;

-- a number as the query gave it (its decimals kept), with thousands separators
CREATE FUNCTION pg_temp.numtext(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN t !~ '^-?[0-9]+(\.[0-9]+)?$' THEN pg_temp.esc(t)
            ELSE to_char(split_part(t, '.', 1)::numeric, 'FM999,999,999,999,990')
                 || CASE WHEN position('.' IN t) > 0 THEN '.' || split_part(t, '.', 2) ELSE '' END END
$$;

-- money in cards: whole units
CREATE FUNCTION pg_temp.money(v numeric) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN v IS NULL THEN '&#8211;' ELSE to_char(round(v), 'FM999,999,999,990') END
$$;

-- hours as "3.5 h" or "2 d 4 h"
CREATE FUNCTION pg_temp.age(i interval) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN i IS NULL THEN '&#8211;'
            WHEN i < interval '1 hour' THEN round(extract(epoch FROM i) / 60) || ' min'
            WHEN i < interval '48 hours' THEN pg_temp.fmt(round((extract(epoch FROM i) / 3600)::numeric, 1)) || ' h'
            ELSE floor(extract(epoch FROM i) / 86400) || ' d ' || round(mod(extract(epoch FROM i)::numeric, 86400) / 3600) || ' h' END
$$;

-- the gridline step for a span: 1, 2, 2.5 or 5 times a power of ten, about `ticks` lines
CREATE FUNCTION pg_temp.nice_step(span numeric, ticks int) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    raw numeric := span / ticks;
    mag numeric;
    m numeric;
BEGIN
    IF raw IS NULL OR raw <= 0 THEN
        RETURN 1;
    END IF;
    mag := power(10::numeric, floor(log(raw)));
    FOREACH m IN ARRAY ARRAY[1, 2, 2.5, 5, 10]::numeric[] LOOP
        IF m * mag >= raw THEN
            RETURN m * mag;
        END IF;
    END LOOP;
    RETURN 10 * mag;
END
$$;

-- A chart over categories (the hours): bars and lines sharing one y axis.
--   series: [{"name": .., "kind": "bar"|"line", "cls": "s1".."s4", "values": [..]}]
--   from_zero: counts start at 0 (bars always do); rates are scaled to their data
--   band: {"from": i, "to": j, "label": ..} shades categories i..j (1-based)
--   target: a dashed line at that value; marks: [{"at": i, "label": ..}] notes what happened at category i
-- 1200 units wide, drawn at the page's width.
CREATE FUNCTION pg_temp.chart(title text, note text, xlabels text[], series jsonb, unit text,
                              from_zero boolean, band jsonb DEFAULT NULL, target numeric DEFAULT NULL,
                              marks jsonb DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    w CONSTANT numeric := 1200; h CONSTANT numeric := 300;
    l CONSTANT numeric := 78; r CONSTANT numeric := 70; t CONSTANT numeric := 40; b CONSTANT numeric := 40;
    pw CONSTANT numeric := w - l - r; ph CONSTANT numeric := h - t - b;
    n int := array_length(xlabels, 1);
    vmin numeric; vmax numeric; step numeric; lo numeric; hi numeric; v numeric;
    svg text := ''; s jsonb; i int; x numeric; y numeric; pts text; nbars int; bi int := 0;
    gw numeric; bw numeric; lx numeric := l; last_x numeric; last_y numeric; last_v numeric;
BEGIN
    SELECT min(e::numeric), max(e::numeric) INTO vmin, vmax
      FROM jsonb_array_elements(series) AS se(s), jsonb_array_elements_text(se.s -> 'values') AS e
     WHERE e IS NOT NULL;
    IF n IS NULL OR vmin IS NULL THEN
        RETURN format('<figure class="chart"><figcaption><h3>%s</h3><p class="nodata">No data for this chart.</p></figcaption></figure>',
                      pg_temp.esc(title));
    END IF;
    IF target IS NOT NULL THEN
        vmin := least(vmin, target); vmax := greatest(vmax, target);
    END IF;
    IF from_zero OR EXISTS (SELECT FROM jsonb_array_elements(series) se(s) WHERE se.s ->> 'kind' = 'bar') THEN
        vmin := least(vmin, 0);
        step := pg_temp.nice_step(vmax - vmin, 5);
    ELSE
        -- scaled to the data: a rate between 92 and 95 fills the plot
        step := pg_temp.nice_step(greatest(vmax - vmin, abs(vmax) * 0.01, 0.01), 5);
    END IF;
    lo := floor(vmin / step) * step;
    hi := ceil(vmax / step) * step;
    IF hi = lo THEN hi := lo + step; END IF;
    IF unit = '%' THEN hi := least(hi, greatest(100, lo + step)); lo := greatest(lo, 0); END IF;

    -- the shaded band, then gridlines with their labels
    IF band IS NOT NULL THEN
        svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" class="band"/><text x="%s" y="%s" class="bandl">%s</text>',
                             round(l + ((band ->> 'from')::int - 1) * pw / n, 1), t,
                             round(((band ->> 'to')::int - (band ->> 'from')::int + 1) * pw / n, 1), ph,
                             round(l + ((band ->> 'from')::int - 1) * pw / n + 4, 1), t - 6, pg_temp.esc(band ->> 'label'));
    END IF;
    FOR s IN SELECT m FROM jsonb_array_elements(COALESCE(marks, '[]')) m LOOP
        x := round(l + ((s ->> 'at')::int - 0.5) * pw / n, 1);
        svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" class="mark"/><text x="%s" y="%s" class="markl">%s</text>',
                             x, t, x, t + ph, x + 4, t + 16, pg_temp.esc(s ->> 'label'));
    END LOOP;
    v := lo;
    WHILE v <= hi + step / 1000 LOOP
        y := round(t + ph - (v - lo) * ph / (hi - lo), 1);
        svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" class="%s"/><text x="%s" y="%s" class="yl">%s</text>',
                             l, y, w - r, y, CASE WHEN v = lo THEN 'axis' ELSE 'grid' END, l - 8, y + 4,
                             pg_temp.fmt(v, CASE WHEN unit = '%' THEN '%' ELSE '' END));
        v := v + step;
    END LOOP;
    IF target IS NOT NULL THEN
        y := round(t + ph - (target - lo) * ph / (hi - lo), 1);
        svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" class="target"/><text x="%s" y="%s" class="targetl">target %s</text>',
                             l, y, w - r, y, w - r + 4, y + 4, pg_temp.fmt(target, unit));
    END IF;
    FOR i IN 1 .. n LOOP
        svg := svg || format('<text x="%s" y="%s" class="xl">%s</text>', round(l + (i - 0.5) * pw / n, 1), h - b + 18,
                             pg_temp.esc(xlabels[i]));
    END LOOP;

    -- bars side by side within a category, then lines over them
    SELECT count(*) INTO nbars FROM jsonb_array_elements(series) se(s) WHERE se.s ->> 'kind' = 'bar';
    gw := pw / n * 0.72;
    bw := gw / greatest(nbars, 1);
    FOR s IN SELECT se.s FROM jsonb_array_elements(series) se(s) WHERE se.s ->> 'kind' = 'bar' LOOP
        FOR i IN 1 .. n LOOP
            v := (s -> 'values' ->> (i - 1))::numeric;
            CONTINUE WHEN v IS NULL;
            x := l + (i - 0.5) * pw / n - gw / 2 + bi * bw;
            y := t + ph - (v - lo) * ph / (hi - lo);
            svg := svg || format('<rect x="%s" y="%s" width="%s" height="%s" class="%s"><title>%s %s: %s</title></rect>',
                                 round(x, 1), round(y, 1), round(bw - 2, 1), round(t + ph - (0 - lo) * ph / (hi - lo) - y, 1),
                                 s ->> 'cls', pg_temp.esc(s ->> 'name'), pg_temp.esc(xlabels[i]), pg_temp.fmt(v, unit));
        END LOOP;
        bi := bi + 1;
    END LOOP;
    FOR s IN SELECT se.s FROM jsonb_array_elements(series) se(s) WHERE se.s ->> 'kind' = 'line' LOOP
        pts := '';
        last_v := NULL;
        FOR i IN 1 .. n LOOP
            v := (s -> 'values' ->> (i - 1))::numeric;
            CONTINUE WHEN v IS NULL;
            x := round(l + (i - 0.5) * pw / n, 1);
            y := round(t + ph - (v - lo) * ph / (hi - lo), 1);
            pts := pts || x || ',' || y || ' ';
            svg := svg || format('<circle cx="%s" cy="%s" r="3.5" class="%s p"><title>%s %s: %s</title></circle>',
                                 x, y, s ->> 'cls', pg_temp.esc(s ->> 'name'), pg_temp.esc(xlabels[i]), pg_temp.fmt(v, unit));
            last_x := x; last_y := y; last_v := v;
        END LOOP;
        svg := svg || format('<polyline points="%s" class="%s l"/>', rtrim(pts), s ->> 'cls');
        IF last_v IS NOT NULL THEN
            svg := svg || format('<text x="%s" y="%s" class="%s vl">%s</text>', last_x + 10, last_y + 4, s ->> 'cls',
                                 pg_temp.fmt(last_v, unit));
        END IF;
    END LOOP;

    -- legend above the plot
    FOR s IN SELECT se.s FROM jsonb_array_elements(series) se(s) LOOP
        svg := svg || format('<rect x="%s" y="8" width="14" height="%s" class="%s"/><text x="%s" y="19" class="lg">%s</text>',
                             lx, CASE WHEN s ->> 'kind' = 'line' THEN 4 ELSE 12 END, s ->> 'cls', lx + 20, pg_temp.esc(s ->> 'name'));
        lx := lx + 40 + length(s ->> 'name') * 7.5;
    END LOOP;
    RETURN format('<figure class="chart"><figcaption><h3>%s</h3><p>%s</p></figcaption>'
                  '<svg viewBox="0 0 %s %s" width="100%%" role="img" aria-label="%s">%s</svg></figure>',
                  pg_temp.esc(title), note, w, h, pg_temp.esc(title), svg);
END
$$;

-- The state groups of the stock charts, in the order drawn.
CREATE TEMP TABLE report_group(g int, label text, cls text, states text[]);
INSERT INTO report_group VALUES
    (1, 'available to sell', 'g1', ARRAY['available']),
    (2, 'committed to orders', 'g2', ARRAY['reserved', 'picked', 'packed']),
    (3, 'held', 'g3', ARRAY['inspection', 'quarantined', 'damaged', 'refurbish', 'vendor_return']),
    (4, 'inbound', 'g4', ARRAY['incoming', 'in_transit', 'return_pending']);
CREATE TEMP TABLE report_stock AS
SELECT n.code, b.state::text AS state, sum(b.qty) AS qty
  FROM erp.stock_balance b JOIN erp.node n ON n.node_id = b.node_id
 GROUP BY n.code, b.state;

-- Stock by state at each node, drawn for what is not available: per node one
-- bar of its units committed to orders, held and inbound, all nodes on one
-- scale; its units available on the left, the share of its units on hand
-- that cannot be sold now (committed or held) on the right.
CREATE FUNCTION pg_temp.stock_chart() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    w CONSTANT numeric := 1200; l CONSTANT numeric := 190; r CONSTANT numeric := 200; t CONSTANT numeric := 40; rowh CONSTANT numeric := 46;
    pw CONSTANT numeric := w - l - r;
    svg text := ''; nd record; gr record; x numeric; ww numeric; k int := 0; lx numeric := l; n int; top numeric; step numeric; v numeric;
BEGIN
    SELECT count(*), max(nb) INTO n, top FROM (
        SELECT code, sum(qty) FILTER (WHERE state <> 'available') AS nb FROM report_stock GROUP BY code HAVING sum(qty) > 0) x;
    IF COALESCE(n, 0) = 0 THEN
        RETURN '<figure class="chart"><figcaption><h3>Stock by state and node</h3><p class="nodata">No stock.</p></figcaption></figure>';
    END IF;
    top := greatest(COALESCE(top, 0), 1);
    step := pg_temp.nice_step(top, 6);
    top := ceil(top / step) * step;
    FOR gr IN SELECT * FROM report_group WHERE g > 1 ORDER BY g LOOP
        svg := svg || format('<rect x="%s" y="8" width="14" height="12" class="%s"/><text x="%s" y="19" class="lg">%s</text>',
                             lx, gr.cls, lx + 20, pg_temp.esc(gr.label));
        lx := lx + 44 + length(gr.label) * 6.7;
    END LOOP;
    v := 0;
    WHILE v <= top LOOP
        x := round(l + v * pw / top, 1);
        svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" class="%s"/><text x="%s" y="%s" class="xl">%s</text>',
                             x, t - 6, x, t + n * rowh - 10, CASE WHEN v = 0 THEN 'axis' ELSE 'grid' END, x, t + n * rowh + 6, pg_temp.fmt(v));
        v := v + step;
    END LOOP;
    FOR nd IN
        SELECT code, sum(qty) AS total,
               COALESCE(sum(qty) FILTER (WHERE state = 'available'), 0) AS available,
               COALESCE(sum(qty) FILTER (WHERE state NOT IN ('available', 'incoming', 'in_transit', 'return_pending')), 0) AS blocked,
               COALESCE(sum(qty) FILTER (WHERE state NOT IN ('incoming', 'in_transit', 'return_pending')), 0) AS on_hand
          FROM report_stock GROUP BY code HAVING sum(qty) > 0 ORDER BY sum(qty) DESC, code
    LOOP
        x := l;
        svg := svg || format('<text x="%s" y="%s" class="nl">%s</text><text x="%s" y="%s" class="ns">%s available</text>',
                             l - 10, t + k * rowh + 13, pg_temp.esc(nd.code), l - 10, t + k * rowh + 28, pg_temp.fmt(nd.available));
        FOR gr IN
            SELECT g.g, g.cls, g.label, COALESCE(sum(s.qty), 0) AS qty
              FROM report_group g LEFT JOIN report_stock s ON s.code = nd.code AND s.state = ANY (g.states)
             WHERE g.g > 1 GROUP BY g.g, g.cls, g.label ORDER BY g.g
        LOOP
            CONTINUE WHEN gr.qty <= 0;
            ww := gr.qty * pw / top;
            svg := svg || format('<rect x="%s" y="%s" width="%s" height="28" class="%s"><title>%s, %s: %s units</title></rect>',
                                 round(x, 1), t + k * rowh, round(ww, 1), gr.cls, pg_temp.esc(nd.code), pg_temp.esc(gr.label),
                                 pg_temp.fmt(gr.qty));
            IF ww > 44 THEN
                svg := svg || format('<text x="%s" y="%s" class="in">%s</text>', round(x + ww / 2, 1), t + k * rowh + 19,
                                     pg_temp.fmt(gr.qty));
            END IF;
            x := x + ww;
        END LOOP;
        svg := svg || format('<text x="%s" y="%s" class="na">%s not sellable</text><text x="%s" y="%s" class="ns2">%s of %s on hand</text>',
                             w - r + 14, t + k * rowh + 13,
                             pg_temp.fmt(round(100 * nd.blocked / NULLIF(nd.on_hand, 0), 1), '%'),
                             w - r + 14, t + k * rowh + 28, pg_temp.fmt(nd.blocked), pg_temp.fmt(nd.on_hand));
        k := k + 1;
    END LOOP;
    RETURN format('<figure class="chart"><figcaption><h3>What is not available, by node (units)</h3><p>Per node, the units that cannot be promised '
                  'to a new order: committed to orders (reserved, picked, packed), held (inspection, quarantine, damaged, refurbish, '
                  'vendor return) and inbound (incoming, in transit, returns due). All nodes on one scale.</p></figcaption>'
                  '<svg viewBox="0 0 %s %s" width="100%%" role="img" aria-label="What is not available, by node">%s</svg></figure>',
                  w, t + n * rowh + 12, svg);
END
$$;

-- What is not available, by state, all nodes: one bar per state, longest first.
CREATE FUNCTION pg_temp.blocked_chart() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    w CONSTANT numeric := 1200; l CONSTANT numeric := 170; r CONSTANT numeric := 90; rowh CONSTANT numeric := 30; t CONSTANT numeric := 16;
    pw CONSTANT numeric := w - l - r;
    svg text := ''; st record; k int := 0; top numeric; step numeric; v numeric; x numeric; n int;
BEGIN
    SELECT max(q), count(*) INTO top, n FROM (
        SELECT sum(qty) AS q FROM report_stock WHERE state <> 'available' GROUP BY state HAVING sum(qty) > 0) x;
    IF top IS NULL THEN
        RETURN '<figure class="chart"><figcaption><h3>What is not available</h3><p class="nodata">Every unit is available.</p></figcaption></figure>';
    END IF;
    step := pg_temp.nice_step(top, 6);
    top := ceil(top / step) * step;
    v := 0;
    WHILE v <= top LOOP
        x := round(l + v * pw / top, 1);
        svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" class="%s"/><text x="%s" y="%s" class="xl">%s</text>',
                             x, t, x, t + n * rowh, CASE WHEN v = 0 THEN 'axis' ELSE 'grid' END, x, t + n * rowh + 16, pg_temp.fmt(v));
        v := v + step;
    END LOOP;
    FOR st IN
        SELECT s.state, sum(s.qty) AS qty, g.cls, g.label
          FROM report_stock s JOIN report_group g ON s.state = ANY (g.states)
         WHERE s.state <> 'available' GROUP BY s.state, g.cls, g.label, g.g HAVING sum(s.qty) > 0
         ORDER BY sum(s.qty) DESC
    LOOP
        svg := svg || format('<text x="%s" y="%s" class="nl">%s</text><rect x="%s" y="%s" width="%s" height="20" class="%s"><title>%s: %s units (%s)</title></rect>'
                             '<text x="%s" y="%s" class="vl0">%s</text>',
                             l - 10, t + k * rowh + 15, replace(st.state, '_', ' '), l, t + k * rowh + 2,
                             round(greatest(st.qty * pw / top, 1), 1), st.cls, st.state, pg_temp.fmt(st.qty), pg_temp.esc(st.label),
                             round(l + st.qty * pw / top + 6, 1), t + k * rowh + 16, pg_temp.fmt(st.qty));
        k := k + 1;
    END LOOP;
    RETURN format('<figure class="chart"><figcaption><h3>What is not available, by state (units, all nodes)</h3>'
                  '<p>The same units by state, longest first; colours as above.</p></figcaption>'
                  '<svg viewBox="0 0 %s %s" width="100%%" role="img" aria-label="What is not available">%s</svg></figure>',
                  w, t + n * rowh + 24, svg);
END
$$;

-- an HTML table of a query's rows: numbers right-aligned, text escaped
CREATE FUNCTION pg_temp.html_table(caption text, q text, empty_note text DEFAULT 'none', wide boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record; head text := ''; body text := ''; first boolean := true;
BEGIN
    FOR r IN EXECUTE format('SELECT to_json(x) AS j FROM (%s) x', q) LOOP
        IF first THEN
            SELECT string_agg('<th>' || pg_temp.esc(replace(key, '_', ' ')) || '</th>', '' ORDER BY ordinality) INTO head
              FROM json_each(r.j) WITH ORDINALITY;
            first := false;
        END IF;
        body := body || '<tr>' || (SELECT string_agg(CASE WHEN json_typeof(value) = 'number'
                                                          THEN '<td class="n">' || pg_temp.numtext(value #>> '{}') || '</td>'
                                                          ELSE '<td>' || pg_temp.esc(value #>> '{}') || '</td>' END,
                                                     '' ORDER BY ordinality)
                                     FROM json_each(r.j) WITH ORDINALITY)
                     || '</tr>';
    END LOOP;
    IF first THEN
        RETURN format('<div class="tbl%s"><h3>%s</h3><p class="none">%s</p></div>', CASE WHEN wide THEN ' wide' ELSE '' END, caption, empty_note);
    END IF;
    RETURN format('<div class="tbl%s"><h3>%s</h3><table><tr>%s</tr>%s</table></div>', CASE WHEN wide THEN ' wide' ELSE '' END,
                  caption, head, body);
END
$$;

-- One card of "act first": severity crit / warn / ok, a headline figure, what it
-- is, what to do, and optional detail lines.
CREATE TEMP TABLE report_card(prio int, sev text, figure text, what text, todo text, detail text);

INSERT INTO report_card
SELECT 0, 'crit', pg_temp.fmt(count(*)), 'inconsistencies in the books (erp.verify())',
       'Stop and investigate before trusting any figure below: erp.verify() lists them.', NULL
  FROM erp.verify() HAVING count(*) > 0;

INSERT INTO report_card
SELECT 1, CASE WHEN count(*) FILTER (WHERE inbound = 0) > 0 THEN 'crit' ELSE 'warn' END,
       pg_temp.fmt(sum(units_backordered)),
       format('units owed to customers on backorder: %s of revenue at risk over %s items', pg_temp.money(sum(revenue_at_risk)), pg_temp.fmt(count(*))),
       CASE WHEN count(*) FILTER (WHERE inbound = 0) > 0
            THEN format('%s of these items have nothing incoming: raise purchase orders or transfers for them first.',
                        pg_temp.fmt(count(*) FILTER (WHERE inbound = 0)))
            ELSE 'Every item on backorder has stock on its way: chase the earliest deliveries.' END,
       (SELECT string_agg(format('<li><b>%s</b> %s units, %s at risk, %s</li>', pg_temp.esc(sku), pg_temp.fmt(units_backordered),
                                 pg_temp.money(revenue_at_risk),
                                 CASE WHEN inbound = 0 THEN '<span class="bad">nothing inbound</span>'
                                      ELSE format('%s inbound, next due %s', pg_temp.fmt(inbound), to_char(next_expected_at, 'Dy DD Mon')) END),
                          '' ORDER BY revenue_at_risk DESC)
          FROM (SELECT * FROM erp.kpi_backorder_exposure ORDER BY inbound = 0 DESC, revenue_at_risk DESC LIMIT 5) top)
  FROM erp.kpi_backorder_exposure HAVING count(*) > 0;

INSERT INTO report_card
SELECT 2, 'warn', pg_temp.fmt(count(*)), 'purchase orders late from suppliers',
       'Their units are promised by date: move stock from another node before the orders that wait on them age.',
       string_agg(format('<li><b>%s</b> PO %s for %s: due %s, now %s; %s</li>', pg_temp.esc(payload ->> 'supplier'),
                         pg_temp.esc(payload ->> 'po_id'), pg_temp.esc(payload ->> 'node'),
                         to_char((payload ->> 'was_expected_at')::timestamptz, 'Dy DD Mon'),
                         to_char((payload ->> 'expected_at')::timestamptz, 'Dy DD Mon'),
                         CASE WHEN jsonb_array_length(COALESCE(payload -> 'orders_at_risk', '[]')) = 0 THEN 'no order waits on it yet'
                              ELSE '<span class="bad">' || jsonb_array_length(payload -> 'orders_at_risk') || ' orders wait on it</span>' END),
                  '' ORDER BY event_id)
  FROM erp.event WHERE kind = 'supplier_delay' HAVING count(*) > 0;

INSERT INTO report_card
SELECT 3, 'warn', pg_temp.fmt(count(*)), 'stock adjustments wait for an approver',
       format('%s at cost of stock corrections are not booked until someone other than the counter approves them (erp.approve_adjustment); the oldest has waited %s.',
              pg_temp.money(sum(q.value)), pg_temp.age(max(q.age))),
       string_agg(format('<li><b>%s</b> at %s: %s units, %s at cost</li>', pg_temp.esc(i.sku), pg_temp.esc(q.node),
                         pg_temp.fmt(a.qty_delta), pg_temp.money(q.value)), '' ORDER BY q.value DESC)
  FROM erp.approval_queue q JOIN erp.adjustment a ON a.adjustment_id = q.id JOIN erp.item i ON i.item_id = a.item_id
 WHERE q.kind = 'adjustment' HAVING count(*) > 0;

INSERT INTO report_card
SELECT 4, 'warn', pg_temp.fmt(count(*)), 'refunds wait for an approver',
       format('%s owed to customers; the oldest has waited %s. Approve them with erp.approve_refund.',
              pg_temp.money(sum(value)), pg_temp.age(max(age))), NULL
  FROM erp.approval_queue WHERE kind = 'refund' HAVING count(*) > 0;

INSERT INTO report_card
SELECT 5, CASE WHEN count(*) FILTER (WHERE now() - at < interval '24 hours') > 0 THEN 'warn' ELSE 'ok' END,
       pg_temp.fmt(count(*)), 'pick exceptions (short picks) today',
       'The shelf had fewer units than the books: count those locations before the next wave.',
       (SELECT string_agg(format('<li><b>%s</b> %s short picks</li>', pg_temp.esc(code), pg_temp.fmt(c)), '' ORDER BY c DESC, code)
          FROM (SELECT n.code, count(*) AS c FROM erp.event e JOIN erp.node n ON n.node_id = e.node_id
                 WHERE e.kind = 'pick_exception' AND e.at >= date_trunc('day', now()) GROUP BY n.code) pn)
  FROM erp.event WHERE kind = 'pick_exception' AND at >= date_trunc('day', now()) HAVING count(*) > 0;

INSERT INTO report_card
SELECT 6, CASE WHEN unit_fill_rate_pct < 95 THEN 'warn' ELSE 'ok' END, pg_temp.fmt(unit_fill_rate_pct, '%'),
       'of ordered units filled from stock (target 95 %)',
       CASE WHEN unit_fill_rate_pct < 95 THEN 'Below target: the backorders above are where the units are missing.'
            ELSE 'On target.' END, NULL
  FROM erp.dashboard WHERE unit_fill_rate_pct IS NOT NULL;

INSERT INTO report_card
SELECT 7, CASE WHEN max(oldest_age_hours) >= 24 THEN 'warn' ELSE 'ok' END, pg_temp.fmt(sum(orders)),
       format('orders open; the oldest was captured %s h ago', pg_temp.fmt(max(oldest_age_hours))),
       CASE WHEN max(oldest_age_hours) >= 24 THEN 'Orders older than a day: check what holds them (erp.kpi_order_aging).'
            ELSE 'None older than a day.' END, NULL
  FROM erp.kpi_order_aging HAVING count(*) > 0;

CREATE TEMP TABLE report_hours AS SELECT * FROM demo_hour ORDER BY hour;

SELECT '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    || '<meta name="viewport" content="width=device-width, initial-scale=1">'
    || '<title>inventory_erp: peak day report</title><style>'
    || ':root{--g1:#2da44e;--g2:#3b82f6;--g3:#e8590c;--g4:#9ca3af;--crit:#c92a2a;--warn:#e8590c;--ok:#2f9e44}'
    || 'body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f7f9}'
    || 'main{max-width:1280px;margin:0 auto;padding:24px 28px 48px}'
    || 'h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 12px;padding-bottom:6px;border-bottom:2px solid #d0d7de}'
    || 'h3{font-size:15px;margin:0 0 2px}.sub{color:#57606a;margin:0 0 18px}'
    || '.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(370px,1fr));gap:14px}'
    || '.card{background:#fff;border-radius:8px;padding:14px 16px;border-left:7px solid var(--ok);box-shadow:0 1px 2px #0002}'
    || '.card.crit{border-left-color:var(--crit)}.card.warn{border-left-color:var(--warn)}'
    || '.card .fig{font-size:30px;font-weight:700;line-height:1.1}.card.crit .fig{color:var(--crit)}.card.warn .fig{color:#b94a08}'
    || '.card .what{font-weight:600}.card .todo{color:#424a53;margin-top:4px}.card ul{margin:6px 0 0;padding-left:18px;font-size:13.5px}'
    || '.bad{color:var(--crit);font-weight:600}'
    || '.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}'
    || '.tile{background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 2px #0002}'
    || '.tile b{display:block;font-size:22px}.tile span{color:#57606a;font-size:13px}'
    || 'figure.chart{background:#fff;border-radius:8px;margin:0 0 16px;padding:14px 16px 8px;box-shadow:0 1px 2px #0002}'
    || 'figcaption p{margin:0 0 6px;color:#57606a;font-size:13.5px}svg{display:block;overflow:visible}'
    || 'svg text{font-family:system-ui,sans-serif}'
    || '.grid{stroke:#e5e7eb;stroke-width:1}.axis{stroke:#6e7781;stroke-width:1.2}'
    || '.yl{font-size:12px;fill:#57606a;text-anchor:end}.xl{font-size:12px;fill:#57606a;text-anchor:middle}'
    || '.lg{font-size:13px;fill:#1f2328}.band{fill:#fff4e0}.bandl{font-size:12px;fill:#b94a08;font-weight:600}'
    || '.mark{stroke:#6e7781;stroke-width:1;stroke-dasharray:3 3}.markl{font-size:11.5px;fill:#424a53}'
    || '.target{stroke:#c92a2a;stroke-width:1.5;stroke-dasharray:6 4}.targetl{font-size:12px;fill:#c92a2a}'
    || '.l{fill:none;stroke-width:2.5}.p{stroke:#fff;stroke-width:1}.vl{font-size:13px;font-weight:700}.vl0{font-size:12.5px;fill:#1f2328}'
    || 'rect.s1,.s1.p{fill:#3b82f6}rect.s2,.s2.p{fill:#2da44e}rect.s3,.s3.p{fill:#e8590c}rect.s4,.s4.p{fill:#8250df}'
    || '.s1.l{stroke:#3b82f6}.s2.l{stroke:#2da44e}.s3.l{stroke:#e8590c}.s4.l{stroke:#8250df}'
    || 'text.s1{fill:#1d4ed8}text.s2{fill:#1a7f37}text.s3{fill:#b94a08}text.s4{fill:#6639ba}'
    || '.g1{fill:var(--g1)}.g2{fill:var(--g2)}.g3{fill:var(--g3)}.g4{fill:var(--g4)}'
    || '.nl{font-size:14px;font-weight:600;text-anchor:end}.ns{font-size:12px;fill:#57606a;text-anchor:end}'
    || '.in{font-size:12px;fill:#fff;font-weight:600;text-anchor:middle}.na{font-size:14px;font-weight:700;fill:#b94a08}.ns2{font-size:12px;fill:#57606a}'
    || '.tables{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px}'
    || '.tbl.wide{grid-column:1/-1}.tbl{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px #0002;overflow-x:auto}'
    || 'table{border-collapse:collapse;font-size:13px;margin-top:6px;width:100%}'
    || 'td,th{border-bottom:1px solid #e5e7eb;padding:4px 7px;text-align:left;white-space:nowrap}th{background:#f6f8fa;font-weight:600;white-space:normal;vertical-align:bottom}'
    || 'td.n{text-align:right;font-variant-numeric:tabular-nums}.none,.nodata{color:#57606a;font-style:italic}'
    || '#planning .tbl{margin-bottom:14px}'
    || '</style></head><body><main>'
    || format('<h1>Peak day at the demo retailer</h1><p class="sub">%s orders captured, %s shipments, %s returns authorised, '
              'over 14 trading hours (08&#8211;21 h) ending %s. Generated by <code>make demo</code> from the views of inventory_erp; '
              'every number on this page is a query result.</p>',
              pg_temp.fmt((SELECT count(*) FROM erp.sales_order WHERE created_at >= (SELECT t0 FROM demo_clock))),
              pg_temp.fmt((SELECT count(*) FROM erp.shipment WHERE shipped_at >= (SELECT t0 FROM demo_clock))),
              pg_temp.fmt((SELECT count(*) FROM erp.rma WHERE authorized_at >= (SELECT t0 FROM demo_clock))),
              to_char(now(), 'YYYY-MM-DD HH24:MI'))

    -- 1. what to act on first
    || '<section id="act"><h2>Act on these first</h2><div class="cards">'
    || COALESCE((SELECT string_agg(format('<div class="card %s"><div class="fig">%s</div><div class="what">%s</div><div class="todo">%s</div>%s</div>',
                                          sev, figure, what, todo, CASE WHEN detail IS NOT NULL THEN '<ul>' || detail || '</ul>' ELSE '' END),
                                   '' ORDER BY CASE sev WHEN 'crit' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, prio)
                   FROM report_card), '<p class="none">Nothing waits.</p>')
    || '</div></section>'

    -- 2. the day in figures
    || '<section id="figures"><h2>The day in figures</h2><div class="tiles">'
    || (SELECT string_agg(format('<div class="tile"><b>%s</b><span>%s</span></div>', v, k), '' ORDER BY o)
          FROM erp.dashboard d, LATERAL (VALUES
              (1, pg_temp.fmt(d.orders_today), 'orders today'),
              (2, pg_temp.fmt(d.shipments_today), 'shipments today'),
              (3, pg_temp.fmt(d.orders_open), 'orders open'),
              (4, pg_temp.fmt(d.unit_fill_rate_pct, '%'), 'unit fill rate'),
              (5, pg_temp.fmt(d.split_rate_pct, '%'), 'split shipments'),
              (6, pg_temp.fmt(d.units_on_hand), 'units on hand'),
              (7, pg_temp.fmt(d.units_available), 'units available'),
              (8, pg_temp.fmt(d.inventory_value), 'inventory value at cost'),
              (9, pg_temp.fmt(d.units_inbound), 'units inbound'),
              (10, pg_temp.fmt(d.returns_open), 'returns open'),
              (11, pg_temp.fmt(d.return_cycle_hours, ' h'), 'return to sellable, average'),
              (12, pg_temp.fmt(d.count_accuracy_pct, '%'), 'cycle counts exact')) AS t(o, v, k))
    || '</div></section>'

    -- 3. the hours
    || '<section id="hours"><h2>Hour by hour</h2>'
    || (SELECT pg_temp.chart('Orders captured and shipped per hour',
                             'The Amazon promotion doubled the orders from 12 to 14 h; the warehouses ship at most their capacity per hour.',
                             array_agg(lpad(hour::text, 2, '0') || ' h' ORDER BY hour),
                             jsonb_build_array(
                                 jsonb_build_object('name', 'orders captured', 'kind', 'bar', 'cls', 's1', 'values', jsonb_agg(orders ORDER BY hour)),
                                 jsonb_build_object('name', 'orders shipped', 'kind', 'bar', 'cls', 's2', 'values', jsonb_agg(shipped_orders ORDER BY hour))),
                             '', true, '{"from": 5, "to": 7, "label": "Amazon promotion"}')
          FROM report_hours)
    || (SELECT pg_temp.chart('Unit fill rate at the end of each hour',
                             'Units allocated from stock / units ordered, all orders so far. The axis covers the values of the day, not 0&#8211;100 %.',
                             array_agg(lpad(hour::text, 2, '0') || ' h' ORDER BY hour),
                             jsonb_build_array(jsonb_build_object('name', 'unit fill rate', 'kind', 'line', 'cls', 's1',
                                                                  'values', jsonb_agg(fill_rate ORDER BY hour))),
                             '%', false, '{"from": 5, "to": 7, "label": "Amazon promotion"}', 95,
                             '[{"at": 4, "label": "supplier delay"}, {"at": 8, "label": "purchase orders raised"}, {"at": 10, "label": "early deliveries"}]')
          FROM report_hours)
    || (SELECT pg_temp.chart('Open orders and backordered units at the end of each hour',
                             'Orders waiting to ship, and units customers ordered that no stock covers yet.',
                             array_agg(lpad(hour::text, 2, '0') || ' h' ORDER BY hour),
                             jsonb_build_array(
                                 jsonb_build_object('name', 'open orders', 'kind', 'line', 'cls', 's1', 'values', jsonb_agg(open_orders ORDER BY hour)),
                                 jsonb_build_object('name', 'backordered units', 'kind', 'line', 'cls', 's3', 'values', jsonb_agg(backordered_units ORDER BY hour))),
                             '', true, '{"from": 5, "to": 7, "label": "Amazon promotion"}', NULL,
                             '[{"at": 10, "label": "early deliveries serve waiting orders"}]')
          FROM report_hours)
    || (SELECT pg_temp.chart('Split shipment rate at the end of each hour',
                             'Shipped orders that left from more than one node / shipped orders. Axis scaled to the day''s values.',
                             array_agg(lpad(hour::text, 2, '0') || ' h' ORDER BY hour),
                             jsonb_build_array(jsonb_build_object('name', 'split rate', 'kind', 'line', 'cls', 's4',
                                                                  'values', jsonb_agg(split_rate ORDER BY hour))),
                             '%', false, '{"from": 5, "to": 7, "label": "Amazon promotion"}')
          FROM report_hours)
    || '</section>'

    -- 4. stock
    || '<section id="stock"><h2>Stock by state</h2>'
    || pg_temp.stock_chart()
    || pg_temp.blocked_chart()
    || '</section>'

    -- 5. planning: the views of issue 15 over the weeks of history demo/history.sql
    -- loads (erp.kpi_forecast_accuracy, erp.worklist, erp.anomalies,
    -- erp.return_forecast, erp.replenishment's forecast columns) and the replay of
    -- the reorder rules (demo/replenishment_sim.sql, table demo_sim); shown when
    -- this build has them
    || '<section id="planning"><h2>Planning</h2>'
    || CASE WHEN to_regclass('erp.kpi_forecast_accuracy') IS NOT NULL
            THEN '<p class="sub">Twelve weeks of demand history before the day (demo/history.sql: demand imported, forecasts '
                 'refreshed 28 and 14 days ago, counts, shipments and returns), then tonight''s refresh and anomaly detection '
                 '(demo/planning.sql). '
                 || CASE WHEN (SELECT t0::date FROM demo_clock) < current_date
                         THEN 'The peak day began yesterday (UTC), so its demand, about three ordinary days, is in the accuracy '
                              'window and in tonight''s refresh: the forecast ran cold on it.'
                         ELSE 'The peak day is today (UTC): the accuracy window and tonight''s refresh end yesterday.' END
                 || '</p>'
                 || pg_temp.html_table('Forecast accuracy by channel, last 28 days (from erp.kpi_forecast_accuracy; WAPE and bias in %, '
                                       'bias above 0: the forecast ran hot)',
                                       'SELECT channel, sum(series_days) AS series_days, sum(actual_units) AS actual_units, '
                                       'sum(forecast_units) AS forecast_units, '
                                       'round(sum(wape * actual_units) / nullif(sum(actual_units), 0), 1) AS wape, '
                                       'round(100 * (sum(forecast_units) - sum(actual_units)) / nullif(sum(actual_units), 0), 1) AS bias_pct '
                                       'FROM erp.kpi_forecast_accuracy GROUP BY channel ORDER BY channel',
                                       'No forecast has been measured yet.')
                 || pg_temp.html_table('Forecast accuracy by channel and category (erp.kpi_forecast_accuracy)',
                                       'SELECT * FROM erp.kpi_forecast_accuracy ORDER BY channel, category',
                                       'No forecast has been measured yet.')
            ELSE '' END
    || CASE WHEN to_regclass('erp.worklist') IS NOT NULL
            THEN pg_temp.html_table('What needs a person now (erp.worklist, top 12)',
                                    'SELECT kind, ref, node, score, value, days_waiting, '
                                    'CASE WHEN length(why) > 75 THEN left(why, 72) || ''...'' ELSE why END AS why '
                                    'FROM erp.worklist LIMIT 12', 'Nothing on the worklist.') ELSE '' END
    || CASE WHEN to_regclass('erp.anomalies') IS NOT NULL
            THEN pg_temp.html_table('Open anomalies (erp.anomalies, top 12)',
                                    'SELECT anomaly_id, kind, ref, node, sku, score, value, to_char(detected_at, ''YYYY-MM-DD HH24:MI'') AS detected '
                                    'FROM erp.anomalies LIMIT 12', 'No open anomaly.') ELSE '' END
    || CASE WHEN to_regclass('erp.return_forecast') IS NOT NULL
            THEN pg_temp.html_table('Returns expected next week, units per day (erp.return_forecast, all nodes)',
                                    'SELECT category, '
                                    'string_agg(to_char(day, ''Dy'') || '' '' || to_char(u, ''FM990.0''), '' · '' ORDER BY day) AS by_day, '
                                    'round(sum(u), 1) AS week FROM (SELECT category, day, sum(expected_units) AS u FROM erp.return_forecast '
                                    'WHERE day <= current_date + 7 GROUP BY category, day) x GROUP BY category ORDER BY sum(u) DESC',
                                    'No return expected.')
                 || pg_temp.html_table('Returns expected next week by node (erp.return_forecast, units)',
                                       'SELECT node, category, sum(expected_units) AS expected_units FROM erp.return_forecast '
                                       'WHERE day <= current_date + 7 GROUP BY node, category ORDER BY sum(expected_units) DESC LIMIT 12',
                                       'No return expected.') ELSE '' END
    || CASE WHEN to_regclass('erp.kpi_forecast_accuracy') IS NOT NULL
            THEN pg_temp.html_table('Replenishment, old and new figures (erp.replenishment at the DC, service level 0.95): '
                                    'the 12 items whose reorder point moves most. The old daily demand is shipments of the last '
                                    '28 days / 28: the imported history has no shipments, so it sees the peak day and the history''s '
                                    'web orders only; the replay below compares the rules on the same demand',
                                    'SELECT sku, avg_daily_demand AS old_daily_demand, reorder_point AS old_reorder_point, suggested_qty AS old_suggested, '
                                    'fc_daily_demand, fc_demand_sd, lead_time_mean AS lead_time, fc_safety_stock, fc_reorder_point, fc_suggested_qty '
                                    'FROM erp.replenishment WHERE fc_reorder_point IS NOT NULL '
                                    'ORDER BY abs(fc_reorder_point - reorder_point) DESC, sku LIMIT 12',
                                    'No policy has a forecast yet.')
                 || pg_temp.html_table('Replenishment over all policies: old and new',
                                       'SELECT count(*) AS policies, sum(reorder_point) AS old_reorder_points, sum(fc_reorder_point) AS new_reorder_points, '
                                       'sum(fc_safety_stock) AS new_safety_stock, count(*) FILTER (WHERE suggested_qty > 0) AS old_orders_now, '
                                       'sum(suggested_qty) AS old_units_now, count(*) FILTER (WHERE fc_suggested_qty > 0) AS new_orders_now, '
                                       'sum(fc_suggested_qty) AS new_units_now FROM erp.replenishment WHERE fc_reorder_point IS NOT NULL',
                                       'No policy has a forecast yet.')
            ELSE '' END
    || CASE WHEN to_regclass('demo_sim') IS NOT NULL
            THEN pg_temp.html_table('The reorder rules replayed over the last 56 days of demand (demo/replenishment_sim.sql; '
                                    'lost sales, each rule ordering the policy''s quantity)',
                                    'SELECT rule, segment, items, stockout_days, stockout_days_pct, fill_rate_pct, avg_stock_units, avg_stock_value '
                                    'FROM demo_sim ORDER BY rule_order', 'No replay.', true)
            ELSE '' END
    || CASE WHEN COALESCE(to_regclass('erp.worklist'), to_regclass('erp.anomalies'), to_regclass('erp.kpi_forecast_accuracy'),
                          to_regclass('erp.return_forecast')) IS NULL
            THEN '<p class="none">This build has no planning views yet (forecasts, anomalies, worklist): this section shows them once they are installed.</p>'
            ELSE '' END
    || '</section>'

    -- 5b. margin: what each channel really earned and what returns cost, from the cost
    -- entries the day posted (erp.kpi_margin, erp.kpi_return_cost, erp.inventory_value;
    -- doc/finance.md); shown when this build has costing
    || CASE WHEN to_regclass('erp.kpi_margin') IS NOT NULL THEN
           '<section id="margin"><h2>Margin and inventory value</h2>'
           || '<p class="sub">From the cost entries every move posted: cost of goods sold by the items'' cost method, '
              'landed freight and duty included (also on units sold before the bill arrived, in the channel that sold them), '
              'net of returns back in stock; refunds and what returns cost by reason.</p>'
           || '<div class="tables">'
           || pg_temp.html_table('Margin by channel (erp.kpi_margin, all categories)',
                                 'SELECT channel, sum(revenue) AS revenue, sum(cogs) AS cogs, sum(refunds) AS refunds, '
                                 'sum(restocking_fees) AS restocking_fees_kept, sum(return_cost) AS return_cost, '
                                 'sum(gross_margin) AS gross_margin, '
                                 'round(100 * sum(gross_margin) / nullif(sum(revenue) - sum(refunds), 0), 1) AS gross_margin_pct '
                                 'FROM erp.kpi_margin GROUP BY channel ORDER BY sum(gross_margin) DESC',
                                 'Nothing was sold yet.')
           || pg_temp.html_table('Return cost by reason (erp.kpi_return_cost, all categories)',
                                 'SELECT reason, sum(units_returned) AS units_returned, sum(refunds) AS refunds, '
                                 'sum(restocking_fees) AS restocking_fees_kept, sum(cost_restocked) AS cost_back_in_stock, '
                                 'sum(return_cost) AS written_off, sum(total_cost) AS total_cost '
                                 'FROM erp.kpi_return_cost GROUP BY reason ORDER BY sum(total_cost) DESC',
                                 'No return was received yet.')
           || pg_temp.html_table('Inventory value by node (erp.inventory_value, at cost)',
                                 'SELECT COALESCE(node, ''all nodes'') AS node, count(*) AS skus, sum(qty) AS units, sum(value) AS value, '
                                 'round(sum(value) / nullif(sum(qty), 0), 2) AS avg_unit_cost '
                                 'FROM erp.inventory_value GROUP BY ROLLUP (node) ORDER BY grouping(node), node',
                                 'No stock on hand.')
           || pg_temp.html_table('Margin by channel and category (erp.kpi_margin)',
                                 'SELECT channel, category, revenue, cogs, refunds, return_cost, gross_margin, gross_margin_pct '
                                 'FROM erp.kpi_margin ORDER BY channel, category',
                                 'Nothing was sold yet.', true)
           || '</div></section>'
       ELSE '' END

    -- 5c. orchestration and the warehouse: held orders, late shipments, the wave's walk;
    -- shown when this build has them (doc/orchestration.md, doc/warehouse.md)
    || CASE WHEN to_regclass('erp.order_hold') IS NOT NULL THEN
           '<section id="orchestration"><h2>Held orders, late shipments, the wave, checkout holds</h2>'
           || '<div class="tables">'
           || pg_temp.html_table('Orders on hold now (erp.order_hold)',
                                 'SELECT o.order_id, o.external_ref, c.code AS channel, h.reason, h.held_by, '
                                 'round(extract(epoch FROM now() - h.held_at) / 3600, 1) AS hours_held '
                                 'FROM erp.order_hold h JOIN erp.sales_order o USING (order_id) JOIN erp.channel c USING (channel_id) '
                                 'WHERE h.released_at IS NULL ORDER BY h.held_at',
                                 'No order waits on a hold.')
           || pg_temp.html_table('Holds released today (erp.order_hold)',
                                 'SELECT reason, count(*) AS released, '
                                 'round(avg(extract(epoch FROM h.released_at - h.held_at) / 3600)::numeric, 2) AS avg_hours_held '
                                 'FROM erp.order_hold h WHERE h.released_at IS NOT NULL GROUP BY reason ORDER BY reason',
                                 'No hold was released.')
           || pg_temp.html_table('Late shipments against their ship-by time (erp.kpi_late_shipments)',
                                 'SELECT * FROM erp.kpi_late_shipments ORDER BY channel, service',
                                 'No order with a service level was shipped.')
           || CASE WHEN to_regclass('erp.wave') IS NOT NULL THEN
                  pg_temp.html_table('Waves at DC-BER: stops and units of each walk (erp.pick_list)',
                                     'SELECT w.wave_id, count(p.seq) AS stops, sum(p.qty) AS units, '
                                     'count(DISTINCT o) AS orders '
                                     'FROM erp.wave w CROSS JOIN LATERAL erp.pick_list(w.wave_id) p '
                                     'LEFT JOIN LATERAL unnest(p.order_ids) o ON true '
                                     'GROUP BY w.wave_id ORDER BY w.wave_id',
                                     'No wave was created.')
              ELSE '' END
           || CASE WHEN to_regclass('erp.hold_conversion') IS NOT NULL THEN
                  pg_temp.html_table('Checkout holds and their conversion to orders (erp.hold_conversion)',
                                     'SELECT channel, holds, converted, expired, released, open, units_held, '
                                     'units_converted, conversion_pct FROM erp.hold_conversion ORDER BY channel',
                                     'No checkout held stock.')
              ELSE '' END
           || '</div></section>'
       ELSE '' END

    -- 6. details
    || '<section id="details"><h2>Details</h2><div class="tables">'
    || pg_temp.html_table('Fill rate by channel (erp.kpi_fill_rate)',
                          'SELECT channel, orders, units_ordered, units_allocated, units_backordered, unit_fill_rate_pct, line_fill_rate_pct FROM erp.kpi_fill_rate ORDER BY channel')
    || pg_temp.html_table('Backorder exposure, top 10 by revenue at risk (erp.kpi_backorder_exposure)',
                          'SELECT sku, orders, units_backordered, revenue_at_risk, inbound, to_char(next_expected_at, ''Dy DD Mon'') AS next_due FROM erp.kpi_backorder_exposure ORDER BY revenue_at_risk DESC LIMIT 10',
                          'No backorder.')
    || pg_temp.html_table('Order aging (erp.kpi_order_aging)', 'SELECT * FROM erp.kpi_order_aging ORDER BY status', 'No open order.')
    || pg_temp.html_table('Split shipments (erp.kpi_split_shipments)', 'SELECT * FROM erp.kpi_split_shipments ORDER BY channel')
    || pg_temp.html_table('Returns: receipt to sellable again, hours (erp.kpi_return_cycle_time)', 'SELECT * FROM erp.kpi_return_cycle_time ORDER BY category')
    || pg_temp.html_table('Refund latency, hours (erp.kpi_refund_latency)', 'SELECT * FROM erp.kpi_refund_latency')
    || pg_temp.html_table('Inventory accuracy (erp.kpi_inventory_accuracy)', 'SELECT * FROM erp.kpi_inventory_accuracy ORDER BY node', 'No cycle count.', true)
    || pg_temp.html_table('Adjustments (erp.kpi_adjustment_rate)', 'SELECT * FROM erp.kpi_adjustment_rate ORDER BY node')
    || pg_temp.html_table('Events of the day (erp.event)', 'SELECT kind, count(*) AS events FROM erp.event WHERE at >= (SELECT t0 FROM demo_clock) GROUP BY kind ORDER BY count(*) DESC')
    || pg_temp.html_table('The hours (demo)', 'SELECT * FROM report_hours ORDER BY hour', 'none', true)
    || '</div></section>'
    || '</main></body></html>';
