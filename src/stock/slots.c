/*-------------------------------------------------------------------------
 *
 * slots.c
 *	  The balances of the stock kernel: erp.stock_slot, one row per
 *	  (item, node, bin, lot, slot) with one column per stock state, and the
 *	  takes and adds that moves make on them.  The balance of a state is the
 *	  sum of its column over the slots (the view erp.stock_balance).
 *
 *	  A move between two states of one balance (available -> reserved, the
 *	  move of every order) changes one slot row once.  One slot is the norm;
 *	  when sessions contend for one balance (a flash sale of one SKU),
 *	  writers pick a slot no other transaction owns instead of queueing on
 *	  one row until the holder's commit is flushed.  A slot is owned through
 *	  its ownership lock (locks.c), taken before its row is read for writing,
 *	  so no slot write ever waits for a row lock; ownership locks are waited
 *	  for only in the one global order, else only tried (doc/concurrency.md).
 *
 *	  A take of a state no document vouches for (available, quarantined,
 *	  ...) never leaves a slot below zero: it takes from one slot it owns at
 *	  once that holds enough, or it owns every slot and decides on their
 *	  exact total.  A take of units a document holds (STOCK_TAKE_HELD)
 *	  takes them from any slot it owns at once, booking that slot below zero
 *	  when the units sit in other slots.
 *
 *	  Rows are read and written directly (index scan, heap update) on one
 *	  node, or through routed SQL statements that name the whole key when
 *	  the table is distributed (StockDirectAccess).  Only this file writes
 *	  erp.stock_slot; its guard trigger refuses every other write (IE005).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "stock/kernel.h"

PG_FUNCTION_INFO_V1(ierp_stock_slot_guard);

/* erp.stock_slot's columns (sql/install/04_ledger.sql); checked against the table when it is opened */
#define Natts_stock_slot			17
#define Anum_stock_slot_item_id		1
#define Anum_stock_slot_node_id		2
#define Anum_stock_slot_bin_id		3
#define Anum_stock_slot_lot_id		4
#define Anum_stock_slot_slot		5
#define Anum_stock_slot_first_state	6	/* incoming; the states follow in erp.stock_state's order */

/* > 0 while the routed path runs one of its own statements on erp.stock_slot */
static int	routed_write_depth = 0;

/* One slot row as read: its number, where its version lives, its quantity per state. */
typedef struct SlotRow
{
	int32		slot;
	bool		present;		/* the row exists (else it would be inserted) */
	bool		held;			/* this transaction owns it */
	ItemPointerData tid;		/* direct access: the version read */
	int64		qty[NUM_STOCK_STATES];
} SlotRow;

/* ----------------------------------------------------------------
 * Which path: direct on one node, routed on Citus
 * ----------------------------------------------------------------
 */

typedef enum KernelAccess
{
	KERNEL_ACCESS_AUTO,
	KERNEL_ACCESS_DIRECT,
	KERNEL_ACCESS_ROUTED
} KernelAccess;

int			ierp_kernel_access = KERNEL_ACCESS_AUTO;

static Oid	slot_relid = InvalidOid;
static int	slot_distributed = -1;	/* -1 unknown, 0 no, 1 yes */

static void
SlotRelcacheInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == slot_relid)
	{
		slot_relid = InvalidOid;
		slot_distributed = -1;
	}
}

static Oid
SlotRelid(void)
{
	if (!OidIsValid(slot_relid))
	{
		slot_relid = IerpRelid("stock_slot");
		if (!OidIsValid(slot_relid))
			elog(ERROR, "inventory_erp: table erp.stock_slot does not exist");
	}
	return slot_relid;
}

/*
 * StockDirectAccess: whether the kernel reads and writes erp.stock_slot and
 * erp.stock_move directly.  inventory_erp.kernel_access decides; on auto,
 * directly unless Citus distributes erp.stock_slot (its coordinator table
 * is then an empty shell and statements must be routed to the shards).
 */
bool
StockDirectAccess(void)
{
	if (ierp_kernel_access == KERNEL_ACCESS_DIRECT)
		return true;
	if (ierp_kernel_access == KERNEL_ACCESS_ROUTED)
		return false;
	if (slot_distributed < 0)
	{
		Oid			dist = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
		Oid			relid = SlotRelid();

		slot_distributed = 0;
		if (OidIsValid(dist))
		{
			bool		connected = SPI_connect() == SPI_OK_CONNECT;

			if (!connected)
				elog(ERROR, "inventory_erp: SPI_connect failed");
			if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1",
									  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)},
									  NULL, true, 1) == SPI_OK_SELECT && SPI_processed > 0)
				slot_distributed = 1;
			SPI_finish();
		}
	}
	return slot_distributed == 0;
}

