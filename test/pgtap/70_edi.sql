-- 70_edi.sql (issue 17, part 5): EDI X12 round trips and refusals.
-- An 850 written for the test becomes an order of a wholesale channel (and a
-- resent one the same order); its 855 and the 856 of its shipment are read
-- back by the reader (erp.edi_parse) and compared element by element; an
-- 846 carries erp.channel_availability; a supplier's 856 receives its PO
-- once.  Every malformed document is refused with its SQLSTATE and a message
-- naming the segment and element, and leaves nothing changed.  A partner
-- sees only its own orders and channels.
BEGIN;
SELECT plan(76);

INSERT INTO erp.node (code, kind) VALUES ('E70-DC', 'warehouse'), ('E70-3PL', '3pl');
INSERT INTO erp.channel (code, kind) VALUES ('E70-B2B', 'wholesale'), ('E70-WEB', 'storefront');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n
 WHERE c.code IN ('E70-B2B', 'E70-WEB') AND n.code = 'E70-DC';
INSERT INTO erp.item (sku, gtin, title, unit_cost, unit_price, allow_backorder) VALUES
    ('E70-TEE', '4006381333931', 'tee', 4, 10, false),
    ('E70-MUG', NULL, 'mug', 2, 6.5, true),
    ('E70-CAP', NULL, 'cap', 3, 8, false);
INSERT INTO erp.supplier (code) VALUES ('E70-SUP');
SELECT erp.receive('E70-TEE', 'E70-DC', 50);
SELECT erp.receive('E70-MUG', 'E70-DC', 3);

-- an interchange around one set: ISA (fixed width), GS, ST, body, SE, GE, IEA
-- with right counts and control numbers
CREATE FUNCTION pg_temp.x12(func text, type text, body text[], sender text DEFAULT 'BUYERCO') RETURNS text
LANGUAGE sql AS $$
    SELECT format('ISA*00*%s*00*%s*ZZ*%s*ZZ*%s*261201*1200*U*00401*000000101*0*P*:~', repeat(' ', 10),
                  repeat(' ', 10), rpad(sender, 15), rpad('INVENTORYERP', 15)) || E'\n'
        || format('GS*%s*%s*INVENTORYERP*20261201*1200*101*X*004010~', func, sender) || E'\n'
        || format('ST*%s*0001~', type) || E'\n'
        || array_to_string(body, E'~\n') || E'~\n'
        || format('SE*%s*0001~', cardinality(body) + 2) || E'\n'
        || E'GE*1*101~\nIEA*1*000000101~\n'
$$;
CREATE FUNCTION pg_temp.po(body text[]) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.x12('PO', '850', body)
$$;
-- the 850 of the round trip
CREATE FUNCTION pg_temp.po4711() RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.po(ARRAY['BEG*00*SA*PO-4711**20261201', 'DTM*002*20261210',
        'N1*ST*Corner Shop*92*STORE-7', 'N3*1 Main Street', 'N4*Hamburg**20095*DE',
        'PO1*10*12*EA*9.50**EN*4006381333931', 'PO1*20*5*EA*8**SK*E70-CAP', 'PO1*30*8*EA***BP*E70-MUG',
        'CTT*3'])
$$;
-- SQLSTATE and message of a call, or 'ok'
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- everything an EDI call could write
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', order_id, external_ref, status, ship_to), ';' ORDER BY order_id) FROM erp.sales_order),
        (SELECT string_agg(concat_ws(',', order_id, line_no, item_id, qty, qty_allocated, qty_backordered, qty_shipped, status), ';'
                           ORDER BY order_id, line_no) FROM erp.order_line),
        (SELECT string_agg(concat_ws(',', order_id, po_number, line_refs), ';' ORDER BY order_id) FROM erp.edi_order),
        (SELECT string_agg(concat_ws(',', purchase_order_line_id, qty_received), ';' ORDER BY 1) FROM erp.purchase_order_line),
        (SELECT count(*) FROM erp.stock_move)))
$$;

