/*-------------------------------------------------------------------------
 *
 * inventory_erp.c
 *	  Module entry: PG_MODULE_MAGIC, the inventory_erp.* settings, and the
 *	  start-up of each module that needs one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "ierp.h"

PG_MODULE_MAGIC;

/* inventory_erp.balance_slots: how many rows one hot balance may be spread over */
int			ierp_balance_slots = 16;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("inventory_erp.balance_slots",
							"Maximum number of slots one balance is spread over under contention.",
							"More slots let more sessions allocate one hot SKU at once; "
							"readers sum over the slots of a balance.",
							&ierp_balance_slots,
							16, 1, 64,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("inventory_erp");

	LedgerInit();
	ReturnsInit();
	AccessInit();
}
