/* get_structure's analysis (html_internal.h): sections with their heading,
 * classes, link count and text preview; navigation, internal and external
 * links; forms and their fields; the outline; meta. The section tags and
 * the navigation classes and ids below are gofr-dig's get_structure rules. */
#include "html_internal.h"

#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

/* ---- gofr-dig's tables --------------------------------------------------- */

/* Sections, reported grouped by tag in this order. */
const GumboTag gs_html_section_tags[GS_HTML_NSECTION_TAGS] = {
    GUMBO_TAG_HEADER,  GUMBO_TAG_NAV,   GUMBO_TAG_MAIN,  GUMBO_TAG_ARTICLE,
    GUMBO_TAG_SECTION, GUMBO_TAG_ASIDE, GUMBO_TAG_FOOTER};
const char *const gs_html_section_names[GS_HTML_NSECTION_TAGS] = {
    "header", "nav", "main", "article", "section", "aside", "footer"};
/* Navigation groups: the nav tag, then these classes, then these ids (an id
 * counts at its first element only). */
const char *const gs_html_nav_classes[GS_HTML_NNAV_CLASSES] = {"nav",    "navigation", "menu",
                                                               "navbar", "header-nav", "main-nav"};
const char *const gs_html_nav_ids[GS_HTML_NNAV_IDS] = {"nav", "navigation", "main-nav", "menu"};

/* ---- sections ------------------------------------------------------------ */

/* Text of the first h1 inside section s, else the first h2, ...; NULL if
 * none. Headings are in document order, so by position. */
static char *gs__section_heading(gs_html_walk_t *w, const gs_html_section_rec_t *s,
                                 const gs_vec_t *by_level) {
  for (int level = 0; level < 6; level++) {
    const gs_vec_t *v = &by_level[level];
    size_t lo = 0, hi = v->len; /* first heading after s->pos */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if ((*GS_VEC_AT(*v, const gs_html_heading_rec_t *, mid))->pos <= s->pos)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < v->len && (*GS_VEC_AT(*v, const gs_html_heading_rec_t *, lo))->pos < s->end) {
      char *t = (*GS_VEC_AT(*v, const gs_html_heading_rec_t *, lo))->text;
      return t ? t : "";
    }
  }
  return NULL;
}

/* The white-space separated words of list, as a pool array. */
static char **gs__words(gs_html_walk_t *w, const char *list, size_t *n) {
  size_t count = 0, k;
  for (const char *s = list ? list : ""; gs_html_next_word(&s, &k);)
    count++;
  *n = 0;
  char **r = count ? gs_html_pool_alloc(w->pool, count * sizeof *r) : NULL;
  if (count && !r) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return NULL;
  }
  const char *s = list ? list : "", *word;
  while (r && (word = gs_html_next_word(&s, &k)))
    if (!(r[(*n)++] = gs_html_pool_strndup(w->pool, word, k)))
      gs_html_walk_fail(w, GS_ENOMEM);
  return r;
}

static void gs__build_sections(gs_html_walk_t *w, gs_html_structure_t *st) {
  gs_vec_t by_level[6] = {{0}};
  for (size_t i = 0; i < w->heads.len && !w->rc; i++) {
    const gs_html_heading_rec_t *h = GS_VEC_AT(w->heads, gs_html_heading_rec_t, i);
    const gs_html_heading_rec_t **slot = gs_vec_push(&by_level[h->level - 1], sizeof *slot);
    if (!slot)
      gs_html_walk_fail(w, GS_ENOMEM);
    else
      *slot = h;
  }
  st->sections =
      gs_html_pool_alloc(w->pool, (w->sects.len ? w->sects.len : 1) * sizeof *st->sections);
  if (!st->sections)
    gs_html_walk_fail(w, GS_ENOMEM);
  for (int k = 0; k < GS_HTML_NSECTION_TAGS && st->sections && !w->rc; k++)
    for (size_t i = 0; i < w->sects.len; i++) {
      const gs_html_section_rec_t *s = GS_VEC_AT(w->sects, gs_html_section_rec_t, i);
      if (s->tag != k)
        continue;
      gs_html_section_t *o = &st->sections[st->nsections++];
      o->tag = gs_html_section_names[k];
      o->id = gs_html_dup(w, gs_html_attr(s->node, "id"));
      o->classes = gs__words(w, gs_html_attr(s->node, "class"), &o->nclasses);
      o->heading = gs__section_heading(w, s, by_level);
      o->links_count = s->a_count;
      o->text_preview = s->preview ? s->preview : "";
    }
  for (int level = 0; level < 6; level++)
    free(by_level[level].p);
}

