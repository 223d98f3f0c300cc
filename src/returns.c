/*-------------------------------------------------------------------------
 *
 * returns.c
 *	  Returns orchestration: authorising a return against what was shipped,
 *	  receiving it, inspecting it, routing the units by the disposition
 *	  rules, refunding with governance, and closing the loose ends
 *	  (refurbishment done, units shipped back to the vendor, expiry).
 *
 *	  Routing is decided here, in C: the rules of erp.disposition_rule are
 *	  cached per backend in priority order (dropped when the table changes)
 *	  and the first rule whose reason, condition, category and unit value
 *	  band match decides the disposition, the refund policy and the
 *	  restocking fee.
 *
 *	  Refund = unit_price x qty x (1 - restocking_fee_pct / 100).  It is due
 *	  on receipt, on inspection or by hand (the rule's policy); a refund of a
 *	  high-value item, above the 'refund' approval threshold, or by hand
 *	  waits for a member of erp_approver.
 *
 *	  Four eyes: the person who made a refund due (the one who received the
 *	  units under an on_receipt rule, or who inspected them otherwise) is
 *	  recorded in rma_line.refund_requested_by and may not approve it.
 *
 *	  Refuses: no id or an unknown order, rma, line or sku (IE003), bad
 *	  quantities, texts, return windows or missing input (IE004), a sku
 *	  received that is not on the RMA (IE007, kept as a return_discrepancy
 *	  event), a return of more than was shipped and not yet returned or
 *	  outside the return window (IE008), a partner acting on another node's
 *	  return, an approval by a role outside erp_approver or by the person
 *	  who made the refund due (IE009), a step the RMA or line does not allow
 *	  now (IE010).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "ierp.h"
#include "order_document.h"
#include "stock/kernel.h"
#include "governance.h"

IERP_OWNER_ENTRY(ierp_returns_authorize);
IERP_OWNER_ENTRY(ierp_returns_receive);
IERP_OWNER_ENTRY(ierp_returns_inspect);
IERP_OWNER_ENTRY(ierp_returns_approve_refund);
IERP_OWNER_ENTRY(ierp_returns_complete_refurbish);
IERP_OWNER_ENTRY(ierp_returns_to_vendor);
IERP_OWNER_ENTRY(ierp_returns_expire);

/* Refunds up to this value need no approver when erp.approval_policy says nothing. */
#define DEFAULT_REFUND_AUTO_LIMIT "250.00"

/* A return window is 1 day to 10 years. */
#define MAX_RETURN_WINDOW_DAYS 3650

/* The most units of one item a return may ask for (as one move may move). */
#define IERP_MAX_RETURN_UNITS INT64CONST(1000000000)

/* Money is numeric(14,2): amounts stay below this. */
#define MAX_MONEY 1e12

static const Oid id_types[] = {INT8OID, INT8OID, INT8OID, INT8OID};

/* ----------------------------------------------------------------
 * The disposition rules, cached
 * ----------------------------------------------------------------
 */
typedef struct DispositionRule
{
	char	   *reason;			/* NULL: any */
	char	   *condition;		/* NULL: any */
	char	   *category;		/* NULL: any */
	bool		has_min;
	double		min_unit_value;
	bool		has_max;
	double		max_unit_value;
	char		disposition[16];
	char		refund_policy[16];
	char	   *fee_pct;		/* numeric, as text */
} DispositionRule;

static MemoryContext rules_cxt = NULL;
static DispositionRule *rules = NULL;
static int	num_rules = 0;
static Oid	rules_relid = InvalidOid;

static void
RulesInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == rules_relid)
	{
		rules = NULL;
		num_rules = 0;
	}
}

void
ReturnsInit(void)
{
	IerpRegisterRelcacheCallback(RulesInvalidate, (Datum) 0);
}

static char *
CopyValue(HeapTuple tup, TupleDesc desc, int col)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	return v ? pstrdup(v) : NULL;
}

static void
RulesLoad(void)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext old;
	DispositionRule *loaded;
	uint64		i;

	IerpPlan(&plan,
			 "SELECT reason, condition::text, category, min_unit_value::float8, max_unit_value::float8,"
			 "       disposition::text, refund_policy::text, restocking_fee_pct::text"
			 "  FROM erp.disposition_rule ORDER BY priority, disposition_rule_id",
			 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read erp.disposition_rule");
	/* no half-built cache survives an error below */
	rules = NULL;
	num_rules = 0;
	if (rules_cxt == NULL)
		rules_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp disposition rules",
										  ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(rules_cxt);
	old = MemoryContextSwitchTo(rules_cxt);
	loaded = palloc0(sizeof(DispositionRule) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		DispositionRule *r = &loaded[i];
		bool		isnull;
		Datum		d;

		r->reason = CopyValue(tup, desc, 1);
		r->condition = CopyValue(tup, desc, 2);
		r->category = CopyValue(tup, desc, 3);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		r->has_min = !isnull;
		r->min_unit_value = isnull ? 0 : DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		r->has_max = !isnull;
		r->max_unit_value = isnull ? 0 : DatumGetFloat8(d);
		strlcpy(r->disposition, SPI_getvalue(tup, desc, 6), sizeof(r->disposition));
		strlcpy(r->refund_policy, SPI_getvalue(tup, desc, 7), sizeof(r->refund_policy));
		r->fee_pct = CopyValue(tup, desc, 8);
	}
	MemoryContextSwitchTo(old);
	rules_relid = IerpLocalRelid("disposition_rule");
	rules = loaded;
	num_rules = (int) SPI_processed;
}

static bool
Matches(const char *rule_value, const char *value)
{
	return rule_value == NULL || (value != NULL && strcmp(rule_value, value) == 0);
}

/*
 * The first rule, by priority, matching a return.  condition NULL (at
 * receipt) matches only rules that leave the condition open.  NULL when no
 * rule matches.
 */
static const DispositionRule *
RouteReturn(const char *reason, const char *condition, const char *category, double unit_value)
{
	int			i;

	if (rules == NULL)
		RulesLoad();
	for (i = 0; i < num_rules; i++)
	{
		const DispositionRule *r = &rules[i];

		if (!Matches(r->reason, reason) || !Matches(r->category, category))
			continue;
		if (condition == NULL ? r->condition != NULL : !Matches(r->condition, condition))
			continue;
		if ((r->has_min && unit_value < r->min_unit_value) ||
			(r->has_max && unit_value > r->max_unit_value))
			continue;
		return r;
	}
	return NULL;
}

