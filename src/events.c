/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The outbox erp.event: recording business events, announcing each one
 *	  with NOTIFY erp_event at commit, and recording the events that must
 *	  survive the refusal they accompany.
 *
 *	  A refused call (a wrong item scanned at a pick, a sku received that is
 *	  not on the RMA) raises an error, which rolls back everything its
 *	  transaction wrote; yet the exception itself happened on the warehouse
 *	  floor and must be kept.  EventRecordDetached() hands such an event to a
 *	  short-lived background worker that inserts and commits it on its own
 *	  connection, and waits for it before the caller raises its error.  The
 *	  worker touches only erp.event, which carries no foreign keys, so it can
 *	  never wait for a lock the caller holds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "ierp.h"

PG_FUNCTION_INFO_V1(ierp_event_notify);

PGDLLEXPORT void ierp_event_worker_main(Datum main_arg);

/* What a detached event carries to its worker; fits in bgw_extra. */
typedef struct DetachedEvent
{
	int64		item_id;
	int64		node_id;
	int64		order_id;
	int64		rma_id;
	int64		qty;
	Oid			role_id;
	char		kind[28];
	char		detail_key[12];
	char		detail[40];
} DetachedEvent;

StaticAssertDecl(sizeof(DetachedEvent) <= BGW_EXTRALEN, "DetachedEvent must fit in bgw_extra");

static const Oid event_argtypes[] = {TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID};

#define EVENT_INSERT_SQL \
	"INSERT INTO erp.event (kind, item_id, node_id, order_id, rma_id, payload)" \
	" VALUES ($1, NULLIF($2, 0), NULLIF($3, 0), NULLIF($4, 0), NULLIF($5, 0), $6::pg_catalog.jsonb)"

/*
 * EventRecord: appends an event in the current transaction (it is announced,
 * and visible, when the transaction commits).  payload_json may be NULL.
 */
void
EventRecord(const char *kind, int64 item_id, int64 node_id, int64 order_id, int64 rma_id,
			const char *payload_json)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[6];

	IerpPlan(&plan, EVENT_INSERT_SQL, 6, event_argtypes);
	values[0] = CStringGetTextDatum(kind);
	values[1] = Int64GetDatum(item_id);
	values[2] = Int64GetDatum(node_id);
	values[3] = Int64GetDatum(order_id);
	values[4] = Int64GetDatum(rma_id);
	values[5] = CStringGetTextDatum(payload_json ? payload_json : "{}");
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: event insert failed");
}

/*
 * EventRecordDetached: records an event that is kept even when the caller's
 * transaction rolls back (as it will: the caller is about to refuse).  The
 * payload is {detail_key: detail, "qty": qty}; detail is cut to 39 bytes.
 * If no background worker can be started the event goes to the server log.
 */
void
EventRecordDetached(const char *kind, int64 item_id, int64 node_id, int64 order_id,
					int64 rma_id, const char *detail_key, const char *detail, int64 qty)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	DetachedEvent ev;
	pid_t		pid;

	memset(&ev, 0, sizeof(ev));
	ev.item_id = item_id;
	ev.node_id = node_id;
	ev.order_id = order_id;
	ev.rma_id = rma_id;
	ev.qty = qty;
	ev.role_id = GetUserId();
	strlcpy(ev.kind, kind, sizeof(ev.kind));
	strlcpy(ev.detail_key, detail_key, sizeof(ev.detail_key));
	strlcpy(ev.detail, detail ? detail : "", sizeof(ev.detail));

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "inventory_erp", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "ierp_event_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "inventory_erp event writer", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "inventory_erp event writer", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = MyProcPid;
	memcpy(worker.bgw_extra, &ev, sizeof(ev));

	if (!RegisterDynamicBackgroundWorker(&worker, &handle) ||
		WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED ||
		WaitForBackgroundWorkerShutdown(handle) != BGWH_STOPPED)
		ereport(WARNING,
				(errmsg("inventory_erp: could not record %s event in erp.event; kept here instead:"
						" order " INT64_FORMAT ", rma " INT64_FORMAT ", item " INT64_FORMAT ", %s \"%s\", qty " INT64_FORMAT,
						kind, order_id, rma_id, item_id, ev.detail_key, ev.detail, qty),
				 errhint("Raise max_worker_processes if background worker slots run out.")));
}

/* The background worker behind EventRecordDetached: one insert, one commit. */
void
ierp_event_worker_main(Datum main_arg)
{
	DetachedEvent ev;
	Datum		values[6];

	memcpy(&ev, MyBgworkerEntry->bgw_extra, sizeof(ev));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), ev.role_id, 0);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed in event writer");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "recording an inventory_erp event");

	values[0] = CStringGetTextDatum(ev.kind);
	values[1] = Int64GetDatum(ev.item_id);
	values[2] = Int64GetDatum(ev.node_id);
	values[3] = Int64GetDatum(ev.order_id);
	values[4] = Int64GetDatum(ev.rma_id);
	values[5] = CStringGetTextDatum(psprintf("{%s: %s, \"qty\": " INT64_FORMAT "}",
											 IerpJsonQuote(ev.detail_key), IerpJsonQuote(ev.detail),
											 ev.qty));
	if (SPI_execute_with_args(EVENT_INSERT_SQL, 6, (Oid *) event_argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: event writer insert failed");

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

/* ierp_event_notify: AFTER INSERT row trigger on erp.event: NOTIFY erp_event, '<event_id>'. */
Datum
ierp_event_notify(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	Datum		id;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "inventory_erp: ierp_event_notify must be a row trigger");
	id = heap_getattr(trigdata->tg_trigtuple, 1, trigdata->tg_relation->rd_att, &isnull);
	if (!isnull)
		Async_Notify("erp_event", psprintf(INT64_FORMAT, DatumGetInt64(id)));
	return PointerGetDatum(trigdata->tg_trigtuple);
}
