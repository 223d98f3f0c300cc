/*-------------------------------------------------------------------------
 *
 * access.c
 *	  The one partner rule, for reads and writes alike.
 *
 *	  Who acts (IerpSessionIdentity, the name recorded as actor, created_by,
 *	  ...): the session's login, whatever role it SETs; in a superuser's
 *	  session the role it acts as, so that a DBA can look through a partner's
 *	  eyes with SET ROLE.
 *
 *	  Which nodes: the session is a partner when that identity is a member -
 *	  directly or through other roles, inheriting or not - of a role named in
 *	  erp.node_access; it sees and acts on the nodes listed for those roles.
 *	  A superuser identity is never a partner.
 *
 *	  Not inside a foreign SECURITY DEFINER function: the public functions
 *	  are SECURITY INVOKER and take their owner's rights in C
 *	  (IerpCallAsOwner), so they know their caller; when the caller is a role
 *	  the login is no member of (and neither is a superuser), a definer
 *	  function of the caller's is acting with rights the login does not have,
 *	  in the login's name (see AccessForeignDefiner).  Then nobody can tell
 *	  who acts: the functions refuse (IE009) and row level security shows
 *	  nothing.  Inside a definer function of a role the login belongs to, the
 *	  login acts, with rights it has anyway.
 *
 *	  Documents: an order is a partner's when every node where it holds or
 *	  shipped stock is one of its nodes (and there is one), or - while it
 *	  holds and shipped nothing - when its channel is fulfilled by one of its
 *	  nodes.  A return is a partner's when every node of its lines (where the
 *	  units were expected and where they were received) is one of its nodes.
 *	  Everything else (stock, moves, purchase orders, transfers, counts,
 *	  adjustments, events) carries its node.
 *
 *	  The same functions decide for the C checks of every document function
 *	  (AccessCheck*: IE009) and for row level security (erp.visible_nodes,
 *	  erp.order_visible, erp.rma_visible in the policies of 85_access.sql).
 *
 *	  Caching: erp.node_access is read by a catalog-snapshot scan (no SPI, no
 *	  permission check, no search_path) and kept by role *name*; the
 *	  session's resolved identity (restricted or not, its nodes) is kept for
 *	  the last identity asked about.  Both are dropped on a relcache
 *	  invalidation of erp.node_access (its statement trigger sends one) and
 *	  the identity also on any change of pg_authid or pg_auth_members, so a
 *	  role created after its node_access row, or dropped and created again,
 *	  is the partner at its next check.  A session that is no partner pays a
 *	  few comparisons per check.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "optimizer/planner.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/extension.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "ierp.h"
#include "stock/slot_rows.h"

PG_FUNCTION_INFO_V1(ierp_access_visible_nodes);
IERP_OWNER_ENTRY(ierp_access_order_visible);
IERP_OWNER_ENTRY(ierp_access_rma_visible);
IERP_OWNER_ENTRY(ierp_access_po_visible);
IERP_OWNER_ENTRY(ierp_access_po_line_visible);

typedef struct NodeGrant
{
	NameData	role_name;
	Oid			role_oid;		/* the role the name named when the row was written, or InvalidOid */
	int64		node_id;
} NodeGrant;

/* erp.node_access as last read */
static MemoryContext access_cxt = NULL;
static NodeGrant *grants = NULL;
static int	num_grants = 0;
static bool grants_valid = false;
static Oid	access_relid = InvalidOid;

/* the last identity resolved: whether it is a partner, and its nodes (sorted, distinct) */
static MemoryContext ident_cxt = NULL;
static bool ident_valid = false;
static Oid	ident_oid = InvalidOid;		/* the acting identity */
static bool ident_restricted = false;
static int64 *ident_nodes = NULL;
static int	ident_nnodes = 0;

/* counts invalidations, so that a load overtaken by one is not trusted */
static uint64 access_invalidations = 0;

static void
AccessRelcacheCallback(Datum arg, Oid relid)
{
	/* before the table was first found, any relation may be it */
	if (relid == InvalidOid || relid == access_relid || !OidIsValid(access_relid))
	{
		grants_valid = false;
		ident_valid = false;
		access_invalidations++;
	}
}

static void
AccessRoleCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	ident_valid = false;
	access_invalidations++;
}

/* a setting of Citus: defined when Citus is loaded in this backend */
#define CITUS_LOADED_GUC "citus.allow_nested_distributed_execution"

static planner_hook_type prev_planner = NULL;
static PlannedStmt *AccessPlanner(Query *parse, const char *query_string, int cursor_options,
								  ParamListInfo bound_params);

void
AccessInit(void)
{
	IerpRegisterRelcacheCallback(AccessRelcacheCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, AccessRoleCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, AccessRoleCallback, (Datum) 0);
	prev_planner = planner_hook;
	planner_hook = AccessPlanner;
}

/*
 * AccessLoadGrants: reads erp.node_access with the catalog snapshot (the
 * latest committed state, and this transaction's own earlier commands), as
 * the backend, whatever the session's rights or search_path.
 */
