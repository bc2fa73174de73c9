/* The CSS selector subset of docs/html.md (html_internal.h): parsing into
 * compound selectors joined by descendant or child combinators, matching
 * right to left; the element helpers matching needs; and the result of
 * gs_html_select. */
#include "html_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

/* ---- parsing ------------------------------------------------------------- */

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
  const char *s;
  size_t i;
  char *err;
  size_t errlen;
} gs__sp_t;

void gs_html_selector_free(gs_html_selector_t *sel) {
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
  gs_html_pool_free(sel->names);
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
  if (!(*out = gs_html_pool_strndup(pool, p->s + p->i, n)))
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
      if (!(a->value = gs_html_pool_strndup(pool, p->s + start, n)))
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

int gs_html_selector_parse(const char *selector, gs_html_selector_t *sel, char *err,
                           size_t errlen) {
  memset(sel, 0, sizeof *sel);
  gs__sp_t p = {selector, 0, err, errlen};
  if (strlen(selector) > GS_HTML_MAX_SELECTOR)
    return gs__sp_fail(&p, "selector too long");
  if (!(sel->names = gs_html_pool_new()))
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

/* ---- element helpers ----------------------------------------------------- */

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
const char *gs_html_tag_name(const GumboNode *node, char *buf, size_t n) {
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

bool gs_html_has_word(const char *list, const char *word) {
  size_t wn = strlen(word), n;
  for (const char *s = list, *w; (w = gs_html_next_word(&s, &n));)
    if (n == wn && !memcmp(w, word, n))
      return true;
  return false;
}

/* ---- matching ------------------------------------------------------------ */

static bool gs__compound_match(const gs__compound_t *cp, const GumboNode *n) {
  if (cp->tag) {
    char buf[256];
    if (strcmp(gs_html_tag_name(n, buf, sizeof buf), cp->tag))
      return false;
  }
  for (size_t i = 0; i < cp->ids.len; i++) {
    const char *id = gs_html_attr(n, "id");
    if (!id || strcmp(id, *GS_VEC_AT(cp->ids, char *, i)))
      return false;
  }
  for (size_t i = 0; i < cp->classes.len; i++) {
    const char *cls = gs_html_attr(n, "class");
    if (!cls || !gs_html_has_word(cls, *GS_VEC_AT(cp->classes, char *, i)))
      return false;
  }
  for (size_t i = 0; i < cp->attrs.len; i++) {
    const gs__sel_attr_t *a = GS_VEC_AT(cp->attrs, gs__sel_attr_t, i);
    const char *v = gs_html_attr(n, a->name);
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
  const GumboNode *up = gs_html_is_element(n->parent) ? n->parent : NULL;
  if (cp->comb == '>')
    return up ? gs__match_from(cx, k - 1, up) : GS__FAIL_ALL;
  for (; up; up = gs_html_is_element(up->parent) ? up->parent : NULL) {
    int r = gs__match_from(cx, k - 1, up);
    if (r != GS__FAIL_HERE)
      return r;
  }
  return GS__FAIL_ALL;
}

bool gs_html_selector_match(const gs_html_selector_t *sel, const GumboNode *n) {
  for (size_t a = 0; a < sel->alts.len; a++) {
    const gs__complex_t *cx = GS_VEC_AT(sel->alts, gs__complex_t, a);
    if (gs__match_from(cx, cx->compounds.len - 1, n) == GS__MATCH)
      return true;
  }
  return false;
}

/* ---- gs_html_select's result --------------------------------------------- */

void gs_html_build_selection(gs_html_walk_t *w, gs_html_selection_t *sel) {
  size_t n = w->matches.len;
  sel->elements = gs_html_pool_alloc(w->pool, (n ? n : 1) * sizeof *sel->elements);
  if (!sel->elements) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return;
  }
  for (size_t i = 0; i < n && !w->rc; i++) {
    const gs_html_match_rec_t *m = GS_VEC_AT(w->matches, gs_html_match_rec_t, i);
    gs_html_element_t *e = &sel->elements[i];
    char buf[256];
    const GumboVector *attrs = &m->node->v.element.attributes;
    e->tag = gs_html_dup(w, gs_html_tag_name(m->node, buf, sizeof buf));
    e->text = m->text;
    e->attrs = gs_html_pool_alloc(w->pool, (attrs->length ? attrs->length : 1) * sizeof *e->attrs);
    if (!e->attrs) {
      gs_html_walk_fail(w, GS_ENOMEM);
      break;
    }
    for (unsigned k = 0; k < attrs->length; k++) {
      const GumboAttribute *a = attrs->data[k];
      e->attrs[k] = (gs_html_attr_t){gs_html_dup(w, a->name), gs_html_dup(w, a->value)};
    }
    e->nattrs = attrs->length;
  }
  sel->nelements = n;
}
