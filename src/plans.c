/*-------------------------------------------------------------------------
 *
 * plans.c
 *	  The SPI plan cache every file of the extension prepares its statements
 *	  through (IerpPlan), and the OIDs of the extension's tables for the
 *	  caches that must recognise their relcache invalidations (IerpRelid).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "utils/lsyscache.h"

#include "ierp.h"

/*
 * IerpPlan: prepare sql once per backend and keep the plan.  The plan cache
 * re-analyses the query text after DDL (or a DROP/CREATE EXTENSION), so a
 * kept plan stays valid; parameters therefore never use the extension's own
 * types, which would change OID.  Every statement here is a short OLTP
 * statement on keys, so the plan is generic from the first execution: a
 * custom plan per call would spend more time planning than executing.
 */
SPIPlanPtr
IerpPlan(SPIPlanPtr *cache, const char *sql, int nargs, const Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;
	plan = SPI_prepare_cursor(sql, nargs, (Oid *) argtypes, CURSOR_OPT_GENERIC_PLAN);
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
