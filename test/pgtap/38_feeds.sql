-- 38_feeds.sql: availability deltas for channel feeds (issue 11, deliverable 5;
-- doc/feeds.md).  A delta is about committed transactions, so the scenario
-- runs in a database of its own (ierp_feed38), written and read over dblink
-- one committed transaction per call; this transaction only asserts and is
-- rolled back.  The database and the partner role are dropped at the end.
BEGIN;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(25);

CREATE FUNCTION pg_temp.conninfo(db text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_catalog.format('dbname=%s host=%s port=%s user=postgres', db,
          pg_catalog.current_setting('unix_socket_directories'), pg_catalog.current_setting('port')) $$;
SELECT dblink_exec(pg_temp.conninfo('postgres'), 'DROP DATABASE IF EXISTS ierp_feed38');
SELECT dblink_exec(pg_temp.conninfo('postgres'), 'DROP ROLE IF EXISTS feed38_partner');
SELECT dblink_exec(pg_temp.conninfo('postgres'), 'CREATE DATABASE ierp_feed38');
SELECT dblink_exec(pg_temp.conninfo('postgres'), 'CREATE ROLE feed38_partner IN ROLE erp_reader');
SELECT dblink_connect('w', pg_temp.conninfo('ierp_feed38'));
-- w(sql): runs sql (one transaction) at ierp_feed38; the last statement's result
CREATE FUNCTION pg_temp.w(sql text) RETURNS text LANGUAGE sql AS
$$ SELECT pg_catalog.string_agg(t.x, ',') FROM dblink('w', sql) AS t(x text) $$;
SELECT pg_temp.w($$
    SET client_min_messages = warning;
    CREATE EXTENSION inventory_erp;
    INSERT INTO erp.channel (code) VALUES ('WEB'), ('B2B');
    INSERT INTO erp.node (code) VALUES ('DC1'), ('DC2');
    INSERT INTO erp.channel_node (channel_id, node_id) SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n;
    INSERT INTO erp.node_access (role_name, node_id) SELECT 'feed38_partner', node_id FROM erp.node WHERE code = 'DC2';
    INSERT INTO erp.item (sku, unit_price) VALUES ('FA', 10), ('FB', 10), ('FC', 10), ('KIT', 25), ('OLD', 1);
    INSERT INTO erp.item (sku, lot_tracked, min_shelf_life_days) VALUES ('HB', true, 30);
    INSERT INTO erp.item_component (kit_item_id, component_item_id, qty)
    SELECT k.item_id, c.item_id, 1 FROM erp.item k, erp.item c WHERE k.sku = 'KIT' AND c.sku IN ('FA', 'FC');
    UPDATE erp.item SET active = false WHERE sku = 'OLD';
    SELECT erp.receive('FA', 'DC1', 10);
    SELECT erp.receive('FC', 'DC1', 4);
    SELECT erp.receive('HB', 'DC1', 6, lot => 'L1', expires_on => CURRENT_DATE + 29)$$);

-- the feed: its cursor per connection and channel in feed38_cursor; changes() asks for
-- the delta since it (a full resynchronisation the first time) and keeps the next cursor
CREATE TEMP TABLE feed38_cursor (k text PRIMARY KEY, c text);
CREATE TEMP TABLE feed38_rows (sku text, atp bigint, next_since text);
CREATE FUNCTION pg_temp.changes(conn text, channel text) RETURNS TABLE (sku text, atp bigint)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feed38_cursor VALUES (conn || '/' || channel, NULL) ON CONFLICT DO NOTHING;
    DELETE FROM feed38_rows;
    INSERT INTO feed38_rows
    SELECT * FROM dblink(conn, pg_catalog.format(
        'SELECT sku, atp, next_since FROM erp.channel_availability_changes(%L, %L)',
        channel, (SELECT f.c FROM feed38_cursor f WHERE f.k = conn || '/' || channel)))
        AS t(sku text, atp bigint, next_since text);
    UPDATE feed38_cursor SET c = (SELECT r.next_since FROM feed38_rows r LIMIT 1) WHERE k = conn || '/' || channel;
    RETURN QUERY SELECT r.sku, r.atp FROM feed38_rows r ORDER BY r.sku;
END
$$;

SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FA', 10::bigint), ('FB', 0), ('FC', 4), ('HB', 0), ('KIT', 4)$$,
                  'since NULL: every active item with its ATP for the channel (the lot of HB is one day short of the 30 days; a kit ships from one node)');
SELECT ok((SELECT count(DISTINCT next_since) = 1 AND bool_and(next_since ~ '^1/[0-9]+/[0-9]+/[0-9]{8}/[0-9]+:[0-9]+:[0-9,]*/[0-9]+:[0-9]+:[0-9,]*$') FROM feed38_rows),
          'every row carries the same cursor');
