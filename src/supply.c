/*-------------------------------------------------------------------------
 *
 * supply.c
 *	  The upstream half of the stock truth: purchase orders (create,
 *	  receive in parts, delay), transfers between nodes, and turning the
 *	  replenishment suggestions into purchase orders.
 *
 *	  A purchase order's units are incoming at its node from the moment the
 *	  supplier confirms it.  A receipt moves them to available, or to
 *	  quarantine for items that require a quality check; a lot-tracked
 *	  item's incoming units have no lot yet, so its receipt closes the
 *	  expectation (po_received) and receives the named lot from outside.
 *	  A receipt line may come in packs: "uom" (case, inner, pallet of
 *	  erp.item_uom) or the "gtin" of a pack makes its qty a number of packs
 *	  (ReceiptLinePacks).
 *
 *	  Refuses: no id, or an unknown supplier, node, sku, purchase order or
 *	  transfer (IE003); bad quantities, costs, texts and dates (infinite,
 *	  outside 1970..9999, a delay to before the purchase order was created),
 *	  missing input, over-receipts, packs x units beyond one move, a uom
 *	  that disagrees with a pack's GTIN (IE004); an invalid GTIN (IE006); a
 *	  line's GTIN of another item than its sku (IE007); a partner at a node not its own
 *	  (IE009); a kit sku on a purchase order (as erp.receive: a kit holds no
 *	  stock of its own), a receipt, delay or transfer in a status that does
 *	  not allow it (IE010).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "gs1.h"
#include "ierp.h"
#include "stock/kernel.h"
#include "governance.h"
#include "pick_scan.h"
#include "supply.h"

IERP_OWNER_ENTRY(ierp_supply_create_po);
IERP_OWNER_ENTRY(ierp_supply_receive_po);
IERP_OWNER_ENTRY(ierp_supply_delay_po);
IERP_OWNER_ENTRY(ierp_supply_transfer);
IERP_OWNER_ENTRY(ierp_supply_receive_transfer);
IERP_OWNER_ENTRY(ierp_supply_create_replenishment_pos);

static const Oid id_types[] = {INT8OID, INT8OID, INT8OID, INT8OID};


/* A purchase order line to write: item, units, cost. */
typedef struct PoLine
{
	int64		item_id;
	int64		qty;
	char	   *unit_cost;		/* NULL: the item's unit_cost */
} PoLine;

/*
 * Writes a purchase order and its lines and makes the units incoming at the
 * node; returns its id.  The caller has checked every line.
 */
