/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The outbox erp.event: recording business events, announcing each one
 *	  with NOTIFY erp_event (payload {"id", "kind", "node_id"}: facts to
 *	  filter on, nothing more) when the transaction that wrote it commits,
 *	  noting the transaction for its commit stamp (event_stamp.c; read
 *	  exactly once with event_consumer.c), and recording the events that
 *	  must survive the refusal they accompany.
 *
 *	  A refused call (a wrong item scanned at a pick, a sku received that is
 *	  not on the RMA) raises an error, which rolls back everything its
 *	  transaction wrote; yet the exception itself happened on the warehouse
 *	  floor and must be kept.  EventRecordDetached() hands such an event to a
 *	  short-lived background worker that inserts and commits it on its own
 *	  connection (its commit sends the NOTIFY), and returns only once that
 *	  worker has reported the commit.  The worker writes only erp.event,
 *	  which carries no foreign keys, and otherwise only reads (plain
 *	  selects, no row locks), so it never waits for a lock the caller holds
 *	  short of a table lock taken by hand.
 *
 *	  No event is lost for want of a worker slot.  The event travels in a
 *	  dynamic shared memory segment of the caller (not in bgw_extra, so the
 *	  detail is not cut to fit), and when every background worker slot is in
 *	  use (parallel queries, replication, other extensions) the caller waits
 *	  on its latch and tries again until a slot frees, for at most
 *	  inventory_erp.event_wait_timeout.  Parallel queries never wait for
 *	  slots and finish on their own, so a wait ends; and when
 *	  max_parallel_workers is below max_worker_processes they can never take
 *	  the last slots at all.  When an event truly cannot be written (the
 *	  wait timed out, the writer failed: its error is passed back), the
 *	  caller's refusal itself says that the event was NOT recorded, a WARNING
 *	  names the event's facts, and EventRecordDetached never returns: a
 *	  caller's hint that the exception "is recorded" is only reached when it
 *	  is.
 *
 *	  We chose waiting over a persistent writer (a static background worker
 *	  serving a shared-memory queue) because it needs no
 *	  shared_preload_libraries, no per-database writer, and no second code
 *	  path; its one limit, a slot held for longer than the timeout by
 *	  something other than a query, ends in a refusal that says so.
 *
 *	  A cancel does not lose the event.  Handhelds and web clients set a
 *	  statement_timeout of a few seconds, and a wait for a slot can outlast
 *	  it; so the caller waits (for the slot and for the writer) with query
 *	  cancel interrupts held off.  A statement timeout or pg_cancel_backend
 *	  that arrives meanwhile stays pending: the caller's IE007, which follows
 *	  the commit at once, ends the statement, and a caller that catches it
 *	  meets the pending cancel at its next interrupt check.  The delay is
 *	  bounded by inventory_erp.event_wait_timeout (with 0, no limit, a cancel
 *	  waits as long as the event does).  A termination (pg_terminate_backend,
 *	  shutdown) or the postmaster's death still ends the wait at once; the
 *	  error's context then says the event may not have been recorded (the
 *	  writer, once started, finishes and commits on its own).
 *
 *	  An event never names a row that will never have existed.  erp.event
 *	  has no foreign keys, and the caller's transaction rolls back after the
 *	  refusal; when that transaction itself created the order, RMA, item or
 *	  node the event is about (capture, allocate and a wrong scan in one
 *	  BEGIN ... ROLLBACK), the id would name nothing.  The writer runs in its
 *	  own transaction and sees only committed rows, so it looks each id up:
 *	  an id it cannot see is stored as NULL and kept in the payload as
 *	  "uncommitted_order_id" (rma, item, node alike).  The exception is kept
 *	  all the same; should the caller catch the refusal and commit after all,
 *	  the payload key names the (now real) row.
 *
 *	  Text that reaches an event is valid in the database encoding and
 *	  bounded: a detail is cut to its valid prefix and then at a character
 *	  boundary (pg_mbcliplen), never inside a multibyte character.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "ierp.h"
#include "event_stamp.h"

PG_FUNCTION_INFO_V1(ierp_event_notify);

PGDLLEXPORT void ierp_event_worker_main(Datum main_arg);

