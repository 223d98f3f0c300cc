/*-------------------------------------------------------------------------
 *
 * order_input.h
 *	  What erp.capture_order receives, read and checked in C
 *	  (order_input.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORDER_INPUT_H
#define ORDER_INPUT_H

#include "utils/jsonb.h"

#include "ierp.h"

/* at most this many bytes of ship_to (lines: the documents' one cap, governance.h) */
#define ORDER_MAX_SHIP_TO	4096

/* One line of a capture, checked. */
typedef struct CaptureLine
{
	int64		item_id;
	int64		qty;
	char	   *price;			/* as given; NULL: the item's price */
	char	   *item_price;		/* the item's unit price, as text ("" when none) */
	char	   *sku;
	bool		retired;		/* the item takes no new orders */
	bool		substitutes;	/* "substitutes": true (substitute.c) */
} CaptureLine;

extern int	OrderReadCapture(Jsonb *lines, Jsonb *ship_to, const char *channel, const char *external_ref,
							 CaptureLine **out);

#endif							/* ORDER_INPUT_H */
