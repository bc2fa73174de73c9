/* Page extraction on gumbo: the entry points of gs/html.h. See docs/html.md
 * for what gofr-dig does that this reproduces, and html_internal.h for the
 * parts: each entry point checks its arguments, runs one walk over the
 * parsed page (html_walk.c), builds its result from the walk's records into
 * the walk's pool, and hands that pool to the result. */
#include "gs/html.h"

#include <stddef.h>

#include "html_internal.h"

#include "gs/error.h"

/* Fills a result struct from a finished walk (one of gs_html_build_*). */
typedef void (*gs__build_cb)(gs_html_walk_t *w, const void *opts, void *result);

/* What tells the three entry points apart. */
typedef struct {
  gs_html_mode_t mode;
  const char *selector; /* NULL: none */
  bool ads;             /* remove ad-like elements */
  bool remove_tags;     /* remove gofr-dig's noise tags */
  gs__build_cb build;
  const void *opts;   /* handed to build */
  size_t size;        /* of the result struct */
  size_t pool_offset; /* of its gs_html_pool_t * field */
} gs__call_t;

static void gs__build_page(gs_html_walk_t *w, const void *opts, void *result) {
  gs_html_build_page(w, opts, result);
}

static void gs__build_structure(gs_html_walk_t *w, const void *opts, void *result) {
  gs_html_build_structure(w, opts, result);
}

static void gs__build_selection(gs_html_walk_t *w, const void *opts, void *result) {
  gs_html_build_selection(w, result);
}

static bool gs__bad_args(const char *body, size_t len, const void *p, const void *out, char *errbuf,
                         size_t errlen) {
  bool bad = (!body && len) || !p || !out;
  if (bad)
    gs_html_set_error(errbuf, errlen, "invalid argument");
  return bad;
}

/* An option's selector: NULL when absent or empty. */
static const char *gs__selector_option(const char *selector) {
  return selector && *selector ? selector : NULL;
}

/* Whether the walk found what its selector asks for: extract needs a
 * match, structure its root; select and no selector always succeed. */
static bool gs__matched(const gs_html_walk_t *w, const char *selector) {
  if (!selector || w->mode == GS_HTML_MODE_SELECT)
    return true;
  return w->mode == GS_HTML_MODE_STRUCTURE ? w->scope_found : w->matches.len > 0;
}

/* Runs call c on body[0..len): the walk, the result built into the walk's
 * pool, the pool handed to the result. Returns the result, or NULL with the
 * code (never 0) in *rc; everything else is freed. */
static void *gs__call(const gs__call_t *c, const char *body, size_t len, int *rc, char *errbuf,
                      size_t errlen) {
  gs_html_walk_t w;
  gs_html_selector_t sel;
  void *result = NULL;
  *rc = gs_html_walk_init(&w, c->mode, c->selector, c->ads, &sel, errbuf, errlen);
  if (!*rc) {
    gs_gumbo_doc_t doc;
    w.remove_tags = c->remove_tags;
    gs_html_walk_run(&w, &doc, body, len);
    bool matched = gs__matched(&w, c->selector);
    if (!w.rc && matched && (result = gs_html_walk_result(&w, c->size)))
      c->build(&w, c->opts, result);
    gs_gumbo_doc_release(&doc);
    *rc = gs_html_walk_finish(&w, c->selector, matched, errbuf, errlen);
    if (*rc)
      result = NULL; /* it was in the pool, freed below */
    else
      *(gs_html_pool_t **)((char *)result + c->pool_offset) = w.pool;
  }
  gs_html_walk_dispose(&w, &sel, result != NULL);
  return result;
}

int gs_html_extract(const char *body, size_t len, const gs_html_extract_opts_t *opts,
                    gs_html_page_t **out, char *errbuf, size_t errlen) {
  if (out)
    *out = NULL;
  if (gs__bad_args(body, len, opts, out, errbuf, errlen))
    return GS_EINVAL;
  const char *selector = gs__selector_option(opts->selector);
  gs__call_t c = {
      .mode = selector ? GS_HTML_MODE_EXTRACT_SELECT : GS_HTML_MODE_EXTRACT,
      .selector = selector,
      .ads = opts->filter_noise,
      .remove_tags = !selector,
      .build = gs__build_page,
      .opts = opts,
      .size = sizeof(gs_html_page_t),
      .pool_offset = offsetof(gs_html_page_t, pool),
  };
  int rc;
  *out = gs__call(&c, body, len, &rc, errbuf, errlen);
  return rc;
}

void gs_html_page_free(gs_html_page_t *page) {
  if (page)
    gs_html_pool_free(page->pool);
}

int gs_html_structure(const char *body, size_t len, const gs_html_structure_opts_t *opts,
                      gs_html_structure_t **out, char *errbuf, size_t errlen) {
  if (out)
    *out = NULL;
  if (gs__bad_args(body, len, opts, out, errbuf, errlen))
    return GS_EINVAL;
  gs__call_t c = {
      .mode = GS_HTML_MODE_STRUCTURE,
      .selector = gs__selector_option(opts->selector),
      .build = gs__build_structure,
      .opts = opts,
      .size = sizeof(gs_html_structure_t),
      .pool_offset = offsetof(gs_html_structure_t, pool),
  };
  int rc;
  *out = gs__call(&c, body, len, &rc, errbuf, errlen);
  return rc;
}

void gs_html_structure_free(gs_html_structure_t *s) {
  if (s)
    gs_html_pool_free(s->pool);
}

int gs_html_select(const char *body, size_t len, const char *selector, gs_html_selection_t **out,
                   char *errbuf, size_t errlen) {
  if (out)
    *out = NULL;
  if (gs__bad_args(body, len, selector, out, errbuf, errlen))
    return GS_EINVAL;
  gs__call_t c = {
      .mode = GS_HTML_MODE_SELECT,
      .selector = selector,
      .build = gs__build_selection,
      .size = sizeof(gs_html_selection_t),
      .pool_offset = offsetof(gs_html_selection_t, pool),
  };
  int rc;
  *out = gs__call(&c, body, len, &rc, errbuf, errlen);
  return rc;
}

void gs_html_selection_free(gs_html_selection_t *sel) {
  if (sel)
    gs_html_pool_free(sel->pool);
}