/* ----------------------------------------------------------------
 * Shared pieces
 * ----------------------------------------------------------------
 */

/* Records a returns move: the returns engine owns its transitions. */
static void
ReturnsMove(int64 rma_id, int64 item_id, int64 lot_id, int64 qty, int64 from_node, StockState from,
			int64 to_node, StockState to, const char *event)
{
	StockDocumentMove(psprintf("rma:" INT64_FORMAT, rma_id), item_id, lot_id, qty,
					   from_node, from, to_node, to, event, STOCK_TAKE_ALL);
}

/* Locks an RMA; returns its status (palloc'd) and order; IE003 when unknown. */
static char *
RmaLock(int64 rma_id, int64 *order_id)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	/* own the return in the global lock order first: its row lock then never waits for us */
	StockOwnDocument(STOCK_TAG_RMA, rma_id, psprintf("rma " INT64_FORMAT, rma_id));
	IerpPlan(&plan, "SELECT status::text, order_id FROM erp.rma WHERE rma_id = $1 FOR UPDATE NOWAIT",
			 1, id_types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(rma_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot lock rma");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown rma " INT64_FORMAT, rma_id)));
	if (order_id)
		*order_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* An RMA line, locked (with its RMA first, always in that order). */
typedef struct RmaLine
{
	int64		rma_line_id;
	int64		rma_id;
	int64		item_id;
	char	   *sku;
	char	   *category;
	bool		high_value;
	int64		node_id;
	int64		received_node_id;
	int64		lot_id;
	int64		qty;
	int64		qty_received;
	int64		qty_inspected;
	char	   *reason;
	char	   *disposition;
	char	   *refund_status;
	double		unit_price;
	bool		available;		/* available_at is set */
	bool		vendor_returned;
	char	   *refund_requested_by;	/* NULL while no refund is due */
	char	   *rma_status;
} RmaLine;

