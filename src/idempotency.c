/*-------------------------------------------------------------------------
 *
 * idempotency.c
 *	  Idempotent calls (doc/idempotency.md).  Owns erp.idempotency_key, the
 *	  setting inventory_erp.idempotency_retention and erp.prune_idempotency_keys.
 *
 *	  Every public state-changing function runs through IerpCallAsOwner,
 *	  which hands it to IdempotentCall (ierp_entry_hook, set at load).  A function whose last input
 *	  argument is named idempotency_key (text), called with a key that is
 *	  not NULL, runs once per (identity, key): the identity is the login as
 *	  IerpSessionIdentity gives it, kept by its oid (a renamed login keeps
 *	  its keys; a role dropped and created again under the name does not
 *	  inherit them), so two logins never share a key.  The
 *	  call's content is its function (regprocedure without the key) and
 *	  every other argument, hashed with SHA-256.  The first call runs and its
 *	  result is stored with the key in the same transaction; a retry with the
 *	  same content returns the stored result without running; other content
 *	  is refused (IE010).  An expired key (older than the retention) counts
 *	  as absent - except for a call that waited for the key's own call to
 *	  commit, which replays it whatever the retention.
 *
 *	  Concurrency: the key is owned through a transaction-level lock on a
 *	  hash of (identity, key) before it is read, so a second call waits for
 *	  the first one's transaction; then it reads with the latest snapshot and
 *	  replays what committed, or runs when the first rolled back.  Under
 *	  REPEATABLE READ or SERIALIZABLE, a key committed after the caller's
 *	  snapshot cannot be replayed consistently (the caller would not see the
 *	  rows the first call wrote) nor run again: 40001, so the client retries.
 *
 *	  Cost: with a NULL key (or a function without a key) one hash lookup by
 *	  function oid; with a key one lock, one index lookup and one insert.
 *
 *	  The per-function facts (has a key? its argument types and how each is
 *	  hashed, the signature) are read from pg_proc once per function and kept
 *	  per backend; a pg_proc invalidation drops them all.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/hashfn.h"
#include "common/sha2.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "ierp.h"
#include "idempotency.h"

IERP_OWNER_ENTRY(ierp_idempotency_prune);

/* inventory_erp.idempotency_retention: seconds a key is kept (7 days) */
int			ierp_idempotency_retention = 7 * 24 * 3600;

#define IDEMPOTENCY_ARG_NAME	"idempotency_key"

/*
 * The lock tags of keys: advisory-type tags whose fourth field is this
 * class.  PostgreSQL's advisory lock functions use classes 1 and 2 only,
 * and the stock kernel's tags (src/stock/locks.c) are of another tag type
 * (LOCKTAG_USERLOCK), so no user lock and no kernel lock can share one.
 */
#define IDEMPOTENCY_LOCK_CLASS	0x4944

/* one input argument of a keyed function, as its content is hashed */
/* how an argument enters the content hash */
typedef enum IdemArgForm
{
	IDEM_ARG_TEXT,				/* its text form */
	IDEM_ARG_BINARY,			/* its send function's form (dates, times, floats, integers) */
	IDEM_ARG_NUMERIC,			/* numeric by value: 19.90 is 19.9 */
	IDEM_ARG_JSONB				/* jsonb by value: keys sorted, numbers by value */
} IdemArgForm;

typedef struct IdemArg
{
	IdemArgForm form;
	FmgrInfo	proc;			/* its send or output function (TEXT, BINARY) */
} IdemArg;

/* what the cache knows of one function */
typedef struct IdemFunction
{
	Oid			fn_oid;			/* hash key */
	bool		keyed;			/* an input argument is idempotency_key text */
	int			key_argno;		/* its position (the last input, or before hold_ref) */
	int			nargs;			/* input arguments; all but the key make the content */
	Oid			rettype;
	bool		retset;
	char	   *signature;		/* schema.name(types without the key) */
	IdemArg    *args;			/* nargs of them (the key's unused) */
} IdemFunction;

static MemoryContext fn_cxt = NULL;
static HTAB *fn_cache = NULL;
static bool fn_cache_valid = false;

