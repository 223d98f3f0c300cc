/*-------------------------------------------------------------------------
 *
 * order_rows.h
 *	  The rows of a new order (erp.sales_order, erp.order_line,
 *	  erp.reservation) written directly on one node, and the probe that
 *	  tells a new order from a redelivered one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ORDER_ROWS_H
#define ORDER_ROWS_H

#include "ierp.h"

typedef struct NewOrderRow
{
	int64		order_id;
	int64		channel_id;
	const char *external_ref;
	int32		priority;
	Datum		ship_to;		/* jsonb */
	bool		ship_to_null;
	const char *status;
	int64		customer_id;	/* 0: none (NULL) */
	bool		ship_complete;
} NewOrderRow;

typedef struct NewLineRow
{
	int32		line_no;
	int64		item_id;
	int64		qty;
	Datum		unit_price;		/* numeric(14,2), from OrderRowsPrice */
	int64		qty_allocated;
	int64		qty_backordered;
	const char *status;
} NewLineRow;

typedef struct NewReservationRow
{
	int32		line_no;
	int64		item_id;
	int64		node_id;
	int64		lot_id;			/* 0: none */
	int64		qty;
} NewReservationRow;

/*
 * A new order whose rows are not written yet: erp.place_order allocates it
 * first and writes the order, its lines and its reservations once, with
 * their final quantities and statuses.
 */
typedef struct NewOrder
{
	bool		deferred;		/* the rows below are still to be written */
	NewOrderRow order;
	int			nlines;
	NewLineRow *lines;
} NewOrder;

extern bool OrderRowsDirect(void);
extern bool OrderRefTaken(int64 channel_id, const char *external_ref);
extern int64 OrderRowsNextOrderId(void);
extern bool OrderRowsPrice(const char *text, Datum *out);
extern void OrderRowsInsert(const NewOrderRow *order, const NewLineRow *lines, int nlines);
extern void OrderRowsInsertReservations(int64 order_id, const NewReservationRow *rows, int n);
extern void OrderRowsInit(void);

#endif							/* ORDER_ROWS_H */