/* called from _PG_init (and, until it is, on first use): defines the settings */

/* inventory_erp.event_wait_timeout: how long a detached event may wait, in ms (0: no limit) */
static int	event_wait_timeout = 300000;

/* how often a caller waiting for a free worker slot tries again */
#define EVENT_SLOT_RETRY_MS		10

/* the longest detail a detached event keeps, in bytes */
#define EVENT_MAX_DETAIL_LEN	IERP_MAX_TEXT_LEN

/* the longest extra payload members of a detached event, in bytes (callers bound theirs) */
#define EVENT_MAX_EXTRA_LEN		65536

/* the longest kind and detail key (internal names, never user input) */
#define EVENT_MAX_NAME_LEN		(NAMEDATALEN - 1)

/* where the writer's error is passed back to the caller */
#define EVENT_MAX_ERROR_LEN		512

typedef enum DetachedEventState
{
	DETACHED_PENDING = 0,		/* not written (yet) */
	DETACHED_RECORDED,			/* committed; event_id is set */
	DETACHED_FAILED				/* the writer failed; error says why */
} DetachedEventState;

/*
 * A detached event in the caller's dynamic shared memory segment: the facts
 * the caller fills in, and the outcome the worker writes back.
 */
typedef struct DetachedEvent
{
	Oid			database_id;
	Oid			role_id;
	int64		item_id;
	int64		node_id;
	int64		order_id;
	int64		rma_id;
	int64		qty;
	char		kind[EVENT_MAX_NAME_LEN + 1];
	char		detail_key[EVENT_MAX_NAME_LEN + 1];
	char		detail[EVENT_MAX_DETAIL_LEN + 1];
	char		extra[EVENT_MAX_EXTRA_LEN + 1];	/* more payload members, or "" */

	slock_t		mutex;			/* protects the outcome below */
	DetachedEventState state;
	int64		event_id;
	char		error[EVENT_MAX_ERROR_LEN];
} DetachedEvent;

static const Oid event_argtypes[] = {TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID};

#define EVENT_INSERT_SQL \
	"INSERT INTO erp.event (kind, item_id, node_id, order_id, rma_id, payload)" \
	" VALUES ($1, NULLIF($2, 0), NULLIF($3, 0), NULLIF($4, 0), NULLIF($5, 0), $6::pg_catalog.jsonb)" \
	" RETURNING event_id"

/* EventsInit: defines inventory_erp.event_wait_timeout and sets up commit stamps (called by _PG_init). */
void
EventsInit(void)
{
	DefineCustomIntVariable("inventory_erp.event_wait_timeout",
							"How long a refused call waits to record its exception event (0: no limit).",
							"A pick exception or return discrepancy is written by a background worker; "
							"when every worker slot is in use the call waits for one, then refuses "
							"saying the event was not recorded.",
							&event_wait_timeout,
							300000, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	EventStampInit();
}

/*
 * EventClipText: the longest prefix of s, valid in the database encoding,
 * of at most maxlen bytes and ending at a character boundary, as a new
 * string.  NULL counts as empty.
 */
static char *
EventClipText(const char *s, int maxlen)
{
	int			len;

	if (s == NULL)
		return pstrdup("");
	len = strnlen(s, (size_t) maxlen + MAX_MULTIBYTE_CHAR_LEN);
	len = pg_encoding_verifymbstr(GetDatabaseEncoding(), s, len);
	len = pg_mbcliplen(s, len, maxlen);
	return pnstrdup(s, len);
}

/*
 * EventRecord: appends an event in the current transaction (it is announced,
 * and visible, when the transaction commits).  payload_json may be NULL; it
 * must be valid JSON in the database encoding (22021 when it is not: an event
 * with broken text would break every restore of erp.event).
 */
void
EventRecord(const char *kind, int64 item_id, int64 node_id, int64 order_id, int64 rma_id,
			const char *payload_json)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];
	const char *payload = payload_json ? payload_json : "{}";

	pg_verifymbstr(payload, strlen(payload), false);
	IerpPlan(&plan, EVENT_INSERT_SQL, 6, event_argtypes);
	values[0] = CStringGetTextDatum(kind);
	values[1] = Int64GetDatum(item_id);
	values[2] = Int64GetDatum(node_id);
	values[3] = Int64GetDatum(order_id);
	values[4] = Int64GetDatum(rma_id);
	values[5] = CStringGetTextDatum(payload);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "inventory_erp: insert of a %s event failed", kind);
}

