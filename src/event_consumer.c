/*-------------------------------------------------------------------------
 *
 * event_consumer.c
 *	  The exact consumer of erp.event: erp.read_events(consumer, max) and
 *	  erp.ack_events(consumer, cursor), with the cursors of named consumers
 *	  in erp.event_consumer.
 *
 *	  A cursor is a pair (commit_seq, event_id), written 'commit_seq:event_id'.
 *	  Events are read in that order, after the acknowledged cursor, joined to
 *	  their commit stamps (event_stamp.c): a snapshot that sees a stamp sees
 *	  every earlier one, so a read skips nothing that commits later, and
 *	  nothing acknowledged comes again.  Until it is acknowledged, the same
 *	  batch comes again (a consumer that crashed between read and ack
 *	  repeats it).  A read that finds nothing for its consumer up to the
 *	  newest stamp (a partner's consumer while other nodes' events pass)
 *	  moves the consumer past those stamps, so that no poll scans them twice.
 *	  The consumer's row is locked (FOR UPDATE) by both
 *	  functions, so two sessions of one consumer take turns.
 *
 *	  Rights: both run as the extension's owner; consumer names are per
 *	  role (IerpSessionIdentity, by oid): two roles using one name have two
 *	  consumers, so nobody can take a name first or move another's cursor.
 *	  A partner reads its nodes' events only, by
 *	  the rule of erp.event's row level security (erp.visible_nodes()).
 *
 *	  Refused, changing nothing: a consumer name that is NULL, empty, longer
 *	  than 64 bytes or not made of letters, digits and _ . : - (IE004); max
 *	  outside 1..10,000 (IE004); a malformed cursor, or one beyond what was
 *	  read (IE004); a cursor behind the acknowledged one (IE010); an unknown
 *	  consumer at ack (IE003: also another role's name).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"

#include "ierp.h"

IERP_OWNER_ENTRY(ierp_event_read);
IERP_OWNER_ENTRY(ierp_event_ack);

/* the most events one read returns */
#define EVENT_READ_MAX			10000

/* the columns erp.read_events returns */
#define EVENT_READ_NCOLS		10

typedef struct EventCursor
{
	int64		commit_seq;
	int64		event_id;
} EventCursor;

/* a consumer's row, as locked for this call */
typedef struct EventConsumer
{
	char	   *owner_name;
	EventCursor acked;
	EventCursor read;
} EventConsumer;

static const Oid consumer_argtype[2] = {TEXTOID, OIDOID};

/* EventCursorCompare: <0, 0, >0 as a is before, at, after b */
static int
EventCursorCompare(const EventCursor *a, const EventCursor *b)
{
	if (a->commit_seq != b->commit_seq)
		return a->commit_seq < b->commit_seq ? -1 : 1;
	if (a->event_id != b->event_id)
		return a->event_id < b->event_id ? -1 : 1;
	return 0;
}

static char *
EventCursorText(const EventCursor *c)
{
	return psprintf(INT64_FORMAT ":" INT64_FORMAT, c->commit_seq, c->event_id);
}

/* EventConsumerName: the consumer argument, checked (IE004) */
static char *
EventConsumerName(FunctionCallInfo fcinfo)
{
	char	   *name;
	const char *p;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("consumer must not be NULL"),
				 errdetail("A consumer is named by 1 to %d letters, digits, _ . : or -.", IERP_MAX_KEY_LEN)));
	name = TextDatumGetCString(PG_GETARG_DATUM(0));
	IerpCheckText(name, "consumer name", IERP_MAX_KEY_LEN);
	for (p = name; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			  *p == '_' || *p == '.' || *p == ':' || *p == '-'))
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("invalid consumer name \"%s\"", name),
					 errdetail("A consumer is named by 1 to %d letters, digits, _ . : or -.",
							   IERP_MAX_KEY_LEN)));
	}
	return name;
}

/* EventParseNumber: a non-negative decimal of at most 18 digits, or false */
static bool
EventParseNumber(const char *s, int len, int64 *result)
{
	int64		value = 0;
	int			i;

	if (len < 1 || len > 18)
		return false;
	for (i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		value = value * 10 + (s[i] - '0');
	}
	*result = value;
	return true;
}

