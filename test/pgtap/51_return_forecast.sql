-- 51_return_forecast.sql: erp.return_forecast (issue 15, deliverable 5;
-- doc/planning-signals.md).  A planted history with a known return rate and a
-- known delay: the expected units land on the expected days.
--   shipped at node RF51-N1, category rf51-shoes: 10 units 40 days ago (A), 10 units
--   30 days ago (B), 10 units 3 days ago (C); 2 units of A came back 30 days ago and 2
--   of B 20 days ago: rate 4 / 30, delay always 10 days.
--   day +7:          C's 10 units x 4/30                          = 1.333
--   days +11..+28:   future shipments at 10/28 a day x 4/30        = 0.048 a day
--   every other day: nothing was shipped 10 days before it          = 0
-- Tolerance: 0.01 unit a day (the view rounds to 2 decimals).
BEGIN;
SELECT plan(7);

INSERT INTO erp.item (sku, unit_cost, unit_price, category) VALUES ('RF51-A', 5, 20, 'rf51-shoes');
INSERT INTO erp.node (code) VALUES ('RF51-N1'), ('RF51-N2');
INSERT INTO erp.channel (code) VALUES ('RF51-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'RF51-WEB' AND n.code = 'RF51-N1';
CREATE ROLE rf51_partner;
GRANT erp_operator, erp_reader TO rf51_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'rf51_partner', node_id FROM erp.node WHERE code = 'RF51-N2';
SELECT erp.receive('RF51-A', 'RF51-N1', 100);

-- An order of 10 shipped days_ago days ago; `returned` of them received back back_days_ago days ago.
CREATE FUNCTION pg_temp.ship(ref text, days_ago int, returned int, back_days_ago int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    o bigint;
    r bigint;
BEGIN
    o := erp.capture_order('RF51-WEB', ref, '[{"sku": "RF51-A", "qty": 10}]');
    PERFORM count(*) FROM erp.allocate(o);
    PERFORM erp.pick(o, 'RF51-A', 10);
    PERFORM erp.pack(o);
    PERFORM erp.ship(o);
    IF returned > 0 THEN
        r := erp.authorize_return(o, jsonb_build_array(jsonb_build_object('sku', 'RF51-A', 'qty', returned, 'reason', 'too_small')));
        PERFORM erp.receive_return(r);
        UPDATE erp.rma_line SET received_at = now() - back_days_ago * interval '1 day' WHERE rma_id = r;
    END IF;
    UPDATE erp.shipment SET shipped_at = now() - days_ago * interval '1 day' WHERE order_id = o;
END $$;
SELECT pg_temp.ship('rf51-a', 40, 2, 30), pg_temp.ship('rf51-b', 30, 2, 20), pg_temp.ship('rf51-c', 3, 0, 0);

CREATE TEMP VIEW rf AS
SELECT day - CURRENT_DATE AS ahead, expected_units FROM erp.return_forecast
 WHERE node = 'RF51-N1' AND category = 'rf51-shoes';
GRANT SELECT ON rf TO PUBLIC;

SELECT is((SELECT count(*) FROM rf), 28::bigint, 'one row per day for the next 28 days (tomorrow first)');
SELECT is((SELECT min(ahead) || '..' || max(ahead) FROM rf), '1..28', 'from tomorrow to 28 days ahead');
SELECT ok((SELECT abs(expected_units - 4.0 / 30 * 10) < 0.01 FROM rf WHERE ahead = 7),
          'day +7: the 10 units shipped 3 days ago x rate 4/30, as the delay is 10 days (1.33)');
SELECT ok((SELECT bool_and(abs(expected_units - 4.0 / 30 * 10 / 28) < 0.01) FROM rf WHERE ahead BETWEEN 11 AND 28),
          'days +11 to +28: the future shipments at the pace of the last 28 days (10/28 a day) x 4/30 (0.05)');
SELECT is((SELECT sum(expected_units) FROM rf WHERE ahead NOT IN (7) AND ahead < 11), 0.00::numeric,
          'no returns expected on days when nothing was shipped 10 days before');
SELECT ok((SELECT abs(sum(expected_units) - (4.0 / 30 * 10 + 18 * 4.0 / 30 * 10 / 28)) < 0.1 FROM rf),
          'the 28 days add up to 1.33 + 18 x 0.048 = 2.19 units (within rounding)');
SET ROLE rf51_partner;
SELECT is((SELECT count(*) FROM erp.return_forecast WHERE node = 'RF51-N1'), 0::bigint,
          'a partner of another node sees none of RF51-N1''s forecast');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