/* ----------------------------------------------------------------
 * Direct access
 * ----------------------------------------------------------------
 */

/* Opens erp.stock_slot for writing, checking once per backend that its columns are where this file says. */
static Relation
SlotOpen(void)
{
	static Oid	checked = InvalidOid;
	Relation	rel = table_open(SlotRelid(), RowExclusiveLock);

	if (RelationGetRelid(rel) != checked)
	{
		TupleDesc	desc = RelationGetDescr(rel);
		int			s;

		if (desc->natts != Natts_stock_slot ||
			strcmp(NameStr(TupleDescAttr(desc, Anum_stock_slot_slot - 1)->attname), "slot") != 0)
			elog(ERROR, "inventory_erp: erp.stock_slot does not have the columns this module expects");
		for (s = 0; s < NUM_STOCK_STATES; s++)
			if (strcmp(NameStr(TupleDescAttr(desc, Anum_stock_slot_first_state - 1 + s)->attname),
					   StockStateName((StockState) s)) != 0)
				elog(ERROR, "inventory_erp: erp.stock_slot column %d is not state \"%s\"",
					 Anum_stock_slot_first_state + s, StockStateName((StockState) s));
		checked = RelationGetRelid(rel);
	}
	return rel;
}

/* Fills row from a heap tuple of erp.stock_slot. */
static void
RowFromSlot(TupleTableSlot *ts, SlotRow *row)
{
	bool		isnull;
	int			s;

	row->slot = DatumGetInt32(slot_getattr(ts, Anum_stock_slot_slot, &isnull));
	for (s = 0; s < NUM_STOCK_STATES; s++)
		row->qty[s] = DatumGetInt64(slot_getattr(ts, Anum_stock_slot_first_state + s, &isnull));
	row->tid = ts->tts_tid;
	row->present = true;
	row->held = false;
}

/*
 * Reads the slot rows of key (only slot number slot when slot >= 0) from
 * the newest committed state plus this transaction's writes, in slot
 * order, into a palloc'd array; returns how many.  A row read after its
 * ownership lock was taken is the newest version: its previous owner has
 * ended.
 */
static int
DirectRead(const StockKey *key, int32 slot, SlotRow **out)
{
	Relation	rel = SlotOpen();
	Relation	idx = index_open(RelationGetPrimaryKeyIndex(rel), RowExclusiveLock);
	Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyData sk[5];
	int			nkeys = slot >= 0 ? 5 : 4;
	IndexScanDesc scan;
	TupleTableSlot *ts = table_slot_create(rel, NULL);
	int			n = 0,
				cap = 4;
	SlotRow    *rows = palloc(sizeof(SlotRow) * cap);

	ScanKeyInit(&sk[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key->item_id));
	ScanKeyInit(&sk[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key->node_id));
	ScanKeyInit(&sk[2], 3, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key->bin_id));
	ScanKeyInit(&sk[3], 4, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key->lot_id));
	if (slot >= 0)
		ScanKeyInit(&sk[4], 5, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(slot));
	scan = index_beginscan(rel, idx, snap, nkeys, 0);
	index_rescan(scan, sk, nkeys, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, ts))
	{
		if (n == cap)
		{
			cap *= 2;
			rows = repalloc(rows, sizeof(SlotRow) * cap);
		}
		RowFromSlot(ts, &rows[n++]);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(ts);
	UnregisterSnapshot(snap);
	index_close(idx, NoLock);
	table_close(rel, NoLock);
	*out = rows;
	return n;
}

/*
 * StockIndexInsert: adds the index entries of a new heap tuple version of
 * rel (an insert, or an update that was not HOT).  The kernel's tables have
 * plain column indexes only.
 */
void
StockIndexInsert(Relation rel, HeapTuple tup)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	TupleTableSlot *ts = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);

	ExecStoreHeapTuple(tup, ts, false);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *info = BuildIndexInfo(idx);
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		if (info->ii_Expressions != NIL || info->ii_Predicate != NIL)
			elog(ERROR, "inventory_erp: index \"%s\" of \"%s\" has expressions, which the kernel does not maintain",
				 RelationGetRelationName(idx), RelationGetRelationName(rel));
		FormIndexDatum(info, ts, NULL, values, isnull);
		index_insert(idx, values, isnull, &tup->t_self, rel,
					 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
		index_close(idx, NoLock);
	}
	ExecDropSingleTupleTableSlot(ts);
	list_free(indexes);
}