/* EventCursorParse: 'commit_seq:event_id' (IE004 otherwise) */
static EventCursor
EventCursorParse(FunctionCallInfo fcinfo, int argno)
{
	EventCursor c = {0};
	char	   *given;
	char	   *colon;
	bool		ok;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("cursor must not be NULL"),
				 errdetail("Acknowledge the cursor of an event erp.read_events returned.")));
	given = TextDatumGetCString(PG_GETARG_DATUM(argno));
	colon = strchr(given, ':');
	ok = colon != NULL && strlen(given) <= 40 &&
		EventParseNumber(given, colon - given, &c.commit_seq) &&
		EventParseNumber(colon + 1, strlen(colon + 1), &c.event_id);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid cursor \"%s\"", pnstrdup(given, Min(strlen(given), 40))),
				 errdetail("A cursor is commit_seq:event_id, two numbers, as erp.read_events returns it.")));
	return c;
}

/*
 * EventConsumerLock: the consumer's row, locked FOR UPDATE; false when there
 * is none.  Names are per role: the session's identity owns what it finds.
 */
static bool
EventConsumerLock(const char *name, EventConsumer *consumer)
{
	static SPIPlanPtr plan = NULL;
	Datum		value[2];
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;

	IerpPlan(&plan,
			 "SELECT owner_name, acked_commit_seq, acked_event_id, read_commit_seq, read_event_id"
			 "  FROM erp.event_consumer WHERE consumer OPERATOR(pg_catalog.=) $1"
			 "   AND owner_oid OPERATOR(pg_catalog.=) $2 FOR UPDATE",
			 2, consumer_argtype);
	value[0] = CStringGetTextDatum(name);
	value[1] = ObjectIdGetDatum(IerpSessionIdentity());
	if (SPI_execute_plan(plan, value, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: reading consumer \"%s\" failed", name);
	if (SPI_processed == 0)
		return false;
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	consumer->owner_name = SPI_getvalue(row, desc, 1);
	consumer->acked.commit_seq = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
	consumer->acked.event_id = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
	consumer->read.commit_seq = DatumGetInt64(SPI_getbinval(row, desc, 4, &isnull));
	consumer->read.event_id = DatumGetInt64(SPI_getbinval(row, desc, 5, &isnull));
	return true;
}

/* EventConsumerCreate: a new consumer of the session's role, at the start (no-op when it exists) */
static void
EventConsumerCreate(const char *name)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[3] = {TEXTOID, TEXTOID, OIDOID};
	Datum		values[3];

	IerpPlan(&plan,
			 "INSERT INTO erp.event_consumer (consumer, owner_name, owner_oid) VALUES ($1, $2, $3)"
			 " ON CONFLICT (owner_oid, consumer) DO NOTHING", 3, argtypes);
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(IerpActorName());
	values[2] = ObjectIdGetDatum(IerpSessionIdentity());
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: creating consumer \"%s\" failed", name);
}

/* which of a consumer's cursors EventConsumerSet writes */
typedef enum ConsumerCursor
{
	CURSOR_READ,				/* how far it has read */
	CURSOR_ACKED,				/* how far it has acknowledged */
	CURSOR_BOTH					/* both, in one statement (a step over other nodes' stamps) */
} ConsumerCursor;

/* EventConsumerSet: writes the consumer's read cursor, acknowledged cursor, or both */
static void
EventConsumerSet(const char *name, ConsumerCursor which, const EventCursor *c)
{
#define CONSUMER_WHERE " WHERE consumer OPERATOR(pg_catalog.=) $1 AND owner_oid OPERATOR(pg_catalog.=) $4"
	static SPIPlanPtr plans[3] = {NULL, NULL, NULL};
	static const char *const sql[3] = {
		"UPDATE erp.event_consumer SET read_commit_seq = $2, read_event_id = $3,"
		" updated_at = pg_catalog.now()" CONSUMER_WHERE,
		"UPDATE erp.event_consumer SET acked_commit_seq = $2, acked_event_id = $3,"
		" updated_at = pg_catalog.now()" CONSUMER_WHERE,
		"UPDATE erp.event_consumer SET read_commit_seq = $2, read_event_id = $3,"
		" acked_commit_seq = $2, acked_event_id = $3, updated_at = pg_catalog.now()" CONSUMER_WHERE
	};
	static const Oid argtypes[4] = {TEXTOID, INT8OID, INT8OID, OIDOID};
	Datum		values[4];
	SPIPlanPtr	plan = IerpPlan(&plans[which], sql[which], 4, argtypes);
	values[0] = CStringGetTextDatum(name);
	values[1] = Int64GetDatum(c->commit_seq);
	values[2] = Int64GetDatum(c->event_id);
	values[3] = ObjectIdGetDatum(IerpSessionIdentity());
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "inventory_erp: updating consumer \"%s\" failed", name);
}

