/*-------------------------------------------------------------------------
 *
 * orders_internal.h
 *	  Declarations shared by the order files only (orders.c, allocate.c,
 *	  balance.c): the order id argument, the partner filter of allocation,
 *	  and the lock-order bookkeeping of the balances (doc/concurrency.md,
 *	  "Deadlocks").
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORDERS_INTERNAL_H
#define ORDERS_INTERNAL_H

#include "ierp.h"

/* orders.c: an order id argument; IE003 "no order id given" when NULL */
extern int64 OrderIdArg(FunctionCallInfo fcinfo, int argno);

/*
 * balance.c: whether this transaction may wait for a slot of the balance
 * key (the global lock order: it holds no slot of that balance nor of any
 * balance after it); BalanceNoteLocked records a locking statement on key.
 */
extern bool BalanceMayWait(const BalanceKey *key);
extern void BalanceNoteLocked(const BalanceKey *key);

#endif							/* ORDERS_INTERNAL_H */