/* what erp.idempotency_key holds for one (identity, key), as read */
typedef struct IdemStored
{
	bool		found;
	bool		expired;
	char	   *function;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	bool		result_null;
	char	   *result;			/* scalar results: the type's text form */
	ArrayType  *rows;			/* set results: text[rows][columns] */
} IdemStored;

static void
IdemProcCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	fn_cache_valid = false;
}

void
IdempotencyInit(void)
{
	DefineCustomIntVariable("inventory_erp.idempotency_retention",
							"How long an idempotency key is kept.",
							"A retry with a key older than this runs again as a new call; "
							"erp.prune_idempotency_keys() deletes such keys.",
							&ierp_idempotency_retention,
							7 * 24 * 3600, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	CacheRegisterSyscacheCallback(PROCOID, IdemProcCallback, (Datum) 0);
	ierp_entry_hook = IdempotentCall;
}

/* IdemResetCache: an empty function cache (after a pg_proc invalidation). */
static void
IdemResetCache(void)
{
	HASHCTL		ctl;

	if (fn_cxt == NULL)
		fn_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp idempotent functions",
									   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(fn_cxt);
	fn_cache = NULL;
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(IdemFunction);
	ctl.hcxt = fn_cxt;
	fn_cache = hash_create("inventory_erp idempotent functions", 64, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	fn_cache_valid = true;
}

/*
 * IdemArgHashing: how argument type typid enters the content.  Its text
 * form, except for dates, times and numbers, whose text depends on the
 * session's DateStyle, TimeZone or extra_float_digits: their binary form
 * (the same instant typed in two time zones is one content); numeric and
 * jsonb by value (IdemHashNumeric, IdemHashJsonb), since senders re-serialise
 * 19.90 as 19.9 on a retry.
 */
static void
IdemArgHashing(Oid typid, IdemArg *arg)
{
	char		category;
	bool		preferred;
	Oid			func;
	bool		varlena;

	if (get_typtype(typid) == TYPTYPE_PSEUDO)
		elog(ERROR, "inventory_erp: an idempotent function cannot take an argument of type %s",
			 format_type_be(typid));
	if (typid == NUMERICOID)
	{
		arg->form = IDEM_ARG_NUMERIC;
		return;
	}
	if (typid == JSONBOID)
	{
		arg->form = IDEM_ARG_JSONB;
		return;
	}
	get_type_category_preferred(typid, &category, &preferred);
	if (category == TYPCATEGORY_DATETIME || category == TYPCATEGORY_TIMESPAN ||
		category == TYPCATEGORY_NUMERIC)
	{
		arg->form = IDEM_ARG_BINARY;
		getTypeBinaryOutputInfo(typid, &func, &varlena);
	}
	else
	{
		arg->form = IDEM_ARG_TEXT;
		getTypeOutputInfo(typid, &func, &varlena);
	}
	fmgr_info_cxt(func, &arg->proc, fn_cxt);
}

/* IdemReadFunction: the cache entry of fn_oid, read from pg_proc into *fn. */
static void
IdemReadFunction(Oid fn_oid, IdemFunction *fn)
{
	HeapTuple	proc;
	Form_pg_proc form;
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			nall,
				i,
				nin = 0;
	char	   *last_in_name = NULL;
	char	   *prev_in_name = NULL;

	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(proc))
		elog(ERROR, "inventory_erp: cache lookup failed for function %u", fn_oid);
	form = (Form_pg_proc) GETSTRUCT(proc);
	memset(fn, 0, sizeof(IdemFunction));
	fn->fn_oid = fn_oid;
	fn->rettype = form->prorettype;
	fn->retset = form->proretset;

	nall = get_func_arg_info(proc, &types, &names, &modes);
	for (i = 0; i < nall; i++)
	{
		char		mode = modes ? modes[i] : PROARGMODE_IN;

		if (mode == PROARGMODE_OUT || mode == PROARGMODE_TABLE)
			continue;
		prev_in_name = last_in_name;
		last_in_name = names ? names[i] : NULL;
		nin++;
	}
	/* the key is the last input; erp.capture_order's is followed by hold_ref */
	fn->keyed = nin > 0 && nin == form->pronargs && last_in_name != NULL &&
		strcmp(last_in_name, IDEMPOTENCY_ARG_NAME) == 0 &&
		form->proargtypes.values[nin - 1] == TEXTOID;
	if (fn->keyed)
		fn->key_argno = nin - 1;
	else if (nin > 1 && nin == form->pronargs && prev_in_name != NULL && last_in_name != NULL &&
			 strcmp(prev_in_name, IDEMPOTENCY_ARG_NAME) == 0 && strcmp(last_in_name, "hold_ref") == 0 &&
			 form->proargtypes.values[nin - 2] == TEXTOID)
	{
		fn->keyed = true;
		fn->key_argno = nin - 2;
	}

	if (fn->keyed)
	{
		StringInfoData sig;
		bool		first = true;

		fn->nargs = nin;
		fn->args = MemoryContextAllocZero(fn_cxt, sizeof(IdemArg) * Max(fn->nargs, 1));
		initStringInfo(&sig);
		appendStringInfo(&sig, "%s(",
						 quote_qualified_identifier(get_namespace_name(form->pronamespace),
													NameStr(form->proname)));
		for (i = 0; i < fn->nargs; i++)
		{
			Oid			typid = form->proargtypes.values[i];

			if (i == fn->key_argno)
				continue;
			appendStringInfo(&sig, "%s%s", first ? "" : ",", format_type_be_qualified(typid));
			first = false;
			IdemArgHashing(typid, &fn->args[i]);
		}
		appendStringInfoChar(&sig, ')');
		fn->signature = MemoryContextStrdup(fn_cxt, sig.data);
		pfree(sig.data);
	}
	ReleaseSysCache(proc);
}

/* IdemLookupFunction: the cached facts of function fn_oid. */
static IdemFunction *
IdemLookupFunction(Oid fn_oid)
{
	IdemFunction *entry;
	IdemFunction read;
	bool		found;

	if (!fn_cache_valid)
		IdemResetCache();
	entry = hash_search(fn_cache, &fn_oid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;
	/* read first: an error leaves no half-made entry behind */
	IdemReadFunction(fn_oid, &read);
	entry = hash_search(fn_cache, &fn_oid, HASH_ENTER, &found);
	*entry = read;
	return entry;
}

/*
 * IdemKeyArg: the key argument as a C string; IE004 when it is empty,
 * longer than IDEMPOTENCY_MAX_KEY_LEN bytes or not valid in the database's
 * encoding.
 */
static char *
IdemKeyArg(FunctionCallInfo fcinfo, int argno)
{
	text	   *key = DatumGetTextPP(fcinfo->args[argno].value);
	int			len = VARSIZE_ANY_EXHDR(key);

	if (len == 0 || len > IDEMPOTENCY_MAX_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid idempotency key of %d bytes", len),
				 errdetail("An idempotency key is 1 to %d bytes of text.", IDEMPOTENCY_MAX_KEY_LEN),
				 errhint("Use a UUID or another short unique string per call.")));
	if (!pg_verifymbstr(VARDATA_ANY(key), len, true))
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("invalid idempotency key"),
				 errdetail("The key is not valid %s.", GetDatabaseEncodingName())));
	return text_to_cstring(key);
}