static HeapTuple
SlotTuple(Relation rel, const StockKey *key, const SlotRow *row)
{
	Datum		values[Natts_stock_slot];
	bool		nulls[Natts_stock_slot];
	int			s;

	memset(nulls, false, sizeof(nulls));
	values[Anum_stock_slot_item_id - 1] = Int64GetDatum(key->item_id);
	values[Anum_stock_slot_node_id - 1] = Int64GetDatum(key->node_id);
	values[Anum_stock_slot_bin_id - 1] = Int64GetDatum(key->bin_id);
	values[Anum_stock_slot_lot_id - 1] = Int64GetDatum(key->lot_id);
	values[Anum_stock_slot_slot - 1] = Int32GetDatum(row->slot);
	for (s = 0; s < NUM_STOCK_STATES; s++)
		values[Anum_stock_slot_first_state - 1 + s] = Int64GetDatum(row->qty[s]);
	return heap_form_tuple(RelationGetDescr(rel), values, nulls);
}

/* Writes row (owned) as it now is: inserts it, updates it, or deletes it when gone is set. */
static void
DirectWrite(const StockKey *key, SlotRow *row, bool gone)
{
	Relation	rel = SlotOpen();

	if (gone)
	{
		if (row->present)
			simple_heap_delete(rel, &row->tid);
		row->present = false;
	}
	else
	{
		HeapTuple	tup = SlotTuple(rel, key, row);

		if (row->present)
		{
			simple_heap_update(rel, &row->tid, tup);
			if (!HeapTupleIsHeapOnly(tup))
				StockIndexInsert(rel, tup);
		}
		else
		{
			simple_heap_insert(rel, tup);
			StockIndexInsert(rel, tup);
		}
		row->tid = tup->t_self;
		row->present = true;
		heap_freetuple(tup);
	}
	table_close(rel, NoLock);
	/* the next read's snapshot sees this write */
	CommandCounterIncrement();
}

/* ----------------------------------------------------------------
 * Routed access (Citus): statements that name the whole key
 * ----------------------------------------------------------------
 */

#define ROUTED_KEY_WHERE " WHERE item_id = $1 AND node_id = $2 AND bin_id = $3 AND lot_id = $4"
#define ROUTED_STATES "incoming, in_transit, return_pending, available, reserved, picked, packed," \
	" inspection, quarantined, damaged, refurbish, vendor_return"

static int
RoutedRead(const StockKey *key, int32 slot, SlotRow **out)
{
	Datum		values[5];
	Oid			types[5] = {INT8OID, INT8OID, INT8OID, INT8OID, INT4OID};
	SlotRow    *rows;
	uint64		i;

	values[0] = Int64GetDatum(key->item_id);
	values[1] = Int64GetDatum(key->node_id);
	values[2] = Int64GetDatum(key->bin_id);
	values[3] = Int64GetDatum(key->lot_id);
	values[4] = Int32GetDatum(slot);
	if (SPI_execute_with_args(slot >= 0
							  ? "SELECT slot, " ROUTED_STATES " FROM erp.stock_slot" ROUTED_KEY_WHERE " AND slot = $5"
							  : "SELECT slot, " ROUTED_STATES " FROM erp.stock_slot" ROUTED_KEY_WHERE " ORDER BY slot",
							  slot >= 0 ? 5 : 4, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read erp.stock_slot");
	rows = palloc0(sizeof(SlotRow) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			s;

		rows[i].slot = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		for (s = 0; s < NUM_STOCK_STATES; s++)
			rows[i].qty[s] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2 + s, &isnull));
		rows[i].present = true;
	}
	*out = rows;
	return (int) SPI_processed;
}

