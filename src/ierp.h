/*-------------------------------------------------------------------------
 *
 * ierp.h
 *	  Shared declarations of inventory_erp: the IE error codes, the stock
 *	  states as C knows them and the lookups every engine uses.
 *
 *-------------------------------------------------------------------------
 */
#ifndef IERP_H
#define IERP_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/date.h"
#include "datatype/timestamp.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
#include "utils/inval.h"
#include "utils/elog.h"

/*
 * SQLSTATE class IE: every refused call raises one of these.  doc/errors.md
 * lists what each means and what to do about it.
 */
#define ERRCODE_IERP_INSUFFICIENT_STOCK		MAKE_SQLSTATE('I','E','0','0','1')
#define ERRCODE_IERP_TRANSITION_NOT_ALLOWED	MAKE_SQLSTATE('I','E','0','0','2')
#define ERRCODE_IERP_UNKNOWN_OBJECT			MAKE_SQLSTATE('I','E','0','0','3')
#define ERRCODE_IERP_INVALID_QUANTITY		MAKE_SQLSTATE('I','E','0','0','4')
#define ERRCODE_IERP_APPEND_ONLY			MAKE_SQLSTATE('I','E','0','0','5')
#define ERRCODE_IERP_INVALID_GTIN			MAKE_SQLSTATE('I','E','0','0','6')
#define ERRCODE_IERP_SCAN_MISMATCH			MAKE_SQLSTATE('I','E','0','0','7')
#define ERRCODE_IERP_RETURN_NOT_ALLOWED		MAKE_SQLSTATE('I','E','0','0','8')
#define ERRCODE_IERP_APPROVAL_REQUIRED		MAKE_SQLSTATE('I','E','0','0','9')
#define ERRCODE_IERP_WRONG_STATUS			MAKE_SQLSTATE('I','E','0','1','0')

/*
 * Stock states, in the order of the erp.stock_state enum.  C code works with
 * these indexes; SQL sees the enum labels.  STATE_OUTSIDE stands for "no state":
 * units entering from, or leaving to, outside the business.
 */
typedef enum StockState
{
	STATE_OUTSIDE = -1,
	STATE_INCOMING = 0,
	STATE_IN_TRANSIT,
	STATE_RETURN_PENDING,
	STATE_AVAILABLE,
	STATE_RESERVED,
	STATE_PICKED,
	STATE_PACKED,
	STATE_INSPECTION,
	STATE_QUARANTINED,
	STATE_DAMAGED,
	STATE_REFURBISH,
	STATE_VENDOR_RETURN,
	NUM_STOCK_STATES
} StockState;

extern const char *StockStateName(StockState state);
extern StockState StockStateFromName(const char *name);
extern StockState StockStateFromDatum(Datum enum_datum);

/* gtin.c: parses a GTIN-8/12/13/14 into its 14-digit value; IE006 or false when invalid */
extern bool GtinParse(const char *str, int64 *result, bool raise_error);

/* settings (variables in settings.c, defined as GUCs in inventory_erp.c) */
extern int	ierp_balance_slots;
extern bool ierp_restore_mode;	/* inventory_erp.restore_mode: rows reloaded by pg_restore are history */

/*
 * lookup.c: SPI plan cache and business-key lookups (all raise IE003 when
 * unknown).  Strings they return (IerpItemSku, IerpNodeCode, ...) are
 * allocated in the current memory context - inside SPI, the one SPI_finish
 * frees: use them before SPI_finish, or copy them out (SPI_palloc/pstrdup in
 * the caller's context).
 */
typedef struct ItemInfo
{
	int64		item_id;
	bool		lot_tracked;
	int32		min_shelf_life_days;
	bool		allow_backorder;
	bool		allow_preorder;
	bool		high_value;
	bool		requires_qc;
	bool		is_kit;
} ItemInfo;

extern SPIPlanPtr IerpPlan(SPIPlanPtr *cache, const char *sql, int nargs, const Oid *argtypes);
/* the first column of the last SPI statement's rows as int64 (plans.c); frees SPI_tuptable */
extern int64 *IerpSpiInt64Column(uint64 *n);
extern void IerpLookupItem(const char *sku, ItemInfo *info);
extern int64 IerpLookupNode(const char *code);
extern int64 IerpLookupChannel(const char *code);
extern int64 IerpLookupLot(int64 item_id, const char *sku, const char *lot_code);
extern int64 IerpEnsureLot(int64 item_id, const char *sku, const char *lot_code, DateADT expires_on,
						   bool has_expiry);
extern char *IerpItemSku(int64 item_id);
extern char *IerpNodeCode(int64 node_id);
extern char *IerpTextArg(FunctionCallInfo fcinfo, int argno);
extern int64 IerpIdArg(FunctionCallInfo fcinfo, int argno, const char *what);
extern char *IerpJsonQuote(const char *s);
/* A single move may not carry more units than this (IE004). */
#define IERP_MAX_MOVE_QTY	INT64CONST(1000000000)
extern void IerpCheckQuantity(int64 qty, const char *sku);
extern int64 IerpParseQuantity(const char *text, const char *sku);
extern bool IerpIsPrice(const char *s);
extern DateADT IerpParseDate(const char *text, const char *what);

/*
 * Bounds every public input is held to (IE004 otherwise).  Texts: a business
 * key or code up to IERP_MAX_KEY_LEN bytes, free text (a ref, a reason, a
 * tracking number) up to IERP_MAX_TEXT_LEN; dates and times finite and within
 * [IERP_MIN_YEAR, IERP_MAX_YEAR]; coordinates real degrees.
 */