static void
RmaLineLock(int64 rma_line_id, RmaLine *line)
{
	static SPIPlanPtr find_plan = NULL;
	static SPIPlanPtr plan = NULL;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	IerpPlan(&find_plan, "SELECT rma_id FROM erp.rma_line WHERE rma_line_id = $1", 1, id_types);
	if (SPI_execute_plan(find_plan, (Datum[]) {Int64GetDatum(rma_line_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read rma line");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown rma line " INT64_FORMAT, rma_line_id)));
	line->rma_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	line->rma_status = RmaLock(line->rma_id, NULL);

	IerpPlan(&plan,
			 "SELECT l.item_id, i.sku, i.category, i.high_value, l.node_id, COALESCE(l.received_node_id, 0),"
			 "       COALESCE(l.lot_id, 0), l.qty, l.qty_received, l.qty_inspected, l.reason,"
			 "       l.disposition::text, l.refund_status::text, l.unit_price::float8,"
			 "       l.available_at IS NOT NULL, l.vendor_returned_at IS NOT NULL, l.refund_requested_by::text"
			 "  FROM erp.rma_line l JOIN erp.item i ON i.item_id = l.item_id"
			 " WHERE l.rma_line_id = $1 FOR UPDATE OF l",
			 1, id_types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(rma_line_id)}, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot lock rma line");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	line->rma_line_id = rma_line_id;
	line->item_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	line->sku = SPI_getvalue(tup, desc, 2);
	line->category = SPI_getvalue(tup, desc, 3);
	line->high_value = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	line->node_id = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	line->received_node_id = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	line->lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
	line->qty = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
	line->qty_received = DatumGetInt64(SPI_getbinval(tup, desc, 9, &isnull));
	line->qty_inspected = DatumGetInt64(SPI_getbinval(tup, desc, 10, &isnull));
	line->reason = SPI_getvalue(tup, desc, 11);
	line->disposition = SPI_getvalue(tup, desc, 12);
	line->refund_status = SPI_getvalue(tup, desc, 13);
	d = SPI_getbinval(tup, desc, 14, &isnull);
	line->unit_price = DatumGetFloat8(d);
	line->available = DatumGetBool(SPI_getbinval(tup, desc, 15, &isnull));
	line->vendor_returned = DatumGetBool(SPI_getbinval(tup, desc, 16, &isnull));
	line->refund_requested_by = SPI_getvalue(tup, desc, 17);
}

/*
 * The node a line's work happens at: where its units arrived, or where they
 * are expected.  A partner acts on the lines of its nodes only (IE009).
 */
static void
RmaLineCheckAccess(const RmaLine *line)
{
	AccessCheckNode(line->received_node_id ? line->received_node_id : line->node_id);
}

/*
 * Makes a refund of units of a line due under policy and fee: sets the
 * amount (unit_price x units x (1 - fee/100)) and either approves it at
 * once or leaves it awaiting approval (high-value item, above the refund
 * threshold, or a manual policy) with a refund_approval_needed event.
 */
static void
RefundDue(const RmaLine *line, int64 units, const char *policy, const char *fee_pct)
{
	static SPIPlanPtr due_plan = NULL;
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT8OID, TEXTOID, BOOLOID, BOOLOID};
	Datum		values[5];
	Datum		due;
	bool		isnull;
	bool		waits;
	char	   *amount;

	/*
	 * The amount and whether it waits first, then the update with them and
	 * the time as values: Citus refuses now() inside CASE in an UPDATE.
	 */
	IerpPlan(&due_plan,
			 "SELECT d.amount, $4 OR $5 OR d.amount > COALESCE("
			 "          (SELECT p.max_auto_value FROM erp.approval_policy p WHERE p.kind = 'refund'),"
			 "          " DEFAULT_REFUND_AUTO_LIMIT ")"
			 "  FROM (SELECT round(l.unit_price * $2 * (1 - $3::numeric / 100), 2) AS amount"
			 "          FROM erp.rma_line l WHERE l.rma_line_id = $1) d",
			 5, types);
	values[0] = Int64GetDatum(line->rma_line_id);
	values[1] = Int64GetDatum(units);
	values[2] = CStringGetTextDatum(fee_pct ? fee_pct : "0");
	values[3] = BoolGetDatum(line->high_value);
	values[4] = BoolGetDatum(strcmp(policy, "manual") == 0);
	if (SPI_execute_plan(due_plan, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: refund update failed");
	due = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	due = isnull ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(due));
	waits = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	IerpPlan(&plan,
			 "UPDATE erp.rma_line SET refund_amount = $2,"
			 "       refund_status = CASE WHEN $3 THEN 'awaiting_approval' ELSE 'approved' END::erp.refund_status,"
			 "       refunded_at = $4, refund_requested_by = $5"
			 " WHERE rma_line_id = $1"
			 " RETURNING refund_amount::text",
			 5, (Oid[]) {INT8OID, NUMERICOID, BOOLOID, TIMESTAMPTZOID, TEXTOID});
	if (SPI_execute_plan(plan,
						 (Datum[]) {Int64GetDatum(line->rma_line_id), due, BoolGetDatum(waits),
									waits ? (Datum) 0 : TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
									CStringGetTextDatum(IerpActorName())},
						 (char[]) {' ', due == (Datum) 0 ? 'n' : ' ', ' ', waits ? 'n' : ' ', ' ', '\0'},
						 false, 0) != SPI_OK_UPDATE_RETURNING || SPI_processed != 1)
		elog(ERROR, "inventory_erp: refund update failed");
	amount = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (waits)
		EventRecord("refund_approval_needed", line->item_id, line->received_node_id, 0, line->rma_id,
					psprintf("{\"rma_line_id\": " INT64_FORMAT ", \"sku\": %s, \"amount\": %s,"
							 " \"why\": %s}",
							 line->rma_line_id, IerpJsonQuote(line->sku), amount,
							 IerpJsonQuote(line->high_value ? "high-value item"
										   : strcmp(policy, "manual") == 0 ? "manual refund policy"
										   : "above the refund approval threshold")));
}

/*
 * Re-derives an RMA's status from its lines: received when everything that
 * was not expired has arrived, inspected when it has all been inspected,
 * closed when no refund waits for approval either.
 */
static void
RmaRefreshStatus(int64 rma_id)
{
	static SPIPlanPtr status_plan = NULL;
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	Datum		status;

	/*
	 * The status first, then the update with it and the time as values:
	 * Citus refuses an UPDATE that casts a column to an enum or calls now()
	 * inside COALESCE.  The aggregate always gives one row (no lines: closed).
	 */
	IerpPlan(&status_plan,
			 "SELECT CASE"
			 "          WHEN sum(qty_received) = 0 AND sum(qty_expired) > 0 AND sum(qty_expired) = sum(qty) THEN 'expired'"
			 "          WHEN sum(qty_received) = 0 THEN 'authorized'"
			 "          WHEN sum(qty_received + qty_expired) < sum(qty) THEN 'partially_received'"
			 "          WHEN sum(qty_inspected) < sum(qty_received) THEN 'received'"
			 "          WHEN bool_or(refund_status = 'awaiting_approval') THEN 'inspected'"
			 "          ELSE 'closed' END"
			 "  FROM erp.rma_line WHERE rma_id = $1",
			 1, id_types);
	if (SPI_execute_plan(status_plan, (Datum[]) {Int64GetDatum(rma_id)}, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot derive the status of rma " INT64_FORMAT, rma_id);
	status = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "inventory_erp: cannot derive the status of rma " INT64_FORMAT, rma_id);
	status = PointerGetDatum(PG_DETOAST_DATUM_COPY(status));
	IerpPlan(&plan,
			 "UPDATE erp.rma SET status = $2::erp.rma_status,"
			 "       closed_at = CASE WHEN $2 = 'closed' THEN COALESCE(closed_at, $3) END"
			 " WHERE rma_id = $1 AND status <> $2::erp.rma_status",
			 3, (Oid[]) {INT8OID, TEXTOID, TIMESTAMPTZOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(rma_id), status,
										  TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())},
						 NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: rma status update failed");
}

/* ----------------------------------------------------------------
 * erp.authorize_return
 * ----------------------------------------------------------------
 */

/* What one requested return line asks for, expanded to shipped items (kits to components). */
typedef struct ReturnRequest
{
	int64		item_id;
	char	   *sku;
	int64		qty;
	char	   *reason;
	char	   *unit_price;		/* numeric, as text; NULL: 0 */
} ReturnRequest;

/* The requests of one return: as many as the expansion writes, grown as it goes. */
typedef struct ReturnRequests
{
	ReturnRequest *items;
	int			n;
	int			cap;
} ReturnRequests;

/*
 * Expands a requested return of qty of item (a kit is returned as its
 * components) and appends the requests; unit prices come from the order: a
 * kit's price is shared among its components by their list prices, also
 * when a component is returned under its own sku; a substitute's is the
 * price of the line it filled.
 */
static void
ExpandRequest(int64 order_id, int64 item_id, const char *sku, int64 qty, const char *reason,
			  ReturnRequests *out)
{
	static SPIPlanPtr plan = NULL;
	uint64		i,
				rows;

	/* the item itself or its components, each with the price per unit paid on the order */
	IerpPlan(&plan,
			 "WITH paid AS (SELECT COALESCE("
			 "                (SELECT max(ol.unit_price) FROM erp.order_line ol"
			 "                  WHERE ol.order_id = $1 AND ol.item_id = $2),"
			 /* a substitute is refunded at the price of the line it filled (substitute.c) */
			 "                (SELECT max(ol.unit_price) FROM erp.order_line ol"
			 "                   JOIN erp.order_line_substitution s ON s.order_id = ol.order_id AND s.line_no = ol.line_no"
			 "                  WHERE ol.order_id = $1 AND s.substitute_item_id = $2),"
			 "                (SELECT max(ol.unit_price * CASE WHEN t.total > 0 THEN ci.unit_price / t.total"
			 "                                                 ELSE 1.0 / t.units END)"
			 "                   FROM erp.order_line ol"
			 "                   JOIN erp.item_component c ON c.kit_item_id = ol.item_id AND c.component_item_id = $2"
			 "                   JOIN erp.item ci ON ci.item_id = $2"
			 "                  CROSS JOIN LATERAL (SELECT sum(i2.unit_price * c2.qty) AS total, sum(c2.qty) AS units"
			 "                                        FROM erp.item_component c2"
			 "                                        JOIN erp.item i2 ON i2.item_id = c2.component_item_id"
			 "                                       WHERE c2.kit_item_id = ol.item_id) t"
			 "                  WHERE ol.order_id = $1)) AS price),"
			 "     parts AS (SELECT c.component_item_id AS item_id, c.qty, ci.sku, ci.unit_price"
			 "                 FROM erp.item_component c JOIN erp.item ci ON ci.item_id = c.component_item_id"
			 "                WHERE c.kit_item_id = $2)"
			 " SELECT p.item_id, p.qty, p.sku,"
			 "        (SELECT price FROM paid) * CASE WHEN sum(p.unit_price * p.qty) OVER () > 0"
			 "              THEN p.unit_price / sum(p.unit_price * p.qty) OVER ()"
			 "              ELSE 1.0 / sum(p.qty) OVER () END"
			 "   FROM parts p"
			 " UNION ALL"
			 " SELECT $2, 1, NULL, (SELECT price FROM paid) WHERE NOT EXISTS (SELECT 1 FROM parts)",
			 2, id_types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id), Int64GetDatum(item_id)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read order prices");
	rows = SPI_processed;

	/* room for every row this expansion writes: a kit has as many as it has components */
	if (rows > (uint64) (INT_MAX / 2 - out->n))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("a return of order " INT64_FORMAT " has too many lines", order_id)));
	if (out->n + (int) rows > out->cap)
	{
		int			cap = Max(out->cap * 2, out->n + (int) rows);

		out->items = out->items == NULL ? palloc0(sizeof(ReturnRequest) * cap)
			: repalloc(out->items, sizeof(ReturnRequest) * cap);
		out->cap = cap;
	}
	for (i = 0; i < rows; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		ReturnRequest *q = &out->items[out->n];
		char	   *part_sku = SPI_getvalue(tup, desc, 3);
		int64		per_kit = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));

		q->item_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		if (pg_mul_s64_overflow(qty, per_kit, &q->qty) || q->qty > IERP_MAX_RETURN_UNITS)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("a return of " INT64_FORMAT " of kit \"%s\" is too many units of its component \"%s\"",
							qty, sku, part_sku ? part_sku : sku)));
		q->sku = part_sku ? part_sku : pstrdup(sku);
		q->reason = pstrdup(reason);
		q->unit_price = SPI_getvalue(tup, desc, 4);
		out->n++;
	}
}

