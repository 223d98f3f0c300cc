/*-------------------------------------------------------------------------
 *
 * maintenance_slots.c
 *	  erp.compact_slots(): deletes the rows of erp.stock_slot whose every
 *	  state is zero.  The stock kernel creates a slot row when it first
 *	  writes a slot and never deletes one, so a balance that was emptied
 *	  (or spread over slots during a flash sale) leaves dead rows behind.
 *
 *	  Each row is deleted under the slot's ownership lock, the same lock
 *	  the kernel takes before it reads a slot for writing (src/stock/locks.h,
 *	  used read-only here): a slot that another transaction owns now is
 *	  skipped, never waited for, and a slot deleted here is recreated by
 *	  the kernel's next write as any new slot is.  The row is re-read under
 *	  the lock with a new snapshot, so a slot filled in the meantime stays.
 *	  The delete goes to the heap directly: the guard trigger on
 *	  erp.stock_slot refuses every write that is not the kernel's, and this
 *	  is one (nothing a balance sums changes).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/itemptr.h"
#include "storage/lock.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ierp.h"
#include "stock/locks.h"

IERP_OWNER_ENTRY(ierp_maintenance_compact_slots);

/* a slot's key, as erp.stock_slot's primary key */
typedef struct SlotKey
{
	int64		item_id;
	int64		node_id;
	int64		bin_id;
	int64		lot_id;
	int32		slot;
} SlotKey;

#define EMPTY_SLOT_CONDITION \
	"incoming = 0 AND in_transit = 0 AND return_pending = 0 AND available = 0" \
	" AND reserved = 0 AND picked = 0 AND packed = 0 AND inspection = 0" \
	" AND quarantined = 0 AND damaged = 0 AND refurbish = 0 AND vendor_return = 0"

static int64
SlotInt(int col, int row)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	if (isnull)
		elog(ERROR, "inventory_erp: erp.stock_slot key column %d is NULL", col);
	return SPI_gettypeid(SPI_tuptable->tupdesc, col) == INT4OID
		? (int64) DatumGetInt32(d) : DatumGetInt64(d);
}

/*
 * SlotStillEmpty: under the slot's lock, the row's ctid if the slot row
 * exists and is still empty, as the latest committed data say.
 */
static bool
SlotStillEmpty(const SlotKey *key, ItemPointer tid)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[5] = {INT8OID, INT8OID, INT8OID, INT8OID, INT4OID};
	Datum		values[5];
	bool		isnull;
	Datum		d;

	IerpPlan(&plan,
			 "SELECT ctid FROM erp.stock_slot"
			 " WHERE item_id = $1 AND node_id = $2 AND bin_id = $3 AND lot_id = $4 AND slot = $5"
			 "   AND " EMPTY_SLOT_CONDITION,
			 5, argtypes);
	values[0] = Int64GetDatum(key->item_id);
	values[1] = Int64GetDatum(key->node_id);
	values[2] = Int64GetDatum(key->bin_id);
	values[3] = Int64GetDatum(key->lot_id);
	values[4] = Int32GetDatum(key->slot);
	/* not read-only: a new snapshot, taken after the lock was granted */
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: reading a slot of erp.stock_slot failed");
	if (SPI_processed != 1)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	ItemPointerCopy((ItemPointer) DatumGetPointer(d), tid);
	return true;
}

/*
 * erp.compact_slots(max_rows): deletes at most max_rows empty slot rows,
 * skipping slots another transaction owns; returns how many it deleted.
 * Refused: max_rows below 1 (IE004); a transaction snapshot (REPEATABLE
 * READ, SERIALIZABLE), under which a row could not be re-read as committed
 * after the lock (IE010).
 */
static Datum
ierp_maintenance_compact_slots_body(PG_FUNCTION_ARGS)
{
	int32		max_rows = PG_ARGISNULL(0) ? 10000 : PG_GETARG_INT32(0);
	SlotKey    *keys;
	uint64		nkeys;
	uint64		i;
	int64		deleted = 0;
	Relation	rel;
	MemoryContext callcxt;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	char		query[512];

	if (max_rows < 1)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid max_rows %d for erp.compact_slots", max_rows),
				 errdetail("At least one row is compacted per call.")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("erp.compact_slots cannot run in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errdetail("Each slot is re-read after its lock is granted, which needs a new snapshot."),
				 errhint("Call it in a READ COMMITTED transaction (the default).")));

	callcxt = AllocSetContextCreate(CurrentMemoryContext, "erp.compact_slots",
									ALLOCSET_DEFAULT_SIZES);
	rowcxt = AllocSetContextCreate(callcxt, "erp.compact_slots row",
								   ALLOCSET_SMALL_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");

	/* the candidates, read once; each is checked again under its lock */
	snprintf(query, sizeof(query),
			 "SELECT item_id, node_id, bin_id, lot_id, slot FROM erp.stock_slot"
			 " WHERE " EMPTY_SLOT_CONDITION
			 " ORDER BY item_id, node_id, bin_id, lot_id, slot LIMIT %d", max_rows);
	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: listing the empty slots of erp.stock_slot failed");
	nkeys = SPI_processed;
	keys = MemoryContextAlloc(callcxt, sizeof(SlotKey) * Max(nkeys, 1));
	for (i = 0; i < nkeys; i++)
	{
		keys[i].item_id = SlotInt(1, i);
		keys[i].node_id = SlotInt(2, i);
		keys[i].bin_id = SlotInt(3, i);
		keys[i].lot_id = SlotInt(4, i);
		keys[i].slot = (int32) SlotInt(5, i);
	}
	SPI_freetuptable(SPI_tuptable);

	rel = table_open(IerpRelid("stock_slot"), RowExclusiveLock);
	for (i = 0; i < nkeys; i++)
	{
		LOCKTAG		tag;
		ItemPointerData tid;

		oldcxt = MemoryContextSwitchTo(rowcxt);
		StockSlotTag(&tag, keys[i].item_id, keys[i].node_id, keys[i].bin_id,
					 keys[i].lot_id, keys[i].slot);
		/* only tried: a slot someone owns is in use, not to be compacted */
		if (!StockTagHeld(&tag) && StockTagLock(&tag, false, false))
		{
			if (SlotStillEmpty(&keys[i], &tid))
			{
				simple_heap_delete(rel, &tid);
				deleted++;
			}
			SPI_freetuptable(SPI_tuptable);
			/* kept until commit, so no writer fills the slot before the delete is visible */
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(rowcxt);
		CHECK_FOR_INTERRUPTS();
	}
	table_close(rel, NoLock);
	CommandCounterIncrement();

	SPI_finish();
	MemoryContextDelete(callcxt);
	PG_RETURN_INT64(deleted);
}
