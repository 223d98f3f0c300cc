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

/* allocate.c: the allocation engine (used by erp.short_pick to allocate again) */
extern int64 AllocateOrder(const OrderHeader *order, int64 exclude_node_id,
						   Tuplestorestate *result, TupleDesc result_desc);

extern bool OrderParseCoordinate(const char *text, double *out);

#endif							/* ORDER_DOCUMENT_H */
