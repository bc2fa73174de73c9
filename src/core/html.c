/* Page extraction on gumbo; see gs/html.h for the contract and docs/html.md
 * for what gofr-dig does that this reproduces.
 *
 * One pass: the tree is walked in document order with a heap stack of
 * frames. Every string of the page that counts as text (gofr-dig's
 * BeautifulSoup skips script, style, template, rt and rp strings) is
 * stripped and appended to three buffers, joined by "\n", by " " and by
 * nothing. A frame remembers the buffer lengths when its element was
 * entered, so the text of any element, whatever the separator, is a slice
 * taken when the element is left: linear time even for nested sections.
 * Records (links, headings, sections, forms, selector matches) are kept in
 * document order in scratch vectors and copied into the result's pool at the
 * end, when URLs are resolved and lists de-duplicated. */
#include "gs/html.h"

#include "gs/buf.h"
#include "gs/gumbo_doc.h"

#include <ctype.h>
#include <gumbo.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gs/error.h"

/* ---- result pool ----------------------------------------------------- */

typedef struct gs__chunk {
  struct gs__chunk *next;
  size_t used, cap;
  max_align_t data[]; /* cap bytes */
} gs__chunk_t;

struct gs_html_pool {
  gs__chunk_t *chunks; /* head: the chunk being filled */
};

#define GS__CHUNK_BYTES 16384

static gs_html_pool_t *gs__pool_new(void) {
  return calloc(1, sizeof(gs_html_pool_t));
}

static void gs__pool_free(gs_html_pool_t *p) {
  if (!p)
    return;
  for (gs__chunk_t *c = p->chunks, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(p);
}

/* n bytes aligned for any type, or NULL when out of memory. Large blocks get
 * a chunk of their own behind the head, so the head keeps filling. */
static void *gs__pool_alloc(gs_html_pool_t *p, size_t n) {
  const size_t a = sizeof(max_align_t);
  if (n > SIZE_MAX / 2)
    return NULL;
  n = n ? (n + a - 1) / a * a : a;
  gs__chunk_t *c = p->chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > GS__CHUNK_BYTES ? n : GS__CHUNK_BYTES;
    gs__chunk_t *fresh = malloc(sizeof *fresh + cap);
    if (!fresh)
      return NULL;
    fresh->used = 0;
    fresh->cap = cap;
    if (c && n > GS__CHUNK_BYTES / 4) {
      fresh->next = c->next;
      c->next = fresh;
    } else {
      fresh->next = c;
      p->chunks = fresh;
    }
    c = fresh;
  }
  void *r = (unsigned char *)c->data + c->used;
  c->used += n;
  return r;
}

static char *gs__pool_strndup(gs_html_pool_t *p, const char *s, size_t n) {
  char *r = gs__pool_alloc(p, n + 1);
  if (r) {
    memcpy(r, s, n);
    r[n] = '\0';
  }
  return r;
}

/* ---- whitespace as Python's str.strip() sees it ------------------------- */

/* Length of the white-space code point starting at s[0..n), or 0. */
static size_t gs__space_at(const unsigned char *s, size_t n) {
  if ((s[0] >= 0x09 && s[0] <= 0x0d) || (s[0] >= 0x1c && s[0] <= 0x20))
    return 1;
  if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
    return 2;
  if (n < 3)
    return 0;
  if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
    return 3;
  if (s[0] == 0xe2 && s[1] == 0x80 &&
      ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
    return 3;
  if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
    return 3;
  if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
    return 3;
  return 0;
}

/* Length of the white-space code point ending at s[n-1], or 0. */
static size_t gs__space_before(const unsigned char *s, size_t n) {
  for (size_t k = 1; k <= 3 && k <= n; k++)
    if (gs__space_at(s + n - k, k) == k)
      return k;
  return 0;
}

/* Narrows s[*off .. *off + *n) to its stripped part. */
static void gs__strip(const char *s, size_t *off, size_t *n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t k;
  while (*n && (k = gs__space_at(u + *off, *n))) {
    *off += k;
    *n -= k;
  }
  while (*n && (k = gs__space_before(u + *off, *n)))
    *n -= k;
}

/* ---- URLs -------------------------------------------------------------- */

typedef struct {
  const char *s;
  size_t len;
  bool defined;
} gs__part_t;

typedef struct {
  gs__part_t scheme, authority, path, query, fragment;
} gs__uri_t;

/* Splits s (RFC 3986 appendix B). */
static void gs__uri_split(const char *s, gs__uri_t *u) {
  memset(u, 0, sizeof *u);
  size_t i = 0, n = strlen(s);
  size_t k = 0;
  if (n && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) {
    k = 1;
    while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '+' || s[k] == '-' || s[k] == '.'))
      k++;
    if (k < n && s[k] == ':') {
      u->scheme = (gs__part_t){s, k, true};
      i = k + 1;
    }
  }
  if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
    size_t a = i + 2, e = a;
    while (e < n && s[e] != '/' && s[e] != '?' && s[e] != '#')
      e++;
    u->authority = (gs__part_t){s + a, e - a, true};
    i = e;
  }
  size_t e = i;
  while (e < n && s[e] != '?' && s[e] != '#')
    e++;
  u->path = (gs__part_t){s + i, e - i, true};
  i = e;
  if (i < n && s[i] == '?') {
    e = ++i;
    while (e < n && s[e] != '#')
      e++;
    u->query = (gs__part_t){s + i, e - i, true};
    i = e;
  }
  if (i < n && s[i] == '#')
    u->fragment = (gs__part_t){s + i + 1, n - i - 1, true};
}

/* RFC 3986 5.2.4 on the path in b (in place). */
static void gs__remove_dots(gs_buf_t *b) {
  char *in = b->p, *out = b->p;
  size_t n = b->len, o = 0, i = 0;
  while (i < n) {
    size_t rest = n - i;
    if (rest >= 3 && !memcmp(in + i, "../", 3))
      i += 3;
    else if (rest >= 2 && !memcmp(in + i, "./", 2))
      i += 2;
    else if (rest >= 3 && !memcmp(in + i, "/./", 3))
      i += 2;
    else if (rest == 2 && !memcmp(in + i, "/.", 2)) {
      i += 1;
      in[i] = '/';
    } else if ((rest >= 4 && !memcmp(in + i, "/../", 4)) ||
               (rest == 3 && !memcmp(in + i, "/..", 3))) {
      i += 3;
      if (rest == 3) {
        i -= 1;
        in[i] = '/';
      }
      while (o > 0 && out[o - 1] != '/')
        o--;
      if (o > 0)
        o--;
    } else if ((rest == 1 && in[i] == '.') || (rest == 2 && !memcmp(in + i, "..", 2)))
      i = n;
    else {
      size_t e = i + 1;
      while (e < n && in[e] != '/')
        e++;
      memmove(out + o, in + i, e - i);
      o += e - i;
      i = e;
    }
  }
  b->len = o;
  if (b->p)
    b->p[o] = '\0';
}

/* Appends the path of base merged with a relative reference path (5.2.3). */
static int gs__merge(gs_buf_t *b, const gs__uri_t *base, const gs__part_t *rpath) {
  int rc = 0;
  if (base->authority.defined && base->path.len == 0)
    rc = gs_buf_add(b, "/", 1);
  else {
    size_t keep = base->path.len;
    while (keep > 0 && base->path.s[keep - 1] != '/')
      keep--;
    rc = gs_buf_add(b, base->path.s, keep);
  }
  return rc ? rc : gs_buf_add(b, rpath->s, rpath->len);
}

static int gs__add_part(gs_buf_t *b, const char *pre, const gs__part_t *p) {
  if (!p->defined)
    return 0;
  int rc = gs_buf_add(b, pre, strlen(pre));
  return rc ? rc : gs_buf_add(b, p->s, p->len);
}

int gs_html_resolve_url(const char *base, const char *ref, char **out) {
  if (!base || !ref || !out)
    return GS_EINVAL;
  *out = NULL;
  if (!*base) {
    *out = strdup(ref);
    return *out ? 0 : GS_ENOMEM;
  }
  gs__uri_t b, r;
  gs__uri_split(base, &b);
  gs__uri_split(ref, &r);
  const gs__part_t *scheme = &b.scheme, *auth = &b.authority, *query = &r.query;
  gs_buf_t path = {0};
  int rc = 0;
  if (r.scheme.defined) {
    scheme = &r.scheme;
    auth = &r.authority;
    rc = gs_buf_add(&path, r.path.s, r.path.len);
  } else if (r.authority.defined) {
    auth = &r.authority;
    rc = gs_buf_add(&path, r.path.s, r.path.len);
  } else if (r.path.len == 0) {
    rc = gs_buf_add(&path, b.path.s, b.path.len);
    if (!r.query.defined)
      query = &b.query;
  } else if (r.path.s[0] == '/')
    rc = gs_buf_add(&path, r.path.s, r.path.len);
  else
    rc = gs__merge(&path, &b, &r.path);
  if (!rc && !(!r.scheme.defined && !r.authority.defined && r.path.len == 0))
    gs__remove_dots(&path);

  gs_buf_t o = {0};
  if (!rc && scheme->defined) {
    rc = gs_buf_add(&o, scheme->s, scheme->len);
    for (size_t i = 0; !rc && i < scheme->len; i++)
      if (o.p[i] >= 'A' && o.p[i] <= 'Z')
        o.p[i] = (char)(o.p[i] + 32);
    rc = rc ? rc : gs_buf_add(&o, ":", 1);
  }
  if (!rc)
    rc = gs__add_part(&o, "//", auth);
  if (!rc)
    rc = gs_buf_add(&o, path.p ? path.p : "", path.len);
  if (!rc)
    rc = gs__add_part(&o, "?", query);
  if (!rc)
    rc = gs__add_part(&o, "#", &r.fragment);
  if (!rc && !o.p)
    rc = gs_buf_add(&o, "", 0);
  free(path.p);
  if (rc) {
    free(o.p);
    return rc;
  }
  *out = o.p;
  return 0;
}