-- who may call what
SELECT ok(has_function_privilege('erp_operator', 'erp.edi_850_in(text, text)', 'EXECUTE')
          AND has_function_privilege('erp_operator', 'erp.edi_856_in(text)', 'EXECUTE')
          AND has_function_privilege('erp_operator', 'erp.edi_855_out(bigint, text, text)', 'EXECUTE')
          AND has_function_privilege('erp_operator', 'erp.edi_856_out(bigint, text, text)', 'EXECUTE')
          AND has_function_privilege('erp_operator', 'erp.edi_846_out(text, text, text)', 'EXECUTE')
          AND has_function_privilege('erp_operator', 'erp.edi_parse(text)', 'EXECUTE'),
          'operators (the integration roles) may run every EDI function');
SELECT ok(NOT has_function_privilege('erp_reader', 'erp.edi_850_in(text, text)', 'EXECUTE')
          AND NOT has_function_privilege('erp_reader', 'erp.edi_856_in(text)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'erp.edi_parse(text)', 'EXECUTE')
          AND NOT has_function_privilege('public', 'erp.edi_855_out(bigint, text, text)', 'EXECUTE'),
          'readers may not take documents in, and the public may call none');

SELECT ok((SELECT ARRAY['erp.edi_control_seq'::regclass::oid, 'erp.edi_order'::regclass::oid] <@ extconfig
             FROM pg_extension WHERE extname = 'inventory_erp'),
          'pg_dump keeps erp.edi_order and the control number sequence (a restore must not send numbers again)');

-- 850 in
SELECT results_eq($$SELECT set_control, po_number, created FROM erp.edi_850_in('E70-B2B', pg_temp.po4711())$$,
    $$VALUES ('0001', 'PO-4711', true)$$, 'the 850 becomes one new order');
SELECT results_eq(
    $$SELECT l.line_no, i.sku, l.qty, l.unit_price FROM erp.order_line l JOIN erp.item i USING (item_id)
       JOIN erp.sales_order o USING (order_id) WHERE o.external_ref = 'PO-4711' ORDER BY l.line_no$$,
    $$VALUES (1, 'E70-TEE', 12::bigint, 9.50::numeric), (2, 'E70-CAP', 5::bigint, 8.00), (3, 'E70-MUG', 8::bigint, 6.50)$$,
    'its lines: the item by GTIN (EN), by sku (SK) and by the buyer''s part (BP); PO104 the price, else the item''s');
SELECT is((SELECT ship_to FROM erp.sales_order WHERE external_ref = 'PO-4711'),
    '{"name": "Corner Shop", "location": "STORE-7", "address": "1 Main Street", "city": "Hamburg", "postal_code": "20095", "country": "DE"}'::jsonb,
    'N1*ST with N3 and N4 is the order''s ship_to');
SELECT results_eq($$SELECT c.code, e.partner_id, e.our_id, e.po_date, e.dates, e.line_refs
                      FROM erp.edi_order e JOIN erp.channel c USING (channel_id) WHERE e.po_number = 'PO-4711'$$,
    $$VALUES ('E70-B2B', 'BUYERCO', 'INVENTORYERP', '2026-12-01'::date, '{"002": "2026-12-10"}'::jsonb, '["10", "20", "30"]'::jsonb)$$,
    'the 850''s partner, date, DTM dates and PO1 line ids are kept for the answers');
SELECT pg_temp.state() AS before_resend \gset
SELECT order_id AS o4711_pre FROM erp.sales_order WHERE external_ref = 'PO-4711' \gset
SELECT results_eq($$SELECT po_number, order_id, created FROM erp.edi_850_in('E70-B2B', pg_temp.po4711())$$,
    $$SELECT 'PO-4711', order_id, false FROM erp.sales_order WHERE external_ref = 'PO-4711'$$,
    'a resent 850 is a redelivery: the same order, not created again');
SELECT is(pg_temp.state(), :'before_resend', 'and nothing changed');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'PO1*10*12', 'PO1*10*13'))$$),
    'IE010: order "PO-4711" from channel "E70-B2B" was captured before as order ' || :o4711_pre || ' with a different qty',
    'other content under the same PO number is refused by erp.capture_order (IE010)');

