-- 96_break11a_idem_role_rename.sql (break11a; failed before b59d4aa, which fixed it): a key belongs to the login
-- that used it (doc/idempotency.md), but it is stored under the login's NAME
-- (erp.idempotency_key.role_name).  Renaming a login (ALTER ROLE ... RENAME,
-- e.g. a partner's login renamed after a company rename) drops every key it
-- holds: the client's retry of a call that committed before the rename runs a
-- second time (a second receipt).  Conversely a new role created under a
-- dropped login's name inherits its keys and can replay its results (which may
-- name another partner's documents and stock).  Likely cause: IdempotentCall
-- keys on GetUserNameFromId(IerpSessionIdentity()), not on the role's oid.
BEGIN;
SELECT plan(4);

INSERT INTO erp.node (code, kind) VALUES ('B11A96-DC', 'warehouse');
INSERT INTO erp.item (sku, unit_cost, unit_price) VALUES ('B11A96-TEE', 5, 20);
CREATE ROLE b11a96_app;
GRANT erp_operator, erp_reader TO b11a96_app;
CREATE TEMP TABLE b11a96 (name text PRIMARY KEY, v text);
GRANT ALL ON b11a96 TO PUBLIC;
CREATE FUNCTION pg_temp.receipts() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM erp.stock_move m JOIN erp.item i USING (item_id) WHERE i.sku = 'B11A96-TEE' AND m.event = 'receive'
$$;

-- (in a superuser's session the identity is the role it acts as)
SET ROLE b11a96_app;
INSERT INTO b11a96 SELECT 'm1', erp.receive('B11A96-TEE', 'B11A96-DC', 7, idempotency_key => 'b11a96-k')::text;
RESET ROLE;
SELECT is(pg_temp.receipts(), 1::bigint, 'one receipt before the rename');

ALTER ROLE b11a96_app RENAME TO b11a96_app_renamed;
SET ROLE b11a96_app_renamed;
INSERT INTO b11a96 SELECT 'm2', erp.receive('B11A96-TEE', 'B11A96-DC', 7, idempotency_key => 'b11a96-k')::text;
RESET ROLE;
SELECT is((SELECT v FROM b11a96 WHERE name = 'm2'), (SELECT v FROM b11a96 WHERE name = 'm1'),
    'the same login retrying after its rename gets its move id back');
SELECT is(pg_temp.receipts(), 1::bigint, 'and the 7 tees are booked once, not twice');

-- a login dropped and a new one created under its name is another login: it
-- must not replay the first one's call (it runs its own)
CREATE ROLE b11a96_old;
GRANT erp_operator, erp_reader TO b11a96_old;
SET ROLE b11a96_old;
INSERT INTO b11a96 SELECT 'o1', erp.receive('B11A96-TEE', 'B11A96-DC', 9, idempotency_key => 'b11a96-k2')::text;
RESET ROLE;
DROP ROLE b11a96_old;
CREATE ROLE b11a96_old;
GRANT erp_operator, erp_reader TO b11a96_old;
SET ROLE b11a96_old;
INSERT INTO b11a96 SELECT 'o2', erp.receive('B11A96-TEE', 'B11A96-DC', 9, idempotency_key => 'b11a96-k2')::text;
RESET ROLE;
SELECT isnt((SELECT v FROM b11a96 WHERE name = 'o2'), (SELECT v FROM b11a96 WHERE name = 'o1'),
    'a new role under a dropped login''s name does not get the dropped login''s stored result (its own call runs)');

SELECT * FROM finish();
ROLLBACK;
