/*-------------------------------------------------------------------------
 *
 * gs1.c
 *	  The GS1 element string parser (gs1.h): Gs1Parse, which reads the
 *	  application identifiers a warehouse needs from a scanned GS1-128,
 *	  GS1 DataMatrix or GS1 QR code, and Gs1Show, which quotes a scan in an
 *	  error message.  Nothing here raises or allocates: callers decide what
 *	  a text that is not GS1, or malformed GS1, means for them.
 *
 * Two forms are read:
 *	  - raw, as a scanner sends it: a symbology identifier ("]C1", "]d2",
 *		"]Q3"), then AI + data pairs; a variable-length field ends at the
 *		group separator 0x1D or at the end of the text;
 *	  - human-readable, as printed under the bars: "(01)...(17)...(10)...";
 *		a variable-length field ends at the next "(" or at the end.
 *
 * Every read is bounded by len: the text need not be NUL-terminated and
 * may hold any bytes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "gs1.h"

#define GS1_GS			0x1D	/* group separator: ends a variable field */
#define GS1_GTIN_LEN	14
#define GS1_DATE_LEN	6
#define GS1_COUNT_MAX	8		/* AI 30 and AI 37: up to 8 digits */
#define GS1_AI_MAX		4		/* an AI has 2 to 4 digits */

/* the application identifiers read here */
typedef enum Gs1Ai
{
	AI_GTIN,					/* 01 */
	AI_LOT,						/* 10 */
	AI_BEST_BEFORE,				/* 15 */
	AI_EXPIRY,					/* 17 */
	AI_SERIAL,					/* 21 */
	AI_COUNT_30,				/* 30 */
	AI_COUNT_37,				/* 37 */
	AI_UNKNOWN
} Gs1Ai;

typedef struct Gs1AiInfo
{
	const char *code;
	int			fixed_len;		/* 0: variable length, up to max_len */
	int			max_len;
} Gs1AiInfo;

static const Gs1AiInfo gs1_ais[] = {
	[AI_GTIN] = {"01", GS1_GTIN_LEN, GS1_GTIN_LEN},
	[AI_LOT] = {"10", 0, GS1_LOT_MAX},
	[AI_BEST_BEFORE] = {"15", GS1_DATE_LEN, GS1_DATE_LEN},
	[AI_EXPIRY] = {"17", GS1_DATE_LEN, GS1_DATE_LEN},
	[AI_SERIAL] = {"21", 0, GS1_LOT_MAX},
	[AI_COUNT_30] = {"30", 0, GS1_COUNT_MAX},
	[AI_COUNT_37] = {"37", 0, GS1_COUNT_MAX},
};

#define GS1_SUPPORTED_AIS "01, 10, 15, 17, 21, 30 and 37"

/* the parser's position and what it has read so far */
typedef struct Gs1Reader
{
	const char *text;
	size_t		len;
	size_t		pos;
	bool		readable;		/* human-readable form, "(AI)value" */
	bool		seen[AI_UNKNOWN];
	Gs1Scan    *scan;
	char	   *why;
	size_t		why_size;
} Gs1Reader;

static bool
IsDigit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * GS1's character set 82 (General Specifications, figure 7.11-1): the
 * printable ASCII characters except space # $ @ [ \ ] ^ ` { | } ~.
 */
static bool
IsCs82(char c)
{
	if (c < '!' || c > 'z')
		return false;
	return strchr("#$@[\\]^`", c) == NULL;
}

/* Gs1Fail: writes why and returns GS1_MALFORMED */
static Gs1Result
Gs1Fail(Gs1Reader *r, const char *fmt,...) pg_attribute_printf(2, 3);

static Gs1Result
Gs1Fail(Gs1Reader *r, const char *fmt,...)
{
	va_list		args;

	if (r->why != NULL && r->why_size > 0)
	{
		va_start(args, fmt);
		vsnprintf(r->why, r->why_size, fmt, args);
		va_end(args);
	}
	return GS1_MALFORMED;
}

/*
 * Gs1CheckDigit: the GS1 mod-10 check digit of the ndata digits at data:
 * weights 3, 1, 3, ... from the rightmost data digit leftwards, and the
 * check digit brings the weighted sum up to a multiple of ten.
 */
