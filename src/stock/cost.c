/*-------------------------------------------------------------------------
 *
 * cost.c
 *	  Perpetual costing, per move, inside the kernel's transaction
 *	  (StockApply calls CostApply after the ledger rows are appended).
 *
 *	  What costs: a move out of the valued states of a node (shipment: cogs;
 *	  return to the vendor: vendor_credit; disposal, adjustment out:
 *	  write_off), into them (purchase receipt at the PO line's unit_cost, plus
 *	  the landed costs already spread on the line: receipt and landed_cost;
 *	  customer return received: return, at the unit cost of the order's
 *	  shipments of the item; unplanned receipt: receipt, and count gain:
 *	  positive write_off, both at the node's current average, or the item's
 *	  unit_cost when the node holds none), and between two nodes (transfer:
 *	  out of one at its cost, into the other at the same value).  Valued
 *	  states are all but incoming and return_pending; units in transit count
 *	  at their destination.  A move inside the valued states of one node
 *	  (allocation, picking, holds, restocking an inspected return) costs
 *	  nothing and writes nothing.
 *
 *	  Methods (erp.item.cost_method): average keeps value and units per item
 *	  and node in erp.cost_balance; an issue of q of Q units takes
 *	  round(value x q / Q, 2), the last units the whole remaining value, so
 *	  the balance is always the exact sum of its entries.  fifo also keeps
 *	  erp.cost_layer rows, one per receipt, consumed oldest first (the
 *	  move's lot's layers first); an issue takes each layer's value the same
 *	  way.  Values are cents (numeric(14,2)), unit costs numeric(18,6).
 *
 *	  Outside moves: landed costs after receipt (CostPostLanded) revalue the
 *	  units still at the receiving node and follow the rest to where it went
 *	  (the orders that shipped it, write-offs, the nodes transfers took it
 *	  to); a refurbishment's cost (CostPostRefurbishment) lands on the node's
 *	  value (fifo: its newest open layer).  Every value stored is bounded to
 *	  numeric(14,2) with IE004 (NumCheckMoney).
 *
 *	  Concurrency: receipts (every move into a node's value) wait for
 *	  nothing: they append their entry, their fifo layer and a delta
 *	  (erp.cost_delta) to the balance.  Issues (every move out of a node's
 *	  value) and landed costs own the item/node balance through a cost tag
 *	  (CostOwnBalance) until the transaction ends, fold the deltas that
 *	  committed into the balance row and value the units from it; a receipt
 *	  still running is not seen, as if it came after the issue (its value
 *	  does not depend on the balance, but for receipts at the current
 *	  average, which read the balance and deltas as their statement sees
 *	  them).  The cost tag of (item, node) is a tag of the kernel's global
 *	  lock order (stock/locks.c, doc/concurrency.md "Deadlocks") right after
 *	  the slot tags of that item at that node, and StockApply owns it right
 *	  after the move's take from that node, so it is taken in the order as
 *	  the slots are; out of the order it is only tried, then refused with
 *	  55P03 (StockOwnTag), as a document's tag.  So costing adds no
 *	  deadlock; issues of one item at one node serialise from the costed
 *	  move to commit.
 *	  Every statement names the item (the tables are distributed by item).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "miscadmin.h"
#include "storage/lock.h"

#include "ierp.h"
#include "stock/cost.h"
#include "stock/locks.h"

static int	cost_write_depth = 0;

void
CostWriteBegin(void)
{
	cost_write_depth++;
}

void
CostWriteEnd(void)
{
	if (cost_write_depth > 0)
		cost_write_depth--;
}

bool
CostWriting(void)
{
	return cost_write_depth > 0;
}

/* numeric arithmetic on Datums */
static Datum
NumInt(int64 v)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(v));
}

static Datum
NumAdd(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_add, a, b);
}

static Datum
NumSub(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_sub, a, b);
}

static Datum
NumMul(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_mul, a, b);
}

static Datum
NumRound(Datum a, int scale)
{
	return DirectFunctionCall2(numeric_round, a, Int32GetDatum(scale));
}

static Datum
NumNeg(Datum a)
{
	return DirectFunctionCall1(numeric_uminus, a);
}

static bool
NumIsZero(Datum a)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, NumInt(0))) == 0;
}

/*
 * NumCheckMoney: every value the cost tables store is numeric(14,2); a value
 * beyond it is refused with IE004 (nothing is written: the statement fails
 * before the row), rather than PostgreSQL's numeric overflow.
 */
static void
NumCheckMoney(Datum v, int64 item_id, int64 node_id, const char *what)
{
	static Datum limit = (Datum) 0;

	if (limit == (Datum) 0)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		limit = DirectFunctionCall3(numeric_in, CStringGetDatum("999999999999.99"),
									ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
		MemoryContextSwitchTo(old);
	}
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, DirectFunctionCall1(numeric_abs, v), limit)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("the %s of sku \"%s\" at node \"%s\" would be beyond 999999999999.99",
						what, IerpItemSku(item_id), IerpNodeCode(node_id)),
				 errdetail("Values of the cost ledger are numeric(14,2)."),
				 errhint("Split the document, or check its quantities and prices.")));
}

/* round(v x part / whole, 2); exactly v when part == whole (whole > 0) */
static Datum
NumShare(Datum v, int64 part, int64 whole)
{
	if (part == whole)
		return v;
	return NumRound(DirectFunctionCall2(numeric_div, NumMul(v, NumInt(part)), NumInt(whole)), 2);
}

/* value / qty to 6 decimals (0 when qty is 0) */
static Datum
NumUnit(Datum value, int64 qty)
{
	if (qty == 0)
		return NumInt(0);
	return NumRound(DirectFunctionCall2(numeric_div, value, NumInt(qty)), 6);
}

/* what costing needs of an item */
typedef struct ItemCost
{
	int64		item_id;
	bool		fifo;
	Datum		unit_cost;		/* erp.item.unit_cost: the cost of units no node has a cost for */
} ItemCost;

/* an item/node balance, locked */
typedef struct Balance
{
	int64		qty;
	Datum		value;
	bool		has_received_at;
	TimestampTz received_at;
} Balance;

