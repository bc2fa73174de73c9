/* Page extraction for the gofr-dig twin, on gumbo (HTML5 parsing).
 *
 * gs_html_extract gives what gofr-dig's get_content reports for a page,
 * gs_html_structure what its get_structure reports; gs_html_select runs the
 * CSS selector subset of docs/html.md; gs_html_resolve_url is RFC 3986
 * section 5 reference resolution. docs/html.md lists what is extracted and
 * where it differs from the real server (BeautifulSoup on html.parser).
 *
 * Input: any bytes. gumbo reads them as UTF-8 (invalid sequences and NUL
 * bytes become U+FFFD or are dropped), so every string handed out is valid
 * UTF-8 and NUL-terminated. Deep documents are walked with a heap stack and
 * the gumbo tree is released without gumbo's recursive destructor, so the
 * C stack use does not depend on the document. Time is linear in the
 * document except inside gumbo itself, which is quadratic in the depth of
 * nested block elements (100k nested <div>s take gumbo about 30 s).
 *
 * Ownership: each result (page, structure, selection) lives in one memory
 * pool: every string and array reachable from it is freed by the matching
 * gs_html_*_free and by nothing else. No function keeps a pointer to its
 * arguments. A string field documented "or NULL" is NULL where gofr-dig
 * has None (absent attribute, no title, ...). */
#ifndef GS_HTML_H
#define GS_HTML_H

#include <stdbool.h>
#include <stddef.h>

/* Longest selector accepted, in bytes, and most compound selectors in one
 * complex selector (a b > c has three). */
#define GS_HTML_MAX_SELECTOR 4096
#define GS_HTML_MAX_COMPOUNDS 32
/* Length of a section's text_preview in code points ("..." is appended when
 * the text is longer), as gofr-dig. */
#define GS_HTML_PREVIEW_CHARS 200

typedef struct gs_html_pool gs_html_pool_t; /* opaque; owns a result's memory */

typedef struct gs_html_heading {
  int level;  /* 1..6 */
  char *text; /* never empty in headings/outline */
  char *id;   /* outline only: the id attribute, or NULL */
} gs_html_heading_t;

typedef struct gs_html_link {
  char *url;     /* resolved against the page URL */
  char *text;    /* the link's strings, each stripped, concatenated */
  char *title;   /* get_content only: the title attribute or "" */
  bool external; /* get_content only: host differs from the page's */
} gs_html_link_t;

typedef struct gs_html_image {
  char *url; /* resolved src */
  char *alt; /* alt attribute or "" */
} gs_html_image_t;

typedef struct gs_html_meta {
  char *name; /* name, else property, attribute */
  char *content;
} gs_html_meta_t;

typedef struct gs_html_extract_opts {
  const char *base_url; /* the page's final URL; NULL or "": links left as written */
  const char *selector; /* NULL or "": whole page */
  bool filter_noise;    /* drop ad-like elements and noise lines */
  bool include_links, include_images, include_meta;
  bool base_href; /* resolve against <base href> (gofr-dig does not) */
} gs_html_extract_opts_t;

/* get_content's page. Arrays are empty (n == 0) when not requested; with a
 * selector only title, language and text are filled, as gofr-dig does. */
typedef struct gs_html_page {
  char *title;    /* <title>, else first <h1>, or NULL */
  char *language; /* <html lang>, else <meta http-equiv="Content-Language">, or NULL */
  char *text;
  gs_html_heading_t *headings; /* all h1, then all h2, ... (id NULL) */
  size_t nheadings;
  gs_html_link_t *links; /* a[href], de-duplicated by URL */
  size_t nlinks;
  gs_html_image_t *images; /* img[src] */
  size_t nimages;
  gs_html_meta_t *meta; /* names unique, first position kept, last value wins */
  size_t nmeta;
  gs_html_pool_t *pool;
} gs_html_page_t;

typedef struct gs_html_section {
  const char *tag; /* header, nav, main, article, section, aside or footer (static) */
  char *id;        /* or NULL */
  char **classes;
  size_t nclasses;
  char *heading;      /* text of the first h1 inside, else first h2, ...; or NULL */
  size_t links_count; /* <a> elements inside, with or without href */
  char *text_preview; /* strings joined by spaces, cut at GS_HTML_PREVIEW_CHARS */
} gs_html_section_t;