/* IdemHashPiece: one tagged, length-prefixed piece of the content. */
static void
IdemHashPiece(pg_cryptohash_ctx *ctx, char tag, const void *data, uint32 len)
{
	uint8		head[5];

	head[0] = (uint8) tag;
	head[1] = (uint8) (len >> 24);
	head[2] = (uint8) (len >> 16);
	head[3] = (uint8) (len >> 8);
	head[4] = (uint8) len;
	if (pg_cryptohash_update(ctx, head, sizeof(head)) < 0 ||
		(len > 0 && pg_cryptohash_update(ctx, data, len) < 0))
		elog(ERROR, "inventory_erp: could not hash an idempotent call: %s", pg_cryptohash_error(ctx));
}

/* IdemHashNumeric: a numeric by value (no trailing zeros: 19.90 is 19.9). */
static void
IdemHashNumeric(pg_cryptohash_ctx *ctx, char tag, Numeric num)
{
	char	   *str = numeric_normalize(num);

	IdemHashPiece(ctx, tag, str, strlen(str));
	pfree(str);
}

/*
 * IdemHashJsonb: a jsonb document by value.  jsonb already keeps an
 * object's keys sorted and unique, so key order never matters; a number
 * enters by value, so a sender that writes 19.90 on one delivery and 19.9
 * on the retry sends the same content.  Every token is tagged, so
 * structure and type are part of the content ("1" is not 1).
 */
