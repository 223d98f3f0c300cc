/*-------------------------------------------------------------------------
 *
 * substitute.c
 *	  Substitutes (SPEC 12, issue 16 item 5; doc/warehouse.md "Substitutes").
 *
 *	  A capture's line with "substitutes": true (order_input.c) is recorded
 *	  in erp.order_line_substitution once the order exists; allocation
 *	  (allocate.c) reads these rows with the order's lines, asks here for an
 *	  item's substitutes in rank order and records the one it chose.
 *
 *	  Capture (orders.c) passes the lines it read to SubstituteRecordLines
 *	  after writing a new order (never for a redelivery); nothing is kept
 *	  between calls.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"

#include "governance.h"
#include "order_input.h"
#include "ierp.h"
#include "substitute.h"

/*
 * Records, for the new order order_id, its capture's lines that allow
 * substitutes (CaptureLine.substitutes, read by order_input.c).
 */
void
SubstituteRecordLines(int64 order_id, const CaptureLine *lines, int nlines)
{
	static SPIPlanPtr plan = NULL;
	Datum	   *line_nos;
	int			n = 0,
				i;

	line_nos = palloc(sizeof(Datum) * nlines);
	for (i = 0; i < nlines; i++)
		if (lines[i].substitutes)
			line_nos[n++] = Int32GetDatum(i + 1);
	if (n == 0)
	{
		pfree(line_nos);
		return;
	}
	IerpPlan(&plan,
			 "INSERT INTO erp.order_line_substitution (order_id, line_no)"
			 " SELECT $1, l FROM pg_catalog.unnest($2::integer[]) AS l",
			 2, (Oid[]) {INT8OID, INT4ARRAYOID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id),
						 PointerGetDatum(construct_array(line_nos, n, INT4OID, 4, true, TYPALIGN_INT))},
						 NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: cannot record the substitutes of order " INT64_FORMAT, order_id);
	pfree(line_nos);
}

/* Whether a line of a capture allows substitutes. */
bool
SubstituteAnyLine(const CaptureLine *lines, int nlines)
{
	int			i;

	for (i = 0; i < nlines; i++)
		if (lines[i].substitutes)
			return true;
	return false;
}

/*
 * The substitutes of item_id in rank order, copied out of SPI into *out;
 * returns how many.
 */
int
SubstituteCandidates(int64 item_id, SubstituteCandidate **out)
{
	static SPIPlanPtr plan = NULL;
	uint64		i,
				n;
	SubstituteCandidate *c;

	IerpPlan(&plan,
			 "SELECT substitute_item_id, rank FROM erp.item_substitute WHERE item_id = $1 ORDER BY rank",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(item_id)}, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the substitutes of item " INT64_FORMAT, item_id);
	n = SPI_processed;
	c = palloc(sizeof(SubstituteCandidate) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		c[i].item_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		c[i].rank = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	*out = c;
	return (int) n;
}

/* Line line_no of order_id is filled with substitute_item_id (of rank) from now on. */
void
SubstituteRecordChoice(int64 order_id, int32 line_no, int64 substitute_item_id, int32 rank)
{
	static SPIPlanPtr plan = NULL;

	IerpPlan(&plan,
			 "UPDATE erp.order_line_substitution SET substitute_item_id = $3, rank = $4,"
			 "       substituted_at = pg_catalog.now()"
			 " WHERE order_id = $1 AND line_no = $2 AND substitute_item_id IS NULL",
			 4, (Oid[]) {INT8OID, INT4OID, INT8OID, INT4OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(order_id), Int32GetDatum(line_no),
						 Int64GetDatum(substitute_item_id), Int32GetDatum(rank)}, NULL, false, 0)
		!= SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "inventory_erp: line %d of order " INT64_FORMAT " allows no substitute or has one",
			 line_no, order_id);
}
