/*-------------------------------------------------------------------------
 *
 * journal.c
 *	  The ledger of the stock kernel: appending the rows of a batch to
 *	  erp.stock_move, and the guard that refuses every other INSERT into it
 *	  (IE005).  Rows are appended directly (heap insert and index entries)
 *	  on one node, or by routed INSERTs that name the item when the table is
 *	  distributed (StockDirectAccess).  Who moved the stock (the session's
 *	  login) and its application_name are stamped here, in the session that
 *	  moved it, and so is the writing transaction (txid, the top-level
 *	  transaction's full id) that feeds read changes by
 *	  (src/feeds.c): filled here on the direct path, by the column's
 *	  DEFAULT pg_current_xact_id() on the routed one.
 *
 *	  A row inserted by anything but the kernel is refused, except history
 *	  reloaded by pg_restore in restore mode (inventory_erp.restore_mode,
 *	  superuser only), which is kept as dumped but for txid: a transaction
 *	  id of the dumped database means nothing here, so a reloaded row
 *	  carries the reloading transaction's (feeds see the reload as a change).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/xid8.h"

#include "utils/timestamp.h"

#include "stock/journal.h"
#include "stock/slot_rows.h"

PG_FUNCTION_INFO_V1(ierp_stock_move_guard);
PG_FUNCTION_INFO_V1(ierp_stock_move_guard_any_node);

/* erp.stock_move's columns (sql/install/04_ledger.sql); checked against the table when it is opened */
#define Natts_stock_move					16
#define Anum_stock_move_move_id				1
#define Anum_stock_move_item_id				2
#define Anum_stock_move_lot_id				3
#define Anum_stock_move_qty					4
#define Anum_stock_move_from_node_id		5
#define Anum_stock_move_from_state			6
#define Anum_stock_move_to_node_id			7
#define Anum_stock_move_to_state			8
#define Anum_stock_move_event				9
#define Anum_stock_move_ref					10
#define Anum_stock_move_actor				11
#define Anum_stock_move_application_name	12
#define Anum_stock_move_at					13
#define Anum_stock_move_txid				14
#define Anum_stock_move_from_bin_id			15
#define Anum_stock_move_to_bin_id			16

static const char *const move_columns[Natts_stock_move] = {
	"move_id", "item_id", "lot_id", "qty", "from_node_id", "from_state", "to_node_id", "to_state",
	"event", "ref", "actor", "application_name", "at", "txid", "from_bin_id", "to_bin_id"
};

/* > 0 while the routed path runs its own INSERT */
static int	routed_insert_depth = 0;

/* per backend: the table, its identity sequence, the OIDs of the state labels */
static Oid	move_relid = InvalidOid;
static Oid	move_seqid = InvalidOid;
static Oid	state_label_oid[NUM_STOCK_STATES];

static void
MoveRelcacheInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == move_relid)
		move_relid = InvalidOid;
}

/* Opens erp.stock_move for appending; on first use per backend checks its columns and caches what it needs. */
static Relation
MoveOpen(void)
{
	Relation	rel;

	if (!OidIsValid(move_relid))
	{
		Oid			relid = IerpRelid("stock_move");
		TupleDesc	desc;
		Oid			enum_type;
		int			i;

		if (!OidIsValid(relid))
			elog(ERROR, "inventory_erp: table erp.stock_move does not exist");
		rel = table_open(relid, RowExclusiveLock);
		desc = RelationGetDescr(rel);
		if (desc->natts != Natts_stock_move)
			elog(ERROR, "inventory_erp: erp.stock_move does not have the columns this module expects");
		for (i = 0; i < Natts_stock_move; i++)
			if (strcmp(NameStr(TupleDescAttr(desc, i)->attname), move_columns[i]) != 0)
				elog(ERROR, "inventory_erp: erp.stock_move column %d is not \"%s\"", i + 1, move_columns[i]);
		move_seqid = getIdentitySequence(relid, Anum_stock_move_move_id, false);
		enum_type = TupleDescAttr(desc, Anum_stock_move_from_state - 1)->atttypid;
		for (i = 0; i < NUM_STOCK_STATES; i++)
		{
			HeapTuple	tup = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(enum_type),
											  CStringGetDatum(StockStateName((StockState) i)));

			if (!HeapTupleIsValid(tup))
				elog(ERROR, "inventory_erp: erp.stock_state has no label \"%s\"", StockStateName((StockState) i));
			state_label_oid[i] = ((Form_pg_enum) GETSTRUCT(tup))->oid;
			ReleaseSysCache(tup);
		}
		move_relid = relid;
		return rel;
	}
	return table_open(move_relid, RowExclusiveLock);
}

