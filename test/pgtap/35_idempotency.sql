-- 35_idempotency.sql: idempotent calls (issue 11, deliverable 2; doc/idempotency.md).
-- For every state-changing function: the first call with a key has an effect; the
-- same call with the same key returns the same result and changes nothing; the
-- same key with other arguments is refused with IE010 and changes nothing.  Then:
-- a NULL key is the old behaviour, keys are per login, expired keys run again,
-- bad keys are refused with IE004, nobody writes the table directly.
--
-- "Changes nothing" is a fingerprint of every erp table (except the keys
-- themselves): one md5 per table of all its rows.  The database is shared with
-- the other pgTAP files: master data uses codes starting with TAP35-, and
-- everything is rolled back at the end.
BEGIN;
SELECT plan(195);

-- Every erp table but erp.idempotency_key, one md5 of its rows each.
CREATE FUNCTION pg_temp.fp() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t regclass;
    h text;
    acc text := '';
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c
              WHERE c.relnamespace = 'erp'::regnamespace AND c.relkind IN ('r', 'p')
                AND c.relname <> 'idempotency_key' ORDER BY c.relname LOOP
        EXECUTE format('SELECT md5(coalesce(string_agg(x::text, ''|'' ORDER BY x::text), '''')) FROM %s x', t)
           INTO h;
        acc := acc || t::text || '=' || h || E'\n';
    END LOOP;
    RETURN acc;
END
$$;

-- The functions retried below (compared with every function that takes a key).
CREATE TEMP TABLE tap35_covered (fn regprocedure PRIMARY KEY);

-- retry(label, call, other, key [, as_role]): call and other are SQL returning
-- one text, with %L for the key; five assertions.
CREATE FUNCTION pg_temp.retry(label text, call text, other text, key text, as_role text DEFAULT NULL)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    before text := pg_temp.fp();
    after1 text;
    r1 text;
    r2 text;
    refused text;
BEGIN
    IF as_role IS NOT NULL THEN EXECUTE format('SET ROLE %I', as_role); END IF;
    EXECUTE format(call, key) INTO r1;
    RESET ROLE;
    after1 := pg_temp.fp();
    RETURN NEXT ok(after1 IS DISTINCT FROM before,
        label || ': the first call with a key has its effect (else the retry below proves nothing)');
    IF as_role IS NOT NULL THEN EXECUTE format('SET ROLE %I', as_role); END IF;
    EXECUTE format(call, key) INTO r2;
    RESET ROLE;
    RETURN NEXT is(r2, r1, label || ': the retry returns the first call''s result, or the client could not tell what its call did');
    RETURN NEXT is(pg_temp.fp(), after1, label || ': the retry changes nothing, or a lost COMMIT retried would do it twice');
    IF as_role IS NOT NULL THEN EXECUTE format('SET ROLE %I', as_role); END IF;
    refused := throws_ok(format(other, key), 'IE010', NULL,
        label || ': the same key with other arguments is refused with IE010, or a client bug reusing keys would go unnoticed');
    RESET ROLE;
    RETURN NEXT refused;
    RETURN NEXT is(pg_temp.fp(), after1, label || ': the refused call changed nothing');
    INSERT INTO tap35_covered
    SELECT p.oid::regprocedure FROM pg_proc p
     WHERE p.pronamespace = 'erp'::regnamespace AND p.proname = split_part(split_part(call, 'erp.', 2), '(', 1)
    ON CONFLICT DO NOTHING;
END
$$;

CREATE TEMP TABLE tap35_id (name text PRIMARY KEY, id bigint NOT NULL);
GRANT ALL ON tap35_id TO PUBLIC;
CREATE FUNCTION pg_temp.id(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT id FROM tap35_id WHERE name = p_name
$$;
CREATE FUNCTION pg_temp.moves() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM erp.stock_move m JOIN erp.item i USING (item_id) WHERE i.sku LIKE 'TAP35-%'
$$;
CREATE FUNCTION pg_temp.line(p_rma text, p_sku text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT l.rma_line_id FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id
     WHERE l.rma_id = pg_temp.id(p_rma) AND i.sku = p_sku ORDER BY l.rma_line_id LIMIT 1
$$;
-- Captures, allocates, picks, packs and ships an order (no keys).
CREATE FUNCTION pg_temp.ship_order(p_ref text, p_lines jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    o bigint := erp.capture_order('TAP35-WEB', p_ref, p_lines);
    p record;
BEGIN
    FOR p IN SELECT a.sku, sum(a.qty) AS qty FROM erp.allocate(o) a GROUP BY a.sku ORDER BY a.sku LOOP
        PERFORM erp.pick(o, p.sku, p.qty::bigint);
    END LOOP;
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    RETURN o;
END
$$;

-- Master data ------------------------------------------------------------------------------

INSERT INTO erp.item (sku, title, category, unit_price, unit_cost) VALUES
    ('TAP35-TEE', 'tap tee', 'apparel', 20.00, 5.00),
    ('TAP35-HEAD', 'tap headphones', 'electronics', 180.00, 60.00),
    ('TAP35-CHG', 'tap charger', 'electronics', 25.00, 10.00),
    ('TAP35-LAP', 'tap laptop', 'electronics', 1199.00, 820.00);
INSERT INTO erp.node (code, kind) VALUES ('TAP35-DC', 'warehouse'), ('TAP35-ST', 'store');
INSERT INTO erp.channel (code, kind) VALUES ('TAP35-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP35-WEB' AND n.code = 'TAP35-DC';
INSERT INTO erp.supplier (code, name) VALUES ('TAP35-ACME', 'tap supplier');
SELECT erp.receive(sku, 'TAP35-DC', 20) FROM erp.item WHERE sku IN ('TAP35-HEAD', 'TAP35-CHG', 'TAP35-LAP');
CREATE ROLE tap35_a;
CREATE ROLE tap35_b;
GRANT erp_operator, erp_approver, erp_reader TO tap35_a, tap35_b;

-- The ledger ---------------------------------------------------------------------------------

SELECT * FROM pg_temp.retry('erp.receive',
    $$SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 50, idempotency_key => %L)::text$$,
    $$SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 51, idempotency_key => %L)::text$$, 'tap35-receive');
SELECT * FROM pg_temp.retry('erp.move',
    $$SELECT erp.move('TAP35-TEE', 'TAP35-DC', 1, 'available', 'damaged', 'damage', idempotency_key => %L)::text$$,
    $$SELECT erp.move('TAP35-TEE', 'TAP35-DC', 2, 'available', 'damaged', 'damage', idempotency_key => %L)::text$$,
    'tap35-move');
SELECT * FROM pg_temp.retry('erp.adjust',
    $$SELECT erp.adjust('TAP35-TEE', 'TAP35-DC', 2, 'found', idempotency_key => %L)::text$$,
    $$SELECT erp.adjust('TAP35-TEE', 'TAP35-DC', 3, 'found', idempotency_key => %L)::text$$, 'tap35-adjust');
SELECT * FROM pg_temp.retry('erp.count',
    $$SELECT erp.count('TAP35-CHG', 'TAP35-DC', 19, idempotency_key => %L)::text$$,
    $$SELECT erp.count('TAP35-CHG', 'TAP35-DC', 18, idempotency_key => %L)::text$$, 'tap35-count');
SET ROLE tap35_a;
INSERT INTO tap35_id VALUES ('adj_big', erp.adjust('TAP35-LAP', 'TAP35-DC', -2, 'water damage'));
RESET ROLE;
SELECT * FROM pg_temp.retry('erp.approve_adjustment',
    format($$SELECT erp.approve_adjustment(%s, idempotency_key => %%L)::text$$, pg_temp.id('adj_big')),
    $$SELECT erp.approve_adjustment(-1, idempotency_key => %L)::text$$, 'tap35-approve-adj', 'tap35_b');

-- Orders -------------------------------------------------------------------------------------

SELECT * FROM pg_temp.retry('erp.capture_order',
    $$SELECT erp.capture_order('TAP35-WEB', 'TAP35-O1', '[{"sku": "TAP35-TEE", "qty": 4}]', idempotency_key => %L)::text$$,
    $$SELECT erp.capture_order('TAP35-WEB', 'TAP35-O1', '[{"sku": "TAP35-TEE", "qty": 5}]', idempotency_key => %L)::text$$,
    'tap35-capture');
INSERT INTO tap35_id SELECT 'o1', order_id FROM erp.sales_order WHERE external_ref = 'TAP35-O1';
SELECT * FROM pg_temp.retry('erp.allocate',
    format($$SELECT array_agg(a::text ORDER BY a::text)::text FROM erp.allocate(%s, idempotency_key => %%L) a$$, pg_temp.id('o1')),
    $$SELECT array_agg(a::text)::text FROM erp.allocate(-1, idempotency_key => %L) a$$, 'tap35-allocate');
-- the rows of the first call and of its retry, as sets, whatever the columns are
CREATE TEMP TABLE tap35_alloc AS SELECT * FROM erp.allocate(pg_temp.id('o1'), idempotency_key => 'tap35-allocate');
SELECT ok((SELECT count(*) FROM tap35_alloc) > 0,
    'the replayed allocation has rows (the first call reserved the order''s four tees)');
SELECT bag_eq('SELECT * FROM tap35_alloc',
    format($$SELECT * FROM erp.allocate(%s, idempotency_key => 'tap35-allocate')$$, pg_temp.id('o1')),
    'erp.allocate replayed returns the same rows as its first call, or a webhook retry would lose what was reserved');
SELECT * FROM pg_temp.retry('erp.pick',
    format($$SELECT erp.pick(%s, 'TAP35-TEE', 3, idempotency_key => %%L)::text$$, pg_temp.id('o1')),
    format($$SELECT erp.pick(%s, 'TAP35-TEE', 4, idempotency_key => %%L)::text$$, pg_temp.id('o1')), 'tap35-pick');
SELECT erp.pick(pg_temp.id('o1'), 'TAP35-TEE', 1);
SELECT * FROM pg_temp.retry('erp.pack',
    format($$SELECT erp.pack(%s, idempotency_key => %%L)::text$$, pg_temp.id('o1')),
    $$SELECT erp.pack(-1, idempotency_key => %L)::text$$, 'tap35-pack');
SELECT * FROM pg_temp.retry('erp.ship',
    format($$SELECT erp.ship(%s, 'UPS', '1Z1', idempotency_key => %%L)::text$$, pg_temp.id('o1')),
    format($$SELECT erp.ship(%s, 'UPS', '1Z2', idempotency_key => %%L)::text$$, pg_temp.id('o1')), 'tap35-ship');
INSERT INTO tap35_id VALUES ('o3', erp.capture_order('TAP35-WEB', 'TAP35-O3', '[{"sku": "TAP35-HEAD", "qty": 1}]'));
SELECT * FROM pg_temp.retry('erp.allocate_pending',
    $$SELECT erp.allocate_pending(NULL, idempotency_key => %L)::text$$,
    $$SELECT erp.allocate_pending(5, idempotency_key => %L)::text$$, 'tap35-pending');
SELECT * FROM pg_temp.retry('erp.cancel_order',
    format($$SELECT erp.cancel_order(%s, idempotency_key => %%L)::text$$, pg_temp.id('o3')),
    $$SELECT erp.cancel_order(-1, idempotency_key => %L)::text$$, 'tap35-cancel');
INSERT INTO tap35_id VALUES ('o4', erp.capture_order('TAP35-WEB', 'TAP35-O4', '[{"sku": "TAP35-CHG", "qty": 2}]'));
SELECT count(*) FROM erp.allocate(pg_temp.id('o4'));
SELECT * FROM pg_temp.retry('erp.short_pick',
    format($$SELECT erp.short_pick(%s, 'TAP35-CHG', 1, idempotency_key => %%L)::text$$, pg_temp.id('o4')),
    format($$SELECT erp.short_pick(%s, 'TAP35-CHG', 2, idempotency_key => %%L)::text$$, pg_temp.id('o4')), 'tap35-short');

-- Returns ------------------------------------------------------------------------------------

SELECT * FROM pg_temp.retry('erp.authorize_return',
    format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP35-TEE", "qty": 2, "reason": "too_small"}]', 30, idempotency_key => %%L)::text$$, pg_temp.id('o1')),
    format($$SELECT erp.authorize_return(%s, '[{"sku": "TAP35-TEE", "qty": 1, "reason": "too_small"}]', 30, idempotency_key => %%L)::text$$, pg_temp.id('o1')),
    'tap35-authorize');
INSERT INTO tap35_id SELECT 'r1', max(rma_id) FROM erp.rma WHERE order_id = pg_temp.id('o1');
SELECT * FROM pg_temp.retry('erp.receive_return',
    format($$SELECT erp.receive_return(%s, NULL, NULL, idempotency_key => %%L)::text$$, pg_temp.id('r1')),
    format($$SELECT erp.receive_return(%s, 'TAP35-DC', NULL, idempotency_key => %%L)::text$$, pg_temp.id('r1')),
    'tap35-receive-return');
SELECT * FROM pg_temp.retry('erp.inspect_return',
    format($$SELECT erp.inspect_return(%s, 'new', idempotency_key => %%L)::text$$, pg_temp.line('r1', 'TAP35-TEE')),
    format($$SELECT erp.inspect_return(%s, 'used', idempotency_key => %%L)::text$$, pg_temp.line('r1', 'TAP35-TEE')),
    'tap35-inspect');
-- electronics: a refurbish waiting for a refund approval, and a vendor return
INSERT INTO tap35_id VALUES ('o2', pg_temp.ship_order('TAP35-O2', '[{"sku": "TAP35-HEAD", "qty": 2}, {"sku": "TAP35-CHG", "qty": 1}]'));
INSERT INTO tap35_id VALUES ('r2', erp.authorize_return(pg_temp.id('o2'),
    '[{"sku": "TAP35-HEAD", "qty": 2, "reason": "not_as_described"}, {"sku": "TAP35-CHG", "qty": 1, "reason": "defective"}]'));
SELECT erp.receive_return(pg_temp.id('r2'));
SELECT erp.inspect_return(pg_temp.line('r2', 'TAP35-HEAD'), 'used'), erp.inspect_return(pg_temp.line('r2', 'TAP35-CHG'), 'defective');
SELECT * FROM pg_temp.retry('erp.approve_refund',
    format($$SELECT erp.approve_refund(%s, idempotency_key => %%L)::text$$, pg_temp.line('r2', 'TAP35-HEAD')),
    $$SELECT erp.approve_refund(-1, idempotency_key => %L)::text$$, 'tap35-approve-refund', 'tap35_b');
SELECT * FROM pg_temp.retry('erp.complete_refurbish',
    format($$SELECT erp.complete_refurbish(%s, idempotency_key => %%L)::text$$, pg_temp.line('r2', 'TAP35-HEAD')),
    $$SELECT erp.complete_refurbish(-1, idempotency_key => %L)::text$$, 'tap35-refurbish');
SELECT * FROM pg_temp.retry('erp.return_to_vendor',
    format($$SELECT erp.return_to_vendor(%s, idempotency_key => %%L)::text$$, pg_temp.line('r2', 'TAP35-CHG')),
    $$SELECT erp.return_to_vendor(-1, idempotency_key => %L)::text$$, 'tap35-rtv');
-- an RMA past its expiry; the "other call" with the key is another function
INSERT INTO tap35_id VALUES ('r3', erp.authorize_return(pg_temp.id('o1'), '[{"sku": "TAP35-TEE", "qty": 1, "reason": "too_small"}]'));
UPDATE erp.rma SET expires_at = now() - interval '1 day' WHERE rma_id = pg_temp.id('r3');
SELECT * FROM pg_temp.retry('erp.expire_returns',
    $$SELECT erp.expire_returns(idempotency_key => %L)::text$$,
    $$SELECT erp.create_replenishment_pos(idempotency_key => %L)::text$$, 'tap35-expire');

-- Supply -------------------------------------------------------------------------------------

SELECT * FROM pg_temp.retry('erp.create_po',
    $$SELECT erp.create_po('TAP35-ACME', 'TAP35-DC', '[{"sku": "TAP35-TEE", "qty": 10}]', '2030-01-01 00:00+00', idempotency_key => %L)::text$$,
    $$SELECT erp.create_po('TAP35-ACME', 'TAP35-DC', '[{"sku": "TAP35-TEE", "qty": 11}]', '2030-01-01 00:00+00', idempotency_key => %L)::text$$,
    'tap35-create-po');
INSERT INTO tap35_id SELECT 'po1', max(purchase_order_id) FROM erp.purchase_order;
INSERT INTO tap35_id VALUES ('po2', erp.create_po('TAP35-ACME', 'TAP35-DC', '[{"sku": "TAP35-CHG", "qty": 5}]', '2030-01-01 00:00+00'));
SELECT * FROM pg_temp.retry('erp.receive_po',
    format($$SELECT erp.receive_po(%s, NULL, idempotency_key => %%L)::text$$, pg_temp.id('po1')),
    format($$SELECT erp.receive_po(%s, '[{"sku": "TAP35-TEE", "qty": 1}]', idempotency_key => %%L)::text$$, pg_temp.id('po1')),
    'tap35-receive-po');
SELECT * FROM pg_temp.retry('erp.delay_po',
    format($$SELECT erp.delay_po(%s, '2030-02-01 00:00+00', idempotency_key => %%L)::text$$, pg_temp.id('po2')),
    format($$SELECT erp.delay_po(%s, '2030-03-01 00:00+00', idempotency_key => %%L)::text$$, pg_temp.id('po2')),
    'tap35-delay');
-- the same instant written in another time zone is the same content
SET LOCAL TimeZone = 'America/New_York';
SELECT lives_ok(format($$SELECT erp.delay_po(%s, '2030-01-31 19:00-05', idempotency_key => 'tap35-delay')$$, pg_temp.id('po2')),
    'a retry from a client in another time zone, naming the same instant, replays instead of IE010');
RESET TimeZone;
SELECT * FROM pg_temp.retry('erp.transfer',
    $$SELECT erp.transfer('TAP35-TEE', 'TAP35-DC', 'TAP35-ST', 2, idempotency_key => %L)::text$$,
    $$SELECT erp.transfer('TAP35-TEE', 'TAP35-DC', 'TAP35-ST', 3, idempotency_key => %L)::text$$, 'tap35-transfer');
INSERT INTO tap35_id SELECT 'tr1', max(transfer_id) FROM erp.transfer;
SELECT * FROM pg_temp.retry('erp.receive_transfer',
    format($$SELECT erp.receive_transfer(%s, idempotency_key => %%L)::text$$, pg_temp.id('tr1')),
    $$SELECT erp.receive_transfer(-1, idempotency_key => %L)::text$$, 'tap35-receive-transfer');
INSERT INTO erp.stock_policy (item_id, node_id, reorder_point, order_up_to, supplier_id)
SELECT i.item_id, n.node_id, 100, 200, s.supplier_id FROM erp.item i, erp.node n, erp.supplier s
 WHERE i.sku = 'TAP35-HEAD' AND n.code = 'TAP35-DC' AND s.code = 'TAP35-ACME';
SELECT * FROM pg_temp.retry('erp.create_replenishment_pos',
    $$SELECT erp.create_replenishment_pos(idempotency_key => %L)::text$$,
    $$SELECT erp.expire_returns(idempotency_key => %L)::text$$, 'tap35-replenish');

SELECT * FROM pg_temp.retry('erp.place_order',
    $$SELECT array_agg(p::text ORDER BY p::text)::text
        FROM erp.place_order('TAP35-WEB', 'TAP35-P1', '[{"sku": "TAP35-CHG", "qty": 1}]', idempotency_key => %L) p$$,
    $$SELECT array_agg(p::text)::text
        FROM erp.place_order('TAP35-WEB', 'TAP35-P1', '[{"sku": "TAP35-CHG", "qty": 2}]', idempotency_key => %L) p$$,
    'tap35-place');

-- erp.close_anomaly (issue 15): an anomaly planted at TAP35-DC
WITH a AS (INSERT INTO erp.anomaly (kind, ref, node_id, score, value)
           SELECT 'shrinkage', 'tap35-planted', node_id, 9, 10 FROM erp.node WHERE code = 'TAP35-DC'
           RETURNING anomaly_id)
INSERT INTO tap35_id SELECT 'anomaly1', anomaly_id FROM a;
SELECT * FROM pg_temp.retry('erp.close_anomaly',
    format($$SELECT erp.close_anomaly(%s, 'recounted', idempotency_key => %%L)::text$$, pg_temp.id('anomaly1')),
    format($$SELECT erp.close_anomaly(%s, 'another note', idempotency_key => %%L)::text$$, pg_temp.id('anomaly1')),
    'tap35-close-anomaly');

SELECT * FROM pg_temp.retry('erp.import_demand',
    $$SELECT erp.import_demand(jsonb_build_array(jsonb_build_object('sku', 'TAP35-TEE', 'channel', 'TAP35-WEB', 'node', 'TAP35-DC',
                                                                  'day', CURRENT_DATE - 1, 'qty', 7)), idempotency_key => %L)::text$$,
    $$SELECT erp.import_demand(jsonb_build_array(jsonb_build_object('sku', 'TAP35-TEE', 'day', CURRENT_DATE - 1, 'qty', 8)),
                               idempotency_key => %L)::text$$,
    'tap35-import-demand');
SELECT * FROM pg_temp.retry('erp.refresh_forecasts',
    $$SELECT erp.refresh_forecasts(idempotency_key => %L)::text$$,
    $$SELECT erp.expire_returns(idempotency_key => %L)::text$$, 'tap35-refresh-forecasts');

-- The warehouse (issue 16): putaway, bin moves, picks from a bin and counts of a bin, at a node
-- of their own (TAP35-WH) so that bins change nothing for the tests above and below
INSERT INTO erp.node (code, kind) VALUES ('TAP35-WH', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TAP35-WHWEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'TAP35-WHWEB' AND n.code = 'TAP35-WH';
INSERT INTO erp.bin (node_id, code) SELECT n.node_id, v.code FROM erp.node n, (VALUES ('B1'), ('B2')) v(code) WHERE n.code = 'TAP35-WH';
SELECT erp.receive('TAP35-CHG', 'TAP35-WH', 10);
SELECT * FROM pg_temp.retry('erp.putaway',
    $$SELECT erp.putaway('TAP35-CHG', 'TAP35-WH', 'B1', 6, idempotency_key => %L)::text$$,
    $$SELECT erp.putaway('TAP35-CHG', 'TAP35-WH', 'B1', 5, idempotency_key => %L)::text$$, 'tap35-putaway');
SELECT * FROM pg_temp.retry('erp.bin_move',
    $$SELECT erp.bin_move('TAP35-CHG', 'TAP35-WH', 'B1', 'B2', 2, idempotency_key => %L)::text$$,
    $$SELECT erp.bin_move('TAP35-CHG', 'TAP35-WH', 'B1', 'B2', 1, idempotency_key => %L)::text$$, 'tap35-bin-move');
SELECT is((SELECT string_agg(bin || '=' || qty, ' ' ORDER BY bin) FROM erp.bin_stock WHERE node = 'TAP35-WH'),
    'B1=4 B2=2', 'the retried putaway and bin move moved their units once: 6 put away, 2 moved on');
INSERT INTO tap35_id SELECT 'who1', erp.capture_order('TAP35-WHWEB', 'TAP35-WH1', '[{"sku": "TAP35-CHG", "qty": 3}]');
SELECT count(*) FROM erp.allocate(pg_temp.id('who1'));
SELECT * FROM pg_temp.retry('erp.pick_bin',
    format($$SELECT erp.pick_bin(%s, 'TAP35-CHG', 2, 'B1', idempotency_key => %%L)::text$$, pg_temp.id('who1')),
    format($$SELECT erp.pick_bin(%s, 'TAP35-CHG', 1, 'B1', idempotency_key => %%L)::text$$, pg_temp.id('who1')),
    'tap35-pick-bin');
SELECT is((SELECT sum(qty_picked) FROM erp.reservation WHERE order_id = pg_temp.id('who1')), 2::numeric,
    'the retried pick from a bin picked its 2 units once');
SELECT * FROM pg_temp.retry('erp.count_bin',
    $$SELECT erp.count_bin('TAP35-CHG', 'TAP35-WH', 'B2', 1, idempotency_key => %L)::text$$,
    $$SELECT erp.count_bin('TAP35-CHG', 'TAP35-WH', 'B2', 0, idempotency_key => %L)::text$$, 'tap35-count-bin');
SELECT is((SELECT qty FROM erp.bin_stock WHERE node = 'TAP35-WH' AND bin = 'B2' AND state = 'available'), 1::bigint,
    'the retried count of B2 wrote off its 1 unit once');

-- Every function that takes a key is retried above -----------------------------------------

SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                   WHERE p.pronamespace = 'erp'::regnamespace
                     AND ((p.proargnames)[p.pronargs] = 'idempotency_key'
                          -- erp.capture_order ends (..., idempotency_key, hold_ref): a checkout hold to convert
                          OR (p.proname = 'capture_order'
                              AND (p.proargnames)[p.pronargs - 1:p.pronargs] = ARRAY['idempotency_key', 'hold_ref']))
                  EXCEPT SELECT fn::text FROM tap35_covered$$,
    'every function taking an idempotency_key has its retry test here, or a new one could ignore its key unnoticed');
SELECT cmp_ok((SELECT count(*) FROM tap35_covered), '>=', 27::bigint, 'the 27 state-changing functions are covered');

-- A NULL key is the old behaviour; keys are per login ----------------------------------------

SELECT pg_temp.moves() AS moves \gset
SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, ref => 'tap35:null'), erp.receive('TAP35-TEE', 'TAP35-DC', 1, ref => 'tap35:null');
SELECT is(pg_temp.moves(), (:moves + 2)::bigint, 'two receipts without a key book twice, as before keys existed');
SELECT pg_temp.moves() AS moves \gset
SET ROLE tap35_a;
SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, idempotency_key => 'tap35-shared');
SET ROLE tap35_b;
SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, idempotency_key => 'tap35-shared');
RESET ROLE;
SELECT is(pg_temp.moves(), (:moves + 2)::bigint,
    'two logins using one key string get one effect each, or one partner''s key would replay another''s result');
SELECT is((SELECT count(*) FROM erp.idempotency_key WHERE key = 'tap35-shared'), 2::bigint,
    'the key is stored once per login');
SET ROLE tap35_b;
SELECT is_empty($$SELECT 1 FROM erp.idempotency_key WHERE role_name = 'tap35_a'$$,
    'a login cannot read another login''s keys and results');
SELECT throws_ok($$INSERT INTO erp.idempotency_key (role_name, key, function, content_hash, result, result_rows, created_at) VALUES ('tap35_a', 'forged', 'erp.receive()', '\x00', NULL, NULL, now())$$,
    '42501', NULL, 'nobody writes erp.idempotency_key directly, or a forged key would replay a result never returned');
RESET ROLE;
SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, ref => NULL, idempotency_key => 'tap35-null-ref');
SELECT throws_ok($$SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, ref => 'NULL', idempotency_key => 'tap35-null-ref')$$,
    'IE010', NULL, 'an argument NULL and the string ''NULL'' are different content');

-- Expiry -----------------------------------------------------------------------------------

SELECT pg_temp.moves() AS moves \gset
UPDATE erp.idempotency_key SET created_at = created_at - interval '8 days' WHERE key = 'tap35-receive';
SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 50, idempotency_key => 'tap35-receive');
SELECT is(pg_temp.moves(), (:moves + 1)::bigint, 'a key older than the 7-day retention counts as absent: the call runs again');
SELECT ok((SELECT created_at > now() - interval '1 hour' FROM erp.idempotency_key WHERE key = 'tap35-receive'),
    'the new call replaced the expired key, so its own retry replays');
SELECT pg_temp.moves() AS moves \gset
SET LOCAL inventory_erp.idempotency_retention = '1h';
UPDATE erp.idempotency_key SET created_at = created_at - interval '2 hours' WHERE key = 'tap35-move';
SELECT erp.move('TAP35-TEE', 'TAP35-DC', 1, 'available', 'damaged', 'damage', idempotency_key => 'tap35-move');
SELECT is(pg_temp.moves(), (:moves + 1)::bigint, 'inventory_erp.idempotency_retention = 1h: a 2-hour-old key runs again');
UPDATE erp.idempotency_key SET created_at = created_at - interval '2 hours' WHERE key = 'tap35-adjust';
SELECT cmp_ok(erp.prune_idempotency_keys(), '>=', 1::bigint, 'erp.prune_idempotency_keys deletes expired keys');
SELECT is_empty($$SELECT 1 FROM erp.idempotency_key WHERE key = 'tap35-adjust' OR created_at < now() - interval '1 hour'$$,
    'no key older than the retention is left');
RESET inventory_erp.idempotency_retention;

-- Bad keys (IE004) ----------------------------------------------------------------------------

SELECT pg_temp.fp() AS fp \gset
SELECT throws_ok($$SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, idempotency_key => '')$$, 'IE004', NULL,
    'an empty key is refused with IE004');
SELECT throws_ok($$SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, idempotency_key => repeat('k', 201))$$, 'IE004', NULL,
    'a key over 200 bytes is refused with IE004');
SELECT throws_ok($$SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, idempotency_key => repeat('😀', 300))$$, 'IE004', NULL,
    'a key of 300 emoji (1,200 bytes) is refused with IE004');
SELECT throws_ok($$SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, idempotency_key => repeat('x', 200000))$$, 'IE004', NULL,
    'a 200 kB key is refused with IE004');
SELECT is(pg_temp.fp(), :'fp', 'the refused bad keys changed nothing');
SELECT lives_ok($$SELECT erp.receive('TAP35-TEE', 'TAP35-DC', 1, idempotency_key => repeat('é', 100))$$,
    'a key of exactly 200 bytes (100 two-byte characters) is accepted');

SELECT * FROM finish();
ROLLBACK;