static void
ItemCostLoad(int64 item_id, ItemCost *ic)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	IerpPlan(&plan, "SELECT cost_method = 'fifo', unit_cost FROM erp.item WHERE item_id = $1",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id)}, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "inventory_erp: item " INT64_FORMAT " not found for costing", item_id);
	ic->item_id = item_id;
	ic->fifo = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ic->unit_cost = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
}

/*
 * CostOwnBalance: owns the cost tag of an item at a node for this
 * transaction (see the header comment): a LOCKTAG_USERLOCK tag like the
 * kernel's slot tags (stock/locks.c, StockSlotTag) with the item in field2,
 * the node in the upper half of field3 and every other bit set, so that it
 * sorts after every slot tag of that item and node and before those of the
 * next node (ids beyond the fields' widths share tags, which only
 * serialises them).
 */
static void
CostTag(LOCKTAG *tag, int64 item_id, int64 node_id)
{
	tag->locktag_field1 = MyDatabaseId;
	tag->locktag_field2 = (uint32) item_id;
	tag->locktag_field3 = ((uint32) (node_id & 0xFFFF) << 16) | 0xFFFF;
	tag->locktag_field4 = 0xFFFF;
	tag->locktag_type = LOCKTAG_USERLOCK;
	tag->locktag_lockmethodid = USER_LOCKMETHOD;
}

void
CostOwnBalance(int64 item_id, int64 node_id)
{
	LOCKTAG		tag;

	CostTag(&tag, item_id, node_id);
	if (StockTagLock(&tag, true, false))
		return;
	StockOwnTag(&tag, psprintf("the cost of sku \"%s\" at node \"%s\"", IerpItemSku(item_id), IerpNodeCode(node_id)),
				NULL);
}

/*
 * CostTryBalance: owns the cost tag when the global order allows waiting
 * for it, or when it is free; false when another transaction holds it and
 * this one may not wait (StockApply then leaves the issue to CostIssue).
 */
bool
CostTryBalance(int64 item_id, int64 node_id)
{
	LOCKTAG		tag;

	CostTag(&tag, item_id, node_id);
	return StockTagLock(&tag, true, false);
}

static bool
CostBalanceOwned(int64 item_id, int64 node_id)
{
	LOCKTAG		tag;

	CostTag(&tag, item_id, node_id);
	return StockTagHeld(&tag);
}

/* reads the balance row of a query's first result into b */
static void
BalanceRead(Balance *b)
{
	HeapTuple	tup = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	Datum		at;

	b->qty = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	b->value = SPI_getbinval(tup, desc, 2, &isnull);
	at = SPI_getbinval(tup, desc, 3, &isnull);
	b->has_received_at = !isnull;
	b->received_at = isnull ? 0 : DatumGetTimestampTz(at);
}

/*
 * BalanceLock: owns the balance of an item at a node (its cost tag, then
 * its row, created when missing), folds into it the receipts' deltas that
 * committed (erp.cost_delta: receipts append them without waiting; those
 * still running are not seen, as if they came after), and reads it.  The
 * average receipt time is the quantity-weighted mean of the balance's and
 * the deltas'.
 */
static void
BalanceLock(int64 item_id, int64 node_id, Balance *b)
{
	static SPIPlanPtr fold = NULL;
	static SPIPlanPtr sel = NULL;
	static SPIPlanPtr ins = NULL;
	static const Oid types[] = {INT8OID, INT8OID};
	Datum		values[2];
	int			attempt;

	IerpPlan(&fold,
			 "WITH d AS (DELETE FROM erp.cost_delta WHERE item_id = $1 AND node_id = $2"
			 "           RETURNING qty, value, received_at),"
			 "     s AS (SELECT count(*) AS n, COALESCE(sum(qty), 0) AS qty, COALESCE(sum(value), 0) AS value,"
			 "                  COALESCE(sum(qty) FILTER (WHERE qty > 0), 0) AS qin,"
			 "                  COALESCE(sum(extract(epoch FROM received_at - 'epoch'::timestamptz) * qty) FILTER (WHERE qty > 0), 0) AS w FROM d)"
			 " UPDATE erp.cost_balance c SET"
			 "   received_at = CASE WHEN c.qty + s.qty <= 0 THEN NULL"
			 "                      WHEN GREATEST(c.qty, 0) + s.qin = 0 THEN c.received_at"
			 "                      ELSE to_timestamp((COALESCE(extract(epoch FROM c.received_at - 'epoch'::timestamptz), 0)"
			 "                                         * GREATEST(c.qty, 0) + s.w)"
			 "                                        / (GREATEST(c.qty, 0) + s.qin)) END,"
			 "   qty = c.qty + s.qty, value = c.value + s.value"
			 "  FROM s WHERE c.item_id = $1 AND c.node_id = $2 AND s.n > 0"
			 " RETURNING c.qty, c.value, c.received_at",
			 2, types);
	IerpPlan(&sel, "SELECT qty, value, received_at FROM erp.cost_balance"
			 " WHERE item_id = $1 AND node_id = $2 FOR UPDATE", 2, types);
	IerpPlan(&ins, "INSERT INTO erp.cost_balance (item_id, node_id) VALUES ($1, $2)"
			 " ON CONFLICT (item_id, node_id) DO NOTHING", 2, types);
	CostOwnBalance(item_id, node_id);
	values[0] = Int64GetDatum(item_id);
	values[1] = Int64GetDatum(node_id);
	for (attempt = 0; attempt < 2; attempt++)
	{
		if (SPI_execute_plan(sel, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read the cost balance");
		if (SPI_processed == 1)
		{
			BalanceRead(b);
			if (SPI_execute_plan(fold, values, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
				elog(ERROR, "inventory_erp: cannot fold the cost deltas");
			if (SPI_processed == 1)
				BalanceRead(b);
			return;
		}
		if (SPI_execute_plan(ins, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "inventory_erp: cannot create the cost balance");
	}
	elog(ERROR, "inventory_erp: cost balance of item " INT64_FORMAT " at node " INT64_FORMAT " vanished",
		 item_id, node_id);
}

/* Stores the new qty and value of a balance BalanceLock owns (no units: no receipt time). */
static void
BalanceStore(int64 item_id, int64 node_id, int64 qty, Datum value)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT8OID, INT8OID, NUMERICOID};

	NumCheckMoney(value, item_id, node_id, "value on hand");
	IerpPlan(&plan,
			 "UPDATE erp.cost_balance SET received_at = CASE WHEN $3 <= 0 THEN NULL ELSE received_at END,"
			 "  qty = $3, value = $4"
			 " WHERE item_id = $1 AND node_id = $2",
			 4, types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), Int64GetDatum(qty), value},
						 NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cost balance update failed");
}

/* Appends a receipt's delta: qty units worth value, received at at (folded by the next issue). */
static void
DeltaInsert(int64 item_id, int64 node_id, int64 qty, Datum value, TimestampTz at)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT8OID, INT8OID, NUMERICOID, TIMESTAMPTZOID};

	NumCheckMoney(value, item_id, node_id, "value received");
	IerpPlan(&plan, "INSERT INTO erp.cost_delta (item_id, node_id, qty, value, received_at)"
			 " VALUES ($1, $2, $3, $4, $5)", 5, types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), Int64GetDatum(qty), value,
			TimestampTzGetDatum(at)}, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: cost delta insert failed");
}