static void
IdemHashJsonb(pg_cryptohash_ctx *ctx, Jsonb *doc)
{
	JsonbIterator *it = JsonbIteratorInit(&doc->root);
	JsonbValue	v;
	JsonbIteratorToken token;

	while ((token = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (token)
		{
			case WJB_BEGIN_ARRAY:
				IdemHashPiece(ctx, '[', NULL, 0);
				break;
			case WJB_END_ARRAY:
				IdemHashPiece(ctx, ']', NULL, 0);
				break;
			case WJB_BEGIN_OBJECT:
				IdemHashPiece(ctx, '{', NULL, 0);
				break;
			case WJB_END_OBJECT:
				IdemHashPiece(ctx, '}', NULL, 0);
				break;
			case WJB_KEY:
				IdemHashPiece(ctx, 'k', v.val.string.val, v.val.string.len);
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				switch (v.type)
				{
					case jbvString:
						IdemHashPiece(ctx, 's', v.val.string.val, v.val.string.len);
						break;
					case jbvNumeric:
						IdemHashNumeric(ctx, 'n', v.val.numeric);
						break;
					case jbvBool:
						IdemHashPiece(ctx, v.val.boolean ? 't' : 'f', NULL, 0);
						break;
					case jbvNull:
						IdemHashPiece(ctx, 'z', NULL, 0);
						break;
					default:
						elog(ERROR, "inventory_erp: unexpected jsonb value type %d", (int) v.type);
				}
				break;
			default:
				break;
		}
	}
}

/*
 * IdemContentHash: SHA-256 of the call's content - the signature, then each
 * argument before the key: NULL, or its text or binary form (tags keep a
 * NULL apart from the string 'NULL', and lengths keep arguments apart).
 */
static void
IdemContentHash(const IdemFunction *fn, FunctionCallInfo fcinfo, uint8 *digest)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	int			i;

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "inventory_erp: could not start hashing an idempotent call");
	IdemHashPiece(ctx, 'F', fn->signature, strlen(fn->signature));
	for (i = 0; i < fn->nargs && i < fcinfo->nargs; i++)
	{
		const IdemArg *arg = &fn->args[i];

		if (i == fn->key_argno)
			continue;
		if (fcinfo->args[i].isnull)
			IdemHashPiece(ctx, 'N', NULL, 0);
		else if (arg->form == IDEM_ARG_NUMERIC)
			IdemHashNumeric(ctx, 'D', DatumGetNumeric(fcinfo->args[i].value));
		else if (arg->form == IDEM_ARG_JSONB)
		{
			IdemHashPiece(ctx, 'J', NULL, 0);
			IdemHashJsonb(ctx, DatumGetJsonbP(fcinfo->args[i].value));
		}
		else if (arg->form == IDEM_ARG_BINARY)
		{
			bytea	   *bin = SendFunctionCall((FmgrInfo *) &arg->proc, fcinfo->args[i].value);

			IdemHashPiece(ctx, 'B', VARDATA(bin), VARSIZE(bin) - VARHDRSZ);
			pfree(bin);
		}
		else
		{
			char	   *str = OutputFunctionCall((FmgrInfo *) &arg->proc, fcinfo->args[i].value);

			IdemHashPiece(ctx, 'T', str, strlen(str));
			pfree(str);
		}
	}
	if (pg_cryptohash_final(ctx, digest, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "inventory_erp: could not hash an idempotent call: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/*
 * IdemCitusPlacement: this node's placement of erp.idempotency_key when
 * erp.distribute() made it a reference table (keys are then shared by every
 * node of the cluster, by login name: doc/scaling.md), else InvalidOid.
 */
static Oid
IdemCitusPlacement(void)
{
	Oid			relid = IerpRelid("idempotency_key");
	Oid			local = IerpLocalRelid("idempotency_key");

	return OidIsValid(local) && local != relid ? local : InvalidOid;
}

/*
 * IdemLock: owns (role, key) until the transaction ends, waiting for its
 * holder; returns whether it had to wait (another call with the key was in
 * flight).
 */
static bool
IdemLock(Oid role, const char *key, Oid placement)
{
	LOCKTAG		tag;
	uint64		h;

	/* on Citus a login is known by its name (its oid differs from node to node) */
	if (OidIsValid(placement))
	{
		const char *name = GetUserNameFromId(role, false);

		h = hash_bytes_extended((const unsigned char *) name, (int) strlen(name), 0);
	}
	else
		h = hash_bytes_uint32_extended((uint32) role, 0);

	h = hash_bytes_extended((const unsigned char *) key, (int) strlen(key), h);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h, IDEMPOTENCY_LOCK_CLASS);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return false;
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	return true;
}

/* IdemExpired: whether a key created at created_at is past the retention. */
static bool
IdemExpired(TimestampTz created_at)
{
	return created_at < GetCurrentTimestamp() - (int64) ierp_idempotency_retention * USECS_PER_SEC;
}

/*
 * IdemRead: what erp.idempotency_key holds for (identity, key), read with
 * the latest snapshot (the caller owns the key, so whatever committed is
 * final).  A row this transaction's snapshot cannot see - committed after it
 * began, under REPEATABLE READ or SERIALIZABLE - raises 40001.  A key whose
 * call this one waited for (waited) is never expired: the client learnt
 * nothing of it before its commit, which just happened.
 */
static void
IdemRead(Oid role, const char *key, bool waited, Oid placement, IdemStored *stored)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[2] = {OIDOID, TEXTOID};
	static SPIPlanPtr citus_plan = NULL;
	static Oid	citus_placement = InvalidOid;
	static const Oid citus_argtypes[2] = {NAMEOID, TEXTOID};
	NameData	role_name;
	SPIPlanPtr	use;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Datum		values[2];
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;
	int			ret;
	TransactionId xmin;
	Datum		d;

	memset(stored, 0, sizeof(IdemStored));
	values[0] = ObjectIdGetDatum(role);
	values[1] = CStringGetTextDatum(key);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (OidIsValid(placement))
	{
		/*
		 * On Citus: this node's copy of the reference table (written on every
		 * node in one two-phase commit), by the login's name
		 */
		if (citus_plan == NULL || citus_placement != placement)
		{
			char	   *sql = psprintf("SELECT function, content_hash, result, result_rows, created_at, xmin"
									   " FROM %s WHERE role_name OPERATOR(pg_catalog.=) $1"
									   " AND key OPERATOR(pg_catalog.=) $2",
									   quote_qualified_identifier("erp", get_rel_name(placement)));

			if (citus_plan != NULL)
				SPI_freeplan(citus_plan);
			citus_plan = NULL;
			IerpPlan(&citus_plan, sql, 2, citus_argtypes);
			citus_placement = placement;
		}
		namestrcpy(&role_name, GetUserNameFromId(role, false));
		values[0] = NameGetDatum(&role_name);
		use = citus_plan;
	}
	else
		use = IerpPlan(&plan,
					   "SELECT function, content_hash, result, result_rows, created_at, xmin"
					   " FROM erp.idempotency_key"
					   " WHERE role_oid OPERATOR(pg_catalog.=) $1 AND key OPERATOR(pg_catalog.=) $2",
					   2, argtypes);
	ret = SPI_execute_snapshot(use, values, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: idempotency key lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		SPI_finish();
		return;
	}
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	xmin = DatumGetTransactionId(SPI_getbinval(row, desc, 6, &isnull));
	if (IsolationUsesXactSnapshot() && !TransactionIdIsCurrentTransactionId(xmin) &&
		XidInMVCCSnapshot(xmin, GetTransactionSnapshot()))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent call with idempotency key \"%s\"", key),
				 errdetail("A call with this key committed after this transaction's snapshot was taken."),
				 errhint("Retry the transaction: the retry returns the first call's result.")));

	stored->found = true;
	stored->expired = !waited && IdemExpired(DatumGetTimestampTz(SPI_getbinval(row, desc, 5, &isnull)));
	if (!stored->expired)
	{
		MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);
		bytea	   *hash;

		stored->function = TextDatumGetCString(SPI_getbinval(row, desc, 1, &isnull));
		hash = DatumGetByteaPP(SPI_getbinval(row, desc, 2, &isnull));
		if (isnull || VARSIZE_ANY_EXHDR(hash) != PG_SHA256_DIGEST_LENGTH)
			elog(ERROR, "inventory_erp: idempotency key \"%s\" has no valid content hash", key);
		memcpy(stored->hash, VARDATA_ANY(hash), PG_SHA256_DIGEST_LENGTH);
		d = SPI_getbinval(row, desc, 3, &stored->result_null);
		if (!stored->result_null)
			stored->result = TextDatumGetCString(d);
		d = SPI_getbinval(row, desc, 4, &isnull);
		if (!isnull)
			stored->rows = DatumGetArrayTypePCopy(d);
		MemoryContextSwitchTo(spi_cxt);
	}
	SPI_finish();
}

