/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The stock ledger: the state machine, the BEFORE INSERT trigger on
 *	  erp.stock_move that checks every move against it and applies it to the
 *	  balances in the same transaction, the append-only guard, and the two
 *	  generic entry points erp.receive() and erp.move().
 *
 *	  Refuses: a transition not in erp.state_transition (IE002), a move that
 *	  takes more than its source balance holds (IE001), a non-positive
 *	  quantity (IE004), UPDATE, DELETE or TRUNCATE of the ledger (IE005).
 *
 *	  The extension's own functions call LedgerRecord(), which applies the
 *	  move and then appends it, telling the trigger that this row is already
 *	  applied; a row inserted any other way (an administrator's INSERT) is
 *	  checked and applied by the trigger.  Either way each ledger row changes
 *	  the balances exactly once, in the statement that appends it.  A row
 *	  that brings an id the ledger has not issued is history being reloaded
 *	  by pg_restore: it is kept as it is, and the balances are restored as
 *	  data of their own.
 *
 *	  The state machine is cached per backend and dropped when
 *	  erp.state_transition changes (its trigger, erp.reload_rules, sends a
 *	  relcache invalidation that every backend receives at commit).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "commands/extension.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ierp.h"

PG_FUNCTION_INFO_V1(ierp_ledger_apply_move);
PG_FUNCTION_INFO_V1(ierp_ledger_refuse_write);
PG_FUNCTION_INFO_V1(ierp_ledger_refuse_delete_used);
PG_FUNCTION_INFO_V1(ierp_ledger_protect_builtin);
IERP_OWNER_ENTRY(ierp_ledger_receive);
IERP_OWNER_ENTRY(ierp_ledger_move);
PG_FUNCTION_INFO_V1(ierp_ledger_current_actor);

static const char *const state_names[NUM_STOCK_STATES] = {
	"incoming", "in_transit", "return_pending",
	"available", "reserved", "picked", "packed",
	"inspection", "quarantined", "damaged", "refurbish", "vendor_return"
};

const char *
StockStateName(StockState state)
{
	if (state == STATE_OUTSIDE)
		return "outside";
	Assert(state >= 0 && state < NUM_STOCK_STATES);
	return state_names[state];
}

StockState
StockStateFromName(const char *name)
{
	int			i;

	for (i = 0; i < NUM_STOCK_STATES; i++)
		if (strcmp(state_names[i], name) == 0)
			return (StockState) i;
	elog(ERROR, "inventory_erp: unknown stock state \"%s\"", name);
	return STATE_OUTSIDE;		/* keep compiler quiet */
}

StockState
StockStateFromDatum(Datum enum_datum)
{
	return StockStateFromName(DatumGetCString(DirectFunctionCall1(enum_out, enum_datum)));
}

/* ----------------------------------------------------------------
 * The state machine cache
 * ----------------------------------------------------------------
 */
typedef struct Transition
{
	StockState	from;
	StockState	to;
	bool		cross_node;
	char	   *event;			/* as long as the row says: never truncated */
	char	   *engine;			/* "" when any move may use it */
} Transition;

/* true while LedgerRecord appends a row it has already applied */
static bool ledger_row_applied = false;

static Transition *transitions = NULL;
static int	num_transitions = 0;
static Oid	transitions_relid = InvalidOid;

static void
TransitionsInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == transitions_relid)
	{
		transitions = NULL;		/* lives in CacheMemoryContext child; reset below */
		num_transitions = 0;
	}
}

static MemoryContext transitions_cxt = NULL;

static void
TransitionsLoad(void)
{
	static SPIPlanPtr plan = NULL;
	uint64		i;
	MemoryContext old;
	Transition *loaded;

	IerpPlan(&plan,
			 "SELECT from_state::pg_catalog.text, to_state::pg_catalog.text, event, cross_node, engine"
			 "  FROM erp.state_transition ORDER BY state_transition_id",
			 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read erp.state_transition");

	/*
	 * Nothing of the old cache is used from here on; the new one becomes
	 * visible only once it is complete (an error half-way leaves no cache).
	 */
	transitions = NULL;
	num_transitions = 0;
	if (transitions_cxt == NULL)
		transitions_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp transitions",
												ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(transitions_cxt);
	old = MemoryContextSwitchTo(transitions_cxt);
	loaded = palloc0(sizeof(Transition) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *from = SPI_getvalue(tup, desc, 1);
		char	   *to = SPI_getvalue(tup, desc, 2);
		char	   *event = SPI_getvalue(tup, desc, 3);
		char	   *engine = SPI_getvalue(tup, desc, 5);
		bool		isnull;

		loaded[i].from = from ? StockStateFromName(from) : STATE_OUTSIDE;
		loaded[i].to = to ? StockStateFromName(to) : STATE_OUTSIDE;
		/* SPI_getvalue pallocs in the current context: transitions_cxt */
		loaded[i].event = event ? event : pstrdup("");
		loaded[i].cross_node = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		loaded[i].engine = engine ? engine : pstrdup("");
	}
	MemoryContextSwitchTo(old);
	transitions_relid = IerpRelid("state_transition");
	num_transitions = (int) SPI_processed;
	transitions = loaded;
}

static const Transition *
TransitionFind(StockState from, StockState to, const char *event)
{
	int			i;

	if (transitions == NULL)
		TransitionsLoad();
	for (i = 0; i < num_transitions; i++)
		if (transitions[i].from == from && transitions[i].to == to &&
			strcmp(transitions[i].event, event) == 0)
			return &transitions[i];
	return NULL;
}

/* "allocate -> reserved, hold -> quarantined, ..." for the IE002 hint */
static char *
TransitionsFrom(StockState from)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < num_transitions; i++)
	{
		if (transitions[i].from != from)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s -> %s", transitions[i].event, StockStateName(transitions[i].to));
	}
	if (buf.len == 0)
		appendStringInfoString(&buf, "none");
	return buf.data;
}

