/*-------------------------------------------------------------------------
 *
 * edi_x12.h
 *	  The X12 reader and writer of inventory_erp's EDI (doc/edi.md): an
 *	  interchange (ISA ... IEA) split into segments and elements with its
 *	  envelopes checked, and an interchange written with correct counts and
 *	  control numbers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EDI_X12_H
#define EDI_X12_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/date.h"

/*
 * Limits of what the reader accepts (IE004 beyond them): the document's
 * bytes, its segments, the elements of one segment and the bytes of one
 * element.
 */
#define X12_MAX_DOCUMENT	(1024 * 1024)
#define X12_MAX_SEGMENTS	20000
#define X12_MAX_ELEMENTS	64
#define X12_MAX_ELEMENT_LEN	256
/* the fixed length of an ISA segment, its terminator included */
#define X12_ISA_LEN			106

typedef struct X12Segment
{
	int			pos;			/* 1-based position in the interchange (ISA = 1) */
	char		tag[4];			/* 2 or 3 characters, NUL-terminated */
	int			nelems;			/* elements after the tag */
	char	  **elems;			/* elems[0] is element 01 */
} X12Segment;

/* a transaction set: ST at segs[first], SE at segs[last] */
typedef struct X12Set
{
	char		type[4];		/* ST01: 850, 856, ... */
	int			first;
	int			last;
	int			group;			/* index of its GS segment */
} X12Set;

typedef struct X12Document
{
	char		elem_sep;
	char		comp_sep;
	char		seg_term;
	int			nsegs;
	X12Segment *segs;
	int			nsets;
	X12Set	   *sets;
} X12Document;

/*
 * X12Parse: reads text[0..len) into doc (palloc'ed in the current context),
 * checking the ISA's fixed layout, the nesting ISA/GS/ST ... SE/GE/IEA, the
 * control counts (SE01, GE01, IEA01) and that the control numbers of each
 * header and trailer match.  Refuses (IE004) anything else, naming the
 * segment, its position and the element.
 */
extern void X12Parse(const char *text, size_t len, X12Document *doc);

/* X12Elem: element n (1-based) of seg, "" when absent */
extern const char *X12Elem(const X12Segment *seg, int n);

/* X12Refuse: raises IE004 "segment P (TAG): element TAGnn <what>" */
extern void X12Refuse(const X12Segment *seg, int elem, const char *fmt,...)
			pg_attribute_printf(3, 4) pg_attribute_noreturn();

/* element checks that refuse (IE004) naming seg and element n */
extern const char *X12Required(const X12Segment *seg, int n);
extern int64 X12Quantity(const X12Segment *seg, int n);
extern DateADT X12Date(const X12Segment *seg, int n);
extern void X12CheckCount(const X12Segment *seg, int n, int expected, const char *counted);
extern void X12ExpectTag(const X12Document *doc, int i, const char *tag, const X12Segment *after);

/* the writer: separators '*', ':' and '~', one segment per line */
typedef struct X12Writer
{
	StringInfoData buf;
	int			set_segments;	/* segments of the open set, ST included */
	int			sets;			/* sets of the open group */
	int64		control;		/* interchange and group control number */
	char		set_control[10];
} X12Writer;

extern void X12WriteBegin(X12Writer *w, const char *sender, const char *receiver,
						  int64 control, const char *func_id, TimestampTz at);
extern void X12WriteSetBegin(X12Writer *w, const char *type);
extern void X12WriteSegment(X12Writer *w, const char *tag, int nelems, const char *const *elems);
extern void X12WriteSetEnd(X12Writer *w);
extern char *X12WriteEnd(X12Writer *w);
/* X12CheckValue: refuses (IE004) a value an element cannot carry */
extern void X12CheckValue(const char *value, const char *what);

#endif							/* EDI_X12_H */
