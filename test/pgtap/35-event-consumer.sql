-- 35-event-consumer.sql: the exact consumer's contract (issue 11):
-- erp.read_events / erp.ack_events refuse bad consumer names, bad max and bad
-- cursors with IE004 (IE010 for a cursor behind the acknowledged one, IE003 for
-- an unknown consumer) and change nothing when they refuse; a transaction's
-- own events have no commit stamp until it commits, so no reader sees them; a
-- partner reads its nodes' events only; consumer names are per role, so a
-- partner using another role's name gets a consumer of its own and moves
-- nobody else's cursor, and nobody reads a partner's.
--
-- Events need a commit stamp to be read, and this file runs in one
-- transaction that rolls back: the test stamps its own transaction by hand
-- (as its commit would) once its events are written.  The database is shared
-- with the other pgTAP files, whose committed events (14-events' pick
-- exceptions) the superuser's consumer first reads past.
BEGIN;
SELECT plan(37);

INSERT INTO erp.node (code) VALUES ('TAP35-A'), ('TAP35-B');
CREATE TEMP TABLE tap35 (name text PRIMARY KEY, id bigint);
INSERT INTO tap35 VALUES ('A', (SELECT node_id FROM erp.node WHERE code = 'TAP35-A')),
                         ('B', (SELECT node_id FROM erp.node WHERE code = 'TAP35-B'));
GRANT SELECT ON tap35 TO PUBLIC;
CREATE FUNCTION pg_temp.consumers() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(concat_ws('/', consumer, owner_name, acked_commit_seq, acked_event_id,
                                         read_commit_seq, read_event_id), ';' ORDER BY consumer), '-')
      FROM erp.event_consumer WHERE consumer LIKE 'tap35%'
$$;

-- Names and sizes --------------------------------------------------------------

SELECT throws_ok($$SELECT * FROM erp.read_events(NULL)$$, 'IE004', NULL,
    'a NULL consumer is refused, or events would be read for nobody');
SELECT throws_ok($$SELECT * FROM erp.read_events('')$$, 'IE004', NULL, 'an empty consumer name is refused');
SELECT throws_ok(format('SELECT * FROM erp.read_events(%L)', 'tap35-' || repeat('x', 59)), 'IE004', NULL,
    'a consumer name over 64 bytes is refused');
SELECT throws_ok($$SELECT * FROM erp.read_events('tap35 feed')$$, 'IE004', NULL,
    'a consumer name with a space is refused');
SELECT throws_ok($$SELECT * FROM erp.read_events('tap35-fëed')$$, 'IE004', NULL,
    'a consumer name with a non-ASCII letter is refused');
SELECT throws_ok($$SELECT * FROM erp.read_events('tap35-feed', 0)$$, 'IE004', NULL,
    'max 0 is refused, or a consumer could loop reading nothing');
SELECT throws_ok($$SELECT * FROM erp.read_events('tap35-feed', 10001)$$, 'IE004', NULL,
    'max over 10,000 is refused');
SELECT throws_ok($$SELECT * FROM erp.read_events('tap35-feed', NULL)$$, 'IE004', NULL, 'a NULL max is refused');
SELECT is(pg_temp.consumers(), '-', 'no refused read created a consumer');
SELECT throws_ok($$SELECT erp.ack_events('tap35-nobody', '0:0')$$, 'IE003', NULL,
    'acknowledging for an unknown consumer is refused (it would create nothing to come back to)');

-- The superuser's consumer reads past what other files left -----------------------

SELECT lives_ok($$SELECT count(*) FROM erp.read_events('tap35-feed', 1)$$, 'a first read of an unknown consumer succeeds');
SELECT is(pg_temp.consumers() LIKE 'tap35-feed/postgres/0/0/%', true,
    'it created the consumer, owned by the reader, with nothing acknowledged');
DO $$
DECLARE
    last text;
BEGIN
    LOOP
        SELECT r.cursor INTO last FROM erp.read_events('tap35-feed', 10000) r
         ORDER BY r.commit_seq DESC, r.event_id DESC LIMIT 1;
        EXIT WHEN last IS NULL;
        PERFORM erp.ack_events('tap35-feed', last);
    END LOOP;
END
$$;
SELECT is((SELECT count(*) FROM erp.read_events('tap35-feed')), 0::bigint,
    'after reading and acknowledging everything committed, nothing is left');

-- This transaction's events: unseen until stamped ---------------------------------

INSERT INTO erp.event (kind, node_id, payload) SELECT 'tap35_at_a', id, '{"n": 1}' FROM tap35 WHERE name = 'A';
INSERT INTO erp.event (kind, node_id, payload) SELECT 'tap35_at_b', id, '{"n": 2}' FROM tap35 WHERE name = 'B';
INSERT INTO erp.event (kind, payload) VALUES ('tap35_no_node', '{"n": 3}');
SELECT is((SELECT count(*) FROM erp.read_events('tap35-feed')), 0::bigint,
    'events of a transaction that has not committed have no stamp and are not read, or a consumer could act on events that roll back');
SELECT is((SELECT count(DISTINCT txn_id) FROM erp.event WHERE kind LIKE 'tap35%'), 1::bigint,
    'the events of one transaction carry one txn_id');
