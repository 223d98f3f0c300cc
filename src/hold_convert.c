/*-------------------------------------------------------------------------
 *
 * hold_convert.c
 *	  A checkout hold becoming an order (issue 16 item 4, doc/warehouse.md
 *	  "Checkout holds"): capture_order(..., hold_ref) of a new order takes
 *	  over the hold's units (HoldsConvert), and a redelivery of that order
 *	  is checked against the hold it became (HoldsCheckConverted).
 *
 *	  A conversion moves no stock: the units stay reserved and the order's
 *	  erp.reservation rows take over the hold lines (same nodes and lots),
 *	  so no concurrent order can get them in between.  A held kit goes to
 *	  the order's lines of that kit, each line's kits keeping all their
 *	  components at one node (ConvertKit).  The hold's row is locked first;
 *	  a hold of another channel, expired, converted or released, an order
 *	  that does not ask for every held unit (each held kit: its kits), a
 *	  kit whose bill changed since the hold, an order that arrives on hold
 *	  or ships complete are refused (IE010).  The hold, the document, is
 *	  holds.c's; its rows are hold_rows.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "access/xact.h"
#include "common/int.h"

#include "hold_rows.h"
#include "holds.h"
#include "master_cache.h"
#include "order_document.h"
#include "pick_scan.h"
#include "stock/kernel.h"

/* An order line as the conversion reads it. */
typedef struct ConvLine
{
	int32		line_no;
	int64		item_id;
	int64		qty;
	int64		taken;			/* units (kits of a kit line) of the hold this line takes over */
} ConvLine;

/* The reservation rows a conversion writes (line, item, node, lot or 0, units). */
typedef struct ConvRes
{
	int			n;
	int			max;
	Datum	   *line,
			   *item,
			   *node,
			   *lot,
			   *qty;
} ConvRes;

static void
ConvResAdd(ConvRes *r, int32 line_no, const HoldLine *hl, int64 qty)
{
	if (r->n == r->max)
	{
		r->max = Max(8, r->max * 2);
		r->line = r->line ? repalloc(r->line, sizeof(Datum) * r->max) : palloc(sizeof(Datum) * r->max);
		r->item = r->item ? repalloc(r->item, sizeof(Datum) * r->max) : palloc(sizeof(Datum) * r->max);
		r->node = r->node ? repalloc(r->node, sizeof(Datum) * r->max) : palloc(sizeof(Datum) * r->max);
		r->lot = r->lot ? repalloc(r->lot, sizeof(Datum) * r->max) : palloc(sizeof(Datum) * r->max);
		r->qty = r->qty ? repalloc(r->qty, sizeof(Datum) * r->max) : palloc(sizeof(Datum) * r->max);
	}
	r->line[r->n] = Int32GetDatum(line_no);
	r->item[r->n] = Int64GetDatum(hl->item_id);
	r->node[r->n] = Int64GetDatum(hl->node_id);
	r->lot[r->n] = Int64GetDatum(hl->lot_id);
	r->qty[r->n] = Int64GetDatum(qty);
	r->n++;
}

