/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The module's process-wide settings and shared cache upkeep: the
 *	  variables behind inventory_erp.balance_slots and
 *	  inventory_erp.restore_mode (defined as settings by _PG_init in
 *	  inventory_erp.c), and the one relcache callback through which every
 *	  cache of the module learns of invalidations.  Depends on nothing else
 *	  of the module, so every file may use it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/inval.h"

#include "ierp.h"

/* inventory_erp.balance_slots: how many rows one hot balance may be spread over */
int			ierp_balance_slots = 32;

/*
 * inventory_erp.restore_mode: while on, rows inserted into the ledger and the
 * balances are history reloaded by pg_restore, kept exactly as dumped.  Only
 * a superuser can switch it on (PGC_SUSET); off, such rows are refused (IE005).
 */
bool		ierp_restore_mode = false;

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
