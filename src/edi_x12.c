/*-------------------------------------------------------------------------
 *
 * edi_x12.c
 *	  The X12 interchange reader and writer (doc/edi.md, "Envelopes").
 *
 *	  Reading: the ISA segment has a fixed layout (106 bytes): its fourth byte
 *	  is the element separator, ISA16 the component separator and the byte
 *	  after ISA16 the segment terminator.  The rest is split on those; CR and
 *	  LF between segments are skipped.  Every byte is bounded: the document
 *	  (X12_MAX_DOCUMENT), the segments (X12_MAX_SEGMENTS), the elements of a
 *	  segment (X12_MAX_ELEMENTS) and an element (X12_MAX_ELEMENT_LEN); an
 *	  element holds printable ASCII only.  Then the envelopes: ISA, one or
 *	  more groups GS ... GE each of one or more sets ST ... SE, and IEA last;
 *	  SE01 counts the set's segments (ST and SE included), GE01 the group's
 *	  sets and IEA01 the groups; ST02/SE02, GS06/GE02 and ISA13/IEA02 match;
 *	  GS01 and GS06 are given, GS04 is a date CCYYMMDD and ST01 three digits.
 *	  Every refusal is IE004 naming the segment's position and tag and the
 *	  element.
 *
 *	  Writing: separators '*', ':' and '~' (a newline after each segment),
 *	  version 00401 / 004010, counts and control numbers filled in by the
 *	  writer; a value an element cannot carry (a separator, a control byte,
 *	  too long) is refused (IE004) rather than written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "utils/datetime.h"

#include "edi_x12.h"
#include "ierp.h"

/* the widths of ISA01 .. ISA16 */
static const int isa_width[16] = {2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1};

/* X12Elem: element n (1-based) of seg, "" when absent */
const char *
X12Elem(const X12Segment *seg, int n)
{
	if (n < 1 || n > seg->nelems)
		return "";
	return seg->elems[n - 1];
}

/* X12Refuse: raises IE004 naming the segment (and element n when n > 0) */
void
X12Refuse(const X12Segment *seg, int elem, const char *fmt,...)
{
	char		what[512];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(what, sizeof(what), fmt, args);
	va_end(args);
	if (elem > 0)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("segment %d (%s): element %s%02d %s", seg->pos, seg->tag, seg->tag, elem, what),
				 errdetail("The X12 document is refused as a whole; nothing was written.")));
	ereport(ERROR,
			(errcode(ERRCODE_IERP_INVALID_QUANTITY),
			 errmsg("segment %d (%s): %s", seg->pos, seg->tag, what),
			 errdetail("The X12 document is refused as a whole; nothing was written.")));
}

/* a refusal before any segment could be read (no tag known) */
static void
X12RefuseAt(int pos, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_IERP_INVALID_QUANTITY),
			 errmsg("segment %d: %s", pos, what),
			 errdetail("The X12 document is refused as a whole; nothing was written.")));
}

/* X12Required: element n of seg, refused when empty */
const char *
X12Required(const X12Segment *seg, int n)
{
	const char *v = X12Elem(seg, n);

	if (v[0] == '\0')
		X12Refuse(seg, n, "is missing");
	return v;
}

/* digits only, 1..maxlen of them */
static bool
X12IsDigits(const char *s, int maxlen)
{
	int			n = 0;

	for (; *s; s++, n++)
		if (!isdigit((unsigned char) *s) || n >= maxlen)
			return false;
	return n > 0;
}

/* X12Quantity: element n as a positive whole quantity (at most IERP_MAX_MOVE_QTY) */
int64
X12Quantity(const X12Segment *seg, int n)
{
	const char *v = X12Elem(seg, n);
	int64		q = 0;

	if (X12IsDigits(v, 10))
		for (const char *d = v; *d; d++)
			q = q * 10 + (*d - '0');
	if (q <= 0)
		X12Refuse(seg, n, "is not a positive quantity (\"%.20s\")", v);
	if (q > IERP_MAX_MOVE_QTY)
		X12Refuse(seg, n, "is over the limit of " INT64_FORMAT " units (\"%s\")", IERP_MAX_MOVE_QTY, v);
	return q;
}