/*
 * erp.authorize_return(order_id, lines, return_window_days): the customer
 * may send back these units.  Each unit must have shipped on the order, not
 * be authorised already (unless that RMA expired without it), and have
 * shipped within the return window.  The units are expected back at the
 * node (and lot) that shipped them: return_pending there.
 */
static Datum
ierp_returns_authorize_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr shipped_plan = NULL;
	static SPIPlanPtr rma_plan = NULL;
	static SPIPlanPtr line_plan = NULL;
	static const Oid json_types[] = {JSONBOID};
	static const Oid rma_types[] = {INT8OID, INT4OID};
	static const Oid line_types[] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID};
	int64		order_id = IerpIdArg(fcinfo, 0, "order");
	int32		window = PG_ARGISNULL(2) ? 30 : PG_GETARG_INT32(2);
	OrderHeader order;
	ReturnRequests req = {NULL, 0, 0};
	int			r;
	uint64		i,
				nlines;
	int64		rma_id;
	bool		isnull;
	MemoryContext caller_ctx;
	MemoryContext line_ctx;

	GovernanceCheckLines(fcinfo, 1, psprintf("a return of order " INT64_FORMAT, order_id));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	/* the order row serialises returns of the same order */
	OrderLock(order_id, &order);
	AccessCheckOrder(order_id);
	if (window <= 0 || window > MAX_RETURN_WINDOW_DAYS)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid return window of %d days", window),
				 errdetail("A return window is 1 to %d days.", MAX_RETURN_WINDOW_DAYS)));

	IerpPlan(&lines_plan,
			 "SELECT jsonb_typeof(d.doc), e.value->>'sku', e.value->>'qty', COALESCE(e.value->>'reason', 'changed_mind'),"
			 "       (SELECT i.item_id FROM erp.item i WHERE i.sku = e.value->>'sku'),"
			 "       EXISTS (SELECT 1 FROM erp.reason_code rc WHERE rc.code = COALESCE(e.value->>'reason', 'changed_mind'))"
			 "  FROM (SELECT $1 AS doc) d"
			 "  LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(d.doc) = 'array'"
			 "                                        THEN d.doc ELSE '[]' END) e(value) ON true",
			 1, json_types);
	if (SPI_execute_plan(lines_plan, (Datum[]) {PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1)},
						 PG_ARGISNULL(1) ? "n" : " ", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read return lines");
	nlines = SPI_processed;
	if (nlines == 0 || SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) == NULL ||
		strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "array") != 0 ||
		SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("a return of order " INT64_FORMAT " needs at least one line", order_id),
				 errhint("lines is a JSON array like [{\"sku\": \"A-1\", \"qty\": 1, \"reason\": \"too_small\"}].")));
	{
		SPITupleTable *tt = SPI_tuptable;

		for (i = 0; i < nlines; i++)
		{
			HeapTuple	tup = tt->vals[i];
			char	   *sku = SPI_getvalue(tup, tt->tupdesc, 2);
			char	   *qty_text = SPI_getvalue(tup, tt->tupdesc, 3);
			char	   *reason = SPI_getvalue(tup, tt->tupdesc, 4);
			bool		unknown_item;
			Datum		item = SPI_getbinval(tup, tt->tupdesc, 5, &unknown_item);
			bool		known_reason = DatumGetBool(SPI_getbinval(tup, tt->tupdesc, 6, &isnull));
			int64		qty;

			IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
			IerpCheckText(reason, "return reason", IERP_MAX_KEY_LEN);
			if (unknown_item)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
						 errmsg("unknown sku \"%s\"", sku ? sku : "(null)")));
			if (!known_reason)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
						 errmsg("unknown return reason \"%s\"", reason),
						 errhint("Reasons are listed in erp.reason_code.")));
			qty = IerpParseQuantity(qty_text, sku);
			ExpandRequest(order_id, DatumGetInt64(item), sku, qty, reason, &req);
		}
	}

	IerpPlan(&rma_plan,
			 "INSERT INTO erp.rma (order_id, expires_at) VALUES ($1, pg_catalog.now() + make_interval(days => $2))"
			 " RETURNING rma_id",
			 2, rma_types);
	if (SPI_execute_plan(rma_plan, (Datum[]) {Int64GetDatum(order_id), Int32GetDatum(window)},
						 NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inventory_erp: rma insert failed");
	rma_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	caller_ctx = CurrentMemoryContext;

	/*
	 * Per item: what shipped per node and lot, less what is already
	 * authorised there (and not expired), newest shipment first.
	 */
	IerpPlan(&shipped_plan,
			 "WITH shipped AS ("
			 "  SELECT sl.node_id, COALESCE(sl.lot_id, 0) AS lot_id, sum(sl.qty) AS qty, max(s.shipped_at) AS at"
			 "    FROM erp.shipment_line sl JOIN erp.shipment s ON s.shipment_id = sl.shipment_id"
			 "   WHERE sl.order_id = $1 AND sl.item_id = $2 GROUP BY 1, 2),"
			 " returned AS ("
			 "  SELECT rl.node_id, COALESCE(rl.lot_id, 0) AS lot_id, sum(rl.qty - rl.qty_expired) AS qty"
			 "    FROM erp.rma_line rl JOIN erp.rma r ON r.rma_id = rl.rma_id"
			 "   WHERE r.order_id = $1 AND rl.item_id = $2 GROUP BY 1, 2)"
			 " SELECT s.node_id, s.lot_id, (s.qty - COALESCE(t.qty, 0))::bigint,"
			 "        s.at + make_interval(days => $3::int) >= pg_catalog.now()"
			 "   FROM shipped s LEFT JOIN returned t ON t.node_id = s.node_id AND t.lot_id = s.lot_id"
			 "  ORDER BY s.at DESC, s.node_id, s.lot_id",
			 3, line_types);
	IerpPlan(&line_plan,
			 "INSERT INTO erp.rma_line (rma_id, item_id, node_id, lot_id, qty, reason, unit_price)"
			 " VALUES ($1, $2, $3, NULLIF($4, 0), $5, $6, round($7::numeric, 2)) RETURNING rma_line_id",
			 7, line_types);
	/* one request at a time: its own SPI level and memory, freed before the next */
	line_ctx = AllocSetContextCreate(caller_ctx, "authorize_return line", ALLOCSET_DEFAULT_SIZES);
	for (r = 0; r < req.n; r++)
	{
		ReturnRequest *q = &req.items[r];
		int64		returnable = 0,
					in_window = 0,
					left = q->qty;
		uint64		ngroups;
		int64	   *node,
				   *lot,
				   *avail;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(line_ctx);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		if (SPI_execute_plan(shipped_plan,
							 (Datum[]) {Int64GetDatum(order_id), Int64GetDatum(q->item_id), Int32GetDatum(window)},
							 NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read shipments");
		ngroups = SPI_processed;
		node = palloc(sizeof(int64) * Max(ngroups, 1));
		lot = palloc(sizeof(int64) * Max(ngroups, 1));
		avail = palloc(sizeof(int64) * Max(ngroups, 1));
		for (i = 0; i < ngroups; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		within = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));

			node[i] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			lot[i] = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			avail[i] = Max(DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull)), 0);
			returnable += avail[i];
			if (within)
				in_window += avail[i];
			else
				avail[i] = 0;
		}
		SPI_freetuptable(SPI_tuptable);
		if (returnable < q->qty)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_RETURN_NOT_ALLOWED),
					 errmsg("return of " INT64_FORMAT " of sku \"%s\" exceeds the " INT64_FORMAT
							" shipped on order " INT64_FORMAT " and not yet returned",
							q->qty, q->sku, returnable, order_id),
					 errdetail("A unit can be returned once, and only after it shipped.")));
		if (in_window < q->qty)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_RETURN_NOT_ALLOWED),
					 errmsg("return of sku \"%s\" on order " INT64_FORMAT " is outside the %d-day return window",
							q->sku, order_id, window),
					 errdetail(INT64_FORMAT " of the " INT64_FORMAT " units asked for shipped within the window.",
							   in_window, q->qty)));
		if (q->unit_price != NULL && strtod(q->unit_price, NULL) * (double) q->qty >= MAX_MONEY)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("a refund of " INT64_FORMAT " of sku \"%s\" at %s is beyond the largest amount",
							q->qty, q->sku, q->unit_price),
					 errdetail("Amounts are numeric(14,2): below 1,000,000,000,000.")));
		for (i = 0; i < ngroups && left > 0; i++)
		{
			int64		part = Min(left, avail[i]);

			if (part == 0)
				continue;
			if (SPI_execute_plan(line_plan,
								 (Datum[]) {Int64GetDatum(rma_id), Int64GetDatum(q->item_id), Int64GetDatum(node[i]),
									 Int64GetDatum(lot[i]), Int64GetDatum(part), CStringGetTextDatum(q->reason),
								 CStringGetTextDatum(q->unit_price ? q->unit_price : "0")},
								 NULL, false, 0) != SPI_OK_INSERT_RETURNING)
				elog(ERROR, "inventory_erp: rma line insert failed");
			SPI_freetuptable(SPI_tuptable);
			ReturnsMove(rma_id, q->item_id, lot[i], part, 0, STATE_OUTSIDE, node[i], STATE_RETURN_PENDING,
						"rma_authorized");
			left -= part;
		}
		SPI_finish();
		MemoryContextSwitchTo(caller_ctx);
		MemoryContextReset(line_ctx);
	}
	MemoryContextDelete(line_ctx);
	SPI_finish();
	PG_RETURN_INT64(rma_id);
}