void
LedgerInit(void)
{
	CacheRegisterRelcacheCallback(TransitionsInvalidate, (Datum) 0);
}

/* ----------------------------------------------------------------
 * The ledger trigger
 * ----------------------------------------------------------------
 */

/* Reads an int8 column of the new ledger row; 0 when NULL. */
static int64
MoveInt8(HeapTuple tup, TupleDesc desc, const char *col)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, SPI_fnumber(desc, col), desc, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static StockState
MoveState(HeapTuple tup, TupleDesc desc, const char *col)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, SPI_fnumber(desc, col), desc, &isnull);

	return isnull ? STATE_OUTSIDE : StockStateFromDatum(d);
}

/*
 * The document that owns the units in a state, or NULL for a state any move
 * may join.  Units in these states belong to a purchase order (incoming), a
 * transfer (in_transit), an order line (reserved, picked, packed) or a
 * return line (return_pending, inspection, refurbish, vendor_return): the
 * functions of that document move them, and a generic move that fed or
 * drained them would leave the document unable to finish (a transfer that
 * can no longer be received, a return line that can no longer be
 * refurbished) while erp.verify() saw nothing wrong.  *hint names the
 * functions that move them.
 */
static const char *
LedgerDocumentOf(StockState state, const char **hint)
{
	switch (state)
	{
		case STATE_INCOMING:
			*hint = "Purchase orders move it: erp.create_po, erp.receive_po.";
			return "a purchase order";
		case STATE_IN_TRANSIT:
			*hint = "Send stock with erp.transfer and book it in with erp.receive_transfer; "
				"units lost on the way are counted out at the receiving node afterwards (erp.count).";
			return "a transfer";
		case STATE_RESERVED:
		case STATE_PICKED:
		case STATE_PACKED:
			*hint = "Orders move it: erp.allocate, erp.pick, erp.pack, erp.ship, erp.short_pick, erp.cancel_order.";
			return "an order";
		case STATE_RETURN_PENDING:
		case STATE_INSPECTION:
		case STATE_REFURBISH:
		case STATE_VENDOR_RETURN:
			*hint = "Returns move it: erp.receive_return, erp.inspect_return, erp.complete_refurbish, "
				"erp.return_to_vendor, erp.expire_returns.";
			return "a return";
		default:
			*hint = NULL;
			return NULL;
	}
}

/*
 * Checks a move against the state machine and the partner rule, without
 * changing anything.  Raises IE004, IE002 or IE009.  A move that is not an
 * engine's may neither use a transition an engine owns nor enter or leave a
 * state a document owns (LedgerDocumentOf), whatever erp.state_transition
 * says: rows of the business's own that were added before the guard on that
 * table existed (an updated database) are refused here too (IE002).
 */
