-- gs1_fuzz.sql: a deterministic fuzzer of the GS1 parser (src/gs1.c), loaded by
-- test/shell/gs1_fuzz.sh (a SQL_ASCII database: any byte but NUL) and by the
-- pg_regress scenario sql/gs1.sql (UTF-8: ASCII bytes only), which
-- `make valgrind` runs under memcheck.
--
-- gs1fuzz.run(n, max_byte, seed) mutates valid element strings of every form
-- (a byte replaced, inserted or deleted, the text cut short, an AI repeated,
-- random tails, bytes 1..max_byte with GS, "(" and digits more often than
-- others) and adds wholly random texts and a few 10 kB ones.  Each text goes
-- to erp.parse_gs1, which must parse it or refuse it with IE004; a parsed
-- scan must keep its invariants (lot and serial 1..20 characters of GS1's
-- character set 82, count of at most 8 digits) and read back the same when
-- written out again in raw and (when its lot has no "(") human-readable form.
-- Every tenth text also goes to erp.receive, which must receive it or refuse
-- it with IE003, IE004 or IE010.  A crash ends the session, which the caller
-- sees.  Returns one row per outcome; a row whose outcome starts with
-- VIOLATION is a defect.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS gs1fuzz CASCADE;
CREATE SCHEMA gs1fuzz;
RESET client_min_messages;