static void
RoutedWrite(const StockKey *key, SlotRow *row, bool gone)
{
	Datum		values[5 + NUM_STOCK_STATES];
	Oid			types[5 + NUM_STOCK_STATES];
	const char *volatile sql;
	volatile int nargs = 5;
	int			s,
				ret;

	values[0] = Int64GetDatum(key->item_id);
	values[1] = Int64GetDatum(key->node_id);
	values[2] = Int64GetDatum(key->bin_id);
	values[3] = Int64GetDatum(key->lot_id);
	values[4] = Int32GetDatum(row->slot);
	types[0] = types[1] = types[2] = types[3] = INT8OID;
	types[4] = INT4OID;
	for (s = 0; s < NUM_STOCK_STATES; s++)
	{
		values[5 + s] = Int64GetDatum(row->qty[s]);
		types[5 + s] = INT8OID;
	}
	if (gone)
		sql = "DELETE FROM erp.stock_slot" ROUTED_KEY_WHERE " AND slot = $5";
	else if (row->present)
	{
		sql = "UPDATE erp.stock_slot SET incoming = $6, in_transit = $7, return_pending = $8, available = $9,"
			" reserved = $10, picked = $11, packed = $12, inspection = $13, quarantined = $14, damaged = $15,"
			" refurbish = $16, vendor_return = $17" ROUTED_KEY_WHERE " AND slot = $5";
		nargs += NUM_STOCK_STATES;
	}
	else
	{
		sql = "INSERT INTO erp.stock_slot (item_id, node_id, bin_id, lot_id, slot, " ROUTED_STATES ")"
			" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
		nargs += NUM_STOCK_STATES;
	}
	routed_write_depth++;
	PG_TRY();
	{
		ret = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	}
	PG_FINALLY();
	{
		routed_write_depth--;
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "inventory_erp: erp.stock_slot write failed: %s", SPI_result_code_string(ret));
	row->present = !gone;
}

/* ----------------------------------------------------------------
 * Slot rows, whichever the path
 * ----------------------------------------------------------------
 */

static int
ReadSlots(const StockKey *key, SlotRow **rows)
{
	return StockDirectAccess() ? DirectRead(key, -1, rows) : RoutedRead(key, -1, rows);
}

/* Reads one slot (owned: the newest version) into row; an absent slot reads as zeros. */
static void
ReadSlot(const StockKey *key, int32 slot, SlotRow *row)
{
	SlotRow    *rows;
	int			n = StockDirectAccess() ? DirectRead(key, slot, &rows) : RoutedRead(key, slot, &rows);

	if (n == 1)
		*row = rows[0];
	else
	{
		memset(row, 0, sizeof(SlotRow));
		row->slot = slot;
	}
	row->held = true;
	pfree(rows);
}

/*
 * Applies per-state deltas to an owned row and writes it.  An overflow slot
 * (numbered balance_slots or above) that then holds nothing is deleted.
 */
static void
SlotChange(const StockKey *key, SlotRow *row, const int64 *delta)
{
	bool		empty = true;
	int			s;

	Assert(row->held);
	for (s = 0; s < NUM_STOCK_STATES; s++)
	{
		row->qty[s] += delta[s];
		if (row->qty[s] != 0)
			empty = false;
	}
	if (!row->present && empty)
		return;
	if (StockDirectAccess())
		DirectWrite(key, row, empty && row->slot >= ierp_balance_slots);
	else
		RoutedWrite(key, row, empty && row->slot >= ierp_balance_slots);
}

static bool
SlotLock(const StockKey *key, int32 slot, bool may_wait, bool force)
{
	LOCKTAG		tag;

	StockSlotTag(&tag, key->item_id, key->node_id, key->bin_id, key->lot_id, slot);
	return StockTagLock(&tag, may_wait, force);
}

static bool
SlotOwned(const StockKey *key, int32 slot)
{
	LOCKTAG		tag;

	StockSlotTag(&tag, key->item_id, key->node_id, key->bin_id, key->lot_id, slot);
	return StockTagHeld(&tag);
}

/* Where a session starts looking among the slots, so sessions spread out. */
static int32
SlotOffset(void)
{
	return (int32) (MyProcPid % 64);
}

/* Orders slot rows for a single-slot take: overflow slots first, then from the backend's offset. */
static int
SlotPreferenceCmp(const void *a, const void *b)
{
	const SlotRow *x = (const SlotRow *) a;
	const SlotRow *y = (const SlotRow *) b;
	int32		off = SlotOffset();
	bool		xo = x->slot >= ierp_balance_slots;
	bool		yo = y->slot >= ierp_balance_slots;
	int32		xk,
				yk;

	if (xo != yo)
		return xo ? -1 : 1;
	xk = (x->slot + off) % 64;
	yk = (y->slot + off) % 64;
	if (xk != yk)
		return xk < yk ? -1 : 1;
	return x->slot < y->slot ? -1 : (x->slot > y->slot ? 1 : 0);
}

static bool
SlotPresent(const SlotRow *rows, int n, int32 slot)
{
	int			i;

	for (i = 0; i < n; i++)
		if (rows[i].slot == slot)
			return true;
	return false;
}

