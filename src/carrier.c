/*-------------------------------------------------------------------------
 *
 * carrier.c
 *	  Carrier events (issue 17, doc/orchestration.md): erp.carrier_event()
 *	  records a carrier's scan of a shipment in erp.shipment_tracking.
 *
 *	  (shipment, status, at) identifies a scan: connectors resend them, and
 *	  a scan sent again returns the id it got the first time and changes
 *	  nothing.  A failed scan raises a carrier_failed event (and the
 *	  worklist shows the parcel while its last scan is failed).  The first
 *	  returned_to_sender scan of a shipment brings its units back without a
 *	  customer's RMA: it authorizes a return of every unit of the parcel
 *	  (plain items, kits' components, substitutes; reason
 *	  returned_to_sender) through erp.authorize_return and receives it at once through erp.receive_return at the node that shipped them,
 *	  so the units go through inspection and the disposition rules like any
 *	  return; a carrier_returned event names the RMA.
 *
 *	  The order is owned (OrderLock) for the call: two deliveries of the
 *	  same scan never both record it, and never open two returns.
 *
 *	  Refuses: no or an unknown shipment or status (IE003), no time, a time
 *	  out of range, a detail that is no JSON object or is over 4096 bytes
 *	  (IE004), a partner's scan of a shipment it does not serve (IE009);
 *	  what erp.authorize_return refuses (e.g. IE008 when the parcel's units
 *	  were returned already).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "ierp.h"
#include "order_document.h"

IERP_OWNER_ENTRY(ierp_carrier_event);

#define CARRIER_MAX_DETAIL	4096

static const char *const carrier_statuses[] = {"picked_up", "in_transit", "delivered", "failed",
"returned_to_sender", NULL};

/* Refuses (IE003) a status outside the set; returns it. */
static const char *
CheckStatus(const char *status)
{
	const char *const *s;

	if (status != NULL)
		for (s = carrier_statuses; *s; s++)
			if (strcmp(status, *s) == 0)
				return *s;
	ereport(ERROR,
			(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
			 status == NULL ? errmsg("a carrier event needs a status")
			 : errmsg("unknown carrier status \"%s\"", strlen(status) > 64 ? "(longer than 64 bytes)" : status),
			 errhint("One of picked_up, in_transit, delivered, failed, returned_to_sender.")));
	return NULL;				/* not reached */
}

/* The detail's text, checked: a JSON object of at most CARRIER_MAX_DETAIL bytes (IE004). */
static char *
CheckDetail(Jsonb *detail)
{
	char	   *text;

	if (detail == NULL)
		return NULL;
	if (!JB_ROOT_IS_OBJECT(detail) || JB_ROOT_IS_SCALAR(detail))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid carrier event detail: not a JSON object"),
				 errdetail("detail is a JSON object such as {\"reason\": \"address not found\"}.")));
	text = JsonbToCString(NULL, &detail->root, VARSIZE(detail));
	if (strlen(text) > CARRIER_MAX_DETAIL)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("carrier event detail is %zu bytes long", strlen(text)),
				 errdetail("At most %d bytes are accepted.", CARRIER_MAX_DETAIL)));
	return text;
}

/* The JSON text of a timestamp, as erp.event payloads carry times. */
static char *
JsonTime(TimestampTz at)
{
	return IerpJsonQuote(DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(at))));
}

/*
 * The return of a parcel sent back: authorizes every unit it shipped, by
 * the sku that shipped (reason returned_to_sender), and receives them at the
 * node that shipped them.  A kit's components come back under their own
 * skus, each priced at its share of the kit's price as a customer's return
 * of the kit would be (returns.c, ExpandRequest); a substitute at the price
 * of the line it filled.  Returns the RMA id (0 for an empty parcel);
 * *units gets the units.
 */