/* ----------------------------------------------------------------
 * erp.receive_return
 * ----------------------------------------------------------------
 */

/* Lines of an RMA still expected, of one item (0: all). */
typedef struct Expected
{
	int64		rma_line_id;
	int64		item_id;
	int64		node_id;
	int64		received_node_id;
	int64		lot_id;
	int64		outstanding;
	int64		qty;
	int64		qty_received;
} Expected;

static int
LoadExpected(int64 rma_id, int64 item_id, Expected **out)
{
	static SPIPlanPtr plan = NULL;
	uint64		i;
	int			n;
	Expected   *e;

	IerpPlan(&plan,
			 "SELECT rma_line_id, item_id, node_id, COALESCE(received_node_id, 0), COALESCE(lot_id, 0),"
			 "       qty - qty_received - qty_expired, qty, qty_received"
			 "  FROM erp.rma_line WHERE rma_id = $1 AND ($2 = 0 OR item_id = $2)"
			 " ORDER BY rma_line_id FOR UPDATE",
			 2, id_types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(rma_id), Int64GetDatum(item_id)},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read rma lines");
	e = palloc0(sizeof(Expected) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		e[i].rma_line_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		e[i].item_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		e[i].node_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		e[i].received_node_id = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		e[i].lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		e[i].outstanding = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
		e[i].qty = DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
		e[i].qty_received = DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
	}
	*out = e;
	n = (int) SPI_processed;
	/* callers loop over lines: the rows are copied, their table goes */
	SPI_freetuptable(SPI_tuptable);
	return n;
}

/*
 * Receives part units of an expected line at node: return_pending ->
 * inspection.  A line is received whole: when only part of what it expects
 * arrives, the part becomes a line of its own (the rest stays expected on
 * the original), so that every line is inspected, routed and refunded once.
 */
