/*-------------------------------------------------------------------------
 *
 * service_level.c
 *	  Service levels and promise dates (issue 17, doc/orchestration.md):
 *	  the service an order asks for (ship_to {"service": ..}) and its
 *	  ship_by, the node preference allocation gives such an order, what it
 *	  records when the node it chose cannot meet the ship_by, and
 *	  erp.promise().
 *
 *	  Times come from erp.ship_time (25_orchestration.sql): a node ships at
 *	  its cut-off (erp.node_cutoff, in its time zone, weekdays unless it
 *	  ships on weekends).  A channel's rule for a service
 *	  (erp.service_level; defaults express 0/1, standard 1/3, economy 3/6)
 *	  says after how many ship days an order ships and how many days the
 *	  carrier takes.
 *
 *	  An order's ship_by is fixed at capture: the earliest time any node of
 *	  its channel can ship it under the rule.  Allocation then prefers the
 *	  nodes that can still ship by then (erp.ship_time at allocation <=
 *	  ship_by), and for express the nearest of those before the channel's
 *	  rank; when the node it reserves at cannot, order_service says so and a
 *	  ship_by_at_risk event is raised.
 *
 *	  OrderServiceRecord also records a new order's lines that allow
 *	  substitutes (substitute.c).
 *
 *	  Refuses: an unknown service (IE003), a service that is no JSON string
 *	  (IE004); erp.promise: an unknown sku, channel or service (IE003), a
 *	  quantity outside 1..IERP_MAX_MOVE_QTY or a time out of range (IE004).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "ierp.h"
#include "order_document.h"

IERP_OWNER_ENTRY(ierp_promise);

/* the channel's rule for service $2 of channel $1, with the defaults: (ship_within_days, transit_days) */
#define SERVICE_RULE_SQL \
	"(SELECT COALESCE(sl.ship_within_days, d.w) AS w, COALESCE(sl.transit_days, d.t) AS t" \
	"   FROM (VALUES ('express', 0, 1), ('standard', 1, 3), ('economy', 3, 6)) d(s, w, t)" \
	"   LEFT JOIN erp.service_level sl ON sl.channel_id = $1 AND sl.service = d.s" \
	"  WHERE d.s = $2)"

/* Refuses (IE003) a service outside the set; returns it. */
static const char *
CheckService(const char *service)
{
	static const char *const services[] = {"express", "standard", "economy", NULL};
	const char *const *s;

	if (service != NULL)
		for (s = services; *s; s++)
			if (strcmp(service, *s) == 0)
				return *s;
	ereport(ERROR,
			(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
			 service == NULL ? errmsg("a promise needs a service level")
			 : errmsg("unknown service level \"%s\"", strlen(service) > 64 ? "(longer than 64 bytes)" : service),
			 errhint("One of express, standard, economy.")));
	return NULL;				/* not reached */
}

/* OrderServiceRequested: the service of {"service": ..} in a capture's ship_to (checked), or NULL. */
const char *
OrderServiceRequested(Jsonb *ship_to)
{
	JsonbValue	v;

	if (ship_to == NULL || !JB_ROOT_IS_OBJECT(ship_to) ||
		getKeyJsonValueFromContainer(&ship_to->root, "service", 7, &v) == NULL)
		return NULL;
	if (v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid ship_to service: not a JSON string"),
				 errdetail("ship_to's \"service\" is express, standard or economy.")));
	return CheckService(pnstrdup(v.val.string.val, v.val.string.len));
}

/*
 * OrderServiceRecord: a new order's service and its ship_by, the earliest
 * time a node of its channel can ship it under the channel's rule.
 */
void
OrderServiceRecord(int64 order_id, int64 channel_id, const char *service)
{
	static SPIPlanPtr plan = NULL;

	IerpPlan(&plan,
			 "INSERT INTO erp.order_service (order_id, service, ship_by)"
			 " SELECT $3, $2, COALESCE(min(erp.ship_time(cn.node_id, pg_catalog.now(), r.w)),"
			 "                         erp.ship_time(0, pg_catalog.now(), r.w))"
			 "   FROM " SERVICE_RULE_SQL " r"
			 "   LEFT JOIN erp.channel_node cn ON cn.channel_id = $1"
			 "  GROUP BY r.w",
			 3, (Oid[]) {INT8OID, TEXTOID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(channel_id), CStringGetTextDatum(service),
						 Int64GetDatum(order_id)}, NULL, false, 0) != SPI_OK_INSERT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot record the service of order " INT64_FORMAT, order_id);
}

/*
 * OrderServiceNodes: for an order with a service, which of the candidate
 * nodes can still ship it by its ship_by (meets[k]); *express when its
 * service is express.  False (nothing set) for an order without a service.
 */
