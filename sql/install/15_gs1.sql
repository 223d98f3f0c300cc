-- 15_gs1: GS1 element strings (GS1-128, DataMatrix, QR) as scanners send them:
-- erp.parse_gs1 for applications; erp.receive and erp.receive_po read a scan
-- in place of a sku (src/gs1.c, src/gs1_sql.c, doc/gs1.md).
CREATE FUNCTION erp.parse_gs1(scan text)
    RETURNS TABLE(gtin erp.gtin, lot text, expires_on date, best_before date, serial text, count bigint)
    AS 'MODULE_PATHNAME', 'ierp_gs1_parse'
    LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 1
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION erp.parse_gs1(text) IS
    'The fields of a GS1 element string (raw with symbology identifier ]C1, ]d2 or ]Q3 and GS separators, or human-readable "(01)...(17)...(10)..."): AI 01 gtin, 10 lot, 17 expires_on, 15 best_before, 21 serial, 30/37 count; one row, NULL where the scan has no such field; a text that is not GS1 or is malformed: IE004 with the reason. STABLE: a two-digit year is read by the GS1 century rule against the current date';
GRANT EXECUTE ON FUNCTION erp.parse_gs1(text) TO erp_reader, erp_operator;


COMMENT ON FUNCTION erp.receive(text, text, bigint, text, date, erp.stock_state, text, text) IS
    'Unplanned receipt or opening balance: qty units of sku enter node in state (available, quarantined or damaged); creates the lot if needed; returns the move id. sku may be a GS1 element string: the item is the one whose gtin is AI 01, the lot AI 10, the expiry AI 17 (else AI 15), for lot-tracked items; a lot or expires_on argument that disagrees with the scan is refused (IE004). A pack''s GTIN (erp.item_uom), typed or scanned as AI 01, names its item and makes qty a number of packs: qty x units enter (0.4.0; IE004 beyond the units one move may move)';
COMMENT ON FUNCTION erp.receive_po(bigint, jsonb, text) IS
    'Receives a purchase order: everything outstanding, or lines = [{"sku", "qty", "lot", "expires_on"}] or [{"scan": "<GS1 element string>", "qty"}] (item from AI 01, lot AI 10, expiry AI 17 else 15); lot-tracked items need lot and expiry; items that require a quality check go to quarantine; more than ordered, or more than 1,000 lines, is refused (IE004)';