-- the first delta after a resynchronisation repeats the master-data changes of the
-- transactions from its xmin on: here the setup's, since this transaction is older
SELECT pg_temp.changes('w', 'WEB');
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES (NULL::text, NULL::bigint)$$,
                  'nothing changed: one row, which carries only the cursor');
SELECT ok((SELECT next_since IS NOT NULL FROM feed38_rows), '(that row has a cursor)');

SELECT pg_temp.w($$SELECT erp.receive('FB', 'DC1', 4)$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FB', 4::bigint)$$,
                  'after a receipt: only the item received, with its new ATP');

SELECT pg_temp.w($$SELECT erp.capture_order('WEB', 'O-1', '[{"sku": "FA", "qty": 3}]')$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES (NULL::text, NULL::bigint)$$,
                  'capturing an order moves no stock: no change');
SELECT pg_temp.w($$SELECT count(*) FROM erp.allocate((SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-1'))$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FA', 7::bigint), ('KIT', 4)$$,
                  'after an allocation: the item and the kit it is part of');
SELECT pg_temp.w($$SELECT erp.cancel_order((SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-1'))$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FA', 10::bigint), ('KIT', 4)$$,
                  'after a cancellation: the units are back');

SELECT pg_temp.w($$SELECT erp.capture_order('WEB', 'O-2', '[{"sku": "FB", "qty": 2}]')$$);
SELECT pg_temp.w($$SELECT count(*) FROM erp.allocate((SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-2'))$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$, $$VALUES ('FB', 2::bigint)$$, '(allocated)');
SELECT pg_temp.w($$SELECT erp.pick((SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-2'), 'FB', 2);
                   SELECT erp.pack((SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-2'));
                   SELECT erp.ship((SELECT order_id FROM erp.sales_order WHERE external_ref = 'O-2'))$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FB', 2::bigint)$$,
                  'after pick, pack and ship: the item is reported (shipped units leave a ring-fence''s count), its ATP unchanged');

SELECT pg_temp.w($$INSERT INTO erp.stock_policy (item_id, node_id, safety_stock)
                   SELECT i.item_id, n.node_id, 3 FROM erp.item i, erp.node n WHERE i.sku = 'FA' AND n.code = 'DC1'$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FA', 7::bigint), ('KIT', 4)$$,
                  'after a safety-stock change: the item (and its kit), with the safety stock kept back');
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FA', 7::bigint), ('KIT', 4)$$,
                  'a master-data change is reported once more by the next delta (the per-session caches ATP reads may lag it)');
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES (NULL::text, NULL::bigint)$$,
                  'and then no more');

SELECT pg_temp.w($$INSERT INTO erp.channel_reserve (item_id, channel_id, qty)
                   SELECT i.item_id, c.channel_id, 3 FROM erp.item i, erp.channel c WHERE i.sku = 'FC' AND c.code = 'B2B'$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FC', 1::bigint), ('KIT', 1)$$,
                  'after another channel ring-fences units: the item and its kit, less the ring-fence');

SELECT pg_temp.changes('w', 'WEB');
SELECT pg_temp.w($$UPDATE erp.item_component SET qty = 2
                    WHERE component_item_id = (SELECT item_id FROM erp.item WHERE sku = 'FA')$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('KIT', 1::bigint)$$,
                  'after a change of a kit''s components: the kit, not its components');

-- a lot's promisable cut-off (expires_on - min_shelf_life_days) passes with the date:
-- a cursor of yesterday reports HB, whose lot was promisable yesterday and is not today
SELECT pg_temp.changes('w', 'WEB');
SELECT pg_temp.changes('w', 'WEB');
SELECT results_eq($$SELECT t.sku, t.atp FROM dblink('w', pg_catalog.format(
                        'SELECT sku, atp FROM erp.channel_availability_changes(%L, %L)', 'WEB',
                        regexp_replace((SELECT c FROM feed38_cursor WHERE k = 'w/WEB'), '^(1/[0-9]+/[0-9]+)/[0-9]{8}/',
                                       '\1/' || to_char(CURRENT_DATE - 1, 'YYYYMMDD') || '/'))) AS t(sku text, atp bigint)$$,
                  $$VALUES ('HB', 0::bigint)$$,
                  'a cursor of yesterday: the item whose lot passed its promisable cut-off since');

-- partners: the moves at their nodes, ATP from their nodes
SELECT dblink_connect('p', pg_temp.conninfo('ierp_feed38'));
SELECT dblink_exec('p', 'SET ROLE feed38_partner');
SELECT results_eq($$SELECT * FROM pg_temp.changes('p', 'WEB')$$,
                  $$VALUES ('FA', 0::bigint), ('FB', 0), ('FC', 0), ('HB', 0), ('KIT', 0)$$,
                  'a partner''s full resynchronisation: ATP from its nodes only (the stock is at DC1)');
SELECT pg_temp.changes('p', 'WEB');
SELECT pg_temp.w($$SELECT erp.receive('FB', 'DC1', 1); SELECT erp.receive('FC', 'DC2', 5)$$);
SELECT results_eq($$SELECT * FROM pg_temp.changes('p', 'WEB')$$,
                  $$VALUES ('FC', 2::bigint), ('KIT', 0)$$,
                  'a partner''s delta: the receipt at its node, not the one at another node');
SELECT results_eq($$SELECT * FROM pg_temp.changes('w', 'WEB')$$,
                  $$VALUES ('FB', 3::bigint), ('FC', 3), ('KIT', 1)$$,
                  'the business sees both');

-- a feed that writes and reads in one transaction (this one, which has a transaction id):
-- its own writes count as in progress, reported again by every later call in it
INSERT INTO erp.item (sku) VALUES ('F38-OWN');
INSERT INTO erp.node (code) VALUES ('F38-DC');
INSERT INTO erp.channel (code) VALUES ('F38-WEB');
INSERT INTO erp.channel_node (channel_id, node_id)
SELECT c.channel_id, n.node_id FROM erp.channel c, erp.node n WHERE c.code = 'F38-WEB' AND n.code = 'F38-DC';
CREATE TEMP TABLE feed38_own AS SELECT next_since FROM erp.channel_availability_changes('F38-WEB') LIMIT 1;
SELECT erp.receive('F38-OWN', 'F38-DC', 2);
SELECT results_eq($$SELECT sku, atp FROM erp.channel_availability_changes('F38-WEB', (SELECT next_since FROM feed38_own))
                     WHERE sku = 'F38-OWN'$$,
                  $$VALUES ('F38-OWN', 2::bigint)$$,
                  'a receipt of the reading transaction itself, after its cursor, is reported');
UPDATE feed38_own SET next_since = (SELECT next_since FROM erp.channel_availability_changes('F38-WEB', (SELECT next_since FROM feed38_own)) LIMIT 1);
SELECT erp.receive('F38-OWN', 'F38-DC', 3);
SELECT results_eq($$SELECT sku, atp FROM erp.channel_availability_changes('F38-WEB', (SELECT next_since FROM feed38_own))
                     WHERE sku = 'F38-OWN'$$,
                  $$VALUES ('F38-OWN', 5::bigint)$$,
                  'and so is its next one (the transaction may still write: its cursor counts it as in progress)');

-- refusals
SELECT throws_ok($$SELECT * FROM erp.channel_availability_changes('WEB', 'yesterday')$$, 'IE004', NULL,
                 'a cursor that is not one: IE004');
SELECT throws_ok($$SELECT * FROM erp.channel_availability_changes('WEB', '1/1/1/20261206/5/9:3:')$$, 'IE004', NULL,
                 'a cursor whose snapshot is not in order: IE004');
INSERT INTO erp.channel (code) VALUES ('WEB') ON CONFLICT DO NOTHING;
SELECT throws_ok(pg_catalog.format('SELECT * FROM erp.channel_availability_changes(%L, %L)', 'WEB',
                                   (SELECT c FROM feed38_cursor WHERE k = 'w/WEB')),
                 'IE010', 'cursor too old; resynchronise',
                 'a cursor of another database: IE010, resynchronise');
SELECT pg_temp.w($$INSERT INTO erp.feed_horizon (horizon, reason) VALUES (pg_current_xact_id(), 'pruned')$$);
SELECT throws_ok(pg_catalog.format('SELECT * FROM dblink(%L, %L) AS t(sku text, atp bigint)', 'w',
                                   pg_catalog.format('SELECT sku, atp FROM erp.channel_availability_changes(%L, %L)', 'WEB',
                                                     (SELECT c FROM feed38_cursor WHERE k = 'w/WEB'))),
                 'IE010', NULL,
                 'a cursor older than the history kept (a horizon it did not see): IE010, resynchronise');
SELECT dblink_disconnect('p');
SELECT dblink_disconnect('w');
SELECT dblink_exec(pg_temp.conninfo('postgres'), 'DROP DATABASE ierp_feed38');
SELECT dblink_exec(pg_temp.conninfo('postgres'), 'DROP ROLE feed38_partner');
SELECT * FROM finish();
ROLLBACK;