static void
AccessLoadGrants(void)
{
	uint64		before = access_invalidations;
	Oid			relid = IerpLocalRelid("node_access");
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	role_att,
				oid_att,
				node_att;
	int			n = 0,
				size = 16;
	NodeGrant  *loaded;

	if (access_cxt == NULL)
		access_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp node access",
										   ALLOCSET_SMALL_SIZES);
	if (!OidIsValid(relid))
	{
		/* no extension (yet): nobody is a partner; look again next time */
		MemoryContextReset(access_cxt);
		grants = NULL;
		num_grants = 0;
		access_relid = InvalidOid;
		return;
	}
	role_att = get_attnum(relid, "role_name");
	node_att = get_attnum(relid, "node_id");
	oid_att = get_attnum(relid, "role_oid");	/* none before the 0.3.0 update */
	if (role_att == InvalidAttrNumber || node_att == InvalidAttrNumber)
		elog(ERROR, "inventory_erp: erp.node_access lacks role_name or node_id");

	/* read into a fresh context first: an error leaves the old copy intact */
	loaded = palloc(sizeof(NodeGrant) * size);
	rel = table_open(relid, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		role_null,
					node_null;
		Datum		role = heap_getattr(tup, role_att, RelationGetDescr(rel), &role_null);
		Datum		node = heap_getattr(tup, node_att, RelationGetDescr(rel), &node_null);

		if (role_null || node_null)
			continue;
		if (n == size)
		{
			size *= 2;
			loaded = repalloc(loaded, sizeof(NodeGrant) * size);
		}
		namestrcpy(&loaded[n].role_name, NameStr(*DatumGetName(role)));
		loaded[n].role_oid = InvalidOid;
		if (oid_att != InvalidAttrNumber)
		{
			bool		oid_null;
			Datum		oid = heap_getattr(tup, oid_att, RelationGetDescr(rel), &oid_null);

			if (!oid_null)
				loaded[n].role_oid = DatumGetObjectId(oid);
		}
		loaded[n].node_id = DatumGetInt64(node);
		n++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	MemoryContextReset(access_cxt);
	grants = MemoryContextAlloc(access_cxt, sizeof(NodeGrant) * Max(n, 1));
	if (n > 0)
		memcpy(grants, loaded, sizeof(NodeGrant) * n);
	pfree(loaded);
	num_grants = n;
	access_relid = relid;
	grants_valid = (access_invalidations == before);
}

static int
AccessCompareNodes(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * AccessNodesOf: the nodes of identity who, sorted and distinct, into nodes
 * (room for every grant); returns how many (0: no partner).  Role names are
 * resolved to roles at every resolution: a role named in erp.node_access
 * that does not exist grants nothing, and one created (again) under that
 * name is the partner.  The role the row's name named when it was written
 * (role_oid) is the partner too, so that a partner renamed stays one.
 * Membership ignores INHERIT: a NOINHERIT member is still the partner's
 * person.
 */
static int
AccessNodesOf(Oid who, const NodeGrant *g, int ng, int64 *nodes)
{
	int			i,
				n = 0;

	if (!OidIsValid(who) || superuser_arg(who))
		return 0;
	for (i = 0; i < ng; i++)
	{
		Oid			role = get_role_oid(NameStr(g[i].role_name), true);

		if ((OidIsValid(role) && is_member_of_role_nosuper(who, role)) ||
			(OidIsValid(g[i].role_oid) && g[i].role_oid != role &&
			 SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(g[i].role_oid)) &&
			 is_member_of_role_nosuper(who, g[i].role_oid)))
			nodes[n++] = g[i].node_id;
	}
	if (n > 1)
	{
		int			j = 0;

		qsort(nodes, n, sizeof(int64), AccessCompareNodes);
		for (i = 1; i < n; i++)
			if (nodes[i] != nodes[j])
				nodes[++j] = nodes[i];
		n = j + 1;
	}
	return n;
}

/* AccessResolve: whether identity who is a partner, and its nodes. */
static void
AccessResolve(Oid who)
{
	uint64		before;
	int64	   *nodes;
	int			n;

	if (!grants_valid)
		AccessLoadGrants();
	before = access_invalidations;

	if (ident_cxt == NULL)
		ident_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp access identity",
										  ALLOCSET_SMALL_SIZES);
	nodes = palloc(sizeof(int64) * Max(num_grants, 1));
	n = AccessNodesOf(who, grants, num_grants, nodes);

	MemoryContextReset(ident_cxt);
	ident_nodes = MemoryContextAlloc(ident_cxt, sizeof(int64) * Max(n, 1));
	if (n > 0)
		memcpy(ident_nodes, nodes, sizeof(int64) * n);
	pfree(nodes);
	ident_nnodes = n;
	ident_restricted = n > 0;
	ident_oid = who;
	ident_valid = (access_invalidations == before);
}

/*
 * The caller of the outermost public function running (IerpCallAsOwner),
 * InvalidOid when none runs: then the current user is the caller.
 */
static Oid	entry_caller = InvalidOid;

/* the orders this transaction changed on Citus (see AccessSyncOrders) */
static int	touched_count = 0;
static void AccessSyncOrders(void);

/* set once at load by idempotency.c: runs a public function's body */
IerpEntryHook ierp_entry_hook = NULL;
static int	entry_depth = 0;

static Oid
AccessCaller(void)
{
	return entry_depth > 0 ? entry_caller : GetUserId();
}

/*
 * AccessForeignDefiner: the owner of a SECURITY DEFINER function that is
 * running on behalf of a login with rights it does not have, or InvalidOid.
 * The caller (the current user when a public function was called, or when a
 * policy asks) is foreign when it is not the role the session has in effect,
 * the login is no member of it (a member could act as it anyway), and
 * neither is a superuser (a superuser's session is taken as the role it acts
 * as; PostgreSQL runs a materialized view's refresh as the view's owner).
 * Such a function acts with one role's rights in another login's name - and
 * any role can own one: a group role too, once a member SETs it - so neither
 * the partner rule nor four eyes could tell who acts: the extension refuses
 * to act and row level security shows nothing there.
 */