static void
ReceiveLine(int64 rma_id, Expected *e, int64 node_id, int64 part)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr refund_plan = NULL;
	static SPIPlanPtr split_plan = NULL;
	Expected	split;
	int64		at = node_id ? node_id : (e->received_node_id ? e->received_node_id : e->node_id);

	if (part < e->outstanding)
	{
		bool		isnull;

		IerpPlan(&split_plan,
				 "WITH cut AS (UPDATE erp.rma_line SET qty = qty - $2 WHERE rma_line_id = $1"
				 "              RETURNING rma_id, item_id, node_id, lot_id, reason, unit_price)"
				 " INSERT INTO erp.rma_line (rma_id, item_id, node_id, lot_id, qty, reason, unit_price)"
				 " SELECT rma_id, item_id, node_id, lot_id, $2, reason, unit_price FROM cut"
				 " RETURNING rma_line_id",
				 2, id_types);
		if (SPI_execute_plan(split_plan, (Datum[]) {Int64GetDatum(e->rma_line_id), Int64GetDatum(part)},
							 NULL, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "inventory_erp: rma line split failed");
		e->outstanding -= part;
		e->qty -= part;
		split = *e;
		split.rma_line_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		split.received_node_id = 0;
		split.outstanding = part;
		split.qty = part;
		split.qty_received = 0;
		e = &split;
		at = node_id ? node_id : e->node_id;
	}

	ReturnsMove(rma_id, e->item_id, e->lot_id, part, e->node_id, STATE_RETURN_PENDING, at,
				STATE_INSPECTION, "return_received");
	IerpPlan(&plan,
			 "UPDATE erp.rma_line SET qty_received = qty_received + $2, received_node_id = $3,"
			 "       received_at = COALESCE(received_at, $4) WHERE rma_line_id = $1",
			 4, (Oid[]) {INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID});
	/* now() as a value: Citus refuses a non-immutable function inside COALESCE in an UPDATE */
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(e->rma_line_id), Int64GetDatum(part), Int64GetDatum(at),
										  TimestampTzGetDatum(GetCurrentTransactionStartTimestamp())},
						 NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: rma line update failed");
	e->received_node_id = at;
	e->outstanding -= part;
	e->qty_received += part;

	/* a refund due on receipt */
	{
		RmaLine		line;
		const DispositionRule *rule;

		RmaLineLock(e->rma_line_id, &line);
		rule = RouteReturn(line.reason, NULL, line.category, line.unit_price);
		if (rule && strcmp(rule->refund_policy, "on_receipt") == 0 &&
			strcmp(line.refund_status, "pending") == 0)
		{
			IerpPlan(&refund_plan,
					 "UPDATE erp.rma_line SET refund_policy = 'on_receipt', restocking_fee_pct = $2::numeric"
					 " WHERE rma_line_id = $1",
					 2, (Oid[]) {INT8OID, TEXTOID});
			if (SPI_execute_plan(refund_plan, (Datum[]) {Int64GetDatum(e->rma_line_id), CStringGetTextDatum(rule->fee_pct)},
								 NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "inventory_erp: rma line update failed");
			RefundDue(&line, line.qty_received, rule->refund_policy, rule->fee_pct);
		}
	}
}

/*
 * erp.receive_return(rma_id, node, lines): returned units arrive and go to
 * inspection.  Without lines, everything still expected.  A sku not on the
 * RMA: IE007, recorded as a return_discrepancy event.  More than expected:
 * IE008.
 */
static Datum
ierp_returns_receive_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lines_plan = NULL;
	static const Oid json_types[] = {JSONBOID};
	int64		rma_id = IerpIdArg(fcinfo, 0, "rma");
	char	   *node = IerpTextArg(fcinfo, 1);
	int64		node_id = 0;
	int64		order_id;
	char	   *status;
	Expected   *e;
	int			n,
				k;
	bool		isnull;

	IerpCheckText(node, "node", IERP_MAX_KEY_LEN);
	GovernanceCheckLines(fcinfo, 2, psprintf("a receipt of rma " INT64_FORMAT, rma_id));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	status = RmaLock(rma_id, &order_id);
	/* a partner receives the returns of its nodes only: every line's node is checked, by name */
	n = LoadExpected(rma_id, 0, &e);
	for (k = 0; k < n; k++)
	{
		AccessCheckNode(e[k].node_id);
		if (e[k].received_node_id != 0)
			AccessCheckNode(e[k].received_node_id);
	}
	if (strcmp(status, "authorized") != 0 && strcmp(status, "partially_received") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot receive rma " INT64_FORMAT ": it is %s", rma_id, status),
				 errdetail("Only authorised returns that are not fully received can be received.")));
	if (node)
	{
		node_id = IerpLookupNode(node);
		AccessCheckNode(node_id);
	}

	if (PG_ARGISNULL(2))
	{
		bool		any = false;

		n = LoadExpected(rma_id, 0, &e);
		for (k = 0; k < n; k++)
			if (e[k].outstanding > 0)
			{
				ReceiveLine(rma_id, &e[k], node_id, e[k].outstanding);
				any = true;
			}
		if (!any)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("rma " INT64_FORMAT " expects nothing more", rma_id)));
	}
	else
	{
		uint64		i,
					nlines;
		SPITupleTable *tt;
		MemoryContext caller_ctx;
		MemoryContext line_ctx;

		IerpPlan(&lines_plan,
				 "SELECT e.value->>'sku', e.value->>'qty', (SELECT i.item_id FROM erp.item i WHERE i.sku = e.value->>'sku')"
				 "  FROM jsonb_array_elements(CASE WHEN jsonb_typeof($1) = 'array' THEN $1 ELSE '[]' END) e(value)",
				 1, json_types);
		if (SPI_execute_plan(lines_plan, (Datum[]) {PG_GETARG_DATUM(2)}, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read received lines");
		tt = SPI_tuptable;
		nlines = SPI_processed;
		if (nlines == 0)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("a receipt of rma " INT64_FORMAT " needs at least one line", rma_id)));
		/* one line at a time: its own SPI level and memory, freed before the next */
		caller_ctx = CurrentMemoryContext;
		line_ctx = AllocSetContextCreate(caller_ctx, "receive_return line", ALLOCSET_DEFAULT_SIZES);
		for (i = 0; i < nlines; i++)
		{
			char	   *sku;
			char	   *qty_text;
			Datum		item;
			int64		item_id;
			int64		qty,
						expected = 0,
						left;

			CHECK_FOR_INTERRUPTS();
			MemoryContextSwitchTo(line_ctx);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "inventory_erp: SPI_connect failed");
			sku = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
			qty_text = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
			item = SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull);
			item_id = isnull ? 0 : DatumGetInt64(item);
			/* a line without a sku is no discrepancy to record, but bad input */
			if (sku == NULL || sku[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_IERP_INVALID_QUANTITY),
						 errmsg("a received line of rma " INT64_FORMAT " has no sku", rma_id),
						 errhint("lines is a JSON array like [{\"sku\": \"A-1\", \"qty\": 1}].")));
			IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
			n = item_id ? LoadExpected(rma_id, item_id, &e) : 0;
			if (n == 0)
			{
				/* the count as given, when it is a count at all */
				int64		seen = qty_text && strspn(qty_text, "0123456789") == strlen(qty_text)
					&& strlen(qty_text) < 10 ? atoll(qty_text) : 0;

				EventRecordDetached("return_discrepancy", item_id, node_id, order_id, rma_id,
									"sku", sku, seen);
				ereport(ERROR,
						(errcode(ERRCODE_IERP_SCAN_MISMATCH),
						 errmsg("sku \"%s\" is not on rma " INT64_FORMAT, sku ? sku : "", rma_id),
						 errhint("Set the unit aside; the discrepancy is recorded in erp.event.")));
			}
			qty = IerpParseQuantity(qty_text, sku);
			for (k = 0; k < n; k++)
				expected += e[k].outstanding;
			if (qty > expected)
				ereport(ERROR,
						(errcode(ERRCODE_IERP_RETURN_NOT_ALLOWED),
						 errmsg("receipt of " INT64_FORMAT " of sku \"%s\" exceeds the " INT64_FORMAT
								" still expected on rma " INT64_FORMAT, qty, sku, expected, rma_id)));
			left = qty;
			for (k = 0; k < n && left > 0; k++)
			{
				int64		part = Min(left, e[k].outstanding);

				if (part == 0)
					continue;
				ReceiveLine(rma_id, &e[k], node_id, part);
				left -= part;
			}
			SPI_finish();
			MemoryContextSwitchTo(caller_ctx);
			MemoryContextReset(line_ctx);
		}
		MemoryContextDelete(line_ctx);
	}
	RmaRefreshStatus(rma_id);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ----------------------------------------------------------------
 * erp.inspect_return, erp.approve_refund and the finishing steps
 * ----------------------------------------------------------------
 */

