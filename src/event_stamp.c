/*-------------------------------------------------------------------------
 *
 * event_stamp.c
 *	  Commit stamps: every transaction that writes erp.event gets one row in
 *	  erp.event_commit, drawn while it commits, in commit order.
 *
 *	  The events of a transaction carry its number, txn_id (the column's
 *	  default, erp.event_txn_id(): one value of erp.event_txn_id_seq per
 *	  transaction).  The row trigger on erp.event notes that number; just
 *	  before the commit (the PRE_COMMIT transaction callback, after every
 *	  deferred trigger has run) the transaction takes the stamp lock, an
 *	  ExclusiveLock on one fixed advisory lock tag of the database, and
 *	  inserts (txn_id, commit_seq from an identity, its xid) into
 *	  erp.event_commit.  A transaction-level lock is released only after the
 *	  commit has become visible (ProcArrayEndTransaction comes first), so the
 *	  next stamp is drawn only once this one's transaction is visible to
 *	  every new snapshot: a snapshot that sees commit_seq N sees every stamp
 *	  below N whose transaction committed.  A transaction that fails after
 *	  stamping (a serialization failure at commit) leaves a gap, never a
 *	  stamp that appears later.  Readers depend on nothing else.
 *
 *	  Why the number and not the xid: a restored dump, or a new cluster,
 *	  hands out the restored events' xids again; the sequence is dumped and
 *	  goes on after them.
 *
 *	  Cost: transactions that write no event pay nothing.  Event-writing
 *	  transactions commit one after another from the stamp to the end of
 *	  their commit (the WAL flush, and a synchronous standby's answer when
 *	  there is one): group commit no longer merges their flushes
 *	  (doc/events.md has the figures).
 *
 *	  Not stamped: a transaction whose events were all rolled back (with the
 *	  subtransaction that wrote them), and rows reloaded by pg_restore (restore mode: the dump brings
 *	  their stamps).  Refused: events of one transaction that carry two
 *	  numbers (IE004; only a hand-written txn_id can), and PREPARE
 *	  TRANSACTION after writing events (a prepared transaction would hold the
 *	  stamp lock, and with it every event writer, until COMMIT PREPARED).
 *	  On a logical replication subscriber the apply worker fires the trigger
 *	  (ENABLE ALWAYS) and stamps the publisher's txn_id locally, in the
 *	  order it applies, which is the publisher's commit order.
 *
 *	  The stamp lock in pg_locks: locktype advisory, classid 1229279824
 *	  ('IERP'), objid 11, objsubid 2.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "ierp.h"
#include "event_stamp.h"

PG_FUNCTION_INFO_V1(ierp_event_txn_id);

/* the stamp lock: an advisory tag no two-int4 advisory lock of an application should use */
#define EVENT_STAMP_LOCK_KEY1	0x49455250	/* 'IERP' */
#define EVENT_STAMP_LOCK_KEY2	11			/* issue 11 */

/* erp.event_txn_id()'s value in the current transaction, 0 before its first call */
static int64 txn_id_of_xact = 0;

/* the number this transaction's events carry, to be stamped at commit; 0: none written */
static int64 txn_id_to_stamp = 0;

/*
 * the subtransaction that holds the events noted (the one that wrote the
 * first, or the parent it was committed into): when it aborts, its events
 * are gone and nothing is stamped
 */
static SubTransactionId stamp_subxact = InvalidSubTransactionId;

/* EventStampForget: a transaction ended; the next one starts with neither number */
static void
EventStampForget(void)
{
	txn_id_of_xact = 0;
	txn_id_to_stamp = 0;
	stamp_subxact = InvalidSubTransactionId;
}

/*
 * EventStampOwner: the owner of erp.event_commit, as whom the stamp is
 * inserted (the committing session may be any role that wrote events
 * through the extension's functions).
 */
static Oid
EventStampOwner(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	Oid			owner;

	if (!RelationIsValid(rel))
		elog(ERROR, "inventory_erp: erp.event_commit could not be opened");
	owner = rel->rd_rel->relowner;
	RelationClose(rel);
	return owner;
}

/*
 * EventStampCommit: draws this transaction's stamp under the stamp lock,
 * which stays held until the commit is visible.
 */
