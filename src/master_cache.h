/*-------------------------------------------------------------------------
 *
 * master_cache.h
 *	  Per-backend caches of items, nodes and channels by business key
 *	  (master_cache.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef MASTER_CACHE_H
#define MASTER_CACHE_H

#include "ierp.h"

typedef struct MasterItem
{
	ItemInfo	info;
	bool		active;			/* takes new orders */
	char		unit_price[32];	/* numeric(14,2) as text; "" when none */
} MasterItem;

/* a node as allocation and ATP consider it for a channel */
typedef struct MasterNode
{
	int64		node_id;
	int32		rank;			/* the channel's rank for the node; 0 without a channel */
	bool		has_coords;
	double		latitude;
	double		longitude;
	char	   *code;
} MasterNode;

typedef struct MasterPolicy
{
	int64		node_id;
	int64		safety_stock;
	int64		reorder_point;
} MasterPolicy;

extern const MasterItem *MasterItemLookup(const char *sku);
extern const MasterItem *MasterItemById(int64 item_id, const char **sku);
extern int	MasterChannelNodes(int64 channel_id, const MasterNode **out);
extern int	MasterItemPolicies(int64 item_id, const MasterPolicy **out);
extern bool MasterItemFenced(int64 item_id);
extern int64 MasterNodeLookup(const char *code);
extern int64 MasterChannelLookup(const char *code);
extern void MasterCacheInit(void);

#endif							/* MASTER_CACHE_H */
