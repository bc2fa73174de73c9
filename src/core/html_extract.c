/* get_content's page (html_internal.h): the text, cleaned and without noise
 * when asked, the title and language, headings, links (external or not),
 * images and meta; with a selector, the text of its matches. */
#include "html_internal.h"

#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

/* gofr-dig's _extract_text clean-up (gs_html_clean_text) in the pool. */
static char *gs__clean(gs_html_walk_t *w, const char *s) {
  char *r = gs_html_clean_text(w->pool, s);
  if (!r)
    gs_html_walk_fail(w, GS_ENOMEM);
  return r;
}

/* gofr-dig's _filter_noise_text: drops lines that are only noise
 * (html_noise.c), then cleans again. */
static char *gs__filter_lines(gs_html_walk_t *w, const char *text) {
  gs_buf_t out = {0};
  int rc = gs_html_drop_noise_lines(text, &out);
  char *r = rc ? NULL : gs__clean(w, out.p);
  gs_buf_free(&out);
  if (rc)
    gs_html_walk_fail(w, rc);
  return r;
}

/* get_content's links; external: a host other than the page URL's. */
static void gs__extract_links(gs_html_walk_t *w, gs_html_page_t *pg, const char *page_url,
                              const char *base) {
  char **urls = gs_html_link_urls(w, base);
  gs_vec_t out = {0};
  gs_html_set_t seen = {0};
  char *page = gs_html_clean_ref(page_url ? page_url : "");
  gs_html_part_t host = page ? gs_html_netloc(page) : (gs_html_part_t){0};
  for (size_t i = 0; urls && i < w->links.len && !w->rc; i++) {
    if (!urls[i])
      continue;
    size_t before = out.len;
    const gs_html_link_rec_t *l = GS_VEC_AT(w->links, gs_html_link_rec_t, i);
    gs_html_emit_link(w, &out, &seen, urls[i], l);
    if (out.len == before)
      continue;
    gs_html_link_t *o = GS_VEC_AT(out, gs_html_link_t, before);
    gs_html_part_t lh = gs_html_netloc(urls[i]);
    o->title = gs_html_dup(w, l->title ? l->title : "");
    o->external = page && *page && lh.len && !gs_html_part_eq(&lh, &host);
  }
  free(page);
  pg->links = gs_html_freeze(w, &out, sizeof *pg->links);
  pg->nlinks = out.len;
  free(out.p);
  free(seen.slots);
}

static void gs__extract_images(gs_html_walk_t *w, gs_html_page_t *pg, const char *base) {
  pg->images =
      gs_html_pool_alloc(w->pool, (w->images.len ? w->images.len : 1) * sizeof *pg->images);
  if (!pg->images) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return;
  }
  for (size_t i = 0; i < w->images.len; i++) {
    const char **img = (const char **)w->images.p + 2 * i;
    pg->images[i].url = gs_html_resolve_link(w, base, img[0]);
    pg->images[i].alt = gs_html_dup(w, img[1] ? img[1] : "");
  }
  pg->nimages = w->images.len;
}

/* The text of the selector's matches, cleaned, non-empty ones joined by a
 * blank line. */
static char *gs__matches_text(gs_html_walk_t *w) {
  gs_buf_t b = {0};
  int rc = gs_buf_add(&b, "", 0);
  for (size_t i = 0; i < w->matches.len && !rc && !w->rc; i++) {
    const char *t = GS_VEC_AT(w->matches, gs_html_match_rec_t, i)->text;
    char *c = t ? gs__clean(w, t) : NULL;
    if (c && *c)
      rc = (b.len ? gs_buf_add(&b, "\n\n", 2) : 0) || gs_buf_add(&b, c, strlen(c)) ? GS_ENOMEM : 0;
  }
  char *r = rc ? NULL : gs_html_dup(w, b.p);
  free(b.p);
  if (rc)
    gs_html_walk_fail(w, rc);
  return r;
}

void gs_html_build_page(gs_html_walk_t *w, const gs_html_extract_opts_t *o, gs_html_page_t *pg) {
  pg->title = gs_html_title(w);
  const char *lang = w->lang && *w->lang ? w->lang : w->lang_meta;
  pg->language = lang && *lang ? gs_html_dup(w, lang) : NULL;
  if (w->mode == GS_HTML_MODE_EXTRACT_SELECT)
    pg->text = gs__matches_text(w);
  else
    pg->text = gs__clean(w, w->txt[GS_HTML_TXT_NL].p ? w->txt[GS_HTML_TXT_NL].p : "");
  if (o->filter_noise && pg->text)
    pg->text = gs__filter_lines(w, pg->text);
  if (w->mode == GS_HTML_MODE_EXTRACT_SELECT)
    return;
  const char *base = gs_html_link_base(w, o->base_url, o->base_href);
  pg->headings = gs_html_headings(w, false, &pg->nheadings);
  if (o->include_links)
    gs__extract_links(w, pg, o->base_url, base);
  if (o->include_images)
    gs__extract_images(w, pg, base);
  if (o->include_meta)
    pg->meta = gs_html_meta(w, &pg->nmeta);
}