/*
 * The units and value on hand of an item at a node as this statement sees
 * them (balance and deltas), without owning anything: what a receipt at the
 * current average reads.
 */
static void
BalancePeek(int64 item_id, int64 node_id, Balance *b)
{
	static SPIPlanPtr plan = NULL;

	IerpPlan(&plan,
			 "SELECT COALESCE(sum(qty), 0)::bigint, COALESCE(sum(value), 0), NULL::timestamptz FROM ("
			 "  SELECT qty, value FROM erp.cost_balance WHERE item_id = $1 AND node_id = $2"
			 "  UNION ALL SELECT qty, value FROM erp.cost_delta WHERE item_id = $1 AND node_id = $2) t",
			 2, (Oid[]) {INT8OID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id)}, NULL, false, 1) !=
		SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read the cost balance");
	BalanceRead(b);
}

/*
 * Appends one cost entry; unit_cost (numeric) is used when qty is 0, else
 * value / qty.  after: the balance after the entry, for entries that own it
 * (issues, landed costs); NULL for receipts.
 */
static int64
EntryInsert(int64 item_id, int64 node_id, int64 lot_id, int64 move_id, const char *ref, const char *kind,
			int64 qty, Datum value, Datum unit_cost, int64 line_id, int64 landed_cost_id, const Balance *after)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID, INT8OID,
	NUMERICOID, NUMERICOID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID, NUMERICOID};
	Datum		values[14];
	char		nulls[14];
	bool		isnull;

	IerpPlan(&plan,
			 "INSERT INTO erp.cost_entry (item_id, node_id, lot_id, move_id, ref, kind, qty, unit_cost, value,"
			 "                            purchase_order_line_id, landed_cost_id, at, balance_qty, balance_value)"
			 " VALUES ($1, $2, NULLIF($3, 0), NULLIF($4, 0), $5, $6::erp.cost_kind, $7, $8, $9,"
			 "         NULLIF($10, 0), NULLIF($11, 0), $12, $13, $14) RETURNING cost_entry_id",
			 14, types);
	NumCheckMoney(value, item_id, node_id, "value of a cost entry");
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(item_id);
	values[1] = Int64GetDatum(node_id);
	values[2] = Int64GetDatum(lot_id);
	values[3] = Int64GetDatum(move_id);
	values[4] = ref ? CStringGetTextDatum(ref) : (Datum) 0;
	nulls[4] = ref ? ' ' : 'n';
	values[5] = CStringGetTextDatum(kind);
	values[6] = Int64GetDatum(qty);
	values[7] = qty != 0 ? NumUnit(DirectFunctionCall1(numeric_abs, value), qty < 0 ? -qty : qty) : unit_cost;
	values[8] = value;
	values[9] = Int64GetDatum(line_id);
	values[10] = Int64GetDatum(landed_cost_id);
	values[11] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	values[12] = after ? Int64GetDatum(after->qty) : (Datum) 0;
	values[13] = after ? after->value : (Datum) 0;
	nulls[12] = nulls[13] = after ? ' ' : 'n';
	if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cost entry insert failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* the node's average unit cost, or the item's unit_cost when it holds no units */
static Datum
AverageOf(const ItemCost *ic, const Balance *b)
{
	if (b->qty > 0)
		return DirectFunctionCall2(numeric_div, b->value, NumInt(b->qty));
	return ic->unit_cost;
}

/*
 * Takes q units out of the fifo layers of an item at a node (the lot's
 * layers first, then the oldest of any lot); returns their value and sets
 * *oldest to the receipt time of the oldest layer used.  Units no layer
 * holds (not expected: erp.verify_costs() reports it) are valued at avg.
 */
