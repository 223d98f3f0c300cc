/*-------------------------------------------------------------------------
 *
 * access.c
 *	  The one partner rule, for reads and writes alike.  A session's identity
 *	  is its login (GetSessionUserId), whatever role it SETs; a superuser's
 *	  session is taken as the role it acts as, so that a DBA can look through
 *	  a partner's eyes with SET ROLE.  The session is a partner when that
 *	  identity is a member - directly or through other roles, inheriting or
 *	  not - of a role listed in erp.node_access; it then sees and acts on the
 *	  nodes listed for those roles only.
 *
 *	  erp.node_access is cached per backend by role *name* and dropped when it
 *	  changes (relcache invalidation); names are resolved to OIDs at every
 *	  check, so a role dropped and created again is the same partner.  Role
 *	  membership is PostgreSQL's own, cached and invalidated by it.
 *
 *	  Refuses (IE009): a partner acting at a node, or on an order, a return or
 *	  a channel, that is not its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "ierp.h"

typedef struct NodeGrant
{
	char	   *role_name;
	int64		node_id;
} NodeGrant;

static MemoryContext access_cxt = NULL;
static NodeGrant *grants = NULL;
static int	num_grants = -1;		/* -1: not loaded */
static Oid	access_relid = InvalidOid;

static void
AccessInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == access_relid)
		num_grants = -1;
}

void
AccessInit(void)
{
	CacheRegisterRelcacheCallback(AccessInvalidate, (Datum) 0);
}

static void
AccessLoad(void)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext old;
	uint64		i;

	IerpPlan(&plan, "SELECT a.role_name::text, a.node_id FROM erp.node_access a", 0, NULL);
	if (SPI_execute_plan(plan, NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read erp.node_access");
	if (access_cxt == NULL)
		access_cxt = AllocSetContextCreate(CacheMemoryContext, "inventory_erp node access",
										   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(access_cxt);
	old = MemoryContextSwitchTo(access_cxt);
	grants = palloc0(sizeof(NodeGrant) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		grants[i].role_name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		grants[i].node_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	}
	num_grants = (int) SPI_processed;
	access_relid = IerpRelid("node_access");
	MemoryContextSwitchTo(old);
}

/*
 * IerpSessionIdentity: who the session is, for access and for the four-eyes
 * rule: the login, or - in a superuser's session - the role it acts as.
 */
Oid
IerpSessionIdentity(void)
{
	Oid			session = GetSessionUserId();

	return superuser_arg(session) ? GetOuterUserId() : session;
}

/* IerpActorName: the identity's name, as recorded in created_by, actor, ... */
char *
IerpActorName(void)
{
	return GetUserNameFromId(IerpSessionIdentity(), false);
}

/*
 * AccessGrantMatches: whether grant g applies to identity who.  Membership
 * is checked without regard to INHERIT: a NOINHERIT member is still the
 * partner's person.
 */
static bool
AccessGrantMatches(const NodeGrant *g, Oid who)
{
	Oid			role = get_role_oid(g->role_name, true);

	return OidIsValid(role) && is_member_of_role_nosuper(who, role);
}

/*
 * AccessVisibility: whether the session is a partner, and if node_id is
 * given (> 0), whether that node is one of its own.
 */
static bool
AccessVisibility(int64 node_id, bool *restricted)
{
	Oid			who = IerpSessionIdentity();
	int			i;

	*restricted = false;
	if (num_grants < 0)
		AccessLoad();
	if (num_grants == 0 || superuser_arg(who))
		return true;
	for (i = 0; i < num_grants; i++)
	{
		if (!AccessGrantMatches(&grants[i], who))
			continue;
		*restricted = true;
		if (node_id > 0 && grants[i].node_id == node_id)
			return true;
	}
	return !*restricted;
}

/* AccessRestricted: whether the session is a partner's. */
bool
AccessRestricted(void)
{
	bool		restricted;

	(void) AccessVisibility(0, &restricted);
	return restricted;
}

/*
 * AccessNodeVisible: whether the session may see and act at node_id.
 * (Promises such as erp.atp read through the extension's owner; for a
 * partner they count its nodes only.)
 */
bool
AccessNodeVisible(int64 node_id)
{
	bool		restricted;

	return AccessVisibility(node_id, &restricted);
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
 * AccessCheckNodeList: runs a query returning node ids (one bigint parameter)
 * and refuses when any is not the partner's, or - with need_one - when none
 * is.  Returns how many nodes the query returned.
 */
static int
AccessCheckNodeList(SPIPlanPtr plan, int64 id, const char *what_fmt, bool need_one)
{
	uint64		i;
	bool		isnull;
	int			n;

	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the nodes of a document");
	n = (int) SPI_processed;
	for (i = 0; i < SPI_processed; i++)
	{
		int64		node_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 1, &isnull));

		if (!isnull && !AccessNodeVisible(node_id))
			AccessRefuse(what_fmt, id, NULL);
	}
	if (need_one && n == 0)
		AccessRefuse(what_fmt, id, NULL);
	return n;
}

/*
 * AccessCheckOrder: refuses (IE009) a partner's action on an order that holds
 * or shipped stock at a node not its own; an order with no stock anywhere yet
 * is its partner's when the order's channel is fulfilled by one of its nodes.
 */
void
AccessCheckOrder(int64 order_id)
{
	static SPIPlanPtr held_plan = NULL;
	static SPIPlanPtr channel_plan = NULL;

	if (!AccessRestricted())
		return;
	IerpPlan(&held_plan,
			 "SELECT r.node_id FROM erp.reservation r WHERE r.order_id = $1"
			 " UNION SELECT s.node_id FROM erp.shipment_line s WHERE s.order_id = $1",
			 1, (Oid[]) {INT8OID});
	if (AccessCheckNodeList(held_plan, order_id, "order " INT64_FORMAT, false) > 0)
		return;
	IerpPlan(&channel_plan,
			 "SELECT cn.node_id FROM erp.sales_order o JOIN erp.channel_node cn ON cn.channel_id = o.channel_id"
			 " WHERE o.order_id = $1",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(channel_plan, (Datum[]) {Int64GetDatum(order_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the nodes of an order");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		if (AccessNodeVisible(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull))))
			return;
	}
	AccessRefuse("order " INT64_FORMAT, order_id, NULL);
}

/* AccessCheckChannel: refuses (IE009) a partner's order on a channel none of its nodes fulfils. */
void
AccessCheckChannel(int64 channel_id)
{
	static SPIPlanPtr plan = NULL;

	if (!AccessRestricted())
		return;
	IerpPlan(&plan, "SELECT cn.node_id FROM erp.channel_node cn WHERE cn.channel_id = $1",
			 1, (Oid[]) {INT8OID});
	if (SPI_execute_plan(plan, (Datum[]) {Int64GetDatum(channel_id)}, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "inventory_erp: cannot read the nodes of a channel");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		if (AccessNodeVisible(DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull))))
			return;
	}
	AccessRefuse("channel " INT64_FORMAT, channel_id, NULL);
}

/* AccessCheckRma: refuses (IE009) a partner's action on a return with a line at another node. */
void
AccessCheckRma(int64 rma_id)
{
	static SPIPlanPtr plan = NULL;

	if (!AccessRestricted())
		return;
	IerpPlan(&plan,
			 "SELECT l.node_id FROM erp.rma_line l WHERE l.rma_id = $1"
			 " UNION SELECT l.received_node_id FROM erp.rma_line l WHERE l.rma_id = $1",
			 1, (Oid[]) {INT8OID});
	AccessCheckNodeList(plan, rma_id, "return " INT64_FORMAT, true);
}