static Oid
AccessForeignDefiner(void)
{
	Oid			caller = AccessCaller();
	Oid			in_effect = GetCurrentRoleId();
	Oid			session = GetSessionUserId();

	if (!OidIsValid(in_effect))
		in_effect = session;
	if (caller == in_effect || superuser_arg(caller) || superuser_arg(session) ||
		is_member_of_role_nosuper(session, caller))
		return InvalidOid;
	return caller;
}

/*
 * IerpSessionIdentity: who acts, for access and for the four-eyes rule: the
 * login, whatever role it SETs, or - in a superuser's session - the role it
 * acts as (how a DBA looks through a partner's eyes).
 */
Oid
IerpSessionIdentity(void)
{
	Oid			caller = AccessCaller();
	Oid			session = GetSessionUserId();

	if (!superuser_arg(session))
		return session;
	/* a superuser caller here is a SECURITY DEFINER function of ours: the role set */
	return superuser_arg(caller) ? GetOuterUserId() : caller;
}

/*
 * IerpCallAsOwner: runs body, the C body of a public function, as the owner
 * of that function (what SECURITY DEFINER would do), after recording its
 * caller: a SECURITY DEFINER declaration would hide whose function called
 * ours.  The previous user is restored on the way out, error or not.
 */
Datum
IerpCallAsOwner(PGFunction body, FunctionCallInfo fcinfo)
{
	Oid			save_user;
	int			save_sec;
	Oid			owner;
	HeapTuple	proc;
	volatile Datum result = (Datum) 0;

	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(proc))
		elog(ERROR, "inventory_erp: cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	owner = ((Form_pg_proc) GETSTRUCT(proc))->proowner;
	ReleaseSysCache(proc);

	GetUserIdAndSecContext(&save_user, &save_sec);
	if (entry_depth == 0)
	{
		Oid			definer;

		entry_caller = save_user;
		definer = AccessForeignDefiner();
		if (OidIsValid(definer))
		{
			entry_caller = InvalidOid;
			ereport(ERROR,
					(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
					 errmsg("inventory_erp does not act inside a SECURITY DEFINER function of role \"%s\"",
							GetUserNameFromId(definer, false)),
					 errdetail("Such a function acts with that role's rights in the name of login \"%s\": "
							   "neither partner access nor four eyes could tell who acts.",
							   GetUserNameFromId(GetSessionUserId(), false)),
					 errhint("Call the function directly, or have a superuser own the wrapper.")));
		}
	}
	entry_depth++;
	PG_TRY();
	{
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
		/* the body, or what the entry hook makes of it (idempotency.c) */
		result = ierp_entry_hook ? ierp_entry_hook(body, fcinfo) : body(fcinfo);
		/* on Citus: the nodes of the orders this call changed, for every node to read */
		if (entry_depth == 1 && touched_count > 0)
			AccessSyncOrders();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_user, save_sec);
		if (--entry_depth == 0)
			entry_caller = InvalidOid;
	}
	PG_END_TRY();
	return result;
}

/*
 * The books on Citus.  The guards of the stock and cost tables (IE005) are
 * triggers: on one node they fire on the table, in the backend that knows
 * whether the kernel is writing; on Citus they fire on the shards, in a
 * backend Citus opened, where the kernel's routed statements and a
 * superuser's own statement through the coordinator look alike
 * (StockShardWriteRouted lets both through).  So in the client's backend,
 * before Citus sends anything, a statement that writes one of these tables
 * while no public function of the extension runs here (entry_depth 0) is
 * refused as the guard would refuse it on one node: when the session may
 * write the table (else the executor's 42501 comes first), one of the table's
 * guard triggers would fire for it (enabled, in this session_replication_role;
 * erp.archive_ledger's replica mode and erp.undistribute()'s disabled
 * triggers pass, as on one node), and, for INSERT, not in restore mode.
 */
typedef struct BookGuard
{
	const char *table;
	const char *triggers[2];
} BookGuard;

static const BookGuard book_guards[] = {
	{"stock_slot", {"stock_slot_derived", "stock_slot_derived_insert"}},
	{"stock_move", {"stock_move_guard", "stock_move_append_only"}},
	{"cost_entry", {"cost_entry_guard", NULL}},
	{"cost_balance", {"cost_balance_guard", NULL}},
	{"cost_delta", {"cost_delta_guard", NULL}},
	{"cost_layer", {"cost_layer_guard", NULL}},
	{"landed_cost", {"landed_cost_guard", NULL}},
	{"landed_cost_line", {"landed_cost_line_guard", NULL}},
};

/* AccessGuardFires: whether a guard trigger of g on rel fires BEFORE event (TRIGGER_TYPE_*) now. */
static bool
AccessGuardFires(Relation rel, const BookGuard *g, int16 event)
{
	TriggerDesc *td = rel->trigdesc;
	int			i,
				k;

	if (td == NULL)
		return false;
	for (i = 0; i < td->numtriggers; i++)
	{
		const Trigger *t = &td->triggers[i];
		bool		named = false;

		for (k = 0; k < lengthof(g->triggers); k++)
			if (g->triggers[k] != NULL && strcmp(t->tgname, g->triggers[k]) == 0)
				named = true;
		if (!named || !TRIGGER_FOR_BEFORE(t->tgtype) || (t->tgtype & event) == 0)
			continue;
		if (t->tgenabled == TRIGGER_DISABLED)
			continue;
		if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA
			? t->tgenabled == TRIGGER_FIRES_ON_ORIGIN
			: t->tgenabled == TRIGGER_FIRES_ON_REPLICA)
			continue;
		return true;
	}
	return false;
}

