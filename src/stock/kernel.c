/*-------------------------------------------------------------------------
 *
 * kernel.c
 *	  StockApply(), the entry of the stock kernel: checks a batch of moves
 *	  against the state machine, the quantity bounds and the partner rule
 *	  before anything changes, applies them to the balances in the one
 *	  global lock order, appends their ledger rows, posts their costs
 *	  (stock/cost.c: only moves that change a node's value), and answers
 *	  what each took.  A refused batch changes nothing (its error undoes what was
 *	  applied).
 *
 *	  Refuses: a quantity out of bounds (IE004), a transition not in
 *	  erp.state_transition or owned by a document the caller is not (IE002),
 *	  a node the session's partner role may not act on (IE009), a source that
 *	  holds fewer units than an exact take needs (IE001), units pending
 *	  write-offs wait for (IE010).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/memutils.h"

#include "stock/kernel.h"

/*
 * StockValidate: checks one move against the bounds, the state machine and
 * the partner rule, changing nothing.  A move that is not a document's may
 * neither use a transition a document owns nor enter or leave a state a
 * document owns, whatever erp.state_transition says.
 */
void
StockValidate(const StockMove *m, bool document)
{
	const StockTransition *t;

	/*
	 * A caller's move carries at most IERP_MAX_MOVE_QTY units; a document's
	 * may carry more (the components of many kits on one line), which the
	 * bigint sums of the slots and the ledger hold with room to spare.
	 */
	if (m->qty <= 0 || (!document && m->qty > IERP_MAX_MOVE_QTY))
		IerpCheckQuantity(m->qty, IerpItemSku(m->item_id));
	if (m->ref != NULL)
		IerpCheckText(m->ref, "ref", IERP_MAX_TEXT_LEN);
	if (m->from_bin_id != 0 || m->to_bin_id != 0)
	{
		StockBinCheck(m);

		/*
		 * Units changing bin inside a node keep their state: no transition
		 * of the state machine, only the warehouse functions' events
		 * (stock/bins.c); their node is checked against the partner rule.
		 */
		if (document && m->from_state == STATE_AVAILABLE && m->to_state == STATE_AVAILABLE &&
			m->from_node_id == m->to_node_id && m->from_bin_id != m->to_bin_id &&
			(strcmp(m->event, "putaway") == 0 || strcmp(m->event, "bin_move") == 0))
		{
			AccessCheckNode(m->from_node_id);
			return;
		}
	}

	t = StockTransitionFind(m->from_state, m->to_state, m->event);
	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("transition from \"%s\" to \"%s\" by event \"%s\" is not allowed",
						StockStateName(m->from_state), StockStateName(m->to_state), m->event),
				 errdetail("The move was a quantity of " INT64_FORMAT " of sku \"%s\" at node \"%s\".",
						   m->qty, IerpItemSku(m->item_id),
						   IerpNodeCode(m->from_state != STATE_OUTSIDE ? m->from_node_id : m->to_node_id)),
				 errhint("Allowed from \"%s\": %s.", StockStateName(m->from_state),
						 StockTransitionsFrom(m->from_state))));
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
	if (t->engine[0] != '\0' && !document)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
				 errmsg("event \"%s\" is recorded only by the %s functions", m->event, t->engine),
				 errdetail("A generic move would leave the %s documents out of step with the stock.",
						   t->engine),
				 errhint("Use the %s functions (see doc/reference.md) for this event.", t->engine)));
	if (!document)
	{
		const char *hint;
		StockState	owned = StockDocumentOf(m->from_state, &hint) ? m->from_state : m->to_state;
		const char *owner = StockDocumentOf(owned, &hint);

		if (owner != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_TRANSITION_NOT_ALLOWED),
					 errmsg("units in \"%s\" belong to %s: a generic move cannot %s",
							StockStateName(owned), owner,
							owned == m->from_state ? "take them out" : "put units there"),
					 owned == m->from_state
					 ? errdetail("The move was a quantity of " INT64_FORMAT " of sku \"%s\" from \"%s\" to \"%s\" by event \"%s\"; "
								 "it would leave %s unable to finish.",
								 m->qty, IerpItemSku(m->item_id), StockStateName(m->from_state),
								 StockStateName(m->to_state), m->event, owner)
					 : errdetail("The move was a quantity of " INT64_FORMAT " of sku \"%s\" from \"%s\" to \"%s\" by event \"%s\"; "
								 "with no document behind them the units could never move on.",
								 m->qty, IerpItemSku(m->item_id), StockStateName(m->from_state),
								 StockStateName(m->to_state), m->event),
					 errhint("%s", hint)));
	}
	if (m->take == STOCK_TAKE_HELD &&
		m->from_state != STATE_RESERVED && m->from_state != STATE_PICKED && m->from_state != STATE_PACKED)
		elog(ERROR, "inventory_erp: only an order's reserved, picked or packed units are taken as held");

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
 * *ids to their ids ("12, 15") when there are any.
 */