static int
Gs1CheckDigit(const char *data, int ndata)
{
	int			sum = 0;
	int			weight = 3;
	int			i;

	for (i = ndata - 1; i >= 0; i--)
	{
		sum += (data[i] - '0') * weight;
		weight = 4 - weight;
	}
	return (10 - sum % 10) % 10;
}

/*
 * Gs1CenturyYear: the four-digit year of a two-digit YY by the GS1 century
 * rule: the year within -49 .. +50 of the current one (current_date's).
 */
static int
Gs1CenturyYear(int yy)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	int			current;
	int			century;
	int			diff;

	/* the session's time zone, as current_date */
	if (timestamp2tm(GetCurrentTransactionStartTimestamp(), &tz, &tm, &fsec,
					 NULL, NULL) != 0)
		current = 2000;			/* cannot happen: the start time is finite */
	else
		current = tm.tm_year;
	century = current - current % 100;
	diff = yy - current % 100;
	if (diff > 50)
		century -= 100;
	else if (diff < -49)
		century += 100;
	return century + yy;
}

/*
 * Gs1ReadDate: the YYMMDD at d (6 digits, checked) into *date; day 00 is
 * the last day of the month.  Refuses a month or a day that does not exist.
 */
static Gs1Result
Gs1ReadDate(Gs1Reader *r, const char *ai, const char *d, DateADT *date)
{
	int			year = Gs1CenturyYear((d[0] - '0') * 10 + (d[1] - '0'));
	int			month = (d[2] - '0') * 10 + (d[3] - '0');
	int			day = (d[4] - '0') * 10 + (d[5] - '0');
	int			last;

	if (month < 1 || month > 12)
		return Gs1Fail(r, "AI (%s) date %.6s has month %02d, which does not exist.",
					   ai, d, month);
	last = day_tab[isleap(year)][month - 1];
	if (day > last)
		return Gs1Fail(r, "AI (%s) date %.6s has day %02d; %04d-%02d has %d days.",
					   ai, d, day, year, month, last);
	if (day == 0)
		day = last;
	*date = date2j(year, month, day) - POSTGRES_EPOCH_JDATE;
	return GS1_PARSED;
}

/*
 * Gs1Store: checks the value of AI ai (val, n bytes, length already within
 * the AI's bounds) and stores it in the scan.
 */
static Gs1Result
Gs1Store(Gs1Reader *r, Gs1Ai ai, const char *val, size_t n)
{
	const char *code = gs1_ais[ai].code;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		bool		ok = (ai == AI_LOT || ai == AI_SERIAL) ? IsCs82(val[i]) : IsDigit(val[i]);

		if (!ok)
			return Gs1Fail(r, (ai == AI_LOT || ai == AI_SERIAL)
						   ? "AI (%s) has byte 0x%02X at position %d, which is not in GS1's character set 82."
						   : "AI (%s) has byte 0x%02X at position %d where a digit belongs.",
						   code, (unsigned char) val[i], (int) i + 1);
	}

	switch (ai)
	{
		case AI_GTIN:
			{
				int			expected = Gs1CheckDigit(val, GS1_GTIN_LEN - 1);

				if (val[GS1_GTIN_LEN - 1] - '0' != expected)
					return Gs1Fail(r, "AI (01) GTIN %.14s has check digit %c; the GS1 check digit of its first 13 digits is %d.",
								   val, val[GS1_GTIN_LEN - 1], expected);
				for (i = 0; i < GS1_GTIN_LEN && val[i] == '0'; i++)
					;
				if (i == GS1_GTIN_LEN)
					return Gs1Fail(r, "AI (01) GTIN is all zeros, which GS1 never assigns.");
				memcpy(r->scan->gtin, val, GS1_GTIN_LEN);
				r->scan->gtin[GS1_GTIN_LEN] = '\0';
				return GS1_PARSED;
			}
		case AI_LOT:
			memcpy(r->scan->lot, val, n);
			r->scan->lot[n] = '\0';
			return GS1_PARSED;
		case AI_SERIAL:
			memcpy(r->scan->serial, val, n);
			r->scan->serial[n] = '\0';
			return GS1_PARSED;
		case AI_EXPIRY:
			r->scan->has_expiry = true;
			return Gs1ReadDate(r, code, val, &r->scan->expiry);
		case AI_BEST_BEFORE:
			r->scan->has_best_before = true;
			return Gs1ReadDate(r, code, val, &r->scan->best_before);
		case AI_COUNT_30:
		case AI_COUNT_37:
			{
				int64		count = 0;

				if (r->seen[AI_COUNT_30] && r->seen[AI_COUNT_37])
					return Gs1Fail(r, "AI (30) and AI (37) both give a count; a scan carries one.");
				for (i = 0; i < n; i++)
					count = count * 10 + (val[i] - '0');
				r->scan->has_count = true;
				r->scan->count = count;
				return GS1_PARSED;
			}
		case AI_UNKNOWN:
			break;
	}
	elog(ERROR, "inventory_erp: unexpected GS1 AI %d", (int) ai);
	return GS1_MALFORMED;		/* keep the compiler quiet */
}

