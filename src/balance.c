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

#include "ierp.h"

PG_FUNCTION_INFO_V1(ierp_balance_guard_write);

/* > 0 while this file runs one of its own writes of erp.stock_balance */
static int	balance_write_depth = 0;

/* the local transaction that last locked a slot (a write locks it too) */
static LocalTransactionId slots_held_lxid = InvalidLocalTransactionId;

/* Whether this transaction holds a slot lock of some balance already. */
static bool
HoldsSlots(void)
{
	return slots_held_lxid == MyProc->lxid;
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

/* Runs a writing plan of this file with the guard's permission. */
static int
BalanceWrite(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount)
{
	int			ret;

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
	if (SPI_processed > 0)
		slots_held_lxid = MyProc->lxid;
	return ret;
}

/* Sets one slot row to qty. */
static void
SlotSet(int64 stock_balance_id, int64 qty)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID};
	Datum		values[2];

	IerpPlan(&plan, "UPDATE erp.stock_balance SET qty = $2 WHERE stock_balance_id = $1",
			 2, argtypes);
	values[0] = Int64GetDatum(stock_balance_id);
	values[1] = Int64GetDatum(qty);
	BalanceWrite(plan, values, NULL, 0);
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
	BalanceWrite(plan, values, NULL, 0);
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
 * BalanceAdd: adds qty units to a balance.  Uses the first slot no other
 * session holds; when every slot is held, opens a new one rather than wait:
 * an add that waited for a slot another session holds could close a
 * deadlock cycle with that session's own take (an allocation holds an
 * available slot and adds to reserved while a cancellation holds a reserved
 * slot and adds to available).  New slot numbers are spread by backend so
 * two sessions rarely open the same one; the number of slots of a balance
 * is thereby bounded by the sessions writing it at once, and empty slots
 * are reused first.
 */
void
BalanceAdd(const BalanceKey *key, int64 qty)
{
	static SPIPlanPtr add_plan = NULL;
	Datum		values[6];
	int32		maxslot;

	IerpPlan(&add_plan,
			 "UPDATE erp.stock_balance SET qty = qty + $5 WHERE stock_balance_id ="
			 " (SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
			 "   ORDER BY b.slot LIMIT 1 FOR UPDATE SKIP LOCKED)",
			 5, key_argtypes);
	KeyValues(key, values);
	values[4] = Int64GetDatum(qty);
	BalanceWrite(add_plan, values, NULL, 0);
	if (SPI_processed == 1)
		return;

	/* no slot yet, or all held by other sessions: open one */
	if (SlotCount(key, &maxslot) == 0)
		SlotAdd(key, 0, qty);
	else
		SlotAdd(key, maxslot + 1 + SlotOffset() % 8, qty);
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
		for (;;)
		{
			int64		seen;

			seen = SlotCount(key, NULL);
			if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "inventory_erp: balance lock failed");
			n = SPI_processed;
			rows = CopySlots(n);
			if ((int64) n >= seen)
			{
				/* recount now that we hold them: a holder we waited for may have added slots */
				if ((int64) n >= SlotCount(key, NULL))
					break;
			}
			pfree(rows);
			CHECK_FOR_INTERRUPTS();
		}
	}
	if (n > 0)
		slots_held_lxid = MyProc->lxid;
	*total = 0;
	for (i = 0; i < n; i++)
		*total += rows[i].qty;
	*nslots = n;
	return rows;
}

/*
 * BalanceTake: takes qty units out of a balance; false (and no change) when
 * the balance holds fewer, with *held set to what it holds once every slot
 * is locked.  Never leaves a slot below zero.
 */
bool
BalanceTake(const BalanceKey *key, int64 qty, int64 *held)
{
	static SPIPlanPtr take_plan = NULL;
	Datum		values[6];
	int64		total;
	uint64		n,
				i;
	SlotRow    *rows;
	int64		left = qty;

	IerpPlan(&take_plan,
			 "UPDATE erp.stock_balance SET qty = qty - $5 WHERE stock_balance_id ="
			 " (SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
			 "    AND b.qty >= $5 ORDER BY (b.slot + $6) % 64 LIMIT 1 FOR UPDATE SKIP LOCKED)",
			 6, key_argtypes);
	KeyValues(key, values);
	values[4] = Int64GetDatum(qty);
	values[5] = Int32GetDatum(SlotOffset());
	BalanceWrite(take_plan, values, NULL, 0);
	if (SPI_processed == 1)
		return true;

	/* no single free slot holds enough: take exactly, under all the locks */
	rows = LockAllSlots(key, true, &n, &total);
	*held = total;
	if (total < qty)
		return false;
	for (i = 0; i < n && left > 0; i++)
	{
		int64		part = Min(rows[i].qty, left);

		if (part == 0)
			continue;
		SlotSet(rows[i].id, rows[i].qty - part);
		left -= part;
	}
	pfree(rows);
	Assert(left == 0);
	return true;
}