static int64
ReturnToSender(int64 shipment_id, int64 order_id, int64 *units)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr authorize_plan = NULL;
	static SPIPlanPtr receive_plan = NULL;
	Datum		lines;
	bool		isnull;
	int64		rma_id;

	IerpPlan(&lines_plan,
			 "SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('sku', x.sku, 'qty', x.qty,"
			 "                            'reason', 'returned_to_sender') ORDER BY x.sku),"
			 "       COALESCE(pg_catalog.sum(x.qty), 0)::bigint"
			 "  FROM (SELECT i.sku, pg_catalog.sum(sl.qty) AS qty"
			 "          FROM erp.shipment_line sl"
			 "          JOIN erp.item i ON i.item_id = sl.item_id"
			 "         WHERE sl.shipment_id = $1 GROUP BY i.sku) x",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(lines_plan, (Datum[]) {Int64GetDatum(shipment_id)}, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read shipment " INT64_FORMAT, shipment_id);
	lines = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	*units = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (*units == 0)
		return 0;
	lines = PointerGetDatum(PG_DETOAST_DATUM_COPY(lines));
	/* the parcel came back whenever it shipped: the longest return window */
	IerpPlan(&authorize_plan, "SELECT erp.authorize_return($1, $2, 3650)", 2, (Oid[]) {INT8OID, JSONBOID});
	if (SPI_execute_plan(authorize_plan, (Datum[]) {Int64GetDatum(order_id), lines}, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot authorize the return of shipment " INT64_FORMAT, shipment_id);
	rma_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	IerpPlan(&receive_plan, "SELECT erp.receive_return($1)", 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(receive_plan, (Datum[]) {Int64GetDatum(rma_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot receive return " INT64_FORMAT, rma_id);
	return rma_id;
}

/*
 * erp.carrier_event(shipment_id, status, at, detail): records the scan and
 * returns its id (see the file header).
 */
static Datum
ierp_carrier_event_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr shipment_plan = NULL;
	static SPIPlanPtr seen_plan = NULL;
	static SPIPlanPtr returned_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	int64		shipment_id = IerpIdArg(fcinfo, 0, "shipment");
	const char *status = CheckStatus(IerpTextArg(fcinfo, 1));
	TimestampTz at;
	char	   *detail = CheckDetail(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3));
	OrderHeader order;
	int64		order_id,
				node_id,
				tracking_id,
				rma_id = 0,
				units = 0;
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("a carrier event of shipment " INT64_FORMAT " needs the time of the scan", shipment_id)));
	at = PG_GETARG_TIMESTAMPTZ(2);
	IerpCheckTimestamp(at, "carrier event time");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&shipment_plan,
			 "SELECT s.order_id, COALESCE((SELECT pg_catalog.min(sl.node_id) FROM erp.shipment_line sl"
			 "                              WHERE sl.shipment_id = s.shipment_id), 0)"
			 "  FROM erp.shipment s WHERE s.shipment_id = $1",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(shipment_plan, (Datum[]) {Int64GetDatum(shipment_id)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read shipment " INT64_FORMAT, shipment_id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown shipment " INT64_FORMAT, shipment_id)));
	order_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	node_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	OrderLock(order_id, &order);
	AccessCheckOrder(order_id);

	/* the same scan again: what it got the first time */
	IerpPlan(&seen_plan,
			 "SELECT shipment_tracking_id FROM erp.shipment_tracking WHERE shipment_id = $1 AND status = $2 AND at = $3",
			 3, (Oid[]) {INT8OID, TEXTOID, TIMESTAMPTZOID});
	values[0] = Int64GetDatum(shipment_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = TimestampTzGetDatum(at);
	if (SPI_execute_plan(seen_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the scans of shipment " INT64_FORMAT, shipment_id);
	if (SPI_processed == 1)
	{
		tracking_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		SPI_finish();
		PG_RETURN_INT64(tracking_id);
	}

	if (strcmp(status, "returned_to_sender") == 0)
	{
		/* once per parcel: a second returned_to_sender scan opens no second return */
		IerpPlan(&returned_plan,
				 "SELECT 1 FROM erp.shipment_tracking WHERE shipment_id = $1 AND status = 'returned_to_sender'",
				 1, (Oid[]) {INT8OID});
		if (SPI_execute_plan(returned_plan, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: cannot read the scans of shipment " INT64_FORMAT, shipment_id);
		if (SPI_processed == 0)
			rma_id = ReturnToSender(shipment_id, order_id, &units);
	}

	IerpPlan(&insert_plan,
			 "INSERT INTO erp.shipment_tracking (shipment_id, order_id, status, at, detail, rma_id, recorded_by)"
			 " VALUES ($1, $4, $2, $3, $5::pg_catalog.jsonb, NULLIF($6, 0), $7) RETURNING shipment_tracking_id",
			 7, (Oid[]) {INT8OID, TEXTOID, TIMESTAMPTZOID, INT8OID, TEXTOID, INT8OID, TEXTOID});
	values[3] = Int64GetDatum(order_id);
	values[4] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	nulls[4] = detail ? ' ' : 'n';
	values[5] = Int64GetDatum(rma_id);
	values[6] = CStringGetTextDatum(IerpActorName());
	if (SPI_execute_plan(insert_plan, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot record the scan of shipment " INT64_FORMAT, shipment_id);
	tracking_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	if (strcmp(status, "failed") == 0)
		EventRecord("carrier_failed", 0, node_id, order_id, 0,
					psprintf("{\"shipment_id\": " INT64_FORMAT ", \"at\": %s, \"detail\": %s}",
							 shipment_id, JsonTime(at), detail ? detail : "null"));
	else if (rma_id != 0)
		EventRecord("carrier_returned", 0, node_id, order_id, rma_id,
					psprintf("{\"shipment_id\": " INT64_FORMAT ", \"at\": %s, \"units\": " INT64_FORMAT "}",
							 shipment_id, JsonTime(at), units));
	SPI_finish();
	PG_RETURN_INT64(tracking_id);
}