/* EventFacts: the facts of a detached event, for the messages that name it. */
static char *
EventFacts(const DetachedEvent *ev)
{
	return psprintf("order " INT64_FORMAT ", rma " INT64_FORMAT ", item " INT64_FORMAT
					", node " INT64_FORMAT ", %s \"%s\", qty " INT64_FORMAT,
					ev->order_id, ev->rma_id, ev->item_id, ev->node_id,
					ev->detail_key, ev->detail, ev->qty);
}

/*
 * EventNotRecorded: the refusal when a detached event could not be written:
 * a WARNING naming the event (it also reaches the server log), then IE007
 * saying so, with why.
 */
static void
pg_attribute_noreturn()
EventNotRecorded(const DetachedEvent *ev, const char *why, bool for_want_of_slot)
{
	char	   *facts = EventFacts(ev);

	ereport(WARNING,
			(errmsg("inventory_erp: %s event NOT recorded in erp.event: %s", ev->kind, facts),
			 errdetail("The event was not recorded because %s", why)));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_SCAN_MISMATCH),
			 errmsg("%s refused, and its %s event could not be recorded in erp.event",
					ev->rma_id ? psprintf("receipt for rma " INT64_FORMAT, ev->rma_id)
					: psprintf("scan for order " INT64_FORMAT, ev->order_id), ev->kind),
			 errdetail("The event (%s) was not recorded because %s", facts, why),
			 for_want_of_slot
			 ? errhint("Report the exception by hand; raise inventory_erp.event_wait_timeout, or "
					   "max_worker_processes above max_parallel_workers, so that a slot frees in time.")
			 : errhint("Report the exception by hand; the server log has the event writer's error.")));
}

/* the context line of any error (a cancel, a timeout) while waiting for the writer */
static void
EventWaitContext(void *arg)
{
	const DetachedEvent *ev = (const DetachedEvent *) arg;

	errcontext("while recording a %s event (%s); it may not have been recorded",
			   ev->kind, EventFacts(ev));
}

/* EventWaitMs: milliseconds left until deadline (0 = none: a long wait), at least 1 */
static long
EventWaitMs(TimestampTz deadline, long cap)
{
	long		ms;

	if (deadline == 0)
		return cap;
	ms = (long) ((deadline - GetCurrentTimestamp()) / 1000);
	return Max(1, Min(ms, cap));
}

/*
 * EventRecordDetached: records an event that is kept even when the caller's
 * transaction rolls back (as it will: the caller is about to refuse with
 * IE007).  The payload is {detail_key: detail, "qty": qty}, plus
 * "uncommitted_<what>_id" for each id whose row the writer cannot see (see
 * the file header); detail keeps at most EVENT_MAX_DETAIL_LEN bytes, cut at
 * a character boundary.  Query cancel is held off while it waits.  Returns
 * once the event is committed; waits for a worker slot when none is free
 * (up to inventory_erp.event_wait_timeout).  When the event cannot be
 * written it refuses itself with IE007 saying so and never returns.
 */
void
EventRecordDetached(const char *kind, int64 item_id, int64 node_id, int64 order_id,
					int64 rma_id, const char *detail_key, const char *detail, int64 qty)
{
	EventRecordDetachedWith(kind, item_id, node_id, order_id, rma_id, detail_key, detail, qty, NULL);
}

/*
 * EventRecordDetachedWith: EventRecordDetached whose payload also carries
 * extra_members (NULL: none): JSON object members ("key": value, ...) the
 * caller builds and bounds (at most EVENT_MAX_EXTRA_LEN bytes, valid in the
 * database encoding), e.g. a pick exception's order lines.
 */
