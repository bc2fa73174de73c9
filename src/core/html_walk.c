/* The one pass over the gumbo tree (html_internal.h).
 *
 * The tree is walked in document order with a heap stack of frames. Every
 * string of the page that counts as text (gofr-dig's BeautifulSoup skips
 * script, style, template, rt and rp strings) is stripped and appended to
 * three buffers, joined by "\n", by " " and by nothing. A frame remembers
 * the buffer lengths when its element was entered, so the text of any
 * element, whatever the separator, is a slice taken when the element is
 * left: linear time even for nested sections. Records (links, headings,
 * sections, forms, selector matches) are kept in document order in scratch
 * vectors; the builders copy them into the result's pool at the end. */
#include "html_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

static const char *const GS__SEP[GS_HTML_NTXT] = {"\n", " ", ""};

/* What a frame's element is, for what is done when it is left. */
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
  size_t mark[GS_HTML_NTXT];
  size_t rec, mrec; /* record index (heading/link/section/form), match index */
} gs__frame_t;

void gs_html_walk_fail(gs_html_walk_t *w, int rc) {
  if (!w->rc)
    w->rc = rc;
}

/* The text of the element of frame f in buffer `which`, copied to the pool. */
static char *gs__slice(gs_html_walk_t *w, const gs__frame_t *f, int which) {
  const gs_buf_t *b = &w->txt[which];
  size_t from = f->mark[which], to = b->len;
  if (to > from && from > 0)
    from += strlen(GS__SEP[which]);
  char *s = gs_html_pool_strndup(w->pool, b->p ? b->p + from : "", to > from ? to - from : 0);
  if (!s)
    gs_html_walk_fail(w, GS_ENOMEM);
  return s;
}

static void gs__on_text(gs_html_walk_t *w, const GumboNode *n) {
  if (w->notext)
    return;
  const char *s = n->v.text.text;
  size_t off = 0, len = strlen(s);
  gs_html_strip(s, &off, &len);
  if (!len)
    return;
  for (int i = 0; i < GS_HTML_NTXT; i++) {
    gs_buf_t *b = &w->txt[i];
    int rc = b->len ? gs_buf_add(b, GS__SEP[i], strlen(GS__SEP[i])) : 0;
    if (rc || (rc = gs_buf_add(b, s + off, len)))
      gs_html_walk_fail(w, rc);
  }
}

/* Whether gofr-dig would drop the element before extracting (html_noise.c). */
static bool gs__removed(const gs_html_walk_t *w, const GumboNode *n) {
  if (w->remove_tags && gs_html_noise_tag(n->v.element.tag))
    return true;
  return w->remove_ads &&
         gs_html_ad_match(w->ad_re, gs_html_attr(n, "class"), gs_html_attr(n, "id"));
}

/* Pushes a record of `size` bytes onto v and, when the element's text is
 * needed later, notes its index and `flag` in the frame. NULL on failure. */
static void *gs__record(gs_html_walk_t *w, gs_vec_t *v, size_t size, gs__frame_t *f,
                        unsigned flag) {
  void *r = gs_vec_push(v, size);
  if (!r)
    gs_html_walk_fail(w, GS_ENOMEM);
  else if (flag) {
    f->flags |= flag;
    f->rec = v->len - 1;
  }
  return r;
}

