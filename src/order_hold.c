/*-------------------------------------------------------------------------
 *
 * order_hold.c
 *	  Order holds (issue 17, doc/orchestration.md): erp.hold_order(),
 *	  erp.release_order(), the hold a capture's ship_to asks for, and the
 *	  test the allocation engine makes before it reserves for an order.
 *
 *	  An order is held while a row of erp.order_hold for it is open (not
 *	  released); there is at most one open row per reason.  Reasons:
 *	  payment, fraud, customer_service, credit.  A held order is skipped by
 *	  erp.allocate_pending and refused by erp.allocate (IE010), and holding
 *	  it releases its reserved units, unless its channel's
 *	  erp.channel_order_rules.held_orders_reserve lets held orders keep and
 *	  take reservations.  Holds are put before picking only (IE010 after).
 *
 *	  Rights: whoever may act on the order (a partner only on its own,
 *	  IE009) holds it and releases payment, fraud and customer_service
 *	  holds; a credit hold is a credit decision and is released by members
 *	  of erp_approver only (IE009).
 *
 *	  Refuses: no or an unknown order (IE003), an unknown reason (IE003),
 *	  an empty or over-long note (IE004), an order picked, packed, shipped
 *	  or cancelled (IE010).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "governance.h"
#include "ierp.h"
#include "order_document.h"
#include "order_reservations.h"

IERP_OWNER_ENTRY(ierp_hold_order);
IERP_OWNER_ENTRY(ierp_release_order);

static const char *const hold_reasons[] = {"payment", "fraud", "customer_service", "credit", NULL};

/* Refuses (IE003) a reason outside the set; returns it. */
static const char *
CheckReason(const char *reason)
{
	const char *const *r;

	if (reason == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("a hold needs a reason"),
				 errhint("One of payment, fraud, customer_service, credit.")));
	for (r = hold_reasons; *r; r++)
		if (strcmp(reason, *r) == 0)
			return *r;
	ereport(ERROR,
			(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
			 errmsg("unknown hold reason \"%s\"", strlen(reason) > 64 ? "(longer than 64 bytes)" : reason),
			 errhint("One of payment, fraud, customer_service, credit.")));
	return NULL;				/* not reached */
}

/*
 * OrderHoldRequested: the reason of {"hold": reason} in a capture's ship_to
 * (checked: IE004 not a string, IE003 an unknown reason), or NULL.
 */
const char *
OrderHoldRequested(Jsonb *ship_to)
{
	JsonbValue	v;
	char	   *text;

	if (ship_to == NULL || !JB_ROOT_IS_OBJECT(ship_to) ||
		getKeyJsonValueFromContainer(&ship_to->root, "hold", 4, &v) == NULL)
		return NULL;
	if (v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid ship_to hold: not a JSON string"),
				 errdetail("ship_to's \"hold\" names the reason the order arrives on hold, e.g. {\"hold\": \"payment\"}.")));
	text = pnstrdup(v.val.string.val, v.val.string.len);
	return CheckReason(text);
}

