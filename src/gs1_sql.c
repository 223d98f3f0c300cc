/*-------------------------------------------------------------------------
 *
 * gs1_sql.c
 *	  The SQL face of the GS1 parser (gs1.c): erp.parse_gs1(scan), and
 *	  Gs1ParseOrRefuse, which receipts (ledger.c, supply.c) call to read a
 *	  scan in place of a sku, raising IE004 with the parser's why when the
 *	  scan is malformed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "gs1.h"
#include "ierp.h"

PG_FUNCTION_INFO_V1(ierp_gs1_parse);

#define GS1_WHY_SIZE	256
#define GS1_SHOWN_SIZE	200

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