/* Appends the moves with units directly: one heap tuple and its index entries each. */
static void
DirectAppend(StockMove *moves, int nmoves, Datum actor, Datum appname, bool no_appname)
{
	Relation	rel = MoveOpen();
	TupleDesc	desc = RelationGetDescr(rel);
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	Datum		txid = FullTransactionIdGetDatum(GetTopFullTransactionId());
	int			i;

	for (i = 0; i < nmoves; i++)
	{
		StockMove  *m = &moves[i];
		Datum		values[Natts_stock_move];
		bool		nulls[Natts_stock_move];
		HeapTuple	tup;

		if (m->taken <= 0)
			continue;
		memset(nulls, false, sizeof(nulls));
		m->move_id = nextval_internal(move_seqid, false);
		values[Anum_stock_move_move_id - 1] = Int64GetDatum(m->move_id);
		values[Anum_stock_move_item_id - 1] = Int64GetDatum(m->item_id);
		values[Anum_stock_move_lot_id - 1] = Int64GetDatum(m->lot_id);
		nulls[Anum_stock_move_lot_id - 1] = m->lot_id == 0;
		values[Anum_stock_move_qty - 1] = Int64GetDatum(m->taken);
		if (m->from_state == STATE_OUTSIDE)
			nulls[Anum_stock_move_from_node_id - 1] = nulls[Anum_stock_move_from_state - 1] = true;
		else
		{
			values[Anum_stock_move_from_node_id - 1] = Int64GetDatum(m->from_node_id);
			values[Anum_stock_move_from_state - 1] = ObjectIdGetDatum(state_label_oid[m->from_state]);
		}
		if (m->to_state == STATE_OUTSIDE)
			nulls[Anum_stock_move_to_node_id - 1] = nulls[Anum_stock_move_to_state - 1] = true;
		else
		{
			values[Anum_stock_move_to_node_id - 1] = Int64GetDatum(m->to_node_id);
			values[Anum_stock_move_to_state - 1] = ObjectIdGetDatum(state_label_oid[m->to_state]);
		}
		values[Anum_stock_move_event - 1] = CStringGetTextDatum(m->event);
		if (m->ref)
			values[Anum_stock_move_ref - 1] = CStringGetTextDatum(m->ref);
		else
			nulls[Anum_stock_move_ref - 1] = true;
		values[Anum_stock_move_actor - 1] = actor;
		values[Anum_stock_move_application_name - 1] = appname;
		nulls[Anum_stock_move_application_name - 1] = no_appname;
		values[Anum_stock_move_at - 1] = now;
		values[Anum_stock_move_txid - 1] = txid;
		values[Anum_stock_move_from_bin_id - 1] = Int64GetDatum(m->from_bin_id);
		nulls[Anum_stock_move_from_bin_id - 1] = m->from_bin_id == 0 || m->from_state == STATE_OUTSIDE;
		values[Anum_stock_move_to_bin_id - 1] = Int64GetDatum(m->to_bin_id);
		nulls[Anum_stock_move_to_bin_id - 1] = m->to_bin_id == 0 || m->to_state == STATE_OUTSIDE;
		tup = heap_form_tuple(desc, values, nulls);
		simple_heap_insert(rel, tup);
		StockIndexInsert(rel, tup);
		heap_freetuple(tup);
	}
	table_close(rel, NoLock);
	CommandCounterIncrement();
}