/*
 * Owns one slot row of key for an add or a held take, never waiting out of
 * the global order: a slot it owns already or can own at once (regular
 * slots first), else a free regular number, else one regular slot chosen by
 * backend after waiting for it when the order allows, else an overflow slot
 * of its own (numbered balance_slots + pgprocno first).  *row is read after
 * owning it.
 */
static void
OwnAnySlot(const StockKey *key, SlotRow *row)
{
	SlotRow    *rows;
	int			n = ReadSlots(key, &rows);
	int			i,
				k;
	int32		s;

	qsort(rows, n, sizeof(SlotRow), SlotPreferenceCmp);
	for (i = 0; i < n; i++)
		if (rows[i].slot < ierp_balance_slots && SlotLock(key, rows[i].slot, false, false))
			goto owned;
	for (s = 0; s < ierp_balance_slots; s++)
		if (!SlotPresent(rows, n, s) && SlotLock(key, s, false, false))
		{
			pfree(rows);
			ReadSlot(key, s, row);
			return;
		}
	for (i = 0; i < n; i++)
		if (rows[i].slot >= ierp_balance_slots && SlotOwned(key, rows[i].slot))
			goto owned;
	pfree(rows);
	s = SlotOffset() % ierp_balance_slots;
	if (SlotLock(key, s, true, false))
	{
		ReadSlot(key, s, row);
		return;
	}
	for (k = 0; k < 64; k++)
	{
		s = ierp_balance_slots + MyProc->pgprocno + k * 1024;
		if (SlotLock(key, s, false, false))
		{
			ReadSlot(key, s, row);
			return;
		}
	}
	elog(ERROR, "inventory_erp: no slot free for item " INT64_FORMAT " at node " INT64_FORMAT,
		 key->item_id, key->node_id);

owned:
	s = rows[i].slot;
	pfree(rows);
	ReadSlot(key, s, row);
}

/*
 * Owns every slot of key: waiting where the global order allows (may_wait)
 * or whatever the order (force), else trying.  Then reads the rows again
 * (the owners it waited for have ended) and tries the slots created
 * meanwhile, reading again when it got one, so that every owned row is read
 * after it was owned.  Returns the rows with held set.
 */
static int
OwnAllSlots(const StockKey *key, bool may_wait, bool force, SlotRow **out)
{
	SlotRow    *rows;
	int			n = ReadSlots(key, &rows);
	int			i,
				round;

	for (i = 0; i < n; i++)
		(void) SlotLock(key, rows[i].slot, may_wait, force);
	for (round = 0;; round++)
	{
		bool		more = false;

		pfree(rows);
		n = ReadSlots(key, &rows);
		for (i = 0; i < n; i++)
		{
			rows[i].held = SlotOwned(key, rows[i].slot);
			if (!rows[i].held && round < 16 && SlotLock(key, rows[i].slot, false, false))
				more = true;
		}
		if (!more)
			break;
	}
	*out = rows;
	return n;
}

/* ----------------------------------------------------------------
 * Takes and adds
 * ----------------------------------------------------------------
 */

/* Whether a move's destination is the balance of its source (a change of state in place). */
static bool
SameBalance(const StockMove *m)
{
	return m->from_state != STATE_OUTSIDE && m->to_state != STATE_OUTSIDE &&
		m->from_node_id == m->to_node_id && m->from_bin_id == m->to_bin_id;
}

/* Takes part units of m's source state from an owned row, adding them to its destination state when in place. */
static void
TakeFromRow(const StockMove *m, const StockKey *key, SlotRow *row, int64 part)
{
	int64		delta[NUM_STOCK_STATES];

	memset(delta, 0, sizeof(delta));
	delta[m->from_state] = -part;
	if (SameBalance(m))
		delta[m->to_state] += part;
	SlotChange(key, row, delta);
}

/*
 * The single-slot take: tries the slots that hold at least need (as read),
 * overflow first, then from the backend's offset; takes qty from the first
 * one it owns at once and that, read again, still holds need.  Never waits.
 */
static bool
TakeFast(const StockMove *m, const StockKey *key, int64 need)
{
	SlotRow    *rows;
	int			n = ReadSlots(key, &rows);
	int			i;

	qsort(rows, n, sizeof(SlotRow), SlotPreferenceCmp);
	for (i = 0; i < n; i++)
	{
		SlotRow		row;

		if (rows[i].qty[m->from_state] < need || !SlotLock(key, rows[i].slot, false, false))
			continue;
		ReadSlot(key, rows[i].slot, &row);
		if (row.qty[m->from_state] >= need)
		{
			TakeFromRow(m, key, &row, m->qty);
			pfree(rows);
			return true;
		}
	}
	pfree(rows);
	return false;
}

