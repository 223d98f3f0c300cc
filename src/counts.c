/*-------------------------------------------------------------------------
 *
 * counts.c
 *	  Cycle counts and the adjustments they cause, with approval: a count
 *	  records what the books said and what was found; a variance whose value
 *	  (|units| x unit_cost, or unit_price without a cost) is within the 'adjustment' threshold of
 *	  erp.approval_policy is adjusted at once, a larger one waits for a
 *	  member of erp_approver.
 *
 *	  erp.adjust records the same kind of adjustment by hand, under the same
 *	  threshold; CountsCheckDirectAdjustment is that threshold for the other
 *	  paths that change on-hand outside a document (erp.move, erp.receive).
 *	  A short pick's write-off (orders.c) is recorded here as an adjustment
 *	  too (CountsWriteOffWaits, CountsRecordShortPick, counts.h): above the
 *	  threshold its units wait in quarantined, and approving it writes them
 *	  off from there (erp.adjustment.from_state).
 *	  erp.count_bin counts one bin of a node: its adjustment names the bin
 *	  (erp.adjustment.bin_id) and is applied to exactly that bin, at once or
 *	  at approval.  A count may be in packs: a pack's GTIN as the sku, or a
 *	  uom (erp.count_bin), multiplies counted by the pack's units.
 *	  Four eyes: the person who counted or adjusted (created_by, the login
 *	  as IerpActorName gives it) never approves the adjustment.
 *
 *	  Refuses: no or an unknown sku, node, lot, bin, uom or adjustment
 *	  (IE003), a count below 0 or above 1,000,000,000 (units, or packs x
 *	  units), no bin at erp.count_bin, a uom that disagrees with the pack's
 *	  GTIN counted, an adjustment of 0 or more than 1,000,000,000 units, a
 *	  value beyond numeric(14,2), no reason, texts too long (IE004), an
 *	  approval by a role outside erp_approver or by the adjustment's
 *	  creator, a partner at another node (IE009), approving an adjustment
 *	  that is not waiting, units found in an inactive bin (IE010), and - as
 *	  any move - writing off more than is there when it is applied (IE001).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "ierp.h"
#include "stock/kernel.h"
#include "bins.h"
#include "counts.h"
#include "governance.h"
#include "pick_scan.h"

IERP_OWNER_ENTRY(ierp_counts_count);
IERP_OWNER_ENTRY(ierp_counts_count_bin);
IERP_OWNER_ENTRY(ierp_counts_adjust);
IERP_OWNER_ENTRY(ierp_counts_approve_adjustment);

/* Adjustments up to this value need no approver when erp.approval_policy says nothing. */
#define DEFAULT_ADJUSTMENT_AUTO_LIMIT "100.00"

/* The adjustment threshold, as SQL: the policy's value, or the default. */
#define ADJUSTMENT_LIMIT_SQL \
	"COALESCE((SELECT p.max_auto_value FROM erp.approval_policy p WHERE p.kind = 'adjustment'), " \
	DEFAULT_ADJUSTMENT_AUTO_LIMIT ")"

/* The most units one adjustment or count may concern (as one move may move). */
#define MAX_ADJUST_QTY	INT64CONST(1000000000)

/* Values are numeric(14,2): an adjustment is worth less than this. */
#define MAX_VALUE_SQL	"1000000000000"

/* Refuses (IE004) an adjustment of more units than one move may move. */
static void
CheckDelta(int64 qty_delta, const char *sku)
{
	if (qty_delta == 0 || qty_delta < -MAX_ADJUST_QTY || qty_delta > MAX_ADJUST_QTY)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid adjustment of " INT64_FORMAT " units of sku \"%s\"", qty_delta, sku ? sku : "?"),
				 errdetail("An adjustment adds or writes off 1 to " INT64_FORMAT " units.", MAX_ADJUST_QTY)));
}

/*
 * The value of |$2| units of the item i, in numeric (no overflow whatever the
 * cost): at its unit cost, or its unit price for an item without a cost.
 */
#define VALUE_SQL \
	"round(abs($2::numeric) * CASE WHEN i.unit_cost > 0 THEN i.unit_cost ELSE i.unit_price END, 2)"