-- 855 out, read back
SELECT erp.allocate(order_id) FROM erp.sales_order WHERE external_ref = 'PO-4711';
SELECT order_id AS o4711 FROM erp.sales_order WHERE external_ref = 'PO-4711' \gset
CREATE TEMP TABLE ack AS SELECT * FROM erp.edi_parse(erp.edi_855_out(:o4711));
SELECT results_eq($$SELECT tag, array_agg(value ORDER BY element_no) FROM ack WHERE segment_no > 2
                     GROUP BY segment_no, tag ORDER BY segment_no$$,
    $$VALUES ('ST', ARRAY['855', '0001']), ('BAK', ARRAY['00', 'AC', 'PO-4711', '20261201']),
             ('PO1', ARRAY['10', '12', 'EA', '9.50', '', 'VP', 'E70-TEE']), ('ACK', ARRAY['IA', '12', 'EA']),
             ('PO1', ARRAY['20', '5', 'EA', '8.00', '', 'VP', 'E70-CAP']), ('ACK', ARRAY['IR', '5', 'EA']),
             ('PO1', ARRAY['30', '8', 'EA', '6.50', '', 'VP', 'E70-MUG']), ('ACK', ARRAY['IA', '3', 'EA']),
             ('ACK', ARRAY['IB', '5', 'EA']), ('CTT', ARRAY['3']), ('SE', ARRAY['11', '0001']),
             ('GE', ARRAY['1', (SELECT value FROM ack WHERE tag = 'GS' AND element_no = 6)]),
             ('IEA', ARRAY['1', (SELECT value FROM ack WHERE tag = 'ISA' AND element_no = 13)])$$,
    'the 855 read back: BAK AC (changed), per line PO101, qty, price, sku and IA 12 / IR 5 (short, no backorder) / IA 3 + IB 5');
SELECT results_eq($$SELECT element_no, value FROM ack WHERE tag IN ('ISA', 'GS') AND element_no IN (1, 2, 3, 6, 8)
                     ORDER BY segment_no, element_no$$,
    $$VALUES (1, '00'), (2, '          '), (3, '00'), (6, 'INVENTORYERP   '), (8, 'BUYERCO        '),
             (1, 'PR'), (2, 'INVENTORYERP'), (3, 'BUYERCO'), (6, (SELECT value FROM ack WHERE tag = 'GS' AND element_no = 6)),
             (8, '004010')$$,
    'the 855 goes from the 850''s receiver to its sender (ISA06/ISA08, GS02/GS03), functional group PR');
SELECT is((SELECT value::bigint FROM ack WHERE tag = 'ISA' AND element_no = 13),
          (SELECT last_value FROM erp.edi_control_seq), 'its control number is the sequence''s');
SELECT ok((SELECT value FROM erp.edi_parse(erp.edi_855_out(:o4711)) WHERE tag = 'ISA' AND element_no = 13)::bigint
          = (SELECT value FROM ack WHERE tag = 'ISA' AND element_no = 13)::bigint + 1,
          'the next document takes the next control number');
SELECT is((SELECT value FROM erp.edi_parse(erp.edi_855_out(:o4711, 'ME', 'YOU')) WHERE tag = 'GS' AND element_no IN (2, 3)
            ORDER BY element_no LIMIT 1), 'ME', 'sender and receiver can be given');

