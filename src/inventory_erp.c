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
#include "order_rows.h"
#include "idempotency.h"
#include "master_cache.h"
#include "stock/kernel.h"

PG_MODULE_MAGIC;

/* inventory_erp.balance_slots: how many rows one hot balance may be spread over */
int			ierp_balance_slots = 16;

/*
 * inventory_erp.restore_mode: while on, rows inserted into the ledger and the
 * balances are history reloaded by pg_restore, kept exactly as dumped.  Only
 * a superuser can switch it on (PGC_SUSET); off, such rows are refused (IE005).
 */
bool		ierp_restore_mode = false;

void		_PG_init(void);

/*
 * The relcache callbacks of the module's caches (IerpRegisterRelcacheCallback),
 * called in registration order by the one callback registered with PostgreSQL.
 * PostgreSQL 15 has 10 relcache callback slots per backend; Citus takes 5, so
 * one per cache would leave a backend with both loaded unable to start
 * ("out of relcache_callback_list slots").
 */
#define IERP_MAX_RELCACHE_CALLBACKS 16

typedef struct IerpRelcacheCallback
{
	RelcacheCallbackFunction func;
	Datum		arg;
} IerpRelcacheCallback;

static IerpRelcacheCallback relcache_callbacks[IERP_MAX_RELCACHE_CALLBACKS];
static int	relcache_callback_count = 0;

static void
IerpRelcacheDispatch(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < relcache_callback_count; i++)
		relcache_callbacks[i].func(relcache_callbacks[i].arg, relid);
}

void
IerpRegisterRelcacheCallback(RelcacheCallbackFunction func, Datum arg)
{
	if (relcache_callback_count >= IERP_MAX_RELCACHE_CALLBACKS)
		elog(FATAL, "inventory_erp: out of relcache callback slots (%d)", IERP_MAX_RELCACHE_CALLBACKS);
	if (relcache_callback_count == 0)
		CacheRegisterRelcacheCallback(IerpRelcacheDispatch, (Datum) 0);
	relcache_callbacks[relcache_callback_count].func = func;
	relcache_callbacks[relcache_callback_count].arg = arg;
	relcache_callback_count++;
}

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
							16, 1, 64,
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
	StockJournalInit();
	OrderRowsInit();
	ReturnsInit();
	AccessInit();
}