static void
LedgerValidate(const LedgerMove *m)
{
	const Transition *t;

	if (m->qty <= 0 || m->qty > IERP_MAX_MOVE_QTY)
		IerpCheckQuantity(m->qty, IerpItemSku(m->item_id));
	if (m->ref != NULL)
		IerpCheckText(m->ref, "ref", IERP_MAX_TEXT_LEN);

	t = TransitionFind(m->from_state, m->to_state, m->event);
	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("transition from \"%s\" to \"%s\" by event \"%s\" is not allowed",
						StockStateName(m->from_state), StockStateName(m->to_state), m->event),
				 errdetail("The move was a quantity of " INT64_FORMAT " of sku \"%s\" at node \"%s\".",
						   m->qty, IerpItemSku(m->item_id),
						   IerpNodeCode(m->from_state != STATE_OUTSIDE ? m->from_node_id : m->to_node_id)),
				 errhint("Allowed from \"%s\": %s.", StockStateName(m->from_state),
						 TransitionsFrom(m->from_state))));
	if (m->to_state == STATE_IN_TRANSIT && m->from_state != STATE_OUTSIDE &&
		m->from_node_id == m->to_node_id)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("event \"%s\" needs a destination node other than \"%s\"",
						m->event, IerpNodeCode(m->from_node_id)),
				 errhint("Send stock to another node with erp.transfer(sku, from_node, to_node, qty).")));
	if (m->from_state != STATE_OUTSIDE && m->to_state != STATE_OUTSIDE &&
		m->from_node_id != m->to_node_id && !t->cross_node)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("event \"%s\" cannot move stock from node \"%s\" to node \"%s\"",
						m->event, IerpNodeCode(m->from_node_id), IerpNodeCode(m->to_node_id)),
				 errhint("Only transfers (transfer_out) and returns received elsewhere change node.")));
	if (t->engine[0] != '\0' && !m->engine)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("event \"%s\" is recorded only by the %s functions", m->event, t->engine),
				 errdetail("A generic move would leave the %s documents out of step with the stock.",
						   t->engine),
				 errhint("Use the %s functions (see doc/reference.md) for this event.", t->engine)));
	if (!m->engine)
	{
		const char *hint;
		StockState	owned = LedgerDocumentOf(m->from_state, &hint) ? m->from_state : m->to_state;
		const char *document = LedgerDocumentOf(owned, &hint);

		if (document != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
					 errmsg("units in \"%s\" belong to %s: a generic move cannot %s",
							StockStateName(owned), document,
							owned == m->from_state ? "take them out" : "put units there"),
					 owned == m->from_state
					 ? errdetail("The move was a quantity of " INT64_FORMAT " of sku \"%s\" from \"%s\" to \"%s\" by event \"%s\"; "
								 "it would leave %s unable to finish.",
								 m->qty, IerpItemSku(m->item_id), StockStateName(m->from_state),
								 StockStateName(m->to_state), m->event, document)
					 : errdetail("The move was a quantity of " INT64_FORMAT " of sku \"%s\" from \"%s\" to \"%s\" by event \"%s\"; "
								 "with no document behind them the units could never move on.",
								 m->qty, IerpItemSku(m->item_id), StockStateName(m->from_state),
								 StockStateName(m->to_state), m->event),
					 errhint("%s", hint)));
	}

	/*
	 * A partner moves stock only at its own nodes: where the units leave, and
	 * where they arrive (a transfer it sends is received by the other node).
	 */
	if (m->from_state != STATE_OUTSIDE)
		AccessCheckNode(m->from_node_id);
	if (m->to_state != STATE_OUTSIDE && m->to_state != STATE_IN_TRANSIT &&
		(m->from_state == STATE_OUTSIDE || m->to_node_id != m->from_node_id))
		AccessCheckNode(m->to_node_id);
}

/*
 * The quarantined units at an item/node/lot that pending write-offs wait
 * for: the sum of -qty_delta of the adjustments pending_approval with
 * from_state quarantined there (a short pick above the threshold).  Sets
 * *ids to their ids ("12, 15") when there are any.  Must be called between
 * SPI_connect and SPI_finish; the list lives until SPI_finish.
 */
static int64
PendingQuarantineHolds(const LedgerMove *m, char **ids)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3];
	bool		isnull;
	Datum		sum;
	char	   *list;

	IerpPlan(&plan,
			 "SELECT COALESCE(-sum(qty_delta), 0)::bigint,"
			 "       string_agg(adjustment_id::pg_catalog.text, ', ' ORDER BY adjustment_id)"
			 "  FROM erp.adjustment"
			 " WHERE status = 'pending_approval' AND from_state = 'quarantined'"
			 "   AND item_id = $1 AND node_id = $2 AND COALESCE(lot_id, 0) = $3",
			 3, argtypes);
	values[0] = Int64GetDatum(m->item_id);
	values[1] = Int64GetDatum(m->from_node_id);
	values[2] = Int64GetDatum(m->lot_id);
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read pending adjustments");
	sum = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	list = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	*ids = list ? list : "";
	return isnull ? 0 : DatumGetInt64(sum);
}

/*
 * Takes the units of a generic move (not an engine's) out of quarantined
 * without touching those that pending write-offs wait for: the approval (an
 * engine move) takes them.  Leaves at least the pending quantity in the
 * balance; refuses (IE010) a move that would go below it, and (IE001) one
 * the balance does not have at all.  The error undoes a partial take.
 */
