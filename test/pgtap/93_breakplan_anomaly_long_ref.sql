-- 93_breakplan_anomaly_long_ref.sql (break-it pass on issue 15, helper breakplan).
-- erp.detect_anomalies keys each finding by its ref, e.g.
-- 'pick_exceptions:<node code>:<day>', held in a 192-byte buffer
-- (ANOMALY_REF_LEN) and cut there with strlcpy.  erp.node.code has no length
-- limit (CHECK code <> '' only), nor has erp.item.sku (return_rate refs).
--
-- 1. A node code of 185 ASCII bytes: the day falls off the ref, every burst
--    of the node (and of any node whose code shares those first bytes)
--    becomes one ref.  Two nodes with a burst today and three days ago: 4
--    findings, 1 recorded; the next bursts of those nodes are never recorded
--    ("found already").
-- 2. A node code of 100 'ä' (200 bytes): the cut splits a character, the
--    ref is no longer UTF-8 and detect_anomalies fails with 22021 (invalid
--    byte sequence) - every run, for every node, as long as the burst is in
--    the window: anomaly detection is down for the whole business.
-- Expected: a ref that identifies its finding whatever the code's length (or
-- a bounded code in the schema), and detection that never fails on a code.
-- FAILS on the code as merged (c8cb77e): assertions 1, 2 and 3.
BEGIN;
SELECT plan(4);

INSERT INTO erp.node (code) VALUES (repeat('N', 180) || '-east'), (repeat('N', 180) || '-west');
-- each node: a pick exception every fifth day for 80 days; bursts of 8 today and 3 days ago
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now() - d * interval '1 day', '{}'
  FROM erp.node n, generate_series(1, 80) d WHERE n.code LIKE 'NNNN%' AND d % 5 = 0;
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now() - d * interval '1 day', '{}'
  FROM erp.node n, generate_series(1, 8) e, (VALUES (0), (3)) v(d) WHERE n.code LIKE 'NNNN%';

SELECT is(erp.detect_anomalies(), 4, 'two nodes with two bursts each: four anomalies added');
SELECT is((SELECT count(DISTINCT node_id) FROM erp.anomaly WHERE kind = 'pick_exceptions'
            AND node_id IN (SELECT node_id FROM erp.node WHERE code LIKE 'NNNN%')), 2::bigint,
    'both nodes have their findings (one node''s are merged into the other''s)');

-- a node code that the 192-byte cut splits inside a character
INSERT INTO erp.node (code) VALUES (repeat('ä', 100));
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now() - d * interval '1 day', '{}'
  FROM erp.node n, generate_series(1, 80) d WHERE n.code LIKE 'ää%' AND d % 5 = 0;
INSERT INTO erp.event (kind, node_id, at, payload)
SELECT 'pick_exception', n.node_id, now(), '{}' FROM erp.node n, generate_series(1, 8) e WHERE n.code LIKE 'ää%';
SELECT lives_ok($$SELECT erp.detect_anomalies()$$,
    'detection runs with a node whose code is 100 x ''ä'' (it fails: invalid byte sequence for encoding "UTF8")');
SELECT ok((SELECT bool_and(ref = convert_from(convert_to(ref, 'UTF8'), 'UTF8')) FROM erp.anomaly),
    'every stored ref is valid text');

SELECT * FROM finish();
ROLLBACK;