/*
 * IdemRowsOf: the rows a set-returning function put in its tuplestore, as
 * text[rows][columns] (type output functions; NULLs kept).  The store is
 * rewound afterwards, so the executor reads every row as if nobody had.
 */
static ArrayType *
IdemRowsOf(Tuplestorestate *store, TupleDesc desc)
{
	int			natts = desc->natts;
	FmgrInfo   *out = palloc(sizeof(FmgrInfo) * Max(natts, 1));
	int			size = 64 * Max(natts, 1),
				n = 0,
				i;
	Datum	   *elems = palloc(sizeof(Datum) * size);
	bool	   *nulls = palloc(sizeof(bool) * size);
	TupleTableSlot *slot;
	int			dims[2];
	int			lbs[2] = {1, 1};

	if (store == NULL || natts == 0)
		return construct_empty_array(TEXTOID);
	for (i = 0; i < natts; i++)
	{
		Oid			func;
		bool		varlena;

		getTypeOutputInfo(TupleDescAttr(desc, i)->atttypid, &func, &varlena);
		fmgr_info(func, &out[i]);
	}
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(store);
	while (tuplestore_gettupleslot(store, true, false, slot))
	{
		slot_getallattrs(slot);
		if (n + natts > size)
		{
			size *= 2;
			elems = repalloc(elems, sizeof(Datum) * size);
			nulls = repalloc(nulls, sizeof(bool) * size);
		}
		for (i = 0; i < natts; i++)
		{
			nulls[n] = slot->tts_isnull[i];
			elems[n] = nulls[n] ? (Datum) 0 :
				CStringGetTextDatum(OutputFunctionCall(&out[i], slot->tts_values[i]));
			n++;
		}
	}
	tuplestore_rescan(store);
	ExecDropSingleTupleTableSlot(slot);
	if (n == 0)
		return construct_empty_array(TEXTOID);
	dims[0] = n / natts;
	dims[1] = natts;
	return construct_md_array(elems, nulls, 2, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT);
}