static void
AccessRefuseBookWrites(Query *query, Oid nsp)
{
	ListCell   *lc;

	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = (CommonTableExpr *) lfirst(lc);

		if (cte->ctequery != NULL && IsA(cte->ctequery, Query))
			AccessRefuseBookWrites((Query *) cte->ctequery, nsp);
	}
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
		const BookGuard *g = NULL;
		const char *name;
		int16		event = 0;
		int			i;
		Relation	rel;
		bool		fires;

		if (rte->rtekind == RTE_SUBQUERY && rte->subquery != NULL)
			AccessRefuseBookWrites(rte->subquery, nsp);
		if (rte->rtekind != RTE_RELATION ||
			(rte->requiredPerms & (ACL_INSERT | ACL_UPDATE | ACL_DELETE)) == 0 ||
			get_rel_namespace(rte->relid) != nsp)
			continue;
		name = get_rel_name(rte->relid);
		for (i = 0; name != NULL && i < lengthof(book_guards); i++)
			if (strcmp(name, book_guards[i].table) == 0)
				g = &book_guards[i];
		/* on one node the guards themselves decide, on the table */
		if (g == NULL || StockDirectAccess())
			continue;
		if ((rte->requiredPerms & ACL_INSERT) && !ierp_restore_mode)
			event |= TRIGGER_TYPE_INSERT;
		if (rte->requiredPerms & ACL_UPDATE)
			event |= TRIGGER_TYPE_UPDATE;
		if (rte->requiredPerms & ACL_DELETE)
			event |= TRIGGER_TYPE_DELETE;
		/* without the privilege the executor refuses it first (42501), as on one node */
		if (event == 0 ||
			pg_class_aclcheck(rte->relid, OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId(),
							  rte->requiredPerms & (ACL_INSERT | ACL_UPDATE | ACL_DELETE)) != ACLCHECK_OK)
			continue;
		/* the parser locked the statement's relations */
		rel = relation_open(rte->relid, NoLock);
		fires = AccessGuardFires(rel, g, event);
		relation_close(rel, NoLock);
		if (fires)
			ereport(ERROR,
					(errcode(ERRCODE_IERP_APPEND_ONLY),
					 errmsg("erp.%s is written only by the extension's functions", g->table),
					 errdetail("The ledger is append-only and balances and costs are derived from it; "
							   "on Citus this write is refused on the node it was sent to."),
					 errhint("Use erp.receive(), erp.move() or erp.adjust() to change stock.")));
	}
}

/*
 * AccessPlanner: the check above, when a statement that writes is planned in
 * a client's backend (before Citus's planner, which comes next, routes it).
 */
static PlannedStmt *
AccessPlanner(Query *parse, const char *query_string, int cursor_options, ParamListInfo bound_params)
{
	if (entry_depth == 0 && (parse->commandType != CMD_SELECT || parse->hasModifyingCTE) &&
		parse->commandType != CMD_UTILITY &&
		!creating_extension && GetConfigOption(CITUS_LOADED_GUC, true, false) != NULL)
	{
		const char *app = application_name;
		Oid			nsp = get_namespace_oid("erp", true);

		if ((app == NULL || strncmp(app, "citus_internal", strlen("citus_internal")) != 0) &&
			OidIsValid(nsp))
			AccessRefuseBookWrites(parse, nsp);
	}
	if (prev_planner)
		return prev_planner(parse, query_string, cursor_options, bound_params);
	return standard_planner(parse, query_string, cursor_options, bound_params);
}

/* IerpActorName: the identity's name, as recorded in created_by, actor, ... */
char *
IerpActorName(void)
{
	return GetUserNameFromId(IerpSessionIdentity(), false);
}

/* AccessIdentity: makes the cached identity the session's; returns whether it is a partner. */
static inline bool
AccessIdentity(void)
{
	Oid			who = IerpSessionIdentity();

	/* inside another role's SECURITY DEFINER function: a partner of no node (sees nothing) */
	if (OidIsValid(AccessForeignDefiner()))
	{
		ident_valid = false;
		ident_restricted = true;
		ident_nnodes = 0;
		return true;
	}
	if (!ident_valid || ident_oid != who)
		AccessResolve(who);
	return ident_restricted;
}

/* AccessRestricted: whether the session is a partner's. */
bool
AccessRestricted(void)
{
	return AccessIdentity();
}

/*
 * AccessNodeVisible: whether the session may see and act at node_id.
 * (Promises such as erp.atp read through the extension's owner; for a
 * partner they count its nodes only.)
 */
bool
AccessNodeVisible(int64 node_id)
{
	if (!AccessIdentity())
		return true;
	return bsearch(&node_id, ident_nodes, ident_nnodes, sizeof(int64), AccessCompareNodes) != NULL;
}

static void
AccessRefuse(const char *what_fmt, int64 id, const char *node_code)
{
	char	   *what = psprintf(what_fmt, id);

	ereport(ERROR,
			(errcode(ERRCODE_IERP_APPROVAL_REQUIRED),
			 node_code ? errmsg("role \"%s\" has no access to node \"%s\"", IerpActorName(), node_code)
			 : errmsg("role \"%s\" has no access to %s", IerpActorName(), what),
			 errdetail("Partner roles see and act on the nodes erp.node_access lists for them only."),
			 errhint("An erp_admin can grant the node: INSERT INTO erp.node_access (role_name, node_id).")));
}