/* Writes an open hold of the order for reason; returns its id. */
int64
OrderHoldInsert(int64 order_id, const char *reason, const char *note)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;

	IerpPlan(&plan,
			 "INSERT INTO erp.order_hold (order_id, reason, note, held_by) VALUES ($1, $2, $3, $4)"
			 " RETURNING order_hold_id",
			 4, (Oid[]) {INT8OID, TEXTOID, TEXTOID, TEXTOID});
	values[0] = Int64GetDatum(order_id);
	values[1] = CStringGetTextDatum(reason);
	values[2] = note ? CStringGetTextDatum(note) : (Datum) 0;
	nulls[2] = note ? ' ' : 'n';
	values[3] = CStringGetTextDatum(IerpActorName());
	if (SPI_execute_plan(plan, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot hold order " INT64_FORMAT, order_id);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Whether the order's channel lets held orders keep and take reservations. */
static bool
HeldOrdersReserve(int64 channel_id)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	bool		reserve;

	IerpPlan(&plan,
			 "SELECT held_orders_reserve FROM erp.channel_order_rules WHERE channel_id = $1",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(channel_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read channel order rules");
	if (SPI_processed == 0)
		return false;
	reserve = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return !isnull && reserve;
}

/* The open holds' reasons of the order, "payment, fraud"; NULL when it is not held. */
static char *
OpenHoldReasons(int64 order_id)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	Datum		d;

	IerpPlan(&plan,
			 "SELECT pg_catalog.string_agg(reason, ', ' ORDER BY reason) FROM erp.order_hold"
			 " WHERE order_id = $1 AND released_at IS NULL",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id)}, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read the holds of order " INT64_FORMAT, order_id);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * OrderHoldBlocks: whether an open hold keeps the order (owned by the
 * caller) from being allocated: held, and its channel does not let held
 * orders reserve.
 */
bool
OrderHoldBlocks(const OrderHeader *order)
{
	/* the header says whether a hold was open when the order was owned (holds need the owner) */
	if (!order->held)
		return false;
	return OpenHoldReasons(order->order_id) != NULL && !HeldOrdersReserve(order->channel_id);
}

/*
 * OrderHoldRefuseStep: IE010 for packing or shipping an order with an open
 * hold (a channel whose held orders keep their reservations may have let it
 * be picked): nothing leaves before the hold is released.
 */
void
OrderHoldRefuseStep(const OrderHeader *order, const char *step)
{
	char	   *reasons;

	if (!order->held || (reasons = OpenHoldReasons(order->order_id)) == NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_IERP_WRONG_STATUS),
			 errmsg("cannot %s order " INT64_FORMAT ": it is on hold (%s)", step, order->order_id, reasons),
			 errdetail("Nothing of a held order is packed or shipped."),
			 errhint("Release it with erp.release_order(" INT64_FORMAT ") first.", order->order_id)));
}

/* OrderHoldRefuse: IE010 for an explicit allocation of a held order. */
void
OrderHoldRefuse(const OrderHeader *order)
{
	char	   *reasons = OpenHoldReasons(order->order_id);

	ereport(ERROR,
			(errcode(ERRCODE_IERP_WRONG_STATUS),
			 errmsg("cannot allocate order " INT64_FORMAT ": it is on hold (%s)", order->order_id,
					reasons ? reasons : "released meanwhile"),
			 errdetail("A held order reserves nothing until every hold is released."),
			 errhint("Release it with erp.release_order(" INT64_FORMAT "); erp.allocate_pending then fills it.",
					 order->order_id)));
}

/*
 * erp.hold_order(order_id, reason, note): puts the order on hold for reason;
 * returns the hold id.  An order already held for that reason keeps its
 * hold (its id is returned, nothing changes).  Records an order_held event.
 */