/* X12Date: element n as a date CCYYMMDD within the years IerpCheckDate accepts */
DateADT
X12Date(const X12Segment *seg, int n)
{
	const char *v = X12Elem(seg, n);
	int			y,
				m,
				d;

	if (strlen(v) != 8 || !X12IsDigits(v, 8))
		X12Refuse(seg, n, "is not a date CCYYMMDD (\"%.20s\")", v);
	y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
	m = (v[4] - '0') * 10 + (v[5] - '0');
	d = (v[6] - '0') * 10 + (v[7] - '0');
	if (m < 1 || m > 12 || d < 1 || d > day_tab[isleap(y)][m - 1])
		X12Refuse(seg, n, "is not a calendar date (\"%s\")", v);
	if (y < IERP_MIN_YEAR || y > IERP_MAX_YEAR)
		X12Refuse(seg, n, "is a date outside the years %d to %d (\"%s\")", IERP_MIN_YEAR, IERP_MAX_YEAR, v);
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
}

/* X12ExpectTag: segment i of doc must be tag (after names what came before it) */
void
X12ExpectTag(const X12Document *doc, int i, const char *tag, const X12Segment *after)
{
	char		what[128];

	if (i >= doc->nsegs)
	{
		snprintf(what, sizeof(what), "%s expected after segment %d (%s), but the document ends",
				 tag, after->pos, after->tag);
		X12RefuseAt(after->pos + 1, what);
	}
	if (strcmp(doc->segs[i].tag, tag) != 0)
		X12Refuse(&doc->segs[i], 0, "%s expected here", tag);
}

/* the ISA's fixed layout: separators at their positions, widths exact */
static void
X12ReadIsa(const char *text, size_t len, X12Document *doc)
{
	int			pos = 3;
	int			i;

	if (len < 3 || memcmp(text, "ISA", 3) != 0)
		X12RefuseAt(1, "the document does not start with an ISA segment");
	if (len < X12_ISA_LEN)
		X12RefuseAt(1, "the ISA segment is shorter than its fixed 106 bytes");
	doc->elem_sep = text[3];
	for (i = 0; i < 16; i++)
	{
		if (text[pos] != doc->elem_sep)
		{
			char		what[96];

			snprintf(what, sizeof(what), "element ISA%02d is not %d characters wide (ISA is fixed width)",
					 i + 1, isa_width[i]);
			X12RefuseAt(1, what);
		}
		pos += 1 + isa_width[i];
	}
	Assert(pos == X12_ISA_LEN - 1);
	doc->comp_sep = text[X12_ISA_LEN - 2];
	doc->seg_term = text[X12_ISA_LEN - 1];
	if (isalnum((unsigned char) doc->elem_sep) || doc->elem_sep <= ' ' || doc->elem_sep > '~')
		X12RefuseAt(1, "the element separator (the ISA's fourth byte) is not a printable special character");
	if (isalnum((unsigned char) doc->comp_sep) || doc->comp_sep <= ' ' || doc->comp_sep > '~' ||
		doc->comp_sep == doc->elem_sep)
		X12RefuseAt(1, "element ISA16 (the component separator) is not a special character of its own");
	if (isalnum((unsigned char) doc->seg_term) || doc->seg_term == ' ' || doc->seg_term == '\0' ||
		(unsigned char) doc->seg_term > '~' ||
		doc->seg_term == doc->elem_sep || doc->seg_term == doc->comp_sep)
		X12RefuseAt(1, "the segment terminator (the byte after ISA16) is not a special character of its own");
}