/* AccessCheckNode: refuses (IE009) an action at node_id by a partner not granted it. */
void
AccessCheckNode(int64 node_id)
{
	if (!AccessNodeVisible(node_id))
		AccessRefuse("node " INT64_FORMAT, node_id, IerpNodeCode(node_id));
}

/*
 * AccessNodesCount: runs plan (node ids of a document, one bigint
 * parameter); returns how many of the nodes it returned are the partner's,
 * and sets *total to how many (not NULL) it returned.
 */
static uint64
AccessNodesCount(SPIPlanPtr plan, int64 id, bool read_only, uint64 *total)
{
	Datum		values[1];
	uint64		i,
				visible = 0;

	values[0] = Int64GetDatum(id);
	if (SPI_execute_plan(plan, values, NULL, read_only, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the nodes of a document");
	*total = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		node = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)
			continue;
		(*total)++;
		if (AccessNodeVisible(DatumGetInt64(node)))
			visible++;
	}
	return visible;
}

/*
 * On Citus, a document rule may be asked inside a query on a shard: a
 * partner's statement that joins its orders or returns with stock rows runs
 * the row level security policy of the document (a reference table) in
 * Citus's query on each shard, on this node or on a connection Citus opened
 * to another node (its application_name starts with "citus_internal").
 * There the rule cannot read the reservations of other nodes: Citus refuses
 * a distributed query inside a query on a shard (and, when told to allow it,
 * reads over the connection the outer query is using).  There the rule reads
 * this node's placements of reference tables instead (AccessOrderRuleLocal,
 * AccessRmaRuleLocal): erp.order_node, the nodes where each order holds or
 * shipped stock, which the backend that changes an order keeps
 * (AccessSyncOrders), and erp.rma_line.  The C checks (IE009) and a
 * partner's reads of the documents themselves run in the partner's own
 * backend, where the full rule decides.
 */
#define CITUS_NESTED_ERROR "cannot execute a distributed query from a query on a shard"

typedef bool (*AccessRule) (int64 id, bool read_only);

static bool
AccessOnCitus(AccessRule rule, AccessRule local, int64 id, bool read_only)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	const char *app;
	volatile bool own = false;

	if (GetConfigOption(CITUS_LOADED_GUC, true, false) == NULL)
		return rule(id, read_only);
	app = GetConfigOption("application_name", true, false);
	if (app != NULL && strncmp(app, "citus_internal", strlen("citus_internal")) == 0)
		return local(id, read_only);
	/* no subtransaction inside a parallel query (the rule is PARALLEL RESTRICTED: the leader) */
	if (IsInParallelMode())
		return rule(id, read_only);
	/* a query on a shard of this node: Citus's refusal, in a subtransaction */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		own = rule(id, read_only);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_INTERNAL_ERROR || edata->message == NULL ||
			strncmp(edata->message, CITUS_NESTED_ERROR, strlen(CITUS_NESTED_ERROR)) != 0)
			ReThrowError(edata);
		FreeErrorData(edata);
		own = local(id, read_only);
	}
	PG_END_TRY();
	return own;
}

/*
 * AccessOrderRule: the order rule (see the file header), for a partner.
 * Queries run in an SPI connection of their own, with operators qualified.
 */
static bool
AccessOrderRule(int64 order_id, bool read_only)
{
	static SPIPlanPtr held_plan = NULL;
	static SPIPlanPtr channel_plan = NULL;
	static const Oid argtypes[1] = {INT8OID};
	uint64		visible,
				total;
	bool		own;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&held_plan,
			 "SELECT r.node_id FROM erp.reservation r WHERE r.order_id OPERATOR(pg_catalog.=) $1"
			 " UNION SELECT s.node_id FROM erp.shipment_line s WHERE s.order_id OPERATOR(pg_catalog.=) $1",
			 1, argtypes);
	visible = AccessNodesCount(held_plan, order_id, read_only, &total);
	own = total > 0 && visible == total;
	if (total == 0)
	{
		IerpPlan(&channel_plan,
				 "SELECT cn.node_id FROM erp.sales_order o JOIN erp.channel_node cn"
				 " ON cn.channel_id OPERATOR(pg_catalog.=) o.channel_id"
				 " WHERE o.order_id OPERATOR(pg_catalog.=) $1",
				 1, argtypes);
		own = AccessNodesCount(channel_plan, order_id, read_only, &total) > 0;
	}
	SPI_finish();
	return own;
}

/* AccessRmaRule: the return rule (see the file header), for a partner. */
static bool
AccessRmaRule(int64 rma_id, bool read_only)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[1] = {INT8OID};
	uint64		visible,
				total;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&plan,
			 "SELECT l.node_id FROM erp.rma_line l WHERE l.rma_id OPERATOR(pg_catalog.=) $1"
			 " UNION SELECT l.received_node_id FROM erp.rma_line l WHERE l.rma_id OPERATOR(pg_catalog.=) $1",
			 1, argtypes);
	visible = AccessNodesCount(plan, rma_id, read_only, &total);
	SPI_finish();
	return total > 0 && visible == total;
}

/*
 * A query on this node's placement of reference tables, for the rules asked
 * inside a query on a shard (Citus plans no statement on a placement: it is
 * a plain table of this node).  sql has one %s per table of names; the plan
 * is kept and prepared again when a placement changes (erp.distribute()
 * after erp.undistribute()).
 */
typedef struct LocalPlan
{
	const char *sql;
	int			ntables;
	const char *names[2];
	Oid			relids[2];
	SPIPlanPtr	plan;
} LocalPlan;