static void
TakeQuarantinedAbovePending(const LedgerMove *m, const BalanceKey *from, int64 pending,
							const char *ids)
{
	int64		got = BalanceTakeUpTo(from, m->qty, pending);
	int64		held;

	if (got >= m->qty)
		return;
	held = BalanceGet(from) + got;
	if (held < m->qty)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INSUFFICIENT_STOCK),
				 errmsg("insufficient stock for sku \"%s\" at node \"%s\": " INT64_FORMAT
						" quarantined, " INT64_FORMAT " requested",
						IerpItemSku(m->item_id), IerpNodeCode(m->from_node_id), held, m->qty),
				 errdetail("Event \"%s\" needs a quantity of " INT64_FORMAT " from state \"quarantined\"%s.",
						   m->event, m->qty, m->lot_id ? " of the given lot" : ""),
				 errhint("Stock can never go below zero; receive or release units first.")));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_WRONG_STATUS),
			 errmsg(INT64_FORMAT " units of sku \"%s\" at node \"%s\" are held for adjustment %s awaiting approval",
					pending, IerpItemSku(m->item_id), IerpNodeCode(m->from_node_id), ids),
			 errdetail("Event \"%s\" asked for " INT64_FORMAT " of the " INT64_FORMAT
					   " quarantined units%s; at most " INT64_FORMAT " are not held.",
					   m->event, m->qty, held, m->lot_id ? " of the given lot" : "",
					   held > pending ? held - pending : 0),
			 errhint("The write-off takes them when an approver applies it with erp.approve_adjustment(); "
					 "move only the units above the held quantity.")));
}

/*
 * Checks a move (LedgerValidate) and applies it to the balances.  Raises
 * IE004, IE002, IE009, IE010 or IE001; on return both balances are changed.
 * A generic move out of quarantined leaves the units pending write-offs wait
 * for (TakeQuarantinedAbovePending).
 */
static void
LedgerApply(const LedgerMove *m)
{
	int64		pending = 0;
	char	   *ids = NULL;

	LedgerValidate(m);
	if (m->from_state == STATE_QUARANTINED && !m->engine && !m->source_taken)
		pending = PendingQuarantineHolds(m, &ids);
	if (m->from_state != STATE_OUTSIDE && !m->source_taken)
	{
		BalanceKey	from = {m->item_id, m->from_node_id, m->lot_id, m->from_state};
		int64		held;

		if (pending > 0)
			TakeQuarantinedAbovePending(m, &from, pending, ids);
		else if (!BalanceTake(&from, m->qty, &held))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INSUFFICIENT_STOCK),
					 errmsg("insufficient stock for sku \"%s\" at node \"%s\": " INT64_FORMAT
							" %s, " INT64_FORMAT " requested",
							IerpItemSku(m->item_id), IerpNodeCode(m->from_node_id),
							held, StockStateName(m->from_state), m->qty),
					 errdetail("Event \"%s\" needs a quantity of " INT64_FORMAT " from state \"%s\"%s.",
							   m->event, m->qty, StockStateName(m->from_state),
							   m->lot_id ? " of the given lot" : ""),
					 errhint("Stock can never go below zero; receive or release units first.")));
	}
	if (m->to_state != STATE_OUTSIDE)
	{
		BalanceKey	to = {m->item_id, m->to_node_id, m->lot_id, m->to_state};

		BalanceAdd(&to, m->qty);
	}
}

/*
 * A kit is made of its components and holds no stock of its own: units of a
 * kit sku never enter the business (IE010).  Receive the components.
 */
static void
RefuseKitEntry(const char *sku)
{
	ereport(ERROR,
			(errcode(ERRCODE_IERP_WRONG_STATUS),
			 errmsg("sku \"%s\" is a kit and cannot be received", sku),
			 errdetail("A kit holds no stock of its own: its availability is that of its components (erp.item_component)."),
			 errhint("Receive the components instead.")));
}

/*
 * Checks the ids of a move inserted directly into the ledger (the
 * extension's functions resolve them from business keys): the item and the
 * nodes exist, and the lot is given exactly when the item is lot-tracked and
 * belongs to the item.  IE003 otherwise.
 */
static void
CheckDirectMove(const LedgerMove *m)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		values[4];
	bool		isnull,
				lot_tracked;
	Datum		lot_item;
	int64		nodes;

	IerpPlan(&plan,
			 "SELECT i.lot_tracked,"
			 "       (SELECT count(*) FROM erp.node n WHERE n.node_id IN ($2, $3)),"
			 "       (SELECT l.item_id FROM erp.lot l WHERE l.lot_id = $4),"
			 "       EXISTS (SELECT 1 FROM erp.item_component c WHERE c.kit_item_id = i.item_id),"
			 "       i.sku"
			 "  FROM erp.item i WHERE i.item_id = $1",
			 4, argtypes);
	values[0] = Int64GetDatum(m->item_id);
	values[1] = Int64GetDatum(m->from_state == STATE_OUTSIDE ? m->to_node_id : m->from_node_id);
	values[2] = Int64GetDatum(m->to_state == STATE_OUTSIDE ? m->from_node_id : m->to_node_id);
	values[3] = Int64GetDatum(m->lot_id);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot check move");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown item id " INT64_FORMAT, m->item_id)));
	lot_tracked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	nodes = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	lot_item = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	if (nodes != (DatumGetInt64(values[1]) == DatumGetInt64(values[2]) ? 1 : 2))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown node id in move of item id " INT64_FORMAT, m->item_id)));
	if (lot_tracked != (m->lot_id != 0) ||
		(m->lot_id != 0 && (isnull || DatumGetInt64(lot_item) != m->item_id)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("lot id " INT64_FORMAT " does not fit item id " INT64_FORMAT, m->lot_id, m->item_id),
				 errdetail("A lot-tracked item moves with one of its lots; other items move without a lot.")));
	if (m->from_state == STATE_OUTSIDE &&
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull)))
		RefuseKitEntry(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5));
}

