/* The parts of the HTML extractor (include/gs/html.h) and their contracts.
 * Private to src/core/html*.c; nothing here is API.
 *
 *   html.c            the entry points: argument checks, one walk, the result
 *   html_pool.c       the memory pool a result lives in
 *   html_text.c       text as gofr-dig's Python sees it: str.strip() white
 *                     space, _extract_text's clean-up, previews
 *   html_uri.c        URLs: RFC 3986 resolution, Python's urljoin, hosts
 *   html_select.c     the CSS selector subset (parse, match), element
 *                     helpers, gs_html_select's result
 *   html_noise.c      gofr-dig's noise rules: removed tags, the ad pattern,
 *                     noise lines (the tables to change when gofr-dig does)
 *   html_walk.c       the one pass over the gumbo tree and its records
 *   html_results.c    result pieces shared by extract and structure (title,
 *                     headings, meta, resolved and de-duplicated links)
 *   html_extract.c    get_content's page
 *   html_structure.c  get_structure's analysis, its section and navigation
 *                     tables
 *
 * Naming: functions and types shared between these files are gs_html_*;
 * file-private ones are static gs__* (as in the rest of the core).
 *
 * Ownership: every string and array of a result is allocated in the walk's
 * pool (gs_html_walk_t.pool), which becomes the result's pool and is freed
 * only by gs_html_*_free. Scratch state (vectors, text buffers, compiled
 * patterns, the parsed selector) is malloc'd and freed by
 * gs_html_walk_dispose. Records point into the gumbo tree, which lives
 * until the entry point releases it after building the result; nothing
 * that points into the tree is handed out. A builder that runs out of
 * memory records GS_ENOMEM with gs_html_walk_fail and returns NULL (or
 * leaves the field empty); the entry point then frees the whole pool. */
#ifndef GS_HTML_INTERNAL_H
#define GS_HTML_INTERNAL_H

#include <gumbo.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "gs/buf.h"
#include "gs/gumbo_doc.h"
#include "gs/html.h"

/* ---- the pool (html_pool.c) ---------------------------------------------- */

/* An empty pool, or NULL when out of memory. */
gs_html_pool_t *gs_html_pool_new(void);
/* Frees p and everything allocated in it; p may be NULL. */
void gs_html_pool_free(gs_html_pool_t *p);
/* n bytes aligned for any type, valid until the pool is freed, or NULL. */
void *gs_html_pool_alloc(gs_html_pool_t *p, size_t n);
/* A NUL-terminated copy of s[0..n) in p, or NULL. */
char *gs_html_pool_strndup(gs_html_pool_t *p, const char *s, size_t n);

/* ---- text (html_text.c) -------------------------------------------------- */

/* Length of the white-space code point (Python's str.isspace, in UTF-8)
 * starting at s[0..n) (n >= 1), or 0. */
size_t gs_html_space_at(const unsigned char *s, size_t n);
/* Narrows s[*off .. *off + *n) to its part that Python's strip() keeps. */
void gs_html_strip(const char *s, size_t *off, size_t *n);
/* The next word of a white-space separated list (class, rel: HTML's
 * space, tab, LF, CR and FF separate) at or after *s: returns where it
 * starts, its length in *n, and moves *s past it; NULL when none is left. */
const char *gs_html_next_word(const char **s, size_t *n);
/* gofr-dig's _extract_text on "\n"-joined strings, in pool: runs of three
 * or more newlines become two, runs of spaces and tabs one space, then
 * strip. NULL when out of memory. */
char *gs_html_clean_text(gs_html_pool_t *pool, const char *s);
/* text cut at GS_HTML_PREVIEW_CHARS code points with "..." appended (a new
 * pool string), or text itself when short enough; NULL when out of memory. */
char *gs_html_preview(gs_html_pool_t *pool, char *text);

/* ---- URLs (html_uri.c) --------------------------------------------------- */