static SPIPlanPtr
AccessLocalPlan(LocalPlan *lp)
{
	static const Oid argtypes[1] = {INT8OID};
	Oid			relids[2] = {InvalidOid, InvalidOid};
	char	   *qualified[2] = {NULL, NULL};
	bool		same = lp->plan != NULL;
	int			i;
	char	   *sql;

	for (i = 0; i < lp->ntables; i++)
	{
		/* a placement still there keeps its oid; else look it up again */
		if (OidIsValid(lp->relids[i]) && SearchSysCacheExists1(RELOID, ObjectIdGetDatum(lp->relids[i])))
			relids[i] = lp->relids[i];
		else
			relids[i] = IerpLocalRelid(lp->names[i]);
		if (!OidIsValid(relids[i]))
			elog(ERROR, "inventory_erp: no table erp.%s on this node", lp->names[i]);
		if (relids[i] != lp->relids[i])
			same = false;
	}
	if (same)
		return lp->plan;
	if (lp->plan != NULL)
	{
		SPI_freeplan(lp->plan);
		lp->plan = NULL;
	}
	for (i = 0; i < lp->ntables; i++)
	{
		char	   *rel = get_rel_name(relids[i]);

		if (rel == NULL)
			elog(ERROR, "inventory_erp: no table erp.%s on this node", lp->names[i]);
		qualified[i] = quote_qualified_identifier("erp", rel);
	}
	sql = lp->ntables == 1 ? psprintf(lp->sql, qualified[0]) : psprintf(lp->sql, qualified[0], qualified[1]);
	lp->plan = NULL;
	IerpPlan(&lp->plan, sql, 1, argtypes);
	for (i = 0; i < lp->ntables; i++)
		lp->relids[i] = relids[i];
	pfree(sql);
	return lp->plan;
}

/*
 * AccessOrderRuleLocal: the order rule from this node's placements: the
 * nodes erp.order_node lists for the order (kept with its reservations and
 * shipments, AccessSyncOrders), else its channel's nodes.
 */
static bool
AccessOrderRuleLocal(int64 order_id, bool read_only)
{
	static LocalPlan held = {
		"SELECT n.node_id FROM %s n WHERE n.order_id OPERATOR(pg_catalog.=) $1", 1, {"order_node"}
	};
	static LocalPlan channel = {
		"SELECT cn.node_id FROM %s o JOIN %s cn ON cn.channel_id OPERATOR(pg_catalog.=) o.channel_id"
		" WHERE o.order_id OPERATOR(pg_catalog.=) $1", 2, {"sales_order", "channel_node"}
	};
	uint64		visible,
				total;
	bool		own;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	visible = AccessNodesCount(AccessLocalPlan(&held), order_id, true, &total);
	own = total > 0 && visible == total;
	if (total == 0)
		own = AccessNodesCount(AccessLocalPlan(&channel), order_id, true, &total) > 0;
	SPI_finish();
	return own;
}

/* AccessRmaRuleLocal: the return rule from this node's placement of erp.rma_line. */
static bool
AccessRmaRuleLocal(int64 rma_id, bool read_only)
{
	static LocalPlan lines = {
		"SELECT l.node_id FROM %1$s l WHERE l.rma_id OPERATOR(pg_catalog.=) $1"
		" UNION SELECT l.received_node_id FROM %1$s l WHERE l.rma_id OPERATOR(pg_catalog.=) $1", 1, {"rma_line"}
	};
	uint64		visible,
				total;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	visible = AccessNodesCount(AccessLocalPlan(&lines), rma_id, true, &total);
	SPI_finish();
	return total > 0 && visible == total;
}

/*
 * erp.order_node on Citus.  erp.distribute() fills it and puts the trigger
 * erp.order_node_touched() on the order tables (sales_order, order_line,
 * shipment_line), which Citus runs on every placement of them: on the
 * placement of the node the client called, in its own backend, it notes the
 * order (touched_orders); elsewhere (a connection Citus opened) it does
 * nothing.  When the outermost public function returns (IerpCallAsOwner),
 * AccessSyncOrders writes the nodes where each noted order holds or shipped
 * stock into erp.order_node, in the same transaction, so every node can read
 * them locally.  Every change of an order's reservations (allocate, release,
 * cancel, ship, edit) writes its lines or the order too.  On one node there
 * is no such trigger, and nothing is noted.
 */
static int64 *touched_orders = NULL;
static int	touched_size = 0;
static LocalTransactionId touched_lxid = InvalidLocalTransactionId;

PG_FUNCTION_INFO_V1(ierp_access_order_touched);

Datum
ierp_access_order_touched(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	AttrNumber	att;
	bool		isnull;
	Datum		order;
	const char *app = application_name;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		elog(ERROR, "inventory_erp: erp.order_node_touched() must be an AFTER ROW trigger");
	/* a placement written on a connection Citus opened: the client's backend notes it */
	if (app != NULL && strncmp(app, "citus_internal", strlen("citus_internal")) == 0)
		return PointerGetDatum(NULL);
	tup = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	/*
	 * A new order, or a new line that holds nothing (capture): no stock yet.
	 * A line written with units allocated (an order placed and allocated at
	 * once), any update, and every shipment line may change its nodes.
	 */
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		AttrNumber	alloc = SPI_fnumber(RelationGetDescr(trigdata->tg_relation), "qty_allocated");
		bool		shipment = SPI_fnumber(RelationGetDescr(trigdata->tg_relation), "shipment_id") > 0;

		if (!shipment)
		{
			Datum		qty;

			if (alloc <= 0)
				return PointerGetDatum(NULL);	/* the order itself */
			qty = heap_getattr(tup, alloc, RelationGetDescr(trigdata->tg_relation), &isnull);
			if (isnull || DatumGetInt64(qty) == 0)
				return PointerGetDatum(NULL);
		}
	}
	att = SPI_fnumber(RelationGetDescr(trigdata->tg_relation), "order_id");
	if (att <= 0)
		elog(ERROR, "inventory_erp: erp.order_node_touched() on a table without order_id");
	order = heap_getattr(tup, att, RelationGetDescr(trigdata->tg_relation), &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	if (touched_lxid != MyProc->lxid || touched_orders == NULL)
	{
		touched_orders = MemoryContextAlloc(TopTransactionContext, sizeof(int64) * 16);
		touched_size = 16;
		touched_count = 0;
		touched_lxid = MyProc->lxid;
	}
	if (touched_count > 0 && touched_orders[touched_count - 1] == DatumGetInt64(order))
		return PointerGetDatum(NULL);
	if (touched_count == touched_size)
	{
		touched_size *= 2;
		touched_orders = repalloc(touched_orders, sizeof(int64) * touched_size);
	}
	touched_orders[touched_count++] = DatumGetInt64(order);
	return PointerGetDatum(NULL);
}