/* The authority ("netloc") of url, as Python's urlparse gives it. */
static gs__part_t gs__netloc(const char *url) {
  gs__uri_t u;
  gs__uri_split(url, &u);
  return u.authority;
}

static bool gs__part_eq(const gs__part_t *a, const gs__part_t *b) {
  return a->len == b->len && (a->len == 0 || !memcmp(a->s, b->s, a->len));
}

/* ---- CSS selectors ----------------------------------------------------- */

typedef struct {
  char *name;
  char *value; /* NULL: presence test */
} gs__sel_attr_t;

typedef struct {
  char comb;             /* combinator to the compound on the left: 0, ' ' or '>' */
  char *tag;             /* lower-case; NULL for any */
  gs_vec_t ids, classes; /* char * */
  gs_vec_t attrs;        /* gs__sel_attr_t */
} gs__compound_t;

typedef struct {
  gs_vec_t compounds; /* gs__compound_t, left to right */
} gs__complex_t;

typedef struct {
  gs_vec_t alts;         /* gs__complex_t */
  gs_html_pool_t *names; /* the strings */
} gs__selector_t;

typedef struct {
  const char *s;
  size_t i;
  char *err;
  size_t errlen;
} gs__sp_t;

static void gs__selector_free(gs__selector_t *sel) {
  for (size_t a = 0; a < sel->alts.len; a++) {
    gs__complex_t *cx = GS_VEC_AT(sel->alts, gs__complex_t, a);
    for (size_t c = 0; c < cx->compounds.len; c++) {
      gs__compound_t *cp = GS_VEC_AT(cx->compounds, gs__compound_t, c);
      free(cp->ids.p);
      free(cp->classes.p);
      free(cp->attrs.p);
    }
    free(cx->compounds.p);
  }
  free(sel->alts.p);
  gs__pool_free(sel->names);
  memset(sel, 0, sizeof *sel);
}

static int gs__sp_fail(gs__sp_t *p, const char *what) {
  if (p->err && p->errlen)
    snprintf(p->err, p->errlen, "Invalid selector '%s': %s at position %zu", p->s, what, p->i + 1);
  return GS_EINVAL;
}

static bool gs__is_name_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c >= 0x80;
}

static void gs__sp_ws(gs__sp_t *p) {
  while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r' ||
         p->s[p->i] == '\f')
    p->i++;
}

/* A CSS identifier (no escapes) into *out (lower-cased if fold), or an error. */
static int gs__sp_ident(gs__sp_t *p, gs_html_pool_t *pool, bool fold, char **out,
                        const char *what) {
  const unsigned char *u = (const unsigned char *)p->s + p->i;
  bool ok = (u[0] >= 0x80 || u[0] == '_' || ((u[0] | 0x20) >= 'a' && (u[0] | 0x20) <= 'z')) ||
            (u[0] == '-' && gs__is_name_byte(u[1]) && !(u[1] >= '0' && u[1] <= '9'));
  if (!ok)
    return gs__sp_fail(p, what);
  size_t n = 0;
  while (gs__is_name_byte(u[n]))
    n++;
  if (!(*out = gs__pool_strndup(pool, p->s + p->i, n)))
    return GS_ENOMEM;
  for (size_t k = 0; fold && k < n; k++)
    if ((*out)[k] >= 'A' && (*out)[k] <= 'Z')
      (*out)[k] = (char)((*out)[k] + 32);
  p->i += n;
  return 0;
}

/* [name] or [name=value] with the value a name or a quoted string. */
static int gs__sp_attr(gs__sp_t *p, gs_html_pool_t *pool, gs__compound_t *cp) {
  gs__sel_attr_t *a = gs_vec_push(&cp->attrs, sizeof *a);
  if (!a)
    return GS_ENOMEM;
  p->i++; /* '[' */
  gs__sp_ws(p);
  int rc = gs__sp_ident(p, pool, true, &a->name, "expected an attribute name");
  if (rc)
    return rc;
  gs__sp_ws(p);
  if (p->s[p->i] == '=') {
    p->i++;
    gs__sp_ws(p);
    char q = p->s[p->i];
    if (q == '"' || q == '\'') {
      const char *end = strchr(p->s + p->i + 1, q);
      if (!end)
        return gs__sp_fail(p, "unterminated string");
      size_t start = p->i + 1, n = (size_t)(end - p->s) - start;
      if (memchr(p->s + start, '\\', n))
        return gs__sp_fail(p, "escapes are not supported");
      if (!(a->value = gs__pool_strndup(pool, p->s + start, n)))
        return GS_ENOMEM;
      p->i = start + n + 1;
    } else if ((rc = gs__sp_ident(p, pool, false, &a->value, "expected an attribute value")))
      return rc;
    gs__sp_ws(p);
  }
  if (p->s[p->i] != ']')
    return gs__sp_fail(p, "expected ']'");
  p->i++;
  return 0;
}

/* type? (#id | .class | [attr...])* ; at least one part. */
static int gs__sp_compound(gs__sp_t *p, gs_html_pool_t *pool, gs__compound_t *cp) {
  size_t start = p->i;
  int rc = 0;
  if (p->s[p->i] == '*')
    p->i++;
  else if (gs__is_name_byte((unsigned char)p->s[p->i]))
    rc = gs__sp_ident(p, pool, true, &cp->tag, "expected a type name");
  while (!rc) {
    char c = p->s[p->i];
    gs_vec_t *list = c == '#' ? &cp->ids : c == '.' ? &cp->classes : NULL;
    if (list) {
      p->i++;
      char **slot = gs_vec_push(list, sizeof *slot);
      rc = !slot
               ? GS_ENOMEM
               : gs__sp_ident(p, pool, false, slot,
                              c == '#' ? "expected a name after '#'" : "expected a name after '.'");
    } else if (c == '[')
      rc = gs__sp_attr(p, pool, cp);
    else
      break;
  }
  if (!rc && p->i == start)
    return gs__sp_fail(p, p->s[p->i] ? "unexpected character" : "expected a selector");
  return rc;
}

static int gs__sp_complex(gs__sp_t *p, gs_html_pool_t *pool, gs__complex_t *cx) {
  char comb = 0;
  for (;;) {
    if (cx->compounds.len == GS_HTML_MAX_COMPOUNDS)
      return gs__sp_fail(p, "too many compound selectors");
    gs__compound_t *cp = gs_vec_push(&cx->compounds, sizeof *cp);
    if (!cp)
      return GS_ENOMEM;
    cp->comb = comb;
    int rc = gs__sp_compound(p, pool, cp);
    if (rc)
      return rc;
    size_t before = p->i;
    gs__sp_ws(p);
    char c = p->s[p->i];
    if (c == '\0' || c == ',')
      return 0;
    if (c == '>') {
      p->i++;
      gs__sp_ws(p);
      comb = '>';
    } else if (p->i > before)
      comb = ' ';
    else
      return gs__sp_fail(p, "unexpected character");
  }
}

/* Parses selector into sel (free with gs__selector_free, also on error). */
static int gs__selector_parse(const char *selector, gs__selector_t *sel, char *err, size_t errlen) {
  memset(sel, 0, sizeof *sel);
  gs__sp_t p = {selector, 0, err, errlen};
  if (strlen(selector) > GS_HTML_MAX_SELECTOR)
    return gs__sp_fail(&p, "selector too long");
  if (!(sel->names = gs__pool_new()))
    return GS_ENOMEM;
  gs__sp_ws(&p);
  for (;;) {
    gs__complex_t *cx = gs_vec_push(&sel->alts, sizeof *cx);
    if (!cx)
      return GS_ENOMEM;
    int rc = gs__sp_complex(&p, sel->names, cx);
    if (rc)
      return rc;
    if (p.s[p.i] == '\0')
      return 0;
    p.i++; /* ',' */
    gs__sp_ws(&p);
  }
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (n >= 1), or 0 when
 * s[0] starts none (RFC 3629's table of well-formed sequences). */
static size_t gs__utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t k = c >= 0xc2 && c <= 0xdf   ? 2
             : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4
                                      : 0;
  if (!k || n < k)
    return 0;
  unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
  unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t j = 2; j < k; j++)
    if ((s[j] & 0xc0) != 0x80)
      return 0;
  return k;
}

/* The element's lower-case tag name into buf (n >= 4 bytes), valid UTF-8.
 * An unknown tag's name is its source text, raw bytes: ASCII is
 * lower-cased and each NUL or byte that starts no well-formed sequence
 * becomes U+FFFD, as gumbo's tokenizer does; a name longer than buf is cut
 * at a character boundary. */
