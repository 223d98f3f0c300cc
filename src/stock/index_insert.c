/*-------------------------------------------------------------------------
 *
 * index_insert.c
 *	  The index entries of the rows the extension writes directly to the
 *	  heap (the kernel's slots and ledger rows, the direct order rows of
 *	  row_write.c, the feeds): StockIndexInsert adds them as the executor's
 *	  ExecInsertIndexTuples would.
 *
 *	  What the executor builds per statement, and this file once per backend
 *	  and table: the list of the table's indexes, each B-tree index's
 *	  IndexInfo and its partial-index predicate, prepared for evaluation.
 *	  They are kept until a relcache invalidation names the table or one of
 *	  its indexes (an index created, dropped, marked ready for inserts by
 *	  CREATE INDEX CONCURRENTLY), or all relations.  Such an invalidation is
 *	  accepted when the caller opens the table, before StockIndexInsert
 *	  runs, as it would be for an executor statement.  One accepted while a
 *	  row's entries are being added takes effect from the next row: the
 *	  concurrent index build waits for this transaction before it checks
 *	  the index for missing entries, as it waits for a statement's.
 *
 *	  An index that is not a B-tree (the ledger's BRIN index on txid) takes
 *	  the per-call path: its access method keeps state that points to the
 *	  opened index relation (ii_AmCache), which must not outlive the call.
 *	  Expression columns (the reservations' COALESCE(lot_id, 0)) and
 *	  predicates are evaluated by ExprStates prepared once, in one
 *	  standalone expression context reset after each row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "optimizer/optimizer.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ierp.h"
#include "stock/slot_rows.h"

/* One index of a cached table. */
typedef struct CachedIndex
{
	Oid			index_oid;
	bool		per_call;		/* not a B-tree: built per call */
	IndexInfo  *info;			/* per_call false: built once, in the table's context */
	ExprState  *predicate;		/* its partial-index predicate prepared, or NULL */
	ExprState **expressions;	/* its expression columns prepared, in key order, or NULL */
} CachedIndex;

/* The indexes of one table, in RelationGetIndexList's order. */
typedef struct IndexSet
{
	Oid			relid;			/* hash key */
	bool		stale;			/* an invalidation named it: rebuilt at the next use */
	MemoryContext cxt;			/* everything below; deleted with the entry */
	int			nindexes;
	CachedIndex *indexes;
} IndexSet;

static HTAB *index_sets = NULL;
static MemoryContext index_sets_cxt = NULL;
static ExprContext *predicate_econtext = NULL;	/* predicates and expression columns; reset per index entry */
static bool any_stale = false;
static uint64 invalidations = 0;	/* relcache invalidations seen, of any relation */
static bool registered = false;

/*
 * Relcache invalidation: marks the sets of the tables named (directly or by
 * an index of theirs), or all, as stale.  They are freed at the start of
 * the next StockIndexInsert, not here: an invalidation accepted while an
 * index is opened for a row must not free the set that row is using (its
 * entries finish with the indexes as they were when the row began, as an
 * executor statement's would).
 */
static void
IndexSetsInvalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	IndexSet   *set;

	invalidations++;
	if (index_sets == NULL)
		return;
	hash_seq_init(&seq, index_sets);
	while ((set = hash_seq_search(&seq)) != NULL)
	{
		bool		named = relid == InvalidOid || set->relid == relid;
		int			i;

		for (i = 0; !named && i < set->nindexes; i++)
			named = set->indexes[i].index_oid == relid;
		if (named)
		{
			set->stale = true;
			any_stale = true;
		}
	}
}

/* Frees the stale sets (none is in use: called at the start of StockIndexInsert). */
static void
IndexSetsSweep(void)
{
	HASH_SEQ_STATUS seq;
	IndexSet   *set;

	any_stale = false;
	hash_seq_init(&seq, index_sets);
	while ((set = hash_seq_search(&seq)) != NULL)
		if (set->stale)
		{
			MemoryContextDelete(set->cxt);
			/* removing the entry just returned is allowed during a scan */
			hash_search(index_sets, &set->relid, HASH_REMOVE, NULL);
		}
}