/*
 * A flash sale in full swing: the balance is far above the floor, but every
 * slot that holds enough is owned.  Waits for one such slot chosen by
 * backend (so that waiting sessions form as many queues as there are
 * slots) when the global order allows, takes qty, and moves shares of the
 * slot into free regular numbers it can own at once, so that the next
 * sessions find one of their own.
 */
static bool
TakeWaitingForOne(const StockMove *m, const StockKey *key, int64 need)
{
	SlotRow    *rows;
	int			n = ReadSlots(key, &rows);
	int64		total = 0;
	int			i;
	SlotRow    *pick = NULL;
	SlotRow		row;

	for (i = 0; i < n; i++)
		total += rows[i].qty[m->from_state];
	if (total < m->floor + m->qty * ((int64) ierp_balance_slots + 1))
	{
		pfree(rows);
		return false;
	}
	qsort(rows, n, sizeof(SlotRow), SlotPreferenceCmp);
	for (i = 0; i < n && pick == NULL; i++)
		if (rows[i].slot < ierp_balance_slots && rows[i].qty[m->from_state] >= need)
			pick = &rows[i];
	if (pick == NULL || !SlotLock(key, pick->slot, true, false))
	{
		pfree(rows);
		return false;
	}
	ReadSlot(key, pick->slot, &row);
	if (row.qty[m->from_state] < need)
	{
		pfree(rows);
		return false;
	}
	TakeFromRow(m, key, &row, m->qty);

	/* too few slots for the sessions queueing here: spread shares over free numbers */
	{
		int64		keep = row.qty[m->from_state];
		int32		s;
		int			nfree = 0;
		int64		add;

		for (s = 0; s < ierp_balance_slots; s++)
			if (!SlotPresent(rows, n, s))
				nfree++;
		add = Min(nfree, keep / (2 * need) - 1);
		if (add > 0)
		{
			int64		share = keep / (add + 1);
			int64		moved = 0;

			for (s = 0; s < ierp_balance_slots && add > 0; s++)
			{
				SlotRow		fresh;
				int64		delta[NUM_STOCK_STATES];

				if (SlotPresent(rows, n, s) || !SlotLock(key, s, false, false))
					continue;
				ReadSlot(key, s, &fresh);
				memset(delta, 0, sizeof(delta));
				delta[m->from_state] = share;
				SlotChange(key, &fresh, delta);
				moved += share;
				add--;
			}
			if (moved > 0)
			{
				int64		delta[NUM_STOCK_STATES];

				memset(delta, 0, sizeof(delta));
				delta[m->from_state] = -moved;
				SlotChange(key, &row, delta);
			}
		}
	}
	pfree(rows);
	return true;
}

/*
 * The exact take: owns every slot (SlotsOwnAll), decides on the total of
 * the owned rows, folds overflow slots into a regular one, takes from the
 * owned rows, and, under contention with a large remainder, spreads the
 * source state over as many slots as can each serve this request twice.
 * Returns the units taken; *held is the owned total.
 */