static const char *gs__tag_name(const GumboNode *node, char *buf, size_t n) {
  const GumboElement *el = &node->v.element;
  if (el->tag != GUMBO_TAG_UNKNOWN)
    return gumbo_normalized_tagname(el->tag);
  GumboStringPiece piece = el->original_tag;
  gumbo_tag_from_original_text(&piece);
  const unsigned char *s = (const unsigned char *)piece.data;
  size_t k = 0;
  for (size_t i = 0; i < piece.length;) {
    size_t len = s[i] ? gs__utf8_seq(s + i, piece.length - i) : 0;
    const char *c = len ? (const char *)s + i : "\xef\xbf\xbd";
    size_t clen = len ? len : 3;
    if (clen > n - 1 - k)
      break;
    for (size_t j = 0; j < clen; j++)
      buf[k + j] = c[j] >= 'A' && c[j] <= 'Z' ? (char)(c[j] + 32) : c[j];
    k += clen;
    i += len ? len : 1;
  }
  buf[k] = '\0';
  return buf;
}

static bool gs__is_element(const GumboNode *n) {
  return n && (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE);
}

static const char *gs__attr(const GumboNode *n, const char *name) {
  GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, name);
  return a ? a->value : NULL;
}

/* Whether the white-space separated list `list` contains `word`. */
static bool gs__has_word(const char *list, const char *word) {
  size_t wn = strlen(word);
  for (const char *s = list; *s;) {
    while (*s && strchr(" \t\n\r\f", *s))
      s++;
    size_t n = 0;
    while (s[n] && !strchr(" \t\n\r\f", s[n]))
      n++;
    if (n && n == wn && !memcmp(s, word, n))
      return true;
    s += n;
  }
  return false;
}

static bool gs__compound_match(const gs__compound_t *cp, const GumboNode *n) {
  if (cp->tag) {
    char buf[256];
    if (strcmp(gs__tag_name(n, buf, sizeof buf), cp->tag))
      return false;
  }
  for (size_t i = 0; i < cp->ids.len; i++) {
    const char *id = gs__attr(n, "id");
    if (!id || strcmp(id, *GS_VEC_AT(cp->ids, char *, i)))
      return false;
  }
  for (size_t i = 0; i < cp->classes.len; i++) {
    const char *cls = gs__attr(n, "class");
    if (!cls || !gs__has_word(cls, *GS_VEC_AT(cp->classes, char *, i)))
      return false;
  }
  for (size_t i = 0; i < cp->attrs.len; i++) {
    const gs__sel_attr_t *a = GS_VEC_AT(cp->attrs, gs__sel_attr_t, i);
    const char *v = gs__attr(n, a->name);
    if (!v || (a->value && strcmp(v, a->value)))
      return false;
  }
  return true;
}

enum { GS__MATCH, GS__FAIL_HERE, GS__FAIL_ALL };

/* Matches compounds[0..k] with compounds[k] on n, right to left. A failure
 * that ran out of ancestors fails every farther ancestor too (GS__FAIL_ALL),
 * which keeps descendant combinators polynomial. Recursion depth is at most
 * GS_HTML_MAX_COMPOUNDS. */
static int gs__match_from(const gs__complex_t *cx, size_t k, const GumboNode *n) {
  const gs__compound_t *cp = GS_VEC_AT(cx->compounds, gs__compound_t, k);
  if (!gs__compound_match(cp, n))
    return GS__FAIL_HERE;
  if (k == 0)
    return GS__MATCH;
  const GumboNode *up = gs__is_element(n->parent) ? n->parent : NULL;
  if (cp->comb == '>')
    return up ? gs__match_from(cx, k - 1, up) : GS__FAIL_ALL;
  for (; up; up = gs__is_element(up->parent) ? up->parent : NULL) {
    int r = gs__match_from(cx, k - 1, up);
    if (r != GS__FAIL_HERE)
      return r;
  }
  return GS__FAIL_ALL;
}

static bool gs__selector_match(const gs__selector_t *sel, const GumboNode *n) {
  for (size_t a = 0; a < sel->alts.len; a++) {
    const gs__complex_t *cx = GS_VEC_AT(sel->alts, gs__complex_t, a);
    if (gs__match_from(cx, cx->compounds.len - 1, n) == GS__MATCH)
      return true;
  }
  return false;
}

/* ---- noise patterns (gofr-dig's ContentExtractor, as POSIX EREs) ------- */

#define GS__AD_WORDS                                                                               \
  "(ad|ads|advert|advertisement|adslot|ad-slot|ad-container|adsbygoogle|sponsored|sponsor|promo|"  \
  "promotion|banner-ad|dfp|doubleclick|taboola|outbrain)"
static const char GS__AD_RE[] = "(^|[_-])" GS__AD_WORDS "|" GS__AD_WORDS "([_-]|$)";

#define S "[[:space:]]"
static const char GS__LINE_RE[] =
    "^" S "*(advertisements?|advertise(ment)?s?|sponsored" S "*(content|post|links?)?|ads?"
    "|promoted" S "*(content|stories)?"
    "|multimedia|videos?|slideshow|gallery|photos?|play" S "+video|watch" S "+video"
    "|videocam|photo_camera|play_arrow|play_circle"
    "|[+]?" S "*follow(" S "+us)?|share(" S "+this)?|tweet|email" S "+this|print"
    "|read" S "+more|see" S "+more|show" S "+more|load" S "+more|more" S "+on" S "+this"
    "|related" S "+(stories|articles|topics|posts)|you" S "+may" S "+also" S "+like"
    "|recommended" S "+for" S "+you|comments?|leave" S "+a" S "+comment|post" S "+a" S "+comment"
    "|cookie" S "+(policy|consent|settings|preferences)|accept" S "+(all" S "+)?cookies?"
    "|we" S "+use" S "+cookies|sign" S "+up" S "+(for|to)" S "+(our" S "+)?newsletter"
    "|subscribe" S "+(now|today|for" S "+free)|skip" S "+(to" S "+)?(content|main|navigation)"
    "|(-|\xe2\x80\x93|\xe2\x80\x94|[|]|\xe2\x80\xa2|\xc2\xb7){1,3})" S "*$";
#undef S

/* ---- the walk ---------------------------------------------------------- */

enum { GS__NL, GS__SP, GS__NONE, GS__NBUF }; /* text buffers by separator */
static const char *const GS__SEP[GS__NBUF] = {"\n", " ", ""};

typedef enum { GS__EXTRACT, GS__EXTRACT_SELECT, GS__STRUCTURE, GS__SELECT } gs__mode_t;

static const char *const GS__SECTION_TAGS[] = {"header",  "nav",   "main",  "article",
                                               "section", "aside", "footer"};
static const GumboTag GS__SECTION_ENUM[] = {GUMBO_TAG_HEADER,  GUMBO_TAG_NAV,     GUMBO_TAG_MAIN,
                                            GUMBO_TAG_ARTICLE, GUMBO_TAG_SECTION, GUMBO_TAG_ASIDE,
                                            GUMBO_TAG_FOOTER};
#define GS__NSECTION_TAGS 7
/* Navigation groups: the nav tag, then these classes, then these ids. */
static const char *const GS__NAV_CLASSES[] = {"nav",    "navigation", "menu",
                                              "navbar", "header-nav", "main-nav"};
static const char *const GS__NAV_IDS[] = {"nav", "navigation", "main-nav", "menu"};
#define GS__NNAV_CLASSES 6
#define GS__NNAV_IDS 4
#define GS__NNAV (1 + GS__NNAV_CLASSES + GS__NNAV_IDS)

enum {
  GS__F_NOTEXT = 1 << 0,
  GS__F_TITLE = 1 << 1,
  GS__F_FIRST_H1 = 1 << 2,
  GS__F_HEAD = 1 << 3,
  GS__F_LINK = 1 << 4,
  GS__F_SECTION = 1 << 5,
  GS__F_FORM = 1 << 6,
  GS__F_MATCH = 1 << 7,
  GS__F_SCOPE = 1 << 8,
};

typedef struct {
  const GumboNode *node;
  unsigned next;  /* next child to visit */
  unsigned flags; /* GS__F_* */
  unsigned nav;   /* navigation groups this element opened (bit g) */
  size_t mark[GS__NBUF];
  size_t rec, mrec; /* record index (heading/link/section/form), match index */
} gs__frame_t;

typedef struct {
  int level;
  size_t pos;
  const char *id;
  char *text;
} gs__head_t;
typedef struct {
  const char *href, *title;
  unsigned nav;
  char *text;
} gs__link_t;
typedef struct {
  int tag;
  const GumboNode *node;
  size_t pos, end, a_start, a_count;
  char *preview;
} gs__sect_t;
typedef struct {
  const GumboNode *node;
  size_t first, end; /* field range */
} gs__form_t;
typedef struct {
  const GumboNode *node;
  char *text;
} gs__match_t;