/* one segment text[start..end) into seg */
static void
X12ReadSegment(const X12Document *doc, const char *text, size_t start, size_t end, X12Segment *seg)
{
	size_t		p = start;
	size_t		q;
	int			n = 0;
	int			cap = 8;

	/* the tag: 2 or 3 upper-case letters and digits, a letter first */
	for (q = p; q < end && text[q] != doc->elem_sep; q++)
		;
	if (q - p < 2 || q - p > 3 || !isupper((unsigned char) text[p]))
		X12RefuseAt(seg->pos, "no segment identifier (2 or 3 letters and digits) at its start");
	for (size_t k = p; k < q; k++)
		if (!isupper((unsigned char) text[k]) && !isdigit((unsigned char) text[k]))
			X12RefuseAt(seg->pos, "no segment identifier (2 or 3 letters and digits) at its start");
	memcpy(seg->tag, text + p, q - p);
	seg->tag[q - p] = '\0';
	seg->elems = palloc(cap * sizeof(char *));
	while (q < end)
	{
		size_t		e;

		p = q + 1;
		for (e = p; e < end && text[e] != doc->elem_sep; e++)
		{
			unsigned char c = (unsigned char) text[e];

			if (c < ' ' || c > '~' || c == (unsigned char) doc->seg_term)
			{
				seg->nelems = n;
				X12Refuse(seg, n + 1, "holds a byte that is not printable ASCII (0x%02x)", c);
			}
		}
		if (n >= X12_MAX_ELEMENTS)
		{
			seg->nelems = n;
			X12Refuse(seg, 0, "has more than %d elements", X12_MAX_ELEMENTS);
		}
		if (e - p > X12_MAX_ELEMENT_LEN)
		{
			seg->nelems = n;
			X12Refuse(seg, n + 1, "is longer than %d bytes", X12_MAX_ELEMENT_LEN);
		}
		if (n == cap)
		{
			cap *= 2;
			seg->elems = repalloc(seg->elems, cap * sizeof(char *));
		}
		seg->elems[n++] = pnstrdup(text + p, e - p);
		q = e;
	}
	seg->nelems = n;
}

/* X12CheckCount: a count element: digits, equal to expected */
void
X12CheckCount(const X12Segment *seg, int n, int expected, const char *counted)
{
	const char *v = X12Required(seg, n);

	if (!X12IsDigits(v, 9))
		X12Refuse(seg, n, "is not a count (\"%.20s\")", v);
	if (atoi(v) != expected)
		X12Refuse(seg, n, "is %d but there are %d %s", atoi(v), expected, counted);
}

/* a control number element equal to the one of its header */
static void
X12CheckControl(const X12Segment *seg, int n, const X12Segment *header, int hn)
{
	const char *v = X12Required(seg, n);
	const char *h = X12Elem(header, hn);

	if (strcmp(v, h) != 0)
		X12Refuse(seg, n, "is \"%s\" but %s%02d (segment %d) is \"%s\"", v, header->tag, hn, header->pos, h);
}

/* the envelopes: ISA (GS (ST ... SE)+ GE)+ IEA, counts and control numbers */
static void
X12CheckEnvelopes(X12Document *doc)
{
	int			i = 1;
	int			groups = 0;
	int			capsets = 4;

	doc->sets = palloc(capsets * sizeof(X12Set));
	doc->nsets = 0;
	if (!X12IsDigits(X12Elem(&doc->segs[0], 13), 9))
		X12Refuse(&doc->segs[0], 13, "is not a 9-digit control number");
	X12ExpectTag(doc, i, "GS", &doc->segs[0]);
	while (i < doc->nsegs && strcmp(doc->segs[i].tag, "GS") == 0)
	{
		int			gs = i;
		int			sets = 0;

		X12Required(&doc->segs[gs], 1);
		X12Date(&doc->segs[gs], 4);
		X12Required(&doc->segs[gs], 6);
		i++;
		X12ExpectTag(doc, i, "ST", &doc->segs[i - 1]);
		while (i < doc->nsegs && strcmp(doc->segs[i].tag, "ST") == 0)
		{
			int			st = i;
			const char *type = X12Required(&doc->segs[st], 1);

			X12Required(&doc->segs[st], 2);
			if (strlen(type) != 3 || !X12IsDigits(type, 3))
				X12Refuse(&doc->segs[st], 1, "is not a transaction set identifier (\"%.20s\")", type);
			for (i++; i < doc->nsegs && strcmp(doc->segs[i].tag, "SE") != 0; i++)
			{
				const char *t = doc->segs[i].tag;

				if (strcmp(t, "ST") == 0 || strcmp(t, "GE") == 0 || strcmp(t, "GS") == 0 ||
					strcmp(t, "IEA") == 0 || strcmp(t, "ISA") == 0)
					X12Refuse(&doc->segs[i], 0, "SE expected before it: the set of segment %d (ST) is not closed",
							  doc->segs[st].pos);
			}
			X12ExpectTag(doc, i, "SE", &doc->segs[i - 1]);
			X12CheckCount(&doc->segs[i], 1, i - st + 1, "segments in the set (ST and SE included)");
			X12CheckControl(&doc->segs[i], 2, &doc->segs[st], 2);
			if (doc->nsets == capsets)
			{
				capsets *= 2;
				doc->sets = repalloc(doc->sets, capsets * sizeof(X12Set));
			}
			strlcpy(doc->sets[doc->nsets].type, type, sizeof(doc->sets[0].type));
			doc->sets[doc->nsets].first = st;
			doc->sets[doc->nsets].last = i;
			doc->sets[doc->nsets].group = gs;
			doc->nsets++;
			sets++;
			i++;
		}
		X12ExpectTag(doc, i, "GE", &doc->segs[i - 1]);
		X12CheckCount(&doc->segs[i], 1, sets, "sets in the group");
		X12CheckControl(&doc->segs[i], 2, &doc->segs[gs], 6);
		groups++;
		i++;
	}
	X12ExpectTag(doc, i, "IEA", &doc->segs[i - 1]);
	X12CheckCount(&doc->segs[i], 1, groups, "groups in the interchange");
	X12CheckControl(&doc->segs[i], 2, &doc->segs[0], 13);
	if (i + 1 < doc->nsegs)
		X12Refuse(&doc->segs[i + 1], 0, "follows the IEA that ends the interchange");
}