/* ---- links and forms ----------------------------------------------------- */

/* navigation (group by group, de-duplicated), internal and external links. */
static void gs__build_links(gs_html_walk_t *w, gs_html_structure_t *st, const char *page_url,
                            const char *base) {
  char **urls = gs_html_link_urls(w, base);
  gs_vec_t nav = {0}, in = {0}, ex = {0};
  gs_html_set_t seen_nav = {0}, seen = {0};
  char *page = gs_html_clean_ref(page_url ? page_url : "");
  gs_html_part_t host = page ? gs_html_netloc(page) : (gs_html_part_t){0};
  for (int g = 0; g < GS_HTML_NNAV && urls; g++)
    for (size_t i = 0; i < w->links.len && !w->rc; i++) {
      const gs_html_link_rec_t *l = GS_VEC_AT(w->links, gs_html_link_rec_t, i);
      if (urls[i] && (l->nav >> g & 1u))
        gs_html_emit_link(w, &nav, &seen_nav, urls[i], l);
    }
  for (size_t i = 0; urls && i < w->links.len && !w->rc; i++) {
    if (!urls[i])
      continue;
    gs_html_part_t lh = gs_html_netloc(urls[i]);
    gs_html_emit_link(w, lh.len && !gs_html_part_eq(&lh, &host) ? &ex : &in, &seen, urls[i],
                      GS_VEC_AT(w->links, gs_html_link_rec_t, i));
  }
  st->navigation = gs_html_freeze(w, &nav, sizeof(gs_html_link_t));
  st->nnavigation = nav.len;
  st->internal_links = gs_html_freeze(w, &in, sizeof(gs_html_link_t));
  st->ninternal_links = in.len;
  st->external_links = gs_html_freeze(w, &ex, sizeof(gs_html_link_t));
  st->nexternal_links = ex.len;
  free(page);
  free(nav.p);
  free(in.p);
  free(ex.p);
  free(seen_nav.slots);
  free(seen.slots);
}

static void gs__build_field(gs_html_walk_t *w, const GumboNode *n, gs_html_field_t *o) {
  const char *type = n->v.element.tag == GUMBO_TAG_TEXTAREA ? "textarea"
                     : n->v.element.tag == GUMBO_TAG_SELECT ? "select"
                                                            : gs_html_attr(n, "type");
  o->type = gs_html_dup(w, type ? type : "text");
  o->name = gs_html_dup(w, gs_html_attr(n, "name"));
  o->id = gs_html_dup(w, gs_html_attr(n, "id"));
  o->required = gs_html_attr(n, "required") != NULL;
}

static void gs__build_forms(gs_html_walk_t *w, gs_html_structure_t *st) {
  gs_html_field_t *fields =
      gs_html_pool_alloc(w->pool, (w->fields.len ? w->fields.len : 1) * sizeof *fields);
  st->forms = gs_html_pool_alloc(w->pool, (w->forms.len ? w->forms.len : 1) * sizeof *st->forms);
  if (!fields || !st->forms) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return;
  }
  for (size_t i = 0; i < w->fields.len; i++)
    gs__build_field(w, *GS_VEC_AT(w->fields, const GumboNode *, i), &fields[i]);
  for (size_t i = 0; i < w->forms.len; i++) {
    const gs_html_form_rec_t *f = GS_VEC_AT(w->forms, gs_html_form_rec_t, i);
    gs_html_form_t *o = &st->forms[i];
    const char *action = gs_html_attr(f->node, "action"), *method = gs_html_attr(f->node, "method");
    o->id = gs_html_dup(w, gs_html_attr(f->node, "id"));
    o->action = gs_html_dup(w, action ? action : "");
    o->method = gs_html_dup(w, method ? method : "GET");
    for (char *c = o->method; c && *c; c++)
      if (*c >= 'a' && *c <= 'z')
        *c = (char)(*c - 32);
    o->fields = f->end > f->first ? &fields[f->first] : NULL;
    o->nfields = f->end - f->first;
  }
  st->nforms = w->forms.len;
}

void gs_html_build_structure(gs_html_walk_t *w, const gs_html_structure_opts_t *o,
                             gs_html_structure_t *st) {
  st->title = gs_html_title(w);
  st->language = w->lang && *w->lang ? gs_html_dup(w, w->lang) : NULL;
  gs__build_sections(w, st);
  gs__build_links(w, st, o->base_url, gs_html_link_base(w, o->base_url, o->base_href));
  gs__build_forms(w, st);
  st->outline = gs_html_headings(w, true, &st->noutline);
  st->meta = gs_html_meta(w, &st->nmeta);
}