/*
 * Values |qty_delta| units of an item (VALUE_SQL); fills the value and the
 * threshold as text and returns whether the value is above the threshold.  A
 * value beyond what numeric(14,2) holds: IE004.
 */
static bool
AdjustmentValue(int64 item_id, int64 qty_delta, const char *sku, char **value, char **limit)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;

	/*
	 * The threshold holds for what one person changes of an item without an
	 * approver over a day, not for each piece: the value of this change plus
	 * that of the same person's adjustments of the item applied without an
	 * approver in the last 24 hours (five write-offs of 2 units are one of 10).
	 */
	IerpPlan(&plan,
			 "SELECT v.value::text, v.value + p.prior > " ADJUSTMENT_LIMIT_SQL ", " ADJUSTMENT_LIMIT_SQL "::text,"
			 "       v.value >= " MAX_VALUE_SQL
			 "  FROM erp.item i, LATERAL (SELECT " VALUE_SQL " AS value) v,"
			 "       LATERAL (SELECT COALESCE(sum(a.value), 0) AS prior FROM erp.adjustment a"
			 "                 WHERE a.item_id = $1 AND a.created_by = $3"
			 "                   AND a.created_at > pg_catalog.now() - interval '24 hours'"
			 "                   AND a.status = 'applied' AND a.decided_by IS NULL) p"
			 " WHERE i.item_id = $1",
			 3, (Oid[]) {INT8OID, INT8OID, TEXTOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(qty_delta),
						 CStringGetTextDatum(IerpActorName())},
						 NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot value an adjustment");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	*value = SPI_getvalue(tup, desc, 1);
	*limit = SPI_getvalue(tup, desc, 3);
	if (DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("adjustment of " INT64_FORMAT " units of sku \"%s\" worth %s is beyond the largest value",
						qty_delta, sku ? sku : "?", *value),
				 errdetail("Values are numeric(14,2): below 1,000,000,000,000.")));
	return DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
}

/*
 * CountsCheckDirectAdjustment: the threshold for every on-hand change made
 * outside a document: refuses (IE009) when |qty_delta| x unit_cost (or
 * unit_price for an item without a cost) is above
 * the 'adjustment' threshold of erp.approval_policy, unless the session is a
 * superuser's (which no rule inside the database can hold anyway).  More
 * units than one move may move, or a value numeric(14,2) cannot hold: IE004.
 * The value is computed in numeric, so no quantity or cost overflows it.
 */
void
CountsCheckDirectAdjustment(int64 item_id, int64 qty_delta, const char *sku)
{
	char	   *value;
	char	   *limit;

	CheckDelta(qty_delta, sku);
	if (superuser_arg(IerpSessionIdentity()))
		return;
	if (!AdjustmentValue(item_id, qty_delta, sku, &value, &limit))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
			 errmsg("adjustment of " INT64_FORMAT " units of sku \"%s\" worth %s needs approval",
					qty_delta, sku ? sku : "?", value),
			 errdetail("On-hand changes outside a document above %s need an approver.", limit),
			 errhint("Record it with erp.count or erp.adjust; an erp_approver other than you applies it.")));
}

/*
 * Applies an adjustment of qty_delta units: adjust in to available, or out of
 * from (available, or quarantined for a short pick's write-off).  bin_id 0:
 * the node's stock (a count of the stock outside bins, erp.adjust); else
 * exactly that bin (a count of the bin, erp.count_bin).
 */
static int64
ApplyAdjustment(int64 adjustment_id, int64 item_id, int64 node_id, int64 bin_id, int64 lot_id,
				int64 qty_delta, StockState from)
{
	StockMove	m;

	if (bin_id == 0)
		return StockDocumentMove(psprintf("adjustment:" INT64_FORMAT, adjustment_id), item_id, lot_id,
								  qty_delta > 0 ? qty_delta : -qty_delta,
								  node_id, qty_delta > 0 ? STATE_OUTSIDE : from,
								  node_id, qty_delta > 0 ? STATE_AVAILABLE : STATE_OUTSIDE, "adjust", STOCK_TAKE_ALL);
	memset(&m, 0, sizeof(m));
	m.item_id = item_id;
	m.lot_id = lot_id;
	m.qty = qty_delta > 0 ? qty_delta : -qty_delta;
	m.from_node_id = m.to_node_id = node_id;
	m.from_state = qty_delta > 0 ? STATE_OUTSIDE : from;
	m.to_state = qty_delta > 0 ? STATE_AVAILABLE : STATE_OUTSIDE;
	m.from_bin_id = qty_delta > 0 ? 0 : bin_id;
	m.to_bin_id = qty_delta > 0 ? bin_id : 0;
	m.event = "adjust";
	m.ref = psprintf("adjustment:" INT64_FORMAT, adjustment_id);
	m.take = STOCK_TAKE_ALL;
	m.exact_bin = true;
	StockApply(&m, 1, STOCK_DOCUMENT);
	return m.move_id;
}