static void
EventStampCommit(int64 txn_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[1] = {INT8OID};
	LOCKTAG		tag;
	Oid			relid = IerpRelid("event_commit");
	Oid			save_user;
	int			save_sec;
	Datum		values[1];

	if (!OidIsValid(relid))
		elog(ERROR, "inventory_erp: erp.event_commit does not exist");

	/*
	 * The lock NOTIFY takes at commit (async.c's PreCommit_Notify) first:
	 * every event-writing transaction notifies, so it commits one at a time
	 * behind that lock anyway, and waiters then queue on one lock instead of
	 * two (measured: half the throughput otherwise).  Correctness rests on
	 * the stamp lock alone.
	 */
	LockSharedObject(DatabaseRelationId, InvalidOid, 0, AccessExclusiveLock);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, EVENT_STAMP_LOCK_KEY1, EVENT_STAMP_LOCK_KEY2, 2);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(EventStampOwner(relid), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "inventory_erp: SPI_connect failed while stamping events");
		IerpPlan(&plan,
				 "INSERT INTO erp.event_commit (txn_id, xid)"
				 " VALUES ($1, pg_catalog.pg_current_xact_id())", 1, argtypes);
		values[0] = Int64GetDatum(txn_id);
		if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT || SPI_processed != 1)
			elog(ERROR, "inventory_erp: the commit stamp of transaction " INT64_FORMAT " was not written",
				 txn_id);
		SPI_finish();
	}
	PG_FINALLY();
	{
		PopActiveSnapshot();
		SetUserIdAndSecContext(save_user, save_sec);
	}
	PG_END_TRY();
}

/* the transaction callback: stamps before the commit, refuses PREPARE, forgets at the end */
static void
EventStampXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (txn_id_to_stamp != 0)
			{
				int64		txn_id = txn_id_to_stamp;

				txn_id_to_stamp = 0;
				EventStampCommit(txn_id);
			}
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (txn_id_to_stamp != 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that wrote erp.event"),
						 errdetail("Events are stamped in commit order while their transaction commits; "
								   "a prepared transaction would hold up every other event writer until "
								   "COMMIT PREPARED.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			EventStampForget();
			break;
		default:
			break;
	}
}

/*
 * the subtransaction callback: the noted events move to the parent when their
 * subtransaction commits, and are forgotten when it aborts (a savepoint
 * rolled back, a PL/pgSQL exception block): a transaction whose events were
 * all rolled back draws no stamp.
 */
static void
EventStampSubXactCallback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
						  void *arg)
{
	if (txn_id_to_stamp == 0 || mySubid != stamp_subxact)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
		stamp_subxact = parentSubid;
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		txn_id_to_stamp = 0;
		stamp_subxact = InvalidSubTransactionId;
	}
}

/* EventStampInit: registers the transaction callbacks (called by EventsInit). */
void
EventStampInit(void)
{
	RegisterXactCallback(EventStampXactCallback, NULL);
	RegisterSubXactCallback(EventStampSubXactCallback, NULL);
}

/*
 * EventStampNote: the erp.event row trigger saw an event of txn_id in this
 * transaction: stamp it at commit.  Refuses (IE004) a second number in one
 * transaction, which only a hand-written txn_id can bring.
 */
void
EventStampNote(int64 txn_id)
{
	if (txn_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid txn_id " INT64_FORMAT " of an event", txn_id),
				 errdetail("Leave txn_id to its default, erp.event_txn_id().")));
	if (txn_id_to_stamp == 0)
	{
		txn_id_to_stamp = txn_id;
		stamp_subxact = GetCurrentSubTransactionId();
	}
	else if (txn_id_to_stamp != txn_id)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("events of one transaction carry txn_id " INT64_FORMAT " and " INT64_FORMAT,
						txn_id_to_stamp, txn_id),
				 errdetail("A transaction's events are stamped together, under one number."),
				 errhint("Leave txn_id to its default, erp.event_txn_id().")));
}

/*
 * erp.event_txn_id(): the current transaction's number for the events it
 * writes: the next value of erp.event_txn_id_seq at the first call in the
 * transaction, the same value at every later call.
 */
Datum
ierp_event_txn_id(PG_FUNCTION_ARGS)
{
	if (txn_id_of_xact == 0)
	{
		Oid			seq = IerpRelid("event_txn_id_seq");

		if (!OidIsValid(seq))
			elog(ERROR, "inventory_erp: erp.event_txn_id_seq does not exist");
		txn_id_of_xact = nextval_internal(seq, false);
	}
	PG_RETURN_INT64(txn_id_of_xact);
}
