/*-------------------------------------------------------------------------
 *
 * forecast_import.c
 *	  erp.import_demand: daily demand of a system that ran before the
 *	  extension, into erp.demand_import, where erp.demand_history (and so
 *	  the forecasts) read it beside the orders' own history.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "ierp.h"

IERP_OWNER_ENTRY(ierp_forecast_import_demand);

/* most lines one call takes */
#define IMPORT_MAX_LINES	100000

/*
 * erp.import_demand(lines, idempotency_key): one row per line
 * {"sku", "channel", "node", "day", "qty"} (channel and node optional); a
 * line for an item, channel, node and day already imported replaces it.
 * Refuses, changing nothing: lines that are not a JSON array or more than
 * IMPORT_MAX_LINES (IE004), an unknown sku, channel or node (IE003), a day
 * that is not a date or lies in the future, a qty that is not a whole number
 * of units 0 or more (IE004), a node the caller may not act on (IE009).
 */
static Datum
ierp_forecast_import_demand_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	static const Oid lines_types[] = {JSONBOID};
	static const Oid insert_types[] = {INT8OID, INT8OID, INT8OID, DATEOID, INT8OID};
	Datum		lines;
	SPITupleTable *rows;
	uint64		nrows,
				r;
	MemoryContext line_ctx,
				old;
	DateADT		today = GetSQLCurrentDate();
	bool		isnull;
	char	   *kind;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("no demand lines given"),
				 errdetail("lines is a JSON array of {\"sku\", \"channel\", \"node\", \"day\", \"qty\"}.")));
	lines = PG_GETARG_DATUM(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");

	IerpPlan(&lines_plan,
			 "SELECT jsonb_typeof($1), CASE WHEN jsonb_typeof($1) = 'array' THEN jsonb_array_length($1) END",
			 1, lines_types);
	if (SPI_execute_plan(lines_plan, &lines, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: cannot read the demand lines");
	kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (kind == NULL || strcmp(kind, "array") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("demand lines are a JSON %s, not an array", kind ? kind : "null"),
				 errdetail("lines is a JSON array of {\"sku\", \"channel\", \"node\", \"day\", \"qty\"}.")));
	{
		int32		count = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

		if (count > IMPORT_MAX_LINES)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("%d demand lines are more than one call takes", count),
					 errdetail("One call imports at most %d lines.", IMPORT_MAX_LINES),
					 errhint("Import a long history in several calls.")));
	}

	if (SPI_execute_with_args("SELECT e->>'sku', e->>'channel', e->>'node', e->>'day', e->>'qty', jsonb_typeof(e)"
							  "  FROM jsonb_array_elements($1) e",
							  1, (Oid *) lines_types, &lines, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the demand lines");
	rows = SPI_tuptable;
	nrows = SPI_processed;

	IerpPlan(&insert_plan,
			 "INSERT INTO erp.demand_import (item_id, channel_id, node_id, day, qty) VALUES ($1, $2, $3, $4, $5)"
			 " ON CONFLICT ON CONSTRAINT demand_import_key"
			 " DO UPDATE SET qty = EXCLUDED.qty, imported_at = pg_catalog.now()",
			 5, insert_types);

	line_ctx = AllocSetContextCreate(CurrentMemoryContext, "import_demand line", ALLOCSET_SMALL_SIZES);
	for (r = 0; r < nrows; r++)
	{
		HeapTuple	tup = rows->vals[r];
		char	   *sku,
				   *channel,
				   *node,
				   *day_text,
				   *qty_text,
				   *elem_kind;
		ItemInfo	item;
		Datum		values[5];
		char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
		DateADT		day;
		int64		qty;

		old = MemoryContextSwitchTo(line_ctx);
		sku = SPI_getvalue(tup, rows->tupdesc, 1);
		channel = SPI_getvalue(tup, rows->tupdesc, 2);
		node = SPI_getvalue(tup, rows->tupdesc, 3);
		day_text = SPI_getvalue(tup, rows->tupdesc, 4);
		qty_text = SPI_getvalue(tup, rows->tupdesc, 5);
		elem_kind = SPI_getvalue(tup, rows->tupdesc, 6);
		if (elem_kind == NULL || strcmp(elem_kind, "object") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("demand line %d is not a JSON object", (int) r + 1)));
		if (sku == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
					 errmsg("demand line %d names no sku", (int) r + 1)));
		IerpCheckText(sku, "sku", IERP_MAX_KEY_LEN);
		IerpCheckText(channel, "channel", IERP_MAX_KEY_LEN);
		IerpCheckText(node, "node", IERP_MAX_KEY_LEN);
		IerpLookupItem(sku, &item);
		values[0] = Int64GetDatum(item.item_id);
		values[1] = channel ? Int64GetDatum(IerpLookupChannel(channel)) : (Datum) 0;
		nulls[1] = channel ? ' ' : 'n';
		if (node)
		{
			int64		node_id = IerpLookupNode(node);

			AccessCheckNode(node_id);
			values[2] = Int64GetDatum(node_id);
		}
		else
			nulls[2] = 'n';
		day = IerpParseDate(day_text, "demand day");
		if (day > today)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("demand day \"%s\" of sku \"%s\" is in the future", day_text, sku),
					 errdetail("Imported demand is history: days up to today.")));
		values[3] = DateADTGetDatum(day);
		qty = (qty_text && strcmp(qty_text, "0") == 0) ? 0 : IerpParseQuantity(qty_text, sku);
		values[4] = Int64GetDatum(qty);
		if (SPI_execute_plan(insert_plan, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "inventory_erp: cannot store imported demand");
		MemoryContextSwitchTo(old);
		MemoryContextReset(line_ctx);
	}
	MemoryContextDelete(line_ctx);
	SPI_finish();
	PG_RETURN_INT32((int32) nrows);
}
