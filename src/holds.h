/*-------------------------------------------------------------------------
 *
 * holds.h
 *	  Timed checkout holds (holds.c, doc/warehouse.md "Checkout holds"):
 *	  what capture asks of them (expired holds in ATP and allocation:
 *	  hold_rows.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef HOLDS_H
#define HOLDS_H

#include "ierp.h"

/* capture_order(..., hold_ref): the new order takes over the hold's units; SPI connected */
extern void HoldsConvert(int64 hold_id, int64 order_id, int64 channel_id);

/* a redelivered order with hold_ref: refused (IE010) unless the hold became this order */
extern void HoldsCheckConverted(int64 hold_id, int64 order_id);

#endif							/* HOLDS_H */