typedef struct {
  gs__mode_t mode;
  bool remove_tags, remove_ads;
  regex_t ad_re;
  const gs__selector_t *sel; /* or NULL */
  gs_html_pool_t *pool;      /* the result's */
  int rc;                    /* first error */

  gs_vec_t stack; /* gs__frame_t */
  gs_buf_t txt[GS__NBUF];
  unsigned notext;  /* open script/style/template/rt/rp */
  bool in_scope;    /* inside the analysis root */
  bool scope_found; /* the selector root was seen (structure) */
  size_t pos;       /* elements entered so far */
  size_t a_count;   /* <a> elements entered in scope */
  unsigned nav_open[GS__NNAV];
  bool nav_id_seen[GS__NNAV_IDS];

  bool title_seen, h1_seen, html_seen, lang_meta_seen;
  char *title, *first_h1;
  const char *lang, *lang_meta, *base_href;
  gs_vec_t heads, links, images, metas, sects, forms, fields, matches;
} gs__walk_t;

static void gs__walk_fail(gs__walk_t *w, int rc) {
  if (!w->rc)
    w->rc = rc;
}

/* The text of the element of frame f in buffer `which`, copied to the pool. */
static char *gs__slice(gs__walk_t *w, const gs__frame_t *f, int which) {
  const gs_buf_t *b = &w->txt[which];
  size_t from = f->mark[which], to = b->len;
  if (to > from && from > 0)
    from += strlen(GS__SEP[which]);
  char *s = gs__pool_strndup(w->pool, b->p ? b->p + from : "", to > from ? to - from : 0);
  if (!s)
    gs__walk_fail(w, GS_ENOMEM);
  return s;
}

static void gs__on_text(gs__walk_t *w, const GumboNode *n) {
  if (w->notext)
    return;
  const char *s = n->v.text.text;
  size_t off = 0, len = strlen(s);
  gs__strip(s, &off, &len);
  if (!len)
    return;
  for (int i = 0; i < GS__NBUF; i++) {
    gs_buf_t *b = &w->txt[i];
    int rc = b->len ? gs_buf_add(b, GS__SEP[i], strlen(GS__SEP[i])) : 0;
    if (rc || (rc = gs_buf_add(b, s + off, len)))
      gs__walk_fail(w, rc);
  }
}

/* Whether gofr-dig would drop the element before extracting. */
static bool gs__removed(const gs__walk_t *w, const GumboNode *n) {
  GumboTag t = n->v.element.tag;
  if (w->remove_tags && (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_NOSCRIPT ||
                         t == GUMBO_TAG_IFRAME || t == GUMBO_TAG_SVG || t == GUMBO_TAG_CANVAS))
    return true;
  if (!w->remove_ads)
    return false;
  const char *cls = gs__attr(n, "class"), *id = gs__attr(n, "id");
  if (!cls && !id)
    return false;
  /* "<classes joined by one space> <id>", as gofr-dig builds it */
  gs_buf_t b = {0};
  int rc = 0;
  for (const char *s = cls ? cls : ""; *s && !rc;) {
    while (*s && strchr(" \t\n\r\f", *s))
      s++;
    size_t k = 0;
    while (s[k] && !strchr(" \t\n\r\f", s[k]))
      k++;
    if (k)
      rc = (b.len ? gs_buf_add(&b, " ", 1) : 0) || gs_buf_add(&b, s, k) ? GS_ENOMEM : 0;
    s += k;
  }
  if (!rc)
    rc = gs_buf_add(&b, " ", 1) || gs_buf_add(&b, id ? id : "", id ? strlen(id) : 0);
  bool blank = true;
  for (size_t i = 0; !rc && i < b.len; i++)
    blank = blank && strchr(" \t\n\r\f\v", b.p[i]) != NULL;
  bool hit = !rc && !blank && regexec(&w->ad_re, b.p, 0, NULL, 0) == 0;
  free(b.p);
  return hit;
}

/* Pushes a record of `size` bytes onto v and, when the element's text is
 * needed later, notes its index and `flag` in the frame. NULL on failure. */
static void *gs__record(gs__walk_t *w, gs_vec_t *v, size_t size, gs__frame_t *f, unsigned flag) {
  void *r = gs_vec_push(v, size);
  if (!r)
    gs__walk_fail(w, GS_ENOMEM);
  else if (flag) {
    f->flags |= flag;
    f->rec = v->len - 1;
  }
  return r;
}

/* Element-specific records, before the element's own subtree. */
static void gs__enter_records(gs__walk_t *w, const GumboNode *n, gs__frame_t *f) {
  GumboTag t = n->v.element.tag;
  if (t == GUMBO_TAG_TITLE && !w->title_seen) {
    w->title_seen = true;
    f->flags |= GS__F_TITLE;
  } else if (t == GUMBO_TAG_H1 && !w->h1_seen) {
    w->h1_seen = true;
    f->flags |= GS__F_FIRST_H1;
  } else if (t == GUMBO_TAG_HTML && !w->html_seen) {
    w->html_seen = true;
    w->lang = gs__attr(n, "lang");
  } else if (t == GUMBO_TAG_BASE && !w->base_href) {
    w->base_href = gs__attr(n, "href");
  } else if (t == GUMBO_TAG_META) {
    const char *name = gs__attr(n, "name"), *content = gs__attr(n, "content");
    const char *equiv = gs__attr(n, "http-equiv");
    if (!name || !*name)
      name = gs__attr(n, "property");
    const char **m =
        name && *name && content && *content ? gs__record(w, &w->metas, 2 * sizeof *m, f, 0) : NULL;
    if (m) {
      m[0] = name;
      m[1] = content;
    }
    if (equiv && !strcmp(equiv, "Content-Language") && !w->lang_meta_seen) {
      w->lang_meta_seen = true;
      w->lang_meta = content;
    }
  }
}

static int gs__heading_level(GumboTag t) {
  static const GumboTag h[] = {GUMBO_TAG_H1, GUMBO_TAG_H2, GUMBO_TAG_H3,
                               GUMBO_TAG_H4, GUMBO_TAG_H5, GUMBO_TAG_H6};
  for (int i = 0; i < 6; i++)
    if (t == h[i])
      return i + 1;
  return 0;
}

/* Records of the analysis scope (the page, or the selected root's
 * descendants): headings, links, images, forms, fields and sections. */
static void gs__enter_scoped(gs__walk_t *w, const GumboNode *n, gs__frame_t *f) {
  GumboTag t = n->v.element.tag;
  int level = gs__heading_level(t);
  if (level) {
    gs__head_t *h = gs__record(w, &w->heads, sizeof *h, f, GS__F_HEAD);
    if (h)
      *h = (gs__head_t){level, w->pos, gs__attr(n, "id"), NULL};
  } else if (t == GUMBO_TAG_A) {
    w->a_count++;
    const char *href = gs__attr(n, "href");
    unsigned nav = 0;
    for (int g = 0; g < GS__NNAV; g++)
      nav |= w->nav_open[g] ? 1u << g : 0u;
    gs__link_t *l = href ? gs__record(w, &w->links, sizeof *l, f, GS__F_LINK) : NULL;
    if (l)
      *l = (gs__link_t){href, gs__attr(n, "title"), nav, NULL};
  } else if (t == GUMBO_TAG_IMG) {
    const char *src = gs__attr(n, "src");
    const char **img = src && *src ? gs__record(w, &w->images, 2 * sizeof *img, f, 0) : NULL;
    if (img) {
      img[0] = src;
      img[1] = gs__attr(n, "alt");
    }
  } else if (t == GUMBO_TAG_FORM) {
    gs__form_t *fm = gs__record(w, &w->forms, sizeof *fm, f, GS__F_FORM);
    if (fm)
      *fm = (gs__form_t){n, w->fields.len, w->fields.len};
  } else if (t == GUMBO_TAG_INPUT || t == GUMBO_TAG_TEXTAREA || t == GUMBO_TAG_SELECT) {
    const GumboNode **fld = gs__record(w, &w->fields, sizeof *fld, f, 0);
    if (fld)
      *fld = n;
  } else {
    for (int k = 0; k < GS__NSECTION_TAGS; k++) {
      gs__sect_t *s =
          t == GS__SECTION_ENUM[k] ? gs__record(w, &w->sects, sizeof *s, f, GS__F_SECTION) : NULL;
      if (s)
        *s = (gs__sect_t){k, n, w->pos, 0, w->a_count, 0, NULL};
    }
  }
}

/* Opens the navigation groups the element starts (structure only). */
static void gs__open_nav(gs__walk_t *w, const GumboNode *n, gs__frame_t *f) {
  unsigned bits = n->v.element.tag == GUMBO_TAG_NAV ? 1u : 0u;
  const char *cls = gs__attr(n, "class"), *id = gs__attr(n, "id");
  for (int k = 0; cls && k < GS__NNAV_CLASSES; k++)
    if (gs__has_word(cls, GS__NAV_CLASSES[k]))
      bits |= 1u << (1 + k);
  for (int k = 0; id && k < GS__NNAV_IDS; k++)
    if (!w->nav_id_seen[k] && !strcmp(id, GS__NAV_IDS[k])) {
      w->nav_id_seen[k] = true;
      bits |= 1u << (1 + GS__NNAV_CLASSES + k);
    }
  for (int g = 0; g < GS__NNAV; g++)
    w->nav_open[g] += (bits >> g) & 1u;
  f->nav = bits;
}