/*
 * Inserts an adjustment row: applied (decided now, by move_id when known) or
 * pending_approval; from_state is the state it writes off from.  Returns its id.
 */
static int64
AdjustmentInsert(int64 item_id, int64 node_id, int64 bin_id, int64 lot_id, int64 qty_delta, const char *value,
				 const char *reason, bool waits, const char *from_state, int64 move_id)
{
	static SPIPlanPtr adj_plan = NULL;
	bool		isnull;

	IerpPlan(&adj_plan,
			 "INSERT INTO erp.adjustment (item_id, node_id, lot_id, qty_delta, value, reason, status, created_by,"
			 "                            decided_at, move_id, from_state, bin_id)"
			 " VALUES ($1, $2, NULLIF($3, 0), $4, $5::numeric, $6,"
			 "         CASE WHEN $7 THEN 'pending_approval' ELSE 'applied' END::erp.adjustment_status, $8,"
			 "         CASE WHEN NOT $7 AND $9 <> 0 THEN pg_catalog.now() END, NULLIF($9, 0), $10::erp.stock_state,"
			 "         NULLIF($11, 0))"
			 " RETURNING adjustment_id",
			 11, (Oid[]) {INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID, BOOLOID, TEXTOID, INT8OID, TEXTOID,
			 INT8OID});
	if (SPI_execute_plan(adj_plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id),
						 Int64GetDatum(lot_id), Int64GetDatum(qty_delta), CStringGetTextDatum(value),
						 CStringGetTextDatum(reason), BoolGetDatum(waits), CStringGetTextDatum(IerpActorName()),
						 Int64GetDatum(move_id), CStringGetTextDatum(from_state), Int64GetDatum(bin_id)},
						 NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inventory_erp: adjustment insert failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* The adjustment_approval_needed event of a waiting adjustment. */
static void
AdjustmentWaits(int64 adjustment_id, int64 item_id, const char *sku, int64 node_id, const char *node,
				int64 qty_delta, const char *value, const char *reason)
{
	EventRecord("adjustment_approval_needed", item_id, node_id, 0, 0,
				psprintf("{\"adjustment_id\": " INT64_FORMAT ", \"sku\": %s, \"node\": %s,"
						 " \"qty_delta\": " INT64_FORMAT ", \"value\": %s, \"reason\": %s}",
						 adjustment_id, IerpJsonQuote(sku), IerpJsonQuote(node), qty_delta,
						 value, IerpJsonQuote(reason)));
}

/*
 * Records an adjustment of qty_delta available units created by the session's
 * person: applied at once when its value is within the threshold, else
 * pending_approval with an adjustment_approval_needed event.  Returns its id.
 */
static int64
AdjustmentCreate(int64 item_id, const char *sku, int64 node_id, const char *node, int64 bin_id, int64 lot_id,
				 int64 qty_delta, const char *reason)
{
	static SPIPlanPtr applied_plan = NULL;
	char	   *value;
	char	   *limit;
	bool		waits;
	int64		adjustment_id;

	CheckDelta(qty_delta, sku);
	waits = AdjustmentValue(item_id, qty_delta, sku, &value, &limit);
	adjustment_id = AdjustmentInsert(item_id, node_id, bin_id, lot_id, qty_delta, value, reason, waits, "available", 0);
	if (!waits)
	{
		int64		move_id = ApplyAdjustment(adjustment_id, item_id, node_id, bin_id, lot_id, qty_delta,
											  STATE_AVAILABLE);

		IerpPlan(&applied_plan,
				 "UPDATE erp.adjustment SET move_id = $3, decided_at = pg_catalog.now()"
				 " WHERE item_id = $1 AND adjustment_id = $2",
				 3, (Oid[]) {INT8OID, INT8OID, INT8OID});
		if (SPI_execute_plan(applied_plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(adjustment_id),
							 Int64GetDatum(move_id)},
							 NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "inventory_erp: adjustment update failed");
	}
	else
		AdjustmentWaits(adjustment_id, item_id, sku, node_id, node, qty_delta, value, reason);
	return adjustment_id;
}

/*
 * CountsWriteOffWaits: whether writing off qty units of an item needs an
 * approver, valued as erp.adjust values it (no session is exempt: a short
 * pick records its write-off as erp.adjust records one).
 */
bool
CountsWriteOffWaits(int64 item_id, int64 qty, const char *sku)
{
	char	   *value;
	char	   *limit;

	CheckDelta(-qty, sku);
	return AdjustmentValue(item_id, -qty, sku, &value, &limit);
}

/*
 * CountsRecordShortPick: a short pick's write-off of qty units as an
 * adjustment (reason 'short_pick'): applied by the order's move move_id, or,
 * when move_id is 0, pending_approval against the units the short pick put
 * in quarantined (on hand, not promisable) until an approver other than the
 * picker writes them off (erp.approve_adjustment).
 */
int64
CountsRecordShortPick(int64 item_id, const char *sku, int64 node_id, int64 lot_id, int64 qty, int64 move_id)
{
	static SPIPlanPtr value_plan = NULL;
	char	   *value;
	int64		adjustment_id;

	/*
	 * Only the part's value: the caller decided with CountsWriteOffWaits,
	 * once for the whole write-off, whether it waits for an approver (and the
	 * whole's value, not above numeric(14,2), bounds each part's).
	 */
	CheckDelta(-qty, sku);
	IerpPlan(&value_plan,
			 "SELECT " VALUE_SQL "::text FROM erp.item i WHERE i.item_id = $1",
			 2, (Oid[]) {INT8OID, INT8OID});
	if (SPI_execute_plan(value_plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(qty)},
						 NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot value an adjustment");
	value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	adjustment_id = AdjustmentInsert(item_id, node_id, 0, lot_id, -qty, value, "short_pick", move_id == 0,
									 move_id == 0 ? "quarantined" : "reserved", move_id);
	if (move_id == 0)
		AdjustmentWaits(adjustment_id, item_id, sku, node_id, IerpNodeCode(node_id), -qty, value, "short_pick");
	return adjustment_id;
}

/* Looks up the lot of a count or adjustment; a lot exactly when the item is lot-tracked (IE003). */
static int64
CountsLot(const ItemInfo *item, const char *sku, const char *lot, const char *what)
{
	if (item->lot_tracked != (lot != NULL))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 item->lot_tracked ? errmsg("sku \"%s\" is lot-tracked: %s names its lot", sku, what)
				 : errmsg("sku \"%s\" is not lot-tracked, but a lot was given", sku)));
	return lot ? IerpLookupLot(item->item_id, sku, lot) : 0;
}

