/*-------------------------------------------------------------------------
 *
 * slot_rows.c
 *	  Reading and writing the rows of erp.stock_slot for the stock kernel:
 *	  directly on one node (index scan on the key, heap update or insert and
 *	  their index entries, no triggers), or through routed SQL statements
 *	  that name the whole key when Citus distributes the table (which one:
 *	  StockDirectAccess, access_path.c).  Also the guard that
 *	  refuses every other write of erp.stock_slot and erp.stock_balance
 *	  (IE005).  Which rows to take from is slots.c's business.
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
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "stock/slot_rows.h"

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

/*
 * The slot rows StockItemByNode last read directly, for the take that
 * usually follows in the same transaction (allocation reads an item's stock
 * at every node, then takes at the node it chose): SlotsReadRecent hands
 * them out once instead of a second index scan.  They only suggest which
 * slot to try; the take re-reads the slot it owns (slots.c).
 */
#define RECENT_SLOTS_MAX 32
typedef struct RecentSlot
{
	int64		node_id;
	int64		bin_id;
	int64		lot_id;
	SlotRow		row;
} RecentSlot;

static struct
{
	LocalTransactionId lxid;	/* the transaction that read them */
	int64		item_id;		/* 0: none to hand out */
	int			n;
	RecentSlot	slots[RECENT_SLOTS_MAX];
}			recent;

/* ----------------------------------------------------------------
 * The relation (the path, direct or routed, is access_path.c's)
 * ----------------------------------------------------------------
 */

static Oid	slot_relid = InvalidOid;

static void
SlotRelcacheInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == slot_relid)
		slot_relid = InvalidOid;
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

/* ----------------------------------------------------------------
 * Direct access
 * ----------------------------------------------------------------
 */

/*
 * Opens erp.stock_slot to write its rows (or lock them for a write), or only
 * to read them, checking once per backend that its columns are where this
 * file says.  A write in a read-only transaction, as every transaction of a
 * hot standby is, is refused here with PostgreSQL's own error (25006), before
 * a row lock asks for a transaction id a standby cannot assign.
 */