/*
 * EventReadBatch: the events after the cursor visible to the session, in
 * commit order, at most max, as SPI_tuptable (columns as erp.read_events
 * returns them, but for the cursor).  Stamps are scanned in commit_seq
 * order, and each stamp's events by (txn_id, event_id): the index order
 * the result is wanted in.
 */
static void
EventReadBatch(const EventCursor *after, int64 upto_seq, int32 max)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[4] = {INT8OID, INT8OID, INT4OID, INT8OID};
	Datum		values[4];

	IerpPlan(&plan,
			 "SELECT e.event_id, e.kind, e.at, e.item_id, e.node_id, e.order_id, e.rma_id,"
			 "       e.payload, c.commit_seq"
			 "  FROM erp.event_commit c"
			 "  CROSS JOIN LATERAL ("
			 "       SELECT * FROM erp.event e"
			 "        WHERE e.txn_id OPERATOR(pg_catalog.=) c.txn_id"
			 "          AND (c.commit_seq OPERATOR(pg_catalog.>) $1 OR e.event_id OPERATOR(pg_catalog.>) $2)"
			 "          AND ((SELECT erp.visible_nodes()) IS NULL"
			 "               OR e.node_id OPERATOR(pg_catalog.=) ANY (CAST((SELECT erp.visible_nodes()) AS bigint[])))"
			 "        ORDER BY e.event_id) e"
			 " WHERE c.commit_seq OPERATOR(pg_catalog.>=) $1"
			 "   AND c.commit_seq OPERATOR(pg_catalog.<=) $4"
			 " ORDER BY c.commit_seq, e.event_id"
			 " LIMIT $3", 4, argtypes);
	values[0] = Int64GetDatum(after->commit_seq);
	values[1] = Int64GetDatum(after->event_id);
	values[2] = Int32GetDatum(max);
	values[3] = Int64GetDatum(upto_seq);
	/* a snapshot of its own (not the caller's statement's): see the lock in ierp_event_read_body */
	if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: reading events failed");
}

/*
 * EventLastStamp: the newest commit stamp after after_seq that this
 * statement's snapshot sees, 0 when none.  Read before the batch: the batch
 * is bounded by it, so that "nothing visible up to it" is a fact of one
 * snapshot (stamps become visible in order, so the batch's later snapshot
 * sees every stamp up to it).
 */
static int64
EventLastStamp(int64 after_seq)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[1] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	Datum		d;

	IerpPlan(&plan,
			 "SELECT max(commit_seq) FROM erp.event_commit WHERE commit_seq OPERATOR(pg_catalog.>=) $1",
			 1, argtypes);
	values[0] = Int64GetDatum(after_seq);
	if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "inventory_erp: reading the last commit stamp failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * erp.read_events(consumer, max): the next at most max events of consumer
 * after its acknowledged cursor (a new consumer starts before the oldest
 * event), each with its cursor; remembers how far it read.
 */