static void gs__enter(gs__walk_t *w, const GumboNode *n) {
  if (gs__removed(w, n))
    return;
  gs__frame_t *f = gs_vec_push(&w->stack, sizeof *f);
  if (!f) {
    gs__walk_fail(w, GS_ENOMEM);
    return;
  }
  f->node = n;
  for (int i = 0; i < GS__NBUF; i++)
    f->mark[i] = w->txt[i].len;
  GumboTag t = n->v.element.tag;
  if (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_TEMPLATE ||
      t == GUMBO_TAG_RT || t == GUMBO_TAG_RP) {
    w->notext++;
    f->flags |= GS__F_NOTEXT;
  }
  gs__enter_records(w, n, f);
  if (w->in_scope && (w->mode == GS__EXTRACT || w->mode == GS__STRUCTURE))
    gs__enter_scoped(w, n, f);
  if (w->in_scope && w->mode == GS__STRUCTURE)
    gs__open_nav(w, n, f);
  if (w->sel && w->mode == GS__STRUCTURE && !w->scope_found && gs__selector_match(w->sel, n)) {
    w->scope_found = w->in_scope = true;
    f->flags |= GS__F_SCOPE;
  } else if (w->sel && w->mode != GS__STRUCTURE && gs__selector_match(w->sel, n)) {
    gs__match_t *m = gs_vec_push(&w->matches, sizeof *m);
    if (!m)
      gs__walk_fail(w, GS_ENOMEM);
    else {
      m->node = n;
      f->flags |= GS__F_MATCH;
      f->mrec = w->matches.len - 1;
    }
  }
  w->pos++;
}

/* text cut at GS_HTML_PREVIEW_CHARS code points, "..." appended if cut. */
static char *gs__preview(gs__walk_t *w, char *text) {
  size_t cps = 0, i = 0;
  for (; text[i]; i++)
    if (((unsigned char)text[i] & 0xc0) != 0x80 && ++cps > GS_HTML_PREVIEW_CHARS)
      break;
  if (!text[i])
    return text;
  char *s = gs__pool_alloc(w->pool, i + 4);
  if (!s) {
    gs__walk_fail(w, GS_ENOMEM);
    return NULL;
  }
  memcpy(s, text, i);
  memcpy(s + i, "...", 4);
  return s;
}

static void gs__leave(gs__walk_t *w, const gs__frame_t *f) {
  unsigned fl = f->flags;
  if (fl & GS__F_NOTEXT)
    w->notext--;
  for (int g = 0; g < GS__NNAV; g++)
    w->nav_open[g] -= (f->nav >> g) & 1u;
  if (fl & GS__F_SCOPE)
    w->in_scope = false;
  if (fl & GS__F_TITLE)
    w->title = gs__slice(w, f, GS__NONE);
  if (fl & GS__F_FIRST_H1)
    w->first_h1 = gs__slice(w, f, GS__NONE);
  if (fl & GS__F_HEAD)
    GS_VEC_AT(w->heads, gs__head_t, f->rec)->text = gs__slice(w, f, GS__NONE);
  if (fl & GS__F_LINK)
    GS_VEC_AT(w->links, gs__link_t, f->rec)->text = gs__slice(w, f, GS__NONE);
  if (fl & GS__F_FORM)
    GS_VEC_AT(w->forms, gs__form_t, f->rec)->end = w->fields.len;
  if (fl & GS__F_SECTION) {
    gs__sect_t *s = GS_VEC_AT(w->sects, gs__sect_t, f->rec);
    s->end = w->pos;
    s->a_count = w->a_count - s->a_start;
    char *text = gs__slice(w, f, GS__SP);
    s->preview = text ? gs__preview(w, text) : NULL;
  }
  if (fl & GS__F_MATCH)
    GS_VEC_AT(w->matches, gs__match_t, f->mrec)->text =
        gs__slice(w, f, w->mode == GS__SELECT ? GS__SP : GS__NL);
}

/* Visits the tree in document order; elements gofr-dig would drop are
 * skipped with their subtrees. */
static void gs__walk(gs__walk_t *w, const GumboNode *doc) {
  gs__frame_t *root = gs_vec_push(&w->stack, sizeof *root);
  if (!root) {
    gs__walk_fail(w, GS_ENOMEM);
    return;
  }
  root->node = doc;
  while (w->stack.len && !w->rc) {
    gs__frame_t *f = GS_VEC_AT(w->stack, gs__frame_t, w->stack.len - 1);
    const GumboVector *kids =
        f->node == doc ? &doc->v.document.children : &f->node->v.element.children;
    if (f->next < kids->length) {
      const GumboNode *c = kids->data[f->next++];
      if (c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_CDATA ||
          c->type == GUMBO_NODE_WHITESPACE)
        gs__on_text(w, c);
      else if (gs__is_element(c))
        gs__enter(w, c);
      continue;
    }
    gs__leave(w, f);
    w->stack.len--;
  }
}

/* ---- building results --------------------------------------------------- */

static char *gs__dup(gs__walk_t *w, const char *s) {
  if (!s)
    return NULL;
  char *r = gs__pool_strndup(w->pool, s, strlen(s));
  if (!r)
    gs__walk_fail(w, GS_ENOMEM);
  return r;
}

/* Copies v (n elements of size bytes) into the pool; NULL when empty. */
static void *gs__freeze(gs__walk_t *w, const gs_vec_t *v, size_t size) {
  if (!v->len)
    return NULL;
  void *r = gs__pool_alloc(w->pool, v->len * size);
  if (!r)
    gs__walk_fail(w, GS_ENOMEM);
  else
    memcpy(r, v->p, v->len * size);
  return r;
}

/* gofr-dig's _extract_text on "\n"-joined strings: runs of three or more
 * newlines become two, runs of spaces and tabs one space, then strip. */
static char *gs__clean(gs__walk_t *w, const char *s) {
  size_t n = strlen(s), o = 0;
  char *r = gs__pool_alloc(w->pool, n + 1);
  if (!r) {
    gs__walk_fail(w, GS_ENOMEM);
    return NULL;
  }
  for (size_t i = 0; i < n;) {
    size_t k = i;
    if (s[i] == '\n') {
      while (k < n && s[k] == '\n')
        k++;
      size_t keep = k - i > 2 ? 2 : k - i;
      memset(r + o, '\n', keep);
      o += keep;
    } else if (s[i] == ' ' || s[i] == '\t') {
      while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
      r[o++] = ' ';
    } else
      r[o++] = s[k++];
    i = k;
  }
  size_t off = 0;
  gs__strip(r, &off, &o);
  memmove(r, r + off, o);
  r[o] = '\0';
  return r;
}

/* gofr-dig's _filter_noise_text: drops lines that are only noise (ad labels,
 * share/follow prompts, cookie banners, ...), then cleans again. */
static char *gs__filter_lines(gs__walk_t *w, const char *text) {
  regex_t re;
  if (regcomp(&re, GS__LINE_RE, REG_EXTENDED | REG_ICASE | REG_NOSUB)) {
    gs__walk_fail(w, GS_ENOMEM);
    return NULL;
  }
  gs_buf_t out = {0}, line = {0};
  int rc = gs_buf_add(&out, "", 0);
  for (const char *s = text; !rc;) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) : strlen(s);
    line.len = 0;
    rc = gs_buf_add(&line, s, n);
    /* Python's \s matches Unicode spaces; [[:space:]] only ASCII ones */
    for (size_t i = 0, k; !rc && i < line.len; i += k ? k : 1)
      if ((k = gs__space_at((unsigned char *)line.p + i, line.len - i)) > 1)
        memset(line.p + i, ' ', k);
    if (!rc && regexec(&re, line.p, 0, NULL, 0) != 0)
      rc = gs_buf_add(&out, s, n) || gs_buf_add(&out, "\n", 1) ? GS_ENOMEM : 0;
    if (!nl)
      break;
    s = nl + 1;
  }
  regfree(&re);
  free(line.p);
  char *r = rc ? NULL : gs__clean(w, out.p);
  free(out.p);
  if (rc)
    gs__walk_fail(w, rc);
  return r;
}

/* ref as Python's urlsplit reads it: leading C0 controls and spaces
 * dropped, tabs and line breaks removed. NULL when out of memory. */
static char *gs__clean_ref(const char *ref) {
  while (*ref && (unsigned char)*ref <= 0x20)
    ref++;
  char *r = malloc(strlen(ref) + 1), *o = r;
  for (; r && *ref; ref++)
    if (*ref != '\t' && *ref != '\n' && *ref != '\r')
      *o++ = *ref;
  if (r)
    *o = '\0';
  return r;
}

/* Python's urljoin(base, ref) for ref with a scheme or an authority, into
 * *out (malloc'd): the path is kept as written, dot segments and all. A
 * scheme other than the base's leaves ref unchanged; the same scheme is
 * lower-cased. Returns 1 if done, 0 when ref is relative (use RFC 3986),
 * GS_ENOMEM. */
