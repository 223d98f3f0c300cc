/*-------------------------------------------------------------------------
 *
 * state.c
 *	  The stock states and the state machine: the names of the states, the
 *	  transitions of erp.state_transition cached per backend (dropped when
 *	  the table changes: its trigger, erp.reload_rules, sends a relcache
 *	  invalidation every backend receives at commit), and which document
 *	  owns the units in each state.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "stock/state.h"

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

static StockTransition *transitions = NULL;
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
	StockTransition *loaded;

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
	loaded = palloc0(sizeof(StockTransition) * Max(SPI_processed, 1));
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
	transitions_relid = IerpLocalRelid("state_transition");
	num_transitions = (int) SPI_processed;
	transitions = loaded;
}

const StockTransition *
StockTransitionFind(StockState from, StockState to, const char *event)
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
char *
StockTransitionsFrom(StockState from)
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
StockStateInit(void)
{
	IerpRegisterRelcacheCallback(TransitionsInvalidate, (Datum) 0);
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
const char *
StockDocumentOf(StockState state, const char **hint)
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