void
EventRecordDetachedWith(const char *kind, int64 item_id, int64 node_id, int64 order_id,
						int64 rma_id, const char *detail_key, const char *detail, int64 qty,
						const char *extra_members)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle = NULL;
	dsm_segment *seg;
	DetachedEvent *ev;
	ErrorContextCallback errcallback;
	TimestampTz deadline;
	BgwHandleStatus status;
	DetachedEventState state;
	volatile bool no_slot = false;
	pid_t		pid;
	char	   *clipped;

	if (strlen(kind) > EVENT_MAX_NAME_LEN || strlen(detail_key) > EVENT_MAX_NAME_LEN)
		elog(ERROR, "inventory_erp: event kind or detail key too long");
	if (extra_members != NULL && strlen(extra_members) > EVENT_MAX_EXTRA_LEN)
		elog(ERROR, "inventory_erp: extra payload of a %s event too long", kind);
	if (extra_members != NULL)
		pg_verifymbstr(extra_members, strlen(extra_members), false);

	seg = dsm_create(sizeof(DetachedEvent), 0);
	ev = (DetachedEvent *) dsm_segment_address(seg);
	memset(ev, 0, sizeof(DetachedEvent));
	ev->database_id = MyDatabaseId;
	ev->role_id = GetUserId();
	ev->item_id = item_id;
	ev->node_id = node_id;
	ev->order_id = order_id;
	ev->rma_id = rma_id;
	ev->qty = qty;
	strlcpy(ev->kind, kind, sizeof(ev->kind));
	strlcpy(ev->detail_key, detail_key, sizeof(ev->detail_key));
	clipped = EventClipText(detail, EVENT_MAX_DETAIL_LEN);
	strlcpy(ev->detail, clipped, sizeof(ev->detail));
	if (extra_members != NULL)
		strlcpy(ev->extra, extra_members, sizeof(ev->extra));
	SpinLockInit(&ev->mutex);
	ev->state = DETACHED_PENDING;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "inventory_erp", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "ierp_event_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "inventory_erp event writer", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "inventory_erp event writer", BGW_MAXLEN);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	deadline = event_wait_timeout > 0
		? TimestampTzPlusMilliseconds(GetCurrentTimestamp(), event_wait_timeout) : 0;

	/* a standby starts no writer before promotion: say so rather than wait */
	if (RecoveryInProgress())
		EventNotRecorded(ev, pstrdup("the server is a standby in recovery."), false);

	/*
	 * Wait for a slot and for the writer with query cancel held off: a
	 * statement_timeout or pg_cancel_backend that arrives meanwhile stays
	 * pending and takes effect at the first interrupt check after the wait
	 * (the caller's refusal, which follows at once, ends the statement
	 * first).  The wait stays bounded by inventory_erp.event_wait_timeout; a
	 * termination still interrupts it, and the error context then says the
	 * event may not have been recorded.
	 */
	HOLD_CANCEL_INTERRUPTS();
	PG_TRY();
	{
		errcallback.callback = EventWaitContext;
		errcallback.arg = ev;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;

		/* a worker slot: when none is free, wait and try again */
		while (!RegisterDynamicBackgroundWorker(&worker, &handle))
		{
			handle = NULL;
			if (deadline != 0 && GetCurrentTimestamp() >= deadline)
			{
				no_slot = true;
				break;
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 EventWaitMs(deadline, EVENT_SLOT_RETRY_MS), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}

		/* the writer: the postmaster sets our latch when it starts and when it stops */
		for (status = BGWH_STOPPED; !no_slot;)
		{
			status = GetBackgroundWorkerPid(handle, &pid);
			if (status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED)
				break;
			if (deadline != 0 && GetCurrentTimestamp() >= deadline)
			{
				/* stop it; it may still have committed, which the state below tells */
				TerminateBackgroundWorker(handle);
				status = WaitForBackgroundWorkerShutdown(handle);
				break;
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 EventWaitMs(deadline, 1000), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		error_context_stack = errcallback.previous;
	}
	PG_FINALLY();
	{
		RESUME_CANCEL_INTERRUPTS();
	}
	PG_END_TRY();

	if (no_slot)
		EventNotRecorded(ev, psprintf("no background worker slot became free within %d ms "
									  "(max_worker_processes is %d).",
									  event_wait_timeout, max_worker_processes), true);

	SpinLockAcquire(&ev->mutex);
	state = ev->state;
	SpinLockRelease(&ev->mutex);

	if (state == DETACHED_FAILED)
		EventNotRecorded(ev, psprintf("the event writer failed: %s.", ev->error), false);
	if (state != DETACHED_RECORDED)
	{
		bool		timed_out = deadline != 0 && GetCurrentTimestamp() >= deadline;

		if (status == BGWH_POSTMASTER_DIED)
			EventNotRecorded(ev, pstrdup("the server is shutting down."), false);
		if (timed_out)
			EventNotRecorded(ev, psprintf("the event writer did not finish within %d ms.",
										  event_wait_timeout), true);
		EventNotRecorded(ev, pstrdup("the event writer stopped without recording it."), false);
	}
	dsm_detach(seg);
}

/* EventWriterOutcome: the worker's report to the caller's segment. */
static void
EventWriterOutcome(DetachedEvent *ev, DetachedEventState state, int64 event_id, const char *error)
{
	SpinLockAcquire(&ev->mutex);
	ev->state = state;
	ev->event_id = event_id;
	if (error)
		strlcpy(ev->error, error, sizeof(ev->error));
	SpinLockRelease(&ev->mutex);
}

/*
 * EventWriterCommittedId: id when the row it names (an item, node, order or
 * rma) exists for the writer, which sees only committed rows; otherwise 0
 * (stored as NULL), and the id goes into the payload as
 * "uncommitted_<what>_id" (payload is an open JSON object).  Such a row was
 * written by the caller's own transaction, which is about to roll back: an
 * event must not name a row that will never have existed.
 */
static int64
EventWriterCommittedId(StringInfo payload, const char *what, int64 id)
{
	char	   *sql;
	Datum		value[1];
	Oid			argtype[1] = {INT8OID};

	if (id == 0)
		return 0;
	sql = psprintf("SELECT 1 FROM erp.%s WHERE %s_id OPERATOR(pg_catalog.=) $1",
				   strcmp(what, "order") == 0 ? "sales_order" : what, what);
	value[0] = Int64GetDatum(id);
	if (SPI_execute_with_args(sql, 1, argtype, value, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: event writer lookup of %s " INT64_FORMAT " failed", what, id);
	if (SPI_processed == 1)
		return id;
	appendStringInfo(payload, ", \"uncommitted_%s_id\": " INT64_FORMAT, what, id);
	return 0;
}

/*
 * The background worker behind EventRecordDetached: one insert, one commit
 * (which sends the NOTIFY), and the outcome written back to the caller's
 * segment.  An error is passed back, and then logged as the worker exits.
 */
void
ierp_event_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	DetachedEvent *ev;
	Datum		values[6];
	StringInfoData payload;
	bool		isnull;
	int64		event_id;
	int64		item_id,
				node_id,
				order_id,
				rma_id;

	/* a SIGTERM (the caller gave up) cancels at the next interrupt check */
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		proc_exit(0);			/* the caller is gone, and has said so */
	ev = (DetachedEvent *) dsm_segment_address(seg);

	PG_TRY();
	{
		BackgroundWorkerInitializeConnectionByOid(ev->database_id, ev->role_id, 0);

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed in event writer");
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "recording an inventory_erp event");

		initStringInfo(&payload);
		appendStringInfoChar(&payload, '{');
		escape_json(&payload, ev->detail_key);
		appendStringInfoString(&payload, ": ");
		escape_json(&payload, ev->detail);
		appendStringInfo(&payload, ", \"qty\": " INT64_FORMAT, ev->qty);
		if (ev->extra[0] != '\0')
			appendStringInfo(&payload, ", %s", ev->extra);
		item_id = EventWriterCommittedId(&payload, "item", ev->item_id);
		node_id = EventWriterCommittedId(&payload, "node", ev->node_id);
		order_id = EventWriterCommittedId(&payload, "order", ev->order_id);
		rma_id = EventWriterCommittedId(&payload, "rma", ev->rma_id);
		appendStringInfoChar(&payload, '}');

		values[0] = CStringGetTextDatum(ev->kind);
		values[1] = Int64GetDatum(item_id);
		values[2] = Int64GetDatum(node_id);
		values[3] = Int64GetDatum(order_id);
		values[4] = Int64GetDatum(rma_id);
		values[5] = CStringGetTextDatum(payload.data);
		if (SPI_execute_with_args(EVENT_INSERT_SQL, 6, (Oid *) event_argtypes, values, NULL,
								  false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			elog(ERROR, "inventory_erp: event writer insert failed");
		event_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
											   &isnull));

		SPI_finish();
		PopActiveSnapshot();
		HOLD_INTERRUPTS();
		CommitTransactionCommand();
		EventWriterOutcome(ev, DETACHED_RECORDED, event_id, NULL);
		RESUME_INTERRUPTS();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		EventWriterOutcome(ev, DETACHED_FAILED, 0, edata->message);
		PG_RE_THROW();
	}
	PG_END_TRY();

	pgstat_report_activity(STATE_IDLE, NULL);
	dsm_detach(seg);
	proc_exit(0);
}

/*
 * EventNotifyPayload: the NOTIFY payload of an event: {"id": .., "kind": ..,
 * "node_id": ..} (node_id null for an event about no node).  Facts a
 * listener filters on and nothing more (see ierp_event_notify); a kind is
 * cut at EVENT_MAX_NAME_LEN bytes, at a character boundary.
 */
static char *
EventNotifyPayload(int64 event_id, const char *kind, bool has_node, int64 node_id)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"id\": " INT64_FORMAT ", \"kind\": ", event_id);
	escape_json(&buf, EventClipText(kind, EVENT_MAX_NAME_LEN));
	if (has_node)
		appendStringInfo(&buf, ", \"node_id\": " INT64_FORMAT "}", node_id);
	else
		appendStringInfoString(&buf, ", \"node_id\": null}");
	return buf.data;
}

