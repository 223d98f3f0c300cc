/*-------------------------------------------------------------------------
 *
 * hold_rows.c
 *	  A checkout hold's rows and their giving back (hold_rows.h): its open
 *	  lines read, the hold locked and closed, its units returned to
 *	  available in one kernel batch; and what the rest of the module asks of
 *	  expired holds: erp.atp counts their units as available
 *	  (HoldsAddExpired), allocation gives them back first
 *	  (HoldsReleaseExpired).  Creating a hold and converting it into an
 *	  order are holds.c's.
 *
 *	  The probe of an item's expired holds is one index scan of
 *	  checkout_hold_line_open_idx on one node (no statement), one SELECT on
 *	  Citus or when the table's layout is not the one this file knows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "hold_rows.h"
#include "stock/kernel.h"

/* erp.checkout_hold_line's columns, as 27_holds.sql creates them (checked at each scan) */
#define Anum_hold_line_item_id		2
#define Anum_hold_line_hold_id		3
#define Anum_hold_line_node_id		4
#define Anum_hold_line_qty			6
#define Anum_hold_line_expires_at	7
#define Anum_hold_line_open			8

/* One open line of an expired hold, as the probe finds it. */
typedef struct ExpiredUnits
{
	int64		hold_id;
	int64		node_id;
	int64		qty;
} ExpiredUnits;

/* Whether attribute attno of desc is named name (the scan relies on the layout). */
static bool
ColumnIs(TupleDesc desc, int attno, const char *name)
{
	return attno <= desc->natts && strcmp(NameStr(TupleDescAttr(desc, attno - 1)->attname), name) == 0;
}

/*
 * What a backend learnt of erp.checkout_hold_line for the probe: its oid,
 * the partial index's, and whether its layout is the one above.  Forgotten
 * on a relcache invalidation of either (DDL, DROP EXTENSION) or of all.
 */
static struct
{
	bool		known;
	bool		registered;
	Oid			relid;
	Oid			idxid;
	bool		layout_ok;
}			line_rel;

static void
HoldsRelcacheInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == line_rel.relid || relid == line_rel.idxid)
		line_rel.known = false;
}

/* Learns line_rel (a catalog lookup and an open of the table, once per backend). */
static void
HoldsLearnRelation(void)
{
	if (!line_rel.registered)
	{
		IerpRegisterRelcacheCallback(HoldsRelcacheInvalidate, (Datum) 0);
		line_rel.registered = true;
	}
	line_rel.relid = IerpRelid("checkout_hold_line");
	line_rel.idxid = IerpRelid("checkout_hold_line_open_idx");
	line_rel.layout_ok = false;
	if (OidIsValid(line_rel.relid) && OidIsValid(line_rel.idxid))
	{
		Relation	rel = table_open(line_rel.relid, AccessShareLock);
		TupleDesc	desc = RelationGetDescr(rel);

		line_rel.layout_ok = ColumnIs(desc, Anum_hold_line_item_id, "item_id") &&
			ColumnIs(desc, Anum_hold_line_hold_id, "hold_id") &&
			ColumnIs(desc, Anum_hold_line_node_id, "node_id") &&
			ColumnIs(desc, Anum_hold_line_qty, "qty") &&
			ColumnIs(desc, Anum_hold_line_expires_at, "expires_at") &&
			ColumnIs(desc, Anum_hold_line_open, "open");
		table_close(rel, AccessShareLock);
	}
	line_rel.known = true;
}

/*
 * ExpiredOf: the open lines of item's holds that expired by the
 * transaction's start (now()), read with the statement's snapshot.  On one
 * node one index probe of checkout_hold_line_open_idx (no statement); on
 * Citus, or when the layout is not the one this file knows, one SELECT.
 * Returns how many; *out in the current context.
 */
