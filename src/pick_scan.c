/*-------------------------------------------------------------------------
 *
 * pick_scan.c
 *	  Reading a scan at erp.pick (orders.c decides what the order makes of
 *	  it).  A scan is tried first as a sku, then as a GTIN (8 to 14
 *	  digits), then as a GS1 element string: an existing sku is always that
 *	  sku, whatever it looks like, as at a receipt.  A GS1 scan names its
 *	  item by AI 01 and carries the lot (AI 10), expiry (AI 17) and count
 *	  (AI 30/37) the pick checks and uses.  Nothing here raises for a scan
 *	  that names no item, or for a malformed GS1 string: at a pick both are
 *	  a wrong scan, refused and recorded by the caller.
 *
 *	  Packs at receiving and counting (PackUnitsOfUom, PackOfGtin,
 *	  PackTotal): a receipt or a count given in cases names the uom or the
 *	  case's GTIN; these do raise: an unknown uom or GTIN (IE003), an
 *	  invalid GTIN (IE006), more units than one move may move (IE004).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"

#include "ierp.h"
#include "pick_scan.h"

/* The item whose gtin is gtin (0 when none); its sku into *sku. */
static int64
PickItemOfGtin(int64 gtin, char **sku, int64 *units)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr uom_plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	bool		isnull;

	IerpPlan(&plan, "SELECT item_id, sku FROM erp.item WHERE gtin OPERATOR(erp.=) $1::bigint::erp.gtin",
			 1, argtypes);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(gtin)}, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: scan lookup failed");
	if (SPI_processed == 0)
	{
		/* a pack's GTIN (erp.item_uom): the item, and the units one pack holds */
		IerpPlan(&uom_plan,
				 "SELECT u.item_id, i.sku, u.units FROM erp.item_uom u JOIN erp.item i ON i.item_id = u.item_id"
				 " WHERE u.gtin OPERATOR(erp.=) $1::bigint::erp.gtin",
				 1, argtypes);
		if (SPI_execute_plan(uom_plan, (Datum[]) {Int64GetDatum(gtin)}, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: scan lookup failed");
		if (SPI_processed == 0)
			return 0;
		*units = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	}
	*sku = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* The item whose sku is scan (0 when none); its sku into *sku. */
static int64
PickItemOfSku(const char *scan, char **sku)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {TEXTOID};
	bool		isnull;

	IerpPlan(&plan, "SELECT item_id, sku FROM erp.item WHERE sku = $1", 1, argtypes);
	if (SPI_execute_plan(plan, (Datum[]) {CStringGetTextDatum(scan)}, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: scan lookup failed");
	if (SPI_processed == 0)
		return 0;
	*sku = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * PickScanRead (inside SPI): what scan names.  A scan longer than any sku
 * or GTIN is read as GS1 only.  out->item_id is 0 when no item is named
 * (also for a malformed GS1 string, or GS1 without AI 01).
 */
void
PickScanRead(const char *scan, PickScan *out)
{
	size_t		len = strlen(scan);
	int64		gtin;

	memset(out, 0, sizeof(PickScan));
	out->units = 1;
	out->gs1_result = GS1_NOT_GS1;
	if (len <= IERP_MAX_KEY_LEN)
	{
		out->item_id = PickItemOfSku(scan, &out->sku);
		if (out->item_id == 0 && GtinParse(scan, &gtin, false))
			out->item_id = PickItemOfGtin(gtin, &out->sku, &out->units);
		if (out->item_id != 0)
			return;
	}
	out->gs1_result = Gs1Parse(scan, len, &out->gs1, out->why, sizeof(out->why));
	if (out->gs1_result == GS1_PARSED && out->gs1.gtin[0] != '\0' && GtinParse(out->gs1.gtin, &gtin, false))
		out->item_id = PickItemOfGtin(gtin, &out->sku, &out->units);
}

/*
 * PickLotsOf (inside SPI): the code and expiry of item_id's lots
 * lot_ids[0..nlots) (0 stands for no lot and is left out); returns how many
 * were found, into *out.
 */
int
PickLotsOf(int64 item_id, const int64 *lot_ids, int nlots, PickLot **out)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID, INT8ARRAYOID};
	Datum	   *ids = palloc(sizeof(Datum) * Max(nlots, 1));
	PickLot    *lots;
	uint64		i;
	int			k;

	for (k = 0; k < nlots; k++)
		ids[k] = Int64GetDatum(lot_ids[k]);
	IerpPlan(&plan,
			 "SELECT lot_id, lot_code, expires_on FROM erp.lot WHERE item_id = $1 AND lot_id = ANY ($2)",
			 2, argtypes);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id),
						 PointerGetDatum(construct_array(ids, nlots, INT8OID, sizeof(int64),
														 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE))},
						 NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read lots");
	lots = palloc0(sizeof(PickLot) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		exp;

		lots[i].lot_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		lots[i].lot_code = SPI_getvalue(tup, desc, 2);
		exp = SPI_getbinval(tup, desc, 3, &isnull);
		lots[i].has_expiry = !isnull;
		lots[i].expires_on = isnull ? 0 : DatumGetDateADT(exp);
	}
	*out = lots;
	return (int) SPI_processed;
}