static Datum
LayersTake(int64 item_id, int64 node_id, int64 lot_id, int64 q, Datum avg, TimestampTz *oldest)
{
	static SPIPlanPtr sel = NULL;
	static SPIPlanPtr upd = NULL;
	static const Oid sel_types[] = {INT8OID, INT8OID, INT8OID};
	static const Oid upd_types[] = {INT8OID, INT8OID, INT8OID, NUMERICOID};
	SPITupleTable *tt;
	uint64		n,
				i;
	int64		left = q;
	Datum		total = NumInt(0);
	bool		isnull;

	IerpPlan(&sel, "SELECT cost_layer_id, qty_left, value_left, received_at FROM erp.cost_layer"
			 " WHERE item_id = $1 AND node_id = $2 AND qty_left > 0"
			 " ORDER BY (lot_id = $3) DESC, cost_layer_id FOR UPDATE", 3, sel_types);
	IerpPlan(&upd, "UPDATE erp.cost_layer SET qty_left = qty_left - $3, value_left = value_left - $4"
			 " WHERE item_id = $1 AND cost_layer_id = $2", 4, upd_types);
	if (SPI_execute_plan(sel, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), Int64GetDatum(lot_id)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the cost layers");
	tt = SPI_tuptable;
	n = SPI_processed;
	*oldest = GetCurrentTransactionStartTimestamp();
	for (i = 0; i < n && left > 0; i++)
	{
		int64		layer_id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		int64		qty_left = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		Datum		value_left = SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull);
		TimestampTz at = DatumGetTimestampTz(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
		int64		t = Min(left, qty_left);
		Datum		v = NumShare(value_left, t, qty_left);

		if (at < *oldest)
			*oldest = at;
		if (SPI_execute_plan(upd, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(layer_id), Int64GetDatum(t), v},
							 NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "inventory_erp: cost layer update failed");
		total = NumAdd(total, v);
		left -= t;
	}
	if (left > 0)
		total = NumAdd(total, NumRound(NumMul(avg, NumInt(left)), 2));
	return total;
}

static void
LayerAdd(int64 item_id, int64 node_id, int64 lot_id, int64 qty, Datum value, TimestampTz at, int64 line_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID, NUMERICOID, INT8OID};

	NumCheckMoney(value, item_id, node_id, "value of a cost layer");
	IerpPlan(&plan, "INSERT INTO erp.cost_layer (item_id, node_id, lot_id, received_at, qty_in, qty_left,"
			 " value_left, purchase_order_line_id) VALUES ($1, $2, $3, $4, $5, $5, $6, NULLIF($7, 0))", 7, types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), Int64GetDatum(lot_id),
			TimestampTzGetDatum(at), Int64GetDatum(qty), value, Int64GetDatum(line_id)},
						 NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: cost layer insert failed");
}

/*
 * Issues the move's units out of a node's value: returns the value taken
 * (> 0) and sets *at to the receipt time of what left (for a transfer).
 */
static Datum
CostIssue(const ItemCost *ic, const StockMove *m, int64 node_id, const char *kind, TimestampTz *at)
{
	Balance		b;
	int64		q = m->taken;
	Datum		v;

	if (!ic->fifo && !CostBalanceOwned(ic->item_id, node_id))
	{
		/*
		 * Another transaction owns the balance and this one may not wait for
		 * it (it holds stock later in the lock order): value the units at the
		 * average this statement sees and append the issue as a delta, as a
		 * receipt does.  Exact but for rounding: issues that ran at once on
		 * the same view may leave a residue of cents in the balance, which
		 * stays in it (erp.verify_costs() states the tolerance).
		 */
		BalancePeek(ic->item_id, node_id, &b);
		*at = GetCurrentTransactionStartTimestamp();
		if (b.qty <= 0)
			v = NumRound(NumMul(ic->unit_cost, NumInt(q)), 2);
		else if (q <= b.qty)
			v = NumShare(b.value, q, b.qty);
		else
			v = NumAdd(b.value, NumRound(NumMul(ic->unit_cost, NumInt(q - b.qty)), 2));
		DeltaInsert(ic->item_id, node_id, -q, NumNeg(v), *at);
		EntryInsert(ic->item_id, node_id, m->lot_id, m->move_id, m->ref, kind, -q, NumNeg(v), (Datum) 0, 0, 0, NULL);
		return v;
	}
	BalanceLock(ic->item_id, node_id, &b);
	*at = b.has_received_at ? b.received_at : GetCurrentTransactionStartTimestamp();
	if (ic->fifo)
		v = LayersTake(ic->item_id, node_id, m->lot_id, q, AverageOf(ic, &b), at);
	else if (b.qty <= 0)
		v = NumRound(NumMul(ic->unit_cost, NumInt(q)), 2);
	else if (q <= b.qty)
		v = NumShare(b.value, q, b.qty);
	else
		v = NumAdd(b.value, NumRound(NumMul(ic->unit_cost, NumInt(q - b.qty)), 2));
	b.qty -= q;
	b.value = NumSub(b.value, v);
	BalanceStore(ic->item_id, node_id, b.qty, b.value);
	EntryInsert(ic->item_id, node_id, m->lot_id, m->move_id, m->ref, kind, -q, NumNeg(v), (Datum) 0, 0, 0, &b);
	return v;
}

/* how units entering a node are valued */
typedef enum CostSource
{
	SOURCE_GIVEN,				/* value passed in (a transfer) */
	SOURCE_PURCHASE,			/* the purchase order line's unit_cost and landed costs */
	SOURCE_RETURN,				/* the cost they left with */
	SOURCE_AVERAGE				/* the node's current average */
} CostSource;

/* parses "prefix:<id>"; 0 when ref is not of that form */
static int64
RefId(const char *ref, const char *prefix)
{
	size_t		len = strlen(prefix);
	char	   *end;
	long long	id;

	if (ref == NULL || strncmp(ref, prefix, len) != 0 || ref[len] != ':')
		return 0;
	errno = 0;
	id = strtoll(ref + len + 1, &end, 10);
	if (errno != 0 || *end != '\0' || id <= 0)
		return 0;
	return (int64) id;
}

/*
 * The purchase order line a receipt of q units of the item books against
 * (the first line of the item with units still due, as erp.receive_po
 * fills them) and its cost: *price the line's unit_cost, *landed the share
 * of the line's landed costs these units carry.  False when the item is not
 * on the purchase order.
 */
static bool
PurchaseCost(int64 po_id, int64 item_id, int64 q, int64 *line_id, Datum *price, Datum *landed)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT8OID, INT8OID};
	bool		isnull;
	HeapTuple	tup;

	IerpPlan(&plan,
			 "SELECT l.purchase_order_line_id, l.unit_cost,"
			 "       COALESCE((SELECT sum(round(a.amount * LEAST(l.qty_received + $3, l.qty) / l.qty, 2)"
			 "                            - round(a.amount * l.qty_received / l.qty, 2))"
			 "                   FROM erp.landed_cost_line a"
			 "                  WHERE a.item_id = $2 AND a.purchase_order_line_id = l.purchase_order_line_id), 0)"
			 "  FROM erp.purchase_order_line l"
			 " WHERE l.purchase_order_id = $1 AND l.item_id = $2"
			 " ORDER BY (l.qty_received < l.qty) DESC, l.line_no LIMIT 1",
			 3, types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(po_id), Int64GetDatum(item_id), Int64GetDatum(q)},
						 NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the purchase order line");
	if (SPI_processed != 1)
		return false;
	tup = SPI_tuptable->vals[0];
	*line_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
	*price = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
	*landed = SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull);
	return true;
}

