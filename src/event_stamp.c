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
 *	  order it applies, which is the publisher's commit order; the initial
 *	  copy of a subscription stamps the copied transactions at once, in
 *	  txn_id order (all were committed before).
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
#include "commands/trigger.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "ierp.h"
#include "event_stamp.h"

PG_FUNCTION_INFO_V1(ierp_event_txn_id);

/* the stamp lock: an advisory tag no two-int4 advisory lock of an application should use */
#define EVENT_STAMP_LOCK_KEY1	0x49455250	/* 'IERP' */
#define EVENT_STAMP_LOCK_KEY2	11			/* issue 11 */

/* erp.event_txn_id()'s value in the current transaction, 0 before its first call */
static int64 txn_id_of_xact = 0;

/*
 * The numbers this transaction's events carry, to be stamped at commit, each
 * with the subtransaction that holds its events (the one that wrote the first,
 * or the parent it was committed into): when that subtransaction aborts, its
 * events are gone and the number is not stamped.  One number in an ordinary
 * transaction; several only for rows that arrive as a replica's (a
 * subscription's initial copy brings many transactions' events at once).
 * Kept in TopTransactionContext.
 */
typedef struct StampNote
{
	int64		txn_id;
	SubTransactionId subxact;
} StampNote;

static StampNote *stamp_notes = NULL;
static int	stamp_count = 0;
static int	stamp_space = 0;

/* EventStampForget: a transaction ended; the next one starts with neither number */
static void
EventStampForget(void)
{
	txn_id_of_xact = 0;
	stamp_notes = NULL;			/* freed with TopTransactionContext */
	stamp_count = 0;
	stamp_space = 0;
}

/* EventStampCompare: txn_id order, in which several numbers are stamped */
static int
EventStampCompare(const void *a, const void *b)
{
	int64		x = ((const StampNote *) a)->txn_id;
	int64		y = ((const StampNote *) b)->txn_id;

	return x < y ? -1 : x > y ? 1 : 0;
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
			if (stamp_count > 0)
			{
				int			n = stamp_count;
				int			i;

				stamp_count = 0;
				qsort(stamp_notes, n, sizeof(StampNote), EventStampCompare);
				for (i = 0; i < n; i++)
					EventStampCommit(stamp_notes[i].txn_id);
			}
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (stamp_count > 0)
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
	int			i;
	int			kept = 0;

	for (i = 0; i < stamp_count; i++)
	{
		if (stamp_notes[i].subxact == mySubid)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
				continue;
			if (event == SUBXACT_EVENT_COMMIT_SUB)
				stamp_notes[i].subxact = parentSubid;
		}
		stamp_notes[kept++] = stamp_notes[i];
	}
	stamp_count = kept;
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
 * transaction: stamp it at commit.  Refuses (IE004) a number that is not
 * this transaction's, which only a hand-written txn_id can bring, except for rows
 * that arrive as a replica's (session_replication_role = replica: a
 * subscription's apply worker or initial copy), whose numbers are the
 * publisher's.
 */
void
EventStampNote(int64 txn_id)
{
	int			i;

	if (txn_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid txn_id " INT64_FORMAT " of an event", txn_id),
				 errdetail("Leave txn_id to its default, erp.event_txn_id().")));
	/*
	 * A number is this transaction's own (erp.event_txn_id(), the column's
	 * default): a hand-written one would be stamped in another transaction's
	 * name - one stamped already fails at commit, one not drawn yet makes the
	 * transaction that draws it fail at its commit.  Replicas apply the
	 * publisher's numbers.
	 */
	if (SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA && txn_id != txn_id_of_xact)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("txn_id " INT64_FORMAT " of an event is not this transaction's number", txn_id),
				 errdetail("A transaction's events carry the number erp.event_txn_id() gives it."),
				 errhint("Leave txn_id to its default, erp.event_txn_id().")));
	for (i = 0; i < stamp_count; i++)
		if (stamp_notes[i].txn_id == txn_id)
			return;				/* noted by this subtransaction or an enclosing one */
	if (stamp_count > 0 && SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("events of one transaction carry txn_id " INT64_FORMAT " and " INT64_FORMAT,
						stamp_notes[0].txn_id, txn_id),
				 errdetail("A transaction's events are stamped together, under one number."),
				 errhint("Leave txn_id to its default, erp.event_txn_id().")));
	if (stamp_count == stamp_space)
	{
		stamp_space = Max(4, stamp_space * 2);
		stamp_notes = stamp_notes == NULL
			? MemoryContextAlloc(TopTransactionContext, sizeof(StampNote) * stamp_space)
			: repalloc(stamp_notes, sizeof(StampNote) * stamp_space);
	}
	stamp_notes[stamp_count].txn_id = txn_id;
	stamp_notes[stamp_count].subxact = GetCurrentSubTransactionId();
	stamp_count++;
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
