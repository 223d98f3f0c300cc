/*-------------------------------------------------------------------------
 *
 * balance.c
 *	  The balances behind erp.stock_balance: adding units to and taking units
 *	  from a (item, node, lot, state) balance, and the guard that refuses
 *	  every other write to the table (IE005).
 *
 *	  A balance is the sum of one or more slot rows.  One slot is the norm.
 *	  When sessions contend for one balance (a flash sale of one SKU), writers
 *	  pick a slot nobody holds (FOR UPDATE SKIP LOCKED) instead of queueing on
 *	  one row lock until the holder's commit is flushed; an add never waits
 *	  (it opens a slot of its own); a taker that finds every slot held or too
 *	  small locks them all in slot order, takes what it needs exactly, and
 *	  may spread what remains over up to inventory_erp.balance_slots slots.  doc/concurrency.md explains why this
 *	  never oversells.
 *
 *	  Only this file writes erp.stock_balance; it raises its write flag around
 *	  its own statements and the guard trigger refuses everything else.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"

#include "access/transam.h"
#include "access/xact.h"

#include "ierp.h"
#include "orders_internal.h"

PG_FUNCTION_INFO_V1(ierp_balance_guard_write);

/* > 0 while this file runs one of its own writes of erp.stock_balance */
static int	balance_write_depth = 0;

/*
 * The global lock order (doc/concurrency.md, "Deadlocks"): balances are
 * ordered by (item, node, lot, state), slots of one balance by slot number.
 * A transaction waits for a slot only when every balance it may hold a slot
 * of comes before the one it waits for; otherwise it locks what nobody holds
 * (SKIP LOCKED) and decides on that.  hw_key is the last balance in that
 * order that this transaction ran a locking statement on (hw_lxid says
 * which transaction): it may hold slots of it and of balances before it.
 */
static LocalTransactionId hw_lxid = InvalidLocalTransactionId;
static BalanceKey hw_key;

static int
KeyCmp(const BalanceKey *a, const BalanceKey *b)
{
	if (a->item_id != b->item_id)
		return a->item_id < b->item_id ? -1 : 1;
	if (a->node_id != b->node_id)
		return a->node_id < b->node_id ? -1 : 1;
	if (a->lot_id != b->lot_id)
		return a->lot_id < b->lot_id ? -1 : 1;
	if (a->state != b->state)
		return a->state < b->state ? -1 : 1;
	return 0;
}

/* BalanceNoteLocked: this transaction ran a locking statement on key's slots. */
void
BalanceNoteLocked(const BalanceKey *key)
{
	if (hw_lxid != MyProc->lxid || KeyCmp(key, &hw_key) > 0)
	{
		hw_key = *key;
		hw_lxid = MyProc->lxid;
	}
}

#define KEY_WHERE \
	" b.item_id = $1 AND b.node_id = $2 AND COALESCE(b.lot_id, 0) = $3" \
	" AND b.state = $4::erp.stock_state"

static const Oid key_argtypes[] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT4OID};

/* Fills the first four plan arguments from key. */
static void
KeyValues(const BalanceKey *key, Datum *values)
{
	values[0] = Int64GetDatum(key->item_id);
	values[1] = Int64GetDatum(key->node_id);
	values[2] = Int64GetDatum(key->lot_id);
	values[3] = CStringGetTextDatum(StockStateName(key->state));
}

/* Where a session starts looking among the slots, so sessions spread out. */
static int32
SlotOffset(void)
{
	return (int32) (MyProcPid % 64);
}

/*
 * Whether this transaction holds a slot of key, read from the rows
 * themselves: one it inserted or changed (xmin) or locked (xmax).  This
 * also finds a slot that a SKIP LOCKED statement locked and then dropped
 * because its re-check failed: PostgreSQL keeps such a lock.
 */