/*
 * The unit cost of the units an RMA's order shipped of the item (their cogs
 * entries, also archived ones, landed-cost shares added after the sale
 * included); false when it shipped none.
 */
static bool
ReturnUnitCost(int64 rma_id, int64 item_id, Datum *unit)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT8OID};
	bool		isnull;
	Datum		v;

	IerpPlan(&plan,
			 "SELECT sum(e.value) / NULLIF(sum(e.qty), 0) FROM ("
			 "  SELECT value, qty, ref, kind FROM erp.cost_entry WHERE item_id = $2"
			 "  UNION ALL SELECT value, qty, ref, kind FROM erp.cost_entry_archive WHERE item_id = $2) e"
			 " WHERE e.kind = 'cogs'"
			 "   AND e.ref = (SELECT 'order:' || r.order_id FROM erp.rma r WHERE r.rma_id = $1)",
			 2, types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(rma_id), Int64GetDatum(item_id)}, NULL, false, 1) !=
		SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read the cost of the returned units");
	v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	*unit = v;
	return true;
}

/*
 * Receives the move's units into a node's value: at the given value (a
 * transfer, received_at the source's), or as source says.
 */
static void
CostReceive(const ItemCost *ic, const StockMove *m, int64 node_id, const char *kind, CostSource source,
			Datum given, TimestampTz given_at)
{
	Balance		b;
	int64		q = m->taken;
	Datum		v = (Datum) 0;
	Datum		landed = (Datum) 0;
	Datum		unit;
	int64		line_id = 0;
	TimestampTz at = GetCurrentTransactionStartTimestamp();
	Datum		total;

	/* a receipt owns nothing: it appends a delta the next issue folds in (BalanceLock) */
	if (source == SOURCE_PURCHASE)
	{
		Datum		price;

		if (PurchaseCost(RefId(m->ref, "po"), ic->item_id, q, &line_id, &price, &landed))
		{
			v = NumRound(NumMul(price, NumInt(q)), 2);
			if (NumIsZero(landed))
				landed = (Datum) 0;
		}
		else
			source = SOURCE_AVERAGE;
	}
	else if (source == SOURCE_RETURN)
	{
		if (ReturnUnitCost(RefId(m->ref, "rma"), ic->item_id, &unit))
			v = NumRound(NumMul(unit, NumInt(q)), 2);
		else
			source = SOURCE_AVERAGE;
	}
	else if (source == SOURCE_GIVEN)
	{
		v = given;
		at = given_at;
	}

	if (source == SOURCE_AVERAGE)
	{
		BalancePeek(ic->item_id, node_id, &b);
		v = NumRound(NumMul(AverageOf(ic, &b), NumInt(q)), 2);
	}
	total = landed ? NumAdd(v, landed) : v;
	if (ic->fifo)
		LayerAdd(ic->item_id, node_id, m->lot_id, q, total, at, line_id);
	DeltaInsert(ic->item_id, node_id, q, total, at);
	EntryInsert(ic->item_id, node_id, m->lot_id, m->move_id, m->ref, kind, q, v, (Datum) 0, line_id, 0, NULL);
	if (landed)
		EntryInsert(ic->item_id, node_id, m->lot_id, m->move_id, m->ref, "landed_cost", 0, landed,
					NumUnit(landed, q), line_id, 0, NULL);
}

bool
CostValuedState(StockState s)
{
	return s != STATE_OUTSIDE && s != STATE_INCOMING && s != STATE_RETURN_PENDING;
}

/* Costs one move that moved units. */
static void
CostMove(const ItemCost *ic, const StockMove *m)
{
	bool		from_valued = CostValuedState(m->from_state);
	bool		to_valued = CostValuedState(m->to_state);
	TimestampTz at;

	if (from_valued && to_valued)
	{
		Datum		v;

		if (m->from_node_id == m->to_node_id)
			return;
		v = CostIssue(ic, m, m->from_node_id, "transfer", &at);
		CostReceive(ic, m, m->to_node_id, "transfer", SOURCE_GIVEN, v, at);
	}
	else if (from_valued)
	{
		const char *kind = "write_off";

		if (strcmp(m->event, "ship") == 0)
			kind = "cogs";
		else if (strcmp(m->event, "returned_to_vendor") == 0)
			kind = "vendor_credit";
		(void) CostIssue(ic, m, m->from_node_id, kind, &at);
	}
	else if (to_valued)
	{
		if (m->from_state == STATE_RETURN_PENDING)
			CostReceive(ic, m, m->to_node_id, "return", SOURCE_RETURN, (Datum) 0, 0);
		else if (strcmp(m->event, "receive") == 0 && RefId(m->ref, "po") != 0)
			CostReceive(ic, m, m->to_node_id, "receipt", SOURCE_PURCHASE, (Datum) 0, 0);
		else if (strcmp(m->event, "adjust") == 0)
			CostReceive(ic, m, m->to_node_id, "write_off", SOURCE_AVERAGE, (Datum) 0, 0);
		else
			CostReceive(ic, m, m->to_node_id, "receipt", SOURCE_AVERAGE, (Datum) 0, 0);
	}
}

/* CostMoveCosts: whether a move changes the value on hand of some node */
bool
CostMoveCosts(const StockMove *m)
{
	bool		from_valued = CostValuedState(m->from_state);
	bool		to_valued = CostValuedState(m->to_state);

	if (m->taken <= 0 || (!from_valued && !to_valued))
		return false;
	return !(from_valued && to_valued && m->from_node_id == m->to_node_id);
}