static int64
WritePo(int64 supplier_id, int64 node_id, Datum expected_at, const PoLine *lines, int nlines)
{
	static SPIPlanPtr po_plan = NULL;
	static SPIPlanPtr line_plan = NULL;
	static const Oid po_types[] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	static const Oid line_types[] = {INT8OID, INT4OID, INT8OID, INT8OID, TEXTOID};
	bool		isnull;
	int64		po_id;
	char	   *ref;
	int			i;
	MemoryContext caller_ctx = CurrentMemoryContext;
	MemoryContext line_ctx;

	IerpPlan(&po_plan,
			 "INSERT INTO erp.purchase_order (supplier_id, node_id, expected_at) VALUES ($1, $2, $3)"
			 " RETURNING purchase_order_id",
			 3, po_types);
	if (SPI_execute_plan(po_plan, (Datum[]) {Int64GetDatum(supplier_id), Int64GetDatum(node_id), expected_at},
						 NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inventory_erp: purchase order insert failed");
	po_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ref = psprintf("po:" INT64_FORMAT, po_id);
	IerpPlan(&line_plan,
			 "INSERT INTO erp.purchase_order_line (purchase_order_id, line_no, item_id, qty, unit_cost)"
			 " SELECT $1, $2, $3, $4, COALESCE($5::numeric, i.unit_cost) FROM erp.item i WHERE i.item_id = $3",
			 5, line_types);
	/* one line at a time: its own SPI level and memory, freed before the next */
	line_ctx = AllocSetContextCreate(CurrentMemoryContext, "create_po line", ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < nlines; i++)
	{
		Datum		values[5];

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(line_ctx);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		values[0] = Int64GetDatum(po_id);
		values[1] = Int32GetDatum(i + 1);
		values[2] = Int64GetDatum(lines[i].item_id);
		values[3] = Int64GetDatum(lines[i].qty);
		values[4] = lines[i].unit_cost ? CStringGetTextDatum(lines[i].unit_cost) : (Datum) 0;
		/* INSERT ... SELECT (Citus refuses a subquery in VALUES): exactly one row, the item's */
		if (SPI_execute_plan(line_plan, values, lines[i].unit_cost ? NULL : "    n", false, 0) != SPI_OK_INSERT ||
			SPI_processed != 1)
			elog(ERROR, "inventory_erp: purchase order line insert failed");
		StockDocumentMove(ref, lines[i].item_id, 0, lines[i].qty, 0, STATE_OUTSIDE, node_id, STATE_INCOMING,
				   "po_confirmed", STOCK_TAKE_ALL);
		SPI_finish();
		MemoryContextSwitchTo(caller_ctx);
		MemoryContextReset(line_ctx);
	}
	MemoryContextDelete(line_ctx);
	return po_id;
}

/* supplier_id by code; IE003 when unknown. */
static int64
LookupSupplier(const char *code)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	IerpPlan(&plan, "SELECT supplier_id FROM erp.supplier WHERE code = $1", 1, (Oid[]) {TEXTOID});
	if (code == NULL ||
		SPI_execute_plan(plan, (Datum[]) {CStringGetTextDatum(code)}, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown supplier \"%s\"", code ? code : "(null)"),
				 errhint("Suppliers are created by erp_admin in erp.supplier.")));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * erp.create_po(supplier, node, lines, expected_at): a supplier-confirmed
 * purchase order; its units become incoming at node.
 */
static Datum
ierp_supply_create_po_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lines_plan = NULL;
	char	   *supplier = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	int64		supplier_id,
				node_id,
				po_id;
	PoLine	   *lines;
	uint64		i,
				n;
	bool		isnull;

	IerpCheckText(supplier, "supplier", IERP_MAX_KEY_LEN);
	IerpCheckText(node, "node", IERP_MAX_KEY_LEN);
	GovernanceCheckLines(fcinfo, 2, psprintf("purchase order from \"%s\"", supplier));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	supplier_id = LookupSupplier(supplier);
	node_id = IerpLookupNode(node);
	AccessCheckNode(node_id);
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("purchase order from \"%s\" needs an expected_at date", supplier)));
	IerpCheckTimestamp(PG_GETARG_TIMESTAMPTZ(3), "expected_at");
	IerpPlan(&lines_plan,
			 "SELECT e.value->>'sku', e.value->>'qty', e.value->>'unit_cost',"
			 "       (SELECT i.item_id FROM erp.item i WHERE i.sku = e.value->>'sku'),"
			 "       EXISTS (SELECT 1 FROM erp.item_component c JOIN erp.item i ON i.item_id = c.kit_item_id"
			 "                WHERE i.sku = e.value->>'sku')"
			 "  FROM jsonb_array_elements(CASE WHEN jsonb_typeof($1) = 'array' THEN $1 ELSE '[]' END) e(value)",
			 1, (Oid[]) {JSONBOID});
	if (SPI_execute_plan(lines_plan, (Datum[]) {PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2)},
						 PG_ARGISNULL(2) ? "n" : NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read purchase order lines");
	n = SPI_processed;
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("purchase order from \"%s\" has no lines", supplier),
				 errhint("lines is a JSON array like [{\"sku\": \"A-1\", \"qty\": 100, \"unit_cost\": 6.50}].")));
	lines = palloc0(sizeof(PoLine) * n);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *sku = SPI_getvalue(tup, desc, 1);
		Datum		item = SPI_getbinval(tup, desc, 4, &isnull);

		IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("unknown sku \"%s\"", sku ? sku : "(null)")));
		if (DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("sku \"%s\" is a kit: a purchase order buys its components", sku),
					 errdetail("A kit holds no stock of its own; it is assembled from its components when sold.")));
		lines[i].item_id = DatumGetInt64(item);
		lines[i].qty = IerpParseQuantity(SPI_getvalue(tup, desc, 2), sku);
		lines[i].unit_cost = SPI_getvalue(tup, desc, 3);
		if (lines[i].unit_cost != NULL && !IerpIsPrice(lines[i].unit_cost))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("invalid unit_cost \"%s\" for sku \"%s\"",
							strlen(lines[i].unit_cost) > 40 ? "(too long)" : lines[i].unit_cost, sku),
					 errdetail("A unit cost is a number >= 0 with at most 12 digits before the point and 2 after.")));
	}
	po_id = WritePo(supplier_id, node_id, PG_GETARG_DATUM(3), lines, (int) n);
	SPI_finish();
	PG_RETURN_INT64(po_id);
}