/* EventColumn: a column of the new erp.event row, by name */
static Datum
EventColumn(TriggerData *trigdata, const char *name, bool *isnull)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	int			attno = SPI_fnumber(desc, name);

	if (attno <= 0)
		elog(ERROR, "inventory_erp: erp.event has no column %s", name);
	return heap_getattr(trigdata->tg_trigtuple, attno, desc, isnull);
}

/*
 * ierp_event_notify: AFTER INSERT row trigger on erp.event, in whichever
 * transaction writes the event (a function's, the detached writer's, an
 * owner's own INSERT, a subscriber's apply worker: ENABLE ALWAYS), so that
 * every path is covered:
 *  - NOTIFY erp_event with {"id", "kind", "node_id"}, delivered when the
 *    transaction commits.  LISTEN cannot be restricted, so a notification
 *    carries no quantity, sku or code: consumers read those from erp.event
 *    under their own rights (row level security).
 *  - notes the row's txn_id for the transaction's commit stamp
 *    (event_stamp.c), except for rows reloaded by pg_restore, whose stamps
 *    the dump brings.
 */
Datum
ierp_event_notify(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	bool		no_node;
	Datum		id;
	Datum		kind;
	Datum		node;
	Datum		txn;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_event_notify must be an AFTER INSERT row trigger");
	id = EventColumn(trigdata, "event_id", &isnull);
	if (isnull)
		elog(ERROR, "inventory_erp: erp.event row without an event_id");
	kind = EventColumn(trigdata, "kind", &isnull);
	if (isnull)
		elog(ERROR, "inventory_erp: erp.event row without a kind");
	node = EventColumn(trigdata, "node_id", &no_node);
	txn = EventColumn(trigdata, "txn_id", &isnull);
	if (isnull)
		elog(ERROR, "inventory_erp: erp.event row without a txn_id");

	Async_Notify("erp_event", EventNotifyPayload(DatumGetInt64(id), TextDatumGetCString(kind),
												 !no_node, no_node ? 0 : DatumGetInt64(node)));
	if (!IerpRowIsHistory(trigdata->tg_relation, trigdata->tg_trigtuple, "event_id"))
		EventStampNote(DatumGetInt64(txn));
	return PointerGetDatum(trigdata->tg_trigtuple);
}