static int64
PendingQuarantineHolds(const StockMove *m, char **ids)
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
			 " WHERE item_id = $1 AND status = 'pending_approval' AND from_state = 'quarantined'"
			 "   AND node_id = $2 AND COALESCE(lot_id, 0) = $3",
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

static void
RefuseInsufficient(const StockMove *m, int64 held)
{
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

/*
 * A generic move out of quarantined leaves the units that pending
 * write-offs wait for (the approval, a document move, takes them): it takes
 * above that floor, and refuses (IE010) a move that would go below it, or
 * (IE001) one the balance does not have at all.
 */
static void
TakeQuarantinedAbovePending(StockMove *m, int64 pending, const char *ids)
{
	int64		got;
	int64		held;
	bool		contended;
	StockMove	upto = *m;

	upto.take = STOCK_TAKE_UP_TO;
	upto.floor = pending;
	(void) StockSlotsTake(&upto, &got, &contended, &held);
	if (got >= m->qty)
	{
		m->taken = got;
		return;
	}
	held = StockGet(m->item_id, m->from_node_id, m->lot_id, STATE_QUARANTINED) + got;
	if (held < m->qty)
		RefuseInsufficient(m, held);
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

/* The lock order of two moves: by their source balance (item, node, bin, lot); entries from outside last. */
static int
MoveOrderCmp(const void *a, const void *b, void *arg)
{
	const StockMove *moves = (const StockMove *) arg;
	const StockMove *x = &moves[*(const int *) a];
	const StockMove *y = &moves[*(const int *) b];
	int64		xn = x->from_state == STATE_OUTSIDE ? PG_INT64_MAX : x->from_node_id;
	int64		yn = y->from_state == STATE_OUTSIDE ? PG_INT64_MAX : y->from_node_id;

	if (x->item_id != y->item_id)
		return x->item_id < y->item_id ? -1 : 1;
	if (xn != yn)
		return xn < yn ? -1 : 1;
	if (x->from_bin_id != y->from_bin_id)
		return x->from_bin_id < y->from_bin_id ? -1 : 1;
	if (x->lot_id != y->lot_id)
		return x->lot_id < y->lot_id ? -1 : 1;
	return *(const int *) a - *(const int *) b;
}

/*
 * The ledger rows of a batch in which some moves were taken over a node's
 * bins (parts[i], nparts[i]): one row per part in place of such a move, whose
 * move_id is then its first part's.
 */
static void
JournalAppendParts(StockMove *moves, int nmoves, StockMove **parts, const int *nparts)
{
	int			total = 0;
	int			i,
				k,
				n = 0;
	StockMove  *rows;

	for (i = 0; i < nmoves; i++)
		total += parts[i] != NULL ? nparts[i] : 1;
	rows = palloc(sizeof(StockMove) * Max(total, 1));
	for (i = 0; i < nmoves; i++)
	{
		if (parts[i] == NULL)
			rows[n++] = moves[i];
		else
			for (k = 0; k < nparts[i]; k++)
				rows[n++] = parts[i][k];
	}
	StockJournalAppend(rows, n);
	n = 0;
	for (i = 0; i < nmoves; i++)
	{
		if (parts[i] == NULL)
			moves[i].move_id = rows[n++].move_id;
		else
		{
			moves[i].move_id = 0;
			for (k = 0; k < nparts[i]; k++, n++)
				if (moves[i].move_id == 0)
					moves[i].move_id = rows[n].move_id;
		}
	}
	pfree(rows);
}

/*
 * StockApply: the one write path of stock (see kernel.h).  Every move is
 * checked before any changes; then, in the global lock order, each takes
 * its units (as its take kind says) and adds them to its destination; then
 * the ledger rows of the moves that moved units are appended and their
 * costs posted (CostApply; allocation and other moves inside one node's
 * valued states write no cost).  Must run
 * between SPI_connect and SPI_finish (lookups of refusals and the routed
 * path use SPI).  Works in a memory context of its own.
 */
void
StockApply(StockMove *moves, int nmoves, int flags)
{
	bool		document = (flags & STOCK_DOCUMENT) != 0;
	MemoryContext cxt;
	MemoryContext old;
	int		   *order;
	int			i;
	StockMove **parts = NULL;	/* per move taken over bins: its parts */
	int		   *nparts = NULL;

	if (nmoves <= 0)
		return;
	for (i = 0; i < nmoves; i++)
	{
		StockValidate(&moves[i], document);
		moves[i].taken = 0;
		moves[i].move_id = 0;
		moves[i].contended = false;
	}

	cxt = AllocSetContextCreate(CurrentMemoryContext, "inventory_erp StockApply", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	order = palloc(sizeof(int) * nmoves);
	for (i = 0; i < nmoves; i++)
		order[i] = i;
	if (nmoves > 1)
		qsort_arg(order, nmoves, sizeof(int), MoveOrderCmp, moves);

	for (i = 0; i < nmoves; i++)
	{
		StockMove  *m = &moves[order[i]];
		bool		costs;
		bool		added = false;

		if (m->from_state == STATE_OUTSIDE)
			m->taken = m->qty;
		else
		{
			int64		held;
			char	   *ids = NULL;
			int64		pending = 0;

			if (m->from_state == STATE_QUARANTINED && !document)
				pending = PendingQuarantineHolds(m, &ids);
			if (pending > 0)
				TakeQuarantinedAbovePending(m, pending, ids);
			else if (m->from_bin_id == 0 && !m->exact_bin && StockNodeHasBins(m->from_node_id))
			{
				/* a node's stock spread over its bins (stock/bins.c): one ledger row per bin */
				if (parts == NULL)
				{
					parts = palloc0(sizeof(StockMove *) * nmoves);
					nparts = palloc0(sizeof(int) * nmoves);
				}
				if (!StockBinsTake(m, &parts[order[i]], &nparts[order[i]], &held))
					RefuseInsufficient(m, held);
				added = true;
			}
			else if (!StockSlotsTake(m, &m->taken, &m->contended, &held))
				RefuseInsufficient(m, held);
		}
		/* a costed move out of a node's value owns its cost tag right after its slots there (stock/cost.c) */
		costs = CostMoveCosts(m);
		if (costs && CostValuedState(m->from_state))
			(void) CostTryBalance(m->item_id, m->from_node_id);
		if (!added && m->to_state != STATE_OUTSIDE && m->taken > 0 && !StockMoveInPlace(m))
			StockSlotsAdd(m, m->taken);
	}
	if (parts == NULL)
		StockJournalAppend(moves, nmoves);
	else
		JournalAppendParts(moves, nmoves, parts, nparts);
	CostApply(moves, nmoves, order);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * StockDocumentMove: a document's single move, taken exactly (or, for an
 * order's reserved, picked or packed units, as held); returns its move id.
 */
int64
StockDocumentMove(const char *ref, int64 item_id, int64 lot_id, int64 qty, int64 from_node_id,
				  StockState from, int64 to_node_id, StockState to, const char *event, StockTakeKind take)
{
	StockMove	m;

	memset(&m, 0, sizeof(m));
	m.item_id = item_id;
	m.lot_id = lot_id;
	m.qty = qty;
	m.from_node_id = from_node_id;
	m.from_state = from;
	m.to_node_id = to_node_id;
	m.to_state = to;
	m.event = event;
	m.ref = ref;
	m.take = take;
	StockApply(&m, 1, STOCK_DOCUMENT);
	return m.move_id;
}