static bool
HoldsSlotOf(const BalanceKey *key)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[4];
	uint64		i;

	IerpPlan(&plan, "SELECT b.xmin, b.xmax FROM erp.stock_balance b WHERE" KEY_WHERE, 4, key_argtypes);
	KeyValues(key, values);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: balance read failed");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		TransactionId xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		TransactionId xmax = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));

		if ((TransactionIdIsNormal(xmin) && TransactionIdIsCurrentTransactionId(xmin)) ||
			(TransactionIdIsNormal(xmax) && TransactionIdIsCurrentTransactionId(xmax)))
			return true;
	}
	return false;
}

/*
 * BalanceMayWait: whether waiting for a slot of key keeps the global lock
 * order: this transaction holds no slot of key nor of any later balance.
 */
bool
BalanceMayWait(const BalanceKey *key)
{
	int			c;

	if (hw_lxid != MyProc->lxid)
		return true;
	c = KeyCmp(&hw_key, key);
	if (c != 0)
		return c < 0;
	return !HoldsSlotOf(key);
}

/* Runs a writing plan of this file on key's slots with the guard's permission. */
static int
BalanceWrite(const BalanceKey *key, SPIPlanPtr plan, Datum *values, const char *nulls, long tcount)
{
	int			ret;

	/* noted first: a SKIP LOCKED statement may keep a lock on a row it then dropped */
	BalanceNoteLocked(key);
	balance_write_depth++;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, false, tcount);
	}
	PG_FINALLY();
	{
		balance_write_depth--;
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "inventory_erp: balance write failed: %s", SPI_result_code_string(ret));
	return ret;
}

/* Sets one slot row (of key, locked by this transaction) to qty. */
static void
SlotSet(const BalanceKey *key, int64 stock_balance_id, int64 qty)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID};
	Datum		values[2];

	IerpPlan(&plan, "UPDATE erp.stock_balance SET qty = $2 WHERE stock_balance_id = $1",
			 2, argtypes);
	values[0] = Int64GetDatum(stock_balance_id);
	values[1] = Int64GetDatum(qty);
	BalanceWrite(key, plan, values, NULL, 0);
}

/* Deletes an empty overflow slot this transaction holds. */
static void
SlotDelete(const BalanceKey *key, int64 stock_balance_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	Datum		values[1];

	IerpPlan(&plan, "DELETE FROM erp.stock_balance WHERE stock_balance_id = $1 AND qty = 0", 1, argtypes);
	values[0] = Int64GetDatum(stock_balance_id);
	BalanceWrite(key, plan, values, NULL, 0);
}

/* Adds qty to slot number slot, creating the slot row when it does not exist. */
static void
SlotAdd(const BalanceKey *key, int32 slot, int64 qty)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];

	IerpPlan(&plan,
			 "INSERT INTO erp.stock_balance AS b (item_id, node_id, lot_id, state, slot, qty)"
			 " VALUES ($1, $2, NULLIF($3, 0), $4::erp.stock_state, $6, $5)"
			 " ON CONFLICT (item_id, node_id, (COALESCE(lot_id, 0)), state, slot)"
			 " DO UPDATE SET qty = b.qty + EXCLUDED.qty",
			 6, key_argtypes);
	KeyValues(key, values);
	values[4] = Int64GetDatum(qty);
	values[5] = Int32GetDatum(slot);
	BalanceWrite(key, plan, values, NULL, 0);
}

/* The number of slot rows a balance has (as this statement sees them); *maxslot the highest, -1 when none. */
static int64
SlotCount(const BalanceKey *key, int32 *maxslot)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[4];
	bool		isnull;
	int64		n;

	IerpPlan(&plan,
			 "SELECT count(*), COALESCE(max(b.slot), -1) FROM erp.stock_balance b WHERE" KEY_WHERE,
			 4, key_argtypes);
	KeyValues(key, values);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: balance slot count failed");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (maxslot)
		*maxslot = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return n;
}

/*
 * The slot numbers of a balance (as this statement sees them), ascending;
 * returns how many.  *present is palloc'd.
 */