typedef struct gs_html_field {
  char *type; /* input: type attribute or "text"; else "textarea"/"select" */
  char *name; /* or NULL */
  char *id;   /* or NULL */
  bool required;
} gs_html_field_t;

typedef struct gs_html_form {
  char *id;                /* or NULL */
  char *action;            /* the attribute as written, or "" */
  char *method;            /* upper-cased attribute, or "GET" */
  gs_html_field_t *fields; /* input/textarea/select inside, document order */
  size_t nfields;
} gs_html_form_t;

typedef struct gs_html_structure_opts {
  const char *base_url; /* as in gs_html_extract_opts_t */
  const char *selector; /* NULL or "": whole page; else the first match's descendants */
  bool base_href;
} gs_html_structure_opts_t;

/* get_structure's analysis. Links carry url and text only. */
typedef struct gs_html_structure {
  char *title;                 /* as in the page */
  char *language;              /* <html lang> only, or NULL */
  gs_html_section_t *sections; /* grouped by tag in the order listed above */
  size_t nsections;
  gs_html_link_t *navigation; /* links inside nav, nav-like classes and ids */
  size_t nnavigation;
  gs_html_link_t *internal_links;
  size_t ninternal_links;
  gs_html_link_t *external_links;
  size_t nexternal_links;
  gs_html_form_t *forms;
  size_t nforms;
  gs_html_heading_t *outline; /* all h1, then all h2, ... with ids */
  size_t noutline;
  gs_html_meta_t *meta; /* of the whole page */
  size_t nmeta;
  gs_html_pool_t *pool;
} gs_html_structure_t;

typedef struct gs_html_attr {
  char *name;
  char *value;
} gs_html_attr_t;

typedef struct gs_html_element {
  char *tag;             /* lower-case name */
  char *text;            /* strings, each stripped, joined by single spaces */
  gs_html_attr_t *attrs; /* document order */
  size_t nattrs;
} gs_html_element_t;

typedef struct gs_html_selection {
  gs_html_element_t *elements; /* document order */
  size_t nelements;
  gs_html_pool_t *pool;
} gs_html_selection_t;

/* Extracts body[0..len) as get_content does. *out is the page (free with
 * gs_html_page_free). Returns 0; GS_EINVAL for an invalid selector or NULL
 * argument (reason in errbuf); GS_ENOENT when the selector matches nothing;
 * GS_ENOMEM. errbuf (errlen bytes, may be NULL/0) gets "" on success. */
int gs_html_extract(const char *body, size_t len, const gs_html_extract_opts_t *opts,
                    gs_html_page_t **out, char *errbuf, size_t errlen);
void gs_html_page_free(gs_html_page_t *page);

/* Analyses body[0..len) as get_structure does; errors as gs_html_extract
 * (GS_ENOENT: the selector matches nothing). Free with gs_html_structure_free. */
int gs_html_structure(const char *body, size_t len, const gs_html_structure_opts_t *opts,
                      gs_html_structure_t **out, char *errbuf, size_t errlen);
void gs_html_structure_free(gs_html_structure_t *s);

/* Every element of body[0..len) that matches selector, in document order
 * (possibly none). Returns 0, GS_EINVAL (invalid selector, reason naming the
 * position in errbuf) or GS_ENOMEM. Free with gs_html_selection_free. */
int gs_html_select(const char *body, size_t len, const char *selector, gs_html_selection_t **out,
                   char *errbuf, size_t errlen);
void gs_html_selection_free(gs_html_selection_t *sel);

/* Resolves reference ref against base (RFC 3986 section 5.2, with
 * remove_dot_segments; scheme lower-cased, nothing else normalised). An
 * empty base gives ref unchanged. *out is malloc'd (caller frees).
 * Returns 0, GS_EINVAL (NULL argument) or GS_ENOMEM. */
int gs_html_resolve_url(const char *base, const char *ref, char **out);

#endif