/*
 * X12Parse: reads text[0..len) into doc; see the file's header for what is
 * checked.  Never reads past text[len - 1].
 */
void
X12Parse(const char *text, size_t len, X12Document *doc)
{
	size_t		p = 0;
	int			cap = 64;

	memset(doc, 0, sizeof(*doc));
	if (len > X12_MAX_DOCUMENT)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("X12 document of %zu bytes is over the limit of %d bytes", len, X12_MAX_DOCUMENT),
				 errdetail("Split the interchange; nothing was written.")));
	X12ReadIsa(text, len, doc);
	doc->segs = palloc(cap * sizeof(X12Segment));
	while (p < len)
	{
		size_t		q;
		X12Segment *seg;

		while (p < len && (text[p] == '\r' || text[p] == '\n') && text[p] != doc->seg_term)
			p++;
		if (p >= len)
			break;
		if (doc->nsegs >= X12_MAX_SEGMENTS)
			X12RefuseAt(doc->nsegs + 1, "the document has more segments than the limit of 20000");
		for (q = p; q < len && text[q] != doc->seg_term; q++)
			;
		if (q >= len)
			X12RefuseAt(doc->nsegs + 1, "not ended by the segment terminator");
		if (doc->nsegs == cap)
		{
			cap *= 2;
			doc->segs = repalloc(doc->segs, cap * sizeof(X12Segment));
		}
		seg = &doc->segs[doc->nsegs];
		memset(seg, 0, sizeof(*seg));
		seg->pos = doc->nsegs + 1;
		X12ReadSegment(doc, text, p, q, seg);
		doc->nsegs++;
		if (doc->nsegs > 1 && strcmp(seg->tag, "ISA") == 0)
			X12Refuse(seg, 0, "a second interchange header: one interchange per document");
		p = q + 1;
	}
	X12CheckEnvelopes(doc);
}

/* ---------------------------------------------------------------- writer */

/* X12CheckValue: printable ASCII, no separator, at most X12_MAX_ELEMENT_LEN bytes */
void
X12CheckValue(const char *value, const char *what)
{
	const char *s;

	if (strlen(value) > X12_MAX_ELEMENT_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("%s is longer than the %d bytes an X12 element holds", what, X12_MAX_ELEMENT_LEN)));
	for (s = value; *s; s++)
		if (*s < ' ' || *s > '~' || *s == '*' || *s == ':' || *s == '~' || *s == '^')
			ereport(ERROR,
					(errcode(ERRCODE_IERP_INVALID_QUANTITY),
					 errmsg("%s \"%s\" cannot be written in X12", what, value),
					 errdetail("X12 elements hold printable ASCII without the separators * : ~ ^.")));
}