static int
ExpiredOf(int64 item_id, ExpiredUnits **out)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	int			n = 0,
				max = 4;
	ExpiredUnits *res = palloc(sizeof(ExpiredUnits) * max);

	if (!line_rel.known)
		HoldsLearnRelation();
	if (!OidIsValid(line_rel.relid) || !OidIsValid(line_rel.idxid))
	{
		*out = res;
		return 0;
	}
	if (line_rel.layout_ok && StockDirectAccess())
	{
		Relation	rel = table_open(line_rel.relid, AccessShareLock);
		TupleDesc	desc = RelationGetDescr(rel);

		{
			ScanKeyData key[2];
			SysScanDesc scan;
			HeapTuple	tup;

			ScanKeyInit(&key[0], Anum_hold_line_item_id, BTEqualStrategyNumber, F_INT8EQ,
						Int64GetDatum(item_id));
			ScanKeyInit(&key[1], Anum_hold_line_expires_at, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE,
						TimestampTzGetDatum(now));
			scan = systable_beginscan(rel, line_rel.idxid, true,
									  ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot(),
									  2, key);
			while (HeapTupleIsValid(tup = systable_getnext(scan)))
			{
				bool		isnull;

				/* a HOT update of open keeps the index entry: the row says */
				if (!DatumGetBool(heap_getattr(tup, Anum_hold_line_open, desc, &isnull)) || isnull)
					continue;
				if (n == max)
				{
					max *= 2;
					res = repalloc(res, sizeof(ExpiredUnits) * max);
				}
				res[n].hold_id = DatumGetInt64(heap_getattr(tup, Anum_hold_line_hold_id, desc, &isnull));
				res[n].node_id = DatumGetInt64(heap_getattr(tup, Anum_hold_line_node_id, desc, &isnull));
				res[n].qty = DatumGetInt64(heap_getattr(tup, Anum_hold_line_qty, desc, &isnull));
				n++;
			}
			systable_endscan(scan);
			table_close(rel, AccessShareLock);
			*out = res;
			return n;
		}
	}
	{
		static SPIPlanPtr plan = NULL;
		uint64		i;

		IerpPlan(&plan,
				 "SELECT hold_id, node_id, qty FROM erp.checkout_hold_line"
				 " WHERE item_id = $1 AND open AND expires_at <= $2",
				 2, (Oid[]) {INT8OID, TIMESTAMPTZOID});
		if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), TimestampTzGetDatum(now)},
							 NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read checkout holds");
		res = repalloc(res, sizeof(ExpiredUnits) * Max(SPI_processed, 1));
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;

			res[n].hold_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			res[n].node_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
			res[n].qty = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	*out = res;
	return n;
}

/*
 * HoldsAddExpired: erp.atp's view of holds: units of item that a hold
 * reserved and whose TTL has passed count as available again at their node,
 * whether or not erp.expire_holds has run.
 */
void
HoldsAddExpired(int64 item_id, NodeStock *nodes, int n)
{
	ExpiredUnits *exp;
	int			nexp = ExpiredOf(item_id, &exp);
	int			i,
				k;

	for (i = 0; i < nexp; i++)
		for (k = 0; k < n; k++)
			if (nodes[k].node_id == exp[i].node_id)
				nodes[k].promisable += exp[i].qty;
	pfree(exp);
}

/* "hold:<id>", the ref of a hold's moves */
char *
HoldRef(int64 hold_id)
{
	return psprintf("hold:" INT64_FORMAT, hold_id);
}