-- 856 out of the shipment, read back
SELECT erp.pick(:o4711, 'E70-TEE', 12);
SELECT erp.pick(:o4711, 'E70-MUG', 3);
SELECT erp.pack(:o4711);
SELECT erp.ship(:o4711, 'UPSN', '1Z999AA10123456784') AS ship1 \gset
CREATE TEMP TABLE asn AS SELECT * FROM erp.edi_parse(erp.edi_856_out(:ship1));
SELECT results_eq($$SELECT tag, array_agg(value ORDER BY element_no) FROM asn WHERE segment_no > 2 AND tag NOT IN ('GE', 'IEA')
                     GROUP BY segment_no, tag ORDER BY segment_no$$,
    format($$VALUES ('ST', ARRAY['856', '0001']), ('BSN', ARRAY['00', %L, %L, %L, '0001']),
             ('HL', ARRAY['1', '', 'S']), ('TD5', ARRAY['', '2', 'UPSN']), ('REF', ARRAY['CN', '1Z999AA10123456784']),
             ('DTM', ARRAY['011', %L]), ('HL', ARRAY['2', '1', 'O']), ('PRF', ARRAY['PO-4711']),
             ('HL', ARRAY['3', '2', 'I']), ('LIN', ARRAY['10', 'VP', 'E70-TEE']), ('SN1', ARRAY['', '12', 'EA']),
             ('HL', ARRAY['4', '2', 'I']), ('LIN', ARRAY['30', 'VP', 'E70-MUG']), ('SN1', ARRAY['', '3', 'EA']),
             ('CTT', ARRAY['4']), ('SE', ARRAY['16', '0001'])$$,
           :ship1, to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'), to_char(now() AT TIME ZONE 'UTC', 'HH24MI'),
           to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')),
    'the 856 read back: shipment (carrier, tracking, date), order (PRF = the PO number), one item per shipped line with its PO101 and units');
SELECT is((SELECT value FROM asn WHERE tag = 'GS' AND element_no = 1), 'SH', 'functional group SH');

-- 846 out
CREATE TEMP TABLE advice AS SELECT * FROM erp.edi_parse(erp.edi_846_out('E70-B2B'));
SELECT results_eq($$SELECT l.value, q.value FROM advice l JOIN advice q ON q.segment_no = l.segment_no + 1
                     WHERE l.tag = 'LIN' AND l.element_no = 3 AND q.tag = 'QTY' AND q.element_no = 2 ORDER BY l.segment_no$$,
    $$SELECT sku, greatest(atp, 0)::text FROM erp.channel_availability WHERE channel = 'E70-B2B' ORDER BY sku$$,
    'the 846 carries each item''s channel availability');
SELECT results_eq($$SELECT l.value, q.value FROM advice l JOIN advice q ON q.segment_no = l.segment_no + 1
                     WHERE l.tag = 'LIN' AND l.element_no = 3 AND q.tag = 'QTY' AND q.element_no = 2 ORDER BY l.segment_no$$,
    $$VALUES ('E70-CAP', '0'), ('E70-MUG', '0'), ('E70-TEE', '38')$$,
    'exactly: no cap, the 3 mugs shipped, 50 - 12 tees');
SELECT results_eq($$SELECT value FROM advice WHERE tag = 'LIN' AND element_no IN (4, 5) ORDER BY segment_no, element_no$$,
    $$VALUES ('UK'), ('04006381333931')$$, 'an item with a GTIN carries it as GTIN-14 (UK)');
SELECT is((SELECT value FROM advice WHERE tag = 'CTT'), '3', 'CTT counts the items');

-- inbound 856 from a supplier
SELECT erp.create_po('E70-SUP', 'E70-DC', '[{"sku": "E70-CAP", "qty": 10, "unit_cost": 3}, {"sku": "E70-TEE", "qty": 5, "unit_cost": 4}]',
                     now() + interval '3 days') AS po \gset
CREATE FUNCTION pg_temp.asn(po bigint, cap_qty text DEFAULT '6') RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.x12('SH', '856', ARRAY['BSN*00*ASN-77*20261205*0800', 'HL*1**S', 'TD5**2*DHL', 'HL*2*1*O',
        'PRF*' || po, 'HL*3*2*I', 'LIN**VP*E70-CAP', 'SN1**' || cap_qty || '*EA', 'HL*4*2*I',
        'LIN**EN*4006381333931', 'SN1**5*EA', 'CTT*4'], 'SUPPLIERX')
$$;
SELECT results_eq(format('SELECT * FROM erp.edi_856_in(%L)', pg_temp.asn(:po)),
    format('VALUES (%L, %s::bigint, 11::bigint)', 'ASN-77', :po), 'the supplier''s 856 is received against its PO');
SELECT results_eq(format('SELECT i.sku, l.qty_received FROM erp.purchase_order_line l JOIN erp.item i USING (item_id) WHERE l.purchase_order_id = %s ORDER BY l.line_no', :po),
    $$VALUES ('E70-CAP', 6::bigint), ('E70-TEE', 5::bigint)$$, '6 caps of 10 and the 5 tees (by GTIN) received');
SELECT pg_temp.state() AS before_asn_resend \gset
SELECT results_eq(format('SELECT units FROM erp.edi_856_in(%L)', pg_temp.asn(:po)), $$VALUES (11::bigint)$$,
    'a resent 856 answers the same');
SELECT is(pg_temp.state(), :'before_asn_resend', 'and receives nothing twice');

-- refusals: each with its SQLSTATE and the element named, nothing changed
SELECT pg_temp.state() AS before \gset
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', pg_temp.po(ARRAY['DTM*002*20261210', 'PO1*1*1*EA***VP*E70-TEE', 'CTT*1']))$$),
    'IE004: segment 4 (DTM): BEG expected here', 'a set without BEG');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'SE*11*', 'SE*10*'))$$),
    'IE004: segment 13 (SE): element SE01 is 10 but there are 11 segments in the set (ST and SE included)', 'a wrong SE01');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'SE*11*0001', 'SE*11*0002'))$$),
    'IE004: segment 13 (SE): element SE02 is "0002" but ST02 (segment 3) is "0001"', 'SE02 not matching ST02');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'GE*1*', 'GE*2*'))$$),
    'IE004: segment 14 (GE): element GE01 is 2 but there are 1 sets in the group', 'a wrong GE01');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'GE*1*101', 'GE*1*102'))$$),
    'IE004: segment 14 (GE): element GE02 is "102" but GS06 (segment 2) is "101"', 'GE02 not matching GS06');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'IEA*1*', 'IEA*3*'))$$),
    'IE004: segment 15 (IEA): element IEA01 is 3 but there are 1 groups in the interchange', 'a wrong IEA01');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'IEA*1*000000101', 'IEA*1*000000100'))$$),
    'IE004: segment 15 (IEA): element IEA02 is "000000100" but ISA13 (segment 1) is "000000101"', 'IEA02 not matching ISA13');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', regexp_replace(pg_temp.po4711(), 'IEA[^~]*~\n$', ''))$$),
    'IE004: segment 15: IEA expected after segment 14 (GE), but the document ends', 'a missing IEA');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'CTT*3', 'CTT*2'))$$),
    'IE004: segment 12 (CTT): element CTT01 is 2 but there are 3 PO1 lines in the set', 'a wrong line count');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', pg_temp.po(ARRAY['BEG*00*SA*PO-1**20261201', 'PO1*1*1*EA***VP*E70-TEE']))$$),
    'IE004: segment 6 (SE): CTT (the line count) expected before it', 'a missing CTT');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', pg_temp.po(ARRAY['BEG*00*SA*PO-1**20261201', 'CTT*0']))$$),
    'IE004: segment 6 (SE): the set of segment 3 (ST) has no PO1 line', 'a set without lines');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), '20261201~', '20261301~'))$$),
    'IE004: segment 4 (BEG): element BEG05 is not a calendar date ("20261301")', 'a bad PO date');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), '*20261201*1200*101', '*20260229*1200*101'))$$),
    'IE004: segment 2 (GS): element GS04 is not a calendar date ("20260229")', 'a group date that is no date (2026 is no leap year)');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'DTM*002*20261210', 'DTM*002*2026-12-10'))$$),
    'IE004: segment 5 (DTM): element DTM02 is not a date CCYYMMDD ("2026-12-10")', 'a date written otherwise');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'DTM*002*20261210', 'DTM*002*19690101'))$$),
    'IE004: segment 5 (DTM): element DTM02 is a date outside the years 1970 to 9999 ("19690101")', 'a date out of range');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'PO1*20*5*', 'PO1*20*0*'))$$),
    'IE004: segment 10 (PO1): element PO102 is not a positive quantity ("0")', 'a zero quantity');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'PO1*20*5*', 'PO1*20*-5*'))$$),
    'IE004: segment 10 (PO1): element PO102 is not a positive quantity ("-5")', 'a negative quantity');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'PO1*20*5*', 'PO1*20*5000000000*'))$$),
    'IE004: segment 10 (PO1): element PO102 is over the limit of 1000000000 units ("5000000000")', 'a quantity over the limit');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), '5*EA*8**', '5*CA*8**'))$$),
    'IE004: segment 10 (PO1): element PO103 is "CA": quantities are in units (EA)', 'a unit other than each');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'SK*E70-CAP', 'SK*E70-NOPE'))$$),
    'IE003: segment 10 (PO1): element PO107 names unknown sku "E70-NOPE"', 'an unknown sku (IE003)');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'EN*4006381333931', 'EN*4006381333932'))$$),
    'IE004: segment 9 (PO1): element PO107 is not a valid GTIN ("4006381333932")', 'a GTIN with a wrong check digit');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'EN*4006381333931', 'EN*09501101530003'))$$),
    'IE003: segment 9 (PO1): element PO107 names unknown GTIN "09501101530003"', 'a GTIN no item has');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), '**SK*E70-CAP', ''))$$),
    'IE004: segment 10 (PO1): element PO106 names no item: give a VP or SK (sku), UP, EN, UK or UA (GTIN) or BP product id',
    'a line naming no item');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'ZZ*BUYERCO        *', 'ZZ*BUYERCO*'))$$),
    'IE004: segment 1: element ISA07 is not 2 characters wide (ISA is fixed width)', 'an ISA that is not fixed width');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', 'GS*PO*X~')$$),
    'IE004: segment 1: the document does not start with an ISA segment', 'no ISA');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', rtrim(pg_temp.po4711(), E'~\n'))$$),
    'IE004: segment 15: not ended by the segment terminator', 'a document cut short');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'Corner Shop', E'Corner\tShop'))$$),
    'IE004: segment 6 (N1): element N102 holds a byte that is not printable ASCII (0x09)', 'a control byte');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', pg_temp.po4711() || repeat('x', 1048576))$$),
    'IE004: X12 document of ' || (length(pg_temp.po4711()) + 1048576) || ' bytes is over the limit of 1048576 bytes', 'an oversized document');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'PO1*30*8*EA***BP*E70-MUG', 'PO1*30' || repeat('*1', 70)))$$),
    'IE004: segment 11 (PO1): has more than 64 elements', 'a segment with too many elements');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-WEB', pg_temp.po4711())$$),
    'IE010: channel "E70-WEB" is not a wholesale channel', 'an 850 on a storefront channel');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-NOPE', pg_temp.po4711())$$),
    'IE003: unknown channel "E70-NOPE"', 'an unknown channel');
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', pg_temp.x12('SH', '856', ARRAY['BSN*00*A*20261201']))$$),
    'IE004: segment 3 (ST): element ST01 is "856": this function reads 850 sets only', 'an 856 given as an 850');
