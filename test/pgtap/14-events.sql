-- 14-events.sql: the events a refusal leaves behind (issue 9): a wrong scan is
-- refused with IE007 and its pick_exception event is committed by a background
-- worker; the scan it keeps is the scan as given, cut (when longer than 1024
-- bytes) at a character boundary, never inside a multibyte character (an event
-- ending in half a character broke every pg_restore of erp.event); JSON special
-- characters survive the round trip; the waiting limit is a setting.
--
-- The database is shared with the other pgTAP files: master data uses codes
-- starting with TAP14- and is rolled back at the end; the pick_exception events,
-- committed by their writer, outlive the ROLLBACK by design (their scans start
-- with TAP14 or are the long scans below).  The test order is created in this
-- transaction, so the writer (which sees only committed rows) stores its id not
-- in order_id but in the payload as uncommitted_order_id: an event never names
-- an order that is rolled back.
BEGIN;
SELECT plan(15);

INSERT INTO erp.node (code, kind) VALUES ('TAP14-DC', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP14-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP14-WEB' AND n.code = 'TAP14-DC';
INSERT INTO erp.item (sku, title, unit_price) VALUES ('TAP14-TEE', 'tap tee', 10.00);
SELECT erp.receive('TAP14-TEE', 'TAP14-DC', 5);
CREATE TEMP TABLE tap14_order AS
SELECT erp.capture_order('TAP14-WEB', 'TAP14-O1', '[{"sku": "TAP14-TEE", "qty": 2}]') AS order_id;
SELECT count(*) FROM erp.allocate((SELECT order_id FROM tap14_order));

-- the last pick_exception event of the test order
CREATE FUNCTION pg_temp.last_scan() RETURNS text LANGUAGE sql AS $$
    SELECT payload->>'scan' FROM erp.event
     WHERE kind = 'pick_exception'
       AND (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap14_order)
     ORDER BY event_id DESC LIMIT 1
$$;
CREATE FUNCTION pg_temp.pick_events() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM erp.event
     WHERE kind = 'pick_exception'
       AND (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap14_order)
$$;

-- A multibyte scan across the old 39-byte cut ----------------------------------

-- 38 ASCII bytes, then two 2-byte characters: byte 39 is the first half of 'é'
SELECT throws_ok(format('SELECT erp.pick(%s, %L, 1)', (SELECT order_id FROM tap14_order),
                        'TAP14-' || repeat('a', 32) || 'éü'),
    'IE007', NULL,
    'a wrong multibyte scan is refused with IE007');
SELECT is(pg_temp.last_scan(), 'TAP14-' || repeat('a', 32) || 'éü',
    'the pick_exception event keeps the whole multibyte scan, or the exception report names another item than the one scanned');
SELECT lives_ok($$SELECT convert_from(convert_to(payload::text, 'UTF8'), 'UTF8') FROM erp.event
                   WHERE (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap14_order)$$,
    'every event of the order is valid UTF-8, or pg_restore of erp.event would fail and lose every event');
SELECT is(pg_temp.pick_events(), 1::bigint,
    'exactly one event for one wrong scan, although the picker''s call was refused');

-- A scan across the 1024-byte bound of a detail ------------------------------

-- 1023 ASCII bytes and a 2-byte character: kept as the 1023 bytes (when erp.pick
-- takes such a scan at all: a bound on its input may refuse it first, IE004)
CREATE FUNCTION pg_temp.long_scan_outcome() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.pick_events();
BEGIN
    BEGIN
        PERFORM erp.pick((SELECT order_id FROM tap14_order), repeat('x', 1023) || 'é', 1);
    EXCEPTION
        WHEN SQLSTATE 'IE004' THEN
            RETURN CASE WHEN pg_temp.pick_events() = before THEN 'refused by a bound' ELSE 'IE004 and an event' END;
        WHEN SQLSTATE 'IE007' THEN
            RETURN CASE WHEN pg_temp.pick_events() = before + 1 AND pg_temp.last_scan() = repeat('x', 1023)
                        THEN 'recorded, cut at a character' ELSE 'recorded as ' || left(pg_temp.last_scan(), 40) || '...' END;
    END;
    RETURN 'accepted';
END
$$;
SELECT ok(pg_temp.long_scan_outcome() IN ('refused by a bound', 'recorded, cut at a character'),
    'a scan straddling the 1024-byte cut is refused by a bound or kept as its first 1023 bytes, never half a character');
SELECT lives_ok($$SELECT convert_from(convert_to(payload::text, 'UTF8'), 'UTF8') FROM erp.event
                   WHERE (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap14_order)$$,
    'the events are still valid UTF-8 after the long scan');

-- JSON special characters -------------------------------------------------------

SELECT throws_ok(format('SELECT erp.pick(%s, %L, 1)', (SELECT order_id FROM tap14_order),
                        E'TAP14-"quoted"\\back\tslash\n'),
    'IE007', NULL,
    'a wrong scan with quotes, a backslash and control characters is refused with IE007');
SELECT is(pg_temp.last_scan(), E'TAP14-"quoted"\\back\tslash\n',
    'its event keeps the scan exactly (escaped as JSON), or a crafted scan could forge event fields');
SELECT is((SELECT array_agg(k ORDER BY k) FROM erp.event e, jsonb_object_keys(e.payload) k
            WHERE e.event_id = (SELECT max(event_id) FROM erp.event
                                 WHERE kind = 'pick_exception'
                                   AND (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap14_order))),
    ARRAY['lines', 'qty', 'scan', 'uncommitted_node_id', 'uncommitted_order_id'],
    'the payload has exactly the keys lines (the order''s), qty, scan, uncommitted_node_id (the node of the order''s stock) and uncommitted_order_id, or a crafted scan forged a field');
SELECT is((SELECT (payload->>'qty')::bigint FROM erp.event
            WHERE kind = 'pick_exception'
              AND (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap14_order)
            ORDER BY event_id DESC LIMIT 1), 1::bigint,
    'the payload carries the quantity scanned');

-- An order of this (uncommitted) transaction ------------------------------------

SELECT is((SELECT count(*) FROM erp.event WHERE order_id = (SELECT order_id FROM tap14_order)), 0::bigint,
    'no event names the uncommitted order in order_id, or a rollback would leave events about an order that never existed');
SELECT is((SELECT count(*) FROM erp.event
            WHERE kind = 'pick_exception' AND order_id IS NULL AND item_id IS NULL
              AND (payload->>'uncommitted_order_id')::bigint = (SELECT order_id FROM tap14_order)),
          pg_temp.pick_events(),
    'each of its pick exceptions is kept with order_id NULL and the order id under uncommitted_order_id, or the exception would be lost or name a ghost');

-- The waiting limit -------------------------------------------------------------

SELECT is(current_setting('inventory_erp.event_wait_timeout'), '5min',
    'inventory_erp.event_wait_timeout defaults to 5 minutes: a refused scan waits that long for a worker slot before saying its event was not recorded');
SELECT is(stock, 2::bigint, 'the refused scans picked nothing: 2 units still reserved')
  FROM (SELECT sum(qty)::bigint AS stock FROM erp.stock_balance b JOIN erp.item i USING (item_id)
         WHERE i.sku = 'TAP14-TEE' AND b.state = 'reserved') s;

SELECT is((SELECT proconfig FROM pg_catalog.pg_proc WHERE oid = 'erp.event_notify()'::regprocedure),
    ARRAY['search_path=pg_catalog, pg_temp'],
    'the NOTIFY trigger function runs with a fixed search_path, like every trigger function of the extension');

SELECT * FROM finish();
ROLLBACK;