/*
 * IdemStore: records the call that just ran - its key, function, content
 * and result - replacing an expired record of the key.
 */
static void
IdemStore(Oid role, const char *key, const IdemFunction *fn, const uint8 *digest,
		  FunctionCallInfo fcinfo, Datum result, Oid placement)
{
	static SPIPlanPtr plan = NULL;
	static SPIPlanPtr citus_plan = NULL;
	static const Oid argtypes[9] = {NAMEOID, TEXTOID, TEXTOID, BYTEAOID, TEXTOID, TEXTARRAYOID,
	TIMESTAMPTZOID, OIDOID, TIMESTAMPTZOID};
	Datum		values[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', 'n', 'n', ' ', ' ', ' '};
	NameData	role_name;
	bytea	   *hash = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	int			ret;

	namestrcpy(&role_name, GetUserNameFromId(role, false));
	SET_VARSIZE(hash, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(hash), digest, PG_SHA256_DIGEST_LENGTH);
	values[0] = NameGetDatum(&role_name);
	values[1] = CStringGetTextDatum(key);
	values[2] = CStringGetTextDatum(fn->signature);
	values[3] = PointerGetDatum(hash);
	values[4] = values[5] = (Datum) 0;
	values[6] = TimestampTzGetDatum(GetCurrentTimestamp());
	values[7] = ObjectIdGetDatum(role);
	values[8] = TimestampTzGetDatum(GetCurrentTimestamp() - (int64) ierp_idempotency_retention * USECS_PER_SEC);
	if (fn->retset)
	{
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

		if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || rsinfo->returnMode != SFRM_Materialize)
			elog(ERROR, "inventory_erp: %s returned its rows one by one and cannot be idempotent",
				 fn->signature);
		values[5] = PointerGetDatum(IdemRowsOf(rsinfo->setResult, rsinfo->setDesc));
		nulls[5] = ' ';
	}
	else if (!fcinfo->isnull)
	{
		Oid			func;
		bool		varlena;

		getTypeOutputInfo(fn->rettype, &func, &varlena);
		values[4] = CStringGetTextDatum(OidOutputFunctionCall(func, result));
		nulls[4] = ' ';
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	if (OidIsValid(placement))
	{
		/*
		 * On Citus, by the login's name (the unique index erp.distribute()
		 * adds), on every node at once.  Only an expired record is replaced:
		 * a record that is not was written by a call through another node
		 * since this one read the key (the advisory lock is this node's), so
		 * this call ran too: refused, the retry replays the other.
		 */
		IerpPlan(&citus_plan,
				 "INSERT INTO erp.idempotency_key AS k"
				 " (role_name, key, function, content_hash, result, result_rows, created_at, role_oid)"
				 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
				 " ON CONFLICT (role_name, key) DO UPDATE SET role_oid = excluded.role_oid,"
				 " function = excluded.function,"
				 " content_hash = excluded.content_hash, result = excluded.result,"
				 " result_rows = excluded.result_rows, created_at = excluded.created_at"
				 " WHERE k.created_at OPERATOR(pg_catalog.<) $9",
				 9, argtypes);
		ret = SPI_execute_plan(citus_plan, values, nulls, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "inventory_erp: could not record idempotency key: %s", SPI_result_code_string(ret));
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent call with idempotency key \"%s\"", key),
					 errdetail("A call with this key through another node of the cluster committed while this one ran."),
					 errhint("Retry the transaction: the retry returns the first call's result.")));
		SPI_finish();
		return;
	}
	IerpPlan(&plan,
			 "INSERT INTO erp.idempotency_key"
			 " (role_name, key, function, content_hash, result, result_rows, created_at, role_oid)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
			 " ON CONFLICT (role_oid, key) DO UPDATE SET role_name = excluded.role_name,"
			 " function = excluded.function,"
			 " content_hash = excluded.content_hash, result = excluded.result,"
			 " result_rows = excluded.result_rows, created_at = excluded.created_at",
			 8, argtypes);
	ret = SPI_execute_plan(plan, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "inventory_erp: could not record idempotency key: %s", SPI_result_code_string(ret));
	SPI_finish();
}