/* A piece of a URL (not NUL-terminated); defined: present, maybe empty. */
typedef struct {
  const char *s;
  size_t len;
  bool defined;
} gs_html_part_t;

/* The authority ("netloc") of url, as Python's urlparse gives it. */
gs_html_part_t gs_html_netloc(const char *url);
/* Whether a and b hold the same bytes. */
bool gs_html_part_eq(const gs_html_part_t *a, const gs_html_part_t *b);
/* ref as Python's urlsplit reads it: leading C0 controls and spaces
 * dropped, tabs and line breaks removed. malloc'd (caller frees), or NULL
 * when out of memory. */
char *gs_html_clean_ref(const char *ref);
/* Python's urljoin(base, ref) as gofr-dig calls it on a link: ref cleaned
 * as gs_html_clean_ref does; with a scheme or an authority its path is kept
 * as written, else RFC 3986 (gs_html_resolve_url). *out is malloc'd
 * (caller frees). Returns 0 or GS_ENOMEM (*out NULL). */
int gs_html_urljoin(const char *base, const char *ref, char **out);

/* ---- elements and CSS selectors (html_select.c) -------------------------- */

static inline bool gs_html_is_element(const GumboNode *n) {
  return n && (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE);
}

/* The value of element n's attribute `name`, or NULL when absent (valid as
 * long as the tree). */
static inline const char *gs_html_attr(const GumboNode *n, const char *name) {
  GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, name);
  return a ? a->value : NULL;
}

/* Whether the white-space separated list `list` contains `word`. */
bool gs_html_has_word(const char *list, const char *word);
/* The element's lower-case tag name, valid UTF-8: a static string for a
 * known tag, else written into buf (n >= 4 bytes; cut at a character
 * boundary when longer). */
const char *gs_html_tag_name(const GumboNode *node, char *buf, size_t n);

/* A parsed selector list. Owns its vectors and its strings' pool; the
 * caller owns the struct (on its stack is fine). */
typedef struct {
  gs_vec_t alts;         /* the complex selectors, private to html_select.c */
  gs_html_pool_t *names; /* their strings */
} gs_html_selector_t;

/* Parses selector into sel; free sel with gs_html_selector_free, also on
 * error. Returns 0, GS_EINVAL (the reason, naming the position, in err) or
 * GS_ENOMEM. */
int gs_html_selector_parse(const char *selector, gs_html_selector_t *sel, char *err, size_t errlen);
/* Frees what sel holds and zeroes it (a zeroed sel is fine). */
void gs_html_selector_free(gs_html_selector_t *sel);
/* Whether element n matches any selector of the list. */
bool gs_html_selector_match(const gs_html_selector_t *sel, const GumboNode *n);

/* ---- gofr-dig's noise rules (html_noise.c) ------------------------------- */

/* Whether gofr-dig removes elements of tag t before extracting (script,
 * style, noscript, iframe, svg, canvas). */
bool gs_html_noise_tag(GumboTag t);
/* The ad pattern, compiled once per thread (kept until the thread exits),
 * or NULL when out of memory. */
const regex_t *gs_html_ad_pattern(void);
/* Whether an element with these class and id attributes (either may be
 * NULL) is ad-like: gofr-dig matches the ad pattern on "<classes joined by
 * one space> <id>". False when out of memory. */
bool gs_html_ad_match(const regex_t *re, const char *cls, const char *id);
/* text without the lines that are only noise, each kept line ending in
 * "\n", into out (emptied first; out.p is valid even when nothing is kept).
 * Returns 0 or GS_ENOMEM. */
int gs_html_drop_noise_lines(const char *text, gs_buf_t *out);

/* ---- the walk (html_walk.c) ---------------------------------------------- */