static Datum
ierp_event_read_body(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = EventConsumerName(fcinfo);
	int32		max;
	EventConsumer consumer;
	EventCursor last = {0};
	int64		upto_seq;
	uint64		nread;
	uint64		i;

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 1 || PG_GETARG_INT32(1) > EVENT_READ_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("max must be between 1 and %d", EVENT_READ_MAX),
				 errdetail("max is how many events one read returns at most.")));
	max = PG_GETARG_INT32(1);

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");

	/*
	 * The lock a write of the consumers takes, taken before anything is
	 * read: erp.prune_events holds erp.event_consumer in SHARE mode from
	 * before it decides what every consumer acknowledged until it commits,
	 * so a read (a new consumer's first one above all) either comes before
	 * that decision, and counts in it, or waits and reads what is left.
	 * What is left: the stamps and events are read with snapshots taken
	 * after this lock (the statements' own, not the caller's, which may be
	 * older than a prune that committed while this waited: a batch from it
	 * would hold events the prune deleted, and an unacknowledged part of it
	 * would never come again).  A later snapshot for the events than for
	 * the last stamp is safe: it sees every stamp the first one saw.
	 */
	LockRelationOid(IerpRelid("event_consumer"), RowExclusiveLock);
	if (!EventConsumerLock(name, &consumer))
	{
		EventConsumerCreate(name);
		if (!EventConsumerLock(name, &consumer))
			elog(ERROR, "inventory_erp: consumer \"%s\" vanished as it was created", name);
	}

	upto_seq = EventLastStamp(consumer.acked.commit_seq);
	if (upto_seq == 0)
	{
		SPI_finish();
		return (Datum) 0;
	}
	EventReadBatch(&consumer.acked, upto_seq, max);
	nread = SPI_processed;
	for (i = 0; i < nread; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		Datum		values[EVENT_READ_NCOLS];
		bool		nulls[EVENT_READ_NCOLS];
		int			col;

		for (col = 0; col < EVENT_READ_NCOLS - 1; col++)
			values[col] = SPI_getbinval(row, SPI_tuptable->tupdesc, col + 1, &nulls[col]);
		last.event_id = DatumGetInt64(values[0]);
		last.commit_seq = DatumGetInt64(values[8]);
		values[9] = CStringGetTextDatum(EventCursorText(&last));
		nulls[9] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (nread > 0 && EventCursorCompare(&last, &consumer.read) > 0)
		EventConsumerSet(name, CURSOR_READ, &last);
	else if (nread == 0 && upto_seq > consumer.acked.commit_seq && AccessRestricted())
	{
		/*
		 * Nothing up to the newest stamp is for this consumer (a partner's
		 * consumer, while other nodes' events pass): step over those stamps
		 * as acknowledged, or every poll would scan them again.
		 */
		EventCursor past = {.commit_seq = upto_seq, .event_id = PG_INT64_MAX};

		if (EventCursorCompare(&past, &consumer.acked) > 0)
		{
			EventConsumerSet(name, CURSOR_BOTH, &past);
		}
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * erp.ack_events(consumer, cursor): consumer's events up to and including
 * cursor never come again.  The same cursor again changes nothing.
 */
static Datum
ierp_event_ack_body(PG_FUNCTION_ARGS)
{
	char	   *name = EventConsumerName(fcinfo);
	EventCursor cursor = EventCursorParse(fcinfo, 1);
	EventConsumer consumer;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (!EventConsumerLock(name, &consumer))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_UNKNOWN_OBJECT),
				 errmsg("unknown consumer \"%s\"", name),
				 errdetail("A consumer is created by its first erp.read_events.")));
	if (EventCursorCompare(&cursor, &consumer.acked) < 0 &&
		consumer.acked.event_id != PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("cursor %s is behind consumer \"%s\"'s acknowledged cursor %s",
						EventCursorText(&cursor), name, EventCursorText(&consumer.acked)),
				 errdetail("Acknowledged events never come again; an acknowledgement cannot be taken back.")));
	if (EventCursorCompare(&cursor, &consumer.read) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("cursor %s is beyond what consumer \"%s\" has read (%s)",
						EventCursorText(&cursor), name, EventCursorText(&consumer.read)),
				 errdetail("Acknowledge only cursors erp.read_events returned.")));
	if (EventCursorCompare(&cursor, &consumer.acked) > 0)
		EventConsumerSet(name, CURSOR_ACKED, &cursor);
	/* behind a step a read made over other nodes' stamps: already acknowledged */
	SPI_finish();
	PG_RETURN_VOID();
}