static int64 CountsItem(char **sku, const char *uom, ItemInfo *item);

/*
 * The common start of erp.count, erp.count_bin and erp.adjust: bounds the
 * texts (reason only when given: NULL for a count), connects to SPI, looks
 * up the item and the node and checks the session may act at the node.
 * With units (a count), *sku may also be a GTIN and the count may be in
 * packs: *units gets the units per counted thing (CountsItem).  Returns
 * the node id.
 */
static int64
CountsOpen(char **sku, const char *node, const char *lot, const char *reason, const char *uom,
		   ItemInfo *item, int64 *units)
{
	int64		node_id;

	IerpCheckText(*sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(node, "node", IERP_MAX_KEY_LEN);
	IerpCheckText(lot, "lot", IERP_MAX_KEY_LEN);
	IerpCheckText(reason, "reason", IERP_MAX_TEXT_LEN);
	IerpCheckText(uom, "uom", IERP_MAX_KEY_LEN);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (units != NULL)
		*units = CountsItem(sku, uom, item);
	else
		IerpLookupItem(*sku, item);
	node_id = IerpLookupNode(node);
	AccessCheckNode(node_id);
	return node_id;
}

/*
 * What a count names as its item: a sku, or a GTIN (an item's own: counted
 * counts units; a pack's, erp.item_uom: counted counts packs); and the
 * units one counted thing holds: the pack's, or those of uom when given
 * (which must agree with a pack's GTIN: IE004).  Fills *item and returns
 * the units per counted thing; *sku becomes the item's sku.
 */
static int64
CountsItem(char **sku, const char *uom, ItemInfo *item)
{
	PickScan	ps;
	int64		units = 1;

	if (*sku != NULL)
		PickScanRead(*sku, &ps);
	if (*sku != NULL && ps.item_id != 0 && ps.gs1_result == GS1_NOT_GS1)
	{
		*sku = ps.sku;
		units = ps.units;
	}
	IerpLookupItem(*sku, item);
	if (uom != NULL)
	{
		int64		per = PackUnitsOfUom(item->item_id, *sku, uom);

		if (units != 1 && per != units)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("the GTIN counted is a pack of " INT64_FORMAT " units of sku \"%s\", but uom \"%s\" holds " INT64_FORMAT,
							units, *sku, uom, per),
					 errhint("Leave uom out when counting by a pack's GTIN, or name that pack's uom.")));
		units = per;
	}
	return units;
}

