-- 23_edi: what sql/install/23_edi.sql creates (EDI X12, issue 17 part 5).

CREATE SEQUENCE erp.edi_control_seq MINVALUE 1 MAXVALUE 999999999 CYCLE;
COMMENT ON SEQUENCE erp.edi_control_seq IS
    'Interchange (ISA13) and group (GS06) control numbers of the X12 documents erp.edi_*_out write';
-- dumped, so that a restored database goes on from its last control number instead of
-- sending partners interchange numbers they have seen
SELECT pg_catalog.pg_extension_config_dump('erp.edi_control_seq', '');

-- No foreign key to erp.sales_order, as for the order's own lines (07_orders.sql): the
-- row is written by erp.edi_850_in right after erp.capture_order created the order, and
-- orders are never deleted.
CREATE TABLE erp.edi_order (
    order_id    bigint PRIMARY KEY,
    channel_id  bigint NOT NULL,
    po_number   text NOT NULL,
    partner_id  text NOT NULL,
    our_id      text NOT NULL,
    po_date     date NOT NULL,
    dates       jsonb NOT NULL DEFAULT '{}',
    line_refs   jsonb NOT NULL DEFAULT '[]',
    received_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE erp.edi_order IS
    'The X12 850 an order came from (erp.edi_850_in), what its 855 and 856 answer with';
COMMENT ON COLUMN erp.edi_order.partner_id IS 'ISA06 of the 850: the receiver of the 855 and 856';
COMMENT ON COLUMN erp.edi_order.our_id IS 'ISA08 of the 850: the sender of the 855 and 856';
COMMENT ON COLUMN erp.edi_order.po_date IS 'BEG05, the purchase order date';
COMMENT ON COLUMN erp.edi_order.dates IS 'The DTM dates by qualifier, e.g. {"002": "2026-12-10"} (002 = delivery requested)';
COMMENT ON COLUMN erp.edi_order.line_refs IS 'PO101 of each line, in line_no order: the line ids the 855 and 856 quote back';
SELECT pg_catalog.pg_extension_config_dump('erp.edi_order', '');
ALTER TABLE erp.edi_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY partner_nodes ON erp.edi_order
    USING ((SELECT erp.visible_nodes()) IS NULL
           OR EXISTS (SELECT 1 FROM erp.sales_order o WHERE o.order_id OPERATOR(pg_catalog.=) edi_order.order_id));

CREATE FUNCTION erp.edi_parse(document text)
    RETURNS TABLE (segment_no integer, tag text, element_no integer, value text)
    AS 'MODULE_PATHNAME', 'ierp_edi_parse'
    LANGUAGE C STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.edi_parse(text) IS
    'Reads an X12 interchange (ISA ... IEA) and returns every element: segment position, tag, element number, value; envelopes, counts and control numbers are checked and a malformed document is refused (IE004) naming the segment and element';

CREATE FUNCTION erp.edi_850_in(channel text, document text)
    RETURNS TABLE (set_control text, po_number text, order_id bigint, created boolean)
    AS 'MODULE_PATHNAME', 'ierp_edi_850_in'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.edi_850_in(text, text) IS
    'Captures each X12 850 purchase order of the document as an order of a wholesale channel (erp.capture_order; external_ref = BEG03, so a resent 850 returns the same order); refuses the whole document, writing nothing, on any bad segment or element (IE004) or unknown item (IE003)';

CREATE FUNCTION erp.edi_856_in(document text)
    RETURNS TABLE (shipment_ref text, po_id bigint, units bigint)
    AS 'MODULE_PATHNAME', 'ierp_edi_856_in'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.edi_856_in(text) IS
    'Receives a supplier''s X12 856 ship notice against the purchase order its PRF01 names (erp.receive_po, items from LIN/SN1); a resent notice replays, never receives twice; refuses the whole document, writing nothing, on any bad segment or element';

CREATE FUNCTION erp.edi_855_out(order_id bigint, sender text DEFAULT NULL, receiver text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'ierp_edi_855_out'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.edi_855_out(bigint, text, text) IS
    'The X12 855 acknowledgement of an order: per line accepted (IA), backordered (IB) or rejected (IR) units, as one interchange';

CREATE FUNCTION erp.edi_856_out(shipment_id bigint, sender text DEFAULT NULL, receiver text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'ierp_edi_856_out'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.edi_856_out(bigint, text, text) IS
    'The X12 856 ship notice of a shipment (HL shipment, order, items; carrier and tracking), as one interchange';

CREATE FUNCTION erp.edi_846_out(channel text, sender text DEFAULT NULL, receiver text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'ierp_edi_846_out'
    LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.edi_846_out(text, text, text) IS
    'The X12 846 inventory advice of a channel: erp.channel_availability per active item, as one interchange';