/*
 * Whether the row being inserted carries an id (column idcol) above what the
 * column's identity sequence has issued: an id the ledger never gave out.
 * Must be called between SPI_connect and SPI_finish.
 */
static bool
LedgerIdNotIssued(Relation rel, HeapTuple tup, const char *idcol)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {OIDOID};
	TupleDesc	desc = RelationGetDescr(rel);
	int			attnum = SPI_fnumber(desc, idcol);
	bool		isnull;
	Datum		id = heap_getattr(tup, attnum, desc, &isnull);
	Datum		values[1];
	Datum		last;

	if (isnull)
		return false;
	IerpPlan(&plan, "SELECT pg_catalog.pg_sequence_last_value($1)", 1, argtypes);
	values[0] = ObjectIdGetDatum(getIdentitySequence(RelationGetRelid(rel), attnum, false));
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read sequence");
	last = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull || DatumGetInt64(id) > DatumGetInt64(last);
}

/*
 * ierp_ledger_apply_move: BEFORE INSERT row trigger on erp.stock_move.
 * Applies the move to the balances and stamps who made it.
 *
 * A row that LedgerRecord appends is already applied.  Any other row is an
 * administrator's INSERT: it is checked and applied here - unless the
 * session is in restore mode (inventory_erp.restore_mode, superuser only),
 * where rows are history being reloaded by pg_restore and are kept exactly
 * as dumped (the balances are restored as data of their own).  Outside
 * restore mode a row that brings a move_id the ledger has not issued is
 * refused (IE005): it could only be history, and history is reloaded in
 * restore mode.
 *
 * The row returned is built after SPI_finish, in the trigger's own memory
 * context: SPI_finish frees everything allocated while connected.
 */
Datum
ierp_ledger_apply_move(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	TupleDesc	desc;
	LedgerMove	m;
	bool		isnull;
	Datum		event;
	Datum		ref;
	int			cols[2];
	Datum		values[2];
	bool		nulls[2] = {false, false};
	const char *appname;
	bool		applied;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_ledger_apply_move must be a BEFORE INSERT row trigger");

	tup = trigdata->tg_trigtuple;
	desc = trigdata->tg_relation->rd_att;
	applied = ledger_row_applied;
	ledger_row_applied = false;

	if (!applied && IerpRowIsHistory(trigdata->tg_relation, tup, "move_id"))
		return PointerGetDatum(tup);

	if (!applied)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		if (LedgerIdNotIssued(trigdata->tg_relation, tup, "move_id"))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_APPEND_ONLY),
					 errmsg("move_id " INT64_FORMAT " was not issued by the ledger", MoveInt8(tup, desc, "move_id")),
					 errdetail("A row that brings its own id is history; history is reloaded only in restore mode."),
					 errhint("Leave move_id out, or restore a dump with inventory_erp.restore_mode = on (superuser only).")));
		m.item_id = MoveInt8(tup, desc, "item_id");
		m.lot_id = MoveInt8(tup, desc, "lot_id");
		m.qty = MoveInt8(tup, desc, "qty");
		m.from_node_id = MoveInt8(tup, desc, "from_node_id");
		m.from_state = MoveState(tup, desc, "from_state");
		m.to_node_id = MoveInt8(tup, desc, "to_node_id");
		m.to_state = MoveState(tup, desc, "to_state");
		event = heap_getattr(tup, SPI_fnumber(desc, "event"), desc, &isnull);
		m.event = isnull ? "" : TextDatumGetCString(event);
		ref = heap_getattr(tup, SPI_fnumber(desc, "ref"), desc, &isnull);
		m.ref = isnull ? NULL : TextDatumGetCString(ref);
		m.engine = false;
		m.source_taken = false;
		CheckDirectMove(&m);
		LedgerApply(&m);
		SPI_finish();
	}

	/*
	 * Who moved it: the session's identity (its login, not a role it SET,
	 * nor the owner of the function that recorded the move).  Built here,
	 * outside SPI, in the memory of the trigger call.
	 */
	cols[0] = SPI_fnumber(desc, "actor");
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(IerpActorName()));
	cols[1] = SPI_fnumber(desc, "application_name");
	appname = GetConfigOption("application_name", true, false);
	if (appname == NULL || appname[0] == '\0')
		nulls[1] = true;
	else
		values[1] = CStringGetTextDatum(appname);
	return PointerGetDatum(heap_modify_tuple_by_cols(tup, desc, 2, cols, values, nulls));
}

/*
 * ierp_ledger_refuse_write: statement trigger keeping the ledger append-only
 * (IE005), and orders from being deleted.
 */
