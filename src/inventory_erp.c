/*-------------------------------------------------------------------------
 *
 * inventory_erp.c
 *	  Module entry: PG_MODULE_MAGIC, the definition of the inventory_erp.*
 *	  settings (their variables live in settings.c and the kernel's files),
 *	  and the start-up of each module that needs one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "ierp.h"
#include "order_rows.h"
#include "idempotency.h"
#include "master_cache.h"
#include "stock/bins.h"
#include "stock/kernel.h"
#include "stock/slot_rows.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static const struct config_enum_entry kernel_access_options[] = {
	{"auto", 0, false},
	{"direct", 1, false},
	{"routed", 2, false},
	{NULL, 0, false}
};

void
_PG_init(void)
{
	DefineCustomIntVariable("inventory_erp.balance_slots",
							"Maximum number of slots one balance is spread over under contention.",
							"More slots let more sessions allocate one hot SKU at once; "
							"readers sum over the slots of a balance.",
							&ierp_balance_slots,
							32, 1, 64,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("inventory_erp.restore_mode",
							 "Accepts rows reloaded by pg_restore into the ledger and the balances as history.",
							 "Only for restoring a dump: the rows are kept as dumped, without checks. "
							 "Off, an INSERT of a ledger row that brings its own id, or of a balance, is refused.",
							 &ierp_restore_mode,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("inventory_erp.kernel_access",
							 "How the stock kernel reads and writes balances and the ledger.",
							 "auto: directly (index scan, heap update) unless Citus distributes the tables, "
							 "then through routed statements; direct or routed force one path (for tests).",
							 &ierp_kernel_access,
							 0, kernel_access_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	EventsInit();
	IdempotencyInit();
	MarkGUCPrefixReserved("inventory_erp");

	StockStateInit();
	MasterCacheInit();
	StockSlotsInit();
	StockAccessPathInit();
	StockBinsInit();
	StockJournalInit();
	OrderRowsInit();
	ReturnsInit();
	AccessInit();
}