static int gs__urljoin_absolute(const char *base, const char *ref, char **out) {
  gs__uri_t b, r;
  gs__uri_split(base, &b);
  gs__uri_split(ref, &r);
  gs_buf_t o = {0};
  int rc;
  if (r.scheme.defined) {
    bool same = b.scheme.len == r.scheme.len && !strncasecmp(b.scheme.s, r.scheme.s, r.scheme.len);
    if (same && !r.authority.defined)
      return 0;
    rc = gs_buf_add(&o, ref, strlen(ref));
    for (size_t i = 0; same && !rc && i < r.scheme.len; i++)
      if (o.p[i] >= 'A' && o.p[i] <= 'Z')
        o.p[i] = (char)(o.p[i] + 32);
  } else if (r.authority.defined && *base) {
    rc = gs_buf_add(&o, b.scheme.s ? b.scheme.s : "", b.scheme.len);
    for (size_t i = 0; !rc && i < o.len; i++)
      if (o.p[i] >= 'A' && o.p[i] <= 'Z')
        o.p[i] = (char)(o.p[i] + 32);
    if (!rc)
      rc = (b.scheme.defined ? gs_buf_add(&o, ":", 1) : 0) || gs_buf_add(&o, ref, strlen(ref))
               ? GS_ENOMEM
               : 0;
  } else
    return 0;
  if (rc) {
    free(o.p);
    return rc;
  }
  *out = o.p;
  return 1;
}

/* A link target as gofr-dig computes it (urljoin(base, ref)), in the pool:
 * RFC 3986 for relative references, see gs__urljoin_absolute otherwise. */
static char *gs__resolve(gs__walk_t *w, const char *base, const char *ref) {
  char *clean = gs__clean_ref(ref), *abs = NULL;
  int rc = clean ? gs__urljoin_absolute(base, clean, &abs) : GS_ENOMEM;
  if (rc == 0)
    rc = gs_html_resolve_url(base, clean, &abs);
  else if (rc == 1)
    rc = 0;
  free(clean);
  char *r = rc ? NULL : gs__dup(w, abs);
  free(abs);
  if (rc)
    gs__walk_fail(w, rc);
  return r;
}

static size_t gs__hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

/* A set of strings (open addressing), for de-duplication. */
typedef struct {
  const char **slots;
  size_t cap, n;
} gs__set_t;

/* Adds s; returns 1 if new, 0 if already there, GS_ENOMEM. */
static int gs__set_add(gs__set_t *set, const char *s) {
  if (set->n * 2 >= set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 64;
    const char **slots = calloc(cap, sizeof *slots);
    if (!slots)
      return GS_ENOMEM;
    for (size_t i = 0; i < set->cap; i++) {
      if (!set->slots[i])
        continue;
      size_t j = gs__hash(set->slots[i]) & (cap - 1);
      while (slots[j])
        j = (j + 1) & (cap - 1);
      slots[j] = set->slots[i];
    }
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
  }
  size_t j = gs__hash(s) & (set->cap - 1);
  for (; set->slots[j]; j = (j + 1) & (set->cap - 1))
    if (!strcmp(set->slots[j], s))
      return 0;
  set->slots[j] = s;
  set->n++;
  return 1;
}

/* The page's URL for resolving links: base_url, or <base href> resolved
 * against it when asked. Pool string; "" when there is none. */
static const char *gs__link_base(gs__walk_t *w, const char *base_url, bool base_href) {
  char *base = gs__clean_ref(base_url ? base_url : ""), *r;
  if (!base) {
    gs__walk_fail(w, GS_ENOMEM);
    return "";
  }
  r = base_href && w->base_href ? gs__resolve(w, base, w->base_href) : gs__dup(w, base);
  free(base);
  return r ? r : "";
}

/* Resolved URL of each link, or NULL for those gofr-dig skips (empty href,
 * "#...", "javascript:..."). Array in the pool, one entry per link. */
static char **gs__link_urls(gs__walk_t *w, const char *base) {
  char **urls = gs__pool_alloc(w->pool, (w->links.len ? w->links.len : 1) * sizeof *urls);
  if (!urls) {
    gs__walk_fail(w, GS_ENOMEM);
    return NULL;
  }
  for (size_t i = 0; i < w->links.len; i++) {
    const char *href = GS_VEC_AT(w->links, gs__link_t, i)->href;
    bool skip = !*href || href[0] == '#' || !strncmp(href, "javascript:", 11);
    urls[i] = skip ? NULL : gs__resolve(w, base, href);
  }
  return urls;
}

/* Appends link i to out unless its URL is already in seen. */
static void gs__emit_link(gs__walk_t *w, gs_vec_t *out, gs__set_t *seen, const char *url,
                          const gs__link_t *l) {
  int fresh = gs__set_add(seen, url);
  if (fresh <= 0) {
    if (fresh < 0)
      gs__walk_fail(w, fresh);
    return;
  }
  gs_html_link_t *o = gs_vec_push(out, sizeof *o);
  if (!o) {
    gs__walk_fail(w, GS_ENOMEM);
    return;
  }
  o->url = (char *)url;
  o->text = l->text ? l->text : "";
}

/* Orders meta records (pairs of strings) by name, then document order. */
static int gs__meta_cmp(const void *a, const void *b) {
  const char *const *x = *(const char *const *const *)a, *const *y = *(const char *const *const *)b;
  int c = strcmp(x[0], y[0]);
  return c ? c : (x > y) - (x < y);
}

/* Orders meta records by document order. */
static int gs__meta_pos_cmp(const void *a, const void *b) {
  const char *const *x = *(const char *const *const *)a, *const *y = *(const char *const *const *)b;
  return (x > y) - (x < y);
}

/* Meta names unique: first position kept, last value wins (a Python dict).
 * Sorting by name groups the duplicates: O(m log m). */
static gs_html_meta_t *gs__meta(gs__walk_t *w, size_t *n) {
  size_t m = w->metas.len, groups = 0;
  *n = 0;
  if (!m)
    return NULL;
  const char ***first = malloc(m * sizeof *first);
  const char **last = malloc(m * sizeof *last);
  gs_html_meta_t *r = gs__pool_alloc(w->pool, m * sizeof *r);
  if (!first || !last || !r) {
    gs__walk_fail(w, GS_ENOMEM);
    free(first);
    free(last);
    return NULL;
  }
  for (size_t i = 0; i < m; i++)
    first[i] = (const char **)w->metas.p + 2 * i;
  qsort(first, m, sizeof *first, gs__meta_cmp);
  for (size_t i = 0; i < m; i++) {
    if (i && !strcmp(first[i][0], first[groups - 1][0])) {
      last[groups - 1] = first[i][1];
      continue;
    }
    first[groups] = first[i];
    last[groups++] = first[i][1];
  }
  /* back to document order by first occurrence; the values travel along */
  for (size_t g = 0; g < groups; g++)
    first[g][1] = last[g];
  qsort(first, groups, sizeof *first, gs__meta_pos_cmp);
  for (size_t g = 0; g < groups; g++)
    r[g] = (gs_html_meta_t){gs__dup(w, first[g][0]), gs__dup(w, first[g][1])};
  *n = groups;
  free(first);
  free(last);
  return r;
}

/* Headings of level 1, then 2, ... with non-empty text (ids if with_ids). */
static gs_html_heading_t *gs__headings(gs__walk_t *w, bool with_ids, size_t *n) {
  gs_vec_t out = {0};
  for (int level = 1; level <= 6; level++)
    for (size_t i = 0; i < w->heads.len && !w->rc; i++) {
      const gs__head_t *h = GS_VEC_AT(w->heads, gs__head_t, i);
      if (h->level != level || !h->text || !*h->text)
        continue;
      gs_html_heading_t *o = gs_vec_push(&out, sizeof *o);
      if (!o) {
        gs__walk_fail(w, GS_ENOMEM);
        break;
      }
      *o = (gs_html_heading_t){level, h->text, with_ids ? gs__dup(w, h->id) : NULL};
    }
  gs_html_heading_t *r = gs__freeze(w, &out, sizeof *r);
  *n = out.len;
  free(out.p);
  return r;
}

static char *gs__title(gs__walk_t *w) {
  return w->title_seen ? w->title : w->h1_seen ? w->first_h1 : NULL;
}

/* get_content's links; external: a host other than the page URL's. */
static void gs__extract_links(gs__walk_t *w, gs_html_page_t *pg, const char *page_url,
                              const char *base) {
  char **urls = gs__link_urls(w, base);
  gs_vec_t out = {0};
  gs__set_t seen = {0};
  char *page = gs__clean_ref(page_url ? page_url : "");
  gs__part_t host = page ? gs__netloc(page) : (gs__part_t){0};
  for (size_t i = 0; urls && i < w->links.len && !w->rc; i++) {
    if (!urls[i])
      continue;
    size_t before = out.len;
    const gs__link_t *l = GS_VEC_AT(w->links, gs__link_t, i);
    gs__emit_link(w, &out, &seen, urls[i], l);
    if (out.len == before)
      continue;
    gs_html_link_t *o = GS_VEC_AT(out, gs_html_link_t, before);
    gs__part_t lh = gs__netloc(urls[i]);
    o->title = gs__dup(w, l->title ? l->title : "");
    o->external = page && *page && lh.len && !gs__part_eq(&lh, &host);
  }
  free(page);
  pg->links = gs__freeze(w, &out, sizeof *pg->links);
  pg->nlinks = out.len;
  free(out.p);
  free(seen.slots);
}