/*
 * AccessSyncOrders: erp.order_node of the orders noted in this transaction
 * made what their reservations and shipment lines say (rows written only
 * when they differ).  Runs as the extension's owner.
 */
static void
AccessSyncOrders(void)
{
	static SPIPlanPtr want_plan = NULL;
	static SPIPlanPtr have_plan = NULL;
	static SPIPlanPtr drop_plan = NULL;
	static SPIPlanPtr add_plan = NULL;
	static const Oid one[1] = {INT8ARRAYOID};
	static const Oid two[2] = {INT8ARRAYOID, INT8ARRAYOID};
	Datum	   *ids;
	Datum	   *want_orders;
	Datum	   *want_nodes;
	int			n,
				nwant,
				i;
	Datum		orders;

	if (touched_count == 0 || touched_lxid != MyProc->lxid)
	{
		touched_count = 0;
		return;
	}
	n = touched_count;
	ids = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		ids[i] = Int64GetDatum(touched_orders[i]);
	touched_count = 0;
	orders = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	/* what the orders hold or shipped, and what erp.order_node says, in one order */
	IerpPlan(&want_plan,
			 "SELECT r.order_id, r.node_id FROM erp.reservation r WHERE r.order_id OPERATOR(pg_catalog.=) ANY ($1)"
			 " UNION SELECT l.order_id, l.node_id FROM erp.shipment_line l WHERE l.order_id OPERATOR(pg_catalog.=) ANY ($1)"
			 " ORDER BY 1, 2",
			 1, one);
	if (SPI_execute_plan(want_plan, &orders, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the nodes of orders");
	nwant = (int) SPI_processed;
	want_orders = palloc(sizeof(Datum) * Max(nwant, 1));
	want_nodes = palloc(sizeof(Datum) * Max(nwant, 1));
	for (i = 0; i < nwant; i++)
	{
		bool		isnull;

		want_orders[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		want_nodes[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
	}
	IerpPlan(&have_plan,
			 "SELECT n.order_id, n.node_id FROM erp.order_node n WHERE n.order_id OPERATOR(pg_catalog.=) ANY ($1)"
			 " ORDER BY 1, 2",
			 1, one);
	if (SPI_execute_plan(have_plan, &orders, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read erp.order_node");
	{
		/* the pairs to add (wanted, not there) and to drop (there, not wanted): both sorted */
		uint64		nhave = SPI_processed;
		SPITupleTable *have = SPI_tuptable;
		Datum	   *add_o = palloc(sizeof(Datum) * Max(nwant, 1));
		Datum	   *add_n = palloc(sizeof(Datum) * Max(nwant, 1));
		Datum	   *drop_o = palloc(sizeof(Datum) * Max(nhave, 1));
		Datum	   *drop_n = palloc(sizeof(Datum) * Max(nhave, 1));
		int			nadd = 0,
					ndrop = 0,
					w = 0;
		uint64		h = 0;

		while (w < nwant || h < nhave)
		{
			int			cmp;
			bool		isnull;
			int64		ho = 0,
						hn = 0;

			if (h < nhave)
			{
				ho = DatumGetInt64(SPI_getbinval(have->vals[h], have->tupdesc, 1, &isnull));
				hn = DatumGetInt64(SPI_getbinval(have->vals[h], have->tupdesc, 2, &isnull));
			}
			if (w >= nwant)
				cmp = 1;
			else if (h >= nhave)
				cmp = -1;
			else if (DatumGetInt64(want_orders[w]) != ho)
				cmp = DatumGetInt64(want_orders[w]) < ho ? -1 : 1;
			else
				cmp = DatumGetInt64(want_nodes[w]) < hn ? -1 : (DatumGetInt64(want_nodes[w]) > hn ? 1 : 0);
			if (cmp < 0)
			{
				add_o[nadd] = want_orders[w];
				add_n[nadd++] = want_nodes[w++];
			}
			else if (cmp > 0)
			{
				drop_o[ndrop] = Int64GetDatum(ho);
				drop_n[ndrop++] = Int64GetDatum(hn);
				h++;
			}
			else
			{
				w++;
				h++;
			}
		}
		/* rare (a cancelled, released or moved reservation): a statement per pair */
		for (i = 0; i < ndrop; i++)
		{
			IerpPlan(&drop_plan,
					 "DELETE FROM erp.order_node WHERE order_id OPERATOR(pg_catalog.=) $1"
					 " AND node_id OPERATOR(pg_catalog.=) $2",
					 2, (Oid[]) {INT8OID, INT8OID});
			if (SPI_execute_plan(drop_plan, (Datum[]) {drop_o[i], drop_n[i]}, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "inventory_erp: cannot write erp.order_node");
		}
		if (nadd > 0)
		{
			Datum		values[2];

			IerpPlan(&add_plan,
					 "INSERT INTO erp.order_node (order_id, node_id)"
					 " SELECT o, n FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(o, n)",
					 2, two);
			values[0] = PointerGetDatum(construct_array(add_o, nadd, INT8OID, sizeof(int64),
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			values[1] = PointerGetDatum(construct_array(add_n, nadd, INT8OID, sizeof(int64),
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			if (SPI_execute_plan(add_plan, values, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "inventory_erp: cannot write erp.order_node");
		}
	}
	SPI_finish();				/* frees what was read (its procedure context) */
	pfree(ids);
}

/* AccessOrderOwn, AccessRmaOwn: the rules, wherever they are asked */
static bool
AccessOrderOwn(int64 order_id, bool read_only)
{
	return AccessOnCitus(AccessOrderRule, AccessOrderRuleLocal, order_id, read_only);
}

static bool
AccessRmaOwn(int64 rma_id, bool read_only)
{
	return AccessOnCitus(AccessRmaRule, AccessRmaRuleLocal, rma_id, read_only);
}

/* AccessCheckOrder: refuses (IE009) a partner's action on an order that is not its own. */
void
AccessCheckOrder(int64 order_id)
{
	if (AccessRestricted() && !AccessOrderOwn(order_id, false))
		AccessRefuse("order " INT64_FORMAT, order_id, NULL);
}

/* AccessCheckChannel: refuses (IE009) a partner's order on a channel none of its nodes fulfils. */
void
AccessCheckChannel(int64 channel_id)
{
	static SPIPlanPtr plan = NULL;
	static const Oid argtypes[1] = {INT8OID};
	uint64		total;
	bool		own;

	if (!AccessRestricted())
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	IerpPlan(&plan, "SELECT cn.node_id FROM erp.channel_node cn WHERE cn.channel_id OPERATOR(pg_catalog.=) $1",
			 1, argtypes);
	own = AccessNodesCount(plan, channel_id, false, &total) > 0;
	SPI_finish();
	if (!own)
		AccessRefuse("channel " INT64_FORMAT, channel_id, NULL);
}

/* AccessCheckRma: refuses (IE009) a partner's action on a return that is not its own. */
void
AccessCheckRma(int64 rma_id)
{
	if (AccessRestricted() && !AccessRmaOwn(rma_id, false))
		AccessRefuse("return " INT64_FORMAT, rma_id, NULL);
}

/*
 * erp.visible_nodes(): the nodes the session may see when it is a partner
 * (sorted), NULL when it sees every node.  Row level security and the views
 * decide with it, as the C checks do.
 */
Datum
ierp_access_visible_nodes(PG_FUNCTION_ARGS)
{
	Datum	   *elems;
	int			i;

	if (!AccessIdentity())
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * ident_nnodes);
	for (i = 0; i < ident_nnodes; i++)
		elems[i] = Int64GetDatum(ident_nodes[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, ident_nnodes, INT8OID, sizeof(int64),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * erp.order_visible(order_id): whether the session may see and act on the
 * order - the rule erp.allocate, erp.pick, erp.cancel_order, ... check.
 * True for every order when the session is no partner.
 */
static Datum
ierp_access_order_visible_body(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(!AccessRestricted() || AccessOrderOwn(PG_GETARG_INT64(0), true));
}

/* erp.rma_visible(rma_id): the same for a return. */
static Datum
ierp_access_rma_visible_body(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(!AccessRestricted() || AccessRmaOwn(PG_GETARG_INT64(0), true));
}

/*
 * AccessPoRule: whether a partner may see a purchase order (by_line: the
 * purchase order of a line): its node is one of the partner's.  Read from
 * this node's copy of the purchase orders (on one node the table itself;
 * on Citus this node's placement of the reference tables), so it decides
 * inside a query on a shard as well: the policies erp.distribute() gives
 * purchase order lines and landed costs on Citus call it (on one node their
 * subqueries read erp.purchase_order under its own policy: the same rule).
 */
static bool
AccessPoRule(int64 id, bool by_line)
{
	static LocalPlan po = {
		"SELECT p.node_id FROM %s p WHERE p.purchase_order_id OPERATOR(pg_catalog.=) $1", 1, {"purchase_order"}
	};
	static LocalPlan line = {
		"SELECT p.node_id FROM %s l JOIN %s p ON p.purchase_order_id OPERATOR(pg_catalog.=) l.purchase_order_id"
		" WHERE l.purchase_order_line_id OPERATOR(pg_catalog.=) $1", 2, {"purchase_order_line", "purchase_order"}
	};
	uint64		visible,
				total;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "inventory_erp: SPI_connect failed");
	visible = AccessNodesCount(AccessLocalPlan(by_line ? &line : &po), id, true, &total);
	SPI_finish();
	return total > 0 && visible == total;
}

/* erp.po_visible(purchase_order_id): whether the session may see the purchase order. */
static Datum
ierp_access_po_visible_body(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(!AccessRestricted() || AccessPoRule(PG_GETARG_INT64(0), false));
}

/* erp.po_line_visible(purchase_order_line_id): the same for a line's purchase order. */
static Datum
ierp_access_po_line_visible_body(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(!AccessRestricted() || AccessPoRule(PG_GETARG_INT64(0), true));
}
