/*-------------------------------------------------------------------------
 *
 * access_path.c
 *	  Which path the stock kernel takes to its tables: directly on one node
 *	  (index scans, heap updates, no statements) or through routed SQL when
 *	  Citus distributes them.  inventory_erp.kernel_access forces either
 *	  (for tests); on auto the answer is learnt once per backend from
 *	  pg_dist_partition and forgotten on a relcache invalidation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"

#include "ierp.h"
#include "stock/slot_rows.h"

typedef enum KernelAccess
{
	KERNEL_ACCESS_AUTO,
	KERNEL_ACCESS_DIRECT,
	KERNEL_ACCESS_ROUTED
} KernelAccess;

/* inventory_erp.kernel_access (defined as a setting in inventory_erp.c) */
int			ierp_kernel_access = KERNEL_ACCESS_AUTO;

static Oid	slot_relid = InvalidOid;	/* erp.stock_slot, whose distribution decides */
static int	slot_distributed = -1;	/* -1 unknown, 0 no, 1 yes */

static void
AccessPathInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == slot_relid)
	{
		slot_relid = InvalidOid;
		slot_distributed = -1;
	}
}

/*
 * StockDirectAccess: whether the kernel reads and writes erp.stock_slot and
 * erp.stock_move directly.  inventory_erp.kernel_access decides; on auto,
 * directly unless Citus distributes erp.stock_slot (its coordinator table
 * is then an empty shell and statements must be routed to the shards).
 */
bool
StockDirectAccess(void)
{
	if (ierp_kernel_access == KERNEL_ACCESS_DIRECT)
		return true;
	if (ierp_kernel_access == KERNEL_ACCESS_ROUTED)
		return false;
	if (slot_distributed < 0)
	{
		Oid			dist = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
		Oid			nsp = get_namespace_oid("erp", true);

		/* looked up here, not through plans.c: its IerpPlan asks this file which path */
		slot_relid = OidIsValid(nsp) ? get_relname_relid("stock_slot", nsp) : InvalidOid;
		if (!OidIsValid(slot_relid))
			elog(ERROR, "inventory_erp: table erp.stock_slot does not exist");
		slot_distributed = 0;
		if (OidIsValid(dist))
		{
			bool		connected = SPI_connect() == SPI_OK_CONNECT;

			if (!connected)
				elog(ERROR, "inventory_erp: SPI_connect failed");
			if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1",
									  1, (Oid[]) {OIDOID}, (Datum[]) {ObjectIdGetDatum(slot_relid)},
									  NULL, true, 1) == SPI_OK_SELECT && SPI_processed > 0)
				slot_distributed = 1;
			SPI_finish();
		}
	}
	return slot_distributed == 0;
}

/* StockAccessPathInit: the relcache callback that forgets the answer. */
void
StockAccessPathInit(void)
{
	IerpRegisterRelcacheCallback(AccessPathInvalidate, (Datum) 0);
}