static void gs__extract_images(gs__walk_t *w, gs_html_page_t *pg, const char *base) {
  pg->images = gs__pool_alloc(w->pool, (w->images.len ? w->images.len : 1) * sizeof *pg->images);
  if (!pg->images) {
    gs__walk_fail(w, GS_ENOMEM);
    return;
  }
  for (size_t i = 0; i < w->images.len; i++) {
    const char **img = (const char **)w->images.p + 2 * i;
    pg->images[i].url = gs__resolve(w, base, img[0]);
    pg->images[i].alt = gs__dup(w, img[1] ? img[1] : "");
  }
  pg->nimages = w->images.len;
}

/* The text of the selector's matches, cleaned, non-empty ones joined by a
 * blank line. */
static char *gs__matches_text(gs__walk_t *w) {
  gs_buf_t b = {0};
  int rc = gs_buf_add(&b, "", 0);
  for (size_t i = 0; i < w->matches.len && !rc && !w->rc; i++) {
    const char *t = GS_VEC_AT(w->matches, gs__match_t, i)->text;
    char *c = t ? gs__clean(w, t) : NULL;
    if (c && *c)
      rc = (b.len ? gs_buf_add(&b, "\n\n", 2) : 0) || gs_buf_add(&b, c, strlen(c)) ? GS_ENOMEM : 0;
  }
  char *r = rc ? NULL : gs__dup(w, b.p);
  free(b.p);
  if (rc)
    gs__walk_fail(w, rc);
  return r;
}

static void gs__build_page(gs__walk_t *w, const gs_html_extract_opts_t *o, gs_html_page_t *pg) {
  pg->title = gs__title(w);
  const char *lang = w->lang && *w->lang ? w->lang : w->lang_meta;
  pg->language = lang && *lang ? gs__dup(w, lang) : NULL;
  if (w->mode == GS__EXTRACT_SELECT)
    pg->text = gs__matches_text(w);
  else
    pg->text = gs__clean(w, w->txt[GS__NL].p ? w->txt[GS__NL].p : "");
  if (o->filter_noise && pg->text)
    pg->text = gs__filter_lines(w, pg->text);
  if (w->mode == GS__EXTRACT_SELECT)
    return;
  const char *base = gs__link_base(w, o->base_url, o->base_href);
  pg->headings = gs__headings(w, false, &pg->nheadings);
  if (o->include_links)
    gs__extract_links(w, pg, o->base_url, base);
  if (o->include_images)
    gs__extract_images(w, pg, base);
  if (o->include_meta)
    pg->meta = gs__meta(w, &pg->nmeta);
}

/* Text of the first h1 inside section s, else the first h2, ...; NULL if
 * none. Headings are in document order, so by position. */
static char *gs__section_heading(gs__walk_t *w, const gs__sect_t *s, const gs_vec_t *by_level) {
  for (int level = 0; level < 6; level++) {
    const gs_vec_t *v = &by_level[level];
    size_t lo = 0, hi = v->len; /* first heading after s->pos */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if ((*GS_VEC_AT(*v, const gs__head_t *, mid))->pos <= s->pos)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < v->len && (*GS_VEC_AT(*v, const gs__head_t *, lo))->pos < s->end) {
      char *t = (*GS_VEC_AT(*v, const gs__head_t *, lo))->text;
      return t ? t : "";
    }
  }
  return NULL;
}

/* The white-space separated words of list, as a pool array. */
static char **gs__words(gs__walk_t *w, const char *list, size_t *n) {
  size_t count = 0;
  for (const char *s = list; s && *s;) {
    while (*s && strchr(" \t\n\r\f", *s))
      s++;
    count += *s != '\0';
    while (*s && !strchr(" \t\n\r\f", *s))
      s++;
  }
  *n = 0;
  char **r = count ? gs__pool_alloc(w->pool, count * sizeof *r) : NULL;
  if (count && !r) {
    gs__walk_fail(w, GS_ENOMEM);
    return NULL;
  }
  for (const char *s = list; s && *s && r;) {
    while (*s && strchr(" \t\n\r\f", *s))
      s++;
    size_t k = 0;
    while (s[k] && !strchr(" \t\n\r\f", s[k]))
      k++;
    if (k && !(r[(*n)++] = gs__pool_strndup(w->pool, s, k)))
      gs__walk_fail(w, GS_ENOMEM);
    s += k;
  }
  return r;
}

static void gs__build_sections(gs__walk_t *w, gs_html_structure_t *st) {
  gs_vec_t by_level[6] = {{0}};
  for (size_t i = 0; i < w->heads.len && !w->rc; i++) {
    const gs__head_t *h = GS_VEC_AT(w->heads, gs__head_t, i);
    const gs__head_t **slot = gs_vec_push(&by_level[h->level - 1], sizeof *slot);
    if (!slot)
      gs__walk_fail(w, GS_ENOMEM);
    else
      *slot = h;
  }
  st->sections = gs__pool_alloc(w->pool, (w->sects.len ? w->sects.len : 1) * sizeof *st->sections);
  if (!st->sections)
    gs__walk_fail(w, GS_ENOMEM);
  for (int k = 0; k < GS__NSECTION_TAGS && st->sections && !w->rc; k++)
    for (size_t i = 0; i < w->sects.len; i++) {
      const gs__sect_t *s = GS_VEC_AT(w->sects, gs__sect_t, i);
      if (s->tag != k)
        continue;
      gs_html_section_t *o = &st->sections[st->nsections++];
      o->tag = GS__SECTION_TAGS[k];
      o->id = gs__dup(w, gs__attr(s->node, "id"));
      o->classes = gs__words(w, gs__attr(s->node, "class"), &o->nclasses);
      o->heading = gs__section_heading(w, s, by_level);
      o->links_count = s->a_count;
      o->text_preview = s->preview ? s->preview : "";
    }
  for (int level = 0; level < 6; level++)
    free(by_level[level].p);
}

/* navigation (group by group, de-duplicated), internal and external links. */
static void gs__build_links(gs__walk_t *w, gs_html_structure_t *st, const char *page_url,
                            const char *base) {
  char **urls = gs__link_urls(w, base);
  gs_vec_t nav = {0}, in = {0}, ex = {0};
  gs__set_t seen_nav = {0}, seen = {0};
  char *page = gs__clean_ref(page_url ? page_url : "");
  gs__part_t host = page ? gs__netloc(page) : (gs__part_t){0};
  for (int g = 0; g < GS__NNAV && urls; g++)
    for (size_t i = 0; i < w->links.len && !w->rc; i++) {
      const gs__link_t *l = GS_VEC_AT(w->links, gs__link_t, i);
      if (urls[i] && (l->nav >> g & 1u))
        gs__emit_link(w, &nav, &seen_nav, urls[i], l);
    }
  for (size_t i = 0; urls && i < w->links.len && !w->rc; i++) {
    if (!urls[i])
      continue;
    gs__part_t lh = gs__netloc(urls[i]);
    gs__emit_link(w, lh.len && !gs__part_eq(&lh, &host) ? &ex : &in, &seen, urls[i],
                  GS_VEC_AT(w->links, gs__link_t, i));
  }
  st->navigation = gs__freeze(w, &nav, sizeof(gs_html_link_t));
  st->nnavigation = nav.len;
  st->internal_links = gs__freeze(w, &in, sizeof(gs_html_link_t));
  st->ninternal_links = in.len;
  st->external_links = gs__freeze(w, &ex, sizeof(gs_html_link_t));
  st->nexternal_links = ex.len;
  free(page);
  free(nav.p);
  free(in.p);
  free(ex.p);
  free(seen_nav.slots);
  free(seen.slots);
}

static void gs__build_field(gs__walk_t *w, const GumboNode *n, gs_html_field_t *o) {
  const char *type = n->v.element.tag == GUMBO_TAG_TEXTAREA ? "textarea"
                     : n->v.element.tag == GUMBO_TAG_SELECT ? "select"
                                                            : gs__attr(n, "type");
  o->type = gs__dup(w, type ? type : "text");
  o->name = gs__dup(w, gs__attr(n, "name"));
  o->id = gs__dup(w, gs__attr(n, "id"));
  o->required = gs__attr(n, "required") != NULL;
}

static void gs__build_forms(gs__walk_t *w, gs_html_structure_t *st) {
  gs_html_field_t *fields =
      gs__pool_alloc(w->pool, (w->fields.len ? w->fields.len : 1) * sizeof *fields);
  st->forms = gs__pool_alloc(w->pool, (w->forms.len ? w->forms.len : 1) * sizeof *st->forms);
  if (!fields || !st->forms) {
    gs__walk_fail(w, GS_ENOMEM);
    return;
  }
  for (size_t i = 0; i < w->fields.len; i++)
    gs__build_field(w, *GS_VEC_AT(w->fields, const GumboNode *, i), &fields[i]);
  for (size_t i = 0; i < w->forms.len; i++) {
    const gs__form_t *f = GS_VEC_AT(w->forms, gs__form_t, i);
    gs_html_form_t *o = &st->forms[i];
    const char *action = gs__attr(f->node, "action"), *method = gs__attr(f->node, "method");
    o->id = gs__dup(w, gs__attr(f->node, "id"));
    o->action = gs__dup(w, action ? action : "");
    o->method = gs__dup(w, method ? method : "GET");
    for (char *c = o->method; c && *c; c++)
      if (*c >= 'a' && *c <= 'z')
        *c = (char)(*c - 32);
    o->fields = f->end > f->first ? &fields[f->first] : NULL;
    o->nfields = f->end - f->first;
  }
  st->nforms = w->forms.len;
}