/*
 * erp.inspect_return(rma_line_id, condition): routes the received, not yet
 * inspected units of a line by the first matching rule and moves them;
 * returns the disposition.  Nothing to inspect (not received yet, or
 * already inspected): IE010.
 */
static Datum
ierp_returns_inspect_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
	int64		rma_line_id = IerpIdArg(fcinfo, 0, "rma line");
	RmaLine		line;
	char	   *condition;
	const DispositionRule *rule;
	char		disposition[16];	/* outlives SPI_finish: returned */
	const char *policy;
	const char *fee;
	int64		units;
	StockState	to;
	Datum		values[7];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	RmaLineLock(rma_line_id, &line);
	RmaLineCheckAccess(&line);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("inspecting rma line " INT64_FORMAT " needs a condition", rma_line_id)));
	condition = DatumGetCString(DirectFunctionCall1(enum_out, PG_GETARG_DATUM(1)));
	units = line.qty_received - line.qty_inspected;
	if (units == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("rma line " INT64_FORMAT " has nothing to inspect", rma_line_id),
				 line.qty_received == 0
				 ? errdetail("None of its " INT64_FORMAT " units has been received yet.", line.qty)
				 : errdetail("Its " INT64_FORMAT " received units were inspected already (%s).",
							 line.qty_inspected, line.disposition ? line.disposition : "")));

	rule = RouteReturn(line.reason, condition, line.category, line.unit_price);
	strlcpy(disposition, rule ? rule->disposition : "quarantine", sizeof(disposition));
	policy = rule ? pstrdup(rule->refund_policy) : "manual";
	fee = rule && rule->fee_pct ? pstrdup(rule->fee_pct) : "0";
	if (strcmp(disposition, "restock") == 0)
		to = STATE_AVAILABLE;
	else if (strcmp(disposition, "refurbish") == 0)
		to = STATE_REFURBISH;
	else if (strcmp(disposition, "vendor_return") == 0)
		to = STATE_VENDOR_RETURN;
	else if (strcmp(disposition, "dispose") == 0)
		to = STATE_OUTSIDE;
	else
		to = STATE_QUARANTINED;
	ReturnsMove(line.rma_id, line.item_id, line.lot_id, units, line.received_node_id, STATE_INSPECTION,
				line.received_node_id, to, to == STATE_OUTSIDE ? "dispose" : "disposition");

	IerpPlan(&plan,
			 "UPDATE erp.rma_line SET qty_inspected = qty_inspected + $2, condition = $3::erp.item_condition,"
			 "       disposition = $4::erp.disposition, refund_policy = $5::erp.refund_policy,"
			 "       restocking_fee_pct = $6::numeric, inspected_at = $7,"
			 "       available_at = CASE WHEN $4 = 'restock' THEN $7 ELSE available_at END"
			 " WHERE rma_line_id = $1",
			 7, types);
	/* now() as a value: Citus refuses a non-immutable function inside CASE in an UPDATE */
	values[6] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	values[0] = Int64GetDatum(rma_line_id);
	values[1] = Int64GetDatum(units);
	values[2] = CStringGetTextDatum(condition);
	values[3] = CStringGetTextDatum(disposition);
	values[4] = CStringGetTextDatum(policy);
	values[5] = CStringGetTextDatum(fee);
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: rma line update failed");

	/*
	 * A refund due now: on inspection, by hand (it waits for an approver), or
	 * on receipt when only the inspection found the rule that says so.
	 */
	if (strcmp(line.refund_status, "pending") == 0)
		RefundDue(&line, units, policy, fee);
	RmaRefreshStatus(line.rma_id);
	SPI_finish();
	PG_RETURN_DATUM(DirectFunctionCall2(enum_in, CStringGetDatum(disposition),
										ObjectIdGetDatum(get_fn_expr_rettype(fcinfo->flinfo))));
}

/*
 * erp.approve_refund(rma_line_id): an approver releases a refund that waits
 * for approval; returns the amount.  Anyone outside erp_approver, and the
 * person who made the refund due (four eyes), or a partner at another node:
 * IE009.
 */