/*
 * A cycle count of the available units of sku at node: in bin (a code of
 * the node's bins) when bin is given, else of the stock outside bins; lot,
 * uom as erp.count_bin.  counted is in packs of uom (or of the pack whose
 * GTIN names the item), units otherwise.  Returns the cycle count id.
 */
static int64
CountsCount(FunctionCallInfo fcinfo, char *sku, const char *node, const char *bin, bool counted_null,
			int64 counted_packs, const char *lot, const char *uom)
{
	static SPIPlanPtr count_plan = NULL;
	ItemInfo	item;
	int64		node_id,
				bin_id = 0,
				lot_id,
				units,
				counted,
				system_qty,
				variance,
				adjustment_id = 0,
				count_id;
	char	   *actor = IerpActorName();
	bool		isnull;

	node_id = CountsOpen(&sku, node, lot, NULL, uom, &item, &units);
	if (counted_null)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no count given for sku \"%s\"", sku)));
	if (counted_packs < 0 || counted_packs > MAX_ADJUST_QTY)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid count " INT64_FORMAT " for sku \"%s\"", counted_packs, sku),
				 errdetail("A count is a number of units found, 0 to " INT64_FORMAT ".", MAX_ADJUST_QTY)));
	counted = PackTotal(counted_packs, units, sku, "a count");
	if (item.is_kit)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("sku \"%s\" is a kit: count its components", sku),
				 errdetail("A kit holds no stock of its own.")));
	lot_id = CountsLot(&item, sku, lot, "a count");
	/* owned, so that a second count of the same balance (or a pick from the bin) waits and sees this one's result */
	if (bin != NULL)
	{
		bin_id = BinsLookup(node_id, bin, NULL, false);
		system_qty = StockOwnBinBalance(item.item_id, node_id, bin_id, lot_id, STATE_AVAILABLE);
	}
	else
		system_qty = StockOwnBalance(item.item_id, node_id, lot_id, STATE_AVAILABLE);
	variance = counted - system_qty;

	/*
	 * the adjustment: at once when its value is within the threshold.  A
	 * bin's count records the clock time: it satisfies the bin's flags for
	 * a count raised before it (erp.bin_count_worklist), even in its own
	 * transaction.
	 */
	if (variance != 0)
		adjustment_id = AdjustmentCreate(item.item_id, sku, node_id, node, bin_id, lot_id, variance, "cycle_count");

	IerpPlan(&count_plan,
			 "INSERT INTO erp.cycle_count (item_id, node_id, lot_id, system_qty, counted_qty, unit_cost,"
			 "                             counted_by, adjustment_id, bin_id, counted_at)"
			 " SELECT $1, $2, NULLIF($3, 0), $4, $5, i.unit_cost, $6, NULLIF($7, 0), NULLIF($8, 0),"
			 "        CASE WHEN $8 <> 0 THEN pg_catalog.clock_timestamp() ELSE pg_catalog.now() END"
			 "   FROM erp.item i WHERE i.item_id = $1 RETURNING cycle_count_id",
			 8, (Oid[]) {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID});
	if (SPI_execute_plan(count_plan, (Datum[]) {Int64GetDatum(item.item_id), Int64GetDatum(node_id),
						 Int64GetDatum(lot_id), Int64GetDatum(system_qty), Int64GetDatum(counted),
						 CStringGetTextDatum(actor), Int64GetDatum(adjustment_id), Int64GetDatum(bin_id)},
						 NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inventory_erp: cycle count insert failed");
	count_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return count_id;
}

/*
 * erp.count(sku, node, counted, lot): a cycle count of the available units
 * (outside bins at a node with bins).  sku may be a pack's GTIN: counted
 * then counts packs.  Returns the cycle count id.  A count below 0 or
 * above the most units one move may move: IE004; a kit (no stock of its
 * own): IE010.
 */
static Datum
ierp_counts_count_body(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(CountsCount(fcinfo, IerpTextArg(fcinfo, 0), IerpTextArg(fcinfo, 1), NULL, PG_ARGISNULL(2),
								PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2), IerpTextArg(fcinfo, 3), NULL));
}