static int
SlotNumbers(const BalanceKey *key, int32 **present)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[4];
	uint64		i;
	int32	   *out;

	IerpPlan(&plan, "SELECT b.slot FROM erp.stock_balance b WHERE" KEY_WHERE " ORDER BY b.slot",
			 4, key_argtypes);
	KeyValues(key, values);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: balance slot read failed");
	out = palloc(sizeof(int32) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		out[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	*present = out;
	return (int) SPI_processed;
}

/* The regular slot numbers (below balance_slots) a balance does not have yet, ascending. */
static int
FreeSlotNumbers(const BalanceKey *key, int32 *free)
{
	int32	   *present;
	int			n = SlotNumbers(key, &present);
	int			nfree = 0,
				i = 0;
	int32		s;

	for (s = 0; s < ierp_balance_slots; s++)
	{
		while (i < n && present[i] < s)
			i++;
		if (i < n && present[i] == s)
			continue;
		free[nfree++] = s;
	}
	pfree(present);
	return nfree;
}

/*
 * Opens an overflow slot (numbered balance_slots or above) for an add that
 * found every slot held and may not wait.  Its number is this backend's
 * own (balance_slots + pgprocno, + k * 2^18 when that is taken), so no other
 * session is inserting it at the same moment and the insert never waits.
 * Overflow slots are taken from first and merged back by later adds, and
 * deleted once empty.
 */
static void
SlotAddOverflow(const BalanceKey *key, int64 qty)
{
	int32	   *present;
	int			n = SlotNumbers(key, &present);
	int32		slot = ierp_balance_slots + MyProc->pgprocno;
	int			i;

	for (i = 0; i < n; i++)
		if (present[i] == slot)
			slot += 1 << 18;
	pfree(present);
	SlotAdd(key, slot, qty);
}

/*
 * Folds one overflow slot nobody holds into the regular slot stock_balance_id
 * this transaction holds: the overflow row is deleted and its units added.
 */
static void
MergeOverflow(const BalanceKey *key, int64 stock_balance_id)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr add_plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT4OID};
	static const Oid add_types[] = {INT8OID, INT8OID};
	Datum		values[5];
	bool		isnull;
	int64		moved;

	IerpPlan(&plan,
			 "WITH gone AS (DELETE FROM erp.stock_balance WHERE stock_balance_id ="
			 " (SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
			 "    AND b.slot >= $5 ORDER BY b.slot LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING qty)"
			 " SELECT qty FROM gone",
			 5, argtypes);
	KeyValues(key, values);
	values[4] = Int32GetDatum(ierp_balance_slots);
	BalanceWrite(key, plan, values, NULL, 0);
	if (SPI_processed != 1)
		return;
	moved = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (moved == 0)
		return;
	IerpPlan(&add_plan, "UPDATE erp.stock_balance SET qty = qty + $2 WHERE stock_balance_id = $1",
			 2, add_types);
	values[0] = Int64GetDatum(stock_balance_id);
	values[1] = Int64GetDatum(moved);
	BalanceWrite(key, add_plan, values, NULL, 0);
}

/*
 * BalanceAdd: adds qty units to a balance.  Uses the first regular slot
 * (numbered below inventory_erp.balance_slots) no other session holds.
 * When every slot is held, it opens the first free regular number, or, when
 * all exist, waits for one of them; but only when the global lock order
 * allows this transaction to wait for this balance (BalanceMayWait).
 * Otherwise it opens an overflow slot of its own, which never waits.  An
 * add also folds one free overflow slot back into the slot it used, so
 * overflow slots do not stay: a balance keeps to balance_slots rows but for
 * the moments many sessions meet on it.
 */
