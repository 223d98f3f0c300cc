/*-------------------------------------------------------------------------
 *
 * edi.h
 *	  What the inbound (edi_in.c) and outbound (edi_out.c) X12 documents
 *	  share; the reader and writer themselves are in edi_x12.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EDI_H
#define EDI_H

#include "postgres.h"

#include "edi_x12.h"

/* EdiDateText: date as YYYY-MM-DD in buf */
extern char *EdiDateText(DateADT date, char *buf, size_t size);
/* EdiIsaId: ISA element n (06 sender, 08 receiver) without its padding */
extern char *EdiIsaId(const X12Document *doc, int n);

#endif							/* EDI_H */