/* Gs1LookupAi: the AI whose code is the n digits at code, or AI_UNKNOWN */
static Gs1Ai
Gs1LookupAi(const char *code, size_t n)
{
	int			ai;

	for (ai = 0; ai < AI_UNKNOWN; ai++)
	{
		if (strlen(gs1_ais[ai].code) == n && memcmp(gs1_ais[ai].code, code, n) == 0)
			return (Gs1Ai) ai;
	}
	return AI_UNKNOWN;
}

/*
 * Gs1ReadAi: the AI at the reader's position.  Human-readable: "(" 2 to 4
 * digits ")"; raw: 2 digits (every AI read here has two; longer ones are
 * refused as unknown, never guessed).
 */
static Gs1Result
Gs1ReadAi(Gs1Reader *r, Gs1Ai *ai)
{
	const char *p = r->text + r->pos;
	size_t		left = r->len - r->pos;
	size_t		n = 0;

	if (r->readable)
	{
		if (p[0] != '(')
			return Gs1Fail(r, "Byte 0x%02X at position %d where \"(\" and an application identifier belong.",
						   (unsigned char) p[0], (int) r->pos + 1);
		while (n < GS1_AI_MAX && 1 + n < left && IsDigit(p[1 + n]))
			n++;
		if (n < 2 || 1 + n >= left || p[1 + n] != ')')
			return Gs1Fail(r, "The application identifier at position %d is not 2 to 4 digits between parentheses.",
						   (int) r->pos + 1);
		*ai = Gs1LookupAi(p + 1, n);
		if (*ai == AI_UNKNOWN)
			return Gs1Fail(r, "Application identifier (%.*s) is not supported; inventory_erp reads %s.",
						   (int) n, p + 1, GS1_SUPPORTED_AIS);
		r->pos += n + 2;
		return GS1_PARSED;
	}

	if (left < 2 || !IsDigit(p[0]) || !IsDigit(p[1]))
		return Gs1Fail(r, "Position %d does not start with an application identifier (two digits).",
					   (int) r->pos + 1);
	*ai = Gs1LookupAi(p, 2);
	if (*ai == AI_UNKNOWN)
		return Gs1Fail(r, "Application identifier starting \"%.2s\" at position %d is not supported; inventory_erp reads %s.",
					   p, (int) r->pos + 1, GS1_SUPPORTED_AIS);
	r->pos += 2;
	return GS1_PARSED;
}

/*
 * Gs1ReadField: the value of ai at the reader's position, up to its end
 * (fixed length, or the separator of the form), checked and stored.
 */
