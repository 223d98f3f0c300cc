/*-------------------------------------------------------------------------
 *
 * idempotency.h
 *	  Idempotent calls (doc/idempotency.md): a public function whose last
 *	  argument is named idempotency_key runs once per (login, key); a retry
 *	  returns the first call's result and changes nothing.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IERP_IDEMPOTENCY_H
#define IERP_IDEMPOTENCY_H

#include "postgres.h"

#include "fmgr.h"

/* longest key accepted, in bytes (IE004 beyond) */
#define IDEMPOTENCY_MAX_KEY_LEN		200

/* inventory_erp.idempotency_retention, in seconds */
extern int	ierp_idempotency_retention;

/* defines the setting and the function cache's invalidation; from _PG_init */
extern void IdempotencyInit(void);

/*
 * IdempotentCall: runs body with fcinfo (IerpCallAsOwner calls it through
 * ierp_entry_hook, as the function's owner), or replays the result stored for its key.
 */
extern Datum IdempotentCall(PGFunction body, FunctionCallInfo fcinfo);

#endif							/* IERP_IDEMPOTENCY_H */