/* A purchase order line still open, locked. */
typedef struct OpenPoLine
{
	int64		line_id;
	int64		item_id;
	char	   *sku;
	bool		lot_tracked;
	bool		requires_qc;
	int64		outstanding;
} OpenPoLine;

/*
 * A receipt line {"scan": "<GS1 element string>", ...}: its sku, lot and
 * expiry become the scan's (Gs1ReceiptFromScan: IE004 for a scan that is not
 * GS1 or is malformed, or a sku, lot or expires_on given as well that
 * disagrees with it; IE003 for a GTIN no item has).
 */
static void
ReceiptLineFromScan(const char *scan, char **sku, char **lot, bool *has_expiry,
					DateADT *expires_on, int64 *units)
{
	Gs1Receipt	what;

	(void) Gs1ReceiptFromScanPacks(scan, true, *sku, *lot, *has_expiry, *expires_on, &what, units);
	*sku = pstrdup(what.sku);
	*lot = what.lot ? pstrdup(what.lot) : NULL;
	*has_expiry = what.has_expiry;
	*expires_on = what.expiry;
	IerpCheckText(*lot, "lot", IERP_MAX_KEY_LEN);
	if (*has_expiry)
		IerpCheckDate(*expires_on, "expires_on");
}

/*
 * A receipt line in packs: a GS1 "scan" whose AI 01 is a pack's GTIN
 * (units: the pack's, from ReceiptLineFromScan), or {"gtin": "<an item's or a pack's GTIN>"} names
 * the item (with a "sku" or "scan" as well: the same item, else IE007) and
 * counts qty in that pack's units; {"uom": "case"} counts qty in the
 * item's cases (erp.item_uom; IE003 for a pack the item has not; with a
 * pack's GTIN as well, the same pack, else IE004).  *sku becomes the item's
 * sku; returns the units one qty of the line stands for (1 for neither).
 */
static int64
ReceiptLinePacks(const char *gtin, const char *uom, char **sku, const OpenPoLine *open, int nopen, int64 po_id,
				 int64 units)
{
	int			k;

	if (gtin != NULL)
	{
		char	   *gtin_sku = NULL;
		int64		per = 1;

		(void) PackOfGtin(gtin, &gtin_sku, &per);
		if (*sku != NULL && strcmp(*sku, gtin_sku) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_SCAN_MISMATCH),
					 errmsg("GTIN \"%s\" is of sku \"%s\", but the receipt line of purchase order " INT64_FORMAT
							" names sku \"%s\"", gtin, gtin_sku, po_id, *sku),
					 errhint("Receive each item on its own line, by its sku or its GTIN.")));
		if (units != 1 && per != units)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("GTIN \"%s\" is a pack of " INT64_FORMAT " units of sku \"%s\", but the scan's is a pack of " INT64_FORMAT,
							gtin, per, gtin_sku, units),
					 errhint("Give the line a \"scan\" or a \"gtin\", not both.")));
		*sku = gtin_sku;
		units = per;
	}
	if (uom != NULL && *sku != NULL)
	{
		int64		per = 0;

		for (k = 0; k < nopen; k++)
			if (strcmp(open[k].sku, *sku) == 0)
			{
				per = PackUnitsOfUom(open[k].item_id, *sku, uom);
				break;
			}
		if (k == nopen)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("sku \"%s\" is not on purchase order " INT64_FORMAT, *sku, po_id)));
		if (units != 1 && per != units)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("the line's pack holds " INT64_FORMAT " units of sku \"%s\", but uom \"%s\" holds " INT64_FORMAT,
							units, *sku, uom, per),
					 errhint("Leave uom out when receiving by a pack's GTIN, or name that pack's uom.")));
		units = per;
	}
	return units;
}

/*
 * PurchaseOrderLock: a purchase order as a document of the skeleton: owned in
 * the global lock order first (its row lock then never waits for a session
 * that owns it), its row locked (NOWAIT when nowait), an unknown one refused
 * (IE003) and one at a node the session may not touch refused (IE009).
 * Returns its status (palloc'd in the SPI context: the caller is connected);
 * *node_id is its node.  Shared by receiving and landed costs.
 */