static void
IndexSetsInit(void)
{
	HASHCTL		ctl;

	if (!registered)
	{
		IerpRegisterRelcacheCallback(IndexSetsInvalidate, (Datum) 0);
		registered = true;
	}
	index_sets_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp index sets",
										   ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(IndexSet);
	ctl.hcxt = index_sets_cxt;
	index_sets = hash_create("inventory_erp index sets", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	{
		MemoryContext old = MemoryContextSwitchTo(index_sets_cxt);

		predicate_econtext = CreateStandaloneExprContext();
		MemoryContextSwitchTo(old);
	}
}

/*
 * Builds the cached set of rel's indexes.  Each index is opened (and its
 * lock released, as StockIndexInsert does) only to build its IndexInfo.  An
 * error part-way leaves no entry behind.  An invalidation accepted while it
 * opens the indexes may have changed the list it started from: the set is
 * then born stale, used for this row only.
 */
static IndexSet *
IndexSetBuild(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	List	   *oids = RelationGetIndexList(rel);
	MemoryContext cxt;
	MemoryContext old;
	CachedIndex *indexes;
	IndexSet   *set;
	ListCell   *lc;
	int			n = 0;
	bool		found;
	uint64		seen = invalidations;

	cxt = AllocSetContextCreate(index_sets_cxt, "inventory_erp index set", ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		indexes = MemoryContextAllocZero(cxt, sizeof(CachedIndex) * Max(list_length(oids), 1));
		foreach(lc, oids)
		{
			CachedIndex *ci = &indexes[n++];
			Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);

			ci->index_oid = lfirst_oid(lc);
			ci->per_call = idx->rd_rel->relam != BTREE_AM_OID;
			if (!ci->per_call)
			{
				old = MemoryContextSwitchTo(cxt);
				ci->info = BuildIndexInfo(idx);
				if (ci->info->ii_Predicate != NIL)
					ci->predicate = ExecInitQual((List *) expression_planner((Expr *) ci->info->ii_Predicate), NULL);
				if (ci->info->ii_Expressions != NIL)
				{
					ListCell   *ec;
					int			k = 0;

					ci->expressions = palloc0(sizeof(ExprState *) * list_length(ci->info->ii_Expressions));
					foreach(ec, ci->info->ii_Expressions)
						ci->expressions[k++] = ExecInitExpr(expression_planner((Expr *) lfirst(ec)), NULL);
				}
				MemoryContextSwitchTo(old);
			}
			index_close(idx, RowExclusiveLock);
		}
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	list_free(oids);

	set = hash_search(index_sets, &relid, HASH_ENTER, &found);
	Assert(!found);
	set->stale = invalidations != seen;
	any_stale = any_stale || set->stale;
	set->cxt = cxt;
	set->nindexes = n;
	set->indexes = indexes;
	return set;
}

/*
 * The key values of a cached index for the row in ts, as FormIndexDatum
 * computes them: plain columns from the row, expression columns evaluated
 * in predicate_econtext (whose per-tuple memory holds them until the caller
 * resets it).
 */
static void
FormIndexValues(const CachedIndex *ci, TupleTableSlot *ts, Datum *values, bool *isnull)
{
	const IndexInfo *info = ci->info;
	int			next_expression = 0;
	int			k;

	for (k = 0; k < info->ii_NumIndexAttrs; k++)
	{
		AttrNumber	attnum = info->ii_IndexAttrNumbers[k];

		if (attnum != 0)
			values[k] = slot_getattr(ts, attnum, &isnull[k]);
		else
			values[k] = ExecEvalExprSwitchContext(ci->expressions[next_expression++],
												  predicate_econtext, &isnull[k]);
	}
}

/* One index the per-call way, as before the cache: built, checked and filled now. */
static void
InsertPerCall(Relation rel, Relation idx, HeapTuple tup, TupleTableSlot *ts)
{
	IndexInfo  *info = BuildIndexInfo(idx);
	EState	   *estate = NULL;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	bool		insert = info->ii_ReadyForInserts;

	if (insert && (info->ii_Expressions != NIL || info->ii_Predicate != NIL))
	{
		estate = CreateExecutorState();
		GetPerTupleExprContext(estate)->ecxt_scantuple = ts;
		if (info->ii_Predicate != NIL)
			insert = ExecQual(ExecPrepareQual(info->ii_Predicate, estate), GetPerTupleExprContext(estate));
	}
	if (insert)
	{
		FormIndexDatum(info, ts, estate, values, isnull);
		index_insert(idx, values, isnull, &tup->t_self, rel,
					 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
	}
	if (estate != NULL)
		FreeExecutorState(estate);
}

/*
 * StockIndexInsert: adds the index entries of a new heap tuple version of
 * rel (an insert, or an update that was not HOT), as ExecInsertIndexTuples
 * would: every index ready for inserts, unique checks, partial-index
 * predicates and expression columns evaluated.  rel is open with
 * RowExclusiveLock.
 *
 * Each index's lock is released once its entry is in, as the executor's
 * ExecCloseIndices does at the end of an INSERT: the table's own
 * RowExclusiveLock, held to commit, is what keeps the index in place.  An
 * order would otherwise hold a dozen index locks to commit, more than the
 * sixteen fast-path lock slots of a backend, and every lock past them goes
 * through the shared lock table, where concurrent orders queue.
 */
void
StockIndexInsert(Relation rel, HeapTuple tup)
{
	Oid			relid = RelationGetRelid(rel);
	IndexSet   *set;
	TupleTableSlot *ts;
	int			i;

	if (index_sets == NULL)
		IndexSetsInit();
	if (any_stale)
		IndexSetsSweep();
	set = hash_search(index_sets, &relid, HASH_FIND, NULL);
	if (set == NULL)
		set = IndexSetBuild(rel);

	ts = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tup, ts, false);
	for (i = 0; i < set->nindexes; i++)
	{
		CachedIndex *ci = &set->indexes[i];
		Relation	idx = index_open(ci->index_oid, RowExclusiveLock);
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		if (ci->per_call)
			InsertPerCall(rel, idx, tup, ts);
		else if (ci->info->ii_ReadyForInserts)
		{
			predicate_econtext->ecxt_scantuple = ts;
			if (ci->predicate == NULL || ExecQual(ci->predicate, predicate_econtext))
			{
				FormIndexValues(ci, ts, values, isnull);
				index_insert(idx, values, isnull, &tup->t_self, rel,
							 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, ci->info);
			}
			ResetExprContext(predicate_econtext);
			predicate_econtext->ecxt_scantuple = NULL;
		}
		index_close(idx, RowExclusiveLock);
	}
	ExecDropSingleTupleTableSlot(ts);
}
