-- 97_breakplan_ok_idempotency.sql (break-it pass on issue 15, helper breakplan).
-- Idempotency keys on erp.import_demand and erp.refresh_forecasts (HELD):
-- a retry replays the first count and writes nothing, even after another
-- import changed the row meanwhile; the same lines written with their JSON
-- keys in another order are the same call; the key with other lines, or on
-- the other function, is IE010 and changes nothing.
BEGIN;
SELECT plan(9);

INSERT INTO erp.node (code) VALUES ('BPK-DC');
INSERT INTO erp.item (sku) VALUES ('BPK-A');
SELECT is(erp.import_demand('[{"sku": "BPK-A", "node": "BPK-DC", "day": "2026-11-01", "qty": 3}]', 'bpk-1'), 1, 'an import with a key');
SELECT erp.import_demand('[{"sku": "BPK-A", "node": "BPK-DC", "day": "2026-11-01", "qty": 5}]');
SELECT is(erp.import_demand('[{"qty": 3, "day": "2026-11-01", "node": "BPK-DC", "sku": "BPK-A"}]', 'bpk-1'), 1,
    'retried (its JSON keys in another order) it replays its count');
SELECT is((SELECT array_agg(qty) FROM erp.demand_import WHERE day = '2026-11-01'), ARRAY[5::bigint],
    '... and writes nothing: the later import''s 5 stays');
SELECT throws_ok($$SELECT erp.import_demand('[{"sku": "BPK-A", "node": "BPK-DC", "day": "2026-11-01", "qty": 9}]', 'bpk-1')$$,
    'IE010', NULL, 'the key with other lines is refused (IE010)');
SELECT throws_ok($$SELECT erp.refresh_forecasts('bpk-1')$$, 'IE010', NULL, 'the key on the other function is refused (IE010)');
SELECT is((SELECT array_agg(qty) FROM erp.demand_import WHERE day = '2026-11-01'), ARRAY[5::bigint], 'the refusals changed nothing');
SELECT erp.import_demand(format('[{"sku": "BPK-A", "node": "BPK-DC", "day": "%s", "qty": 4}]', CURRENT_DATE - 1)::jsonb);
CREATE TEMP TABLE bpk AS SELECT erp.refresh_forecasts('bpk-2') AS n, 0::bigint AS rows;
UPDATE bpk SET rows = (SELECT count(*) FROM erp.forecast_snapshot);
SELECT ok((SELECT n >= 1 AND rows >= 28 FROM bpk), 'the first refresh with a key stored BPK-A''s series');
SELECT is(erp.refresh_forecasts('bpk-2'), (SELECT n FROM bpk), 'a refresh retried with its key replays its count');
SELECT is((SELECT count(*) FROM erp.forecast_snapshot), (SELECT rows FROM bpk), '... and stores nothing more');

SELECT * FROM finish();
ROLLBACK;