SELECT is(pg_temp.err(format('SELECT * FROM erp.edi_856_in(%L)', replace(pg_temp.asn(:po), 'PRF*' || :po, 'PRF*999999'))),
    'IE003: segment 8 (PRF): element PRF01 names unknown purchase order 999999', 'an 856 naming no PO of ours');
SELECT is(pg_temp.err(format('SELECT * FROM erp.edi_856_in(%L)', replace(pg_temp.asn(:po), 'SN1**5*EA~', 'TD1*1~'))),
    'IE004: segment 15 (CTT): SN1 expected before it, for the LIN of segment 13', 'an item without its SN1');
SELECT is(pg_temp.err(format('SELECT * FROM erp.edi_856_in(%L)', pg_temp.asn(:po, '5'))),
    'IE010: idempotency key "edi856:SUPPLIERX:ASN-77:' || :po || '" was used for another call',
    'an 856 resent with other content under the same BSN02 is refused (IE010), not received');
SELECT is(pg_temp.err(format('SELECT * FROM erp.edi_856_in(%L)', replace(pg_temp.asn(:po, '5'), 'ASN-77', 'ASN-78'))),
    'IE004: receipt of 5 of sku "E70-CAP" exceeds the 4 still due on purchase order ' || :po, 'another notice receiving more than is outstanding is refused by erp.receive_po (IE004)');
