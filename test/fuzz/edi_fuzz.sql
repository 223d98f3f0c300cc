-- edi_fuzz.sql: a deterministic fuzzer of the X12 reader (src/edi_x12.c),
-- loaded by test/pgtap/71_edi_fuzz.sql (in its transaction: everything here
-- is rolled back with it).
--
-- edifuzz.run(n, seed) mutates valid interchanges (an 850, a supplier 856 and
-- an 855 the writer produced): a byte replaced, inserted or deleted, the
-- text cut short, a segment repeated or dropped, a separator swapped, random
-- tails, digits and separators likelier than other bytes, bytes 1..127
-- (the database is UTF-8: ASCII only).  Each text goes to erp.edi_parse,
-- which must parse it or refuse it with IE004 naming a segment; a parsed
-- text must come back identical when written out again from the rows
-- erp.edi_parse returned, with the separators of its own ISA.  Every
-- fifth text also goes to erp.edi_850_in, which must capture it or refuse
-- it with IE003, IE004 or IE010 and, when it refuses, leave the order count
-- as it was.  A crash ends the session, which pg_prove sees.  Returns one
-- row per outcome; an outcome starting with VIOLATION is a defect.
CREATE SCHEMA edifuzz;

CREATE FUNCTION edifuzz.byte() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r float8 := random();
BEGIN
    IF r < 0.15 THEN RETURN '*'; END IF;
    IF r < 0.25 THEN RETURN '~'; END IF;
    IF r < 0.30 THEN RETURN ':'; END IF;
    IF r < 0.35 THEN RETURN E'\n'; END IF;
    IF r < 0.60 THEN RETURN chr(48 + floor(random() * 10)::int); END IF;
    RETURN chr(1 + floor(random() * 127)::int);
END
$$;

CREATE FUNCTION edifuzz.mutate(s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p int;
    k int;
    segs text[];
    i int;
BEGIN
    FOR k IN 1 .. 1 + floor(random() * 3)::int LOOP
        p := 1 + floor(random() * (length(s) + 1))::int;
        CASE floor(random() * 8)::int
            WHEN 0 THEN s := overlay(s PLACING edifuzz.byte() FROM p FOR 1);
            WHEN 1 THEN s := overlay(s PLACING edifuzz.byte() FROM p FOR 0);
            WHEN 2 THEN s := overlay(s PLACING '' FROM p FOR 1);
            WHEN 3 THEN s := left(s, p - 1);
            WHEN 4 THEN
                segs := string_to_array(s, E'~\n');
                i := 1 + floor(random() * cardinality(segs))::int;
                s := array_to_string(segs[1:i] || segs[i:], E'~\n');
            WHEN 5 THEN
                segs := string_to_array(s, E'~\n');
                i := 1 + floor(random() * cardinality(segs))::int;
                s := array_to_string(segs[1:i - 1] || segs[i + 1:], E'~\n');
            WHEN 6 THEN s := replace(s, '*', chr(33 + floor(random() * 94)::int));
            ELSE
                FOR i IN 1 .. floor(random() * 20)::int LOOP
                    s := s || edifuzz.byte();
                END LOOP;
        END CASE;
    END LOOP;
    RETURN s;
END
$$;

-- the text written again from erp.edi_parse's rows, with the ISA's separators;
-- CR and LF dropped on both sides (the reader skips them between segments)
CREATE FUNCTION edifuzz.check(s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    es text := substr(s, 4, 1);
    st text := substr(s, 106, 1);
    again text;
BEGIN
    SELECT string_agg(seg, st ORDER BY segment_no) || st INTO again
      FROM (SELECT segment_no, tag || coalesce(string_agg(es || coalesce(value, ''), '' ORDER BY element_no)
                                                FILTER (WHERE element_no > 0), '') AS seg
              FROM erp.edi_parse(s) GROUP BY segment_no, tag) x;
    IF translate(again, E'\r\n', '') IS DISTINCT FROM translate(s, E'\r\n', '') THEN
        RETURN 'VIOLATION: written again it differs: ' || left(again, 200);
    END IF;
    RETURN NULL;
END
$$;

CREATE TABLE edifuzz.result (input text, outcome text);

CREATE FUNCTION edifuzz.run(n int, seed float8, seeds text[]) RETURNS TABLE (outcome text, calls bigint)
LANGUAGE plpgsql AS $$
DECLARE
    i int;
    s text;
    why text;
    state text;
    msg text;
    orders bigint;
    captured boolean;
BEGIN
    PERFORM setseed(seed);
    FOR i IN 1 .. n LOOP
        s := edifuzz.mutate(seeds[1 + (i % cardinality(seeds))]);
        BEGIN
            why := edifuzz.check(s);
            INSERT INTO edifuzz.result VALUES (s, coalesce(why, 'parsed'));
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            INSERT INTO edifuzz.result VALUES (s,
                CASE WHEN state = 'IE004' AND msg ~ '^(segment [0-9]+|X12 document of)' THEN 'refused IE004'
                     ELSE 'VIOLATION: ' || state || ' ' || msg END);
        END;
        IF i % 5 = 0 THEN
            SELECT count(*) INTO orders FROM erp.sales_order;
            captured := false;
            BEGIN
                PERFORM * FROM erp.edi_850_in('EFZ-B2B', s);
                captured := true;
                -- undone, so that every text meets the same shop
                RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'edifuzz: undo';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                IF state <> 'P0001' THEN
                    INSERT INTO edifuzz.result VALUES (s,
                        CASE WHEN state IN ('IE003', 'IE004', 'IE010') THEN 'capture refused'
                             ELSE 'VIOLATION: capture ' || state || ' ' || msg END);
                END IF;
            END;
            IF captured THEN
                INSERT INTO edifuzz.result VALUES (s, 'captured');
            END IF;
            IF (SELECT count(*) FROM erp.sales_order) <> orders THEN
                INSERT INTO edifuzz.result VALUES (s, 'VIOLATION: a refused 850 left an order');
            END IF;
        END IF;
    END LOOP;
    RETURN QUERY SELECT CASE WHEN r.outcome LIKE 'VIOLATION%' THEN 'VIOLATION' ELSE r.outcome END, count(*)
                   FROM edifuzz.result r GROUP BY 1 ORDER BY 1;
END
$$;