char *
PurchaseOrderLock(int64 po_id, bool nowait, int64 *node_id)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr wait_plan = NULL;
	SPIPlanPtr *plan = nowait ? &lock_plan : &wait_plan;
	bool		isnull;
	char	   *status;

	StockOwnDocument(STOCK_TAG_PURCHASE_ORDER, po_id, psprintf("purchase order " INT64_FORMAT, po_id));
	IerpPlan(plan, nowait
			 ? "SELECT node_id, status::text FROM erp.purchase_order WHERE purchase_order_id = $1 FOR UPDATE NOWAIT"
			 : "SELECT node_id, status::text FROM erp.purchase_order WHERE purchase_order_id = $1 FOR UPDATE",
			 1, id_types);
	if (SPI_execute_plan(*plan, (Datum[]) {Int64GetDatum(po_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock purchase order");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown purchase order " INT64_FORMAT, po_id)));
	*node_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	AccessCheckNode(*node_id);
	return status;
}

/*
 * erp.receive_po(po_id, lines): a delivery arrives.  Without lines,
 * everything outstanding (not for lot-tracked items: their lot is needed).
 * A line names its item by sku, or by a GS1 scan (ReceiptLineFromScan).
 */
static Datum
ierp_supply_receive_po_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr open_plan = NULL;
	static SPIPlanPtr recv_plan = NULL;
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr status_plan = NULL;
	int64		po_id = IerpIdArg(fcinfo, 0, "purchase order");
	int64		node_id;
	char	   *status;
	char	   *ref;
	OpenPoLine *open;
	int			nopen,
				k;
	uint64		i,
				n;
	bool		isnull;

	GovernanceCheckLines(fcinfo, 1, psprintf("a receipt of purchase order " INT64_FORMAT, po_id));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	status = PurchaseOrderLock(po_id, true, &node_id);
	if (strcmp(status, "open") != 0 && strcmp(status, "partially_received") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot receive purchase order " INT64_FORMAT ": it is %s", po_id, status)));
	ref = psprintf("po:" INT64_FORMAT, po_id);

	IerpPlan(&open_plan,
			 "SELECT l.purchase_order_line_id, l.item_id, i.sku, i.lot_tracked, i.requires_qc, l.qty - l.qty_received"
			 "  FROM erp.purchase_order_line l JOIN erp.item i ON i.item_id = l.item_id"
			 " WHERE l.purchase_order_id = $1 ORDER BY l.line_no",
			 1, id_types);
	if (SPI_execute_plan(open_plan, (Datum[]) {Int64GetDatum(po_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read purchase order lines");
	nopen = (int) SPI_processed;
	open = palloc0(sizeof(OpenPoLine) * Max(nopen, 1));
	for (k = 0; k < nopen; k++)
	{
		HeapTuple	tup = SPI_tuptable->vals[k];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		open[k].line_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		open[k].item_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		open[k].sku = SPI_getvalue(tup, desc, 3);
		open[k].lot_tracked = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		open[k].requires_qc = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		open[k].outstanding = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	}
	IerpPlan(&recv_plan,
			 "UPDATE erp.purchase_order_line SET qty_received = qty_received + $2 WHERE purchase_order_line_id = $1",
			 2, id_types);

	/* what arrived: the lines given, or everything outstanding */
	IerpPlan(&lines_plan,
			 "SELECT e.value->>'sku', e.value->>'qty', e.value->>'lot', e.value->>'expires_on', e.value->>'scan',"
			 "       e.value->>'uom', e.value->>'gtin'"
			 "  FROM jsonb_array_elements(CASE WHEN jsonb_typeof($1) = 'array' THEN $1 ELSE '[]' END) e(value)",
			 1, (Oid[]) {JSONBOID});
	if (PG_ARGISNULL(1))
		n = 0;
	else
	{
		if (SPI_execute_plan(lines_plan, (Datum[]) {PG_GETARG_DATUM(1)}, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read received lines");
		n = SPI_processed;
		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("a receipt of purchase order " INT64_FORMAT " needs at least one line", po_id)));
	}
	{
		SPITupleTable *tt = SPI_tuptable;
		uint64		count = PG_ARGISNULL(1) ? (uint64) nopen : n;
		MemoryContext caller_ctx = CurrentMemoryContext;
		MemoryContext line_ctx = AllocSetContextCreate(caller_ctx, "receive_po line", ALLOCSET_DEFAULT_SIZES);

		/* one line at a time: its own SPI level and memory, freed before the next */
		for (i = 0; i < count; i++)
		{
			char	   *sku,
					   *lot = NULL;
			int64		qty,
						left;
			bool		has_expiry = false;
			DateADT		expires_on = 0;
			bool		matched = false;

			if (PG_ARGISNULL(1) && open[i].outstanding == 0)
				continue;
			CHECK_FOR_INTERRUPTS();
			MemoryContextSwitchTo(line_ctx);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "inventory_erp: SPI_connect failed");
			if (PG_ARGISNULL(1))
			{
				sku = open[i].sku;
				qty = open[i].outstanding;
			}
			else
			{
				char	   *exp;
				char	   *scan;
				char	   *uom;
				char	   *gtin;
				int64		units = 1;

				sku = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
				lot = SPI_getvalue(tt->vals[i], tt->tupdesc, 3);
				exp = SPI_getvalue(tt->vals[i], tt->tupdesc, 4);
				scan = SPI_getvalue(tt->vals[i], tt->tupdesc, 5);
				uom = SPI_getvalue(tt->vals[i], tt->tupdesc, 6);
				gtin = SPI_getvalue(tt->vals[i], tt->tupdesc, 7);
				IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
				IerpCheckText(uom, "uom", IERP_MAX_KEY_LEN);
				IerpCheckText(gtin, "gtin", IERP_MAX_KEY_LEN);
				IerpCheckText(lot, "lot", IERP_MAX_KEY_LEN);
				if (exp != NULL)
				{
					IerpCheckText(exp, "expires_on", IERP_MAX_KEY_LEN);
					expires_on = IerpParseDate(exp, "expires_on");
					IerpCheckDate(expires_on, "expires_on");
					has_expiry = true;
				}
				if (scan != NULL)
					ReceiptLineFromScan(scan, &sku, &lot, &has_expiry, &expires_on, &units);
				units = ReceiptLinePacks(gtin, uom, &sku, open, nopen, po_id, units);
				if (sku == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_IERP_INVALID_QUANTITY),
							 errmsg("line %d of the receipt of purchase order " INT64_FORMAT " names no sku and no scan",
									(int) i + 1, po_id),
							 errhint("Give each line a \"sku\", a \"gtin\" or a GS1 \"scan\" (not null).")));
				qty = IerpParseQuantity(SPI_getvalue(tt->vals[i], tt->tupdesc, 2), sku);
				if (units != 1)
					qty = PackTotal(qty, units, sku, "a receipt");
			}
			left = qty;
			for (k = 0; k < nopen && left > 0; k++)
			{
				int64		part;
				StockState	to;

				if (sku == NULL || strcmp(open[k].sku, sku) != 0)
					continue;
				matched = true;
				part = Min(left, open[k].outstanding);
				if (part == 0)
					continue;
				to = open[k].requires_qc ? STATE_QUARANTINED : STATE_AVAILABLE;
				if (!open[k].lot_tracked && (lot != NULL || has_expiry))
					ereport(ERROR,
							(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
							 errmsg("sku \"%s\" is not lot-tracked, but a lot or expiry was given", sku),
							 errhint("Leave lot and expires_on out for this item.")));
				if (open[k].lot_tracked)
				{
					int64		lot_id;

					if (lot == NULL)
						ereport(ERROR,
								(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
								 errmsg("sku \"%s\" is lot-tracked: its receipt needs a lot", sku),
								 errhint("Pass [{\"sku\": \"%s\", \"qty\": " INT64_FORMAT ", \"lot\": \"...\", \"expires_on\": \"YYYY-MM-DD\"}].",
										 sku, part)));
					lot_id = IerpEnsureLot(open[k].item_id, sku, lot, expires_on, has_expiry);
					StockDocumentMove(ref, open[k].item_id, 0, part, node_id, STATE_INCOMING, 0, STATE_OUTSIDE,
							   "po_received", STOCK_TAKE_ALL);
					StockDocumentMove(ref, open[k].item_id, lot_id, part, 0, STATE_OUTSIDE, node_id, to, "receive", STOCK_TAKE_ALL);
				}
				else
					StockDocumentMove(ref, open[k].item_id, 0, part, node_id, STATE_INCOMING, node_id, to, "receive", STOCK_TAKE_ALL);
				if (SPI_execute_plan(recv_plan, (Datum[]) {Int64GetDatum(open[k].line_id), Int64GetDatum(part)},
									 NULL, false, 0) != SPI_OK_UPDATE)
					elog(ERROR, "inventory_erp: purchase order line update failed");
				open[k].outstanding -= part;
				left -= part;
			}
			if (!matched)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
						 errmsg("sku \"%s\" is not on purchase order " INT64_FORMAT, sku ? sku : "(null)", po_id)));
			if (left > 0)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_INVALID_QUANTITY),
						 errmsg("receipt of " INT64_FORMAT " of sku \"%s\" exceeds the " INT64_FORMAT
								" still due on purchase order " INT64_FORMAT, qty, sku, qty - left, po_id),
						 errdetail("Over-receipts are refused; receive the extra units with erp.receive().")));
			SPI_finish();
			MemoryContextSwitchTo(caller_ctx);
			MemoryContextReset(line_ctx);
		}
		MemoryContextDelete(line_ctx);
	}
	IerpPlan(&status_plan,
			 "UPDATE erp.purchase_order p SET status = s.status, received_at = s.received_at"
			 "  FROM (SELECT CASE WHEN sum(qty_received) = sum(qty) THEN 'received'::erp.po_status"
			 "                    ELSE 'partially_received'::erp.po_status END AS status,"
			 "               CASE WHEN sum(qty_received) = sum(qty) THEN pg_catalog.now() END AS received_at"
			 "          FROM erp.purchase_order_line WHERE purchase_order_id = $1) s"
			 " WHERE p.purchase_order_id = $1",
			 1, id_types);
	if (SPI_execute_plan(status_plan, (Datum[]) {Int64GetDatum(po_id)}, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: purchase order status update failed");
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * erp.delay_po(po_id, new_expected_at): the supplier will be late.  Emits
 * supplier_delay naming the orders now at risk: those waiting (backordered)
 * for an item of this purchase order.  Refuses: no or an unknown purchase
 * order (IE003), no date, an infinite date, one outside 1970..9999 or before
 * the purchase order was created (IE004), a partner at another node (IE009),
 * a purchase order no longer open (IE010).
 */
static Datum
ierp_supply_delay_po_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr plan = NULL;
	int64		po_id = IerpIdArg(fcinfo, 0, "purchase order");
	TimestampTz new_at;
	char	   *payload;
	char	   *status;
	bool		isnull;
	bool		too_early;
	int64		node_id;
	Datum		values[2];

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("delaying purchase order " INT64_FORMAT " needs the new expected date", po_id)));
	new_at = PG_GETARG_TIMESTAMPTZ(1);
	IerpCheckTimestamp(new_at, "new_expected_at");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	StockOwnDocument(STOCK_TAG_PURCHASE_ORDER, po_id, psprintf("purchase order " INT64_FORMAT, po_id));
	IerpPlan(&lock_plan,
			 "SELECT node_id, status::text, $2 < created_at, created_at::text FROM erp.purchase_order"
			 " WHERE purchase_order_id = $1 FOR UPDATE NOWAIT",
			 2, (Oid[]) {INT8OID, TIMESTAMPTZOID});
	values[0] = Int64GetDatum(po_id);
	values[1] = TimestampTzGetDatum(new_at);
	if (SPI_execute_plan(lock_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock purchase order");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown purchase order " INT64_FORMAT, po_id)));
	node_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	too_early = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	payload = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	AccessCheckNode(node_id);
	if (strcmp(status, "open") != 0 && strcmp(status, "partially_received") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot delay purchase order " INT64_FORMAT ": it is %s", po_id, status)));
	if (too_early)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("cannot delay purchase order " INT64_FORMAT " to before it was created (%s)", po_id, payload),
				 errdetail("A new expected date lies after the purchase order's creation.")));

	IerpPlan(&plan,
			 "WITH po AS (SELECT p.purchase_order_id, p.expected_at AS old_at, s.code AS supplier, n.code AS node"
			 "              FROM erp.purchase_order p JOIN erp.supplier s ON s.supplier_id = p.supplier_id"
			 "              JOIN erp.node n ON n.node_id = p.node_id"
			 "             WHERE p.purchase_order_id = $1),"
			 " moved AS (UPDATE erp.purchase_order p SET expected_at = $2"
			 "            WHERE p.purchase_order_id = $1 RETURNING p.purchase_order_id),"
			 " at_risk AS (SELECT DISTINCT o.order_id, o.external_ref, i.sku, ol.qty_backordered"
			 "               FROM erp.purchase_order_line pl"
			 "               JOIN erp.order_line ol ON ol.item_id = pl.item_id AND ol.qty_backordered > 0"
			 "               JOIN erp.sales_order o ON o.order_id = ol.order_id"
			 "               JOIN erp.item i ON i.item_id = ol.item_id"
			 "              WHERE pl.purchase_order_id = $1 AND pl.qty > pl.qty_received)"
			 " SELECT jsonb_build_object('po_id', po.purchase_order_id, 'supplier', po.supplier,"
			 "          'node', po.node, 'was_expected_at', po.old_at, 'expected_at', $2,"
			 "          'orders_at_risk', COALESCE((SELECT jsonb_agg(jsonb_build_object('order_id', a.order_id,"
			 "              'external_ref', a.external_ref, 'sku', a.sku, 'backordered', a.qty_backordered)"
			 "              ORDER BY a.order_id, a.sku) FROM at_risk a), '[]'::jsonb))::text"
			 "   FROM po, moved",
			 2, (Oid[]) {INT8OID, TIMESTAMPTZOID});
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot delay purchase order");
	payload = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	EventRecord("supplier_delay", 0, node_id, 0, 0, payload);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * erp.transfer(sku, from_node, to_node, qty, lot): available units leave for
 * another node; they are in transit there (inbound) until received.
 */