void
BalanceAdd(const BalanceKey *key, int64 qty)
{
	static SPIPlanPtr add_plan = NULL;
	static SPIPlanPtr wait_plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT4OID, INT4OID};
	Datum		values[7];
	int32	   *free;
	int			nfree;
	bool		isnull;

	IerpPlan(&add_plan,
			 "UPDATE erp.stock_balance SET qty = qty + $5 WHERE stock_balance_id ="
			 " (SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
			 "    AND b.slot < $6 ORDER BY b.slot LIMIT 1 FOR UPDATE SKIP LOCKED)"
			 " RETURNING stock_balance_id",
			 6, argtypes);
	KeyValues(key, values);
	values[4] = Int64GetDatum(qty);
	values[5] = Int32GetDatum(ierp_balance_slots);
	values[6] = Int32GetDatum(SlotOffset());
	BalanceWrite(key, add_plan, values, NULL, 0);
	if (SPI_processed == 1)
	{
		MergeOverflow(key, DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)));
		return;
	}

	/* no slot yet, or all held by other sessions */
	if (!BalanceMayWait(key))
	{
		SlotAddOverflow(key, qty);
		return;
	}
	free = palloc(sizeof(int32) * ierp_balance_slots);
	nfree = FreeSlotNumbers(key, free);
	if (nfree > 0)
	{
		/* the first free number; another session opening it too makes this one wait, in order */
		SlotAdd(key, free[0], qty);
		pfree(free);
		return;
	}
	pfree(free);
	IerpPlan(&wait_plan,
			 "UPDATE erp.stock_balance SET qty = qty + $5 WHERE stock_balance_id ="
			 " (SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
			 "    AND b.slot < $6 ORDER BY (b.slot + $7) % $6 LIMIT 1 FOR UPDATE)",
			 7, argtypes);
	BalanceWrite(key, wait_plan, values, NULL, 0);
	if (SPI_processed == 0)
		SlotAddOverflow(key, qty);
}

/* A slot row copied out of SPI's tuptable. */
typedef struct SlotRow
{
	int64		id;
	int64		qty;
	int32		slot;
} SlotRow;

static SlotRow *
CopySlots(uint64 n)
{
	SlotRow    *rows = palloc(sizeof(SlotRow) * Max(n, 1));
	uint64		i;

	for (i = 0; i < n; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		rows[i].id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		rows[i].qty = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		rows[i].slot = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	}
	return rows;
}

/*
 * Locks every slot of a balance in slot order (waiting for holders) and
 * returns them (*nslots of them); *total gets the sum.
 *
 * A session that had to wait sees the rows it waited for as their holder
 * left them, but not the slots that holder created: they are newer than its
 * snapshot.  So the slots are counted again with a fresh snapshot, and
 * locked again while that finds more of them.
 *
 * With wait = false, slots other sessions hold are left out (SKIP LOCKED):
 * the total is then what this session can count on, never more.
 */
