-- fuzz harness: generates the calls and runs them (loaded by test/shell/fuzz.sh
-- as superuser, after seed.sql).
--
-- Every function of schema erp that SQL can call (not triggers, not functions
-- taking `internal`) is enumerated from pg_proc with its argument types and
-- names, so a new function is covered without touching this file.  Each
-- argument gets a "kind" from its type and name (a sku, a node code, an order
-- id, an order's lines, a quantity, a date, ...) and each kind has a fixed list
-- of edge values (SQL expressions).  The calls of a function are:
--   - the baseline (every argument a sensible value for the seeded shop);
--   - each argument in turn set to each edge value of its kind, the others at
--     their baseline;
--   - every argument NULL;
--   - fuzz.combos combinations whose values are chosen by a hash of a fixed seed
--     (deterministic: the same calls in the same order on every run).
-- fuzz.run() executes each call in a subtransaction that is always rolled back
-- (so every call meets the same seeded data, and a finding names the call that
-- caused it), commits its result row, and checks:
--   - it succeeded, or failed with SQLSTATE class IE (or 42501 when the role has
--     no right to the function);
--   - a write (a volatile function) does not accept a value no write may
--     accept (fuzz.value.nonsense: infinite/BC dates, 1e400, 200 kB text, ...);
--   - after a successful call the shop still works: every erp view reads,
--     erp.allocate_pending() runs and erp.verify() is empty;
--   - a refused call changed no erp table (checksum of every table's rows,
--     before and after: only what a refusal may keep outside its transaction
--     counts -- the pick_exception and return_discrepancy events that SPEC
--     says a refused scan records (IE007) -- and nothing else).
-- A crash ends the session: fuzz.sh detects it, records it, and goes on from
-- the next call.
\set ON_ERROR_STOP 1
\o /dev/null
SET client_min_messages = warning;
CREATE SCHEMA fuzz;
GRANT USAGE ON SCHEMA fuzz TO PUBLIC;

-- edge values of each kind, as SQL expressions
CREATE TABLE fuzz.value (kind text, ord int, expr text, nonsense boolean NOT NULL DEFAULT false,
                         PRIMARY KEY (kind, ord));
CREATE FUNCTION fuzz.add(k text, VARIADIC exprs text[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO fuzz.value SELECT k, coalesce((SELECT max(ord) FROM fuzz.value WHERE kind = k), 0) + o, e
      FROM unnest(exprs) WITH ORDINALITY AS u(e, o)
$$;

-- any text: empty, blank, huge (200 kB), multibyte UTF-8 (and 40 two-byte
-- characters: a cut at 39 bytes ends mid-character), at and over the 64-byte
-- key limit, control characters, SQL and JSON-looking text
SELECT fuzz.add('text', 'NULL', $$''$$, $$' '$$, $$repeat('x', 200000)$$, $$'Ünïcødé ✓ 😀 字'$$,
    $$repeat('é', 40)$$, $$repeat('😀', 300)$$, $$repeat('k', 64)$$, $$repeat('k', 65)$$,
    $$E'tab\tnew\nline'$$, $$'x''); DROP TABLE erp.item; --'$$, $$'{"sku":'$$, $$E'\x01\x7f'$$,
    $$'%_\'$$, $$'NOPE'$$);
SELECT fuzz.add('sku', $$'FZ-TEE'$$, $$'FZ-MUG'$$, $$'FZ-KIT'$$, $$'FZ-LOT'$$, $$'FZ-ZERO'$$,
    $$'FZ-BACK'$$, $$'4006381333931'$$, $$'fz-tee'$$, $$' FZ-TEE'$$, $$'FZ-DC'$$);
SELECT fuzz.add('node', $$'FZ-DC'$$, $$'FZ-3PL'$$, $$'FZ-WEB'$$, $$'fz-dc'$$);
SELECT fuzz.add('channel', $$'FZ-WEB'$$, $$'FZ-DC'$$);
SELECT fuzz.add('supplier', $$'FZ-SUP'$$, $$'FZ-DC'$$);
SELECT fuzz.add('lot', $$'L0'$$, $$'L1'$$);
SELECT fuzz.add('event', $$'adjust'$$, $$'damage'$$, $$'receive'$$, $$'pick'$$, $$'ship'$$,
    $$'allocate'$$, $$'dispose'$$, $$'transfer_out'$$);
SELECT fuzz.add('freetext', $$'FZ-1'$$, $$'FZ-NEW'$$);
-- the text kinds all get the generic text edges too
INSERT INTO fuzz.value SELECT k.kind, 100 + t.ord, t.expr
  FROM (VALUES ('sku'), ('node'), ('channel'), ('supplier'), ('lot'), ('event'), ('freetext')) k(kind),
       fuzz.value t WHERE t.kind = 'text';

SELECT fuzz.add('bigint', 'NULL', '0', '-1', '1', '2', '1000000000', '1000000001', '2147483647',
    '2147483648', '9223372036854775807', '(-9223372036854775807 - 1)');
SELECT fuzz.add('qty', '3', '100', '999999999');
INSERT INTO fuzz.value SELECT 'qty', 100 + ord, expr FROM fuzz.value WHERE kind = 'bigint';
SELECT fuzz.add('int', 'NULL', '0', '-1', '1', '365', '3000000', '2147483647', '(-2147483647 - 1)');
SELECT fuzz.add('date', 'NULL', $$'infinity'$$, $$'-infinity'$$, $$'0044-03-15 BC'$$, $$'4713-01-01 BC'$$,
    $$'1900-01-01'$$, $$'1970-01-01'$$, $$'9999-12-31'$$, $$'5874897-12-31'$$, 'current_date',
    $$current_date + 200$$);
SELECT fuzz.add('ts', 'NULL', $$'infinity'$$, $$'-infinity'$$, $$'0044-03-15 12:00:00+00 BC'$$,
    $$'4713-01-01 00:00:00+00 BC'$$, $$'1900-01-01 00:00:00+00'$$, $$'1970-01-01 00:00:00+00'$$,
    $$'294276-12-31 23:59:59+00'$$, $$now() - interval '1 day'$$, $$now() + interval '3 days'$$);
-- JSON of every wrong shape: scalars where an array of objects belongs, an
-- object instead of an array, numbers as strings, 1e400, fractions, negative
-- and huge numbers, missing and NULL keys, arrays where text belongs, deep
-- nesting, duplicates, huge and multibyte text inside.  (Malformed JSON text
-- cannot reach a function: PostgreSQL's jsonb input refuses it, 22P02, before
-- the call; it is fuzzed as a text argument instead.)
SELECT fuzz.add('json', 'NULL', $$'{}'$$, $$'[]'$$, $$'null'$$, $$'"x"'$$, $$'1e400'$$, $$'[1, 2]'$$,
    $$'[null]'$$, $$'[[]]'$$,
    $$'{"sku": "FZ-TEE", "qty": 1}'$$,
    $$'[{"sku": "FZ-TEE", "qty": "1"}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 1e400}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": -1}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 0}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 1.5}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 9223372036854775808}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 1000000001}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": true}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": null}]'$$,
    $$'[{"sku": "FZ-TEE"}]'$$,
    $$'[{"qty": 1}]'$$,
    $$'[{"sku": null, "qty": 1}]'$$,
    $$'[{"sku": "", "qty": 1}]'$$,
    $$'[{"sku": ["FZ-TEE"], "qty": 1}]'$$,
    $$'[{"sku": {"a": 1}, "qty": 1}]'$$,
    $$'[{"sku": 4006381333931, "qty": 1}]'$$,
    $$'[{"sku": "NOPE", "qty": 1, "reason": "too_small", "unit_cost": 1}]'$$,
    $$'[{"sku": "FZ-KIT", "qty": 1, "reason": "too_small", "unit_cost": 1}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 1, "reason": "nope", "unit_cost": 1, "unit_price": 1}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 1, "reason": "too_small", "unit_cost": 1e400, "unit_price": 1e400}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 1, "reason": "too_small", "unit_cost": -5, "unit_price": -5}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 1, "reason": "too_small", "unit_cost": "NaN", "unit_price": "NaN"}]'$$,
    $$'[{"sku": "FZ-TEE", "qty": 1, "reason": "too_small"}, {"sku": "FZ-TEE", "qty": 1, "reason": "too_small"}]'$$,
    $$jsonb_build_array(jsonb_build_object('sku', repeat('x', 200000), 'qty', 1))$$,
    $$jsonb_build_array(jsonb_build_object('sku', 'FZ-TEE', 'qty', 1, 'reason', repeat('r', 200000)))$$,
    $$jsonb_build_array(jsonb_build_object('sku', 'Ünïcødé ✓ 😀', 'qty', 1))$$,
    $$(repeat('[', 1000) || repeat(']', 1000))::jsonb$$,
    $$(SELECT jsonb_agg(jsonb_build_object('sku', 'FZ-TEE', 'qty', 1, 'reason', 'too_small')) FROM generate_series(1, 300))$$);
SELECT fuzz.add('ship_to', 'NULL', $$'{"lat": 1e400, "lon": 0}'$$, $$'{"lat": 999, "lon": 0}'$$,
    $$'{"lat": -90, "lon": -180}'$$, $$'{"lat": "52", "lon": "13"}'$$, $$'{"lat": "NaN", "lon": 0}'$$,
    $$'{"lat": null, "lon": null}'$$, $$'{"lat": [1], "lon": {}}'$$, $$'[]'$$, $$'"x"'$$, $$'{}'$$);
SELECT fuzz.add('gtin', 'NULL', $$'4006381333931'$$, $$'00000000000000'$$, $$'99999999999994'$$);
SELECT fuzz.add('cstring', $$''$$, $$'abc'$$, $$'4006381333931'$$, $$'4006381333932'$$, $$'-1'$$,
    $$'  4006381333931  '$$, $$'٤٠٠٦٣٨١٣٣٣٩٣١'$$, $$repeat('9', 200000)$$, $$'9223372036854775808'$$);
SELECT fuzz.add('other', 'NULL');

-- Values no write may accept (the issue's "nonsense accepted" class): dates
-- and timestamps that are infinite, BC, before 1970 or after 9999; a latitude
-- of 1e400 or 999; text over the 1024-byte free-text limit; quantities that are
-- negative, zero (except a count) or over 1e9; JSON quantities and prices that
-- are fractional, negative, zero or over 1e9 (prices are not: a function may
-- ignore a key it does not use).  A volatile erp function (one
-- that writes) that succeeds with one of them is a violation.
UPDATE fuzz.value SET nonsense = true
 WHERE (kind = 'date' AND expr IN ($$'infinity'$$, $$'-infinity'$$, $$'0044-03-15 BC'$$, $$'4713-01-01 BC'$$,
                                   $$'1900-01-01'$$, $$'5874897-12-31'$$))
    OR (kind = 'ts' AND expr IN ($$'infinity'$$, $$'-infinity'$$, $$'0044-03-15 12:00:00+00 BC'$$,
                                 $$'4713-01-01 00:00:00+00 BC'$$, $$'1900-01-01 00:00:00+00'$$,
                                 $$'294276-12-31 23:59:59+00'$$))
    OR (kind = 'ship_to' AND (expr LIKE '%1e400%' OR expr LIKE '%999%' OR expr LIKE '%NaN%'))
    OR (kind IN ('text', 'sku', 'node', 'channel', 'supplier', 'lot', 'event', 'freetext')
        AND expr IN ($$repeat('x', 200000)$$, $$repeat('😀', 300)$$))
    OR (kind = 'qty' AND expr IN ('0', '-1', '1000000001', '2147483648', '9223372036854775807', '(-9223372036854775807 - 1)'))
    OR (kind = 'json' AND (expr ~ '"qty": (1e400|-1|0|1\.5|9223372036854775808|1000000001)\M'
                           OR expr LIKE $$%'sku', repeat('x', 200000)%$$));

-- ids: the seeded documents (in every status) plus unknown and extreme ids
CREATE FUNCTION fuzz.add_ids(k text, tbl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM erp.%I', tbl) INTO n;
    PERFORM fuzz.add(k, VARIADIC ARRAY(SELECT g::text FROM generate_series(1, n) g));
    PERFORM fuzz.add(k, 'NULL', '0', '-1', '999999', '9223372036854775807', '(-9223372036854775807 - 1)');
END $$;
SELECT fuzz.add_ids('id:order_id', 'sales_order'), fuzz.add_ids('id:rma_id', 'rma'),
       fuzz.add_ids('id:rma_line_id', 'rma_line'), fuzz.add_ids('id:po_id', 'purchase_order'),
       fuzz.add_ids('id:transfer_id', 'transfer'), fuzz.add_ids('id:adjustment_id', 'adjustment');

-- kind of an argument, from its type and name (and, for lines, the function)
CREATE FUNCTION fuzz.kind(fn name, arg text, typ regtype) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN typ = 'cstring'::regtype THEN 'cstring'
        WHEN typ::text = 'erp.gtin' THEN 'gtin'
        WHEN (SELECT typtype FROM pg_type WHERE oid = typ) = 'e' THEN 'enum:' || typ::text
        WHEN typ = 'jsonb'::regtype THEN CASE WHEN arg = 'ship_to' THEN 'ship_to' ELSE 'json' END
        WHEN typ = 'text'::regtype THEN CASE
            WHEN arg IN ('sku', 'scan') THEN 'sku'
            WHEN arg IN ('node', 'from_node', 'to_node') THEN 'node'
            WHEN arg IN ('channel', 'supplier', 'lot', 'event') THEN arg
            WHEN arg IS NULL THEN 'text'
            ELSE 'freetext' END
        WHEN typ = 'bigint'::regtype THEN CASE
            WHEN arg IN ('order_id', 'rma_id', 'rma_line_id', 'po_id', 'transfer_id', 'adjustment_id') THEN 'id:' || arg
            WHEN arg IN ('qty', 'counted', 'missing') THEN 'qty'
            ELSE 'bigint' END
        WHEN typ = 'integer'::regtype THEN 'int'
        WHEN typ = 'date'::regtype THEN 'date'
        WHEN typ = 'timestamp with time zone'::regtype THEN 'ts'
        ELSE 'other' END
$$;
-- enum kinds: every label plus NULL
INSERT INTO fuzz.value
SELECT 'enum:' || e.enumtypid::regtype::text, e.enumsortorder::int, quote_literal(e.enumlabel)
  FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typnamespace = 'erp'::regnamespace;
INSERT INTO fuzz.value SELECT DISTINCT 'enum:' || t.oid::regtype::text, 1000, 'NULL'
  FROM pg_type t WHERE t.typnamespace = 'erp'::regnamespace AND t.typtype = 'e';

-- a sensible value of an argument for the seeded shop
CREATE FUNCTION fuzz.baseline(fn name, arg text, kind text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN kind = 'sku' THEN $b$'FZ-TEE'$b$
        WHEN arg = 'to_node' THEN $b$'FZ-3PL'$b$
        WHEN kind = 'node' THEN $b$'FZ-DC'$b$
        WHEN kind = 'channel' THEN $b$'FZ-WEB'$b$
        WHEN kind = 'supplier' THEN $b$'FZ-SUP'$b$
        WHEN kind = 'event' THEN $b$'adjust'$b$
        WHEN arg = 'external_ref' THEN $b$'FZ-NEW'$b$
        WHEN arg = 'name' THEN $b$'fz_pub'$b$
        WHEN kind = 'id:order_id' THEN CASE fn WHEN 'pick' THEN '3' WHEN 'short_pick' THEN '3'
                                              WHEN 'pack' THEN '3' WHEN 'ship' THEN '2'
                                              WHEN 'authorize_return' THEN '1' ELSE '4' END
        WHEN kind LIKE 'id:%' THEN '2'
        WHEN kind = 'qty' THEN '1'
        WHEN arg = 'return_window_days' THEN '30'
        WHEN arg = 'max_orders' THEN '10'
        WHEN kind = 'int' THEN '0'
        WHEN kind = 'ts' AND arg IN ('expected_at', 'new_expected_at') THEN $b$now() + interval '3 days'$b$
        WHEN arg = 'from_state' THEN $b$'available'$b$
        WHEN arg = 'to_state' THEN $b$'damaged'$b$
        WHEN arg = 'state' THEN $b$'available'$b$
        WHEN arg = 'condition' THEN $b$'new'$b$
        WHEN kind = 'gtin' THEN $b$'4006381333931'$b$
        WHEN kind = 'cstring' THEN $b$'4006381333931'$b$
        WHEN kind = 'json' AND fn = 'capture_order' THEN $b$'[{"sku": "FZ-MUG", "qty": 1}]'$b$
        WHEN kind = 'json' AND fn = 'authorize_return' THEN $b$'[{"sku": "FZ-TEE", "qty": 1, "reason": "too_small"}]'$b$
        WHEN kind = 'json' AND fn = 'create_po' THEN $b$'[{"sku": "FZ-BACK", "qty": 2, "unit_cost": 18}]'$b$
        ELSE 'NULL' END
$$;

-- the functions and their arguments
CREATE TABLE fuzz.arg AS
SELECT p.oid AS fn, p.proname AS fname, a.pos, a.typ, n.argname,
       fuzz.kind(p.proname, n.argname, a.typ) AS kind,
       fuzz.baseline(p.proname, n.argname, fuzz.kind(p.proname, n.argname, a.typ)) AS base
  FROM pg_proc p
 CROSS JOIN LATERAL unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(typ, pos)
  LEFT JOIN LATERAL (SELECT (p.proargnames)[a.pos] AS argname) n ON true
 WHERE p.pronamespace = 'erp'::regnamespace AND p.prokind = 'f'
   AND p.prorettype <> 'trigger'::regtype AND NOT 'internal'::regtype = ANY (p.proargtypes);
CREATE TABLE fuzz.func AS
SELECT p.oid AS fn, p.proname AS fname, p.pronargs AS nargs, p.proretset AS retset,
       p.provolatile = 'v' AS writes
  FROM pg_proc p
 WHERE p.pronamespace = 'erp'::regnamespace AND p.prokind = 'f'
   AND p.prorettype <> 'trigger'::regtype AND NOT 'internal'::regtype = ANY (p.proargtypes);

-- call text from an array of argument expressions
CREATE FUNCTION fuzz.call_sql(f oid, exprs text[]) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN fu.retset THEN 'SELECT count(*) FROM ' ELSE 'SELECT ' END ||
           format('%s.%I', 'erp', fu.fname) || '(' ||
           coalesce((SELECT string_agg('(' || exprs[a.pos] || ')::' || format_type(a.typ, NULL), ', ' ORDER BY a.pos)
                       FROM fuzz.arg a WHERE a.fn = f), '') || ')'
      FROM fuzz.func fu WHERE fu.fn = f
$$;
CREATE FUNCTION fuzz.label(f oid, exprs text[]) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT format('erp.%I', fu.fname) || '(' ||
           coalesce((SELECT string_agg(coalesce(a.argname || ' => ', '') || exprs[a.pos], ', ' ORDER BY a.pos)
                       FROM fuzz.arg a WHERE a.fn = f), '') || ')'
      FROM fuzz.func fu WHERE fu.fn = f
$$;

-- the arguments of a call that no write may accept (NULL: none, or not a write)
CREATE FUNCTION fuzz.nonsense(f oid, exprs text[]) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(coalesce(a.argname || ' => ', '') || exprs[a.pos], ', ' ORDER BY a.pos)
      FROM fuzz.arg a JOIN fuzz.value v ON v.kind = a.kind AND v.expr = exprs[a.pos]
     WHERE a.fn = f AND v.nonsense AND (SELECT provolatile FROM pg_proc WHERE oid = f) = 'v'
       AND NOT (a.argname = 'counted' AND exprs[a.pos] = '0')
$$;
CREATE TABLE fuzz.call (id serial PRIMARY KEY, fn oid, fname name, label text, sql text, nonsense text,
                        writes boolean);
CREATE TABLE fuzz.combos AS SELECT 8 AS n, 'inventory_erp fuzz seed 42' AS seed;
CREATE FUNCTION fuzz.add_call(f oid, fname name, exprs text[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO fuzz.call (fn, fname, label, sql, nonsense, writes)
    VALUES (f, fname, fuzz.label(f, exprs), fuzz.call_sql(f, exprs), fuzz.nonsense(f, exprs),
            (SELECT writes FROM fuzz.func WHERE fn = f))
$$;
DO $$
DECLARE
    f record;
    s record;
    a record;
    v record;
    base text[];
    args text[];
    c int;
    k int;
    cnt int;
    seed text := (SELECT seed FROM fuzz.combos);
BEGIN
    FOR f IN SELECT * FROM fuzz.func ORDER BY fname, fn::regprocedure::text LOOP
        base := ARRAY(SELECT x.base FROM fuzz.arg x WHERE x.fn = f.fn ORDER BY x.pos);
        -- the baseline
        PERFORM fuzz.add_call(f.fn, f.fname, base);
        -- one argument at a time
        FOR a IN SELECT * FROM fuzz.arg x WHERE x.fn = f.fn ORDER BY x.pos LOOP
            FOR v IN SELECT expr FROM fuzz.value WHERE kind = a.kind AND expr <> a.base ORDER BY ord LOOP
                args := base;
                args[a.pos] := v.expr;
                PERFORM fuzz.add_call(f.fn, f.fname, args);
            END LOOP;
        END LOOP;
        -- the items whose value or structure matters (free, kit, lot-tracked,
        -- backorderable) with every quantity
        FOR a IN SELECT q.pos AS qpos, k.pos AS kpos FROM fuzz.arg q JOIN fuzz.arg k ON k.fn = q.fn
                  WHERE q.fn = f.fn AND q.kind = 'qty' AND k.kind = 'sku' LOOP
            FOR s IN SELECT u.sku, qv.expr FROM unnest(ARRAY[$q$'FZ-ZERO'$q$, $q$'FZ-KIT'$q$, $q$'FZ-LOT'$q$, $q$'FZ-BACK'$q$]) u(sku),
                            fuzz.value qv WHERE qv.kind = 'qty' ORDER BY 1, qv.ord LOOP
                args := base;
                args[a.kpos] := s.sku;
                args[a.qpos] := s.expr;
                PERFORM fuzz.add_call(f.fn, f.fname, args);
            END LOOP;
        END LOOP;
        IF f.nargs > 0 THEN
            -- all NULL
            args := array_fill('NULL'::text, ARRAY[f.nargs]);
            PERFORM fuzz.add_call(f.fn, f.fname, args);
            -- seeded combinations
            IF f.nargs > 1 THEN
                FOR c IN 1 .. (SELECT n FROM fuzz.combos) LOOP
                    args := base;
                    FOR a IN SELECT * FROM fuzz.arg x WHERE x.fn = f.fn ORDER BY x.pos LOOP
                        SELECT count(*) INTO cnt FROM fuzz.value WHERE kind = a.kind;
                        k := abs(hashtext(seed || f.fname || a.pos || '/' || c)) % cnt;
                        args[a.pos] := (SELECT expr FROM fuzz.value WHERE kind = a.kind ORDER BY ord OFFSET k LIMIT 1);
                    END LOOP;
                    PERFORM fuzz.add_call(f.fn, f.fname, args);
                END LOOP;
            END IF;
        END IF;
    END LOOP;
END $$;
GRANT SELECT ON fuzz.call TO PUBLIC;

-- a checksum of every erp table, per table; 'event_kept' leaves out the events
-- a refused scan records on purpose
CREATE FUNCTION fuzz.checksum() RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    r jsonb := '{}';
    h text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'erp'::regnamespace
                AND c.relkind IN ('r', 'p') ORDER BY 1 LOOP
        EXECUTE format('SELECT md5(coalesce(string_agg(x::text, E''\n'' ORDER BY x::text), '''')) FROM erp.%I x', t.relname) INTO h;
        r := r || jsonb_build_object(t.relname, h);
    END LOOP;
    SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) INTO h
      FROM erp.event x WHERE x.kind NOT IN ('pick_exception', 'return_discrepancy');
    RETURN r || jsonb_build_object('event_kept', h);
END $$;
-- after a successful call the shop must still work: every view of erp reads
-- (every column computed), erp.allocate_pending() runs, erp.verify() is empty.
-- Returns NULL when so, else what broke.  (Runs inside the call's
-- subtransaction, which is undone afterwards.)
CREATE FUNCTION fuzz.probe() RETURNS text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v record;
    broke text[] := '{}';
    st text;
    msg text;
    n bigint;
BEGIN
    FOR v IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'erp'::regnamespace
                AND c.relkind IN ('v', 'm') ORDER BY 1 LOOP
        BEGIN
            EXECUTE format('SELECT md5(coalesce(string_agg(x::text, E''\n''), '''')) FROM erp.%I x', v.relname);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            broke := broke || format('reading erp.%s: %s %s', v.relname, st, left(msg, 120));
        END;
    END LOOP;
    BEGIN
        PERFORM erp.allocate_pending();
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        broke := broke || format('erp.allocate_pending(): %s %s', st, left(msg, 120));
    END;
    BEGIN
        SELECT count(*) INTO n FROM erp.verify();
        IF n > 0 THEN
            broke := broke || format('erp.verify() reports %s problem(s): %s', n,
                (SELECT string_agg(concat_ws(' ', problem, 'item', item_id, 'node', node_id, state, 'expected', expected, 'actual', actual), '; ')
                   FROM (SELECT * FROM erp.verify() LIMIT 3) x));
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        broke := broke || format('erp.verify(): %s %s', st, left(msg, 120));
    END;
    RETURN CASE WHEN cardinality(broke) > 0 THEN array_to_string(broke, '; ') END;
END $$;
GRANT EXECUTE ON FUNCTION fuzz.checksum(), fuzz.probe() TO PUBLIC;

CREATE TABLE fuzz.result (
    run text, id int, fname name, label text, sqlstate text, message text, violation text, ms numeric,
    PRIMARY KEY (run, id));
GRANT INSERT, SELECT ON fuzz.result TO PUBLIC;

-- fuzz.run(run, first, superuser): every call from id `first` on; one committed
-- result row per call (so a crash loses nothing but the call that crashed).
CREATE PROCEDURE fuzz.run(run_name text, first int, is_superuser boolean) LANGUAGE plpgsql AS $$
DECLARE
    c record;
    before jsonb;
    after jsonb;
    st text;
    msg text;
    bad text;
    changed text[];
    broke text;
    t0 timestamptz;
BEGIN
    FOR c IN SELECT * FROM fuzz.call WHERE id >= first ORDER BY id LOOP
        -- every call is undone, so the tables only change by what a refusal
        -- kept: the checksum after the last refusal is the one before this call
        IF before IS NULL THEN
            before := fuzz.checksum();
        END IF;
        t0 := clock_timestamp();
        st := NULL; msg := NULL; bad := NULL; broke := NULL;
        BEGIN
            EXECUTE c.sql;
            -- success: the shop must still work; then undo it all, so that
            -- every call meets the same seeded shop
            IF c.writes THEN
                broke := fuzz.probe();
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'FZ000', MESSAGE = 'undo';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        END;
        IF st = 'FZ000' THEN
            st := '00000';
            msg := NULL;
            IF c.nonsense IS NOT NULL THEN
                bad := 'accepted ' || c.nonsense;
            END IF;
            IF broke IS NOT NULL THEN
                bad := concat_ws('; ', bad, 'succeeded, and then ' || broke);
            END IF;
        ELSE
            IF st NOT LIKE 'IE%' AND NOT (st = '42501' AND NOT is_superuser) THEN
                bad := 'refused with an undocumented SQLSTATE';
            END IF;
            after := fuzz.checksum();
            changed := ARRAY(SELECT k FROM jsonb_each_text(before) b(k, v) WHERE after->>k IS DISTINCT FROM v ORDER BY k);
            -- a refused scan keeps its pick_exception/return_discrepancy event, and
            -- the commit stamp of the worker's transaction that wrote it: nothing else
            IF st = 'IE007' THEN
                changed := array_remove(array_remove(changed, 'event'), 'event_commit');
            END IF;
            IF cardinality(changed) > 0 THEN
                bad := concat_ws('; ', bad, 'refused but changed ' || array_to_string(changed, ', '));
            END IF;
            before := after;
        END IF;
        INSERT INTO fuzz.result VALUES (run_name, c.id, c.fname, c.label, st, left(msg, 300), left(bad, 1000),
                                       round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1));
        COMMIT;
    END LOOP;
END $$;
GRANT EXECUTE ON PROCEDURE fuzz.run(text, int, boolean) TO PUBLIC;
\o
SELECT count(*) AS calls, count(DISTINCT fn) AS functions FROM fuzz.call;