/* The kits the hold asked for of kit_item_id (its lines as asked, erp.checkout_hold.lines). */
static int64
HeldKits(const char *lines_json, int64 kit_item_id)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	Datum		d;
	int64		kits;

	IerpPlan(&plan,
			 "SELECT sum((l.e OPERATOR(pg_catalog.->>) 'qty')::bigint)::bigint"
			 "  FROM pg_catalog.jsonb_array_elements($1::pg_catalog.text::pg_catalog.jsonb) AS l(e)"
			 " WHERE (l.e OPERATOR(pg_catalog.->>) 'item_id')::bigint = $2",
			 2, (Oid[]) {TEXTOID, INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {CStringGetTextDatum(lines_json), Int64GetDatum(kit_item_id)},
						 NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read the lines of a hold");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	kits = isnull ? 0 : DatumGetInt64(d);
	SPI_freetuptable(SPI_tuptable);
	return kits;
}

/* The bill of kit_item_id now: its components and their units per kit, in *items and *qtys; returns how many. */
static int
KitBill(int64 kit_item_id, int64 **items, int64 **qtys)
{
	static SPIPlanPtr plan = NULL;
	int			n,
				i;

	IerpPlan(&plan,
			 "SELECT component_item_id, qty FROM erp.item_component WHERE kit_item_id = $1",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(kit_item_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read kit components");
	n = (int) SPI_processed;
	*items = palloc(sizeof(int64) * Max(n, 1));
	*qtys = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		(*items)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		(*qtys)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return n;
}

/* Units of item in one kit by the bill (0: not a component). */
static int64
BillQty(const int64 *items, const int64 *qtys, int n, int64 item_id)
{
	int			i;

	for (i = 0; i < n; i++)
		if (items[i] == item_id)
			return qtys[i];
	return 0;
}

/*
 * ConvertKit: the order's lines of kit kit_item_id take over the hold's
 * kits of it: the kits go to those lines in line order (each at most its
 * qty; IE010 when they do not ask for every held kit); then each
 * component's held units go to the same lines in the same order, kits x
 * its units per kit each (units per kit: the held units / the held kits,
 * as the hold reserved them), hold lines by node, so every kit a line
 * takes over keeps all its components at one node, and each line's rows
 * are exactly what allocation would have written (line_no of the kit
 * line, item_id = the component).  A kit whose bill changed since the
 * hold (erp.item_component is guarded only while orders hold the kit) is
 * refused (IE010): the order's line would not add up to its reservations.
 */
static void
ConvertKit(int64 hold_id, int64 order_id, const char *lines_json, int64 kit_item_id, const HoldLine *hl, int nhl,
		   ConvLine *ol, int nol, ConvRes *res)
{
	int64		kits = HeldKits(lines_json, kit_item_id);
	int64		left = kits;
	int		   *to = palloc(sizeof(int) * Max(nol, 1));
	int64	   *to_kits = palloc(sizeof(int64) * Max(nol, 1));
	int64	   *bill_items,
			   *bill_qtys;
	int			nbill = KitBill(kit_item_id, &bill_items, &bill_qtys);
	int			nto = 0,
				ncomp = 0,
				nchanged = 0,
				i,
				j,
				k;

	for (k = 0; k < nol && left > 0; k++)
	{
		int64		part;

		if (ol[k].item_id != kit_item_id || ol[k].taken >= ol[k].qty)
			continue;
		part = Min(left, ol[k].qty - ol[k].taken);
		ol[k].taken += part;
		left -= part;
		to[nto] = k;
		to_kits[nto++] = part;
	}
	if (left > 0 || kits <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("order " INT64_FORMAT " does not ask for every kit \"%s\" that hold " INT64_FORMAT " holds",
						order_id, IerpItemSku(kit_item_id), hold_id),
				 errdetail("Hold " INT64_FORMAT " holds " INT64_FORMAT " kits of it; an order that converts a hold asks for at least the held kits of each held kit; nothing was changed.",
						   hold_id, kits),
				 errhint("Add the kit to the order, or release hold " INT64_FORMAT " and capture without hold_ref.",
						 hold_id)));

	/* each component once: its first hold line of this kit */
	for (i = 0; i < nhl; i++)
	{
		int64		units = 0,
					per_kit,
					need;
		bool		seen = false;
		int			t = 0;

		if (hl[i].kit_item_id != kit_item_id)
			continue;
		for (j = 0; j < i && !seen; j++)
			seen = hl[j].kit_item_id == kit_item_id && hl[j].item_id == hl[i].item_id;
		if (seen)
			continue;
		for (j = i; j < nhl; j++)
			if (hl[j].kit_item_id == kit_item_id && hl[j].item_id == hl[i].item_id)
				units += hl[j].qty;
		if (units % kits != 0)
			elog(ERROR, "inventory_erp: hold " INT64_FORMAT " holds " INT64_FORMAT " units of item " INT64_FORMAT
				 " for " INT64_FORMAT " kits", hold_id, units, hl[i].item_id, kits);
		per_kit = units / kits;
		if (BillQty(bill_items, bill_qtys, nbill, hl[i].item_id) != per_kit)
			nchanged++;
		ncomp++;
		need = to_kits[0] * per_kit;
		for (j = i; j < nhl; j++)
		{
			int64		rest = hl[j].qty;

			if (hl[j].kit_item_id != kit_item_id || hl[j].item_id != hl[i].item_id)
				continue;
			while (rest > 0)
			{
				int64		part;

				if (need == 0)
				{
					t++;
					Assert(t < nto);
					need = to_kits[t] * per_kit;
					continue;
				}
				part = Min(rest, need);
				ConvResAdd(res, ol[to[t]].line_no, &hl[j], part);
				rest -= part;
				need -= part;
			}
		}
	}
	/* the kit's bill as the order's lines read it: the one the hold reserved for */
	if (nchanged > 0 || nbill != ncomp)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("the components of kit \"%s\" changed since hold " INT64_FORMAT " was made",
						IerpItemSku(kit_item_id), hold_id),
				 errdetail("The hold reserved the kit's former components; nothing was changed."),
				 errhint("Release hold " INT64_FORMAT " and capture the order without hold_ref.", hold_id)));
	pfree(to);
	pfree(to_kits);
	pfree(bill_items);
	pfree(bill_qtys);
}

