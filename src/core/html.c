/* Page extraction on gumbo: the entry points of gs/html.h. See docs/html.md
 * for what gofr-dig does that this reproduces, and html_internal.h for the
 * parts: each entry point checks its arguments, runs one walk over the
 * parsed page (html_walk.c), builds its result from the walk's records into
 * the walk's pool, and hands that pool to the result. */
#include "gs/html.h"

#include "html_internal.h"

#include "gs/error.h"

static bool gs__bad_args(const char *body, size_t len, const void *p, const void *out, char *errbuf,
                         size_t errlen) {
  bool bad = (!body && len) || !p || !out;
  if (bad)
    gs_html_set_error(errbuf, errlen, "invalid argument");
  return bad;
}

int gs_html_extract(const char *body, size_t len, const gs_html_extract_opts_t *opts,
                    gs_html_page_t **out, char *errbuf, size_t errlen) {
  if (out)
    *out = NULL;
  if (gs__bad_args(body, len, opts, out, errbuf, errlen))
    return GS_EINVAL;
  const char *selector = opts->selector && *opts->selector ? opts->selector : NULL;
  gs_html_walk_t w;
  gs_html_selector_t sel;
  int rc = gs_html_walk_init(&w, selector ? GS_HTML_MODE_EXTRACT_SELECT : GS_HTML_MODE_EXTRACT,
                             selector, opts->filter_noise, &sel, errbuf, errlen);
  if (!rc) {
    gs_gumbo_doc_t doc;
    gs_html_page_t *pg = NULL;
    w.remove_tags = !selector;
    gs_html_walk_run(&w, &doc, body, len);
    bool matched = !selector || w.matches.len > 0;
    if (!w.rc && matched && (pg = gs_html_walk_result(&w, sizeof *pg)))
      gs_html_build_page(&w, opts, pg);
    gs_gumbo_doc_release(&doc);
    if (!(rc = gs_html_walk_finish(&w, selector, matched, errbuf, errlen))) {
      pg->pool = w.pool;
      *out = pg;
    }
  }
  gs_html_walk_dispose(&w, &sel, *out != NULL);
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
  const char *selector = opts->selector && *opts->selector ? opts->selector : NULL;
  gs_html_walk_t w;
  gs_html_selector_t sel;
  int rc = gs_html_walk_init(&w, GS_HTML_MODE_STRUCTURE, selector, false, &sel, errbuf, errlen);
  if (!rc) {
    gs_gumbo_doc_t doc;
    gs_html_structure_t *st = NULL;
    gs_html_walk_run(&w, &doc, body, len);
    bool matched = !selector || w.scope_found;
    if (!w.rc && matched && (st = gs_html_walk_result(&w, sizeof *st)))
      gs_html_build_structure(&w, opts, st);
    gs_gumbo_doc_release(&doc);
    if (!(rc = gs_html_walk_finish(&w, selector, matched, errbuf, errlen))) {
      st->pool = w.pool;
      *out = st;
    }
  }
  gs_html_walk_dispose(&w, &sel, *out != NULL);
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
  gs_html_walk_t w;
  gs_html_selector_t sel;
  int rc = gs_html_walk_init(&w, GS_HTML_MODE_SELECT, selector, false, &sel, errbuf, errlen);
  if (!rc) {
    gs_gumbo_doc_t doc;
    gs_html_selection_t *s = NULL;
    gs_html_walk_run(&w, &doc, body, len);
    if (!w.rc && (s = gs_html_walk_result(&w, sizeof *s)))
      gs_html_build_selection(&w, s);
    gs_gumbo_doc_release(&doc);
    if (!(rc = gs_html_walk_finish(&w, selector, true, errbuf, errlen))) {
      s->pool = w.pool;
      *out = s;
    }
  }
  gs_html_walk_dispose(&w, &sel, *out != NULL);
  return rc;
}

void gs_html_selection_free(gs_html_selection_t *sel) {
  if (sel)
    gs_html_pool_free(sel->pool);
}