#define IERP_MAX_KEY_LEN	64
#define IERP_MAX_TEXT_LEN	1024
#define IERP_MIN_YEAR		1970
#define IERP_MAX_YEAR		9999
extern void IerpCheckText(const char *value, const char *what, int maxlen);
extern void IerpCheckDate(DateADT date, const char *what);
extern void IerpCheckTimestamp(TimestampTz ts, const char *what);
extern void IerpCheckCoordinates(double latitude, double longitude);
/*
 * IerpRowIsHistory: whether a row inserted into rel is history reloaded by
 * pg_restore - true only in restore mode (inventory_erp.restore_mode, which
 * only a superuser can switch on) and when the row carries its id (idcol).
 */
extern bool IerpRowIsHistory(Relation rel, HeapTuple tup, const char *idcol);
extern Oid	IerpRelid(const char *name);
extern Oid	IerpLocalRelid(const char *name);

/*
 * IerpRegisterRelcacheCallback: registers a relcache invalidation callback of
 * one of the module's caches.  settings.c registers one callback with
 * PostgreSQL for all of them: a backend has only 10 relcache callback slots,
 * and Citus takes 5 of them.
 */
extern void IerpRegisterRelcacheCallback(RelcacheCallbackFunction func, Datum arg);

/* atp.c: available-to-promise */
typedef struct NodeStock
{
	int64		node_id;
	char	   *code;
	int32		rank;			/* the channel's rank for the node; 0 without a channel */
	bool		has_coords;
	double		latitude;
	double		longitude;
	int64		promisable;		/* available in lots with enough shelf life */
	int64		safety_stock;
	int64		inbound;		/* incoming + in_transit */
	int64		fence;			/* the item's ring-fences of channels other than the asking one */
	int64		reorder_point;	/* of the node's stock policy; 0 without one */
} NodeStock;

extern int	AtpLoadNodes(int64 item_id, bool lot_tracked, int32 min_shelf_life_days, bool with_inbound,
						 TimestampTz promise_at, int64 channel_id, int64 node_id, NodeStock **nodes);
extern int64 AtpOfNode(const NodeStock *ns, int64 fence);

/* events.c: the outbox erp.event */
extern void EventsInit(void);
extern void EventRecord(const char *kind, int64 item_id, int64 node_id, int64 order_id,
						int64 rma_id, const char *payload_json);
extern void EventRecordDetached(const char *kind, int64 item_id, int64 node_id, int64 order_id,
								int64 rma_id, const char *detail_key, const char *detail, int64 qty);
extern void EventRecordDetachedWith(const char *kind, int64 item_id, int64 node_id, int64 order_id,
									int64 rma_id, const char *detail_key, const char *detail, int64 qty,
									const char *extra_members);

/*
 * The stock kernel (src/stock/kernel.h) is the one way stock moves; the
 * documents include it.  ledger.c holds the generic moves erp.receive and
 * erp.move and the guards of master data.
 */
extern int	ierp_kernel_access;	/* inventory_erp.kernel_access (src/stock/access_path.c) */

/* returns.c */
extern void ReturnsInit(void);

/*
 * access.c: the one partner rule.  Who a session is (IerpSessionIdentity):
 * its login, whatever role it SETs; a superuser's session is taken as the
 * role it acts as (how a DBA looks through a partner's eyes).  A session is
 * a partner when that identity is a member (directly or not, inheriting or
 * not) of a role listed in erp.node_access; it then sees and acts on its
 * nodes only.  Every check below raises IE009 naming the object.
 * AccessCheckNode must run between SPI_connect and SPI_finish (its refusal
 * looks up the node's code); the document checks connect by themselves.
 */
extern void AccessInit(void);
extern Oid	IerpSessionIdentity(void);
extern Datum IerpCallAsOwner(PGFunction body, FunctionCallInfo fcinfo);

/*
 * IerpEntryHook: what runs a public function's body as its owner, when set
 * (idempotency.c sets it at load to replay calls by their idempotency key);
 * a hook rather than a call keeps access.c below the layers that use it.
 */
typedef Datum (*IerpEntryHook) (PGFunction body, FunctionCallInfo fcinfo);
extern IerpEntryHook ierp_entry_hook;

/*
 * IERP_OWNER_ENTRY(name): the SQL-callable entry name runs name_body as the
 * function's owner, recording who called (see IerpCallAsOwner).  The public
 * functions are declared SECURITY INVOKER and get their owner's rights this
 * way, so that the partner and four-eyes rules see a SECURITY DEFINER
 * function of the caller's for what it is.
 */
#define IERP_OWNER_ENTRY(name) \
	static Datum name##_body(PG_FUNCTION_ARGS); \
	PG_FUNCTION_INFO_V1(name); \
	Datum name(PG_FUNCTION_ARGS) { return IerpCallAsOwner(name##_body, fcinfo); } \
	extern int no_such_variable
extern char *IerpActorName(void);
extern bool AccessRestricted(void);
extern bool AccessNodeVisible(int64 node_id);
extern void AccessCheckNode(int64 node_id);
extern void AccessCheckOrder(int64 order_id);
extern void AccessCheckChannel(int64 channel_id);
extern void AccessCheckRma(int64 rma_id);

/*
 * counts.c: the one threshold for on-hand changes outside a document (counts,
 * erp.adjust, erp.move with event adjust or dispose, erp.receive): IE009 when
 * the value |qty_delta| x unit_cost is above the adjustment threshold and the
 * caller is no superuser.
 */
extern void CountsCheckDirectAdjustment(int64 item_id, int64 qty_delta, const char *sku);

#endif							/* IERP_H */