/*
 * CostApply: costs the moves of a batch StockApply applied, in its lock
 * order (by item, then source node).  Runs inside StockApply's SPI
 * connection and memory context.  Moves that change no value (allocation
 * and every other move inside one node's valued states) cost nothing and
 * read nothing.
 */
void
CostApply(StockMove *moves, int nmoves, const int *order)
{
	ItemCost	ic;
	int			i;

	ic.item_id = 0;
	for (i = 0; i < nmoves; i++)
		if (CostMoveCosts(&moves[order[i]]))
			break;
	if (i == nmoves)
		return;
	CostWriteBegin();
	PG_TRY();
	{
		for (i = 0; i < nmoves; i++)
		{
			const StockMove *m = &moves[order[i]];

			if (!CostMoveCosts(m))
				continue;
			if (ic.item_id != m->item_id)
				ItemCostLoad(m->item_id, &ic);
			CostMove(&ic, m);
		}
	}
	PG_FINALLY();
	{
		CostWriteEnd();
	}
	PG_END_TRY();
}

/*
 * What left a node of an item after one of its cost entries (a purchase
 * order line's first receipt there, or the arrival of a transfer): one row
 * per outflow (kind, document, and for a transfer its destination node),
 * with its units, the largest first.  A landed cost added after receipt
 * spreads the share of the units no longer at the node over them by units:
 * shipments take it as COGS of their order (so erp.kpi_margin assigns it to
 * the channel that sold them), write-offs and vendor credits as theirs, and
 * transfers carry it to the node the units went to.
 */
typedef struct Outflow
{
	char	   *kind;
	char	   *ref;
	int64		dest_node_id;	/* a transfer's destination; 0 otherwise */
	int64		qty;
	Datum		part;
} Outflow;

/* an outflow's rank for the cents left over: its remainder, then its place (largest first) */
typedef struct CentRank
{
	int			idx;
	double		rem;
} CentRank;

static int
CentRankCmp(const void *a, const void *b)
{
	const CentRank *x = (const CentRank *) a;
	const CentRank *y = (const CentRank *) b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return x->idx - y->idx;
}

/*
 * Spreads amount (cents, >= 0) over the outflows by units, to the cent and
 * adding up exactly: each takes its exact share truncated to cents, and the
 * cents left over go one each to the largest remainders (ties: the larger
 * outflow, listed first).  So many small outflows each get their fair cent
 * rather than all the residue landing on the largest.
 */
static void
SpreadCents(Outflow *out, int nout, Datum amount, int64 total)
{
	CentRank   *rank = palloc(sizeof(CentRank) * nout);
	Datum		spread = NumInt(0);
	Datum		cent = DirectFunctionCall3(numeric_in, CStringGetDatum("0.01"), ObjectIdGetDatum(InvalidOid),
										   Int32GetDatum(-1));
	int64		left;
	int			i;

	for (i = 0; i < nout; i++)
	{
		Datum		exact = DirectFunctionCall2(numeric_div, NumMul(amount, NumInt(out[i].qty)), NumInt(total));

		out[i].part = DirectFunctionCall2(numeric_trunc, exact, Int32GetDatum(2));
		spread = NumAdd(spread, out[i].part);
		rank[i].idx = i;
		rank[i].rem = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumSub(exact, out[i].part)));
	}
	left = DatumGetInt64(DirectFunctionCall1(numeric_int8,
											 NumRound(NumMul(NumSub(amount, spread), NumInt(100)), 0)));
	qsort(rank, nout, sizeof(CentRank), CentRankCmp);
	for (i = 0; i < nout && left > 0; i++, left--)
		out[rank[i].idx].part = NumAdd(out[rank[i].idx].part, cent);
	pfree(rank);
}

/* a landed cost follows transfers this many nodes deep; beyond, it posts as COGS */
#define LANDED_MAX_HOPS 4

static int
OutflowsAfter(int64 item_id, int64 node_id, int64 since_id, Outflow **out)
{
	static SPIPlanPtr plan = NULL;
	SPITupleTable *tt;
	uint64		n,
				i;
	Outflow    *o;
	bool		isnull;

	IerpPlan(&plan,
			 "SELECT o.kind::text, o.ref, COALESCE(d.node_id, 0), -sum(o.qty)::bigint"
			 "  FROM erp.cost_entry o"
			 "  LEFT JOIN erp.cost_entry d ON o.kind = 'transfer' AND d.item_id = $1 AND d.ref = o.ref"
			 "        AND d.kind = 'transfer' AND d.move_id = o.move_id AND d.qty > 0"
			 " WHERE o.item_id = $1 AND o.node_id = $2 AND o.qty < 0 AND o.cost_entry_id > $3"
			 " GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT 10000",
			 3, (Oid[]) {INT8OID, INT8OID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), Int64GetDatum(since_id)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read what left the node");
	tt = SPI_tuptable;
	n = SPI_processed;
	o = palloc0(sizeof(Outflow) * (n + 1));
	for (i = 0; i < n; i++)
	{
		o[i].kind = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		o[i].ref = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
		o[i].dest_node_id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));
		o[i].qty = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull));
	}
	SPI_freetuptable(tt);
	*out = o;
	return (int) n;
}

/* the first (or, for a transfer's arrival, last) cost entry of a kind and document at a node; 0 if none */
static int64
EntryIdOf(int64 item_id, int64 node_id, const char *sql_filter_kind, int64 line_id, const char *ref)
{
	static SPIPlanPtr by_line = NULL;
	static SPIPlanPtr by_ref = NULL;
	bool		isnull;
	Datum		v;

	IerpPlan(&by_line, "SELECT min(cost_entry_id) FROM erp.cost_entry"
			 " WHERE item_id = $1 AND node_id = $2 AND purchase_order_line_id = $3 AND kind = 'receipt'",
			 3, (Oid[]) {INT8OID, INT8OID, INT8OID});
	IerpPlan(&by_ref, "SELECT max(cost_entry_id) FROM erp.cost_entry"
			 " WHERE item_id = $1 AND node_id = $2 AND ref = $3 AND kind = 'transfer' AND qty > 0",
			 3, (Oid[]) {INT8OID, INT8OID, TEXTOID});
	if (strcmp(sql_filter_kind, "receipt") == 0)
	{
		if (SPI_execute_plan(by_line, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), Int64GetDatum(line_id)},
							 NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read the cost entries");
	}
	else if (SPI_execute_plan(by_ref, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), CStringGetTextDatum(ref)},
							  NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the cost entries");
	if (SPI_processed != 1)
		return 0;
	v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(v);
}