static int64
TakeExact(const StockMove *m, const StockKey *key, int64 want_at_least, bool *contended, int64 *held)
{
	SlotRow    *rows;
	int			n = OwnAllSlots(key, true, false, &rows);
	int64		total = 0;
	int64		take;
	int64		need = m->qty + m->floor;
	bool		all = true;
	int			i;
	StockState	st = m->from_state;

	for (i = 0; i < n; i++)
	{
		all = all && rows[i].held;
		if (rows[i].held)
			total += rows[i].qty[st];
	}
	if (total < want_at_least && !all)
	{
		/* the one case that waits against the order (doc/concurrency.md) */
		pfree(rows);
		n = OwnAllSlots(key, true, true, &rows);
		total = 0;
		all = true;
		for (i = 0; i < n; i++)
		{
			all = all && rows[i].held;
			if (rows[i].held)
				total += rows[i].qty[st];
		}
	}
	*held = total;
	take = Min(m->qty, total - m->floor);
	if (take < m->qty)
		for (i = 0; i < n; i++)
			if (!rows[i].held && rows[i].qty[st] > 0)
				*contended = true;
	if (want_at_least > 0 && take < want_at_least)
	{
		pfree(rows);
		return -1;
	}
	if (take <= 0)
	{
		pfree(rows);
		return 0;
	}

	{
		int64		target_slots = Min((int64) ierp_balance_slots, (total - take) / Max(2 * need, 1));
		int64		well_filled = 0;
		int32		s;

		for (i = 0; i < n; i++)
			if (rows[i].held && rows[i].qty[st] >= need)
				well_filled++;
		for (s = 0; all && s < target_slots; s++)
			if (!SlotPresent(rows, n, s) && !SlotLock(key, s, false, false))
				all = false;
		if (all && target_slots >= 2 && well_filled * 2 < target_slots)
		{
			/* contention brought us here: the remainder, spread evenly over target_slots rows */
			int64		remain = total - take;
			int64		share = remain / target_slots;
			int64		extra = remain % target_slots;
			bool		in_place = SameBalance(m);
			bool		added = !in_place;

			for (i = 0; i < n; i++)
			{
				int64		delta[NUM_STOCK_STATES];

				memset(delta, 0, sizeof(delta));
				if (rows[i].slot < target_slots)
					delta[st] = share + (rows[i].slot < extra ? 1 : 0) - rows[i].qty[st];
				else
					delta[st] = -rows[i].qty[st];
				if (!added)
				{
					delta[m->to_state] += take;
					added = true;
				}
				SlotChange(key, &rows[i], delta);
			}
			for (s = 0; s < target_slots; s++)
				if (!SlotPresent(rows, n, s))
				{
					SlotRow		fresh;
					int64		delta[NUM_STOCK_STATES];

					ReadSlot(key, s, &fresh);
					memset(delta, 0, sizeof(delta));
					delta[st] = share + (s < extra ? 1 : 0);
					if (!added)
					{
						delta[m->to_state] += take;
						added = true;
					}
					SlotChange(key, &fresh, delta);
				}
			pfree(rows);
			return take;
		}
	}

	/* take from the owned rows: overflow slots first (from the end), then regular ones */
	{
		int64		left = take;
		int			k;

		for (k = n - 1; k >= 0 && left > 0; k--)
		{
			int64		part;

			if (!rows[k].held || rows[k].slot < ierp_balance_slots || rows[k].qty[st] <= 0)
				continue;
			part = Min(rows[k].qty[st], left);
			TakeFromRow(m, key, &rows[k], part);
			left -= part;
		}
		for (k = 0; k < n && left > 0; k++)
		{
			int64		part;

			if (!rows[k].held || rows[k].slot >= ierp_balance_slots || rows[k].qty[st] <= 0)
				continue;
			part = Min(rows[k].qty[st], left);
			TakeFromRow(m, key, &rows[k], part);
			left -= part;
		}
		Assert(left == 0);
	}
	pfree(rows);
	return take;
}

/*
 * StockSlotsTake: takes the units of move m from its source balance (and,
 * for a change of state in place, adds them to the destination state of
 * the same rows).  Sets *taken; returns false, changing nothing, when a
 * STOCK_TAKE_ALL source holds fewer than qty (*held: what it holds).
 */
bool
StockSlotsTake(const StockMove *m, int64 *taken, bool *contended, int64 *held)
{
	StockKey	key = {m->item_id, m->from_node_id, m->from_bin_id, m->lot_id};
	int64		got;

	*contended = false;
	*held = 0;
	if (m->take == STOCK_TAKE_HELD)
	{
		SlotRow		row;

		OwnAnySlot(&key, &row);
		TakeFromRow(m, &key, &row, m->qty);
		*taken = m->qty;
		return true;
	}
	if (TakeFast(m, &key, m->qty + m->floor))
	{
		*taken = m->qty;
		return true;
	}
	if (m->take == STOCK_TAKE_UP_TO && TakeWaitingForOne(m, &key, m->qty + m->floor))
	{
		*taken = m->qty;
		return true;
	}
	got = TakeExact(m, &key, m->take == STOCK_TAKE_ALL ? m->qty : 0, contended, held);
	if (got < 0)
		return false;
	*taken = got;
	return true;
}

/* StockSlotsAdd: adds qty units to the destination state of m, in a slot it owns at once where it can. */
void
StockSlotsAdd(const StockMove *m, int64 qty)
{
	StockKey	key = {m->item_id, m->to_node_id, m->to_bin_id, m->lot_id};
	SlotRow		row;
	int64		delta[NUM_STOCK_STATES];

	OwnAnySlot(&key, &row);
	memset(delta, 0, sizeof(delta));
	delta[m->to_state] = qty;
	SlotChange(&key, &row, delta);
}