/*
 * HoldsConvert: capture_order(..., hold_ref) of a new order: the order's
 * lines take over the hold's reserved units (erp.reservation rows, one per
 * line and node, the hold lines closed, the hold converted, no
 * event), then the order is allocated for the rest as
 * erp.allocate does.  A kit line takes over the held kits of its kit: its
 * components' units (ConvertKit).  Nothing moves in the balances: the units
 * stay reserved all along.  Refuses: an unknown hold (IE003); a hold of
 * another channel, not held, or whose TTL passed; an order line set that
 * does not ask for every held unit (each held sku at least its held units,
 * each held kit at least its held kits); an order that arrives on hold
 * (IE010).
 */
void
HoldsConvert(int64 hold_id, int64 order_id, int64 channel_id)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr res_plan = NULL;
	HoldRow		row;
	HoldLine   *hl;
	int			nhl,
				i,
				k;
	ConvLine   *ol;
	int			nol;
	OrderHeader order;
	LineQuantities *changes;
	int			nchanges = 0;
	bool		rest = false;
	ConvRes		res;

	memset(&res, 0, sizeof(res));
	if (!LockHold(hold_id, false, &row))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown hold " INT64_FORMAT, hold_id),
				 errhint("Capture the order without hold_ref; allocation reserves it as usual.")));
	if (row.channel_id != channel_id)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("hold " INT64_FORMAT " belongs to another channel", hold_id),
				 errdetail("An order takes over the holds of its own channel only; nothing was changed.")));
	if (strcmp(row.status, "held") != 0 || row.expired)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cannot convert hold " INT64_FORMAT ": it is %s", hold_id,
						strcmp(row.status, "held") != 0 ? row.status : "expired"),
				 row.expired && strcmp(row.status, "held") == 0
				 ? errdetail("It expired at %s; its units count as available again.", row.expires_at) : 0,
				 errhint("Capture the order without hold_ref; allocation reserves it as usual.")));

	IerpPlan(&lines_plan,
			 "SELECT line_no, item_id, qty FROM erp.order_line WHERE order_id = $1 ORDER BY line_no",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(lines_plan, (Datum[]) {Int64GetDatum(order_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read order lines");
	nol = (int) SPI_processed;
	ol = palloc0(sizeof(ConvLine) * Max(nol, 1));
	for (i = 0; i < nol; i++)
	{
		bool		isnull;

		ol[i].line_no = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		ol[i].item_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		ol[i].qty = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	nhl = LoadHoldLines(hold_id, row.items, &hl);
	/* the kits first: a kit's component may also be held (or ordered) alone */
	for (i = 0; i < nhl; i++)
	{
		bool		seen = false;

		if (hl[i].kit_item_id == 0)
			continue;
		for (k = 0; k < i && !seen; k++)
			seen = hl[k].kit_item_id == hl[i].kit_item_id;
		if (!seen)
			ConvertKit(hold_id, order_id, row.lines, hl[i].kit_item_id, hl, nhl, ol, nol, &res);
	}
	for (i = 0; i < nhl; i++)
	{
		int64		left = hl[i].qty;

		if (hl[i].kit_item_id != 0)
			continue;
		for (k = 0; k < nol && left > 0; k++)
		{
			int64		part;

			if (ol[k].item_id != hl[i].item_id || ol[k].taken >= ol[k].qty)
				continue;
			part = Min(left, ol[k].qty - ol[k].taken);
			ol[k].taken += part;
			left -= part;
			ConvResAdd(&res, ol[k].line_no, &hl[i], part);
		}
		if (left > 0)
		{
			char	   *sku = IerpItemSku(hl[i].item_id);

			ereport(ERROR,
					(errcode(ERRCODE_IERP_WRONG_STATUS),
					 errmsg("order " INT64_FORMAT " does not ask for every unit of sku \"%s\" that hold " INT64_FORMAT
							" holds", order_id, sku, hold_id),
					 errdetail("An order that converts a hold asks for at least the held units of each held sku; nothing was changed."),
					 errhint("Add the sku to the order, or release hold " INT64_FORMAT " and capture without hold_ref.",
							 hold_id)));
		}
	}

	/* a partner takes over units at its own nodes only */
	for (i = 0; i < nhl; i++)
		AccessCheckNode(hl[i].node_id);

	/* the order's own status rules: one that arrives on hold keeps no reservation */
	OrderLock(order_id, &order);
	if (order.ship_complete)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("order " INT64_FORMAT " ships complete and cannot take over hold " INT64_FORMAT,
						order_id, hold_id),
				 errdetail("A ship-complete order reserves nothing until one node can fill it whole; a hold's units may sit elsewhere. Nothing was changed."),
				 errhint("Release hold " INT64_FORMAT " and capture the order without hold_ref.", hold_id)));
	if (OrderHoldBlocks(&order))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("order " INT64_FORMAT " arrives on hold and cannot take over hold " INT64_FORMAT,
						order_id, hold_id),
				 errdetail("A held order keeps no reservation; nothing was changed."),
				 errhint("Capture it without the order hold, or without hold_ref.")));

	IerpPlan(&res_plan,
			 "INSERT INTO erp.reservation (order_id, line_no, item_id, node_id, lot_id, qty)"
			 " SELECT $1, r.line_no, r.item_id, r.node_id, NULLIF(r.lot_id, 0), r.qty"
			 "   FROM unnest($2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])"
			 "        AS r(line_no, item_id, node_id, qty, lot_id)"
			 " ON CONFLICT (order_id, line_no, node_id, (COALESCE(lot_id, 0)), item_id)"
			 " DO UPDATE SET qty = erp.reservation.qty + EXCLUDED.qty",
			 6, (Oid[]) {INT8OID, INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID});
	if (res.n > 0 &&
		SPI_execute_plan(res_plan,
						 (Datum[]) {Int64GetDatum(order_id),
							 PointerGetDatum(construct_array(res.line, res.n, INT4OID, 4, true, TYPALIGN_INT)),
							 PointerGetDatum(construct_array(res.item, res.n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
							 PointerGetDatum(construct_array(res.node, res.n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
							 PointerGetDatum(construct_array(res.qty, res.n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
						 PointerGetDatum(construct_array(res.lot, res.n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))},
						 NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: cannot move hold " INT64_FORMAT " to order " INT64_FORMAT, hold_id, order_id);
	CloseHold(hold_id, row.items, "converted", order_id);
	/* no event: the order's capture says it (see erp.hold) */

	/* the lines' numbers, then allocation for what the hold did not cover */
	changes = palloc0(sizeof(LineQuantities) * Max(nol, 1));
	for (k = 0; k < nol; k++)
	{
		if (ol[k].taken > 0)
		{
			changes[nchanges].line_no = ol[k].line_no;
			changes[nchanges].qty_allocated = ol[k].taken;
			changes[nchanges].qty_backordered = 0;
			nchanges++;
		}
		rest |= ol[k].taken < ol[k].qty;
	}
	OrderRefreshStatus(&order, !rest, changes, nchanges);
	if (rest)
		(void) AllocateOrder(&order, 0, NULL);
}

/*
 * HoldsCheckConverted: capture_order(..., hold_ref) of an order captured
 * before (a redelivery) changes nothing: fine when the hold became this
 * order, refused (IE010) otherwise.
 */
void
HoldsCheckConverted(int64 hold_id, int64 order_id)
{
	HoldRow		row;

	if (!LockHold(hold_id, false, &row))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown hold " INT64_FORMAT, hold_id)));
	if (strcmp(row.status, "converted") != 0 || row.order_id != order_id)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("order " INT64_FORMAT " was captured before without hold " INT64_FORMAT, order_id, hold_id),
				 errdetail("A redelivered order changes nothing; hold " INT64_FORMAT " is %s.", hold_id, row.status)));
}
