/* Result pieces shared by get_content and get_structure (html_internal.h):
 * pool copies, the title, headings, meta, and links resolved as gofr-dig
 * resolves them and de-duplicated by URL. */
#include "html_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

/* ---- pool copies --------------------------------------------------------- */

char *gs_html_dup(gs_html_walk_t *w, const char *s) {
  if (!s)
    return NULL;
  char *r = gs_html_pool_strndup(w->pool, s, strlen(s));
  if (!r)
    gs_html_walk_fail(w, GS_ENOMEM);
  return r;
}

void *gs_html_freeze(gs_html_walk_t *w, const gs_vec_t *v, size_t size) {
  if (!v->len)
    return NULL;
  void *r = gs_html_pool_alloc(w->pool, v->len * size);
  if (!r)
    gs_html_walk_fail(w, GS_ENOMEM);
  else
    memcpy(r, v->p, v->len * size);
  return r;
}

/* ---- title, headings, meta ----------------------------------------------- */

char *gs_html_title(gs_html_walk_t *w) {
  return w->title_seen ? w->title : w->h1_seen ? w->first_h1 : NULL;
}

gs_html_heading_t *gs_html_headings(gs_html_walk_t *w, bool with_ids, size_t *n) {
  gs_vec_t out = {0};
  for (int level = 1; level <= 6; level++)
    for (size_t i = 0; i < w->heads.len && !w->rc; i++) {
      const gs_html_heading_rec_t *h = GS_VEC_AT(w->heads, gs_html_heading_rec_t, i);
      if (h->level != level || !h->text || !*h->text)
        continue;
      gs_html_heading_t *o = gs_vec_push(&out, sizeof *o);
      if (!o) {
        gs_html_walk_fail(w, GS_ENOMEM);
        break;
      }
      *o = (gs_html_heading_t){level, h->text, with_ids ? gs_html_dup(w, h->id) : NULL};
    }
  gs_html_heading_t *r = gs_html_freeze(w, &out, sizeof *r);
  *n = out.len;
  free(out.p);
  return r;
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

/* Sorts the records first[0..m) by name and keeps the first of each name
 * in first[], with the name's last value in last[]; returns how many names. */
static size_t gs__meta_group(const char ***first, const char **last, size_t m) {
  qsort(first, m, sizeof *first, gs__meta_cmp);
  size_t groups = 0;
  for (size_t i = 0; i < m; i++) {
    if (i && !strcmp(first[i][0], first[groups - 1][0])) {
      last[groups - 1] = first[i][1];
      continue;
    }
    first[groups] = first[i];
    last[groups++] = first[i][1];
  }
  return groups;
}

/* Sorting by name groups the duplicates: O(m log m). */
gs_html_meta_t *gs_html_meta(gs_html_walk_t *w, size_t *n) {
  size_t m = w->metas.len;
  *n = 0;
  if (!m)
    return NULL;
  const char ***first = malloc(m * sizeof *first);
  const char **last = malloc(m * sizeof *last);
  gs_html_meta_t *r = gs_html_pool_alloc(w->pool, m * sizeof *r);
  if (!first || !last || !r) {
    gs_html_walk_fail(w, GS_ENOMEM);
    free(first);
    free(last);
    return NULL;
  }
  for (size_t i = 0; i < m; i++)
    first[i] = (const char **)w->metas.p + 2 * i;
  size_t groups = gs__meta_group(first, last, m);
  /* back to document order by first occurrence; the values travel along */
  for (size_t g = 0; g < groups; g++)
    first[g][1] = last[g];
  qsort(first, groups, sizeof *first, gs__meta_pos_cmp);
  for (size_t g = 0; g < groups; g++)
    r[g] = (gs_html_meta_t){gs_html_dup(w, first[g][0]), gs_html_dup(w, first[g][1])};
  *n = groups;
  free(first);
  free(last);
  return r;
}

/* ---- links --------------------------------------------------------------- */

char *gs_html_resolve_link(gs_html_walk_t *w, const char *base, const char *ref) {
  char *abs;
  int rc = gs_html_urljoin(base, ref, &abs);
  char *r = rc ? NULL : gs_html_dup(w, abs);
  free(abs);
  if (rc)
    gs_html_walk_fail(w, rc);
  return r;
}

static size_t gs__hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

/* Adds s; returns 1 if new, 0 if already there, GS_ENOMEM. */
static int gs__set_add(gs_html_set_t *set, const char *s) {
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

const char *gs_html_link_base(gs_html_walk_t *w, const char *base_url, bool base_href) {
  char *base = gs_html_clean_ref(base_url ? base_url : ""), *r;
  if (!base) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return "";
  }
  r = base_href && w->base_href ? gs_html_resolve_link(w, base, w->base_href)
                                : gs_html_dup(w, base);
  free(base);
  return r ? r : "";
}

char **gs_html_link_urls(gs_html_walk_t *w, const char *base) {
  char **urls = gs_html_pool_alloc(w->pool, (w->links.len ? w->links.len : 1) * sizeof *urls);
  if (!urls) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return NULL;
  }
  for (size_t i = 0; i < w->links.len; i++) {
    const char *href = GS_VEC_AT(w->links, gs_html_link_rec_t, i)->href;
    bool skip = !*href || href[0] == '#' || !strncmp(href, "javascript:", 11);
    urls[i] = skip ? NULL : gs_html_resolve_link(w, base, href);
  }
  return urls;
}

void gs_html_emit_link(gs_html_walk_t *w, gs_vec_t *out, gs_html_set_t *seen, const char *url,
                       const gs_html_link_rec_t *l) {
  int fresh = gs__set_add(seen, url);
  if (fresh <= 0) {
    if (fresh < 0)
      gs_html_walk_fail(w, fresh);
    return;
  }
  gs_html_link_t *o = gs_vec_push(out, sizeof *o);
  if (!o) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return;
  }
  o->url = (char *)url;
  o->text = l->text ? l->text : "";
}
