/*-------------------------------------------------------------------------
 *
 * plans.c
 *	  The SPI plan cache every file of the extension prepares its statements
 *	  through (IerpPlan), and the OIDs of the extension's tables for the
 *	  caches that must recognise their relcache invalidations (IerpRelid),
 *	  or that read a table directly (IerpLocalRelid: on Citus, this node's
 *	  placement of a reference table).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "utils/lsyscache.h"

#include "ierp.h"
#include "stock/slot_rows.h"

/*
 * IerpPlan: prepare sql once per backend and keep the plan.  The plan cache
 * re-analyses the query text after DDL (or a DROP/CREATE EXTENSION), so a
 * kept plan stays valid; parameters therefore never use the extension's own
 * types, which would change OID.  Every statement here is a short OLTP
 * statement on keys, so the plan is generic from the first execution: a
 * custom plan per call would spend more time planning than executing.
 * Except when Citus distributes the tables (StockDirectAccess false): Citus
 * cannot route a generic plan's statement whose parameters decide the shard
 * ("could not create distributed plan"), so every call plans it with its
 * values.
 */
SPIPlanPtr
IerpPlan(SPIPlanPtr *cache, const char *sql, int nargs, const Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;
	plan = SPI_prepare_cursor(sql, nargs, (Oid *) argtypes,
							  StockDirectAccess() ? CURSOR_OPT_GENERIC_PLAN : CURSOR_OPT_CUSTOM_PLAN);
	if (plan == NULL)
		elog(ERROR, "inventory_erp: SPI_prepare failed (%s) for: %s",
			 SPI_result_code_string(SPI_result), sql);
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "inventory_erp: SPI_keepplan failed");
	*cache = plan;
	return plan;
}

/*
 * IerpRelid: the OID of table erp.<name>, for the caches that must know which
 * relcache invalidation is theirs (InvalidOid when it does not exist).
 */
Oid
IerpRelid(const char *name)
{
	Oid			nsp = get_namespace_oid("erp", true);

	return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
}

/*
 * IerpLocalRelid: the relation that holds this node's rows of erp.<name>:
 * the table itself, or, when Citus made it a reference table
 * (erp.distribute()), its placement on this node, erp.<name>_<shardid>.  The
 * table is then an empty shell on every node, and the triggers that
 * invalidate the caches fire on the placements, so a cache that reads the
 * rows directly, or must recognise their changes, uses the placement.  The
 * table itself when this node has no placement or Citus is not installed.
 */
Oid
IerpLocalRelid(const char *name)
{
	Oid			relid = IerpRelid(name);
	Oid			result = relid;

	if (!OidIsValid(relid) ||
		!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return relid;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (SPI_execute_with_args("SELECT s.shardid FROM pg_catalog.pg_dist_shard s"
							  " JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = s.logicalrelid"
							  " WHERE s.logicalrelid = $1 AND p.partmethod = 'n' AND p.repmodel = 't'",
							  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(relid)},
							  NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		shardid = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		char		placement[NAMEDATALEN * 2];

		if (!isnull)
		{
			Oid			local;

			snprintf(placement, sizeof(placement), "%s_" INT64_FORMAT, name, DatumGetInt64(shardid));
			local = strlen(placement) < NAMEDATALEN ?
				get_relname_relid(placement, get_rel_namespace(relid)) : InvalidOid;
			if (OidIsValid(local))
				result = local;
		}
	}
	SPI_finish();
	return result;
}

/*
 * IerpSpiInt64Column: the first column of the last SPI statement's rows as
 * int64 values (an id list to loop over after the statement), copied into
 * the current memory context; frees SPI_tuptable.  *n is the row count.
 */
int64 *
IerpSpiInt64Column(uint64 *n)
{
	int64	   *values = palloc(sizeof(int64) * Max(SPI_processed, 1));
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		values[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	*n = SPI_processed;
	SPI_freetuptable(SPI_tuptable);
	return values;
}