/* Element-specific records, before the element's own subtree. */
static void gs__enter_records(gs_html_walk_t *w, const GumboNode *n, gs__frame_t *f) {
  GumboTag t = n->v.element.tag;
  if (t == GUMBO_TAG_TITLE && !w->title_seen) {
    w->title_seen = true;
    f->flags |= GS__F_TITLE;
  } else if (t == GUMBO_TAG_H1 && !w->h1_seen) {
    w->h1_seen = true;
    f->flags |= GS__F_FIRST_H1;
  } else if (t == GUMBO_TAG_HTML && !w->html_seen) {
    w->html_seen = true;
    w->lang = gs_html_attr(n, "lang");
  } else if (t == GUMBO_TAG_BASE && !w->base_href) {
    w->base_href = gs_html_attr(n, "href");
  } else if (t == GUMBO_TAG_META) {
    const char *name = gs_html_attr(n, "name"), *content = gs_html_attr(n, "content");
    const char *equiv = gs_html_attr(n, "http-equiv");
    if (!name || !*name)
      name = gs_html_attr(n, "property");
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
static void gs__enter_scoped(gs_html_walk_t *w, const GumboNode *n, gs__frame_t *f) {
  GumboTag t = n->v.element.tag;
  int level = gs__heading_level(t);
  if (level) {
    gs_html_heading_rec_t *h = gs__record(w, &w->heads, sizeof *h, f, GS__F_HEAD);
    if (h)
      *h = (gs_html_heading_rec_t){level, w->pos, gs_html_attr(n, "id"), NULL};
  } else if (t == GUMBO_TAG_A) {
    w->a_count++;
    const char *href = gs_html_attr(n, "href");
    unsigned nav = 0;
    for (int g = 0; g < GS_HTML_NNAV; g++)
      nav |= w->nav_open[g] ? 1u << g : 0u;
    gs_html_link_rec_t *l = href ? gs__record(w, &w->links, sizeof *l, f, GS__F_LINK) : NULL;
    if (l)
      *l = (gs_html_link_rec_t){href, gs_html_attr(n, "title"), nav, NULL};
  } else if (t == GUMBO_TAG_IMG) {
    const char *src = gs_html_attr(n, "src");
    const char **img = src && *src ? gs__record(w, &w->images, 2 * sizeof *img, f, 0) : NULL;
    if (img) {
      img[0] = src;
      img[1] = gs_html_attr(n, "alt");
    }
  } else if (t == GUMBO_TAG_FORM) {
    gs_html_form_rec_t *fm = gs__record(w, &w->forms, sizeof *fm, f, GS__F_FORM);
    if (fm)
      *fm = (gs_html_form_rec_t){n, w->fields.len, w->fields.len};
  } else if (t == GUMBO_TAG_INPUT || t == GUMBO_TAG_TEXTAREA || t == GUMBO_TAG_SELECT) {
    const GumboNode **fld = gs__record(w, &w->fields, sizeof *fld, f, 0);
    if (fld)
      *fld = n;
  } else {
    for (int k = 0; k < GS_HTML_NSECTION_TAGS; k++) {
      gs_html_section_rec_t *s = t == gs_html_section_tags[k]
                                     ? gs__record(w, &w->sects, sizeof *s, f, GS__F_SECTION)
                                     : NULL;
      if (s)
        *s = (gs_html_section_rec_t){k, n, w->pos, 0, w->a_count, 0, NULL};
    }
  }
}

/* Opens the navigation groups the element starts (structure only). */
static void gs__open_nav(gs_html_walk_t *w, const GumboNode *n, gs__frame_t *f) {
  unsigned bits = n->v.element.tag == GUMBO_TAG_NAV ? 1u : 0u;
  const char *cls = gs_html_attr(n, "class"), *id = gs_html_attr(n, "id");
  for (int k = 0; cls && k < GS_HTML_NNAV_CLASSES; k++)
    if (gs_html_has_word(cls, gs_html_nav_classes[k]))
      bits |= 1u << (1 + k);
  for (int k = 0; id && k < GS_HTML_NNAV_IDS; k++)
    if (!w->nav_id_seen[k] && !strcmp(id, gs_html_nav_ids[k])) {
      w->nav_id_seen[k] = true;
      bits |= 1u << (1 + GS_HTML_NNAV_CLASSES + k);
    }
  for (int g = 0; g < GS_HTML_NNAV; g++)
    w->nav_open[g] += (bits >> g) & 1u;
  f->nav = bits;
}

/* The selector on an element: the analysis root (structure: its first
 * match), else a match whose text is taken when it is left. */
static void gs__enter_selected(gs_html_walk_t *w, const GumboNode *n, gs__frame_t *f) {
  if (w->mode == GS_HTML_MODE_STRUCTURE) {
    if (!w->scope_found && gs_html_selector_match(w->sel, n)) {
      w->scope_found = w->in_scope = true;
      f->flags |= GS__F_SCOPE;
    }
    return;
  }
  if (!gs_html_selector_match(w->sel, n))
    return;
  gs_html_match_rec_t *m = gs_vec_push(&w->matches, sizeof *m);
  if (!m) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return;
  }
  m->node = n;
  f->flags |= GS__F_MATCH;
  f->mrec = w->matches.len - 1;
}

/* BeautifulSoup's get_text skips the strings inside these. */
static bool gs__notext_tag(GumboTag t) {
  return t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_TEMPLATE ||
         t == GUMBO_TAG_RT || t == GUMBO_TAG_RP;
}

static void gs__enter(gs_html_walk_t *w, const GumboNode *n) {
  if (gs__removed(w, n))
    return;
  gs__frame_t *f = gs_vec_push(&w->stack, sizeof *f);
  if (!f) {
    gs_html_walk_fail(w, GS_ENOMEM);
    return;
  }
  f->node = n;
  for (int i = 0; i < GS_HTML_NTXT; i++)
    f->mark[i] = w->txt[i].len;
  if (gs__notext_tag(n->v.element.tag)) {
    w->notext++;
    f->flags |= GS__F_NOTEXT;
  }
  gs__enter_records(w, n, f);
  if (w->in_scope && (w->mode == GS_HTML_MODE_EXTRACT || w->mode == GS_HTML_MODE_STRUCTURE))
    gs__enter_scoped(w, n, f);
  if (w->in_scope && w->mode == GS_HTML_MODE_STRUCTURE)
    gs__open_nav(w, n, f);
  if (w->sel)
    gs__enter_selected(w, n, f);
  w->pos++;
}

static void gs__leave(gs_html_walk_t *w, const gs__frame_t *f) {
  unsigned fl = f->flags;
  if (fl & GS__F_NOTEXT)
    w->notext--;
  for (int g = 0; g < GS_HTML_NNAV; g++)
    w->nav_open[g] -= (f->nav >> g) & 1u;
  if (fl & GS__F_SCOPE)
    w->in_scope = false;
  if (fl & GS__F_TITLE)
    w->title = gs__slice(w, f, GS_HTML_TXT_NONE);
  if (fl & GS__F_FIRST_H1)
    w->first_h1 = gs__slice(w, f, GS_HTML_TXT_NONE);
  if (fl & GS__F_HEAD)
    GS_VEC_AT(w->heads, gs_html_heading_rec_t, f->rec)->text = gs__slice(w, f, GS_HTML_TXT_NONE);
  if (fl & GS__F_LINK)
    GS_VEC_AT(w->links, gs_html_link_rec_t, f->rec)->text = gs__slice(w, f, GS_HTML_TXT_NONE);
  if (fl & GS__F_FORM)
    GS_VEC_AT(w->forms, gs_html_form_rec_t, f->rec)->end = w->fields.len;
  if (fl & GS__F_SECTION) {
    gs_html_section_rec_t *s = GS_VEC_AT(w->sects, gs_html_section_rec_t, f->rec);
    s->end = w->pos;
    s->a_count = w->a_count - s->a_start;
    char *text = gs__slice(w, f, GS_HTML_TXT_SP);
    s->preview = text ? gs_html_preview(w->pool, text) : NULL;
    if (text && !s->preview)
      gs_html_walk_fail(w, GS_ENOMEM);
  }
  if (fl & GS__F_MATCH)
    GS_VEC_AT(w->matches, gs_html_match_rec_t, f->mrec)->text =
        gs__slice(w, f, w->mode == GS_HTML_MODE_SELECT ? GS_HTML_TXT_SP : GS_HTML_TXT_NL);
}

/* Visits the tree in document order; elements gofr-dig would drop are
 * skipped with their subtrees. */
static void gs__walk(gs_html_walk_t *w, const GumboNode *doc) {
  gs__frame_t *root = gs_vec_push(&w->stack, sizeof *root);
  if (!root) {
    gs_html_walk_fail(w, GS_ENOMEM);
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
      else if (gs_html_is_element(c))
        gs__enter(w, c);
      continue;
    }
    gs__leave(w, f);
    w->stack.len--;
  }
}

