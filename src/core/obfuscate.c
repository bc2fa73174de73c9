/* Page obfuscation; see gs/obfuscate.h for the contract and
 * docs/obfuscation.md for the rules.
 *
 * gumbo parses the page once. A walk of the tree (heap stack) records a
 * "claim" for every text node: its raw source range and what kind of text
 * it is (visible, inside script, JSON-LD, style, an excluded element, CDATA),
 * plus a claim for every <source> tag inside <picture>. The claims, sorted
 * by offset, drive one left-to-right pass over the original bytes that
 * writes the output: a claim's range goes through the text scanner of its
 * kind; the bytes between claims (tags, end tags, comments, doctype, and
 * anything gumbo dropped) go through a data-state scanner that re-reads
 * tags from the source, so every attribute is seen exactly as written,
 * duplicates and ignored tags included. A raw text range can itself hold
 * markup (gumbo's text node spans ignored tags such as a stray </x>); the
 * scanner copies such tags through the same tag reader.
 *
 * Every rewrite emits the original bytes of a range with parts replaced;
 * unchanged bytes are copied in runs. */
#include "gs/obfuscate.h"

#include "gs/buf.h"
#include "gs/gumbo_doc.h"

#include <gumbo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gs/error.h"

typedef unsigned char gs__uc;

/* ---- the context ------------------------------------------------------- */

typedef struct {
  size_t start, at, at_len, end; /* [start, end); the '@' (or its encoding) at [at, +at_len) */
} gs__email_t;

typedef struct {
  size_t name, name_len; /* raw name bytes */
  size_t val, val_len;   /* raw value bytes inside the quotes */
  bool has_val;
} gs__attr_t;

typedef struct {
  const gs__uc *s; /* the input */
  size_t n;
  gs_buf_t out;
  uint64_t seed;
  int shift;
  const char *ph; /* placeholder image */
  size_t ph_len;
  gs_obfuscate_stats_t st;
  gs_vec_t emails; /* gs__email_t, a stack shared by nested scans */
  gs_vec_t attrs;  /* gs__attr_t, a stack shared by nested tags */
  int err;         /* first error (sticky) */
} gs__obf_t;

static void gs__emit(gs__obf_t *c, const void *p, size_t n) {
  if (!c->err && gs_buf_add(&c->out, p, n))
    c->err = GS_ENOMEM;
}

/* Copies the original bytes [a, b). */
static void gs__copy(gs__obf_t *c, size_t a, size_t b) {
  if (b > a)
    gs__emit(c, c->s + a, b - a);
}

/* True when the output written since mark differs from the input [a, b). */
static bool gs__changed(const gs__obf_t *c, size_t mark, size_t a, size_t b) {
  return c->out.len - mark != b - a || memcmp(c->out.p + mark, c->s + a, b - a) != 0;
}

/* ---- characters --------------------------------------------------------- */