/*
 * erp.count_bin(sku, node, bin, counted, lot, uom): a cycle count of the
 * available units in one bin of node; the variance is adjusted (or waits
 * for an approver) in that bin.  counted counts packs of uom (or of the
 * pack whose GTIN is sku), units otherwise.  Also refuses: no bin, a bin
 * not of node (IE003, as an unknown one), a uom the item has no pack of
 * (IE003), packs x units beyond one move (IE004).
 */
static Datum
ierp_counts_count_bin_body(PG_FUNCTION_ARGS)
{
	char	   *bin = IerpTextArg(fcinfo, 2);

	if (bin == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no bin given for the count"),
				 errhint("Count the stock outside bins with erp.count().")));
	PG_RETURN_INT64(CountsCount(fcinfo, IerpTextArg(fcinfo, 0), IerpTextArg(fcinfo, 1), bin, PG_ARGISNULL(3),
								PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3), IerpTextArg(fcinfo, 4),
								IerpTextArg(fcinfo, 5)));
}

/*
 * erp.adjust(sku, node, qty_delta, reason, lot): a correction of available
 * stock outside a count (found units, damage written off, shrinkage):
 * applied at once when its value is within the adjustment threshold, else
 * pending_approval until an approver other than its creator applies it.
 * Returns the adjustment id.  Refuses: no or an unknown sku, node or lot
 * (IE003), a delta of 0 or beyond the most units one move may move, no or
 * an over-long reason (IE004), a partner at another node (IE009), a kit
 * (IE010, as erp.receive: a kit holds no stock of its own); writing off more
 * than is available, when applied (IE001).
 */
static Datum
ierp_counts_adjust_body(PG_FUNCTION_ARGS)
{
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	char	   *reason = IerpTextArg(fcinfo, 3);
	char	   *lot = IerpTextArg(fcinfo, 4);
	ItemInfo	item;
	int64		node_id,
				lot_id,
				qty_delta,
				adjustment_id;

	node_id = CountsOpen(&sku, node, lot, reason, NULL, &item, NULL);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no quantity given for the adjustment of sku \"%s\"", sku)));
	qty_delta = PG_GETARG_INT64(2);
	CheckDelta(qty_delta, sku);
	if (reason == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("an adjustment of sku \"%s\" at node \"%s\" needs a reason", sku, node),
				 errhint("Say why, e.g. 'damaged in storage' or 'found during putaway'.")));
	if (item.is_kit)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("sku \"%s\" is a kit: adjust its components", sku),
				 errdetail("A kit holds no stock of its own.")));
	lot_id = CountsLot(&item, sku, lot, "an adjustment");
	adjustment_id = AdjustmentCreate(item.item_id, sku, node_id, node, 0, lot_id, qty_delta, reason);
	SPI_finish();
	PG_RETURN_INT64(adjustment_id);
}

