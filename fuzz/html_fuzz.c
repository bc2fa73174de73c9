/* libFuzzer target for HTML extraction (gs/html.h).
 *
 * Input: byte 0 chooses the call (bits 0-1: extract, structure, select,
 * resolve_url) and the options (bit 2 filter_noise, bit 3 the links, images
 * and meta of extract, bit 4 base_href, bit 5 no base URL); then a line
 * (up to the first LF) that is the selector (for resolve_url: the base),
 * then the page (for resolve_url: the reference, up to a NUL).
 *
 * Oracle: the return code is one the header allows for the call (GS_ENOENT
 * only with a selector); on failure errbuf has a reason and the result is
 * NULL; every string handed out is NUL-terminated, well-formed UTF-8; heading
 * levels are 1..6 with non-empty text; section tags are the documented
 * ones; element tags are lower-case; with a selector extract fills only
 * title, language and text. The results are freed (leaks are findings). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gs/error.h"
#include "gs/html.h"

#define GS__FUZZ_BASE "https://example.com/a/b/page.html?q=1"

/* A string the header promises: NULL only where allow_null, else
 * NUL-terminated UTF-8. */
static void gs__fuzz_str(const char *s, int allow_null) {
  if (!s) {
    GS_FUZZ_CHECK(allow_null);
    return;
  }
  GS_FUZZ_CHECK(gs_fuzz_utf8_valid(s, strlen(s)));
}

static void gs__fuzz_headings(const gs_html_heading_t *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    GS_FUZZ_CHECK(h[i].level >= 1 && h[i].level <= 6 && h[i].text && h[i].text[0]);
    gs__fuzz_str(h[i].text, 0);
    gs__fuzz_str(h[i].id, 1);
  }
}

static void gs__fuzz_links(const gs_html_link_t *l, size_t n, int titled) {
  for (size_t i = 0; i < n; i++) {
    gs__fuzz_str(l[i].url, 0);
    gs__fuzz_str(l[i].text, 0);
    gs__fuzz_str(l[i].title, !titled);
  }
}

static void gs__fuzz_meta(const gs_html_meta_t *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    gs__fuzz_str(m[i].name, 0);
    gs__fuzz_str(m[i].content, 0);
  }
}

static void gs__fuzz_extract(const char *body, size_t len, const gs_html_extract_opts_t *o) {
  gs_html_page_t *p;
  char err[256];
  int rc = gs_html_extract(body, len, o, &p, err, sizeof err);
  int has_sel = o->selector && o->selector[0];
  GS_FUZZ_CHECK(rc == 0 || rc == GS_EINVAL || (rc == GS_ENOENT && has_sel));
  if (rc) {
    GS_FUZZ_CHECK(p == NULL && err[0]);
    return;
  }
  gs__fuzz_str(p->title, 1);
  gs__fuzz_str(p->language, 1);
  gs__fuzz_str(p->text, 0);
  if (has_sel)
    GS_FUZZ_CHECK(!p->nheadings && !p->nlinks && !p->nimages && !p->nmeta);
  gs__fuzz_headings(p->headings, p->nheadings);
  gs__fuzz_links(p->links, p->nlinks, 1);
  for (size_t i = 0; i < p->nimages; i++) {
    gs__fuzz_str(p->images[i].url, 0);
    gs__fuzz_str(p->images[i].alt, 0);
  }
  gs__fuzz_meta(p->meta, p->nmeta);
  gs_html_page_free(p);
}