/* IdemReplayRows: the stored rows of a set-returning function, as its result. */
static void
IdemReplayRows(FunctionCallInfo fcinfo, const IdemFunction *fn, ArrayType *rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	desc;
	int			natts,
				nelems,
				nrows,
				r,
				i;
	Datum	   *elems;
	bool	   *elem_nulls;
	Datum	   *values;
	bool	   *isnull;
	FmgrInfo   *in;
	Oid		   *ioparams;

	if (rows == NULL)
		elog(ERROR, "inventory_erp: the stored result of %s has no rows", fn->signature);
	InitMaterializedSRF(fcinfo, 0);
	desc = rsinfo->setDesc;
	natts = desc->natts;
	deconstruct_array(rows, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &nelems);
	if (nelems == 0)
		return;
	if (ARR_NDIM(rows) != 2 || ARR_DIMS(rows)[1] != natts)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_WRONG_STATUS),
				 errmsg("the result stored for this idempotency key does not fit %s", fn->signature),
				 errdetail("The key was used with an earlier version of the function, whose rows had other columns."),
				 errhint("Use a new key.")));
	nrows = ARR_DIMS(rows)[0];
	in = palloc(sizeof(FmgrInfo) * natts);
	ioparams = palloc(sizeof(Oid) * natts);
	values = palloc(sizeof(Datum) * natts);
	isnull = palloc(sizeof(bool) * natts);
	for (i = 0; i < natts; i++)
	{
		Oid			func;

		getTypeInputInfo(TupleDescAttr(desc, i)->atttypid, &func, &ioparams[i]);
		fmgr_info(func, &in[i]);
	}
	for (r = 0; r < nrows; r++)
	{
		for (i = 0; i < natts; i++)
		{
			int			e = r * natts + i;

			isnull[i] = elem_nulls[e];
			values[i] = InputFunctionCall(&in[i], isnull[i] ? NULL : TextDatumGetCString(elems[e]),
										  ioparams[i], TupleDescAttr(desc, i)->atttypmod);
		}
		tuplestore_putvalues(rsinfo->setResult, desc, values, isnull);
	}
}