/*
 * erp.approve_adjustment(adjustment_id): an approver applies a waiting
 * adjustment.  Refuses: no or an unknown id (IE003), anyone outside
 * erp_approver, the person who created the adjustment (four eyes), a partner
 * at another node (IE009), an adjustment not waiting (IE010).
 */
static Datum
ierp_counts_approve_adjustment_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr item_plan = NULL;
	static SPIPlanPtr lock_plan = NULL;
	static SPIPlanPtr done_plan = NULL;
	Oid			caller = GetOuterUserId();
	char	   *actor = IerpActorName();
	int64		adjustment_id,
				item_id,
				node_id,
				lot_id,
				bin_id,
				qty_delta;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *status;
	char	   *created_by;
	int64		move_id;
	StockState	from;

	adjustment_id = IerpIdArg(fcinfo, 0, "adjustment");
	if (!has_privs_of_role(caller, get_role_oid("erp_approver", false)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 errmsg("role \"%s\" may not approve adjustments", GetUserNameFromId(caller, false)),
				 errdetail("Adjustments above the approval threshold are applied by members of erp_approver."),
				 errhint("Ask an approver, or GRANT erp_approver TO the role that approves.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	/* the one lookup by the document id: which item the adjustment is of */
	IerpPlan(&item_plan, "SELECT item_id FROM erp.adjustment WHERE adjustment_id = $1",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(item_plan, (Datum[]) {Int64GetDatum(adjustment_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read adjustment");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown adjustment " INT64_FORMAT, adjustment_id)));
	item_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	/* own the adjustment in the global lock order first: its row lock then never waits for us */
	StockOwnDocument(STOCK_TAG_ADJUSTMENT, adjustment_id, psprintf("adjustment " INT64_FORMAT, adjustment_id));
	IerpPlan(&lock_plan,
			 "SELECT item_id, node_id, COALESCE(lot_id, 0), qty_delta, status::text, created_by::text,"
			 "       from_state = 'quarantined', COALESCE(bin_id, 0)"
			 "  FROM erp.adjustment WHERE item_id = $1 AND adjustment_id = $2 FOR UPDATE NOWAIT",
			 2, (Oid[]) {INT8OID, INT8OID});
	if (SPI_execute_plan(lock_plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(adjustment_id)},
						 NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock adjustment");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown adjustment " INT64_FORMAT, adjustment_id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	item_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	node_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	qty_delta = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	status = SPI_getvalue(tup, desc, 5);
	created_by = SPI_getvalue(tup, desc, 6);
	from = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull)) ? STATE_QUARANTINED : STATE_AVAILABLE;
	bin_id = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
	AccessCheckNode(node_id);
	if (strcmp(status, "pending_approval") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("adjustment " INT64_FORMAT " is %s, not pending approval", adjustment_id, status)));
	if (GovernanceSamePerson(created_by, actor))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 strcmp(created_by, actor) == 0
				 ? errmsg("role \"%s\" may not approve adjustment " INT64_FORMAT ": it created it", actor, adjustment_id)
				 : errmsg("role \"%s\" may not approve adjustment " INT64_FORMAT ": role \"%s\" created it and one is a member of the other",
						  actor, adjustment_id, created_by),
				 errdetail("Four eyes: the person who counted or adjusted never approves the adjustment, nor does a role that may act as that person or as which that person may act."),
				 errhint("Ask another member of erp_approver.")));
	move_id = ApplyAdjustment(adjustment_id, item_id, node_id, bin_id, lot_id, qty_delta, from);
	IerpPlan(&done_plan,
			 "UPDATE erp.adjustment SET status = 'applied', decided_at = pg_catalog.now(), decided_by = $3,"
			 "       move_id = $4 WHERE item_id = $1 AND adjustment_id = $2",
			 4, (Oid[]) {INT8OID, INT8OID, TEXTOID, INT8OID});
	if (SPI_execute_plan(done_plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(adjustment_id),
						 CStringGetTextDatum(actor), Int64GetDatum(move_id)},
						 NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: adjustment update failed");
	SPI_finish();
	PG_RETURN_VOID();
}