static Datum
ierp_hold_order_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr open_plan = NULL;
	static const char *const allowed[] = {"open", "allocated", "partially_allocated", "backordered", NULL};
	const char *const *s;
	int64		order_id = IerpIdArg(fcinfo, 0, "order");
	const char *reason = CheckReason(IerpTextArg(fcinfo, 1));
	char	   *note = IerpTextArg(fcinfo, 2);
	OrderHeader order;
	int64		hold_id;
	int64		units = 0;
	bool		isnull;

	IerpCheckText(note, "hold note", IERP_MAX_TEXT_LEN);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	OrderLock(order_id, &order);
	AccessCheckOrder(order.order_id);
	for (s = allowed; *s; s++)
		if (strcmp(order.status, *s) == 0)
			break;
	if (*s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot hold order " INT64_FORMAT ": it is %s", order.order_id, order.status),
				 errdetail("Orders are held before picking starts."),
				 strcmp(order.status, "picking") == 0
				 ? errhint("Cancel it with erp.cancel_order(" INT64_FORMAT ") if it must not go.", order.order_id) : 0));

	IerpPlan(&open_plan,
			 "SELECT order_hold_id FROM erp.order_hold WHERE order_id = $1 AND reason = $2 AND released_at IS NULL",
			 2, (Oid[]) {INT8OID, TEXTOID});
	if (SPI_execute_plan(open_plan, (Datum[]) {Int64GetDatum(order.order_id), CStringGetTextDatum(reason)},
						 NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the holds of order " INT64_FORMAT, order.order_id);
	if (SPI_processed == 1)
	{
		/* held for that reason already: the same hold */
		hold_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
		PG_RETURN_INT64(hold_id);
	}
	hold_id = OrderHoldInsert(order.order_id, reason, note);
	if (!HeldOrdersReserve(order.channel_id))
		units = OrderReleaseReserved(&order);
	EventRecord("order_held", 0, 0, order.order_id, 0,
				psprintf("{\"reason\": %s, \"order_hold_id\": " INT64_FORMAT ", \"units_released\": " INT64_FORMAT "}",
						 IerpJsonQuote(reason), hold_id, units));
	SPI_finish();
	PG_RETURN_INT64(hold_id);
}

/*
 * erp.release_order(order_id, reason): releases the order's open holds (of
 * reason, or all of them); returns how many.  A credit hold needs a member
 * of erp_approver (IE009).  Records an order_released event when a hold was
 * released.  Allocates nothing itself: erp.allocate_pending (or
 * erp.allocate) fills the order once no hold is left.
 */
static Datum
ierp_release_order_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr read_plan = NULL;
	static SPIPlanPtr release_plan = NULL;
	Oid			caller = GetOuterUserId();
	int64		order_id = IerpIdArg(fcinfo, 0, "order");
	char	   *reason_arg = IerpTextArg(fcinfo, 1);
	const char *reason = reason_arg ? CheckReason(reason_arg) : NULL;
	OrderHeader order;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	uint64		i,
				n;
	bool		credit = false;
	char	   *credit_held_by = NULL;
	const char *actor = IerpActorName();
	bool		still_held;
	StringInfoData buf;
	int32		released;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	OrderLock(order_id, &order);
	AccessCheckOrder(order.order_id);
	IerpPlan(&read_plan,
			 "SELECT reason, held_by FROM erp.order_hold WHERE order_id = $1 AND released_at IS NULL"
			 "   AND ($2::text IS NULL OR reason = $2) ORDER BY reason",
			 2, (Oid[]) {INT8OID, TEXTOID});
	values[0] = Int64GetDatum(order.order_id);
	values[1] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
	nulls[1] = reason ? ' ' : 'n';
	if (SPI_execute_plan(read_plan, values, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the holds of order " INT64_FORMAT, order.order_id);
	n = SPI_processed;
	initStringInfo(&buf);
	for (i = 0; i < n; i++)
	{
		char	   *r = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (strcmp(r, "credit") == 0)
		{
			credit = true;
			credit_held_by = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		}
		appendStringInfo(&buf, "%s%s", i ? ", " : "", r);
	}
	if (n == 0)
	{
		SPI_finish();
		PG_RETURN_INT32(0);
	}
	if (credit && !has_privs_of_role(caller, get_role_oid("erp_approver", false)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 errmsg("role \"%s\" may not release the credit hold of order " INT64_FORMAT,
						GetUserNameFromId(caller, false), order.order_id),
				 errdetail("A credit hold is released by members of erp_approver."),
				 errhint("Ask an approver, or release the other holds with erp.release_order(" INT64_FORMAT
						 ", reason).", order.order_id)));
	/* four eyes, as for adjustments: the login whose order went over the limit never clears it */
	if (credit && credit_held_by != NULL && GovernanceSamePerson(credit_held_by, actor))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
				 errmsg("role \"%s\" may not release the credit hold of order " INT64_FORMAT ": %s",
						actor, order.order_id,
						strcmp(credit_held_by, actor) == 0 ? "it captured the order"
						: "the role that captured the order and this one are members of each other"),
				 errdetail("Four eyes: the person whose order went over the credit limit never releases its credit hold."),
				 errhint("Ask another member of erp_approver.")));
	IerpPlan(&release_plan,
			 "UPDATE erp.order_hold SET released_at = pg_catalog.now(), released_by = $3"
			 " WHERE order_id = $1 AND released_at IS NULL AND ($2::text IS NULL OR reason = $2)"
			 " RETURNING reason",
			 3, (Oid[]) {INT8OID, TEXTOID, TEXTOID});
	values[2] = CStringGetTextDatum(actor);
	if (SPI_execute_plan(release_plan, values, nulls, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "inventory_erp: cannot release the holds of order " INT64_FORMAT, order.order_id);
	released = (int32) SPI_processed;
	still_held = OpenHoldReasons(order.order_id) != NULL;
	EventRecord("order_released", 0, 0, order.order_id, 0,
				psprintf("{\"reasons\": %s, \"released\": %d, \"still_held\": %s}",
						 IerpJsonQuote(buf.data), released, still_held ? "true" : "false"));
	SPI_finish();
	PG_RETURN_INT32(released);
}
