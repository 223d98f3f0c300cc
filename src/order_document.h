/*-------------------------------------------------------------------------
 *
 * order_document.h
 *	  The order skeleton shared by the order files (orders.c, allocate.c,
 *	  returns.c): owning an order, its header, deriving its status; and the
 *	  allocation engine's entry.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORDER_DOCUMENT_H
#define ORDER_DOCUMENT_H

#include "ierp.h"

/* the order header every step reads when it owns the order */
typedef struct OrderHeader
{
	int64		order_id;
	int64		channel_id;
	char	   *status;
	bool		has_ship_to;
	double		latitude;
	double		longitude;
} OrderHeader;

extern void OrderLock(int64 order_id, OrderHeader *order);
extern bool OrderTryLock(int64 order_id, OrderHeader *order);
/* new quantities of a line, written together with its status */
typedef struct LineQuantities
{
	int32		line_no;
	int64		qty_allocated;
	int64		qty_backordered;
} LineQuantities;

extern void OrderRefreshStatus(const OrderHeader *order, bool allocation_attempted,
							   const LineQuantities *changes, int nchanges);

/* a line's numbers, as the status rules derive its status from them */
typedef struct LineState
{
	int32		line_no;
	int64		qty;
	int64		qty_allocated;
	int64		qty_backordered;
	int64		qty_shipped;
	char	   *status;
	int64		held;			/* reserved + picked + packed, in units of the line's items */
	int64		picked;			/* picked + packed */
	int64		packed;
	bool		changed;		/* qty_allocated or qty_backordered are new */
} LineState;

extern void OrderWriteStatus(const OrderHeader *order, bool allocation_attempted, LineState *lines, int n);

/* allocate.c: the allocation engine (used by erp.short_pick to allocate again) */
extern int64 AllocateOrder(const OrderHeader *order, int64 exclude_node_id,
						   Tuplestorestate *result, TupleDesc result_desc);

extern bool OrderParseCoordinate(const char *text, double *out);

#endif							/* ORDER_DOCUMENT_H */