SELECT throws_ok($$INSERT INTO erp.event (kind, txn_id) VALUES ('tap35_forged', erp.event_txn_id() + 1000)$$, 'IE004', NULL,
    'an event carrying another transaction''s number is refused, or it would be stamped with that one');
-- the stamp this transaction's commit would draw
INSERT INTO erp.event_commit (txn_id, xid) VALUES (erp.event_txn_id(), pg_current_xact_id());
SELECT is((SELECT string_agg(kind, ',' ORDER BY event_id) FROM erp.read_events('tap35-feed')),
    'tap35_at_a,tap35_at_b,tap35_no_node', 'once stamped, the events are read in event_id order within their transaction');
SELECT is((SELECT string_agg(kind, ',' ORDER BY event_id) FROM erp.read_events('tap35-feed')),
    'tap35_at_a,tap35_at_b,tap35_no_node', 'without an acknowledgement the same batch comes again');
CREATE TEMP TABLE tap35_batch AS SELECT * FROM erp.read_events('tap35-feed', 2);
SELECT is((SELECT count(*) FROM tap35_batch), 2::bigint, 'max limits the batch');

-- Cursors ----------------------------------------------------------------------------

CREATE TEMP TABLE tap35_before AS SELECT pg_temp.consumers() AS c;
SELECT throws_ok($$SELECT erp.ack_events('tap35-feed', 'x')$$, 'IE004', NULL, 'a cursor that is no pair of numbers is refused');
SELECT throws_ok($$SELECT erp.ack_events('tap35-feed', '5')$$, 'IE004', NULL, 'a cursor without its event half is refused');
SELECT throws_ok($$SELECT erp.ack_events('tap35-feed', '-1:3')$$, 'IE004', NULL, 'a negative cursor is refused');
SELECT throws_ok($$SELECT erp.ack_events('tap35-feed', '1:2:3')$$, 'IE004', NULL, 'a cursor of three numbers is refused');
SELECT throws_ok($$SELECT erp.ack_events('tap35-feed', '99999999999999999999:1')$$, 'IE004', NULL,
    'a cursor beyond bigint is refused, not wrapped around');
SELECT throws_ok($$SELECT erp.ack_events('tap35-feed', NULL)$$, 'IE004', NULL, 'a NULL cursor is refused');
SELECT throws_ok(format('SELECT erp.ack_events(%L, %L)', 'tap35-feed',
                        (SELECT commit_seq + 1 || ':0' FROM tap35_batch LIMIT 1)), 'IE004', NULL,
    'a cursor beyond what was read is refused, or events never read would be skipped');
SELECT is(pg_temp.consumers(), (SELECT c FROM tap35_before), 'the refused acknowledgements changed nothing');
SELECT lives_ok(format('SELECT erp.ack_events(%L, %L)', 'tap35-feed',
                       (SELECT cursor FROM tap35_batch ORDER BY event_id LIMIT 1)),
    'the cursor of the first event read is acknowledged');
SELECT is((SELECT string_agg(kind, ',' ORDER BY event_id) FROM erp.read_events('tap35-feed')),
    'tap35_at_b,tap35_no_node', 'after the acknowledgement the batch starts after it');
SELECT lives_ok(format('SELECT erp.ack_events(%L, %L)', 'tap35-feed',
                       (SELECT cursor FROM tap35_batch ORDER BY event_id LIMIT 1)),
    'the same acknowledgement again (a lost reply, retried) is accepted and changes nothing');
SELECT throws_ok($$SELECT erp.ack_events('tap35-feed', '0:0')$$, 'IE010', NULL,
    'a cursor behind the acknowledged one is refused, or acknowledged events would come again');

-- Partners ------------------------------------------------------------------------------

CREATE ROLE tap35_partner;
CREATE ROLE tap35_person IN ROLE tap35_partner, erp_operator;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'tap35_partner', id FROM tap35 WHERE name = 'A';
SET LOCAL ROLE tap35_person;
SELECT is((SELECT string_agg(kind, ',') FROM erp.read_events('tap35-partner-feed', 10000) WHERE kind LIKE 'tap35%'),
    'tap35_at_a', 'a partner''s consumer reads its node''s events only (not another node''s, nor those about no node)');
SELECT is((SELECT string_agg(kind, ',') FROM erp.read_events('tap35-feed', 10000) WHERE kind LIKE 'tap35%'),
    'tap35_at_a', 'a partner using another role''s consumer name reads a consumer of its own, from the start, its nodes'' events only');
SELECT lives_ok($$SELECT erp.ack_events('tap35-feed', (SELECT max(cursor) FROM erp.read_events('tap35-feed', 10000)))$$,
    'the partner acknowledges its own consumer of that name');
RESET ROLE;
SELECT is((SELECT string_agg(kind, ',' ORDER BY event_id) FROM erp.read_events('tap35-feed')),
    'tap35_at_b,tap35_no_node', 'the other role''s consumer of that name did not move: a partner cannot make it skip events');
SELECT throws_ok($$SELECT erp.ack_events('tap35-partner-feed', '0:0')$$, 'IE003', NULL,
    'another role cannot acknowledge a partner''s consumer: for it the name is unknown');
SELECT is(pg_temp.consumers() LIKE '%tap35-partner-feed/tap35_person/0/0/%', true,
    'the partner''s consumer belongs to the partner''s login and has acknowledged nothing');

SELECT * FROM finish();
ROLLBACK;
