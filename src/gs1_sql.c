/*-------------------------------------------------------------------------
 *
 * gs1_sql.c
 *	  The SQL face of the GS1 parser (gs1.c): erp.parse_gs1(scan);
 *	  Gs1ParseOrRefuse, which raises IE004 with the parser's why when a scan
 *	  is malformed; and Gs1ReceiptFromScan, which receipts (erp.receive in
 *	  ledger.c, erp.receive_po in supply.c) call to read the item, lot and
 *	  expiry of a scan given in place of a sku.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "gs1.h"
#include "ierp.h"
#include "master_cache.h"

PG_FUNCTION_INFO_V1(ierp_gs1_parse);

#define GS1_WHY_SIZE	256
#define GS1_SHOWN_SIZE	200

#ifdef USE_ASSERT_CHECKING
/*
 * Assertion builds (make test, make valgrind) also parse a malloc'ed copy of
 * exactly len bytes, with nothing after it: under valgrind a read past len is
 * then an invalid read in Gs1Parse, which a palloc'ed text would hide.  The
 * result must be the same.
 */
static void
Gs1CheckBounded(const char *text, size_t len, Gs1Result expected)
{
	char	   *copy = malloc(Max(len, 1));
	Gs1Scan		scan;
	char		why[GS1_WHY_SIZE];
	Gs1Result	res;

	if (copy == NULL)
		return;
	memcpy(copy, text, len);
	res = Gs1Parse(copy, len, &scan, why, sizeof(why));
	free(copy);
	Assert(res == expected);
}
#endif

/*
 * Gs1ParseOrRefuse: parses text[0..len); GS1_NOT_GS1 or GS1_PARSED are
 * returned, GS1_MALFORMED raises IE004 naming the scan and why.
 */
Gs1Result
Gs1ParseOrRefuse(const char *text, size_t len, Gs1Scan *scan)
{
	char		why[GS1_WHY_SIZE];
	char		shown[GS1_SHOWN_SIZE];
	Gs1Result	res = Gs1Parse(text, len, scan, why, sizeof(why));

#ifdef USE_ASSERT_CHECKING
	Gs1CheckBounded(text, len, res);
#endif
	if (res == GS1_MALFORMED)
	{
		Gs1Show(text, len, shown, sizeof(shown));
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("malformed GS1 element string \"%s\"", shown),
				 errdetail("%s", why),
				 errhint("Scan the barcode again; doc/gs1.md lists the application identifiers inventory_erp reads.")));
	}
	return res;
}


/*
 * erp.parse_gs1(scan): the fields of a GS1 element string, one row; a
 * field the scan does not carry is NULL.  Refuses (IE004) a text that is
 * not GS1 and a malformed one.
 */
Datum
ierp_gs1_parse(PG_FUNCTION_ARGS)
{
	text	   *arg = PG_GETARG_TEXT_PP(0);
	const char *data = VARDATA_ANY(arg);
	size_t		len = VARSIZE_ANY_EXHDR(arg);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Gs1Scan		scan;
	Datum		values[6];
	bool		nulls[6];
	int64		gtin = 0;

	if (Gs1ParseOrRefuse(data, len, &scan) == GS1_NOT_GS1)
	{
		char		shown[GS1_SHOWN_SIZE];

		Gs1Show(data, len, shown, sizeof(shown));
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("scan \"%s\" is not a GS1 element string", shown),
				 errdetail("A GS1 element string starts with a symbology identifier (]C1, ]d2 or ]Q3) or, printed, with \"(\" and an application identifier.")));
	}

	InitMaterializedSRF(fcinfo, 0);
	memset(nulls, 0, sizeof(nulls));
	if (scan.gtin[0] != '\0' && GtinParse(scan.gtin, &gtin, false))
		values[0] = Int64GetDatum(gtin);
	else
		nulls[0] = true;
	values[1] = scan.lot[0] ? CStringGetTextDatum(scan.lot) : (Datum) 0;
	nulls[1] = scan.lot[0] == '\0';
	values[2] = DateADTGetDatum(scan.expiry);
	nulls[2] = !scan.has_expiry;
	values[3] = DateADTGetDatum(scan.best_before);
	nulls[3] = !scan.has_best_before;
	values[4] = scan.serial[0] ? CStringGetTextDatum(scan.serial) : (Datum) 0;
	nulls[4] = scan.serial[0] == '\0';
	values[5] = Int64GetDatum(scan.count);
	nulls[5] = !scan.has_count;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * the item whose gtin is the 14 digits of a scan; IE003 when none.  With
 * units (a receipt that counts packs), a pack's GTIN (erp.item_uom) names its
 * item too, and *units gets the pack's units (1 for the item's own GTIN);
 * without, a pack's GTIN is no item's (erp.receive takes units only).  The
 * plans' results are read before the next SPI call replaces them.
 */