static Datum
ierp_supply_transfer_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *from = IerpTextArg(fcinfo, 1);
	char	   *to = IerpTextArg(fcinfo, 2);
	char	   *lot = IerpTextArg(fcinfo, 4);
	ItemInfo	item;
	int64		from_id,
				to_id,
				lot_id = 0,
				qty,
				transfer_id;
	bool		isnull;

	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(from, "from_node", IERP_MAX_KEY_LEN);
	IerpCheckText(to, "to_node", IERP_MAX_KEY_LEN);
	IerpCheckText(lot, "lot", IERP_MAX_KEY_LEN);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpLookupItem(sku, &item);
	from_id = IerpLookupNode(from);
	to_id = IerpLookupNode(to);
	/* the partner acts at the node the units leave: it may send them anywhere */
	AccessCheckNode(from_id);
	qty = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3);
	IerpCheckQuantity(qty, sku);
	if (from_id == to_id)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("a transfer of sku \"%s\" needs two different nodes, not \"%s\" twice", sku, from)));
	if (item.lot_tracked != (lot != NULL))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg(item.lot_tracked ? "sku \"%s\" is lot-tracked: a transfer needs its lot"
						: "sku \"%s\" is not lot-tracked, but a lot was given", sku)));
	if (lot)
		lot_id = IerpLookupLot(item.item_id, sku, lot);
	IerpPlan(&plan,
			 "INSERT INTO erp.transfer (item_id, lot_id, from_node_id, to_node_id, qty)"
			 " VALUES ($1, NULLIF($2, 0), $3, $4, $5) RETURNING transfer_id",
			 5, (Oid[]) {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item.item_id), Int64GetDatum(lot_id), Int64GetDatum(from_id),
						 Int64GetDatum(to_id), Int64GetDatum(qty)}, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inventory_erp: transfer insert failed");
	transfer_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	StockDocumentMove(psprintf("transfer:" INT64_FORMAT, transfer_id), item.item_id, lot_id, qty, from_id,
			   STATE_AVAILABLE, to_id, STATE_IN_TRANSIT, "transfer_out", STOCK_TAKE_ALL);
	SPI_finish();
	PG_RETURN_INT64(transfer_id);
}