SELECT is(pg_temp.state(), :'before', 'after every refusal above, nothing changed');

-- line ends between segments do not matter, and a newline may itself be the terminator
SELECT results_eq($$SELECT * FROM erp.edi_parse(replace(pg_temp.po4711(), E'\n', E'\r\n'))$$,
    $$SELECT * FROM erp.edi_parse(pg_temp.po4711())$$, 'CR LF after each terminator: the same elements');
SELECT results_eq($$SELECT * FROM erp.edi_parse(replace(pg_temp.po4711(), E'\n', ''))$$,
    $$SELECT * FROM erp.edi_parse(pg_temp.po4711())$$, 'no line ends at all: the same elements');
SELECT results_eq($$SELECT * FROM erp.edi_parse(replace(pg_temp.po4711(), E'~\n', E'\n'))$$,
    $$SELECT * FROM erp.edi_parse(pg_temp.po4711())$$, 'a newline as the segment terminator (the byte after ISA16): the same elements');

-- two sets in one group: both are taken, or - when the second is bad - neither
CREATE FUNCTION pg_temp.two(second_qty text) RETURNS text LANGUAGE sql AS $$
    SELECT format('ISA*00*%s*00*%s*ZZ*%s*ZZ*%s*261201*1200*U*00401*000000102*0*P*:~', repeat(' ', 10),
                  repeat(' ', 10), rpad('BUYERCO', 15), rpad('INVENTORYERP', 15))
        || 'GS*PO*BUYERCO*INVENTORYERP*20261201*1200*102*X*004010~'
        || 'ST*850*0001~BEG*00*SA*PO-A**20261202~PO1*1*2*EA***VP*E70-TEE~CTT*1~SE*5*0001~'
        || 'ST*850*0002~BEG*00*SA*PO-B**20261202~PO1*1*' || second_qty || '*EA***VP*E70-TEE~CTT*1~SE*5*0002~'
        || 'GE*2*102~IEA*1*000000102~'
