/* URLs (html_internal.h): RFC 3986 reference resolution
 * (gs_html_resolve_url, the public one), Python's urljoin as gofr-dig
 * applies it to links, and hosts ("netloc") for external-link checks. */
#include "html_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gs/error.h"

typedef struct {
  gs_html_part_t scheme, authority, path, query, fragment;
} gs__uri_t;

/* Lower-cases the ASCII letters of s[0..n) in place. */
static void gs__lower_ascii(char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z')
      s[i] = (char)(s[i] + 32);
}

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
      u->scheme = (gs_html_part_t){s, k, true};
      i = k + 1;
    }
  }
  if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
    size_t a = i + 2, e = a;
    while (e < n && s[e] != '/' && s[e] != '?' && s[e] != '#')
      e++;
    u->authority = (gs_html_part_t){s + a, e - a, true};
    i = e;
  }
  size_t e = i;
  while (e < n && s[e] != '?' && s[e] != '#')
    e++;
  u->path = (gs_html_part_t){s + i, e - i, true};
  i = e;
  if (i < n && s[i] == '?') {
    e = ++i;
    while (e < n && s[e] != '#')
      e++;
    u->query = (gs_html_part_t){s + i, e - i, true};
    i = e;
  }
  if (i < n && s[i] == '#')
    u->fragment = (gs_html_part_t){s + i + 1, n - i - 1, true};
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
static int gs__merge(gs_buf_t *b, const gs__uri_t *base, const gs_html_part_t *rpath) {
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

static int gs__add_part(gs_buf_t *b, const char *pre, const gs_html_part_t *p) {
  if (!p->defined)
    return 0;
  int rc = gs_buf_add(b, pre, strlen(pre));
  return rc ? rc : gs_buf_add(b, p->s, p->len);
}

/* RFC 3986 5.2.2: the target t of reference r against base b. Its path
 * goes into path, dot segments removed (t->path is left empty); the other
 * parts point into b's and r's strings. */
static int gs__transform(const gs__uri_t *b, const gs__uri_t *r, gs__uri_t *t, gs_buf_t *path) {
  *t = (gs__uri_t){b->scheme, b->authority, {0}, r->query, r->fragment};
  int rc;
  if (r->scheme.defined) {
    t->scheme = r->scheme;
    t->authority = r->authority;
    rc = gs_buf_add(path, r->path.s, r->path.len);
  } else if (r->authority.defined) {
    t->authority = r->authority;
    rc = gs_buf_add(path, r->path.s, r->path.len);
  } else if (r->path.len == 0) {
    if (!r->query.defined)
      t->query = b->query;
    return gs_buf_add(path, b->path.s, b->path.len); /* the base's path as it is */
  } else if (r->path.s[0] == '/')
    rc = gs_buf_add(path, r->path.s, r->path.len);
  else
    rc = gs__merge(path, b, &r->path);
  if (!rc)
    gs__remove_dots(path);
  return rc;
}

/* RFC 3986 5.3: t with the path in path, into *out (malloc'd); the scheme
 * is lower-cased. */
static int gs__recompose(const gs__uri_t *t, const gs_buf_t *path, char **out) {
  gs_buf_t o = {0};
  int rc = 0;
  if (t->scheme.defined) {
    rc = gs_buf_add(&o, t->scheme.s, t->scheme.len);
    if (!rc)
      gs__lower_ascii(o.p, t->scheme.len);
    rc = rc ? rc : gs_buf_add(&o, ":", 1);
  }
  rc = rc ? rc : gs__add_part(&o, "//", &t->authority);
  rc = rc ? rc : gs_buf_add(&o, path->p ? path->p : "", path->len);
  rc = rc ? rc : gs__add_part(&o, "?", &t->query);
  rc = rc ? rc : gs__add_part(&o, "#", &t->fragment);
  rc = rc ? rc : gs_buf_add(&o, "", 0); /* "" rather than NULL */
  if (rc) {
    gs_buf_free(&o);
    return rc;
  }
  *out = o.p;
  return 0;
}

int gs_html_resolve_url(const char *base, const char *ref, char **out) {
  if (!base || !ref || !out)
    return GS_EINVAL;
  *out = NULL;
  if (!*base) {
    *out = strdup(ref);
    return *out ? 0 : GS_ENOMEM;
  }
  gs__uri_t b, r, t;
  gs__uri_split(base, &b);
  gs__uri_split(ref, &r);
  gs_buf_t path = {0};
  int rc = gs__transform(&b, &r, &t, &path);
  rc = rc ? rc : gs__recompose(&t, &path, out);
  gs_buf_free(&path);
  return rc;
}

gs_html_part_t gs_html_netloc(const char *url) {
  gs__uri_t u;
  gs__uri_split(url, &u);
  return u.authority;
}

bool gs_html_part_eq(const gs_html_part_t *a, const gs_html_part_t *b) {
  return a->len == b->len && (a->len == 0 || !memcmp(a->s, b->s, a->len));
}

char *gs_html_clean_ref(const char *ref) {
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
    if (same && !rc)
      gs__lower_ascii(o.p, r.scheme.len);
  } else if (r.authority.defined && *base) {
    rc = gs_buf_add(&o, b.scheme.s ? b.scheme.s : "", b.scheme.len);
    if (!rc)
      gs__lower_ascii(o.p, o.len);
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

int gs_html_urljoin(const char *base, const char *ref, char **out) {
  *out = NULL;
  char *clean = gs_html_clean_ref(ref);
  int rc = clean ? gs__urljoin_absolute(base, clean, out) : GS_ENOMEM;
  if (rc == 0)
    rc = gs_html_resolve_url(base, clean, out);
  else if (rc == 1)
    rc = 0;
  free(clean);
  return rc;
}