Datum
ierp_ledger_refuse_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *what;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "inventory_erp: ierp_ledger_refuse_write must be called as a trigger");
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		what = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		what = "DELETE";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		what = "TRUNCATE";
	else
		what = "INSERT";
	if (strcmp(RelationGetRelationName(trigdata->tg_relation), "stock_move") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPEND_ONLY),
				 errmsg("%s of %s is not allowed: history is never removed",
						what, RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Cancel an order with erp.cancel_order() instead.")));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPEND_ONLY),
			 errmsg("%s of %s is not allowed: the ledger is append-only",
					what, RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Recorded moves are never changed or removed."),
			 errhint("Correct a mistake with a new move, e.g. erp.move(..., event => 'adjust').")));
	PG_RETURN_NULL();
}

/*
 * ierp_ledger_refuse_delete_used: BEFORE DELETE row trigger on master data
 * (argument: item, node, lot or channel) refusing to delete a row that the
 * ledger or an order refers to (IE010): history must keep meaning what it
 * meant.
 */
Datum
ierp_ledger_refuse_delete_used(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plans[4] = {NULL, NULL, NULL, NULL};
	static const Oid argtypes[] = {INT8OID};
	static const char *const kinds[4] = {"item", "node", "lot", "channel"};
	static const char *const queries[4] = {
		"SELECT EXISTS (SELECT 1 FROM erp.stock_move WHERE item_id = $1)"
		"    OR EXISTS (SELECT 1 FROM erp.order_line WHERE item_id = $1)",
		"SELECT EXISTS (SELECT 1 FROM erp.stock_move WHERE from_node_id = $1 OR to_node_id = $1)",
		"SELECT EXISTS (SELECT 1 FROM erp.stock_move WHERE lot_id = $1)",
		"SELECT EXISTS (SELECT 1 FROM erp.sales_order WHERE channel_id = $1)"
	};
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	const char *kind;
	Datum		values[1];
	bool		isnull;
	bool		used;
	int			k;

	if (!CALLED_AS_TRIGGER(fcinfo) || trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "inventory_erp: ierp_ledger_refuse_delete_used must be a trigger with one argument");
	kind = trigdata->tg_trigger->tgargs[0];
	for (k = 0; k < 4; k++)
		if (strcmp(kinds[k], kind) == 0)
			break;
	if (k == 4)
		elog(ERROR, "inventory_erp: unknown master data kind \"%s\"", kind);
	desc = trigdata->tg_relation->rd_att;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&plans[k], queries[k], 1, argtypes);
	values[0] = heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, psprintf("%s_id", kind)),
							 desc, &isnull);
	if (SPI_execute_plan(plans[k], values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot check ledger references");
	used = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (used)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("%s " INT64_FORMAT " has history and cannot be deleted", kind,
						DatumGetInt64(values[0])),
				 errdetail("The ledger or an order refers to it; history is never removed."),
				 (strcmp(kind, "item") == 0 || strcmp(kind, "node") == 0)
				 ? errhint("Retire it instead: UPDATE erp.%s SET active = false.", kind)
				 : strcmp(kind, "channel") == 0
				 ? errhint("Keep the channel for its orders' history; to stop it being fulfilled, delete its rows in erp.channel_node.")
				 : 0));
	return PointerGetDatum(trigdata->tg_trigtuple);
}

/*
 * ierp_ledger_protect_builtin: BEFORE INSERT OR UPDATE OR DELETE row trigger
 * on tables with rows shipped by the extension (builtin = true): those rows
 * are recreated by CREATE EXTENSION and not dumped, so adding, changing or
 * removing one would be lost on restore (IE010).  Add a row of your own.
 */
Datum
ierp_ledger_protect_builtin(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	bool		isnull;
	Datum		builtin;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_ledger_protect_builtin must be a row trigger");
	desc = trigdata->tg_relation->rd_att;
	builtin = heap_getattr(trigdata->tg_trigtuple, SPI_fnumber(desc, "builtin"), desc, &isnull);
	if (!isnull && !DatumGetBool(builtin) && TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		builtin = heap_getattr(trigdata->tg_newtuple, SPI_fnumber(desc, "builtin"), desc, &isnull);
	if (!isnull && DatumGetBool(builtin) && !creating_extension)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("rows of %s shipped with inventory_erp cannot be added, changed or deleted",
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("CREATE EXTENSION recreates them and pg_dump leaves them out, so a change would be lost on restore."),
				 errhint("Add a row of your own.")));
	return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)
						   ? trigdata->tg_newtuple : trigdata->tg_trigtuple);
}

/* ----------------------------------------------------------------
 * Recording moves
 * ----------------------------------------------------------------
 */

/*
 * LedgerRecord: applies one move to the balances and appends it to the
 * ledger; returns its move_id.  Raises IE001, IE002 or IE004 as the trigger
 * would.  Must be called between SPI_connect and SPI_finish.
 */