static void gs__build_structure(gs__walk_t *w, const gs_html_structure_opts_t *o,
                                gs_html_structure_t *st) {
  st->title = gs__title(w);
  st->language = w->lang && *w->lang ? gs__dup(w, w->lang) : NULL;
  gs__build_sections(w, st);
  gs__build_links(w, st, o->base_url, gs__link_base(w, o->base_url, o->base_href));
  gs__build_forms(w, st);
  st->outline = gs__headings(w, true, &st->noutline);
  st->meta = gs__meta(w, &st->nmeta);
}

static void gs__build_selection(gs__walk_t *w, gs_html_selection_t *sel) {
  size_t n = w->matches.len;
  sel->elements = gs__pool_alloc(w->pool, (n ? n : 1) * sizeof *sel->elements);
  if (!sel->elements) {
    gs__walk_fail(w, GS_ENOMEM);
    return;
  }
  for (size_t i = 0; i < n && !w->rc; i++) {
    const gs__match_t *m = GS_VEC_AT(w->matches, gs__match_t, i);
    gs_html_element_t *e = &sel->elements[i];
    char buf[256];
    const GumboVector *attrs = &m->node->v.element.attributes;
    e->tag = gs__dup(w, gs__tag_name(m->node, buf, sizeof buf));
    e->text = m->text;
    e->attrs = gs__pool_alloc(w->pool, (attrs->length ? attrs->length : 1) * sizeof *e->attrs);
    if (!e->attrs) {
      gs__walk_fail(w, GS_ENOMEM);
      break;
    }
    for (unsigned k = 0; k < attrs->length; k++) {
      const GumboAttribute *a = attrs->data[k];
      e->attrs[k] = (gs_html_attr_t){gs__dup(w, a->name), gs__dup(w, a->value)};
    }
    e->nattrs = attrs->length;
  }
  sel->nelements = n;
}

/* ---- entry points -------------------------------------------------------- */

static void gs__seterr(char *errbuf, size_t errlen, const char *msg) {
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "%s", msg);
}

/* Prepares w for mode: the result pool, the selector (NULL: none) parsed
 * into *sel, the ad pattern when ads. Returns 0 or an error (message in
 * errbuf); gs__walk_dispose is due either way. */
static int gs__walk_init(gs__walk_t *w, gs__mode_t mode, const char *selector, bool ads,
                         gs__selector_t *sel, char *errbuf, size_t errlen) {
  memset(w, 0, sizeof *w);
  memset(sel, 0, sizeof *sel);
  w->mode = mode;
  if (selector) {
    int rc = gs__selector_parse(selector, sel, errbuf, errlen);
    if (rc) {
      if (rc == GS_ENOMEM)
        gs__seterr(errbuf, errlen, "out of memory");
      return rc;
    }
    w->sel = sel;
  }
  if (ads && regcomp(&w->ad_re, GS__AD_RE, REG_EXTENDED | REG_ICASE | REG_NOSUB)) {
    gs__seterr(errbuf, errlen, "out of memory");
    return GS_ENOMEM;
  }
  w->remove_ads = ads;
  w->in_scope = !(mode == GS__STRUCTURE && w->sel);
  if (!(w->pool = gs__pool_new())) {
    gs__seterr(errbuf, errlen, "out of memory");
    return GS_ENOMEM;
  }
  return 0;
}

/* Frees the scratch state; the pool too when keep_pool is false. */
static void gs__walk_dispose(gs__walk_t *w, gs__selector_t *sel, bool keep_pool) {
  gs_vec_t *vecs[] = {&w->stack, &w->heads, &w->links,  &w->images, &w->metas,
                      &w->sects, &w->forms, &w->fields, &w->matches};
  for (size_t i = 0; i < sizeof vecs / sizeof *vecs; i++)
    free(vecs[i]->p);
  for (int i = 0; i < GS__NBUF; i++)
    free(w->txt[i].p);
  if (w->remove_ads)
    regfree(&w->ad_re);
  gs__selector_free(sel);
  if (!keep_pool)
    gs__pool_free(w->pool);
}

/* Parses body into doc (release it with gs_gumbo_doc_release) and walks it. */
static void gs__parse_walk(gs__walk_t *w, gs_gumbo_doc_t *doc, const char *body, size_t len) {
  gs_gumbo_doc_parse(doc, body, len);
  gs__walk(w, doc->out->document);
}

/* The code of a finished walk: its error, else GS_ENOENT when a selector
 * matched nothing, else 0; the message in errbuf. */
static int gs__finish(gs__walk_t *w, const char *selector, bool matched, char *errbuf,
                      size_t errlen) {
  if (w->rc) {
    gs__seterr(errbuf, errlen, "out of memory");
    return w->rc;
  }
  if (!matched) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "Selector '%s' did not match any elements", selector);
    return GS_ENOENT;
  }
  gs__seterr(errbuf, errlen, "");
  return 0;
}

/* A result struct of `size` bytes in the walk's pool, zeroed, or NULL. */
static void *gs__result(gs__walk_t *w, size_t size) {
  void *r = gs__pool_alloc(w->pool, size);
  if (r)
    memset(r, 0, size);
  else
    gs__walk_fail(w, GS_ENOMEM);
  return r;
}

static bool gs__bad_args(const char *body, size_t len, const void *p, const void *out, char *errbuf,
                         size_t errlen) {
  bool bad = (!body && len) || !p || !out;
  if (bad)
    gs__seterr(errbuf, errlen, "invalid argument");
  return bad;
}

int gs_html_extract(const char *body, size_t len, const gs_html_extract_opts_t *opts,
                    gs_html_page_t **out, char *errbuf, size_t errlen) {
  if (out)
    *out = NULL;
  if (gs__bad_args(body, len, opts, out, errbuf, errlen))
    return GS_EINVAL;
  const char *selector = opts->selector && *opts->selector ? opts->selector : NULL;
  gs__walk_t w;
  gs__selector_t sel;
  int rc = gs__walk_init(&w, selector ? GS__EXTRACT_SELECT : GS__EXTRACT, selector,
                         opts->filter_noise, &sel, errbuf, errlen);
  if (!rc) {
    gs_gumbo_doc_t doc;
    gs_html_page_t *pg = NULL;
    w.remove_tags = !selector;
    gs__parse_walk(&w, &doc, body, len);
    bool matched = !selector || w.matches.len > 0;
    if (!w.rc && matched && (pg = gs__result(&w, sizeof *pg)))
      gs__build_page(&w, opts, pg);
    gs_gumbo_doc_release(&doc);
    if (!(rc = gs__finish(&w, selector, matched, errbuf, errlen))) {
      pg->pool = w.pool;
      *out = pg;
    }
  }
  gs__walk_dispose(&w, &sel, *out != NULL);
  return rc;
}

void gs_html_page_free(gs_html_page_t *page) {
  if (page)
    gs__pool_free(page->pool);
}

int gs_html_structure(const char *body, size_t len, const gs_html_structure_opts_t *opts,
                      gs_html_structure_t **out, char *errbuf, size_t errlen) {
  if (out)
    *out = NULL;
  if (gs__bad_args(body, len, opts, out, errbuf, errlen))
    return GS_EINVAL;
  const char *selector = opts->selector && *opts->selector ? opts->selector : NULL;
  gs__walk_t w;
  gs__selector_t sel;
  int rc = gs__walk_init(&w, GS__STRUCTURE, selector, false, &sel, errbuf, errlen);
  if (!rc) {
    gs_gumbo_doc_t doc;
    gs_html_structure_t *st = NULL;
    gs__parse_walk(&w, &doc, body, len);
    bool matched = !selector || w.scope_found;
    if (!w.rc && matched && (st = gs__result(&w, sizeof *st)))
      gs__build_structure(&w, opts, st);
    gs_gumbo_doc_release(&doc);
    if (!(rc = gs__finish(&w, selector, matched, errbuf, errlen))) {
      st->pool = w.pool;
      *out = st;
    }
  }
  gs__walk_dispose(&w, &sel, *out != NULL);
  return rc;
}

void gs_html_structure_free(gs_html_structure_t *s) {
  if (s)
    gs__pool_free(s->pool);
}

int gs_html_select(const char *body, size_t len, const char *selector, gs_html_selection_t **out,
                   char *errbuf, size_t errlen) {
  if (out)
    *out = NULL;
  if (gs__bad_args(body, len, selector, out, errbuf, errlen))
    return GS_EINVAL;
  gs__walk_t w;
  gs__selector_t sel;
  int rc = gs__walk_init(&w, GS__SELECT, selector, false, &sel, errbuf, errlen);
  if (!rc) {
    gs_gumbo_doc_t doc;
    gs_html_selection_t *s = NULL;
    gs__parse_walk(&w, &doc, body, len);
    if (!w.rc && (s = gs__result(&w, sizeof *s)))
      gs__build_selection(&w, s);
    gs_gumbo_doc_release(&doc);
    if (!(rc = gs__finish(&w, selector, true, errbuf, errlen))) {
      s->pool = w.pool;
      *out = s;
    }
  }
  gs__walk_dispose(&w, &sel, *out != NULL);
  return rc;
}

void gs_html_selection_free(gs_html_selection_t *sel) {
  if (sel)
    gs__pool_free(sel->pool);
}