static void gs__fuzz_structure(const char *body, size_t len, const gs_html_structure_opts_t *o) {
  static const char *const tags[] = {"header",  "nav",   "main",  "article",
                                     "section", "aside", "footer"};
  gs_html_structure_t *s;
  char err[256];
  int rc = gs_html_structure(body, len, o, &s, err, sizeof err);
  GS_FUZZ_CHECK(rc == 0 || rc == GS_EINVAL || (rc == GS_ENOENT && o->selector && o->selector[0]));
  if (rc) {
    GS_FUZZ_CHECK(s == NULL && err[0]);
    return;
  }
  gs__fuzz_str(s->title, 1);
  gs__fuzz_str(s->language, 1);
  for (size_t i = 0; i < s->nsections; i++) {
    const gs_html_section_t *sec = &s->sections[i];
    size_t t = 0;
    while (t < sizeof tags / sizeof tags[0] && strcmp(tags[t], sec->tag) != 0)
      t++;
    GS_FUZZ_CHECK(t < sizeof tags / sizeof tags[0]);
    gs__fuzz_str(sec->id, 1);
    gs__fuzz_str(sec->heading, 1);
    gs__fuzz_str(sec->text_preview, 0);
    for (size_t k = 0; k < sec->nclasses; k++)
      gs__fuzz_str(sec->classes[k], 0);
  }
  gs__fuzz_links(s->navigation, s->nnavigation, 0);
  gs__fuzz_links(s->internal_links, s->ninternal_links, 0);
  gs__fuzz_links(s->external_links, s->nexternal_links, 0);
  for (size_t i = 0; i < s->nforms; i++) {
    const gs_html_form_t *f = &s->forms[i];
    gs__fuzz_str(f->id, 1);
    gs__fuzz_str(f->action, 0);
    gs__fuzz_str(f->method, 0);
    for (size_t k = 0; k < f->nfields; k++) {
      gs__fuzz_str(f->fields[k].type, 0);
      gs__fuzz_str(f->fields[k].name, 1);
      gs__fuzz_str(f->fields[k].id, 1);
    }
  }
  gs__fuzz_headings(s->outline, s->noutline);
  gs__fuzz_meta(s->meta, s->nmeta);
  gs_html_structure_free(s);
}

static void gs__fuzz_select(const char *body, size_t len, const char *selector) {
  gs_html_selection_t *sel;
  char err[256];
  int rc = gs_html_select(body, len, selector, &sel, err, sizeof err);
  GS_FUZZ_CHECK(rc == 0 || rc == GS_EINVAL);
  if (rc) {
    GS_FUZZ_CHECK(sel == NULL && err[0]);
    return;
  }
  for (size_t i = 0; i < sel->nelements; i++) {
    const gs_html_element_t *e = &sel->elements[i];
    gs__fuzz_str(e->tag, 0);
    for (const char *c = e->tag; *c; c++)
      GS_FUZZ_CHECK(!isupper((unsigned char)*c));
    gs__fuzz_str(e->text, 0);
    for (size_t k = 0; k < e->nattrs; k++) {
      gs__fuzz_str(e->attrs[k].name, 0);
      gs__fuzz_str(e->attrs[k].value, 0);
    }
  }
  gs_html_selection_free(sel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int flags = data[0];
  const char *rest = (const char *)data + 1, *end = rest + size - 1;
  const char *lf = memchr(rest, '\n', (size_t)(end - rest));
  char *line = strndup(rest, lf ? (size_t)(lf - rest) : 0); /* stops at a NUL too */
  GS_FUZZ_CHECK(line != NULL);
  const char *body = lf ? lf + 1 : rest;
  size_t len = (size_t)(end - body);
  const char *base = flags & 32 ? NULL : GS__FUZZ_BASE;
  switch (flags & 3) {
  case 0: {
    int all = (flags & 8) != 0;
    gs_html_extract_opts_t o = {.base_url = base,
                                .selector = line,
                                .filter_noise = (flags & 4) != 0,
                                .include_links = all,
                                .include_images = all,
                                .include_meta = all,
                                .base_href = (flags & 16) != 0};
    gs__fuzz_extract(body, len, &o);
    break;
  }
  case 1: {
    gs_html_structure_opts_t o = {
        .base_url = base, .selector = line, .base_href = (flags & 16) != 0};
    gs__fuzz_structure(body, len, &o);
    break;
  }
  case 2:
    gs__fuzz_select(body, len, line);
    break;
  default: {
    char *ref = strndup(body, len), *out;
    GS_FUZZ_CHECK(ref != NULL);
    GS_FUZZ_CHECK(gs_html_resolve_url(line, ref, &out) == 0 && out != NULL);
    free(out);
    free(ref);
  }
  }
  free(line);
  return 0;
}