/* ---- running a walk ------------------------------------------------------ */

void gs_html_set_error(char *errbuf, size_t errlen, const char *msg) {
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "%s", msg);
}

int gs_html_walk_init(gs_html_walk_t *w, gs_html_mode_t mode, const char *selector, bool ads,
                      gs_html_selector_t *sel, char *errbuf, size_t errlen) {
  memset(w, 0, sizeof *w);
  memset(sel, 0, sizeof *sel);
  w->mode = mode;
  if (selector) {
    int rc = gs_html_selector_parse(selector, sel, errbuf, errlen);
    if (rc) {
      if (rc == GS_ENOMEM)
        gs_html_set_error(errbuf, errlen, "out of memory");
      return rc;
    }
    w->sel = sel;
  }
  if (ads && !(w->ad_re = gs_html_ad_pattern())) {
    gs_html_set_error(errbuf, errlen, "out of memory");
    return GS_ENOMEM;
  }
  w->remove_ads = ads;
  w->in_scope = !(mode == GS_HTML_MODE_STRUCTURE && w->sel);
  if (!(w->pool = gs_html_pool_new())) {
    gs_html_set_error(errbuf, errlen, "out of memory");
    return GS_ENOMEM;
  }
  return 0;
}

void gs_html_walk_dispose(gs_html_walk_t *w, gs_html_selector_t *sel, bool keep_pool) {
  gs_vec_t *vecs[] = {&w->stack, &w->heads, &w->links,  &w->images, &w->metas,
                      &w->sects, &w->forms, &w->fields, &w->matches};
  for (size_t i = 0; i < sizeof vecs / sizeof *vecs; i++)
    free(vecs[i]->p);
  for (int i = 0; i < GS_HTML_NTXT; i++)
    gs_buf_free(&w->txt[i]);
  gs_html_selector_free(sel);
  if (!keep_pool)
    gs_html_pool_free(w->pool);
}

void gs_html_walk_run(gs_html_walk_t *w, gs_gumbo_doc_t *doc, const char *body, size_t len) {
  gs_gumbo_doc_parse(doc, body, len);
  gs__walk(w, doc->out->document);
}

int gs_html_walk_finish(gs_html_walk_t *w, const char *selector, bool matched, char *errbuf,
                        size_t errlen) {
  if (w->rc) {
    gs_html_set_error(errbuf, errlen, "out of memory");
    return w->rc;
  }
  if (!matched) {
    if (errbuf && errlen)
      snprintf(errbuf, errlen, "Selector '%s' did not match any elements", selector);
    return GS_ENOENT;
  }
  gs_html_set_error(errbuf, errlen, "");
  return 0;
}

void *gs_html_walk_result(gs_html_walk_t *w, size_t size) {
  void *r = gs_html_pool_alloc(w->pool, size);
  if (r)
    memset(r, 0, size);
  else
    gs_html_walk_fail(w, GS_ENOMEM);
  return r;
}
