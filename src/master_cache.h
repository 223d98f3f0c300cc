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

extern const MasterItem *MasterItemLookup(const char *sku);
extern int64 MasterNodeLookup(const char *code);
extern int64 MasterChannelLookup(const char *code);
extern void MasterCacheInit(void);

#endif							/* MASTER_CACHE_H */