/*
 * Adds value to the open fifo layers of an item at a node, spread by
 * qty_left (the residue on the last); the layers are locked by the caller's
 * balance.  False when the node has no open layer.
 */
static bool
LayersRaise(int64 item_id, int64 node_id, Datum value)
{
	static SPIPlanPtr sel = NULL;
	static SPIPlanPtr upd = NULL;
	SPITupleTable *tt;
	uint64		n,
				i;
	int64		total = 0;
	Datum		spread = NumInt(0);
	bool		isnull;

	IerpPlan(&sel, "SELECT cost_layer_id, qty_left FROM erp.cost_layer"
			 " WHERE item_id = $1 AND node_id = $2 AND qty_left > 0 ORDER BY cost_layer_id FOR UPDATE",
			 2, (Oid[]) {INT8OID, INT8OID});
	IerpPlan(&upd, "UPDATE erp.cost_layer SET value_left = value_left + $3"
			 " WHERE item_id = $1 AND cost_layer_id = $2", 3, (Oid[]) {INT8OID, INT8OID, NUMERICOID});
	if (SPI_execute_plan(sel, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id)}, NULL, false, 0) !=
		SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the cost layers");
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
		total += DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
	for (i = 0; i < n && total > 0; i++)
	{
		int64		layer_id = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		int64		qty_left = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		Datum		part = (i == n - 1) ? NumSub(value, spread) : NumShare(value, qty_left, total);

		spread = NumAdd(spread, part);
		if (!NumIsZero(part) &&
			SPI_execute_plan(upd, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(layer_id), part},
							 NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "inventory_erp: cost layer update failed");
	}
	return total > 0;
}

static void LandedAtDestination(const ItemCost *ic, int64 node_id, const char *transfer_ref, Datum part, int64 qty,
								int64 line_id, int64 landed_cost_id, const char *ref, int hop);

/*
 * Posts the part of a landed cost (amount) that reached a node whose
 * balance b the caller owns: kept stays on the units still there (the
 * caller raised fifo layers by it), the rest (gone) follows what left the
 * node after entry since_id, by units (SpreadCents: the cents left over by
 * truncation to the largest remainders).
 * Entries at the node: landed_cost + (amount - the parts transfers carried
 * on), then one of 0 units per other outflow (its kind and document); with
 * no outflow on record (archived) the rest posts as COGS of ref.
 */
static void
LandedPost(const ItemCost *ic, int64 node_id, Balance *b, Datum amount, Datum kept, Datum unit_cost,
		   int64 since_id, int64 line_id, int64 landed_cost_id, const char *ref, int hop)
{
	Datum		gone = NumSub(amount, kept);
	Datum		moved = NumInt(0);
	Outflow    *out = NULL;
	int			nout = 0;
	int			i;

	if (!NumIsZero(gone) && since_id > 0)
	{
		int64		total = 0;
		Datum		spread = NumInt(0);

		nout = OutflowsAfter(ic->item_id, node_id, since_id, &out);
		for (i = 0; i < nout; i++)
			total += out[i].qty;
		if (total <= 0)
			nout = 0;
		if (nout > 0)
			SpreadCents(out, nout, gone, total);
		for (i = 0; i < nout; i++)
		{
			spread = NumAdd(spread, out[i].part);
			if (out[i].dest_node_id != 0 && hop >= LANDED_MAX_HOPS)
				out[i].dest_node_id = 0;
		}
		Assert(NumIsZero(NumSub(gone, spread)));
		for (i = 0; i < nout; i++)
			if (out[i].dest_node_id != 0)
				moved = NumAdd(moved, out[i].part);
	}
	b->value = NumAdd(b->value, kept);
	BalanceStore(ic->item_id, node_id, b->qty, b->value);
	if (!NumIsZero(NumSub(amount, moved)))
		(void) EntryInsert(ic->item_id, node_id, 0, 0, ref, "landed_cost", 0, NumSub(amount, moved), unit_cost,
						   line_id, landed_cost_id, NumIsZero(gone) ? b : NULL);
	if (nout == 0 && !NumIsZero(gone))
		(void) EntryInsert(ic->item_id, node_id, 0, 0, ref, "cogs", 0, NumNeg(gone), NumInt(0), line_id,
						   landed_cost_id, b);
	for (i = 0; i < nout; i++)
	{
		if (out[i].dest_node_id != 0 || NumIsZero(out[i].part))
			continue;
		/* a transfer followed too far, or whose arrival is not on record: COGS of ref */
		(void) EntryInsert(ic->item_id, node_id, 0, 0, strcmp(out[i].kind, "transfer") == 0 ? ref : out[i].ref,
						   strcmp(out[i].kind, "transfer") == 0 ? "cogs" : out[i].kind, 0, NumNeg(out[i].part),
						   NumInt(0), line_id, landed_cost_id, b);
	}
	for (i = 0; i < nout; i++)
		if (out[i].dest_node_id != 0)
			LandedAtDestination(ic, out[i].dest_node_id, out[i].ref, out[i].part, out[i].qty, line_id,
								landed_cost_id, ref, hop + 1);
}

/*
 * A landed cost's part that followed qty units a transfer (transfer_ref)
 * brought to node_id: the units still there (at most qty) keep
 * part x on hand / qty (average: the balance; fifo: the node's open layers
 * by units), the rest follows what left that node after the transfer
 * arrived (LandedPost).
 */