static SlotRow *
LockAllSlots(const BalanceKey *key, bool wait, uint64 *nslots, int64 *total)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr skip_plan = NULL;
	Datum		values[4];
	uint64		i,
				n;
	SlotRow    *rows;

	IerpPlan(&plan,
			 "SELECT b.stock_balance_id, b.qty, b.slot FROM erp.stock_balance b WHERE" KEY_WHERE
			 " ORDER BY b.slot FOR UPDATE",
			 4, key_argtypes);
	KeyValues(key, values);
	BalanceNoteLocked(key);
	if (!wait)
	{
		IerpPlan(&skip_plan,
				 "SELECT b.stock_balance_id, b.qty, b.slot FROM erp.stock_balance b WHERE" KEY_WHERE
				 " ORDER BY b.slot FOR UPDATE SKIP LOCKED",
				 4, key_argtypes);
		if (SPI_execute_plan(skip_plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: balance lock failed");
		n = SPI_processed;
		rows = CopySlots(n);
	}
	else
	{
		int64		seen = SlotCount(key, NULL);

		if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: balance lock failed");
		n = SPI_processed;
		rows = CopySlots(n);

		/*
		 * Recount now that we hold them: a holder we waited for may have
		 * added slots, or deleted an emptied overflow slot.  Lock the slots
		 * as they are now, without waiting: this session holds slots of this
		 * balance, and a new slot may have a lower number than those it holds
		 * (waiting for it would go against the slot order).  A new slot that
		 * another session still holds is left out: less is counted, never
		 * more.
		 */
		if ((int64) n != seen || (int64) n != SlotCount(key, NULL))
		{
			IerpPlan(&skip_plan,
					 "SELECT b.stock_balance_id, b.qty, b.slot FROM erp.stock_balance b WHERE" KEY_WHERE
					 " ORDER BY b.slot FOR UPDATE SKIP LOCKED",
					 4, key_argtypes);
			pfree(rows);
			if (SPI_execute_plan(skip_plan, values, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "inventory_erp: balance lock failed");
			n = SPI_processed;
			rows = CopySlots(n);
		}
	}
	*total = 0;
	for (i = 0; i < n; i++)
		*total += rows[i].qty;
	*nslots = n;
	return rows;
}

/*
 * Takes take units out of the locked rows, slot after slot, overflow slots
 * first (rows come in slot order, so from the end); an overflow slot that
 * this empties is deleted.
 */
static void
TakeFromRows(const BalanceKey *key, SlotRow *rows, uint64 n, int64 take)
{
	int64		left = take;
	uint64		k;

	for (k = n; k > 0 && left > 0; k--)
	{
		SlotRow    *r = &rows[k - 1];
		int64		part;

		if (r->slot < ierp_balance_slots)
			continue;
		part = Min(r->qty, left);
		SlotSet(key, r->id, r->qty - part);
		if (r->qty == part)
			SlotDelete(key, r->id);
		r->qty -= part;
		left -= part;
	}
	for (k = 0; k < n && left > 0; k++)
	{
		SlotRow    *r = &rows[k];
		int64		part = Min(r->qty, left);

		if (part == 0 || r->slot >= ierp_balance_slots)
			continue;
		SlotSet(key, r->id, r->qty - part);
		r->qty -= part;
		left -= part;
	}
	Assert(left == 0);
}

/*
 * After a single-statement take: deletes the slot when it is an overflow
 * slot that the take emptied (the statement returned its id, slot, qty).
 */
static void
DropIfEmptyOverflow(const BalanceKey *key)
{
	bool		isnull;
	int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	int32		slot = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	int64		qty = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

	if (qty == 0 && slot >= ierp_balance_slots)
		SlotDelete(key, id);
}

/*
 * BalanceTake: takes qty units out of a balance; false (and no change) when
 * the balance holds fewer, with *held set to what it holds once every slot
 * is locked.  Never leaves a slot below zero.  Waits for other sessions'
 * slots only when the global lock order allows it or, failing that, when
 * the slots nobody holds do not have qty (doc/concurrency.md: the one case
 * left where a wait may go against the order).
 */
bool
BalanceTake(const BalanceKey *key, int64 qty, int64 *held)
{
	static SPIPlanPtr take_plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT4OID, INT4OID};
	Datum		values[7];
	int64		total;
	uint64		n;
	SlotRow    *rows;

	IerpPlan(&take_plan,
			 "UPDATE erp.stock_balance SET qty = qty - $5 WHERE stock_balance_id ="
			 " (SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
			 "    AND b.qty >= $5 ORDER BY b.slot >= $7 DESC, (b.slot + $6) % 64 LIMIT 1 FOR UPDATE SKIP LOCKED)"
			 " RETURNING stock_balance_id, slot, qty",
			 7, argtypes);
	KeyValues(key, values);
	values[4] = Int64GetDatum(qty);
	values[5] = Int32GetDatum(SlotOffset());
	values[6] = Int32GetDatum(ierp_balance_slots);
	BalanceWrite(key, take_plan, values, NULL, 0);
	if (SPI_processed == 1)
	{
		DropIfEmptyOverflow(key);
		return true;
	}

	/* no single free slot holds enough: take exactly, under the locks */
	rows = NULL;
	if (!BalanceMayWait(key))
	{
		rows = LockAllSlots(key, false, &n, &total);
		if (total < qty)
		{
			pfree(rows);
			rows = NULL;
		}
	}
	if (rows == NULL)
		rows = LockAllSlots(key, true, &n, &total);
	*held = total;
	if (total < qty)
		return false;
	TakeFromRows(key, rows, n, qty);
	pfree(rows);
	return true;
}

/*
 * BalanceTakeUpTo: takes as many of qty units out of a balance as it can
 * while leaving at least floor units in it, and returns how many (0..qty).
 * Either one slot that no other session holds has qty + floor and gives
 * qty (one statement), or every slot is locked and the exact total decides.
 * While it holds every slot it spreads a large remainder over more slots,
 * so the next sessions find one of their own.  A transaction that may not
 * wait for this balance under the global lock order (it may hold a slot of
 * it or of a later balance) does not wait: it decides on the slots it can
 * lock at once (never more than is there; perhaps less).
 */
int64
BalanceTakeUpTo(const BalanceKey *key, int64 qty, int64 floor)
{
	static SPIPlanPtr take_plan = NULL;
	Datum		values[8];
	int64		total,
				take,
				target_slots,
				well_filled = 0;
	uint64		n,
				i;
	SlotRow    *rows;
	bool		wait;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT4OID, INT8OID, INT4OID};

	IerpPlan(&take_plan,
			 "UPDATE erp.stock_balance SET qty = qty - $5 WHERE stock_balance_id ="
			 " (SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
			 "    AND b.qty >= $5 + $7 ORDER BY b.slot >= $8 DESC, (b.slot + $6) % 64 LIMIT 1"
			 "    FOR UPDATE SKIP LOCKED)"
			 " RETURNING stock_balance_id, slot, qty",
			 8, argtypes);
	KeyValues(key, values);
	values[4] = Int64GetDatum(qty);
	values[5] = Int32GetDatum(SlotOffset());
	values[6] = Int64GetDatum(floor);
	values[7] = Int32GetDatum(ierp_balance_slots);
	BalanceWrite(key, take_plan, values, NULL, 0);
	if (SPI_processed == 1)
	{
		DropIfEmptyOverflow(key);
		return qty;
	}

	/*
	 * No free slot holds enough.  When the balance is far above the floor (a
	 * flash sale in full swing: every slot is busy, none is short), wait for
	 * one slot, chosen by backend so that waiting sessions form as many
	 * queues as there are slots, and take from it.  Near the floor, decide
	 * on the exact total under every lock instead.  Either wait only when
	 * the global lock order allows it (this also finds a slot the statement
	 * above locked and dropped); otherwise count only the slots nobody holds.
	 */
	wait = BalanceMayWait(key);
	if (wait && BalanceGet(key) >= floor + qty * ((int64) ierp_balance_slots + 1))
	{
		static SPIPlanPtr pick_plan = NULL;
		static SPIPlanPtr one_plan = NULL;
		static const Oid one_types[] = {INT8OID, INT8OID};
		Datum		one_values[2];
		bool		isnull;

		/*
		 * The slot is chosen from a snapshot and then locked by its id: one
		 * row, one wait.  (A "LIMIT 1 FOR UPDATE" over several rows would,
		 * when the re-check after a wait fails, keep that row locked and go
		 * on to wait for the next one, out of slot order.)
		 */
		IerpPlan(&pick_plan,
				 "SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
				 "   AND b.qty >= $5 + $7 AND b.slot < $8 ORDER BY (b.slot + $6) % 64 LIMIT 1",
				 8, argtypes);
		if (SPI_execute_plan(pick_plan, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: balance slot read failed");
		if (SPI_processed == 1)
		{
			IerpPlan(&one_plan,
					 "SELECT b.stock_balance_id, b.qty FROM erp.stock_balance b"
					 " WHERE b.stock_balance_id = $1 AND b.qty >= $2 FOR UPDATE",
					 2, one_types);
			one_values[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			one_values[1] = Int64GetDatum(qty + floor);
			BalanceNoteLocked(key);
			if (SPI_execute_plan(one_plan, one_values, NULL, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "inventory_erp: balance slot lock failed");
			/* too little once its holder was done: this session may hold it now, so no more waiting */
			if (SPI_processed == 0)
				wait = false;
		}
		if (SPI_processed == 1 && wait)
		{
			bool		isnull;
			Datum		id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			int64		have = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			int64		keep = have - qty;
			int32	   *free = palloc(sizeof(int32) * ierp_balance_slots);
			int			nfree = FreeSlotNumbers(key, free);

			/*
			 * Too few slots for the sessions queueing here: move shares of
			 * this slot (which this session holds) into the free regular
			 * slot numbers.
			 */
			if (nfree > 0)
			{
				/* as many new slots as can each serve this request twice */
				int64		add = Min(nfree, keep / (2 * (qty + floor)) - 1);
				int64		share = add > 0 ? keep / (add + 1) : 0;
				int32		k;

				for (k = 0; k < add; k++)
					SlotAdd(key, free[k], share);
				keep -= share * Max(add, 0);
			}
			pfree(free);
			SlotSet(key, DatumGetInt64(id), keep);
			return qty;
		}
	}
	rows = LockAllSlots(key, wait, &n, &total);
	take = Min(qty, total - floor);
	if (take <= 0)
		return 0;

	/*
	 * Contention or fragmentation brought us here.  Spread what remains over
	 * as many slots as can each serve this request twice, when fewer than
	 * half of them can today; otherwise take from the slots in order.
	 * Overflow slots are emptied and deleted by either.
	 */
	target_slots = Min((int64) ierp_balance_slots, (total - take) / Max(2 * (qty + floor), 1));
	for (i = 0; i < n; i++)
		if (rows[i].qty >= qty + floor)
			well_filled++;
	if (wait && target_slots >= 2 && well_filled * 2 < target_slots)
	{
		int64		remain = total - take;
		int64		share = remain / target_slots;
		int64		extra = remain % target_slots;
		int32		s;

		for (s = 0; s < target_slots; s++)
		{
			int64		want = share + (s < extra ? 1 : 0);
			bool		found = false;

			for (i = 0; i < n; i++)
				if (rows[i].slot == s)
				{
					SlotSet(key, rows[i].id, want);
					found = true;
				}
			if (!found)
				SlotAdd(key, s, want);
		}
		for (i = 0; i < n; i++)
			if (rows[i].slot >= target_slots)
			{
				if (rows[i].qty != 0)
					SlotSet(key, rows[i].id, 0);
				if (rows[i].slot >= ierp_balance_slots)
					SlotDelete(key, rows[i].id);
			}
	}
	else
		TakeFromRows(key, rows, n, take);
	pfree(rows);
	return take;
}

/* BalanceGet: the committed-or-own balance (sum over its slots), without locking. */
int64
BalanceGet(const BalanceKey *key)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[4];
	bool		isnull;

	IerpPlan(&plan,
			 "SELECT COALESCE(sum(b.qty), 0)::bigint FROM erp.stock_balance b WHERE" KEY_WHERE,
			 4, key_argtypes);
	KeyValues(key, values);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: balance read failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * ierp_balance_guard_write: trigger on erp.stock_balance refusing INSERT
 * (row level), UPDATE, DELETE and TRUNCATE (statement level) unless the
 * ledger itself is writing.  Rows reloaded by pg_restore (history: their id
 * was never issued here) are let in.
 */
Datum
ierp_balance_guard_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_balance_guard_write must be called as a trigger");
	if (balance_write_depth > 0 && !TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		return TRIGGER_FIRED_FOR_ROW(trigdata->tg_event)
			? PointerGetDatum(trigdata->tg_trigtuple) : PointerGetDatum(NULL);
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) && TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		bool		history;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		history = IerpRowIsHistory(trigdata->tg_relation, trigdata->tg_trigtuple, "stock_balance_id");
		SPI_finish();
		if (history)
			return PointerGetDatum(trigdata->tg_trigtuple);
	}
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPEND_ONLY),
			 errmsg("erp.stock_balance is derived from the ledger and cannot be written directly"),
			 errdetail("Balances change only when a move is recorded in erp.stock_move."),
			 errhint("Use erp.receive() or erp.move() to change stock.")));
	PG_RETURN_NULL();
}