bool
OrderServiceNodes(int64 order_id, int nnodes, const int64 *node_ids, bool *meets, bool *express)
{
	static SPIPlanPtr plan = NULL;
	Datum	   *ids;
	uint64		i;
	int			k;

	ids = palloc(sizeof(Datum) * Max(nnodes, 1));
	for (k = 0; k < nnodes; k++)
		ids[k] = Int64GetDatum(node_ids[k]);
	IerpPlan(&plan,
			 "SELECT x.k::integer, erp.ship_time(x.node_id, pg_catalog.now()) <= os.ship_by, os.service = 'express'"
			 "  FROM erp.order_service os, unnest($2::bigint[]) WITH ORDINALITY AS x(node_id, k)"
			 " WHERE os.order_id = $1",
			 2, (Oid[]) {INT8OID, INT8ARRAYOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id),
						 PointerGetDatum(construct_array(ids, nnodes, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the service of order " INT64_FORMAT, order_id);
	if (SPI_processed == 0)
		return false;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			n = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)) - 1;

		if (n >= 0 && n < nnodes)
			meets[n] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		*express = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
	}
	return true;
}

/*
 * OrderServiceAllocated: after an allocation of an order with a service,
 * records the node it holds units at, when that node ships, and whether it
 * meets the ship_by; a ship_by_at_risk event when it newly does not.
 */
void
OrderServiceAllocated(int64 order_id)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	IerpPlan(&plan,
			 "WITH n AS (SELECT min(r.node_id) AS node_id FROM erp.reservation r WHERE r.order_id = $1 AND r.qty > 0),"
			 "     u AS (UPDATE erp.order_service os"
			 "              SET node_id = n.node_id, node_ship_at = erp.ship_time(n.node_id, pg_catalog.now()),"
			 "                  meets_ship_by = erp.ship_time(n.node_id, pg_catalog.now()) <= os.ship_by"
			 "             FROM n WHERE os.order_id = $1 AND n.node_id IS NOT NULL AND os.node_id IS NULL"
			 "           RETURNING os.node_id, os.meets_ship_by, os.ship_by, os.node_ship_at, os.service)"
			 " SELECT node_id, meets_ship_by, pg_catalog.to_json(ship_by)::text, pg_catalog.to_json(node_ship_at)::text,"
			 "        service FROM u",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot record the node of order " INT64_FORMAT, order_id);
	if (SPI_processed == 1 &&
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int64		node_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *payload = psprintf("{\"service\": %s, \"ship_by\": %s, \"node_ship_at\": %s}",
									   IerpJsonQuote(SPI_getvalue(tup, desc, 5)), SPI_getvalue(tup, desc, 3),
									   SPI_getvalue(tup, desc, 4));

		EventRecord("ship_by_at_risk", 0, node_id, order_id, 0, payload);
	}
}

/*
 * erp.promise(sku, qty, channel, ship_to, service, at): the earliest
 * delivery over the channel's nodes whose ATP covers qty (see the header);
 * NULL when none does.  Each node's ATP is erp.atp's, so the units of a
 * checkout hold whose TTL has passed count before erp.expire_holds runs
 * (a kit's through its components), and a channel's unexpired holds use up
 * its ring-fence (test/pgtap/99_hold_atp_readers.sql).  ship_to is accepted for the contract: transit days
 * are per channel and service, not per distance, so it does not change the
 * answer.
 */
static Datum
ierp_promise_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	char	   *sku = IerpTextArg(fcinfo, 0);
	int64		qty;
	char	   *channel = IerpTextArg(fcinfo, 2);
	const char *service = CheckService(PG_ARGISNULL(4) ? "standard" : IerpTextArg(fcinfo, 4));
	TimestampTz at = PG_ARGISNULL(5) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(5);
	int64		channel_id;
	ItemInfo	item;
	Datum		result;
	bool		isnull;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("a promise of sku \"%s\" needs a quantity", sku ? sku : "")));
	qty = PG_GETARG_INT64(1);
	IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
	IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
	IerpCheckQuantity(qty, sku ? sku : "");
	IerpCheckTimestamp(at, "promise time");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	channel_id = IerpLookupChannel(channel);
	IerpLookupItem(sku, &item);
	IerpPlan(&plan,
			 "SELECT min(erp.ship_time(n.node_id, $3, r.w) + pg_catalog.make_interval(days => r.t))"
			 "  FROM " SERVICE_RULE_SQL " r, erp.channel_node cn JOIN erp.node n ON n.node_id = cn.node_id"
			 " WHERE cn.channel_id = $1 AND erp.atp($4, n.code, $5, NULL) >= $6",
			 6, (Oid[]) {INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(channel_id), CStringGetTextDatum(service),
						 TimestampTzGetDatum(at), CStringGetTextDatum(sku), CStringGetTextDatum(channel),
						 Int64GetDatum(qty)}, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot compute the promise of sku \"%s\"", sku);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(DatumGetTimestampTz(result));
}