-- one random byte: GS, "(", ")" and digits are likelier than the rest
CREATE FUNCTION gs1fuzz.byte(max_byte int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r float8 := random();
BEGIN
    IF r < 0.15 THEN RETURN chr(29); END IF;
    IF r < 0.25 THEN RETURN '('; END IF;
    IF r < 0.30 THEN RETURN ')'; END IF;
    IF r < 0.55 THEN RETURN chr(48 + floor(random() * 10)::int); END IF;
    RETURN chr(1 + floor(random() * max_byte)::int);
END
$$;

CREATE FUNCTION gs1fuzz.mutate(s text, max_byte int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p int;
    k int;
    i int;
BEGIN
    FOR k IN 1 .. 1 + floor(random() * 4)::int LOOP
        p := 1 + floor(random() * (length(s) + 1))::int;
        CASE floor(random() * 6)::int
            WHEN 0 THEN s := overlay(s PLACING gs1fuzz.byte(max_byte) FROM p FOR 1);
            WHEN 1 THEN s := overlay(s PLACING gs1fuzz.byte(max_byte) FROM p FOR 0);
            WHEN 2 THEN s := overlay(s PLACING '' FROM p FOR 1);
            WHEN 3 THEN s := left(s, p - 1);
            WHEN 4 THEN s := s || substr(s, p, 1 + floor(random() * 12)::int);
            ELSE
                FOR i IN 1 .. floor(random() * 30)::int LOOP
                    s := s || gs1fuzz.byte(max_byte);
                END LOOP;
        END CASE;
    END LOOP;
    RETURN s;
END
$$;

-- a parsed scan written out again: raw (]C1, GS after variable fields) or printed
CREATE FUNCTION gs1fuzz.write(p record, printed boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    gs text := CASE WHEN printed THEN '' ELSE chr(29) END;
    f text := CASE WHEN printed THEN '(%s)%s' ELSE '%s%s' END;
    out text := CASE WHEN printed THEN '' ELSE ']C1' END;
BEGIN
    IF p.gtin IS NOT NULL THEN out := out || format(f, '01', p.gtin::text); END IF;
    IF p.expires_on IS NOT NULL THEN out := out || format(f, '17', to_char(p.expires_on, 'YYMMDD')); END IF;
    IF p.best_before IS NOT NULL THEN out := out || format(f, '15', to_char(p.best_before, 'YYMMDD')); END IF;
    IF p.lot IS NOT NULL THEN out := out || format(f, '10', p.lot) || gs; END IF;
    IF p.serial IS NOT NULL THEN out := out || format(f, '21', p.serial) || gs; END IF;
    IF p.count IS NOT NULL THEN out := out || format(f, '30', p.count) || gs; END IF;
    RETURN out;
END
$$;

-- what is wrong with a parsed scan p of text s, or NULL
CREATE FUNCTION gs1fuzz.check(s text, p record) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    again record;
    printed boolean;
BEGIN
    IF p.lot IS NOT NULL AND p.lot !~ '^[!"%&''()*+,./0-9:;<=>?A-Z_a-z-]{1,20}$' THEN
        RETURN 'lot outside character set 82 or 1..20 characters';
    END IF;
    IF p.serial IS NOT NULL AND p.serial !~ '^[!"%&''()*+,./0-9:;<=>?A-Z_a-z-]{1,20}$' THEN
        RETURN 'serial outside character set 82 or 1..20 characters';
    END IF;
    IF p.count IS NOT NULL AND p.count NOT BETWEEN 0 AND 99999999 THEN
        RETURN 'count out of 8 digits';
    END IF;
    IF num_nulls(p.gtin, p.lot, p.expires_on, p.best_before, p.serial, p.count) = 6 THEN
        RETURN 'parsed with no field';
    END IF;
    FOREACH printed IN ARRAY ARRAY[false, true] LOOP
        CONTINUE WHEN printed AND position('(' IN coalesce(p.lot, '') || coalesce(p.serial, '')) > 0;
        SELECT * INTO again FROM erp.parse_gs1(gs1fuzz.write(p, printed));
        IF (again.gtin::text, again.lot, again.expires_on, again.best_before, again.serial, again.count)
           IS DISTINCT FROM (p.gtin::text, p.lot, p.expires_on, p.best_before, p.serial, p.count) THEN
            RETURN format('reads back differently written %s', CASE WHEN printed THEN 'printed' ELSE 'raw' END);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION gs1fuzz.run(n int, max_byte int, seed float8)
RETURNS TABLE(outcome text, calls bigint) LANGUAGE plpgsql AS $$
DECLARE
    seeds text[] := ARRAY[
        ']C10109501101530003172712311012AB' || chr(29) || '21S-9',
        ']d2' || chr(29) || '010400638133393115270200301210ABC-1/2',
        ']Q30112345678901231' || chr(29) || '37500' || chr(29),
        '(01)09501101530003(17)240200(10)AB',
        '(01)12345678901231(15)300630(10)LOT-7(21)12345678901234567890(30)99999999',
        ']C110!"%&''*+,-./:;<=>?_z' || chr(29) || '2112345678901234567890'];
    s text;
    r float8;
    p record;
    why text;
    state text;
    i int;
BEGIN
    PERFORM setseed(seed);
    CREATE TEMP TABLE IF NOT EXISTS gs1fuzz_result (outcome text, input text);
    TRUNCATE gs1fuzz_result;
    FOR i IN 1 .. n LOOP
        r := random();
        IF r < 0.05 THEN
            s := '';
            FOR k IN 1 .. floor(random() * 60)::int LOOP s := s || gs1fuzz.byte(max_byte); END LOOP;
            s := CASE floor(random() * 3)::int WHEN 0 THEN ']C1' WHEN 1 THEN '(' ELSE '' END || s;
        ELSIF r < 0.052 THEN
            s := gs1fuzz.mutate(seeds[1 + floor(random() * 6)::int], max_byte) || repeat(gs1fuzz.byte(max_byte), 10000);
        ELSE
            s := gs1fuzz.mutate(seeds[1 + floor(random() * 6)::int], max_byte);
        END IF;
        BEGIN
            SELECT * INTO p FROM erp.parse_gs1(s);
            why := gs1fuzz.check(s, p);
            INSERT INTO gs1fuzz_result VALUES (coalesce('VIOLATION: ' || why, 'parsed'), s);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, why = MESSAGE_TEXT;
            INSERT INTO gs1fuzz_result VALUES (CASE WHEN state = 'IE004' THEN 'refused IE004'
                                                    ELSE format('VIOLATION: %s %s', state, why) END, s);
        END;
        CONTINUE WHEN i % 10 <> 0;
        BEGIN
            PERFORM erp.receive(s, 'GS1FZ-DC', 1);
            INSERT INTO gs1fuzz_result VALUES ('received', s);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, why = MESSAGE_TEXT;
            INSERT INTO gs1fuzz_result VALUES (CASE WHEN state IN ('IE003', 'IE004', 'IE010') THEN 'receipt refused'
                                                    ELSE format('VIOLATION: receipt %s %s', state, why) END, s);
        END;
    END LOOP;
    RETURN QUERY SELECT g.outcome, count(*) FROM gs1fuzz_result g GROUP BY g.outcome ORDER BY g.outcome;
END
$$;

-- the items the seeds name, so that receipts by scan find them
INSERT INTO erp.node (code, kind) VALUES ('GS1FZ-DC', 'warehouse');
-- (a caller may have items of these GTINs already: then those are received)
INSERT INTO erp.item (sku, unit_cost, unit_price, lot_tracked, gtin) VALUES
    ('GS1FZ-MILK', 1, 2, true, '09501101530003'),
    ('GS1FZ-OIL', 1, 2, true, '12345678901231'),
    ('GS1FZ-TEE', 1, 2, false, '04006381333931')
ON CONFLICT DO NOTHING;