/* The lot lot_id among lots, or NULL. */
const PickLot *
PickLotFind(const PickLot *lots, int nlots, int64 lot_id)
{
	int			i;

	for (i = 0; i < nlots; i++)
		if (lots[i].lot_id == lot_id)
			return &lots[i];
	return NULL;
}

/* A date as YYYY-MM-DD, for messages and payloads (whatever DateStyle says). */
char *
PickDateText(DateADT date)
{
	int			year,
				month,
				day;

	if (DATE_IS_NOBEGIN(date))
		return pstrdup("-infinity");
	if (DATE_IS_NOEND(date))
		return pstrdup("infinity");
	j2date(date + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	return psprintf("%04d-%02d-%02d", year, month, day);
}

/*
 * PackUnitsOfUom (inside SPI): the units of item_id in one uom, as
 * erp.uom_units says: 'each' is 1, inner / case / pallet as erp.item_uom
 * lists them.  A uom that is no word of erp.item_uom, or that the item has
 * no row for: IE003.
 */
int64
PackUnitsOfUom(int64 item_id, const char *sku, const char *uom)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;

	IerpCheckText(uom, "uom", IERP_MAX_KEY_LEN);
	if (strcmp(uom, "each") == 0)
		return 1;
	IerpPlan(&plan, "SELECT units FROM erp.item_uom WHERE item_id = $1 AND uom = $2",
			 2, (Oid[]) {INT8OID, TEXTOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id), CStringGetTextDatum(uom)},
						 NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the packs of an item");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown unit of measure \"%s\" of sku \"%s\"", uom, sku),
				 errhint("The packs of an item (each, inner, case, pallet) are listed in erp.item_uom.")));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * PackOfGtin (inside SPI): the item a GTIN names and the units one scan
 * of it counts: the item's own GTIN (erp.item.gtin) 1, a pack's GTIN
 * (erp.item_uom.gtin) the pack's units.  Returns the item id, its sku in
 * *sku.  Not 8 to 14 digits with a valid check digit: IE006; no item or
 * pack has it: IE003.
 */
int64
PackOfGtin(const char *gtin, char **sku, int64 *units)
{
	int64		value;
	int64		item_id;

	IerpCheckText(gtin, "gtin", IERP_MAX_KEY_LEN);
	if (!GtinParse(gtin, &value, false))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_GTIN),
				 errmsg("invalid GTIN \"%s\"", gtin),
				 errdetail("A GTIN is 8, 12, 13 or 14 digits ending in its check digit.")));
	*units = 1;
	item_id = PickItemOfGtin(value, sku, units);
	if (item_id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown GTIN \"%s\"", gtin),
				 errhint("An item's GTIN is erp.item.gtin, a pack's erp.item_uom.gtin.")));
	return item_id;
}

/*
 * PackTotal: the units of packs packs of units each; more than one move
 * may move (or than a bigint holds): IE004, naming what (a receipt, a
 * count).
 */
int64
PackTotal(int64 packs, int64 units, const char *sku, const char *what)
{
	int64		total;

	if (pg_mul_s64_overflow(packs, units, &total) || total > IERP_MAX_MOVE_QTY || total < -IERP_MAX_MOVE_QTY)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("%s of " INT64_FORMAT " packs of " INT64_FORMAT " units of sku \"%s\" is too many units",
						what, packs, units, sku ? sku : "?"),
				 errdetail("One move carries at most " INT64_FORMAT " units.", IERP_MAX_MOVE_QTY)));
	return total;
}