/* StockRead: the quantity per state of a balance key, summed over its slots, without locking. */
void
StockRead(const StockKey *key, int64 *qty_by_state)
{
	SlotRow    *rows;
	int			n = ReadSlots(key, &rows);
	int			i,
				s;

	memset(qty_by_state, 0, sizeof(int64) * NUM_STOCK_STATES);
	for (i = 0; i < n; i++)
		for (s = 0; s < NUM_STOCK_STATES; s++)
			qty_by_state[s] += rows[i].qty[s];
	pfree(rows);
}

/* StockGet: one state of a node's balance (the node's stock outside bins). */
int64
StockGet(int64 item_id, int64 node_id, int64 lot_id, StockState state)
{
	StockKey	key = {item_id, node_id, 0, lot_id};
	int64		qty[NUM_STOCK_STATES];

	StockRead(&key, qty);
	return qty[state];
}

/* Orders lot quantities by lot id. */
static int
LotQtyCmp(const void *a, const void *b)
{
	const StockLotQty *x = a,
			   *y = b;

	return x->lot_id < y->lot_id ? -1 : (x->lot_id > y->lot_id ? 1 : 0);
}

/*
 * StockLockLots: see kernel.h.  The lots of the item at the node are those
 * with a slot row; every slot of each is owned (waiting only where the
 * order allows, decided once for the smallest tag of the node) and only
 * owned slots count.
 */
int
StockLockLots(int64 item_id, int64 node_id, StockState state, StockLotQty **out, bool *contended)
{
	static SPIPlanPtr plan = NULL;
	LOCKTAG		first;
	bool		wait;
	int64	   *lot_ids;
	int			nlots = 0,
				l;
	StockLotQty *lots;
	uint64		i;

	StockSlotTag(&first, item_id, node_id, 0, 0, 0);
	wait = StockTagMayWait(&first);
	*contended = false;
	IerpPlan(&plan,
			 "SELECT DISTINCT lot_id FROM erp.stock_slot"
			 " WHERE item_id = $1 AND node_id = $2 AND bin_id = 0 ORDER BY lot_id",
			 2, (Oid[]) {INT8OID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), Int64GetDatum(node_id)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the lots of a balance");
	lot_ids = palloc(sizeof(int64) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		lot_ids[nlots++] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	lots = palloc0(sizeof(StockLotQty) * Max(nlots, 1));
	for (l = 0; l < nlots; l++)
	{
		StockKey	key = {item_id, node_id, 0, lot_ids[l]};
		SlotRow    *rows;
		int			n = OwnAllSlots(&key, wait, false, &rows);
		int			k;

		lots[l].lot_id = lot_ids[l];
		for (k = 0; k < n; k++)
		{
			if (rows[k].held)
				lots[l].qty += rows[k].qty[state];
			else if (rows[k].qty[state] > 0)
				*contended = true;
		}
		pfree(rows);
	}
	qsort(lots, nlots, sizeof(StockLotQty), LotQtyCmp);
	pfree(lot_ids);
	*out = lots;
	return nlots;
}

/*
 * ierp_stock_slot_guard: trigger on erp.stock_slot (INSERT row level;
 * UPDATE, DELETE, TRUNCATE statement level) and on the view
 * erp.stock_balance (INSTEAD OF), refusing every write that is not the
 * kernel's own (IE005).  Rows reloaded by pg_restore in restore mode are
 * history and let in.
 */
Datum
ierp_stock_slot_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_stock_slot_guard must be called as a trigger");
	if (routed_write_depth > 0 && !TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) &&
		!TRIGGER_FIRED_INSTEAD(trigdata->tg_event))
		return TRIGGER_FIRED_FOR_ROW(trigdata->tg_event)
			? PointerGetDatum(trigdata->tg_trigtuple) : PointerGetDatum(NULL);
	if (ierp_restore_mode && TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && !TRIGGER_FIRED_INSTEAD(trigdata->tg_event))
		return PointerGetDatum(trigdata->tg_trigtuple);
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPEND_ONLY),
			 errmsg("%s is derived from the ledger and cannot be written directly",
					TRIGGER_FIRED_INSTEAD(trigdata->tg_event) ? "erp.stock_balance" : "erp.stock_slot"),
			 errdetail("Balances change only when a move is recorded in erp.stock_move."),
			 errhint("Use erp.receive() or erp.move() to change stock.")));
	PG_RETURN_NULL();
}

/* StockSlotsInit: the relcache callback that forgets erp.stock_slot's OID and distribution. */
void
StockSlotsInit(void)
{
	CacheRegisterRelcacheCallback(SlotRelcacheInvalidate, (Datum) 0);
}
