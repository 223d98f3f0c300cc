-- 71_edi_fuzz.sql (issue 17, part 5): the X12 reader fuzzed (test/fuzz/edi_fuzz.sql
-- says how): 20,000 mutated interchanges, each parsed and written back identical
-- or refused with IE004 naming a segment; every fifth taken as an 850, captured
-- or refused (IE003/IE004/IE010) leaving no order.  No crash, no violation, and
-- every outcome seen, so that the run is not vacuous.
BEGIN;
SELECT plan(5);
\ir ../fuzz/edi_fuzz.sql

INSERT INTO erp.node (code) VALUES ('EFZ-DC');
INSERT INTO erp.channel (code, kind) VALUES ('EFZ-B2B', 'wholesale');
INSERT INTO erp.channel_node (channel_id, node_id, rank)
SELECT c.channel_id, n.node_id, 1 FROM erp.channel c, erp.node n WHERE c.code = 'EFZ-B2B' AND n.code = 'EFZ-DC';
INSERT INTO erp.item (sku, gtin, unit_price, allow_backorder) VALUES
    ('EFZ-1', '4006381333931', 10, true), ('EFZ-2', NULL, 5, true), ('1', NULL, 1, true);
SELECT erp.receive('EFZ-1', 'EFZ-DC', 20);

CREATE TEMP TABLE seeds AS SELECT ARRAY[
    E'ISA*00*          *00*          *ZZ*BUYERCO        *ZZ*INVENTORYERP   *261201*1200*U*00401*000000101*0*P*:~\n'
    'GS*PO*BUYERCO*INVENTORYERP*20261201*1200*101*X*004010~\nST*850*0001~\nBEG*00*SA*EFZ-1**20261201~\n'
    'DTM*002*20261210~\nN1*ST*Shop*92*S7~\nN3*1 Main St~\nN4*Hamburg**20095*DE~\nPO1*1*2*EA*9.50**EN*4006381333931~\n'
    'PO1*2*1*EA***SK*EFZ-2~\nPO1*3*1*EA***BP*1~\nCTT*3~\nSE*11*0001~\nGE*1*101~\nIEA*1*000000101~\n',
    E'ISA*00*          *00*          *ZZ*SUPPLIERX      *ZZ*INVENTORYERP   *261205*0800*U*00401*000000555*0*P*:~\n'
    'GS*SH*SUPPLIERX*INVENTORYERP*20261205*0800*555*X*004010~\nST*856*0001~\nBSN*00*ASN-1*20261205*0800~\n'
    'HL*1**S~\nHL*2*1*O~\nPRF*1~\nHL*3*2*I~\nLIN**VP*EFZ-1~\nSN1**6*EA~\nCTT*3~\nSE*10*0001~\nGE*1*555~\n'
    'IEA*1*000000555~\n'] AS s;
-- the third seed: what the writer makes of the first, an 855
SELECT order_id AS seed_order FROM erp.edi_850_in('EFZ-B2B', (SELECT s[1] FROM seeds)) \gset
UPDATE seeds SET s = s || erp.edi_855_out(:seed_order);

CREATE TEMP TABLE outcome AS SELECT * FROM edifuzz.run(20000, 0.17, (SELECT s FROM seeds));
SELECT is((SELECT calls FROM outcome WHERE outcome = 'VIOLATION'), NULL,
          'no mutated interchange is mis-read, refused otherwise than with IE004 naming a segment, or leaves an order');
SELECT cmp_ok((SELECT calls FROM outcome WHERE outcome = 'parsed'), '>', 0::bigint, 'some mutations still parse (and read back identical)');
SELECT cmp_ok((SELECT calls FROM outcome WHERE outcome = 'refused IE004'), '>', 0::bigint, 'some are refused (IE004)');
SELECT cmp_ok((SELECT calls FROM outcome WHERE outcome = 'captured'), '>', 0::bigint, 'some are captured as 850s');
SELECT cmp_ok((SELECT calls FROM outcome WHERE outcome = 'capture refused'), '>', 0::bigint, 'some are refused as 850s');
SELECT outcome, calls FROM outcome;
SELECT input, outcome FROM edifuzz.result WHERE outcome LIKE 'VIOLATION%' LIMIT 5;

SELECT * FROM finish();
ROLLBACK;