int64
LedgerRecord(const LedgerMove *m)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID,
	INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[9];
	char		nulls[9];
	bool		isnull;
	int			ret;

	IerpPlan(&plan,
			 "INSERT INTO erp.stock_move (item_id, lot_id, qty, from_node_id, from_state,"
			 "                            to_node_id, to_state, event, ref)"
			 " VALUES ($1, NULLIF($2, 0), $3, $4, $5::erp.stock_state, $6, $7::erp.stock_state, $8, $9)"
			 " RETURNING move_id",
			 9, argtypes);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(m->item_id);
	values[1] = Int64GetDatum(m->lot_id);
	values[2] = Int64GetDatum(m->qty);
	if (m->from_state == STATE_OUTSIDE)
	{
		nulls[3] = nulls[4] = 'n';
		values[3] = values[4] = (Datum) 0;
	}
	else
	{
		values[3] = Int64GetDatum(m->from_node_id);
		values[4] = CStringGetTextDatum(StockStateName(m->from_state));
	}
	if (m->to_state == STATE_OUTSIDE)
	{
		nulls[5] = nulls[6] = 'n';
		values[5] = values[6] = (Datum) 0;
	}
	else
	{
		values[5] = Int64GetDatum(m->to_node_id);
		values[6] = CStringGetTextDatum(StockStateName(m->to_state));
	}
	values[7] = CStringGetTextDatum(m->event);
	if (m->ref)
		values[8] = CStringGetTextDatum(m->ref);
	else
	{
		nulls[8] = 'n';
		values[8] = (Datum) 0;
	}
	LedgerApply(m);
	ledger_row_applied = true;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, false, 1);
	}
	PG_FINALLY();
	{
		ledger_row_applied = false;
	}
	PG_END_TRY();
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "inventory_erp: ledger insert failed: %s", SPI_result_code_string(ret));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * LedgerRecordEngine: records a move on behalf of one of the extension's
 * engines (orders, returns, purchasing, counts), which may use the
 * transitions they own.  Returns the move id.
 */
int64
LedgerRecordEngine(const char *ref, int64 item_id, int64 lot_id, int64 qty,
				   int64 from_node_id, StockState from, int64 to_node_id, StockState to,
				   const char *event)
{
	LedgerMove	m;

	m.item_id = item_id;
	m.lot_id = lot_id;
	m.qty = qty;
	m.from_node_id = from_node_id;
	m.from_state = from;
	m.to_node_id = to_node_id;
	m.to_state = to;
	m.event = event;
	m.ref = ref;
	m.engine = true;
	m.source_taken = false;
	return LedgerRecord(&m);
}

/*
 * Resolves the lot argument of a move of item: required for lot-tracked
 * items, refused for others (IE003).  Creates the lot when create is true.
 */
static int64
ResolveLot(const ItemInfo *item, const char *sku, const char *lot, bool create,
		   DateADT expires_on, bool has_expiry)
{
	if (!item->lot_tracked)
	{
		if (has_expiry)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("sku \"%s\" is not lot-tracked, but an expiry date was given", sku),
					 errhint("Expiry dates belong to lots of lot-tracked items.")));
		if (lot != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("sku \"%s\" is not lot-tracked, but lot \"%s\" was given", sku, lot),
					 errhint("Leave the lot out for this item.")));
		return 0;
	}
	if (lot == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("sku \"%s\" is lot-tracked: a lot is required", sku),
				 errhint("Pass the lot code printed on the units.")));
	if (create)
		return IerpEnsureLot(item->item_id, sku, lot, expires_on, has_expiry);
	return IerpLookupLot(item->item_id, sku, lot);
}

/*
 * Checks the texts every generic move takes (IE004): business keys up to
 * IERP_MAX_KEY_LEN bytes, the ref up to IERP_MAX_TEXT_LEN, none of them
 * empty; a missing sku or node is named (IE004).
 */
static void
CheckMoveTexts(const char *sku, const char *node, const char *lot, const char *ref)
{
	if (sku == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no sku given"),
				 errdetail("A move names the sku of the units it moves.")));
	if (node == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no node given for sku \"%s\"", sku),
				 errdetail("A move names the node where the units are.")));
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(node, "node code", IERP_MAX_KEY_LEN);
	IerpCheckText(lot, "lot code", IERP_MAX_KEY_LEN);
	IerpCheckText(ref, "ref", IERP_MAX_TEXT_LEN);
}

/*
 * The one threshold for on-hand changes outside a document: a generic move
 * that brings units in from outside or sends them out (a receipt, an adjust,
 * a disposal, ...) is valued and, above the adjustment threshold, refused
 * (IE009) unless the session is a superuser's (CountsCheckDirectAdjustment).
 */
static void
CheckDirectThreshold(const LedgerMove *m, const char *sku)
{
	if (m->from_state == STATE_OUTSIDE)
		CountsCheckDirectAdjustment(m->item_id, m->qty, sku);
	else if (m->to_state == STATE_OUTSIDE)
		CountsCheckDirectAdjustment(m->item_id, -m->qty, sku);
}