static char *
Gs1ItemSku(const char *gtin_digits, const char *shown, int64 *units)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[] = {INT8OID};
	int64		gtin;

	if (!GtinParse(gtin_digits, &gtin, false))
		elog(ERROR, "inventory_erp: GS1 parser passed an invalid GTIN");
	IerpPlan(&plan,
			 "SELECT sku FROM erp.item WHERE gtin OPERATOR(erp.=) $1::erp.gtin",
			 1, argtypes);
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(gtin)}, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: item lookup by GTIN failed");
	if (units != NULL)
		*units = 1;
	if (SPI_processed == 0 && units != NULL)
	{
		static SPIPlanPtr pack_plan = NULL;
		bool		isnull;

		/* a pack's GTIN: its item, and the units one pack holds */
		IerpPlan(&pack_plan,
				 "SELECT i.sku, u.units FROM erp.item_uom u JOIN erp.item i ON i.item_id = u.item_id"
				 " WHERE u.gtin OPERATOR(erp.=) $1::erp.gtin",
				 1, argtypes);
		if (SPI_execute_plan(pack_plan, (Datum[]) {Int64GetDatum(gtin)}, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "inventory_erp: pack lookup by GTIN failed");
		if (SPI_processed == 1)
		{
			*units = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		}
	}
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("no item has GTIN %s (scan \"%s\")", gtin_digits, shown),
				 errdetail("A receipt by scan finds the item by erp.item.gtin."),
				 errhint("Set the item's gtin (erp_admin), or receive by sku.")));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* refuses (IE004) a lot or expiry argument that disagrees with the scan */
static void
Gs1Disagree(const char *what, const char *given, const char *scanned, const char *shown)
{
	ereport(ERROR,
			(errcode(ERRCODE_IERP_INVALID_QUANTITY),
			 errmsg("%s \"%s\" disagrees with the %s \"%s\" of scan \"%s\"",
					what, given, what, scanned, shown),
			 errdetail("A receipt by scan takes the %s from the scan; a %s given as well must be the same.",
					   what, what),
			 errhint("Leave the %s out, or check which label was scanned.", what)));
}

static char *
Gs1DateText(DateADT date)
{
	return DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(date)));
}

/*
 * Gs1ReceiptFromScan: see gs1.h.  Inside SPI.
 */
bool
Gs1ReceiptFromScan(const char *text, bool must_be_gs1, const char *sku,
				   const char *lot, bool has_expiry, DateADT expiry,
				   Gs1Receipt *out)
{
	return Gs1ReceiptFromScanPacks(text, must_be_gs1, sku, lot, has_expiry, expiry, out, NULL);
}

/*
 * Gs1ReceiptFromScanPacks: see gs1.h.  Inside SPI.
 */
bool
Gs1ReceiptFromScanPacks(const char *text, bool must_be_gs1, const char *sku,
						const char *lot, bool has_expiry, DateADT expiry,
						Gs1Receipt *out, int64 *units)
{
	size_t		len = strlen(text);
	char		shown[GS1_SHOWN_SIZE];
	Gs1Scan		scan;
	const MasterItem *item;

	/* an existing sku stays a sku, whatever it looks like */
	if (!must_be_gs1 && len > 0 && len <= IERP_MAX_KEY_LEN && MasterItemLookup(text) != NULL)
		return false;
	Gs1Show(text, len, shown, sizeof(shown));
	if (Gs1ParseOrRefuse(text, len, &scan) == GS1_NOT_GS1)
	{
		if (!must_be_gs1)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("scan \"%s\" is not a GS1 element string", shown),
				 errdetail("A GS1 element string starts with a symbology identifier (]C1, ]d2 or ]Q3) or, printed, with \"(\" and an application identifier.")));
	}
	if (scan.gtin[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("scan \"%s\" carries no GTIN", shown),
				 errdetail("A receipt by scan finds the item by AI (01)."),
				 errhint("Scan the barcode that carries the GTIN, or receive by sku.")));
	out->sku = Gs1ItemSku(scan.gtin, shown, units);
	if (sku != NULL && strcmp(sku, out->sku) != 0)
		Gs1Disagree("sku", sku, out->sku, shown);

	out->lot = lot;
	out->has_expiry = has_expiry;
	out->expiry = expiry;
	/* labels of items not tracked by lot may carry one: it is not recorded */
	item = MasterItemLookup(out->sku);
	if (item == NULL || !item->info.lot_tracked)
		return true;
	if (scan.lot[0] != '\0')
	{
		if (lot != NULL && strcmp(lot, scan.lot) != 0)
			Gs1Disagree("lot", lot, scan.lot, shown);
		out->lot = pstrdup(scan.lot);
	}

	if (scan.has_expiry || scan.has_best_before)
	{
		DateADT		scanned = scan.has_expiry ? scan.expiry : scan.best_before;

		if (has_expiry && expiry != scanned)
			Gs1Disagree("expiry date", Gs1DateText(expiry), Gs1DateText(scanned), shown);
		out->has_expiry = true;
		out->expiry = scanned;
	}
	return true;
}