/* erp.receive_transfer(transfer_id): the units arrived and are available there. */
static Datum
ierp_supply_receive_transfer_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr done_plan = NULL;
	static SPIPlanPtr item_plan = NULL;
	int64		transfer_id = IerpIdArg(fcinfo, 0, "transfer");
	int64		transfer_item_id;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *status;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	/* the one lookup by the document id: which item the transfer is of */
	IerpPlan(&item_plan, "SELECT item_id FROM erp.transfer WHERE transfer_id = $1", 1, id_types);
	if (SPI_execute_plan(item_plan, (Datum[]) {Int64GetDatum(transfer_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read transfer");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown transfer " INT64_FORMAT, transfer_id)));
	transfer_item_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	/* own the transfer in the global lock order first: its row lock then never waits for us */
	StockOwnDocument(STOCK_TAG_TRANSFER, transfer_id, psprintf("transfer " INT64_FORMAT, transfer_id));
	IerpPlan(&plan,
			 "SELECT item_id, COALESCE(lot_id, 0), to_node_id, qty, status::text FROM erp.transfer"
			 " WHERE item_id = $1 AND transfer_id = $2 FOR UPDATE NOWAIT",
			 2, id_types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(transfer_item_id), Int64GetDatum(transfer_id)},
						 NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock transfer");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown transfer " INT64_FORMAT, transfer_id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	status = SPI_getvalue(tup, desc, 5);
	{
		int64		to_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));

		/* the receipt happens at the node the units arrive at; the check runs queries of its own */
		tup = SPI_copytuple(tup);
		AccessCheckNode(to_id);
	}
	if (strcmp(status, "in_transit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("transfer " INT64_FORMAT " was received already", transfer_id)));
	{
		int64		item_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		int64		lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		int64		node_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		int64		qty = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));

		StockDocumentMove(psprintf("transfer:" INT64_FORMAT, transfer_id), item_id, lot_id, qty, node_id,
				   STATE_IN_TRANSIT, node_id, STATE_AVAILABLE, "transfer_in", STOCK_TAKE_ALL);
	}
	IerpPlan(&done_plan,
			 "UPDATE erp.transfer SET status = 'received', received_at = pg_catalog.now()"
			 " WHERE item_id = $1 AND transfer_id = $2",
			 2, id_types);
	if (SPI_execute_plan(done_plan, (Datum[]) {Int64GetDatum(transfer_item_id), Int64GetDatum(transfer_id)},
						 NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: transfer update failed");
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * erp.create_replenishment_pos(): one purchase order per supplier and node
 * for every suggestion of erp.replenishment (suggested_qty > 0, a supplier
 * known), expected after the lead time.  Returns how many were created.  A
 * partner orders for its own nodes only.  Each purchase order is written in
 * its own SPI connection, so that memory stays flat however many there are.
 */
static Datum
ierp_supply_create_replenishment_pos_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	uint64		i,
				n;
	int32		created = 0;
	SPITupleTable *tt;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&plan,
			 "SELECT p.supplier_id, r.node_id, max(r.lead_time_days),"
			 "       array_agg(r.item_id ORDER BY r.item_id), array_agg(r.suggested_qty ORDER BY r.item_id)"
			 "  FROM erp.replenishment r"
			 "  JOIN erp.stock_policy p ON p.item_id = r.item_id AND p.node_id = r.node_id"
			 " WHERE r.suggested_qty > 0 AND p.supplier_id IS NOT NULL"
			 " GROUP BY p.supplier_id, r.node_id ORDER BY p.supplier_id, r.node_id",
			 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read replenishment suggestions");
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		int64		supplier_id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		int64		node_id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		Datum		lead_d = SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull);
		int64		lead = isnull ? 0 : (int64) DatumGetInt32(lead_d);
		ArrayType  *items;
		ArrayType  *qtys;
		Datum	   *item_d,
				   *qty_d;
		int			nitems,
					nqtys,
					k;
		PoLine	   *lines;
		TimestampTz expected;

		if (!AccessNodeVisible(node_id))
			continue;
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		/* a lead time of 0 to 10 years; beyond, the date would not be a date */
		if (lead < 0 || lead > 3650)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("invalid lead time of " INT64_FORMAT " days for node \"%s\"", lead, IerpNodeCode(node_id)),
					 errdetail("Lead times in erp.stock_policy lie between 0 and 3650 days.")));
		expected = GetCurrentTransactionStartTimestamp() + lead * USECS_PER_DAY;
		items = DatumGetArrayTypeP(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
		qtys = DatumGetArrayTypeP(SPI_getbinval(tt->vals[i], tt->tupdesc, 5, &isnull));
		deconstruct_array(items, INT8OID, 8, true, TYPALIGN_DOUBLE, &item_d, NULL, &nitems);
		deconstruct_array(qtys, INT8OID, 8, true, TYPALIGN_DOUBLE, &qty_d, NULL, &nqtys);
		Assert(nitems == nqtys);
		lines = palloc0(sizeof(PoLine) * Max(Min(nitems, nqtys), 1));
		for (k = 0; k < nitems && k < nqtys; k++)
		{
			lines[k].item_id = DatumGetInt64(item_d[k]);
			lines[k].qty = DatumGetInt64(qty_d[k]);
			IerpCheckQuantity(lines[k].qty, IerpItemSku(lines[k].item_id));
		}
		WritePo(supplier_id, node_id, TimestampTzGetDatum(expected), lines, Min(nitems, nqtys));
		SPI_finish();
		created++;
	}
	SPI_finish();
	PG_RETURN_INT32(created);
}