/* X12PutSegment: tag and elements (trailing empty ones left out), each checked by X12CheckValue */
static void
X12PutSegment(X12Writer *w, const char *tag, int nelems, const char *const *elems)
{
	int			last = nelems;

	/* trailing empty elements are left out */
	while (last > 0 && (elems[last - 1] == NULL || elems[last - 1][0] == '\0'))
		last--;
	appendStringInfoString(&w->buf, tag);
	for (int i = 0; i < last; i++)
	{
		char		what[16];

		snprintf(what, sizeof(what), "%s%02d", tag, i + 1);
		appendStringInfoChar(&w->buf, '*');
		if (elems[i])
		{
			X12CheckValue(elems[i], what);
			appendStringInfoString(&w->buf, elems[i]);
		}
	}
	appendStringInfoString(&w->buf, "~\n");
}

/* X12CheckId: an interchange id: 1..15 characters, written padded to 15 (IE004 otherwise) */
static void
X12CheckId(const char *id, const char *what)
{
	X12CheckValue(id, what);
	if (strlen(id) < 1 || strlen(id) > 15)
		ereport(ERROR,
				(errcode(ERRCODE_IERP_INVALID_QUANTITY),
				 errmsg("%s \"%s\" is not 1 to 15 characters", what, id),
				 errdetail("It is written into ISA06/ISA08 and GS02/GS03.")));
}

/* X12WriteBegin: ISA and GS; w->buf is allocated in the current context */
void
X12WriteBegin(X12Writer *w, const char *sender, const char *receiver,
			  int64 control, const char *func_id, TimestampTz at)
{
	struct pg_tm tm;
	fsec_t		fsec;

	X12CheckId(sender, "sender");
	X12CheckId(receiver, "receiver");
	if (timestamp2tm(at, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "inventory_erp: timestamp out of range");
	memset(w, 0, sizeof(*w));
	initStringInfo(&w->buf);
	w->control = control % 1000000000;
	appendStringInfo(&w->buf,
					 "ISA*00*%-10s*00*%-10s*ZZ*%-15s*ZZ*%-15s*%02d%02d%02d*%02d%02d*U*00401*%09lld*0*P*:~\n",
					 "", "", sender, receiver, tm.tm_year % 100, tm.tm_mon, tm.tm_mday,
					 tm.tm_hour, tm.tm_min, (long long) w->control);
	appendStringInfo(&w->buf, "GS*%s*%s*%s*%04d%02d%02d*%02d%02d*%lld*X*004010~\n",
					 func_id, sender, receiver, tm.tm_year, tm.tm_mon, tm.tm_mday,
					 tm.tm_hour, tm.tm_min, (long long) w->control);
}

/* X12WriteSetBegin: ST of the next set of the group (ST02 0001, 0002, ...) */
void
X12WriteSetBegin(X12Writer *w, const char *type)
{
	const char *elems[2];

	w->sets++;
	snprintf(w->set_control, sizeof(w->set_control), "%04d", w->sets);
	elems[0] = type;
	elems[1] = w->set_control;
	w->set_segments = 0;
	X12WriteSegment(w, "ST", 2, elems);
}

/* X12WriteSegment: one segment of the open set, counted for its SE01 */
void
X12WriteSegment(X12Writer *w, const char *tag, int nelems, const char *const *elems)
{
	X12PutSegment(w, tag, nelems, elems);
	w->set_segments++;
}

/* X12WriteSetEnd: SE with the set's segment count and control number */
void
X12WriteSetEnd(X12Writer *w)
{
	char		count[16];
	const char *elems[2];

	snprintf(count, sizeof(count), "%d", w->set_segments + 1);
	elems[0] = count;
	elems[1] = w->set_control;
	X12PutSegment(w, "SE", 2, elems);
}

/* X12WriteEnd: GE and IEA; returns the document */
char *
X12WriteEnd(X12Writer *w)
{
	appendStringInfo(&w->buf, "GE*%d*%lld~\n", w->sets, (long long) w->control);
	appendStringInfo(&w->buf, "IEA*1*%09lld~\n", (long long) w->control);
	return w->buf.data;
}
