/*-------------------------------------------------------------------------
 *
 * supply.h
 *	  What purchasing (supply.c) shares: locking a purchase order as a
 *	  document, for receiving and for landed costs (valuation.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef IERP_SUPPLY_H
#define IERP_SUPPLY_H

extern char *PurchaseOrderLock(int64 po_id, bool nowait, int64 *node_id);

#endif							/* IERP_SUPPLY_H */