static Gs1Result
Gs1ReadField(Gs1Reader *r, Gs1Ai ai)
{
	const Gs1AiInfo *info = &gs1_ais[ai];
	const char *val = r->text + r->pos;
	size_t		left = r->len - r->pos;
	size_t		n = 0;
	char		end = r->readable ? '(' : GS1_GS;

	if (r->seen[ai])
		return Gs1Fail(r, "AI (%s) appears more than once.", info->code);
	r->seen[ai] = true;

	if (info->fixed_len > 0)
	{
		n = Min(left, (size_t) info->fixed_len);
		if (memchr(val, end, n) != NULL)
			n = (const char *) memchr(val, end, n) - val;
		if (n < (size_t) info->fixed_len)
			return Gs1Fail(r, "AI (%s) has %d characters; it takes exactly %d.",
						   info->code, (int) n, info->fixed_len);
		/* human-readable: a fixed field runs to the next AI or the end */
		if (r->readable && n < left && val[n] != '(')
			return Gs1Fail(r, "AI (%s) has more than %d characters; it takes exactly %d.",
						   info->code, info->fixed_len, info->fixed_len);
	}
	else
	{
		while (n < left && val[n] != end)
		{
			if (n == (size_t) info->max_len)
				return Gs1Fail(r, "AI (%s) has more than %d characters; it takes at most %d.",
							   info->code, info->max_len, info->max_len);
			n++;
		}
		if (n == 0)
			return Gs1Fail(r, "AI (%s) is empty.", info->code);
	}
	r->pos += n;
	return Gs1Store(r, ai, val, n);
}

/*
 * Gs1Marker: the length of the GS1 marker at the start of text (a symbology
 * identifier, or "(" and a digit for the human-readable form); 0 if none.
 */
static size_t
Gs1Marker(const char *text, size_t len, bool *readable)
{
	static const char *const symbologies[] = {"]C1", "]d2", "]Q3"};
	int			i;

	*readable = false;
	for (i = 0; i < lengthof(symbologies); i++)
	{
		if (len >= 3 && memcmp(text, symbologies[i], 3) == 0)
			return 3;
	}
	if (len >= 2 && text[0] == '(' && IsDigit(text[1]))
	{
		*readable = true;
		return 0;
	}
	return 0;
}

/*
 * Gs1Parse: see gs1.h.  The scan is zeroed first; on GS1_MALFORMED its
 * content is unspecified.
 */
Gs1Result
Gs1Parse(const char *text, size_t len, Gs1Scan *scan, char *why, size_t why_size)
{
	Gs1Reader	r;
	size_t		marker;

	memset(&r, 0, sizeof(r));
	memset(scan, 0, sizeof(*scan));
	if (why != NULL && why_size > 0)
		why[0] = '\0';
	if (text == NULL)
		return GS1_NOT_GS1;
	marker = Gs1Marker(text, len, &r.readable);
	if (marker == 0 && !r.readable)
		return GS1_NOT_GS1;

	r.text = text;
	r.len = len;
	r.pos = marker;
	r.scan = scan;
	r.why = why;
	r.why_size = why_size;

	/* a scanner may send the leading FNC1 as a separator: skip it */
	if (!r.readable && r.pos < len && text[r.pos] == GS1_GS)
		r.pos++;
	if (r.pos >= len)
		return Gs1Fail(&r, "The element string has no application identifier after its symbology identifier \"%.3s\".",
					   text);

	while (r.pos < len)
	{
		Gs1Ai		ai = AI_UNKNOWN;
		Gs1Result	res;

		res = Gs1ReadAi(&r, &ai);
		if (res != GS1_PARSED)
			return res;
		res = Gs1ReadField(&r, ai);
		if (res != GS1_PARSED)
			return res;
		/* raw form: a separator after a field (fixed or variable) ends it */
		if (!r.readable && r.pos < len && text[r.pos] == GS1_GS)
			r.pos++;
	}
	return GS1_PARSED;
}

/*
 * Gs1Show: the scan text[0..len) as it can be quoted in a message: at most
 * out_size - 1 bytes (and at most 80 characters of the scan), bytes outside
 * printable ASCII as <GS> or <xNN>, "..." when cut.  Always NUL-terminated.
 */
void
Gs1Show(const char *text, size_t len, char *out, size_t out_size)
{
	size_t		o = 0;
	size_t		i;

	if (out_size == 0)
		return;
	for (i = 0; i < len && i < 80; i++)
	{
		unsigned char c = (unsigned char) text[i];
		char		piece[8];
		size_t		n;

		if (c == GS1_GS)
			n = snprintf(piece, sizeof(piece), "<GS>");
		else if (c < 0x20 || c >= 0x7F)
			n = snprintf(piece, sizeof(piece), "<x%02X>", c);
		else
			n = snprintf(piece, sizeof(piece), "%c", c);
		if (o + n + 4 > out_size)
			break;
		memcpy(out + o, piece, n);
		o += n;
	}
	if (i < len && o + 4 <= out_size)
	{
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}