static void
LandedAtDestination(const ItemCost *ic, int64 node_id, const char *transfer_ref, Datum part, int64 qty,
					int64 line_id, int64 landed_cost_id, const char *ref, int hop)
{
	Balance		b;
	Datum		kept = NumInt(0);

	if (NumIsZero(part))
		return;
	BalanceLock(ic->item_id, node_id, &b);
	if (b.qty > 0 && qty > 0)
		kept = NumShare(part, Min(b.qty, qty), qty);
	if (ic->fifo && !NumIsZero(kept) && !LayersRaise(ic->item_id, node_id, kept))
		kept = NumInt(0);
	LandedPost(ic, node_id, &b, part, kept, NumUnit(part, qty > 0 ? qty : 1),
			   EntryIdOf(ic->item_id, node_id, "transfer", 0, transfer_ref), line_id, landed_cost_id, ref, hop);
}

/*
 * CostPostLanded: see cost.h.  Average items: the units still on hand at
 * the node (at most the units received) keep share x on hand / received;
 * fifo items: each layer the line's receipts made at the node keeps its
 * part of the share (by units received) x units left / units received.
 * The rest left the node: LandedPost spreads it over what left since the
 * line's first receipt there, by units: COGS of the orders that shipped
 * (ref "order:N"), write-offs and vendor credits of their documents, and
 * the nodes transfers took units to (their units there revalue, what left
 * them follows the same way, up to LANDED_MAX_HOPS nodes deep).  Which
 * units left is not tracked per unit: the spread is by units over every
 * outflow after the receipt (doc/finance.md).
 */
void
CostPostLanded(int64 item_id, int64 node_id, int64 line_id, int64 landed_cost_id, const char *ref,
			   Datum share, int64 received)
{
	ItemCost	ic;
	Balance		b;
	Datum		kept = NumInt(0);

	if (NumIsZero(share))
		return;
	ItemCostLoad(item_id, &ic);
	BalanceLock(item_id, node_id, &b);
	if (ic.fifo)
	{
		static SPIPlanPtr sel = NULL;
		static SPIPlanPtr upd = NULL;
		SPITupleTable *tt;
		uint64		n,
					j;
		int64		qty_in_total = 0;
		Datum		spread = NumInt(0);
		bool		isnull;

		IerpPlan(&sel, "SELECT cost_layer_id, qty_in, qty_left FROM erp.cost_layer"
				 " WHERE item_id = $1 AND node_id = $2 AND purchase_order_line_id = $3"
				 " ORDER BY cost_layer_id FOR UPDATE", 3, (Oid[]) {INT8OID, INT8OID, INT8OID});
		IerpPlan(&upd, "UPDATE erp.cost_layer SET value_left = value_left + $3"
				 " WHERE item_id = $1 AND cost_layer_id = $2", 3, (Oid[]) {INT8OID, INT8OID, NUMERICOID});
		if (SPI_execute_plan(sel, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), Int64GetDatum(line_id)},
							 NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read the cost layers");
		tt = SPI_tuptable;
		n = SPI_processed;
		for (j = 0; j < n; j++)
			qty_in_total += DatumGetInt64(SPI_getbinval(tt->vals[j], tt->tupdesc, 2, &isnull));
		for (j = 0; j < n && qty_in_total > 0; j++)
		{
			int64		layer_id = DatumGetInt64(SPI_getbinval(tt->vals[j], tt->tupdesc, 1, &isnull));
			int64		qty_in = DatumGetInt64(SPI_getbinval(tt->vals[j], tt->tupdesc, 2, &isnull));
			int64		qty_left = DatumGetInt64(SPI_getbinval(tt->vals[j], tt->tupdesc, 3, &isnull));
			Datum		part;
			Datum		keep;

			/* the layer's part of the share; the last layer takes the residue */
			part = (j == n - 1) ? NumSub(share, spread) : NumShare(share, qty_in, qty_in_total);
			spread = NumAdd(spread, part);
			keep = qty_left > 0 ? NumShare(part, qty_left, qty_in) : NumInt(0);
			if (!NumIsZero(keep) &&
				SPI_execute_plan(upd, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(layer_id), keep},
								 NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "inventory_erp: cost layer update failed");
			kept = NumAdd(kept, keep);
		}
	}
	else if (b.qty > 0 && received > 0)
		kept = NumShare(share, Min(b.qty, received), received);
	LandedPost(&ic, node_id, &b, share, kept,
			   NumRound(DirectFunctionCall2(numeric_div, share, NumInt(received > 0 ? received : 1)), 6),
			   EntryIdOf(item_id, node_id, "receipt", line_id, NULL), line_id, landed_cost_id, ref, 0);
}

/*
 * CostPostRefurbishment: see cost.h.  Average items: the node's value (and
 * so its average) rises by amount; fifo items: the newest open layer at the
 * node, where returned units come back, carries it.  One entry of 0 units,
 * kind refurbishment, unit_cost = amount / units in refurbishment.
 */
int64
CostPostRefurbishment(int64 item_id, int64 node_id, Datum amount, int64 units, const char *ref)
{
	ItemCost	ic;
	Balance		b;
	int64		entry_id;

	ItemCostLoad(item_id, &ic);
	BalanceLock(item_id, node_id, &b);
	if (ic.fifo)
	{
		static SPIPlanPtr upd = NULL;

		IerpPlan(&upd, "UPDATE erp.cost_layer SET value_left = value_left + $3"
				 " WHERE item_id = $1 AND cost_layer_id = (SELECT max(cost_layer_id) FROM erp.cost_layer"
				 "   WHERE item_id = $1 AND node_id = $2 AND qty_left > 0)",
				 3, (Oid[]) {INT8OID, INT8OID, NUMERICOID});
		if (SPI_execute_plan(upd, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id), amount},
							 NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("sku \"%s\" has no cost layer at node \"%s\" to carry a refurbishment cost",
							IerpItemSku(item_id), IerpNodeCode(node_id))));
	}
	b.value = NumAdd(b.value, amount);
	BalanceStore(item_id, node_id, b.qty, b.value);
	entry_id = EntryInsert(item_id, node_id, 0, 0, ref, "refurbishment", 0, amount, NumUnit(amount, units),
						   0, 0, &b);
	return entry_id;
}
