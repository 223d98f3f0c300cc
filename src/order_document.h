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
#include "utils/jsonb.h"

/* the order header every step reads when it owns the order */
typedef struct OrderHeader
{
	int64		order_id;
	int64		channel_id;
	char	   *status;
	bool		has_ship_to;
	double		latitude;
	double		longitude;
	bool		ship_complete;	/* reserve nothing until one node can fill it all */
	bool		has_service;	/* erp.order_service has its service level and ship_by */
	bool		held;			/* an erp.order_hold of it is open */
} OrderHeader;

extern void OrderLock(int64 order_id, OrderHeader *order);
extern bool OrderTryLock(int64 order_id, OrderHeader *order);
extern void OrderOwnNew(int64 order_id, int64 channel_id, Jsonb *ship_to, OrderHeader *order);
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
	const char *new_status;		/* set by OrderWriteStatus: the status written */
} LineState;

extern const char *OrderDeriveStatus(const OrderHeader *order, bool allocation_attempted,
									 LineState *lines, int n, int *nwrite);
extern const char *OrderWriteStatus(const OrderHeader *order, bool allocation_attempted,
									LineState *lines, int n);

/*
 * Where erp.allocate and erp.place_order put their rows: one per reservation
 * the order holds after the call, one per line that holds nothing.  With
 * place_order, every row starts with the order id and whether the call
 * created the order.
 */
typedef struct AllocResult
{
	Tuplestorestate *store;
	TupleDesc	desc;
	bool		with_order;		/* place_order's two leading columns */
	bool		created;
} AllocResult;

/* allocate.c: the allocation engine (used by erp.short_pick to allocate again) */
extern int64 AllocateOrder(const OrderHeader *order, int64 exclude_node_id, AllocResult *result);
/* allocate.c: erp.place_order's allocation of a new order whose rows are not written yet */
struct NewOrder;
extern void AllocateNewOrder(const OrderHeader *order, struct NewOrder *fresh, AllocResult *result);
/* allocate.c: erp.allocate's work on an order the caller owns (OrderLock); also erp.place_order's */
extern void AllocateAndReport(const OrderHeader *order, AllocResult *result);

/* order_hold.c: whether an open hold keeps the order from being allocated */
extern bool OrderHoldBlocks(const OrderHeader *order);
extern void OrderHoldRefuse(const OrderHeader *order) pg_attribute_noreturn();
extern void OrderHoldRefuseStep(const OrderHeader *order, const char *step);
/* order_hold.c: the hold a capture's ship_to asks for ({"hold": reason}), or NULL */
extern const char *OrderHoldRequested(Jsonb *ship_to);
extern int64 OrderHoldInsert(int64 order_id, const char *reason, const char *note);

/* service_level.c: an order's service level and ship_by */
extern const char *OrderServiceRequested(Jsonb *ship_to);
extern void OrderServiceRecord(int64 order_id, int64 channel_id, const char *service);
extern bool OrderServiceNodes(int64 order_id, int nnodes, const int64 *node_ids, bool *meets, bool *express);
extern void OrderServiceAllocated(int64 order_id);

extern bool OrderParseCoordinate(const char *text, double *out);

#endif							/* ORDER_DOCUMENT_H */