/* The hold's items (its item_ids array) as a Datum. */
Datum
HoldItemsDatum(const int64 *items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int64GetDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

int
LoadHoldLines(int64 hold_id, Datum items, HoldLine **out)
{
	static SPIPlanPtr plan = NULL;
	HoldLine   *lines;
	uint64		i;

	IerpPlan(&plan,
			 "SELECT item_id, node_id, COALESCE(lot_id, 0), qty, COALESCE(kit_item_id, 0) FROM erp.checkout_hold_line"
			 " WHERE item_id = ANY ($2) AND hold_id = $1 AND open ORDER BY item_id, node_id, hold_line_id",
			 2, (Oid[]) {INT8OID, INT8ARRAYOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(hold_id), items}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the lines of hold " INT64_FORMAT, hold_id);
	lines = palloc0(sizeof(HoldLine) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		lines[i].item_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		lines[i].node_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		lines[i].lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		lines[i].qty = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		lines[i].kit_item_id = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	}
	*out = lines;
	i = SPI_processed;
	SPI_freetuptable(SPI_tuptable);
	return (int) i;
}

/* Closes a hold's lines and the hold (status, closed_at, order). */
void
CloseHold(int64 hold_id, Datum items, const char *status, int64 order_id)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr head_plan = NULL;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	IerpPlan(&lines_plan,
			 "UPDATE erp.checkout_hold_line SET open = false WHERE item_id = ANY ($2) AND hold_id = $1 AND open",
			 2, (Oid[]) {INT8OID, INT8ARRAYOID});
	if (SPI_execute_plan(lines_plan, (Datum[]) {Int64GetDatum(hold_id), items}, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: cannot close the lines of hold " INT64_FORMAT, hold_id);
	IerpPlan(&head_plan,
			 "UPDATE erp.checkout_hold SET status = $2::text::erp.checkout_hold_status,"
			 " closed_at = pg_catalog.now(), order_id = $3 WHERE hold_id = $1",
			 3, (Oid[]) {INT8OID, TEXTOID, INT8OID});
	values[0] = Int64GetDatum(hold_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = Int64GetDatum(order_id);
	nulls[2] = order_id != 0 ? ' ' : 'n';
	if (SPI_execute_plan(head_plan, values, nulls, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot close hold " INT64_FORMAT, hold_id);
}

/*
 * HoldGiveBack: returns a locked, held hold's units to available (one kernel
 * batch) and closes it with status (expired or released), with its event.
 * A partner's session gives back only holds at its own nodes: with
 * skip_invisible a hold with units elsewhere is left alone (-1), without
 * it the kernel refuses it (IE009).  Returns the units given back.
 */
int64
HoldGiveBack(int64 hold_id, Datum items, const char *status, bool skip_invisible)
{
	HoldLine   *lines;
	int			n = LoadHoldLines(hold_id, items, &lines);
	StockMove  *moves = palloc0(sizeof(StockMove) * Max(n, 1));
	char	   *ref = HoldRef(hold_id);
	int64		units = 0;
	int			i;

	if (skip_invisible && AccessRestricted())
		for (i = 0; i < n; i++)
			if (!AccessNodeVisible(lines[i].node_id))
				return -1;
	for (i = 0; i < n; i++)
	{
		StockMove  *m = &moves[i];

		m->item_id = lines[i].item_id;
		m->lot_id = lines[i].lot_id;
		m->qty = lines[i].qty;
		m->from_node_id = lines[i].node_id;
		m->from_state = STATE_RESERVED;
		m->to_node_id = lines[i].node_id;
		m->to_state = STATE_AVAILABLE;
		m->event = "release";
		m->ref = ref;
		m->take = STOCK_TAKE_HELD;
		units += lines[i].qty;
	}
	if (n > 0)
		StockApply(moves, n, STOCK_DOCUMENT);
	CloseHold(hold_id, items, status, 0);
	EventRecord(strcmp(status, "expired") == 0 ? "hold_expired" : "hold_released", 0, 0, 0, 0,
				psprintf("{\"hold_id\": " INT64_FORMAT ", \"units\": " INT64_FORMAT "}", hold_id, units));
	pfree(moves);
	return units;
}

/*
 * LockHold: the hold's row FOR UPDATE (waiting, or with skip_locked only
 * trying); false when there is none (or it is locked and skip_locked).
 * Answers its channel, status, whether it has expired (by now()), its items
 * and its order.
 */
bool
LockHold(int64 hold_id, bool skip_locked, HoldRow *row)
{
	static SPIPlanPtr plans[2] = {NULL, NULL};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	IerpPlan(&plans[skip_locked ? 1 : 0],
			 psprintf("SELECT channel_id, status::pg_catalog.text, expires_at <= pg_catalog.now(), expires_at::pg_catalog.text,"
					  "       item_ids, order_id, lines::pg_catalog.text"
					  "  FROM erp.checkout_hold WHERE hold_id = $1 FOR UPDATE%s",
					  skip_locked ? " SKIP LOCKED" : ""),
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plans[skip_locked ? 1 : 0], (Datum[]) {Int64GetDatum(hold_id)}, NULL, false, 1)
		!= SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock hold " INT64_FORMAT, hold_id);
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	row->channel_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	row->status = SPI_getvalue(tup, desc, 2);
	row->expired = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	row->expires_at = SPI_getvalue(tup, desc, 4);
	d = SPI_getbinval(tup, desc, 5, &isnull);
	row->items = PointerGetDatum(DatumGetArrayTypePCopy(d));
	d = SPI_getbinval(tup, desc, 6, &isnull);
	row->order_id = isnull ? 0 : DatumGetInt64(d);
	row->lines = SPI_getvalue(tup, desc, 7);
	SPI_freetuptable(SPI_tuptable);
	return true;
}

/*
 * HoldsReleaseExpired: allocation's hook (ItemStockFor, allocate.c): before
 * an order reads item's stock, the holds of item whose TTL has passed give
 * their units back, so an order is never short while expired holds sit on
 * them.  Only tries each hold's row (SKIP LOCKED: one being converted or
 * expired by another transaction is that one's business).  A partner's
 * session gives back the expired holds whose units all lie at its own nodes
 * (HoldGiveBack skips the others), as erp.expire_holds does for it: erp.atp
 * already promises those units to the partner, so its hold or order must be
 * able to take them; erp.expire_holds does the rest.
 */
void
HoldsReleaseExpired(int64 item_id)
{
	ExpiredUnits *exp;
	int			nexp,
				i,
				k;
	MemoryContext cxt,
				old;

	nexp = ExpiredOf(item_id, &exp);
	if (nexp == 0)
	{
		pfree(exp);
		return;
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "checkout holds released", ALLOCSET_SMALL_SIZES);
	for (i = 0; i < nexp; i++)
	{
		HoldRow		row;
		bool		seen = false;

		for (k = 0; k < i; k++)
			seen |= exp[k].hold_id == exp[i].hold_id;
		if (seen)
			continue;
		old = MemoryContextSwitchTo(cxt);
		if (LockHold(exp[i].hold_id, true, &row) && strcmp(row.status, "held") == 0 && row.expired)
			(void) HoldGiveBack(exp[i].hold_id, row.items, "expired", true);
		MemoryContextSwitchTo(old);
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
	pfree(exp);
}