/*
 * erp.receive(sku, node, qty, lot, expires_on, state, ref): unplanned receipt
 * or opening balance from outside into available, quarantined or damaged.
 * Refuses invalid input (IE004), a kit sku (IE010), a receipt valued above
 * the adjustment threshold (IE009), and what the ledger refuses.
 */
static Datum
ierp_ledger_receive_body(PG_FUNCTION_ARGS)
{
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	char	   *lot = IerpTextArg(fcinfo, 3);
	char	   *ref = IerpTextArg(fcinfo, 6);
	ItemInfo	item;
	LedgerMove	m;
	int64		move_id;

	CheckMoveTexts(sku, node, lot, ref);
	if (!PG_ARGISNULL(4))
		IerpCheckDate(PG_GETARG_DATEADT(4), "expiry date");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpLookupItem(sku, &item);
	m.to_node_id = IerpLookupNode(node);
	m.qty = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	IerpCheckQuantity(m.qty, sku);
	if (item.is_kit)
		RefuseKitEntry(sku);
	m.item_id = item.item_id;
	m.from_state = STATE_OUTSIDE;
	m.from_node_id = 0;
	m.to_state = PG_ARGISNULL(5) ? STATE_AVAILABLE : StockStateFromDatum(PG_GETARG_DATUM(5));
	m.event = "receive";
	m.ref = ref;
	m.engine = false;
	m.source_taken = false;
	m.lot_id = 0;
	/* refuse before creating the lot: a refused call changes nothing */
	LedgerValidate(&m);
	CheckDirectThreshold(&m, sku);
	m.lot_id = ResolveLot(&item, sku, lot, true,
						  PG_ARGISNULL(4) ? 0 : PG_GETARG_DATEADT(4), !PG_ARGISNULL(4));
	move_id = LedgerRecord(&m);
	SPI_finish();
	PG_RETURN_INT64(move_id);
}

/*
 * erp.move(sku, node, qty, from_state, to_state, event, lot, ref, to_node):
 * the generic move.  A NULL state is outside; to_node (default: node) is
 * where the units end up.  Refuses invalid input (IE004), units of a kit
 * entering (IE010), an on-hand change from or to outside valued above the
 * adjustment threshold (IE009), and what the ledger refuses.
 */
static Datum
ierp_ledger_move_body(PG_FUNCTION_ARGS)
{
	char	   *sku = IerpTextArg(fcinfo, 0);
	char	   *node = IerpTextArg(fcinfo, 1);
	char	   *event = IerpTextArg(fcinfo, 5);
	char	   *lot = IerpTextArg(fcinfo, 6);
	char	   *ref = IerpTextArg(fcinfo, 7);
	char	   *to_node = IerpTextArg(fcinfo, 8);
	ItemInfo	item;
	LedgerMove	m;
	int64		node_id;
	int64		move_id;

	CheckMoveTexts(sku, node, lot, ref);
	IerpCheckText(to_node, "to_node code", IERP_MAX_KEY_LEN);
	IerpCheckText(event, "event", IERP_MAX_KEY_LEN);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpLookupItem(sku, &item);
	node_id = IerpLookupNode(node);
	m.qty = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	IerpCheckQuantity(m.qty, sku);
	if (event == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("a move needs an event"),
				 errhint("Events are listed in erp.state_transition.")));
	m.item_id = item.item_id;
	m.from_state = PG_ARGISNULL(3) ? STATE_OUTSIDE : StockStateFromDatum(PG_GETARG_DATUM(3));
	m.to_state = PG_ARGISNULL(4) ? STATE_OUTSIDE : StockStateFromDatum(PG_GETARG_DATUM(4));
	m.from_node_id = node_id;
	m.to_node_id = to_node ? IerpLookupNode(to_node) : node_id;
	if (m.to_node_id != node_id && (m.from_state == STATE_OUTSIDE || m.to_state == STATE_OUTSIDE))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("to_node \"%s\" applies only to moves between two nodes", to_node),
				 errdetail("Units entering or leaving the business stay at node \"%s\".", node),
				 errhint("Leave to_node out, or pass the receiving node as node.")));
	if (m.from_state == STATE_OUTSIDE && item.is_kit)
		RefuseKitEntry(sku);
	m.event = event;
	m.ref = ref;
	m.engine = false;
	m.source_taken = false;
	m.lot_id = 0;
	/* refuse before creating a lot: a refused call changes nothing */
	LedgerValidate(&m);
	CheckDirectThreshold(&m, sku);
	m.lot_id = ResolveLot(&item, sku, lot, m.from_state == STATE_OUTSIDE, 0, false);
	move_id = LedgerRecord(&m);
	SPI_finish();
	PG_RETURN_INT64(move_id);
}

/*
 * erp.current_actor(): the name recorded as the actor of a move (and as
 * created_by, decided_by elsewhere): the session's login, not a role it SET.
 * The default of erp.stock_move.actor; the ledger trigger stamps it too.
 */
Datum
ierp_ledger_current_actor(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(IerpActorName())));
}