/* What a walk collects for. */
typedef enum {
  GS_HTML_MODE_EXTRACT,        /* get_content of the page */
  GS_HTML_MODE_EXTRACT_SELECT, /* get_content of a selector's matches */
  GS_HTML_MODE_STRUCTURE,      /* get_structure (a selector: its first match's scope) */
  GS_HTML_MODE_SELECT,         /* gs_html_select */
} gs_html_mode_t;

/* The page's text buffers, by separator between stripped strings. */
enum { GS_HTML_TXT_NL, GS_HTML_TXT_SP, GS_HTML_TXT_NONE, GS_HTML_NTXT };

/* get_structure's section tags and navigation groups (html_structure.c).
 * A link's navigation bits: bit 0 inside <nav>, then one bit per class,
 * then one per id. */
#define GS_HTML_NSECTION_TAGS 7
#define GS_HTML_NNAV_CLASSES 6
#define GS_HTML_NNAV_IDS 4
#define GS_HTML_NNAV (1 + GS_HTML_NNAV_CLASSES + GS_HTML_NNAV_IDS)
extern const GumboTag gs_html_section_tags[GS_HTML_NSECTION_TAGS];
extern const char *const gs_html_section_names[GS_HTML_NSECTION_TAGS];
extern const char *const gs_html_nav_classes[GS_HTML_NNAV_CLASSES];
extern const char *const gs_html_nav_ids[GS_HTML_NNAV_IDS];

/* Records, in document order. Their strings point into the tree, except
 * `text` and `preview` (pool strings, NULL when out of memory). */
typedef struct {
  int level;  /* 1..6 */
  size_t pos; /* elements entered before it */
  const char *id;
  char *text;
} gs_html_heading_rec_t;
typedef struct {
  const char *href, *title;
  unsigned nav; /* navigation bits */
  char *text;
} gs_html_link_rec_t;
typedef struct {
  int tag; /* index in gs_html_section_tags */
  const GumboNode *node;
  size_t pos, end; /* elements entered before it, and before its end */
  size_t a_start, a_count;
  char *preview;
} gs_html_section_rec_t;
typedef struct {
  const GumboNode *node;
  size_t first, end; /* its fields: [first, end) of gs_html_walk_t.fields */
} gs_html_form_rec_t;
typedef struct {
  const GumboNode *node;
  char *text;
} gs_html_match_rec_t;

typedef struct {
  gs_html_mode_t mode;
  bool remove_tags, remove_ads;
  const regex_t *ad_re;          /* when remove_ads: gs_html_ad_pattern()'s */
  const gs_html_selector_t *sel; /* or NULL */
  gs_html_pool_t *pool;          /* the result's */
  int rc;                        /* first error */

  gs_vec_t stack; /* the walk's frames (html_walk.c) */
  gs_buf_t txt[GS_HTML_NTXT];
  unsigned notext;  /* open script/style/template/rt/rp */
  bool in_scope;    /* inside the analysis root */
  bool scope_found; /* the selector root was seen (structure) */
  size_t pos;       /* elements entered so far */
  size_t a_count;   /* <a> elements entered in scope */
  unsigned nav_open[GS_HTML_NNAV];
  bool nav_id_seen[GS_HTML_NNAV_IDS];

  bool title_seen, h1_seen, html_seen, lang_meta_seen;
  char *title, *first_h1;
  const char *lang, *lang_meta, *base_href;
  gs_vec_t heads;   /* gs_html_heading_rec_t */
  gs_vec_t links;   /* gs_html_link_rec_t */
  gs_vec_t images;  /* pairs of strings: src, alt (or NULL) */
  gs_vec_t metas;   /* pairs of strings: name, content */
  gs_vec_t sects;   /* gs_html_section_rec_t */
  gs_vec_t forms;   /* gs_html_form_rec_t */
  gs_vec_t fields;  /* const GumboNode *: input, textarea, select in scope */
  gs_vec_t matches; /* gs_html_match_rec_t */
} gs_html_walk_t;