static bool gs__alpha(int ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}
static bool gs__digit(int ch) {
  return ch >= '0' && ch <= '9';
}
static bool gs__alnum(int ch) {
  return gs__alpha(ch) || gs__digit(ch);
}
static bool gs__space(int ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f';
}
static int gs__lower(int ch) {
  return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Case-insensitive: does s[i..b) start with the lower-case word w? */
static bool gs__has(const gs__uc *s, size_t i, size_t b, const char *w) {
  size_t k = strlen(w);
  if (b - i < k)
    return false;
  for (size_t j = 0; j < k; j++)
    if (gs__lower(s[i + j]) != w[j])
      return false;
  return true;
}

/* Decodes the UTF-8 sequence at s[i..b): its length, or 0 when invalid. */
static size_t gs__utf8(const gs__uc *s, size_t i, size_t b, uint32_t *cp) {
  gs__uc c0 = s[i];
  size_t k;
  uint32_t v, min;
  if (c0 < 0x80) {
    *cp = c0;
    return 1;
  } else if (c0 >= 0xc2 && c0 <= 0xdf) {
    k = 2, v = c0 & 0x1f, min = 0x80;
  } else if (c0 >= 0xe0 && c0 <= 0xef) {
    k = 3, v = c0 & 0x0f, min = 0x800;
  } else if (c0 >= 0xf0 && c0 <= 0xf4) {
    k = 4, v = c0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (b - i < k)
    return 0;
  for (size_t j = 1; j < k; j++) {
    if ((s[i + j] & 0xc0) != 0x80)
      return 0;
    v = v << 6 | (s[i + j] & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return k;
}

typedef enum {
  GS__C_KEEP,   /* white space, punctuation, symbols, marks: copied */
  GS__C_DIGIT,  /* ASCII digit: copied */
  GS__C_LETTER, /* ASCII letter, other scripts, invalid bytes: a lorem letter */
  GS__C_CJK     /* ideographs, kana, hangul: a lorem ideograph */
} gs__class_t;

static bool gs__cjk(uint32_t v) {
  return (v >= 0x2e80 && v <= 0x2fdf) || (v >= 0x3040 && v <= 0x9fff) ||
         (v >= 0xa000 && v <= 0xa4cf) || (v >= 0xac00 && v <= 0xd7af) ||
         (v >= 0xf900 && v <= 0xfaff) || (v >= 0xff21 && v <= 0xff3a) ||
         (v >= 0xff41 && v <= 0xff5a) || (v >= 0xff66 && v <= 0xffdc) ||
         (v >= 0x20000 && v <= 0x3ffff);
}

/* Non-ASCII code points that are not letters of a word: kept as written. */
static bool gs__keep_cp(uint32_t v) {
  return v <= 0xbf || v == 0xd7 || v == 0xf7 || (v >= 0x2b0 && v <= 0x36f) ||
         (v >= 0x2000 && v <= 0x2bff) || (v >= 0x3000 && v <= 0x303f) ||
         (v >= 0xe000 && v <= 0xf8ff) || (v >= 0xfe00 && v <= 0xfe6f) ||
         (v >= 0xff00 && v <= 0xff20) || (v >= 0xff3b && v <= 0xff40) ||
         (v >= 0xff5b && v <= 0xff65) || v >= 0xfff0 || (v >= 0x1f000 && v <= 0x1ffff) ||
         v >= 0xe0000;
}

/* Class of the character at s[i..b); *len its length in bytes (>= 1). */
static gs__class_t gs__class(const gs__uc *s, size_t i, size_t b, size_t *len) {
  uint32_t v;
  size_t k = gs__utf8(s, i, b, &v);
  *len = k ? k : 1;
  if (!k)
    return GS__C_LETTER;
  if (v < 0x80)
    return gs__alpha((int)v) ? GS__C_LETTER : gs__digit((int)v) ? GS__C_DIGIT : GS__C_KEEP;
  if (gs__cjk(v))
    return GS__C_CJK;
  return gs__keep_cp(v) ? GS__C_KEEP : GS__C_LETTER;
}

/* ---- lorem --------------------------------------------------------------- */

static uint64_t gs__mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t gs__hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (gs__uc)*s) * 0x100000001b3u;
  return gs__mix(h);
}

/* Lorem words by length (index = length), space separated, all of that length. */
static const char *const GS__LOREM[] = {
    "",
    "a e",
    "ad at et in id ut ex eu mi ac",
    "sit sed non est qui vel nam nec per dui",
    "amet elit enim esse nisi nisl quis odio duis sunt",
    "lorem ipsum dolor magna culpa velit fugit minim irure nulla",
    "labore dolore aliqua veniam cillum fugiat mollit tempor beatae dictum",
    "ullamco commodo laboris officia eiusmod aliquip integer egestas laborum nostrud",
    "pariatur occaecat deserunt proident incidunt voluptas sagittis accumsan molestie interdum",
    "consequat excepteur cupidatat inventore explicabo voluptate tincidunt imperdiet fringilla",
    "adipiscing doloremque laudantium architecto aspernatur voluptatem vestibulum parturient",
    "consectetur dignissimos accusantium repudiandae consequatur suspendisse",
    "exercitation perspiciatis voluptatibus",
};
#define GS__LOREM_MAX 12

/* Ideographs for CJK text (each 3 bytes in UTF-8). */
static const char GS__CJK_POOL[] =
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发动同工也能下过子"
    "说产种面而方后多定行学法所民得经之进着等部度家电力里如水化高自理起小物现实加量都两体制机当使";
#define GS__CJK_COUNT ((sizeof GS__CJK_POOL - 1) / 3)

/* Writes a lorem word of len letters for the word at offset off; case as
 * given: 0 lower, 1 capitalised, 2 upper. */
static void gs__lorem_word(gs__obf_t *c, size_t off, size_t len, int kase) {
  uint64_t h = gs__mix(c->seed ^ (off * 0x9e3779b97f4a7c15u));
  char piece[GS__LOREM_MAX];
  for (size_t done = 0; done < len; h = gs__mix(h)) {
    size_t k = len - done > GS__LOREM_MAX ? GS__LOREM_MAX : len - done;
    const char *list = GS__LOREM[k];
    size_t count = (strlen(list) + 1) / (k + 1);
    memcpy(piece, list + (h % count) * (k + 1), k);
    for (size_t j = 0; j < k; j++)
      if (kase == 2 || (kase == 1 && done + j == 0))
        piece[j] = (char)(piece[j] - 32);
    gs__emit(c, piece, k);
    done += k;
  }
}

/* ---- dates ------------------------------------------------------------- */

static const char *const GS__MONTHS[] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};

typedef enum { GS__F_NUM, GS__F_MONTH, GS__F_ORD } gs__fstyle_t;

typedef struct {
  size_t off, len;     /* raw field bytes */
  char kind;           /* 'y', 'm', 'd' */
  gs__fstyle_t style;  /* digits, month name, day with ordinal suffix */
  size_t width;        /* GS__F_NUM/ORD: digits written */
  bool full, up, caps; /* GS__F_MONTH: full name, first letter upper, all upper */
} gs__field_t;

typedef struct {
  gs__field_t f[3];
  int nf;
  int y, m, d;
  size_t end;
} gs__date_t;

static bool gs__leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int gs__mdays(int64_t y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && gs__leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 (H. Hinnant's days_from_civil). */
static int64_t gs__days(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void gs__civil(int64_t z, int *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Digits at s[i..b), at most max: their count, value in *v. */
static size_t gs__digits(const gs__uc *s, size_t i, size_t b, size_t max, int *v) {
  size_t k = 0;
  *v = 0;
  while (i + k < b && k <= max && gs__digit(s[i + k]))
    *v = *v * 10 + (s[i + k++] - '0');
  return k;
}

/* Adds a field; day and month are written as wide as here when padded
 * with a leading zero or when pad is set, else with as few digits as
 * needed. */
static void gs__field(gs__date_t *dt, const gs__uc *s, char kind, size_t off, size_t len,
                      gs__fstyle_t style, bool pad) {
  gs__field_t *f = &dt->f[dt->nf++];
  bool wide = kind == 'y' || pad || (len > 1 && s[off] == '0');
  *f = (gs__field_t){.off = off, .len = len, .kind = kind, .style = style, .width = wide ? len : 1};
}

static bool gs__date_valid(const gs__date_t *dt) {
  return dt->y >= 1000 && dt->y <= 9999 && dt->m >= 1 && dt->m <= 12 && dt->d >= 1 &&
         dt->d <= gs__mdays(dt->y, dt->m);
}

/* A date is not followed by more of a number (2024-05-31-7, 1.2.2024.5). */
static bool gs__date_end_ok(const gs__uc *s, size_t e, size_t b, int sep) {
  if (e < b && gs__digit(s[e]))
    return false;
  return !(sep && e + 1 < b && s[e] == sep && gs__digit(s[e + 1]));
}

/* 2024-05-31, 2024/5/31, 2024.05.31, 31/05/2024, 5/31/2024, 31.05.2024,
 * 31-05-2024 at s[i]. Day-first unless only month-first is valid. */
static bool gs__date_numeric(const gs__uc *s, size_t i, size_t b, gs__date_t *dt) {
  int v1, v2, v3;
  size_t n1 = gs__digits(s, i, b, 4, &v1);
  if (n1 < 1 || n1 > 4 || i + n1 >= b)
    return false;
  int sep = s[i + n1];
  if (sep != '-' && sep != '/' && sep != '.')
    return false;
  size_t p2 = i + n1 + 1, n2 = gs__digits(s, p2, b, 2, &v2);
  if (n2 < 1 || n2 > 2 || p2 + n2 >= b || s[p2 + n2] != sep)
    return false;
  size_t p3 = p2 + n2 + 1, n3 = gs__digits(s, p3, b, 4, &v3);
  if (!gs__date_end_ok(s, p3 + n3, b, sep))
    return false;
  if (n1 == 4 && n3 >= 1 && n3 <= 2) {
    if (sep != '-' && (n2 != 2 || n3 != 2))
      return false; /* 2024.1.2 is more likely a version */
    *dt = (gs__date_t){.y = v1, .m = v2, .d = v3, .end = p3 + n3};
    gs__field(dt, s, 'y', i, n1, GS__F_NUM, true);
    gs__field(dt, s, 'm', p2, n2, GS__F_NUM, true);
    gs__field(dt, s, 'd', p3, n3, GS__F_NUM, true);
  } else if (n3 == 4 && n1 <= 2) {
    bool mdy = v1 <= 12 && v2 > 12;
    *dt = (gs__date_t){.y = v3, .m = mdy ? v1 : v2, .d = mdy ? v2 : v1, .end = p3 + n3};
    gs__field(dt, s, mdy ? 'm' : 'd', i, n1, GS__F_NUM, true);
    gs__field(dt, s, mdy ? 'd' : 'm', p2, n2, GS__F_NUM, true);
    gs__field(dt, s, 'y', p3, n3, GS__F_NUM, true);
  } else {
    return false;
  }
  return gs__date_valid(dt);
}

/* 2024年5月31日 and 2024년 5월 31일 at s[i]. */
static bool gs__date_cjk(const gs__uc *s, size_t i, size_t b, gs__date_t *dt) {
  static const char *const units[][3] = {{"\xe5\xb9\xb4", "\xe6\x9c\x88", "\xe6\x97\xa5"},
                                         {"\xeb\x85\x84", "\xec\x9b\x94", "\xec\x9d\xbc"}};
  for (size_t u = 0; u < 2; u++) {
    *dt = (gs__date_t){0};
    size_t p = i;
    int *vals[3] = {&dt->y, &dt->m, &dt->d};
    const char kinds[3] = {'y', 'm', 'd'};
    bool ok = true;
    for (int k = 0; k < 3 && ok; k++) {
      if (k && u == 1 && p < b && s[p] == ' ')
        p++;
      size_t nd = gs__digits(s, p, b, 4, vals[k]);
      ok = nd >= 1 && nd <= (k ? 2u : 4u) && b - (p + nd) >= 3 &&
           !memcmp(s + p + nd, units[u][k], 3);
      if (ok) {
        gs__field(dt, s, kinds[k], p, nd, GS__F_NUM, false);
        p += nd + 3;
      }
    }
    dt->end = p;
    if (ok && gs__date_valid(dt))
      return true;
  }
  return false;
}

/* A month name (full or 3-4 letter abbreviation, any case) at s[i]: 1..12, or 0. */
static int gs__month_at(const gs__uc *s, size_t i, size_t b, size_t *len) {
  size_t k = 0;
  while (i + k < b && gs__alpha(s[i + k]) && k < 10)
    k++;
  if (i + k < b && gs__alpha(s[i + k]))
    return 0;
  for (int m = 0; m < 12; m++) {
    size_t full = strlen(GS__MONTHS[m]);
    bool abbr = k == 3 || (k == 4 && m == 8); /* Sept */
    if ((k == full || abbr) && k <= full &&
        strncasecmp((const char *)s + i, GS__MONTHS[m], k) == 0) {
      *len = k;
      return m + 1;
    }
  }
  return 0;
}

static void gs__field_month(gs__date_t *dt, const gs__uc *s, size_t off, size_t len) {
  gs__field(dt, s, 'm', off, len, GS__F_MONTH, false);
  gs__field_t *f = &dt->f[dt->nf - 1];
  f->full = len == strlen(GS__MONTHS[dt->m - 1]);
  f->up = s[off] >= 'A' && s[off] <= 'Z';
  f->caps = f->up && len > 1 && s[off + 1] >= 'A' && s[off + 1] <= 'Z';
}

/* A day (1-2 digits, optional st/nd/rd/th) at s[*p]; advances *p. */
static bool gs__day_at(const gs__uc *s, size_t *p, size_t b, gs__date_t *dt) {
  size_t nd = gs__digits(s, *p, b, 2, &dt->d);
  if (nd < 1 || nd > 2)
    return false;
  size_t len = nd;
  gs__fstyle_t style = GS__F_NUM;
  if (gs__has(s, *p + nd, b, "st") || gs__has(s, *p + nd, b, "nd") ||
      gs__has(s, *p + nd, b, "rd") || gs__has(s, *p + nd, b, "th")) {
    if (*p + nd + 2 >= b || !gs__alpha(s[*p + nd + 2])) {
      len += 2;
      style = GS__F_ORD;
    }
  }
  if (*p + len < b && gs__alnum(s[*p + len]))
    return false;
  gs__field(dt, s, 'd', *p, nd, style, false);
  dt->f[dt->nf - 1].len = len;
  *p += len;
  return true;
}

/* Skips 1-3 spaces (after an optional '.' or ','); false when none. */
static bool gs__gap(const gs__uc *s, size_t *p, size_t b, int punct) {
  if (punct && *p < b && s[*p] == punct)
    (*p)++;
  size_t k = 0;
  while (*p < b && s[*p] == ' ' && k < 3)
    (*p)++, k++;
  return k > 0;
}

static bool gs__year_at(const gs__uc *s, size_t p, size_t b, gs__date_t *dt) {
  if (gs__digits(s, p, b, 4, &dt->y) != 4 || (p + 4 < b && gs__alnum(s[p + 4])))
    return false;
  gs__field(dt, s, 'y', p, 4, GS__F_NUM, true);
  dt->end = p + 4;
  return gs__date_valid(dt);
}

/* "31 May 2024", "31st May, 2024", "May 31, 2024", "Sept. 5 2024" at s[i]. */
static bool gs__date_words(const gs__uc *s, size_t i, size_t b, gs__date_t *dt) {
  size_t p = i, ml;
  *dt = (gs__date_t){0};
  if (gs__digit(s[i])) {
    if (!gs__day_at(s, &p, b, dt) || !gs__gap(s, &p, b, '.') ||
        !(dt->m = gs__month_at(s, p, b, &ml)))
      return false;
    gs__field_month(dt, s, p, ml);
    p += ml;
    if (p < b && s[p] == '.')
      p++;
    if (p < b && s[p] == ',')
      p++;
    return gs__gap(s, &p, b, 0) && gs__year_at(s, p, b, dt);
  }
  if (!(dt->m = gs__month_at(s, p, b, &ml)))
    return false;
  gs__field_month(dt, s, p, ml);
  p += ml;
  if (!gs__gap(s, &p, b, '.') || !gs__day_at(s, &p, b, dt))
    return false;
  return gs__gap(s, &p, b, ',') && gs__year_at(s, p, b, dt);
}

/* A date starting at s[i] (the caller checked the word boundary). */
static bool gs__date_at(const gs__uc *s, size_t i, size_t b, gs__date_t *dt) {
  if (gs__digit(s[i]))
    return gs__date_numeric(s, i, b, dt) || gs__date_cjk(s, i, b, dt) ||
           gs__date_words(s, i, b, dt);
  return gs__alpha(s[i]) && gs__date_words(s, i, b, dt);
}

static void gs__emit_field(gs__obf_t *c, const gs__field_t *f, int v) {
  char buf[32];
  int n;
  if (f->style == GS__F_MONTH) {
    const char *name = GS__MONTHS[v - 1];
    size_t k = f->full ? strlen(name) : f->len == 4 && v == 9 ? 4 : 3;
    n = (int)k;
    for (size_t j = 0; j < k; j++)
      buf[j] = (char)(f->caps || (j == 0 && f->up) ? name[j] - 32 : name[j]);
  } else {
    n = snprintf(buf, sizeof buf, "%0*d", (int)f->width, v);
    if (f->style == GS__F_ORD) {
      const char *suf = v % 10 == 1 && v != 11   ? "st"
                        : v % 10 == 2 && v != 12 ? "nd"
                        : v % 10 == 3 && v != 13 ? "rd"
                                                 : "th";
      memcpy(buf + n, suf, 2);
      n += 2;
    }
  }
  gs__emit(c, buf, (size_t)n);
}

/* Writes dt shifted, keeping its format; false (nothing written) when the
 * shifted year leaves 1000..9999. */
static bool gs__emit_date(gs__obf_t *c, size_t i, const gs__date_t *dt) {
  int y, m, d;
  gs__civil(gs__days(dt->y, dt->m, dt->d) + c->shift, &y, &m, &d);
  if (y < 1000 || y > 9999)
    return false;
  size_t at = i;
  for (int k = 0; k < dt->nf; k++) {
    const gs__field_t *f = &dt->f[k];
    gs__copy(c, at, f->off);
    gs__emit_field(c, f, f->kind == 'y' ? y : f->kind == 'm' ? m : d);
    at = f->off + f->len;
  }
  gs__copy(c, at, dt->end);
  c->st.dates++;
  return true;
}

/* ---- e-mail addresses -------------------------------------------------- */

static bool gs__local_char(int ch) {
  return gs__alnum(ch) || ch == '.' || ch == '_' || ch == '%' || ch == '+' || ch == '-';
}

/* Length of an '@' or an encoding of it at s[i..b): @ &#64; &#x40; &commat; %40. */
static size_t gs__at_sign(const gs__uc *s, size_t i, size_t b) {
  if (s[i] == '@')
    return 1;
  if (s[i] == '%')
    return gs__has(s, i, b, "%40") ? 3 : 0;
  if (s[i] != '&')
    return 0;
  static const char *const enc[] = {"&#64;", "&#x40;", "&commat;", "&#064;"};
  for (size_t k = 0; k < sizeof enc / sizeof *enc; k++)
    if (gs__has(s, i, b, enc[k]))
      return strlen(enc[k]);
  return 0;
}

/* File extensions that look like top-level domains after an '@' (logo@2x.png). */
static bool gs__file_ext(const gs__uc *s, size_t len) {
  static const char *const ext[] = {"png", "jpg", "jpeg", "gif",  "svg",   "webp", "avif", "ico",
                                    "bmp", "css", "js",   "mjs",  "json",  "html", "htm",  "php",
                                    "xml", "txt", "pdf",  "woff", "woff2", "ttf",  "mp4",  "webm"};
  for (size_t k = 0; k < sizeof ext / sizeof *ext; k++)
    if (strlen(ext[k]) == len && strncasecmp((const char *)s, ext[k], len) == 0)
      return true;
  return false;
}

/* End of the domain after an '@' at s[p..b): labels of [A-Za-z0-9-], at
 * least two, the last of 2+ letters; 0 when there is none. */
static size_t gs__domain(const gs__uc *s, size_t p, size_t b) {
  size_t end = 0, labels = 0;
  while (p < b) {
    size_t q = p;
    bool letters = true;
    while (q < b && (gs__alnum(s[q]) || s[q] == '-')) {
      letters = letters && gs__alpha(s[q]);
      q++;
    }
    if (q == p)
      break;
    labels++;
    if (labels >= 2 && letters && q - p >= 2 && !gs__file_ext(s + p, q - p))
      end = q;
    if (q + 1 < b && s[q] == '.' && (gs__alnum(s[q + 1])))
      p = q + 1;
    else
      break;
  }
  return end;
}

/* Pushes every e-mail address in s[a..b) onto c->emails, in order. */
static void gs__find_emails(gs__obf_t *c, size_t a, size_t b) {
  const gs__uc *s = c->s;
  size_t floor = a;
  for (size_t i = a; i < b; i++) {
    size_t at = gs__at_sign(s, i, b);
    if (!at)
      continue;
    size_t j = i;
    while (j > floor && gs__local_char(s[j - 1]))
      j--;
    while (j < i && s[j] == '.')
      j++;
    size_t end = j < i ? gs__domain(s, i + at, b) : 0;
    floor = i + at; /* a local part never reaches back past an '@' */
    if (!end)
      continue;
    gs__email_t *e = gs_vec_push(&c->emails, sizeof *e);
    if (!e) {
      c->err = GS_ENOMEM;
      return;
    }
    *e = (gs__email_t){.start = j, .at = i, .at_len = at, .end = end};
    floor = end;
    i = end - 1;
  }
}

/* Writes the address e masked: letters and digits become 'x'. */
static void gs__emit_email(gs__obf_t *c, const gs__email_t *e) {
  for (size_t i = e->start; i < e->end; i++) {
    if (i == e->at) {
      gs__copy(c, i, i + e->at_len);
      i += e->at_len - 1;
    } else {
      char ch = gs__alnum(c->s[i]) ? 'x' : (char)c->s[i];
      gs__emit(c, &ch, 1);
    }
  }
  c->st.emails++;
}

/* ---- phone numbers ----------------------------------------------------- */

/* Is one of the three words before s[i] a phone label (Tel, Phone, Fax,
 * extension, ...), with no digit between it and s[i]? */
static bool gs__phone_label(const gs__uc *s, size_t lo, size_t i) {
  static const char *const labels[] = {"tel", "phone",  "telephone", "fax",  "mobile",
                                       "mob", "cell",   "call",      "ph",   "whatsapp",
                                       "sms", "callto", "hotline",   "dial", "extension",
                                       "ext", "phones", "telefon"};
  size_t p = i;
  for (int words = 0; p > lo && i - p < 40 && words < 3;) {
    if (gs__digit(s[p - 1]))
      return false;
    if (!gs__alpha(s[p - 1])) {
      p--;
      continue;
    }
    size_t e = p;
    while (p > lo && gs__alpha(s[p - 1]))
      p--;
    words++;
    for (size_t l = 0; l < sizeof labels / sizeof *labels; l++)
      if (strlen(labels[l]) == e - p && strncasecmp((const char *)s + p, labels[l], e - p) == 0)
        return true;
  }
  return false;
}

#define GS__PHONE_GROUPS 8

/* Length of a phone number at s[i..b) (the caller checked the boundary
 * before it), or 0. See docs/obfuscation.md for the rules. */
static size_t gs__phone_at(const gs__uc *s, size_t lo, size_t i, size_t b) {
  size_t p = i, glen[GS__PHONE_GROUPS], ng = 0, digits = 0, end = 0;
  bool intl = s[p] == '+', paren = false;
  if (intl)
    p++;
  while (p < b) {
    bool open = s[p] == '(';
    size_t q = p + open, nd = 0;
    while (q + nd < b && gs__digit(s[q + nd]))
      nd++;
    if (!nd || (open && (q + nd >= b || s[q + nd] != ')')))
      break;
    if (ng == GS__PHONE_GROUPS || (digits += nd) > 15)
      return 0;
    paren = paren || (open && ng == 0);
    glen[ng++] = nd;
    p = end = q + nd + open;
    /* a separator, or none after ')', must be followed by another group */
    size_t sep = p;
    if (sep < b && s[sep] == ' ' && sep + 2 < b && s[sep + 1] == '-' && s[sep + 2] == ' ')
      sep += 3;
    else if (sep < b && (s[sep] == ' ' || s[sep] == '-' || s[sep] == '.'))
      sep++;
    else if (!open)
      break;
    if (sep < b && (gs__digit(s[sep]) || (s[sep] == '(' && sep + 1 < b && gs__digit(s[sep + 1]))))
      p = sep;
    else
      break;
  }
  if (!ng || (end < b && (gs__alnum(s[end]) || s[end] == '@')))
    return 0;
  if (gs__phone_label(s, lo, i))
    return digits >= 5 ? end - i : 0;
  if (intl)
    return digits >= 8 ? end - i : 0;
  if (paren)
    return ng >= 2 && digits >= 7 && digits <= 12 ? end - i : 0;
  if (ng < 2 || digits < 9 || digits > 12)
    return 0;
  bool nanp =
      (ng == 3 && glen[0] == 3 && glen[1] == 3 && glen[2] == 4) ||
      (ng == 4 && glen[0] == 1 && s[i] == '1' && glen[1] == 3 && glen[2] == 3 && glen[3] == 4);
  for (size_t g = 0; g < ng && !nanp; g++)
    if (glen[g] < 2)
      return 0;
  return nanp || s[i] == '0' ? end - i : 0;
}

/* Writes s[i..i+len) with every digit 0. */
static void gs__emit_phone(gs__obf_t *c, size_t i, size_t len) {
  for (size_t k = i; k < i + len; k++) {
    char ch = gs__digit(c->s[k]) ? '0' : (char)c->s[k];
    gs__emit(c, &ch, 1);
  }
  c->st.phones++;
}

/* ---- the text scanner -------------------------------------------------- */

enum {
  GS__T_LOREM = 1,    /* letters become lorem */
  GS__T_DATES = 2,    /* dates are shifted */
  GS__T_ENTITIES = 4, /* character references are kept whole */
  GS__T_MARKUP = 8,   /* tags and comments inside are copied through the tag reader */
  GS__T_JSESC = 16,   /* backslash escapes are kept whole */
};

static size_t gs__tag(gs__obf_t *c, size_t i, size_t b, bool in_picture, size_t *name_end);
static size_t gs__markup(gs__obf_t *c, size_t i, size_t b);

/* Length of a character reference at s[i] ('&'), or 0. */
static size_t gs__entity(const gs__uc *s, size_t i, size_t b) {
  size_t p = i + 1, k = 0;
  if (p < b && s[p] == '#') {
    p++;
    bool hex = p < b && (s[p] == 'x' || s[p] == 'X');
    p += hex;
    while (p + k < b && k < 8 &&
           (gs__digit(s[p + k]) || (hex && strchr("abcdefABCDEF", s[p + k]) && s[p + k])))
      k++;
    if (!k)
      return 0;
    return p + k < b && s[p + k] == ';' ? p + k + 1 - i : p + k - i;
  }
  while (p + k < b && k < 32 && gs__alnum(s[p + k]))
    k++;
  return k && gs__alpha(s[p]) && p + k < b && s[p + k] == ';' ? k + 2 : 0;
}

/* Is s[i] ('<') the start of markup in the data state? */
static bool gs__markup_start(const gs__uc *s, size_t i, size_t b) {
  if (i + 1 >= b)
    return false;
  int n = s[i + 1];
  return gs__alpha(n) || n == '!' || n == '?' || (n == '/' && i + 2 < b && s[i + 2] != '>');
}

/* Writes a lorem word for the letters at s[i..lim); returns its end. */
static size_t gs__word(gs__obf_t *c, size_t i, size_t lim) {
  const gs__uc *s = c->s;
  size_t p = i, chars = 0, letters = 0, uppers = 0, len;
  while (p < lim && gs__class(s, p, lim, &len) == GS__C_LETTER) {
    letters += gs__alpha(s[p]);
    uppers += s[p] >= 'A' && s[p] <= 'Z';
    p += len;
    chars++;
  }
  int kase = uppers && uppers == letters && chars > 1 ? 2 : (s[i] >= 'A' && s[i] <= 'Z') ? 1 : 0;
  gs__lorem_word(c, i, chars, kase);
  return p;
}

/* Writes lorem ideographs for the CJK characters at s[i..lim); returns their end. */
static size_t gs__cjk_run(gs__obf_t *c, size_t i, size_t lim) {
  uint64_t h = gs__mix(c->seed ^ (i * 0x9e3779b97f4a7c15u));
  size_t p = i, len;
  for (size_t k = 0; p < lim && gs__class(c->s, p, lim, &len) == GS__C_CJK; k++, p += len)
    gs__emit(c, GS__CJK_POOL + ((h + k) % GS__CJK_COUNT) * 3, 3);
  return p;
}

/* A scan in progress: the range and the start of the bytes not yet written. */
typedef struct {
  size_t lo, hi; /* the range scanned */
  size_t from;   /* s[from..) is pending: unchanged, not yet written */
} gs__scan_t;

/* Writes the pending bytes up to i, before a rewrite at i. */
static void gs__flush(gs__obf_t *c, gs__scan_t *sc, size_t i) {
  gs__copy(c, sc->from, i);
  sc->from = i;
}

/* May a number or a date start at s[i]: not inside a word or a number. */
static bool gs__num_boundary(const gs__uc *s, size_t lo, size_t i) {
  if (i == lo)
    return true;
  int p = s[i - 1];
  if (gs__alnum(p) || p == '_' || p == '.' || p == '-' || p == '/' || p == '+' || p == '%')
    return false;
  if (p < 0x80)
    return true;
  size_t k = i - 1, len; /* the character before: a letter of a word blocks, CJK does not */
  while (k > lo && i - k < 4 && (s[k] & 0xc0) == 0x80)
    k--;
  return gs__class(s, k, i, &len) != GS__C_LETTER || k + len != i;
}

/* Handles s[i] when it starts something to rewrite or to pass whole:
 * returns the position after it (the bytes written, sc->from moved past a
 * rewrite), or i when s[i] is an ordinary character. lim (<= sc->hi) is
 * where the next e-mail address starts. */
static size_t gs__scan_step(gs__obf_t *c, gs__scan_t *sc, size_t i, size_t lim, unsigned fl) {
  const gs__uc *s = c->s;
  int ch = s[i];
  size_t k, len;
  if ((fl & GS__T_MARKUP) && ch == '<' && gs__markup_start(s, i, sc->hi)) {
    gs__flush(c, sc, i);
    return sc->from = gs__markup(c, i, sc->hi);
  }
  if ((fl & GS__T_ENTITIES) && ch == '&' && (k = gs__entity(s, i, lim)))
    return i + k;
  if ((fl & GS__T_JSESC) && ch == '\\' && i + 1 < lim)
    return i + (s[i + 1] == 'u' && lim - i >= 6 ? 6 : 2);
  bool boundary = gs__num_boundary(s, sc->lo, i);
  gs__date_t dt;
  if ((fl & GS__T_DATES) && boundary && gs__date_at(s, i, lim, &dt)) {
    gs__flush(c, sc, i);
    if (gs__emit_date(c, i, &dt))
      return sc->from = dt.end;
  }
  if (boundary && (gs__digit(ch) || ch == '+' || ch == '(') &&
      (k = gs__phone_at(s, sc->lo, i, lim))) {
    gs__flush(c, sc, i);
    gs__emit_phone(c, i, k);
    return sc->from = i + k;
  }
  if (gs__digit(ch)) { /* the rest of a number is never a phone or a date */
    for (k = i; k < lim && gs__digit(s[k]); k++)
      ;
    return k;
  }
  if (!(fl & GS__T_LOREM))
    return i;
  gs__class_t cl = gs__class(s, i, lim, &len);
  if (cl != GS__C_LETTER && cl != GS__C_CJK)
    return i;
  gs__flush(c, sc, i);
  return sc->from = cl == GS__C_LETTER ? gs__word(c, i, lim) : gs__cjk_run(c, i, lim);
}

/* Writes s[a..b) rewritten by the flags; e-mail addresses and phone
 * numbers are masked whatever the flags. */
static void gs__scan_text(gs__obf_t *c, size_t a, size_t b, unsigned fl) {
  size_t base = c->emails.len, next = base, i = a, len;
  gs__scan_t sc = {.lo = a, .hi = b, .from = a};
  gs__find_emails(c, a, b);
  while (i < b && !c->err) {
    while (next < c->emails.len && GS_VEC_AT(c->emails, gs__email_t, next)->start < i)
      next++;
    size_t lim = next < c->emails.len ? GS_VEC_AT(c->emails, gs__email_t, next)->start : b;
    if (i == lim && next < c->emails.len) {
      gs__email_t e = *GS_VEC_AT(c->emails, gs__email_t, next);
      gs__flush(c, &sc, i);
      gs__emit_email(c, &e);
      i = sc.from = e.end;
      continue;
    }
    size_t j = gs__scan_step(c, &sc, i, lim, fl);
    if (j == i) {
      gs__class(c->s, i, lim, &len);
      j = i + (len > lim - i ? lim - i : len);
    }
    i = j;
  }
  gs__copy(c, sc.from, b);
  c->emails.len = base;
}

/* ---- CSS url(), srcset, JSON-LD --------------------------------------- */

static void gs__emit_placeholder(gs__obf_t *c) {
  gs__emit(c, c->ph, c->ph_len);
  c->st.images++;
}

/* Length of a quote (" ' or their references) at s[i..b), or 0. */
static size_t gs__quote(const gs__uc *s, size_t i, size_t b) {
  if (s[i] == '"' || s[i] == '\'')
    return 1;
  static const char *const refs[] = {"&quot;", "&#34;", "&#39;", "&apos;", "&#x27;", "&#x22;"};
  for (size_t k = 0; s[i] == '&' && k < sizeof refs / sizeof *refs; k++)
    if (gs__has(s, i, b, refs[k]))
      return strlen(refs[k]);
  return 0;
}

/* Is the CSS URL s[a..b) an image (not a font, a style sheet or #fragment)? */
static bool gs__css_image(const gs__uc *s, size_t a, size_t b) {
  if (a == b || s[a] == '#')
    return false;
  size_t e = a;
  while (e < b && s[e] != '?' && s[e] != '#')
    e++;
  size_t dot = e;
  while (dot > a && s[dot - 1] != '.' && s[dot - 1] != '/')
    dot--;
  if (dot == a || s[dot - 1] != '.')
    return true;
  static const char *const keep[] = {"woff", "woff2", "ttf", "otf", "eot", "css"};
  for (size_t k = 0; k < sizeof keep / sizeof *keep; k++)
    if (strlen(keep[k]) == e - dot && strncasecmp((const char *)s + dot, keep[k], e - dot) == 0)
      return false;
  return !gs__has(s, a, b, "data:font") && !gs__has(s, a, b, "data:application");
}

/* Writes CSS s[a..b) with image url(...)s replaced; the rest scanned for PII. */
static void gs__scan_css(gs__obf_t *c, size_t a, size_t b) {
  const gs__uc *s = c->s;
  size_t from = a;
  for (size_t i = a; i + 4 <= b && !c->err; i++) {
    if (!gs__has(s, i, b, "url(") ||
        (i > a && (gs__alnum(s[i - 1]) || s[i - 1] == '-' || s[i - 1] == '_')))
      continue;
    size_t p = i + 4;
    while (p < b && gs__space(s[p]))
      p++;
    size_t q = p < b ? gs__quote(s, p, b) : 0, u = p + q, e = u;
    if (q) {
      while (e < b && !(e + q <= b && !memcmp(s + e, s + p, q)))
        e++;
    } else {
      while (e < b && s[e] != ')' && !gs__space(s[e]))
        e++;
    }
    if (!gs__css_image(s, u, e))
      continue;
    gs__scan_text(c, from, u, 0);
    gs__emit_placeholder(c);
    from = e;
    i = e > i ? e - 1 : i;
  }
  gs__scan_text(c, from, b, 0);
}

/* Writes a srcset s[a..b) with every candidate URL replaced. */
static void gs__scan_srcset(gs__obf_t *c, size_t a, size_t b) {
  const gs__uc *s = c->s;
  size_t p = a, from = a;
  while (p < b) {
    while (p < b && (gs__space(s[p]) || s[p] == ','))
      p++;
    if (p >= b)
      break;
    size_t u = p;
    while (p < b && !gs__space(s[p]))
      p++;
    size_t e = p;
    while (e > u && s[e - 1] == ',')
      e--;
    gs__copy(c, from, u);
    gs__emit_placeholder(c);
    from = e;
    if (e < p)
      continue; /* "url," has no descriptors */
    for (int depth = 0; p < b && (depth || s[p] != ','); p++)
      depth += s[p] == '(' ? 1 : s[p] == ')' && depth ? -1 : 0;
  }
  gs__copy(c, from, b);
}

/* Is the JSON key s[a..b) one of list? */
static bool gs__key_in(const gs__uc *s, size_t a, size_t b, const char *const *list) {
  for (; *list; list++)
    if (strlen(*list) == b - a && !memcmp(s + a, *list, b - a))
      return true;
  return false;
}

static const char *const GS__LD_TEXT[] = {
    "name",        "givenName", "familyName",    "additionalName", "alternateName",
    "author",      "creator",   "editor",        "headline",       "alternativeHeadline",
    "description", "text",      "articleBody",   "reviewBody",     "caption",
    "abstract",    "keywords",  "streetAddress", "jobTitle",       "contributor",
    NULL};
static const char *const GS__LD_IMAGE[] = {
    "image", "logo", "thumbnailUrl", "contentUrl", "photo", "thumbnail", NULL};

/* Writes a JSON-LD string value s[a..b) by its key s[ka..kb). */
static void gs__ld_value(gs__obf_t *c, size_t ka, size_t kb, size_t a, size_t b) {
  const gs__uc *s = c->s;
  if (gs__key_in(s, ka, kb, GS__LD_TEXT)) {
    gs__scan_text(c, a, b, GS__T_LOREM | GS__T_DATES | GS__T_JSESC);
  } else if (gs__key_in(s, ka, kb, GS__LD_IMAGE) && a < b) {
    gs__emit_placeholder(c);
  } else {
    bool date = false;
    for (size_t k = ka; k + 4 <= kb && !date; k++)
      date = gs__has(s, k, kb, "date") || gs__has(s, k, kb, "time");
    gs__scan_text(c, a, b, (date ? GS__T_DATES : 0) | GS__T_JSESC);
  }
}

/* Writes JSON-LD s[a..b): string values by their key, the rest for PII. */
static void gs__scan_jsonld(gs__obf_t *c, size_t a, size_t b) {
  const gs__uc *s = c->s;
  size_t from = a, ka = a, kb = a;
  for (size_t i = a; i < b && !c->err; i++) {
    if (s[i] != '"')
      continue;
    size_t e = i + 1;
    while (e < b && s[e] != '"')
      e += s[e] == '\\' ? 2 : 1;
    e = e > b ? b : e;
    size_t k = e + 1;
    while (k < b && gs__space(s[k]))
      k++;
    if (k < b && s[k] == ':') {
      ka = i + 1, kb = e;
    } else {
      gs__scan_text(c, from, i + 1, 0);
      gs__ld_value(c, ka, kb, i + 1, e);
      from = e;
    }
    i = e;
  }
  gs__scan_text(c, from, b, 0);
}

/* ---- tags and attributes ----------------------------------------------- */

typedef enum {
  GS__A_PII,    /* e-mail addresses and phone numbers masked */
  GS__A_TEXT,   /* replaced like text */
  GS__A_DATE,   /* dates shifted */
  GS__A_IMAGE,  /* the whole value becomes the placeholder */
  GS__A_SRCSET, /* each candidate URL becomes the placeholder */
  GS__A_CSS,    /* url(...) images, PII */
  GS__A_EMAIL,  /* named as an e-mail: letters and digits masked */
  GS__A_PHONE,  /* named as a phone number: digits masked */
} gs__arule_t;

typedef struct {
  size_t val, len;
  bool set;
} gs__value_t;

/* The tag being rewritten; its attributes are c->attrs[first, first + count). */
typedef struct {
  const gs__uc *s;
  char tag[16]; /* lower-case name ("" when longer) */
  size_t first, count;
  bool in_picture;
  gs__value_t type;    /* the first type attribute */
  gs__value_t keys[3]; /* the first name, property and itemprop attributes */
} gs__tagctx_t;

static const char *const GS__META_KEYS[] = {"name", "property", "itemprop"};

/* Is the raw name s[a..a+n) equal (any case) to w? */
static bool gs__name_is(const gs__uc *s, size_t a, size_t n, const char *w) {
  return strlen(w) == n && strncasecmp((const char *)s + a, w, n) == 0;
}

static bool gs__name_has(const gs__uc *s, size_t a, size_t n, const char *w) {
  for (size_t k = a; k < a + n; k++)
    if (gs__has(s, k, a + n, w))
      return true;
  return false;
}

/* Is w one of the parts of the raw name s[a..a+n) split at '-', '_' and ':'? */
static bool gs__name_part(const gs__uc *s, size_t a, size_t n, const char *w) {
  for (size_t k = a, e; k < a + n; k = e + 1) {
    for (e = k; e < a + n && s[e] != '-' && s[e] != '_' && s[e] != ':'; e++)
      ;
    if (gs__name_is(s, k, e - k, w))
      return true;
  }
  return false;
}

/* Notes the attributes that other attributes' rules depend on. */
static void gs__tag_keys(gs__obf_t *c, gs__tagctx_t *t) {
  for (size_t k = t->first; k < t->first + t->count; k++) {
    const gs__attr_t *a = GS_VEC_AT(c->attrs, gs__attr_t, k);
    gs__value_t v = {a->val, a->val_len, true};
    if (!t->type.set && gs__name_is(t->s, a->name, a->name_len, "type"))
      t->type = v;
    for (size_t m = 0; m < 3; m++)
      if (!t->keys[m].set && gs__name_is(t->s, a->name, a->name_len, GS__META_KEYS[m]))
        t->keys[m] = v;
  }
}

/* Is the type attribute of t w (any case)? */
static bool gs__type_is(const gs__tagctx_t *t, const char *w) {
  return t->type.set && gs__name_is(t->s, t->type.val, t->type.len, w);
}

static bool gs__value_in(const gs__uc *v, size_t n, const char *const *list) {
  for (; *list; list++)
    if (strlen(*list) == n && strncasecmp((const char *)v, *list, n) == 0)
      return true;
  return false;
}

/* The rule for <meta content>, by the meta's name, property or itemprop. */
static gs__arule_t gs__meta_rule(const gs__tagctx_t *t) {
  static const char *const text[] = {"author",
                                     "description",
                                     "keywords",
                                     "title",
                                     "subject",
                                     "abstract",
                                     "summary",
                                     "copyright",
                                     "og:title",
                                     "og:description",
                                     "og:site_name",
                                     "og:image:alt",
                                     "twitter:title",
                                     "twitter:description",
                                     "twitter:creator",
                                     "twitter:site",
                                     "twitter:image:alt",
                                     "article:author",
                                     "article:section",
                                     "article:tag",
                                     "citation_author",
                                     "dc.creator",
                                     "dc.title",
                                     "dc.description",
                                     "dc.subject",
                                     "name",
                                     "headline",
                                     "profile:first_name",
                                     "profile:last_name",
                                     "profile:username",
                                     "book:author",
                                     "application-name",
                                     NULL};
  static const char *const image[] = {"og:image",
                                      "og:image:url",
                                      "og:image:secure_url",
                                      "twitter:image",
                                      "twitter:image:src",
                                      "image",
                                      "thumbnail",
                                      "msapplication-tileimage",
                                      NULL};
  for (size_t k = 0; k < 3; k++) {
    size_t n = t->keys[k].len;
    const gs__uc *v = t->s + t->keys[k].val;
    if (!t->keys[k].set)
      continue;
    if (gs__value_in(v, n, text))
      return GS__A_TEXT;
    if (gs__value_in(v, n, image))
      return GS__A_IMAGE;
    for (size_t p = 0; p + 4 <= n; p++)
      if (strncasecmp((const char *)v + p, "date", 4) == 0 ||
          strncasecmp((const char *)v + p, "time", 4) == 0)
        return GS__A_DATE;
  }
  return GS__A_PII;
}

/* Elements whose data-src and the like name a page, a script or media, not an image. */
static bool gs__not_image_tag(const char *tag) {
  static const char *const tags[] = {"iframe", "frame",  "script", "link",   "video", "audio",
                                     "embed",  "object", "track",  "source", NULL};
  for (const char *const *t = tags; *t; t++)
    if (!strcmp(tag, *t))
      return true;
  return false;
}

/* The rule for a data-* attribute: by its name, else by its value. */
static gs__arule_t gs__data_rule(const gs__tagctx_t *t, const gs__attr_t *a) {
  static const char *const image[] = {"src",     "background", "image",    "img",
                                      "poster",  "thumb",      "original", "photo",
                                      "picture", "avatar",     NULL};
  static const char *const personal[] = {"author", "name",    "user",     "person", "byline",
                                         "owner",  "contact", "customer", "member", "login",
                                         "handle", "profile", "creator",  NULL};
  const gs__uc *s = t->s;
  size_t n = a->name_len;
  if (gs__name_has(s, a->name, n, "mail"))
    return GS__A_EMAIL;
  if (gs__name_has(s, a->name, n, "phone") || gs__name_part(s, a->name, n, "mobile") ||
      gs__name_part(s, a->name, n, "fax") || gs__name_part(s, a->name, n, "tel"))
    return GS__A_PHONE;
  if (!gs__not_image_tag(t->tag)) {
    if (gs__name_has(s, a->name, n, "srcset"))
      return GS__A_SRCSET;
    for (const char *const *p = image; *p; p++)
      if (gs__name_has(s, a->name, n, *p))
        return GS__A_IMAGE;
    if (gs__name_part(s, a->name, n, "bg"))
      return GS__A_IMAGE;
  }
  for (const char *const *p = personal; *p; p++)
    if (gs__name_has(s, a->name, n, *p))
      return GS__A_TEXT;
  /* prose: white space between letters, and not JSON */
  const gs__uc *v = s + a->val;
  bool space = false, letter = false;
  for (size_t k = 0; k < a->val_len; k++) {
    space = space || (letter && gs__space(v[k]));
    letter = letter || gs__alpha(v[k]) || v[k] >= 0x80;
  }
  return space && v[0] != '{' && v[0] != '[' ? GS__A_TEXT : GS__A_PII;
}

/* The rule for attribute a of tag t. */
static gs__arule_t gs__attr_rule(const gs__tagctx_t *t, const gs__attr_t *a) {
  static const char *const text[] = {"alt",         "title", "aria-label", "aria-description",
                                     "placeholder", "label", "value",      NULL};
  const gs__uc *s = t->s, *name = s + a->name;
  size_t n = a->name_len;
  const char *tag = t->tag;
  if (gs__name_is(s, a->name, n, "src")) {
    bool input_image = !strcmp(tag, "input") && gs__type_is(t, "image");
    if (!strcmp(tag, "img") || !strcmp(tag, "image") || input_image ||
        (!strcmp(tag, "source") && t->in_picture))
      return GS__A_IMAGE;
    return GS__A_PII;
  }
  if (gs__name_is(s, a->name, n, "srcset"))
    return GS__A_SRCSET;
  if (gs__name_is(s, a->name, n, "poster") ||
      (!strcmp(tag, "image") &&
       (gs__name_is(s, a->name, n, "href") || gs__name_is(s, a->name, n, "xlink:href"))))
    return GS__A_IMAGE;
  if (gs__name_is(s, a->name, n, "style"))
    return GS__A_CSS;
  if (gs__name_is(s, a->name, n, "datetime"))
    return GS__A_DATE;
  if (!strcmp(tag, "meta") && gs__name_is(s, a->name, n, "content"))
    return gs__meta_rule(t);
  if (gs__name_is(s, a->name, n, "value") && !strcmp(tag, "input")) {
    if (gs__type_is(t, "email"))
      return GS__A_EMAIL;
    if (gs__type_is(t, "tel"))
      return GS__A_PHONE;
  }
  if (gs__value_in(name, n, text))
    return GS__A_TEXT;
  if (n > 5 && gs__has(s, a->name, a->name + n, "data-"))
    return gs__data_rule(t, a);
  return GS__A_PII;
}

/* Writes the value s[a..b) masked character by character: digits
 * (GS__A_PHONE) or letters and digits (GS__A_EMAIL), keeping references. */
static void gs__emit_masked(gs__obf_t *c, size_t a, size_t b, gs__arule_t rule) {
  const gs__uc *s = c->s;
  bool any = false;
  for (size_t i = a; i < b; i++) {
    size_t k = s[i] == '&' ? gs__entity(s, i, b) : 0;
    if (k) {
      gs__copy(c, i, i + k);
      i += k - 1;
      continue;
    }
    bool mask = gs__digit(s[i]) || (rule == GS__A_EMAIL && gs__alpha(s[i]));
    any = any || mask;
    char ch = mask ? (rule == GS__A_EMAIL ? 'x' : '0') : (char)s[i];
    gs__emit(c, &ch, 1);
  }
  if (any && rule == GS__A_EMAIL)
    c->st.emails++;
  else if (any)
    c->st.phones++;
}

static void gs__emit_attr(gs__obf_t *c, const gs__tagctx_t *t, const gs__attr_t *a) {
  size_t v = a->val, e = a->val + a->val_len, mark = c->out.len;
  gs__arule_t rule = gs__attr_rule(t, a);
  switch (rule) {
  case GS__A_TEXT:
    gs__scan_text(c, v, e, GS__T_LOREM | GS__T_DATES | GS__T_ENTITIES);
    break;
  case GS__A_DATE:
    gs__scan_text(c, v, e, GS__T_DATES | GS__T_ENTITIES);
    break;
  case GS__A_IMAGE:
    if (v < e)
      gs__emit_placeholder(c);
    break;
  case GS__A_SRCSET:
    gs__scan_srcset(c, v, e);
    break;
  case GS__A_CSS:
    gs__scan_css(c, v, e);
    break;
  case GS__A_EMAIL:
  case GS__A_PHONE:
    gs__emit_masked(c, v, e, rule);
    break;
  case GS__A_PII:
    gs__scan_text(c, v, e, GS__T_ENTITIES);
    break;
  }
  if (gs__changed(c, mark, v, e))
    c->st.attributes++;
}

/* Reads the attributes of the tag whose name ends at s[p], up to b, onto
 * c->attrs; returns the end of the tag (after '>', or b). */
static size_t gs__read_attrs(gs__obf_t *c, size_t p, size_t b) {
  const gs__uc *s = c->s;
  for (;;) {
    while (p < b && (gs__space(s[p]) || s[p] == '/'))
      p++;
    if (p >= b || s[p] == '>')
      return p < b ? p + 1 : b;
    gs__attr_t *a = gs_vec_push(&c->attrs, sizeof *a);
    if (!a) {
      c->err = GS_ENOMEM;
      return b;
    }
    size_t name = p++;
    while (p < b && !gs__space(s[p]) && s[p] != '/' && s[p] != '>' && s[p] != '=')
      p++;
    *a = (gs__attr_t){.name = name, .name_len = p - name};
    size_t q = p;
    while (q < b && gs__space(s[q]))
      q++;
    if (q >= b || s[q] != '=')
      continue;
    for (q++; q < b && gs__space(s[q]); q++)
      ;
    a->has_val = true;
    if (q < b && (s[q] == '"' || s[q] == '\'')) {
      const gs__uc *close = memchr(s + q + 1, s[q], b - q - 1);
      a->val = q + 1;
      a->val_len = (close ? (size_t)(close - s) : b) - a->val;
      p = close ? (size_t)(close - s) + 1 : b;
    } else {
      a->val = p = q;
      while (p < b && !gs__space(s[p]) && s[p] != '>')
        p++;
      a->val_len = p - a->val;
    }
  }
}

/* Writes the tag at s[i] ('<' then a letter, or '</' then a letter) up to
 * b with its attribute values rewritten; returns its end. *name_end gets
 * the end of its name. */
static size_t gs__tag(gs__obf_t *c, size_t i, size_t b, bool in_picture, size_t *name_end) {
  const gs__uc *s = c->s;
  size_t p = i + 1 + (s[i + 1] == '/');
  size_t name = p;
  while (p < b && !gs__space(s[p]) && s[p] != '/' && s[p] != '>')
    p++;
  *name_end = p;
  gs__tagctx_t t = {.s = s, .first = c->attrs.len, .in_picture = in_picture};
  if (p - name < sizeof t.tag)
    for (size_t k = name; k < p; k++)
      t.tag[k - name] = (char)gs__lower(s[k]);
  size_t end = gs__read_attrs(c, p, b), from = i;
  t.count = c->attrs.len - t.first;
  gs__tag_keys(c, &t);
  for (size_t k = 0; k < t.count && !c->err; k++) {
    gs__attr_t a = *GS_VEC_AT(c->attrs, gs__attr_t, t.first + k);
    if (!a.has_val)
      continue;
    gs__copy(c, from, a.val);
    gs__emit_attr(c, &t, &a);
    from = a.val + a.val_len;
  }
  gs__copy(c, from, end);
  c->attrs.len = t.first;
  return end;
}

/* End of "</name" (any case) in s[p..b) for the raw text element name, or b. */
static size_t gs__raw_end(const gs__uc *s, size_t p, size_t b, const char *name) {
  size_t n = strlen(name);
  for (; p + 2 + n <= b; p++)
    if (s[p] == '<' && s[p + 1] == '/' && gs__has(s, p + 2, b, name) &&
        (p + 2 + n == b || gs__space(s[p + 2 + n]) || s[p + 2 + n] == '>' || s[p + 2 + n] == '/'))
      return p;
  return b;
}

/* Writes the markup at s[i] ('<' that starts markup) up to b: a comment or
 * declaration scanned for PII, or a tag; a raw text element's content
 * after a start tag is taken along. Returns the end. */
static size_t gs__markup(gs__obf_t *c, size_t i, size_t b) {
  const gs__uc *s = c->s;
  if (s[i + 1] == '!' || s[i + 1] == '?' || (s[i + 1] == '/' && !gs__alpha(s[i + 2]))) {
    size_t e;
    if (gs__has(s, i, b, "<!--")) {
      const gs__uc *close = memmem(s + i + 4, b - i - 4, "-->", 3);
      e = close ? (size_t)(close - s) + 3 : b;
    } else {
      const gs__uc *close = memchr(s + i, '>', b - i);
      e = close ? (size_t)(close - s) + 1 : b;
    }
    gs__scan_text(c, i, e, 0);
    return e;
  }
  size_t name_end, end = gs__tag(c, i, b, false, &name_end);
  if (s[i + 1] == '/')
    return end;
  static const char *const raw[] = {"script",   "style",    "xmp",   "iframe",    "noembed",
                                    "noframes", "textarea", "title", "plaintext", NULL};
  for (const char *const *r = raw; *r; r++) {
    if (name_end - i - 1 != strlen(*r) || !gs__has(s, i + 1, name_end, *r))
      continue;
    size_t e = strcmp(*r, "plaintext") ? gs__raw_end(s, end, b, *r) : b;
    if (!strcmp(*r, "style"))
      gs__scan_css(c, end, e);
    else if (!strcmp(*r, "title"))
      gs__scan_text(c, end, e, GS__T_LOREM | GS__T_DATES | GS__T_ENTITIES);
    else
      gs__scan_text(c, end, e, 0);
    return e;
  }
  return end;
}

/* ---- gumbo: claims ------------------------------------------------------ */

typedef enum {
  GS__K_VISIBLE, /* lorem, dates, references and markup kept */
  GS__K_RCDATA,  /* visible, no markup inside (title) */
  GS__K_PLAIN,   /* excluded element: PII only, markup inside */
  GS__K_RAW,     /* raw text (script, textarea, CDATA, ...): PII only */
  GS__K_JSONLD,  /* <script type="application/ld+json"> */
  GS__K_STYLE,   /* <style> */
  GS__K_SOURCE,  /* the start tag of a <source> inside <picture> */
} gs__kind_t;

typedef struct {
  size_t start, end, seq;
  gs__kind_t kind;
} gs__claim_t;

typedef struct {
  const GumboNode *node;
  bool excluded; /* inside script, style, code, pre, textarea, noscript or template */
} gs__frame_t;

/* Is the element one whose text is not visible text? */
static bool gs__excluding(const GumboNode *n) {
  if (n->type == GUMBO_NODE_TEMPLATE)
    return true;
  switch (n->v.element.tag) {
  case GUMBO_TAG_SCRIPT:
  case GUMBO_TAG_STYLE:
  case GUMBO_TAG_CODE:
  case GUMBO_TAG_PRE:
  case GUMBO_TAG_TEXTAREA:
  case GUMBO_TAG_NOSCRIPT:
  case GUMBO_TAG_XMP:
  case GUMBO_TAG_PLAINTEXT:
  case GUMBO_TAG_IFRAME:
  case GUMBO_TAG_NOEMBED:
  case GUMBO_TAG_NOFRAMES:
    return true;
  default:
    return false;
  }
}

/* The kind of a text node under parent. */
static gs__kind_t gs__text_kind(const GumboNode *node, const GumboNode *parent, bool excluded) {
  if (node->type == GUMBO_NODE_CDATA)
    return GS__K_RAW;
  GumboTag tag =
      parent && parent->type == GUMBO_NODE_ELEMENT ? parent->v.element.tag : GUMBO_TAG_UNKNOWN;
  bool html = parent && parent->type == GUMBO_NODE_ELEMENT &&
              parent->v.element.tag_namespace == GUMBO_NAMESPACE_HTML;
  if (tag == GUMBO_TAG_SCRIPT) {
    const GumboAttribute *type = gumbo_get_attribute(&parent->v.element.attributes, "type");
    return type && !strcasecmp(type->value, "application/ld+json") ? GS__K_JSONLD : GS__K_RAW;
  }
  if (tag == GUMBO_TAG_STYLE)
    return GS__K_STYLE;
  bool raw =
      html && (tag == GUMBO_TAG_TEXTAREA || tag == GUMBO_TAG_XMP || tag == GUMBO_TAG_PLAINTEXT ||
               tag == GUMBO_TAG_IFRAME || tag == GUMBO_TAG_NOEMBED || tag == GUMBO_TAG_NOFRAMES);
  if (raw)
    return GS__K_RAW;
  if (excluded)
    return GS__K_PLAIN;
  return html && tag == GUMBO_TAG_TITLE ? GS__K_RCDATA : GS__K_VISIBLE;
}

/* Adds a claim for the source piece p if it lies inside the input. */
static void gs__claim(gs__obf_t *c, gs_vec_t *claims, GumboStringPiece p, gs__kind_t kind) {
  uintptr_t lo = (uintptr_t)c->s, at = (uintptr_t)p.data;
  if (!p.data || !p.length || at < lo || at - lo > c->n || p.length > c->n - (at - lo))
    return;
  gs__claim_t *cl = gs_vec_push(claims, sizeof *cl);
  if (!cl) {
    c->err = GS_ENOMEM;
    return;
  }
  *cl =
      (gs__claim_t){.start = at - lo, .end = at - lo + p.length, .seq = claims->len, .kind = kind};
}

static int gs__push_children(gs_vec_t *stack, const GumboVector *kids, bool excluded) {
  for (size_t k = kids->length; k-- > 0;) {
    gs__frame_t *f = gs_vec_push(stack, sizeof *f);
    if (!f)
      return GS_ENOMEM;
    *f = (gs__frame_t){kids->data[k], excluded};
  }
  return 0;
}

/* Is n a <picture> element? (gumbo 0.10 has no tag number for it) */
static bool gs__is_picture(const GumboNode *n) {
  if (!n || n->type != GUMBO_NODE_ELEMENT || n->v.element.tag != GUMBO_TAG_UNKNOWN)
    return false;
  GumboStringPiece name = n->v.element.original_tag;
  if (name.length < 8 || !name.data)
    return false;
  return strncasecmp(name.data + 1, "picture", 7) == 0 &&
         (name.length == 8 || (name.data[8] && strchr(" \t\n\r\f/>", name.data[8])));
}

/* Claims of the tree, in document order of the tree. */
static void gs__collect(gs__obf_t *c, const GumboNode *root, gs_vec_t *claims) {
  gs_vec_t stack = {0};
  if (gs__push_children(&stack, &root->v.document.children, false))
    c->err = GS_ENOMEM;
  while (stack.len && !c->err) {
    gs__frame_t f = *GS_VEC_AT(stack, gs__frame_t, --stack.len);
    const GumboNode *n = f.node;
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA) {
      gs__claim(c, claims, n->v.text.original_text, gs__text_kind(n, n->parent, f.excluded));
    } else if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE) {
      if (n->v.element.tag == GUMBO_TAG_SOURCE && gs__is_picture(n->parent))
        gs__claim(c, claims, n->v.element.original_tag, GS__K_SOURCE);
      if (gs__push_children(&stack, &n->v.element.children, f.excluded || gs__excluding(n)))
        c->err = GS_ENOMEM;
    }
  }
  free(stack.p);
}

static int gs__claim_cmp(const void *x, const void *y) {
  const gs__claim_t *a = x, *b = y;
  if (a->start != b->start)
    return a->start < b->start ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Writes the gap s[a..b) between claims: markup, and text gumbo dropped. */
static void gs__scan_gap(gs__obf_t *c, size_t a, size_t b) {
  gs__scan_text(c, a, b, GS__T_LOREM | GS__T_DATES | GS__T_ENTITIES | GS__T_MARKUP);
}

static void gs__scan_claim(gs__obf_t *c, const gs__claim_t *cl) {
  size_t a = cl->start, b = cl->end, mark = c->out.len, name_end;
  switch (cl->kind) {
  case GS__K_VISIBLE:
    gs__scan_text(c, a, b, GS__T_LOREM | GS__T_DATES | GS__T_ENTITIES | GS__T_MARKUP);
    break;
  case GS__K_RCDATA:
    gs__scan_text(c, a, b, GS__T_LOREM | GS__T_DATES | GS__T_ENTITIES);
    break;
  case GS__K_PLAIN:
    gs__scan_text(c, a, b, GS__T_MARKUP);
    break;
  case GS__K_RAW:
    gs__scan_text(c, a, b, 0);
    break;
  case GS__K_JSONLD:
    gs__scan_jsonld(c, a, b);
    break;
  case GS__K_STYLE:
    gs__scan_css(c, a, b);
    break;
  case GS__K_SOURCE:
    if (b - a >= 2 && c->s[a] == '<' && gs__alpha(c->s[a + 1]))
      gs__tag(c, a, b, true, &name_end);
    else
      gs__scan_gap(c, a, b);
    return;
  }
  if (gs__changed(c, mark, a, b))
    c->st.text_nodes++;
}

/* The whole output: claims in source order, gaps between them. */
static void gs__rewrite(gs__obf_t *c, gs__claim_t *claims, size_t n) {
  if (n)
    qsort(claims, n, sizeof *claims, gs__claim_cmp);
  size_t pos = 0;
  for (size_t k = 0; k < n && !c->err; k++) {
    gs__claim_t cl = claims[k];
    if (cl.end <= pos)
      continue; /* covered already (a cloned element, an overlap) */
    if (cl.start < pos) {
      cl.start = pos;
      if (cl.kind == GS__K_SOURCE)
        continue;
    }
    gs__scan_gap(c, pos, cl.start);
    gs__scan_claim(c, &cl);
    pos = cl.end;
  }
  gs__scan_gap(c, pos, c->n);
}

/* ---- entry --------------------------------------------------------------- */

static int gs__fail(char *errbuf, size_t errlen, int rc, const char *msg) {
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "%s", msg);
  return rc;
}

/* Checks the options into c; a message naming the bad one in errbuf. */
static int gs__options(gs__obf_t *c, const gs_obfuscate_opts_t *o, char *errbuf, size_t errlen) {
  const char *seed = o && o->seed ? o->seed : "";
  const char *ph =
      o && o->placeholder_image ? o->placeholder_image : GS_OBFUSCATE_DEFAULT_PLACEHOLDER;
  int shift = o ? o->date_shift_days : 0;
  if (shift > GS_OBFUSCATE_MAX_SHIFT_DAYS || shift < -GS_OBFUSCATE_MAX_SHIFT_DAYS)
    return gs__fail(errbuf, errlen, GS_EINVAL, "date_shift_days must be within +-36500");
  size_t n = strlen(ph);
  if (!n || n > GS_OBFUSCATE_MAX_PLACEHOLDER)
    return gs__fail(errbuf, errlen, GS_EINVAL, "placeholder_image must be 1 to 2048 bytes long");
  for (size_t k = 0; k < n; k++)
    if ((gs__uc)ph[k] <= ' ' || ph[k] == 0x7f || strchr("\"'<>&(),\\`", ph[k]))
      return gs__fail(errbuf, errlen, GS_EINVAL,
                      "placeholder_image must be a URL without white space, quotes, <, >, &, "
                      "(, ), comma, backslash or backtick");
  c->seed = gs__hash(seed);
  c->shift = shift;
  c->ph = ph;
  c->ph_len = n;
  return 0;
}

int gs_obfuscate_default_shift(const char *seed) {
  return (int)(gs__hash(seed ? seed : "") % 365) + 1;
}

int gs_obfuscate_page(const char *html, size_t len, const gs_obfuscate_opts_t *opts, char **out,
                      size_t *out_len, gs_obfuscate_stats_t *stats, char *errbuf, size_t errlen) {
  gs__fail(errbuf, errlen, 0, "");
  if (!out || !out_len || (!html && len))
    return gs__fail(errbuf, errlen, GS_EINVAL, "html, out and out_len are required");
  gs__obf_t c = {.s = (const gs__uc *)(html ? html : ""), .n = len};
  int rc = gs__options(&c, opts, errbuf, errlen);
  if (rc)
    return rc;
  gs_gumbo_doc_t doc;
  gs_gumbo_doc_parse(&doc, (const char *)c.s, len);
  gs_vec_t claims = {0};
  gs__collect(&c, doc.out->document, &claims);
  gs_gumbo_doc_release(&doc);
  if (!c.err)
    gs__rewrite(&c, claims.p, claims.len);
  if (!c.err && !c.out.p)
    c.err = gs_buf_add(&c.out, "", 0);
  free(claims.p);
  free(c.emails.p);
  free(c.attrs.p);
  if (c.err) {
    free(c.out.p);
    return gs__fail(errbuf, errlen, c.err, "out of memory");
  }
  *out = c.out.p;
  *out_len = c.out.len;
  if (stats)
    *stats = c.st;
  return 0;
}
