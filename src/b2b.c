/*-------------------------------------------------------------------------
 *
 * b2b.c
 *	  B2B accounts at capture (issue 17, doc/orchestration.md): the customer
 *	  an order names in its ship_to ({"customer": "<code>"}), its terms
 *	  (ship-complete, price list, credit limit), the unit prices its price
 *	  breaks give lines that name none, and the credit check that puts an
 *	  order over the customer's open credit on a credit hold.
 *
 *	  Open credit = the unshipped value of the customer's orders that are
 *	  neither shipped nor cancelled (lines not cancelled); an order is over
 *	  it when open credit + its own value > credit_limit.  The check reads
 *	  the customer's row FOR SHARE: an admin's change of the limit waits for
 *	  the capture (and the reverse).  Two captures of one customer at once
 *	  may each see the other's order as not there yet; the limit is a
 *	  business control, not a stock invariant, and the later hold (or
 *	  erp.hold_order) catches what slips through.
 *
 *	  Refuses: an unknown customer (IE003), an inactive one (IE010), a
 *	  ship_to "customer" that is no string or "ship_complete" that is no
 *	  boolean (IE004).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "ierp.h"
#include "b2b.h"

/* A member of ship_to, or false when it has none. */
static bool
ShipToMember(Jsonb *ship_to, const char *key, JsonbValue *v)
{
	return ship_to != NULL && JB_ROOT_IS_OBJECT(ship_to) &&
		getKeyJsonValueFromContainer(&ship_to->root, key, strlen(key), v) != NULL;
}

/*
 * B2bReadTerms: the customer and shipping terms ship_to names (checked);
 * terms->customer_id 0 when it names no customer.
 */
void
B2bReadTerms(Jsonb *ship_to, B2bTerms *terms)
{
	static SPIPlanPtr plan = NULL;
	JsonbValue	v;
	bool		explicit_complete = false;
	bool		isnull;
	char	   *code;
	HeapTuple	tup;
	TupleDesc	desc;
	Datum		d;

	memset(terms, 0, sizeof(B2bTerms));
	if (ShipToMember(ship_to, "ship_complete", &v))
	{
		if (v.type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("invalid ship_to ship_complete: not a JSON boolean"),
					 errdetail("ship_to's \"ship_complete\" is true (ship nothing until all can go) or false.")));
		terms->ship_complete = explicit_complete = v.val.boolean;
	}
	if (!ShipToMember(ship_to, "customer", &v))
		return;
	if (v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid ship_to customer: not a JSON string"),
				 errdetail("ship_to's \"customer\" is the code of an erp.customer, e.g. {\"customer\": \"ACME\"}.")));
	code = pnstrdup(v.val.string.val, v.val.string.len);
	IerpCheckText(code, "customer", IERP_MAX_KEY_LEN);
	IerpPlan(&plan,
			 "SELECT customer_id, active, ship_complete OR NOT allow_partial, credit_limit::pg_catalog.text,"
			 "       COALESCE(price_list_id, 0)"
			 "  FROM erp.customer WHERE code = $1 FOR SHARE",
			 1, (Oid[]) {TEXTOID});
	if (SPI_execute_plan(plan, (Datum[]) {CStringGetTextDatum(code)}, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read customer");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown customer \"%s\"", code)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (!DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("customer \"%s\" is inactive and takes no new orders", code)));
	terms->customer_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	terms->code = code;
	terms->ship_complete = explicit_complete || DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	d = SPI_getbinval(tup, desc, 4, &isnull);
	terms->credit_limit = isnull ? NULL : TextDatumGetCString(d);
	terms->price_list_id = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
}

/*
 * B2bApplyPrices: a line without a unit_price of a customer with a price
 * list gets the price of the break with the largest min_qty <= its qty
 * (as item_price, the price a capture writes when none is given).
 */