/*
 * BalanceTakeUpTo: takes as many of qty units out of a balance as it can
 * while leaving at least floor units in it, and returns how many (0..qty).
 * Either one slot that no other session holds has qty + floor and gives
 * qty (one statement), or every slot is locked and the exact total decides.
 * While it holds every slot it spreads a large remainder over more slots,
 * so the next sessions find one of their own.  A transaction that holds a
 * slot of some balance already does not wait for others: it decides on the
 * slots it can lock at once (never more than is there; perhaps less).
 */
int64
BalanceTakeUpTo(const BalanceKey *key, int64 qty, int64 floor)
{
	static SPIPlanPtr take_plan = NULL;
	Datum		values[7];
	int64		total,
				take,
				left,
				target_slots,
				well_filled = 0;
	uint64		n,
				i;
	SlotRow    *rows;
	bool		wait;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT4OID, INT8OID};

	/* decided before this call locks anything itself */
	wait = !HoldsSlots();
	IerpPlan(&take_plan,
			 "UPDATE erp.stock_balance SET qty = qty - $5 WHERE stock_balance_id ="
			 " (SELECT b.stock_balance_id FROM erp.stock_balance b WHERE" KEY_WHERE
			 "    AND b.qty >= $5 + $7 ORDER BY (b.slot + $6) % 64 LIMIT 1 FOR UPDATE SKIP LOCKED)",
			 7, argtypes);
	KeyValues(key, values);
	values[4] = Int64GetDatum(qty);
	values[5] = Int32GetDatum(SlotOffset());
	values[6] = Int64GetDatum(floor);
	BalanceWrite(take_plan, values, NULL, 0);
	if (SPI_processed == 1)
		return qty;

	/*
	 * No free slot holds enough.  When the balance is far above the floor (a
	 * flash sale in full swing: every slot is busy, none is short), wait for
	 * one slot, chosen by backend so that waiting sessions form as many
	 * queues as there are slots, and take from it.  Near the floor, decide
	 * on the exact total under every lock instead.  A transaction that holds
	 * a slot already (an earlier line or pass) never waits, so two
	 * allocations never wait for each other in a cycle: it counts only the
	 * slots it can lock now, and may reserve less.
	 */
	if (wait && BalanceGet(key) >= floor + qty * ((int64) ierp_balance_slots + 1))
	{
		static SPIPlanPtr one_plan = NULL;

		IerpPlan(&one_plan,
				 "SELECT b.stock_balance_id, b.qty FROM erp.stock_balance b WHERE" KEY_WHERE
				 "   AND b.qty >= $5 + $7 ORDER BY (b.slot + $6) % 64 LIMIT 1 FOR UPDATE",
				 7, argtypes);
		if (SPI_execute_plan(one_plan, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: balance slot lock failed");
		if (SPI_processed == 1)
		{
			bool		isnull;
			Datum		id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			int64		have = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			int64		keep = have - qty;
			int64		nslots;
			int32		maxslot;

			/*
			 * Too few slots for the sessions queueing here: move shares of
			 * this slot (which this session holds) into new ones.
			 */
			nslots = SlotCount(key, &maxslot);
			if (nslots < ierp_balance_slots)
			{
				/* as many new slots as can each serve this request twice */
				int64		add = Min(ierp_balance_slots - nslots, keep / (2 * (qty + floor)) - 1);
				int64		share = add > 0 ? keep / (add + 1) : 0;
				int32		k;

				for (k = 1; k <= add; k++)
					SlotAdd(key, maxslot + k, share);
				keep -= share * Max(add, 0);
			}
			SlotSet(DatumGetInt64(id), keep);
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
					SlotSet(rows[i].id, want);
					found = true;
				}
			if (!found)
				SlotAdd(key, s, want);
		}
		for (i = 0; i < n; i++)
			if (rows[i].slot >= target_slots && rows[i].qty != 0)
				SlotSet(rows[i].id, 0);
	}
	else
	{
		left = take;
		for (i = 0; i < n && left > 0; i++)
		{
			int64		part = Min(rows[i].qty, left);

			if (part == 0)
				continue;
			SlotSet(rows[i].id, rows[i].qty - part);
			left -= part;
		}
	}
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
