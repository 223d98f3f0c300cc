/*-------------------------------------------------------------------------
 *
 * event_stamp.h
 *	  Commit stamps of the transactions that write erp.event
 *	  (src/event_stamp.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENT_STAMP_H
#define EVENT_STAMP_H

/* registers the transaction callbacks (called from EventsInit) */
extern void EventStampInit(void);

/* the erp.event row trigger: this transaction commits events of txn_id */
extern void EventStampNote(int64 txn_id);

#endif							/* EVENT_STAMP_H */
