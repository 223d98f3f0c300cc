-- 95_breakhold_partner_expired.sql: a partner's session and checkout holds whose TTL has passed
-- before erp.expire_holds runs (issue 16 item 4: "a hold never outlives its TTL in ATP even
-- before the job runs"; doc/warehouse.md "Checkout holds").  erp.atp promises a partner the
-- units of an expired hold at its node; erp.hold and allocation in the partner's session must
-- then be able to take them, as they can in the business's session (HoldsReleaseExpired).
-- A hold with units at a node the partner cannot see is left to erp.expire_holds.
--
-- FAILS on h-breakhold at a0c752f (assertions 3, 5, 7, 8, 9, 14) until breakhold-1.patch: see /work/notes/breakhold.md, bug 1.
-- Master data uses codes starting with TB95P- and is rolled back at the end.
BEGIN;
SELECT plan(16);

INSERT INTO erp.node (code, kind) VALUES ('TB95P-N1', 'warehouse'), ('TB95P-N2', 'warehouse');
INSERT INTO erp.channel (code, kind) VALUES ('TB95P-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, CASE n.code WHEN 'TB95P-N1' THEN 1 ELSE 2 END
  FROM erp.channel c, erp.node n WHERE c.code = 'TB95P-WEB' AND n.code LIKE 'TB95P-N%';
INSERT INTO erp.item (sku, title, unit_cost, unit_price) VALUES
    ('TB95P-P', 'only at N2', 1, 2), ('TB95P-Q', 'only at N2', 1, 2), ('TB95P-R', 'at N1 and N2', 1, 2);
SELECT erp.receive('TB95P-P', 'TB95P-N2', 3), erp.receive('TB95P-Q', 'TB95P-N2', 2),
       erp.receive('TB95P-R', 'TB95P-N1', 1), erp.receive('TB95P-R', 'TB95P-N2', 1);
CREATE ROLE tb95p_partner;
GRANT erp_operator, erp_reader TO tb95p_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tb95p_partner', node_id FROM erp.node WHERE code = 'TB95P-N2';

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION pg_temp.hold_of(ref text) RETURNS bigint LANGUAGE sql
    AS $$ SELECT hold_id FROM erp.checkout_hold WHERE cart_ref = ref ORDER BY hold_id DESC LIMIT 1 $$;
CREATE FUNCTION pg_temp.bal(sku text, node text, st erp.stock_state) RETURNS bigint LANGUAGE sql AS $$
    SELECT COALESCE(sum(b.qty), 0)::bigint FROM erp.stock_balance b JOIN erp.item i USING (item_id)
      JOIN erp.node n USING (node_id) WHERE i.sku = $1 AND n.code = node AND b.state = st $$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', hold_id, status, order_id, units), ';' ORDER BY hold_id) FROM erp.checkout_hold),
        (SELECT string_agg(concat_ws(',', item_id, hold_line_id, node_id, qty, open), ';' ORDER BY item_id, hold_line_id)
           FROM erp.checkout_hold_line),
        (SELECT string_agg(concat_ws(',', item_id, node_id, state, qty), ';' ORDER BY item_id, node_id, state) FROM erp.stock_balance),
        (SELECT count(*) FROM erp.stock_move), (SELECT count(*) FROM erp.event), (SELECT count(*) FROM erp.sales_order))) $$;
CREATE FUNCTION pg_temp.expire(ref text) RETURNS void LANGUAGE sql AS $$
    UPDATE erp.checkout_hold SET expires_at = now() - interval '1 minute' WHERE hold_id = pg_temp.hold_of(ref);
    UPDATE erp.checkout_hold_line SET expires_at = now() - interval '1 minute'
     WHERE item_id = ANY (CAST((SELECT item_ids FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of(ref)) AS bigint[]))
       AND hold_id = pg_temp.hold_of(ref) $$;

-- the business holds every P, every Q and both R (one at N1, one at N2); the TTLs pass
SELECT ok(erp.hold('TB95P-WEB', 'TB95P-C1', '[{"sku": "TB95P-P", "qty": 3}]') > 0
          AND erp.hold('TB95P-WEB', 'TB95P-C2', '[{"sku": "TB95P-Q", "qty": 2}]') > 0
          AND erp.hold('TB95P-WEB', 'TB95P-C3', '[{"sku": "TB95P-R", "qty": 2}]') > 0, 'the business holds 3 P, 2 Q, 2 R');
SELECT pg_temp.expire('TB95P-C1'), pg_temp.expire('TB95P-C2'), pg_temp.expire('TB95P-C3');

SET LOCAL ROLE tb95p_partner;
SELECT is(erp.atp('TB95P-P', NULL, 'TB95P-WEB'), 3::bigint, 'the partner is promised the 3 expired P at N2');
SELECT is(pg_temp.err($$SELECT erp.hold('TB95P-WEB', 'TB95P-PC1', '[{"sku": "TB95P-P", "qty": 3}]')$$), 'ok',
    'the partner holds the 3 P erp.atp promised it');
RESET ROLE;
SELECT is(pg_temp.bal('TB95P-P', 'TB95P-N2', 'reserved') || '/' || pg_temp.bal('TB95P-P', 'TB95P-N2', 'available'), '3/0',
    'P at N2: 3 reserved (the partner''s hold), none twice');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TB95P-C1')), 'expired',
    'the business''s expired hold was given back by the partner''s hold');

SET LOCAL ROLE tb95p_partner;
SELECT is(erp.atp('TB95P-Q', NULL, 'TB95P-WEB'), 2::bigint, 'the partner is promised the 2 expired Q');
SELECT erp.capture_order('TB95P-WEB', 'TB95P-OQ', '[{"sku": "TB95P-Q", "qty": 2}]') AS oq \gset
SELECT count(*) FROM erp.allocate(:oq);
RESET ROLE;
SELECT is((SELECT qty_allocated FROM erp.order_line WHERE order_id = :oq), 2::bigint,
    'the partner''s order of 2 Q is allocated them');
SELECT is((SELECT status::text FROM erp.sales_order WHERE order_id = :oq), 'allocated', 'the order is allocated');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TB95P-C2')), 'expired',
    'the business''s Q hold was given back by the partner''s allocation');
SELECT is(pg_temp.bal('TB95P-Q', 'TB95P-N2', 'reserved'), 2::bigint, 'Q at N2: 2 reserved, none twice');

-- R's expired hold has a unit at N1, which the partner cannot see: left to erp.expire_holds
SELECT pg_temp.state() AS s1 \gset
SET LOCAL ROLE tb95p_partner;
SELECT is(pg_temp.err($$SELECT erp.hold('TB95P-WEB', 'TB95P-PC3', '[{"sku": "TB95P-R", "qty": 1}]')$$), 'IE001',
    'a hold with a unit at N1 is not given back by the partner''s hold: IE001');
RESET ROLE;
SELECT is(pg_temp.state(), :'s1', 'the refused hold changed nothing');
SELECT is((SELECT status::text FROM erp.checkout_hold WHERE hold_id = pg_temp.hold_of('TB95P-C3')), 'held',
    'R''s hold is still held (expired, waiting for erp.expire_holds)');
SELECT is(erp.expire_holds(), 1, 'erp.expire_holds gives it back');
SELECT is(pg_temp.bal('TB95P-R', 'TB95P-N1', 'available') + pg_temp.bal('TB95P-R', 'TB95P-N2', 'available'), 2::bigint,
    'both R available again');
SELECT is((SELECT count(*) FROM erp.verify()), 0::bigint, 'erp.verify() is empty');

SELECT * FROM finish();
ROLLBACK;