/* Appends the moves with units through routed INSERTs (Citus): the statement names the item. */
static void
RoutedAppend(StockMove *moves, int nmoves, Datum actor, Datum appname, bool no_appname)
{
	static const Oid types[] = {INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID};
	int			i;

	for (i = 0; i < nmoves; i++)
	{
		StockMove  *m = &moves[i];
		Datum		values[13];
		char		nulls[13];
		int			ret;
		bool		isnull;

		if (m->taken <= 0)
			continue;
		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int64GetDatum(m->item_id);
		values[1] = Int64GetDatum(m->lot_id);
		nulls[1] = m->lot_id == 0 ? 'n' : ' ';
		values[2] = Int64GetDatum(m->taken);
		values[3] = Int64GetDatum(m->from_node_id);
		values[4] = CStringGetTextDatum(StockStateName(m->from_state));
		if (m->from_state == STATE_OUTSIDE)
			nulls[3] = nulls[4] = 'n';
		values[5] = Int64GetDatum(m->to_node_id);
		values[6] = CStringGetTextDatum(StockStateName(m->to_state));
		if (m->to_state == STATE_OUTSIDE)
			nulls[5] = nulls[6] = 'n';
		values[7] = CStringGetTextDatum(m->event);
		values[8] = m->ref ? CStringGetTextDatum(m->ref) : (Datum) 0;
		nulls[8] = m->ref ? ' ' : 'n';
		values[9] = actor;
		values[10] = appname;
		nulls[10] = no_appname ? 'n' : ' ';
		values[11] = Int64GetDatum(m->from_bin_id);
		nulls[11] = m->from_bin_id == 0 || m->from_state == STATE_OUTSIDE ? 'n' : ' ';
		values[12] = Int64GetDatum(m->to_bin_id);
		nulls[12] = m->to_bin_id == 0 || m->to_state == STATE_OUTSIDE ? 'n' : ' ';
		routed_insert_depth++;
		PG_TRY();
		{
			ret = SPI_execute_with_args("INSERT INTO erp.stock_move (item_id, lot_id, qty, from_node_id, from_state,"
										" to_node_id, to_state, event, ref, actor, application_name, from_bin_id, to_bin_id)"
										" VALUES ($1, $2, $3, $4, $5::erp.stock_state, $6, $7::erp.stock_state,"
										" $8, $9, $10, $11, $12, $13) RETURNING move_id",
										13, (Oid *) types, values, nulls, false, 0);
		}
		PG_FINALLY();
		{
			routed_insert_depth--;
		}
		PG_END_TRY();
		if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			elog(ERROR, "inventory_erp: ledger insert failed: %s", SPI_result_code_string(ret));
		m->move_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
}

/*
 * StockJournalAppend: appends one ledger row per move that moved units
 * (taken > 0), setting its move_id, stamped with the session's login and
 * application_name.
 */
void
StockJournalAppend(StockMove *moves, int nmoves)
{
	const char *appname = GetConfigOption("application_name", true, false);
	bool		no_appname = appname == NULL || appname[0] == '\0';
	/* text, not name (0.4.0): a name is 64 bytes in every ledger row */
	Datum		actor = CStringGetTextDatum(IerpActorName());
	Datum		appdatum = no_appname ? (Datum) 0 : CStringGetTextDatum(appname);

	if (StockDirectAccess())
		DirectAppend(moves, nmoves, actor, appdatum, no_appname);
	else
		RoutedAppend(moves, nmoves, actor, appdatum, no_appname);
}

/*
 * HistoryWithOwnTxid: a reloaded history row with the reloading
 * transaction's id in place of the dumped one.
 */
static HeapTuple
HistoryWithOwnTxid(Relation rel, HeapTuple tup)
{
	int			attnum = Anum_stock_move_txid;
	Datum		value = FullTransactionIdGetDatum(GetTopFullTransactionId());
	bool		isnull = false;

	if (RelationGetDescr(rel)->natts < Anum_stock_move_txid ||
		strcmp(NameStr(TupleDescAttr(RelationGetDescr(rel), Anum_stock_move_txid - 1)->attname), "txid") != 0)
		return tup;
	return heap_modify_tuple_by_cols(tup, RelationGetDescr(rel), 1, &attnum, &value, &isnull);
}

/*
 * ierp_stock_move_guard: BEFORE INSERT row trigger on erp.stock_move.  The
 * kernel appends its rows without triggers (or, routed, with its own
 * permission); every other INSERT is refused (IE005), but history reloaded
 * by pg_restore in restore mode, kept as dumped.
 */
Datum
ierp_stock_move_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_stock_move_guard must be an INSERT row trigger");
	if (routed_insert_depth > 0)
		return PointerGetDatum(trigdata->tg_trigtuple);
	if (IerpRowIsHistory(trigdata->tg_relation, trigdata->tg_trigtuple, "move_id"))
		return PointerGetDatum(HistoryWithOwnTxid(trigdata->tg_relation, trigdata->tg_trigtuple));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPEND_ONLY),
			 errmsg("rows of erp.stock_move are appended only by the stock kernel"),
			 errdetail("A row inserted directly would change no balance and pass no check."),
			 errhint("Move stock with erp.receive(), erp.move() or the document functions; "
					 "history is reloaded only in restore mode (inventory_erp.restore_mode, superuser only).")));
	PG_RETURN_NULL();
}

/* StockJournalInit: the relcache callback that forgets erp.stock_move's cached facts. */
void
StockJournalInit(void)
{
	IerpRegisterRelcacheCallback(MoveRelcacheInvalidate, (Datum) 0);
}

/*
 * ierp_stock_move_guard_any_node: erp.guard_ledger_insert(), the BEFORE
 * INSERT row trigger of erp.stock_move (sql/install/22_distribute.sql):
 * journal.c's guard, which knows the kernel's own inserts in this backend,
 * plus the kernel's routed inserts that Citus brings to a shard from another
 * backend (StockShardWriteRouted).
 */
Datum
ierp_stock_move_guard_any_node(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (CALLED_AS_TRIGGER(fcinfo) && TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && StockShardWriteRouted(trigdata->tg_relation))
		return PointerGetDatum(trigdata->tg_trigtuple);
	return ierp_stock_move_guard(fcinfo);
}