$$;
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', pg_temp.two('x'))$$),
    'IE004: segment 10 (PO1): element PO102 is not a positive quantity ("x")', 'a bad second set refuses the interchange');
SELECT is((SELECT count(*) FROM erp.sales_order WHERE external_ref IN ('PO-A', 'PO-B')), 0::bigint,
    'and its good first set is not captured either');
SELECT results_eq($$SELECT set_control, po_number, created FROM erp.edi_850_in('E70-B2B', pg_temp.two('3'))$$,
    $$VALUES ('0001', 'PO-A', true), ('0002', 'PO-B', true)$$, 'two good sets are two orders, one row each');

-- a partner sees its own only
SELECT pg_temp.state() AS before_partner \gset
CREATE ROLE e70_partner;
GRANT erp_operator, erp_reader TO e70_partner;
INSERT INTO erp.node_access (role_name, node_id) SELECT 'e70_partner', node_id FROM erp.node WHERE code = 'E70-3PL';
SET LOCAL ROLE e70_partner;
SELECT is(left(pg_temp.err(format('SELECT erp.edi_855_out(%s)', :o4711)), 6), 'IE009:', 'a partner of another node gets no 855 of the order');
SELECT is(left(pg_temp.err(format('SELECT erp.edi_856_out(%s)', :ship1)), 6), 'IE009:', 'nor its 856');
SELECT is(left(pg_temp.err($$SELECT erp.edi_846_out('E70-B2B')$$), 6), 'IE009:', 'nor the 846 of a channel its nodes do not fulfil');
SELECT is(left(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'PO-4711', 'PO-P1'))$$), 6), 'IE009:',
    'nor may it take an 850 in on that channel (erp.capture_order''s partner rule)');
SELECT is(left(pg_temp.err(format('SELECT * FROM erp.edi_856_in(%L)', replace(pg_temp.asn(:po, '1'), 'ASN-77', 'ASN-P1'))), 6), 'IE009:',
    'nor receive a notice against a purchase order of another node (erp.receive_po''s)');
RESET ROLE;
SELECT is(pg_temp.state(), :'before_partner', 'the partner''s refused calls changed nothing either');
SET LOCAL ROLE erp_reader;
SELECT is(pg_temp.err($$SELECT * FROM erp.edi_850_in('E70-B2B', pg_temp.po4711())$$),
    '42501: permission denied for function edi_850_in', 'a reader may not take an 850 in');
RESET ROLE;

-- in one statement: the 855 sees the order the 850 just captured
SELECT alike((SELECT erp.edi_855_out(order_id) FROM erp.edi_850_in('E70-B2B', replace(pg_temp.po4711(), 'PO-4711', 'PO-4712'))),
    '%BAK*00*A_*PO-4712*20261201~%', 'an 855 of an 850 taken in the same statement acknowledges it');

SELECT * FROM finish();
ROLLBACK;