void
B2bApplyPrices(const B2bTerms *terms, CaptureLine *lines, int nlines)
{
	static SPIPlanPtr plan = NULL;
	Datum	   *items;
	Datum	   *qtys;
	uint64		i;
	int			l;

	if (terms->price_list_id == 0 || nlines == 0)
		return;
	items = palloc(sizeof(Datum) * nlines);
	qtys = palloc(sizeof(Datum) * nlines);
	for (l = 0; l < nlines; l++)
	{
		items[l] = Int64GetDatum(lines[l].item_id);
		qtys[l] = Int64GetDatum(lines[l].qty);
	}
	IerpPlan(&plan,
			 "SELECT x.n::integer, (SELECT b.unit_price::pg_catalog.text FROM erp.price_break b"
			 "                       WHERE b.item_id = x.item_id AND b.price_list_id = $1 AND b.min_qty <= x.qty"
			 "                       ORDER BY b.min_qty DESC LIMIT 1)"
			 "  FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS x(item_id, qty, n)",
			 3, (Oid[]) {INT8OID, INT8ARRAYOID, INT8ARRAYOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(terms->price_list_id),
						 PointerGetDatum(construct_array(items, nlines, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
						 PointerGetDatum(construct_array(qtys, nlines, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))},
						 NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read price breaks");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			n = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)) - 1;
		char	   *price = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (price != NULL && n >= 0 && n < nlines)
			lines[n].item_price = price;
	}
}

/*
 * B2bCreditNote: NULL when the order (its lines at their final prices)
 * keeps the customer within its credit limit; else the hold's note, naming
 * the numbers.
 */
char *
B2bCreditNote(const B2bTerms *terms, const CaptureLine *lines, int nlines)
{
	static SPIPlanPtr plan = NULL;
	Datum	   *qtys;
	Datum	   *prices;
	int			l;
	bool		isnull;
	HeapTuple	tup;

	if (terms->customer_id == 0 || terms->credit_limit == NULL)
		return NULL;
	qtys = palloc(sizeof(Datum) * Max(nlines, 1));
	prices = palloc(sizeof(Datum) * Max(nlines, 1));
	for (l = 0; l < nlines; l++)
	{
		qtys[l] = Int64GetDatum(lines[l].qty);
		prices[l] = CStringGetTextDatum(lines[l].price ? lines[l].price : lines[l].item_price);
	}
	IerpPlan(&plan,
			 "WITH o AS (SELECT COALESCE(sum((l.qty - l.qty_shipped) * l.unit_price), 0) AS v"
			 "             FROM erp.sales_order s JOIN erp.order_line l ON l.order_id = s.order_id"
			 "            WHERE s.customer_id = $1 AND s.status NOT IN ('shipped', 'cancelled')"
			 "              AND l.status <> 'cancelled'),"
			 "     n AS (SELECT COALESCE(sum(x.qty * NULLIF(x.price, '')::numeric(14,2)), 0) AS v"
			 "             FROM unnest($2::bigint[], $3::text[]) AS x(qty, price))"
			 " SELECT o.v + n.v > $4::numeric, o.v::numeric(14,2)::text, n.v::numeric(14,2)::text FROM o, n",
			 4, (Oid[]) {INT8OID, INT8ARRAYOID, TEXTARRAYOID, TEXTOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(terms->customer_id),
						 PointerGetDatum(construct_array(qtys, nlines, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
						 PointerGetDatum(construct_array(prices, nlines, TEXTOID, -1, false, TYPALIGN_INT)),
						 CStringGetTextDatum(terms->credit_limit)},
						 NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read the open credit of customer \"%s\"", terms->code);
	tup = SPI_tuptable->vals[0];
	if (!DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull)))
		return NULL;
	return psprintf("customer %s: open orders %s + this order %s exceed the credit limit %s",
					terms->code, SPI_getvalue(tup, SPI_tuptable->tupdesc, 2),
					SPI_getvalue(tup, SPI_tuptable->tupdesc, 3), terms->credit_limit);
}
