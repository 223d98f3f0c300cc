/*-------------------------------------------------------------------------
 *
 * holds.h
 *	  Timed checkout holds (holds.c, doc/warehouse.md "Checkout holds"):
 *	  what ATP, allocation and capture ask of them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef HOLDS_H
#define HOLDS_H

#include "ierp.h"

/* adds to each node's promisable the units of item's expired, not yet released holds */
extern void HoldsAddExpired(int64 item_id, NodeStock *nodes, int n);

/* gives back the expired holds that reserve units of item (allocation's hook); SPI connected */
extern void HoldsReleaseExpired(int64 item_id);

/* capture_order(..., hold_ref): the new order takes over the hold's units; SPI connected */
extern void HoldsConvert(int64 hold_id, int64 order_id, int64 channel_id);

/* a redelivered order with hold_ref: refused (IE010) unless the hold became this order */
extern void HoldsCheckConverted(int64 hold_id, int64 order_id);

#endif							/* HOLDS_H */