static Relation
SlotOpen(bool write)
{
	static Oid	checked = InvalidOid;
	Relation	rel;

	if (write)
		PreventCommandIfReadOnly("a stock move");
	rel = table_open(SlotRelid(), write ? RowExclusiveLock : AccessShareLock);

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
	Relation	rel = SlotOpen(true);
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
	Relation	rel = SlotOpen(true);

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

/*
 * StockItemByNode: the quantity per state of an item at each node, summed
 * over bins, lots and slots (committed, or this transaction's), without
 * locking; *out gets one entry per node with slot rows, in node order.
 */
int
StockItemByNode(int64 item_id, StockNodeQty **out)
{
	int			n = 0,
				cap = 4;
	StockNodeQty *nodes = palloc0(sizeof(StockNodeQty) * cap);

	if (StockDirectAccess())
	{
		Relation	rel = SlotOpen(false);
		Relation	idx = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
		Snapshot	snap = RegisterSnapshot(GetLatestSnapshot());
		ScanKeyData sk[1];
		IndexScanDesc scan;
		TupleTableSlot *ts = table_slot_create(rel, NULL);

		ScanKeyInit(&sk[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(item_id));
		scan = index_beginscan(rel, idx, snap, 1, 0);
		index_rescan(scan, sk, 1, NULL, 0);
		recent.lxid = MyProc->lxid;
		recent.item_id = item_id;
		recent.n = 0;
		while (index_getnext_slot(scan, ForwardScanDirection, ts))
		{
			int64		node_id;
			int			st;

			/* one pass over the row's columns, not one call per state */
			slot_getallattrs(ts);
			node_id = DatumGetInt64(ts->tts_values[Anum_stock_slot_node_id - 1]);
			if (recent.n < RECENT_SLOTS_MAX)
			{
				RecentSlot *r = &recent.slots[recent.n++];

				r->node_id = node_id;
				r->bin_id = DatumGetInt64(ts->tts_values[Anum_stock_slot_bin_id - 1]);
				r->lot_id = DatumGetInt64(ts->tts_values[Anum_stock_slot_lot_id - 1]);
				RowFromSlot(ts, &r->row);
			}
			else
				recent.item_id = 0;		/* too many to keep: hand out none */

			if (n == 0 || nodes[n - 1].node_id != node_id)
			{
				if (n == cap)
				{
					cap *= 2;
					nodes = repalloc(nodes, sizeof(StockNodeQty) * cap);
				}
				memset(&nodes[n], 0, sizeof(StockNodeQty));
				nodes[n++].node_id = node_id;
			}
			for (st = 0; st < NUM_STOCK_STATES; st++)
				nodes[n - 1].qty[st] += DatumGetInt64(ts->tts_values[Anum_stock_slot_first_state - 1 + st]);
		}
		index_endscan(scan);
		ExecDropSingleTupleTableSlot(ts);
		UnregisterSnapshot(snap);
		index_close(idx, NoLock);
		table_close(rel, NoLock);
	}
	else
	{
		uint64		i;

		if (SPI_execute_with_args("SELECT node_id, sum(incoming), sum(in_transit), sum(return_pending), sum(available),"
								  " sum(reserved), sum(picked), sum(packed), sum(inspection), sum(quarantined),"
								  " sum(damaged), sum(refurbish), sum(vendor_return)"
								  "  FROM erp.stock_slot WHERE item_id = $1 GROUP BY node_id ORDER BY node_id",
								  1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(item_id)}, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read the stock of an item");
		nodes = repalloc(nodes, sizeof(StockNodeQty) * Max(SPI_processed, 1));
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int			st;

			nodes[i].node_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			for (st = 0; st < NUM_STOCK_STATES; st++)
			{
				Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2 + st, &isnull);

				nodes[i].qty[st] = isnull ? 0 : DatumGetInt64(DirectFunctionCall1(numeric_int8, d));
			}
		}
		n = (int) SPI_processed;
	}
	*out = nodes;
	return n;
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

/* SlotsRead: every slot row of key, in slot order (see DirectRead). */
int
SlotsRead(const StockKey *key, SlotRow **rows)
{
	return StockDirectAccess() ? DirectRead(key, -1, rows) : RoutedRead(key, -1, rows);
}

/*
 * SlotsReadRecent: the rows of key among those StockItemByNode read last in
 * this transaction, handed out once; returns how many (into a palloc'd
 * array), or -1 when there are none to hand out for key's item.  Other
 * transactions may have changed them since: a hint, not an answer.
 */
int
SlotsReadRecent(const StockKey *key, SlotRow **rows)
{
	int			i,
				n = 0;

	if (recent.item_id == 0 || recent.item_id != key->item_id || recent.lxid != MyProc->lxid)
		return -1;
	recent.item_id = 0;
	*rows = palloc(sizeof(SlotRow) * Max(recent.n, 1));
	for (i = 0; i < recent.n; i++)
		if (recent.slots[i].node_id == key->node_id && recent.slots[i].bin_id == key->bin_id &&
			recent.slots[i].lot_id == key->lot_id)
			(*rows)[n++] = recent.slots[i].row;
	return n;
}

/* SlotReadOne: reads one slot (owned: the newest version) into row; an absent slot reads as zeros. */
void
SlotReadOne(const StockKey *key, int32 slot, SlotRow *row)
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
 * SlotChange: applies per-state deltas to an owned row and writes it.  An overflow slot
 * (numbered balance_slots or above) that then holds nothing is deleted.
 */
void
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

/*
 * StockShardWriteRouted: whether a write that fires a guard on rel is a
 * routed statement of the stock kernel that Citus sent to one of rel's
 * shards from another backend (the coordinator, or the worker a client
 * called): the kernel's own count of routed statements (routed_write_depth,
 * routed_insert_depth in journal.c) lives in that backend, not in this one.
 * Such a write comes on a connection Citus opened (application_name
 * citus_internal...) as the table's owner, which the public functions act as
 * (IerpCallAsOwner); another role has no right to write these tables at all
 * (42501 before anything reaches a shard).  What this cannot tell apart is a
 * superuser's own direct write through Citus: doc/scaling.md says so.  False
 * for the table itself (one node, or Citus's local execution in this
 * backend, where the depth counts).
 */
bool
StockShardWriteRouted(Relation rel)
{
	/* the kernel's tables whose guards count the kernel's own writes in its backend */
	static const char *const guarded[] = {
		"stock_slot", "stock_move", "cost_entry", "cost_balance", "cost_delta", "cost_layer",
		"landed_cost", "landed_cost_line"
	};
	const char *name = RelationGetRelationName(rel);
	const char *app = application_name;
	Oid			logical = InvalidOid;
	int			i;

	if (app == NULL || strncmp(app, "citus_internal", strlen("citus_internal")) != 0)
		return false;
	/* a shard is named <table>_<shard id> */
	for (i = 0; i < lengthof(guarded) && !OidIsValid(logical); i++)
	{
		size_t		len = strlen(guarded[i]);
		const char *p = name + len + 1;

		if (strncmp(name, guarded[i], len) != 0 || name[len] != '_' || *p == '\0')
			continue;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == '\0')
			logical = IerpRelid(guarded[i]);
	}
	if (!OidIsValid(logical) || logical == RelationGetRelid(rel) ||
		RelationGetNamespace(rel) != get_rel_namespace(logical))
		return false;
	return GetUserId() == rel->rd_rel->relowner || superuser();
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
	if ((routed_write_depth > 0 || StockShardWriteRouted(trigdata->tg_relation)) &&
		!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) &&
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

/* StockSlotsInit: the relcache callback that forgets erp.stock_slot's OID. */
void
StockSlotsInit(void)
{
	IerpRegisterRelcacheCallback(SlotRelcacheInvalidate, (Datum) 0);
}