/* IdemReplay: the stored result, returned as the function would return it. */
static Datum
IdemReplay(FunctionCallInfo fcinfo, const IdemFunction *fn, const IdemStored *stored)
{
	Oid			func,
				ioparam;

	if (fn->retset)
	{
		IdemReplayRows(fcinfo, fn, stored->rows);
		return (Datum) 0;
	}
	if (stored->result_null)
	{
		fcinfo->isnull = true;
		return (Datum) 0;
	}
	getTypeInputInfo(fn->rettype, &func, &ioparam);
	return OidInputFunctionCall(func, stored->result, ioparam, -1);
}

/* IdemRefuse: IE010 - the key was used for another call. */
static void
IdemRefuse(const char *key, const IdemFunction *fn, const IdemStored *stored)
{
	bool		same_function = strcmp(stored->function, fn->signature) == 0;

	ereport(ERROR,
			(errcode(ERRCODE_IERP_WRONG_STATUS),
			 errmsg("idempotency key \"%s\" was used for another call", key),
			 same_function ?
			 errdetail("The key was first used with %s and other arguments.", stored->function) :
			 errdetail("The key was first used with %s, not %s.", stored->function, fn->signature),
			 errhint("A retry must repeat the first call exactly; a new call needs a new key.")));
}

/*
 * IdempotentCall: runs body, or replays the stored result of its key (see
 * the file header).  Nothing of the function cache is used once the body
 * runs: a call nested in it may rebuild the cache.
 */
Datum
IdempotentCall(PGFunction body, FunctionCallInfo fcinfo)
{
	IdemFunction *cached = IdemLookupFunction(fcinfo->flinfo->fn_oid);
	IdemFunction fn;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	IdemStored	stored;
	char	   *key;
	Oid			role;
	Oid			placement;
	bool		waited;
	Datum		result;

	if (!cached->keyed || fcinfo->nargs <= cached->key_argno ||
		fcinfo->args[cached->key_argno].isnull)
		return body(fcinfo);

	key = IdemKeyArg(fcinfo, cached->key_argno);
	IdemContentHash(cached, fcinfo, digest);
	fn = *cached;
	fn.signature = pstrdup(cached->signature);
	fn.args = NULL;

	role = IerpSessionIdentity();
	placement = IdemCitusPlacement();
	waited = IdemLock(role, key, placement);
	IdemRead(role, key, waited, placement, &stored);
	if (stored.found && !stored.expired)
	{
		if (strcmp(stored.function, fn.signature) != 0 ||
			memcmp(stored.hash, digest, PG_SHA256_DIGEST_LENGTH) != 0)
			IdemRefuse(key, &fn, &stored);
		return IdemReplay(fcinfo, &fn, &stored);
	}
	result = body(fcinfo);
	IdemStore(role, key, &fn, digest, fcinfo, result, placement);
	return result;
}

/*
 * erp.prune_idempotency_keys(): deletes the keys older than the retention
 * (inventory_erp.idempotency_retention); returns how many.
 */
static Datum
ierp_idempotency_prune_body(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	int			ret;
	uint64		deleted;

	values[0] = TimestampTzGetDatum(GetCurrentTimestamp() -
									(int64) ierp_idempotency_retention * USECS_PER_SEC);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&plan, "DELETE FROM erp.idempotency_key WHERE created_at OPERATOR(pg_catalog.<) $1",
			 1, argtypes);
	ret = SPI_execute_plan(plan, values, NULL, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "inventory_erp: could not prune idempotency keys: %s", SPI_result_code_string(ret));
	deleted = SPI_processed;
	SPI_finish();
	PG_RETURN_INT64((int64) deleted);
}