static Datum
ierp_returns_approve_refund_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid types[] = {INT8OID, TEXTOID};
	int64		rma_line_id = IerpIdArg(fcinfo, 0, "rma line");
	Oid			caller = GetOuterUserId();
	Oid			approver = get_role_oid("erp_approver", false);
	char	   *actor = IerpActorName();
	RmaLine		line;
	Datum		amount;
	bool		isnull;

	if (!has_privs_of_role(caller, approver))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 errmsg("role \"%s\" may not approve refunds", GetUserNameFromId(caller, false)),
				 errdetail("Refunds that wait for approval are released by members of erp_approver."),
				 errhint("Ask an approver, or GRANT erp_approver TO the role that approves.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	RmaLineLock(rma_line_id, &line);
	RmaLineCheckAccess(&line);
	if (strcmp(line.refund_status, "awaiting_approval") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("the refund of rma line " INT64_FORMAT " is %s, not awaiting approval",
						rma_line_id, line.refund_status)));
	if (GovernanceSamePerson(line.refund_requested_by, actor))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 strcmp(line.refund_requested_by, actor) == 0
				 ? errmsg("role \"%s\" may not approve the refund of rma line " INT64_FORMAT ": it made the refund due",
						  actor, rma_line_id)
				 : errmsg("role \"%s\" may not approve the refund of rma line " INT64_FORMAT ": role \"%s\" made the refund due and one is a member of the other",
						  actor, rma_line_id, line.refund_requested_by),
				 errdetail("Four eyes: the person who received or inspected the units that made a refund due never approves it, nor does a role that may act as that person or as which that person may act."),
				 errhint("Ask another member of erp_approver.")));
	IerpPlan(&plan,
			 "UPDATE erp.rma_line SET refund_status = 'approved', refunded_at = pg_catalog.now(),"
			 "       approved_by = $2 WHERE rma_line_id = $1 RETURNING refund_amount",
			 2, types);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(rma_line_id), CStringGetTextDatum(actor)},
						 NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "inventory_erp: refund approval failed");
	amount = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	amount = SPI_datumTransfer(amount, false, -1);
	RmaRefreshStatus(line.rma_id);
	SPI_finish();
	PG_RETURN_DATUM(amount);
}

/* Moves the inspected units of a line out of a held state once its work is done. */
static void
FinishLine(FunctionCallInfo fcinfo, const char *disposition, StockState from, StockState to,
		   const char *event, const char *stamp_sql)
{
	int64		rma_line_id = IerpIdArg(fcinfo, 0, "rma line");
	RmaLine		line;
	bool		done;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	RmaLineLock(rma_line_id, &line);
	RmaLineCheckAccess(&line);
	done = to == STATE_AVAILABLE ? line.available : line.vendor_returned;
	if (line.disposition == NULL || strcmp(line.disposition, disposition) != 0 || done)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("rma line " INT64_FORMAT " has no units waiting in %s", rma_line_id,
						StockStateName(from)),
				 errdetail("Its disposition is %s%s.", line.disposition ? line.disposition : "not decided yet",
						   done ? ", and it was finished already" : "")));
	ReturnsMove(line.rma_id, line.item_id, line.lot_id, line.qty_inspected, line.received_node_id, from,
				line.received_node_id, to, event);
	if (SPI_execute_with_args(stamp_sql, 1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(rma_line_id)},
							  NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "inventory_erp: rma line update failed");
	SPI_finish();
}

/* erp.complete_refurbish(rma_line_id): refurbished units are sellable again. */
static Datum
ierp_returns_complete_refurbish_body(PG_FUNCTION_ARGS)
{
	FinishLine(fcinfo, "refurbish", STATE_REFURBISH, STATE_AVAILABLE, "refurbished",
			   "UPDATE erp.rma_line SET available_at = pg_catalog.now() WHERE rma_line_id = $1");
	PG_RETURN_VOID();
}

/* erp.return_to_vendor(rma_line_id): units routed to the vendor leave for it. */
static Datum
ierp_returns_to_vendor_body(PG_FUNCTION_ARGS)
{
	FinishLine(fcinfo, "vendor_return", STATE_VENDOR_RETURN, STATE_OUTSIDE, "returned_to_vendor",
			   "UPDATE erp.rma_line SET vendor_returned_at = pg_catalog.now() WHERE rma_line_id = $1");
	PG_RETURN_VOID();
}

/*
 * erp.expire_returns(): RMAs past expires_at stop waiting: units not
 * received leave the books (return_pending -> outside, rma_expired).  An RMA
 * with nothing received is expired.  RMAs another session holds are skipped;
 * a partner expires the returns of its own nodes only.  Each RMA is worked
 * in its own SPI connection, so that memory stays flat however many expire.
 */
static Datum
ierp_returns_expire_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr due_plan = NULL;
	static SPIPlanPtr line_plan = NULL;
	uint64		i,
				n;
	int64	   *ids;
	int32		expired = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&due_plan,
			 "SELECT rma_id FROM erp.rma WHERE status IN ('authorized', 'partially_received')"
			 "   AND expires_at < pg_catalog.now() ORDER BY rma_id FOR UPDATE SKIP LOCKED",
			 0, NULL);
	if (SPI_execute_plan(due_plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read expiring returns");
	ids = IerpSpiInt64Column(&n);
	IerpPlan(&line_plan,
			 "UPDATE erp.rma_line SET qty_expired = qty_expired + $2 WHERE rma_line_id = $1",
			 2, id_types);
	for (i = 0; i < n; i++)
	{
		Expected   *e;
		int			k,
					nl;
		bool		mine = true;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed");
		nl = LoadExpected(ids[i], 0, &e);
		for (k = 0; k < nl && mine; k++)
			mine = AccessNodeVisible(e[k].node_id) &&
				(e[k].received_node_id == 0 || AccessNodeVisible(e[k].received_node_id));
		if (mine)
		{
			for (k = 0; k < nl; k++)
			{
				if (e[k].outstanding == 0)
					continue;
				ReturnsMove(ids[i], e[k].item_id, e[k].lot_id, e[k].outstanding, e[k].node_id,
							STATE_RETURN_PENDING, 0, STATE_OUTSIDE, "rma_expired");
				if (SPI_execute_plan(line_plan, (Datum[]) {Int64GetDatum(e[k].rma_line_id), Int64GetDatum(e[k].outstanding)},
									 NULL, false, 0) != SPI_OK_UPDATE)
					elog(ERROR, "inventory_erp: rma line update failed");
			}
			RmaRefreshStatus(ids[i]);
			expired++;
		}
		SPI_finish();
	}
	SPI_finish();
	PG_RETURN_INT32(expired);
}
