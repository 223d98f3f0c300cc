/*-------------------------------------------------------------------------
 *
 * order_reservations.h
 *	  An order's reservations, read and moved by its steps
 *	  (order_reservations.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORDER_RESERVATIONS_H
#define ORDER_RESERVATIONS_H

#include "postgres.h"

#include "ierp.h"
#include "order_document.h"
#include "stock/kernel.h"

/* A reservation row copied out of SPI. */
typedef struct HeldUnits
{
	int64		reservation_id;
	int32		line_no;
	int64		item_id;
	int64		node_id;
	int64		lot_id;
	int64		unpicked;		/* reserved */
	int64		picked;			/* picked, not packed */
	int64		packed;
} HeldUnits;

/*
 * The moves of a whole order step, handed to the kernel in one call: up to
 * two per reservation (a cancel releases reserved units and puts picked
 * ones back).
 */
typedef struct HeldBatch
{
	StockMove  *moves;
	int			n;
	char	   *ref;
} HeldBatch;

extern int	LoadHeld(int64 order_id, int64 item_id, HeldUnits **out);
extern int64 MoveHeld(int64 order_id, const HeldUnits *h, int64 qty, StockState from, StockState to,
					  const char *event);
extern void HeldBatchInit(HeldBatch *b, int64 order_id, int nheld);
extern void HeldBatchAdd(HeldBatch *b, const HeldUnits *h, int64 qty, StockState from, StockState to,
						 const char *event);
extern void HeldBatchApply(HeldBatch *b);
extern void ReservationChange(const HeldUnits *h, int64 d_qty, int64 d_picked, int64 d_packed);
extern void DeleteEmptyReservations(int64 order_id, const HeldUnits *h, int n);
extern void HeldGiveBack(int64 order_id, int32 line_no, int64 item_id, int64 qty);

/* releases reserved units of one line (order edits) */
extern int64 OrderLineRelease(int64 order_id, int32 line_no, int64 qty);
/* releases every reserved unit of an order before picking (a hold) */
extern int64 OrderReleaseReserved(const OrderHeader *order);

#endif							/* ORDER_RESERVATIONS_H */
