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


/*
 * balance.c: ownership locks and the global lock order (doc/concurrency.md,
 * "Deadlocks").  Tags of orders and captured external_refs come before every
 * slot tag.  IerpTagLock takes a tag: waiting only where the order allows
 * (may_wait and every tag held is smaller), else only trying, or waiting
 * whatever the order (force).  BalanceMayWait: whether waiting for slot 0 of
 * key keeps the order; BalanceLockSlot: the ownership lock of one slot.
 */
#include "storage/lock.h"

extern void IerpOrderTag(LOCKTAG *tag, int64 order_id);
extern void IerpExternalRefTag(LOCKTAG *tag, int64 channel_id, const char *external_ref);
extern bool IerpTagMayWait(const LOCKTAG *tag);
extern bool IerpTagLock(const LOCKTAG *tag, bool may_wait, bool force);
extern void IerpTagRelease(const LOCKTAG *tag);
extern bool BalanceMayWait(const BalanceKey *key);
extern bool BalanceLockSlot(const BalanceKey *key, int32 slot, bool may_wait);
extern bool BalanceOwnsSlot(const BalanceKey *key, int32 slot);
extern bool BalanceSetTakesBacked(bool backed);
extern bool BalanceContended(bool reset);
extern void BalanceNoteContended(void);

#endif							/* ORDERS_INTERNAL_H */