/* Writes msg into errbuf (errlen bytes; may be NULL/0). */
void gs_html_set_error(char *errbuf, size_t errlen, const char *msg);
/* Records rc as the walk's error unless one is recorded already. */
void gs_html_walk_fail(gs_html_walk_t *w, int rc);
/* Prepares w for mode: the result pool, the selector (NULL: none) parsed
 * into *sel, the ad pattern when ads. Returns 0 or an error (message in
 * errbuf); gs_html_walk_dispose is due either way. */
int gs_html_walk_init(gs_html_walk_t *w, gs_html_mode_t mode, const char *selector, bool ads,
                      gs_html_selector_t *sel, char *errbuf, size_t errlen);
/* Parses body into doc (the caller releases it with gs_gumbo_doc_release)
 * and walks it in document order. */
void gs_html_walk_run(gs_html_walk_t *w, gs_gumbo_doc_t *doc, const char *body, size_t len);
/* A zeroed result struct of `size` bytes in the walk's pool, or NULL. */
void *gs_html_walk_result(gs_html_walk_t *w, size_t size);
/* The code of a finished walk: its error, else GS_ENOENT when a selector
 * matched nothing, else 0; the message in errbuf. */
int gs_html_walk_finish(gs_html_walk_t *w, const char *selector, bool matched, char *errbuf,
                        size_t errlen);
/* Frees the scratch state and sel; the pool too unless keep_pool. */
void gs_html_walk_dispose(gs_html_walk_t *w, gs_html_selector_t *sel, bool keep_pool);

/* ---- shared result pieces (html_results.c) ------------------------------- */

/* A pool copy of s (NULL for NULL). */
char *gs_html_dup(gs_html_walk_t *w, const char *s);
/* A pool copy of v's elements (size bytes each); NULL when v is empty. */
void *gs_html_freeze(gs_html_walk_t *w, const gs_vec_t *v, size_t size);
/* <title>, else the first <h1>, or NULL. */
char *gs_html_title(gs_html_walk_t *w);
/* Headings of level 1, then 2, ... with non-empty text (ids if with_ids). */
gs_html_heading_t *gs_html_headings(gs_html_walk_t *w, bool with_ids, size_t *n);
/* Meta names unique: first position kept, last value wins (a Python dict). */
gs_html_meta_t *gs_html_meta(gs_html_walk_t *w, size_t *n);
/* A link target as gofr-dig computes it (urljoin(base, ref)), in the pool. */
char *gs_html_resolve_link(gs_html_walk_t *w, const char *base, const char *ref);
/* The page's URL for resolving links: base_url, or <base href> resolved
 * against it when base_href. A pool string; "" when there is none. */
const char *gs_html_link_base(gs_html_walk_t *w, const char *base_url, bool base_href);
/* The resolved URL of each link record, NULL for those gofr-dig skips
 * (empty href, "#...", "javascript:..."): a pool array, one per record. */
char **gs_html_link_urls(gs_html_walk_t *w, const char *base);

/* A set of strings (open addressing) for de-duplication; start zeroed,
 * free(set.slots) when done. The strings are not copied. */
typedef struct {
  const char **slots;
  size_t cap, n;
} gs_html_set_t;

/* Appends link l with url to out (gs_html_link_t) unless url is in seen. */
void gs_html_emit_link(gs_html_walk_t *w, gs_vec_t *out, gs_html_set_t *seen, const char *url,
                       const gs_html_link_rec_t *l);

/* ---- building each result ------------------------------------------------ */

/* html_extract.c */
void gs_html_build_page(gs_html_walk_t *w, const gs_html_extract_opts_t *o, gs_html_page_t *pg);
/* html_structure.c */
void gs_html_build_structure(gs_html_walk_t *w, const gs_html_structure_opts_t *o,
                             gs_html_structure_t *st);
/* html_select.c */
void gs_html_build_selection(gs_html_walk_t *w, gs_html_selection_t *sel);

#endif
