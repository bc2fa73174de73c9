/* Tests of the page obfuscator: a page full of planted PII (e-mail and
 * phone formats in text, attributes, scripts, JSON-LD, style and comments;
 * names in bylines and in alt/title/aria-label/data-author/value/meta;
 * images in every form) keeps none of it; dates are shifted in every
 * supported format and across month, year and leap boundaries; prices,
 * ids, years, ISBNs, versions and addresses survive; the element and
 * attribute sequence (gumbo on both sides) is unchanged; on a page with
 * nothing to mask only letters of text change (byte for byte); comments,
 * doctype, entities, quoting and whitespace are byte-identical; the output
 * is deterministic and depends on the seed; every text node of the fixture
 * pages (CJK included) keeps its length in characters; options are checked;
 * hostile input (empty, NUL bytes, invalid UTF-8, unterminated markup,
 * stray tags, deep nesting) is handled. */
#include <gumbo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/obfuscate.h"
#include "gs_test.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
  char *s;
  size_t len;
  gs_obfuscate_stats_t st;
} result_t;

static result_t obf_n(const char *html, size_t len, const char *seed, int shift) {
  result_t r = {0};
  gs_obfuscate_opts_t o = {.seed = seed, .date_shift_days = shift};
  char err[256];
  int rc = gs_obfuscate_page(html, len, &o, &r.s, &r.len, &r.st, err, sizeof err);
  GS_CHECK_INT(rc, 0);
  if (rc)
    fprintf(stderr, "  gs_obfuscate_page: %s\n", err);
  return r;
}

static result_t obf(const char *html, int shift) {
  return obf_n(html, strlen(html), "test-seed", shift);
}

static bool has(const result_t *r, const char *needle) {
  return r->s && strstr(r->s, needle) != NULL;
}

#define CHECK_GONE(r, needle)                                                                      \
  do {                                                                                             \
    GS_CHECK(!has(&(r), needle));                                                                  \
    if (has(&(r), needle))                                                                         \
      fprintf(stderr, "  still there: %s\n", needle);                                              \
  } while (0)

#define CHECK_KEPT(r, needle)                                                                      \
  do {                                                                                             \
    GS_CHECK(has(&(r), needle));                                                                   \
    if (!has(&(r), needle))                                                                        \
      fprintf(stderr, "  missing: %s\n", needle);                                                  \
  } while (0)

typedef struct {
  char *p;
  size_t len, cap;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

/* Is node inside script or style (where images change the length)? */
static bool raw_parent(const GumboNode *node) {
  const GumboNode *p = node->parent;
  return p && p->type == GUMBO_NODE_ELEMENT &&
         (p->v.element.tag == GUMBO_TAG_SCRIPT || p->v.element.tag == GUMBO_TAG_STYLE);
}

/* The tree of doc as text, walked with a heap stack: for each element its
 * tag and attribute names in order; with texts, each text node's length in
 * characters too. */
static char *shape(const char *doc, size_t len, bool texts) {
  GumboOptions opt = kGumboDefaultOptions;
  opt.max_errors = 0;
  GumboOutput *g = gumbo_parse_with_options(&opt, doc, len);
  sbuf_t b = {0};
  sb_add(&b, "", 0);
  size_t cap = 1024, n = 0;
  const GumboNode **stack = malloc(cap * sizeof *stack);
  stack[n++] = g->document;
  while (n) {
    const GumboNode *node = stack[--n];
    const GumboVector *kids = NULL;
    char tmp[64];
    if (node->type == GUMBO_NODE_DOCUMENT) {
      kids = &node->v.document.children;
    } else if (node->type == GUMBO_NODE_ELEMENT || node->type == GUMBO_NODE_TEMPLATE) {
      const GumboElement *e = &node->v.element;
      GumboStringPiece t = e->original_tag;
      if (e->tag == GUMBO_TAG_UNKNOWN)
        gumbo_tag_from_original_text(&t);
      sb_add(&b, "<", 1);
      if (e->tag == GUMBO_TAG_UNKNOWN)
        sb_add(&b, t.data, t.length);
      else
        sb_add(&b, gumbo_normalized_tagname(e->tag), strlen(gumbo_normalized_tagname(e->tag)));
      for (unsigned k = 0; k < e->attributes.length; k++) {
        const GumboAttribute *a = e->attributes.data[k];
        sb_add(&b, " ", 1);
        sb_add(&b, a->name, strlen(a->name));
      }
      sb_add(&b, ">", 1);
      kids = &e->children;
    } else if (texts && node->type == GUMBO_NODE_TEXT && !raw_parent(node)) {
      int k = snprintf(tmp, sizeof tmp, "#%zu", utf8_chars(node->v.text.text));
      sb_add(&b, tmp, (size_t)k);
    }
    for (unsigned k = kids ? kids->length : 0; k-- > 0;) {
      if (n == cap)
        stack = realloc(stack, (cap *= 2) * sizeof *stack);
      stack[n++] = kids->data[k];
    }
  }
  free(stack);
  gumbo_destroy_output(&opt, g);
  return b.p;
}

static void check_same_shape(const char *in, size_t in_len, const result_t *r, bool texts) {
  char *a = shape(in, in_len, texts), *b = shape(r->s ? r->s : "", r->len, texts);
  GS_CHECK_STR(b, a);
  free(a);
  free(b);
}

/* ---- the planted page ------------------------------------------------- */

static const char PLANTED[] =
    "<!DOCTYPE html>\n"
    "<!-- recorded for tests; contact ops.lead@corp-internal.example.net or +44 20 7946 0999 -->\n"
    "<html lang=\"en\"><head>\n"
    "  <meta charset=\"utf-8\">\n"
    "  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "  <meta name=\"robots\" content=\"index, follow\">\n"
    "  <meta name=\"author\" content=\"Marisol Okafor\">\n"
    "  <meta property=\"og:title\" content=\"Harbour notes by Marisol Okafor\">\n"
    "  <meta property=\"og:image\" content=\"https://cdn.example.com/og-secret-photo.jpg\">\n"
    "  <meta property=\"article:published_time\" content=\"2024-05-31T08:00:00Z\">\n"
    "  <title>Marisol Okafor's harbour notes</title>\n"
    "  <style>\n"
    "    .hero { background: url(\"/img/style-block-secret.png\") no-repeat; }\n"
    "    .tile { background-image: url(/img/unquoted-secret.gif); }\n"
    "    @font-face { font-family: X; src: url(/fonts/keep-me.woff2) format('woff2'); }\n"
    "    .note::after { content: 'css.person@example.com'; }\n"
    "  </style>\n"
    "  <script type=\"application/ld+json\">\n"
    "  {\"@type\": \"Article\", \"headline\": \"Notes by Marisol Okafor\",\n"
    "   \"author\": {\"@type\": \"Person\", \"name\": \"Marisol Okafor\",\n"
    "               \"email\": \"marisol.okafor@example.org\", \"telephone\": "
    "\"+1-212-555-0123\"},\n"
    "   \"image\": \"https://cdn.example.com/ld-secret-portrait.jpg\",\n"
    "   \"datePublished\": \"2024-05-31\", \"sku\": \"48213\"}\n"
    "  </script>\n"
    "  <script>var support = {mail: 'help.desk@example.co.uk', phone: '(212) 555-0188',\n"
    "    build: 20240531, id: 12345678, version: '10.0.19041.1234', when: '2024-05-31'};</script>\n"
    "</head>\n"
    "<body class=\"page\" data-id='12345678'>\n"
    "  <p class=\"byline\">By <a rel=\"author\" href=\"/about\">Marisol Okafor</a>, "
    "<time datetime=\"2024-05-31\">31 May 2024</time></p>\n"
    "  <p>Write to first.last+tag@sub.example.org, name@example.co.uk or JOHN.DOE@EXAMPLE.COM.\n"
    "     Call +44 20 7946 0958, (212) 555-0123, 212-555-0123, +1-212-555-0123, 020 7946 0958,\n"
    "     +81 3-1234-5678, 07911 123456, 1-800-555-0199 or +44 (0)20 7946 0321.\n"
    "     The extension is simply 555-0147. Tel: 5550123.</p>\n"
    "  <p>Prices: $12.99, &euro;5, \xc2\xa3"
    "1,299.00 and 1,299.00. Order ORD-2024-000123, SKU "
    "48213,\n"
    "     id 12345678, since 1987, ISBN 978-0-306-40615-7, build 10.0.19041.1234,\n"
    "     host 192.168.100.200, zip 90210-1234, open 09:00-17:30, pages 12-14.</p>\n"
    "  <p>Dates: 2024-05-31, 31/05/2024, 05/31/2024, 31.05.2024, 31 May 2024, May 31, 2024,\n"
    "     31st May, 2024, Sept. 5 2024, 2024-12-20, 2024-02-20, 2024\xe5\xb9\xb4"
    "5\xe6\x9c\x88"
    "31\xe6\x97\xa5.</p>\n"
    "  <a href=\"mailto:press@example.com?subject=Hi\">press</a>\n"
    "  <a href=\"mailto:john&#64;example.com\">obfuscated</a>\n"
    "  <a href=\"/share?to=jane%40example.com&amp;id=12345678\">share</a>\n"
    "  <a href=\"tel:+442079460958\">phone</a>\n"
    "  <a href=\"/item?id=12345678\" title=\"Photo by Marisol Okafor\">item</a>\n"
    "  <img src=\"/img/img-src-secret.jpg\" srcset=\"/img/srcset-secret-1x.jpg 1x, "
    "/img/srcset-secret-2x.jpg 2x\" alt=\"Portrait of Marisol Okafor\" width=48>\n"
    "  <img class=lazy src='data:image/gif;base64,R0lGOD' data-src='/img/data-src-secret.jpg' "
    "data-srcset='/img/data-srcset-secret.jpg 640w, /img/data-srcset-secret-2.jpg 1280w'>\n"
    "  <picture><source media=\"(min-width: 60rem)\" srcset=\"/img/picture-secret.webp 1600w\">"
    "<img src=\"/img/picture-img-secret.jpg\" alt=\"\"></picture>\n"
    "  <div style=\"background:url('/img/style-attr-secret.jpg')\" "
    "aria-label=\"Profile of Marisol Okafor\" data-author=\"Marisol Okafor\" "
    "data-phone=\"02079460958\" data-email=\"m.okafor@example.org\"></div>\n"
    "  <div style=\"background-image: url(&quot;/img/style-entity-secret.jpg&quot;)\"></div>\n"
    "  <form><input type=\"text\" name=\"who\" value=\"Marisol Okafor\">\n"
    "    <input type=\"email\" value=\"okafor@example.org\"><input type=\"tel\" "
    "value=\"02079460958\"></form>\n"
    "  <pre>contact: pre.person@example.com, 020 7946 0958; code stays 2024-05-31</pre>\n"
    "  <p>Entities &amp; &lt;tags&gt; &#169; &#x2014; stay.</p>\n"
    "</body></html>\n";

static const char *const GONE[] = {
    /* e-mail addresses */
    "ops.lead@", "corp-internal.example.net", "css.person", "marisol.okafor@", "help.desk",
    "first.last", "sub.example.org", "name@example.co.uk", "JOHN.DOE", "EXAMPLE.COM",
    "press@example.com", "john&#64;example.com", "jane%40example.com", "m.okafor",
    "okafor@example.org", "pre.person",
    /* phone numbers */
    "7946 0999", "7946 0958", "7946 0321", "555-0123", "555-0188", "3-1234-5678", "07911 123456",
    "555-0199", "555-0147", "5550123", "442079460958", "02079460958",
    /* names */
    "Marisol", "Okafor", "okafor",
    /* images */
    "og-secret-photo", "style-block-secret", "unquoted-secret", "ld-secret-portrait",
    "img-src-secret", "srcset-secret", "data-src-secret", "data-srcset-secret", "picture-secret",
    "picture-img-secret", "style-attr-secret", "style-entity-secret", "R0lGOD",
    /* dates (shifted) */
    "31 May 2024", "May 31, 2024", "31/05/2024", "05/31/2024", "Dates: 2024-05-31",
    "datetime=\"2024-05-31\"", "\"2024-05-31\"", "2024-05-31T08"};

static const char *const KEPT[] = {
    "<!DOCTYPE html>\n", "content=\"width=device-width, initial-scale=1\"",
    "content=\"index, follow\"", "<meta charset=\"utf-8\">", "data-id='12345678'",
    "/fonts/keep-me.woff2", "\"sku\": \"48213\"", "build: 20240531, id: 12345678",
    "'10.0.19041.1234'", "$12.99", "&euro;5",
    "\xc2\xa3"
    "1,299.00",
    " 1,299.00.", "-2024-000123, ", " 48213,", " 12345678, ", " 1987, ", " 978-0-306-40615-7,",
    "10.0.19041.1234,", "192.168.100.200", "90210-1234", "09:00-17:30", "12-14.",
    "href=\"/item?id=12345678\"", "&amp;id=12345678", "width=48", "class=lazy",
    "media=\"(min-width: 60rem)\"", " 1x, ", " 2x\"", " 640w, ", " 1280w'", " 1600w\"",
    "name=\"who\"", "rel=\"author\" href=\"/about\"", "&amp; &lt;", "&gt; &#169; &#x2014; ",
    "code stays 2024-05-31</pre>",
    /* dates shifted by 17 days, format kept */
    "2024-06-17T08:00:00Z", "datetime=\"2024-06-17\"", "17 June 2024</time>",
    "\"datePublished\": \"2024-06-17\"", "when: '2024-05-31'",
    "2024-06-17, 17/06/2024, "
    "06/17/2024, 17.06.2024, 17 June 2024, June 17, 2024,",
    "17th June, 2024, Sept. 22 2024, "
    "2025-01-06, 2024-03-08, 2024\xe5\xb9\xb4"
    "6\xe6\x9c\x88"
    "17\xe6\x97\xa5."};

static void test_planted(void) {
  result_t r = obf(PLANTED, 17);
  for (size_t k = 0; k < sizeof GONE / sizeof *GONE; k++)
    CHECK_GONE(r, GONE[k]);
  for (size_t k = 0; k < sizeof KEPT / sizeof *KEPT; k++)
    CHECK_KEPT(r, KEPT[k]);
  /* e-mail and phone masks keep their length and separators */
  CHECK_KEPT(r, "xxxxx.xxxx+xxx@xxx.xxxxxxx.xxx");
  CHECK_KEPT(r, "+00 00 0000 0000, (000) 000-0000, 000-000-0000, +0-000-000-0000");
  CHECK_KEPT(r, "href=\"tel:+000000000000\"");
  CHECK_KEPT(r, "href=\"mailto:xxxx&#64;xxxxxxx.xxx\"");
  CHECK_KEPT(r, "data-phone=\"00000000000\"");
  /* images: the placeholder, descriptors kept */
  CHECK_KEPT(r, "src=\"/_placeholder.png\" srcset=\"/_placeholder.png 1x, /_placeholder.png 2x\"");
  CHECK_KEPT(r, "url(\"/_placeholder.png\")");
  CHECK_KEPT(r, "url(/_placeholder.png)");
  CHECK_KEPT(r, "url('/_placeholder.png')");
  CHECK_KEPT(r, "url(&quot;/_placeholder.png&quot;)");
  CHECK_KEPT(r, "\"image\": \"/_placeholder.png\"");
  GS_CHECK(r.st.emails >= 13);
  GS_CHECK(r.st.phones >= 15);
  GS_CHECK_INT(r.st.images, 15);
  GS_CHECK(r.st.dates >= 15);
  GS_CHECK(r.st.text_nodes >= 6);
  GS_CHECK(r.st.attributes >= 20);
  check_same_shape(PLANTED, strlen(PLANTED), &r, false);
  free(r.s);
}

/* With nothing to mask, shift or replace, only letters of text change. */
static void test_only_letters_change(void) {
  static const char doc[] =
      "<!doctype html>\r\n<!-- Keep This Comment --><html><head><title>Plain Title</title>"
      "<style>p { color: red }</style><script>var greeting = 'Hello there';</script></head>\n"
      "<body>\n\t<h1 id=Main class='big  title'>Welcome   Home</h1>\n"
      "  <p title=\"A Title\" data-kind=\"two words\" data-ref=token>Some <b>bold</b> &amp; "
      "plain text, 42 times.<br/>More&nbsp;text</p>\n"
      "  <p>a &lt; b</p><code>keep code</code><pre>keep pre</pre><textarea>keep area</textarea>\n"
      "  <template><p>inert text</p></template><noscript>no script</noscript>\n"
      "  <svg><text>vector words</text></svg></body></html>\n";
  result_t r = obf(doc, 0);
  GS_CHECK_INT(r.len, strlen(doc));
  size_t changed = 0;
  for (size_t i = 0; r.s && i < r.len && i < strlen(doc); i++) {
    if (doc[i] == r.s[i])
      continue;
    changed++;
    bool letters = ((doc[i] | 0x20) >= 'a' && (doc[i] | 0x20) <= 'z') &&
                   ((r.s[i] | 0x20) >= 'a' && (r.s[i] | 0x20) <= 'z');
    GS_CHECK(letters);
  }
  GS_CHECK(changed > 40);
  static const char *const kept[] = {"<!doctype html>\r\n<!-- Keep This Comment -->",
                                     "<style>p { color: red }</style>",
                                     "<script>var greeting = 'Hello there';</script>",
                                     "<h1 id=Main class='big  title'>",
                                     "data-ref=token>",
                                     "&amp; ",
                                     ", 42 ",
                                     "<br/>",
                                     "&nbsp;",
                                     "&lt; ",
                                     "<code>keep code</code>",
                                     "<pre>keep pre</pre>",
                                     "<textarea>keep area</textarea>",
                                     "<p>inert text</p>",
                                     "<noscript>no script</noscript>",
                                     "</body></html>\n"};
  for (size_t k = 0; k < sizeof kept / sizeof *kept; k++)
    CHECK_KEPT(r, kept[k]);
  static const char *const gone[] = {"Plain Title", "Welcome",     "Home", "A Title",
                                     "two words",   "Some",        "bold", "plain text",
                                     "More",        "vector words"};
  for (size_t k = 0; k < sizeof gone / sizeof *gone; k++)
    CHECK_GONE(r, gone[k]);
  GS_CHECK_INT(r.st.emails + r.st.phones + r.st.images + r.st.dates, 0);
  GS_CHECK_INT(r.st.attributes, 2);
  check_same_shape(doc, strlen(doc), &r, true);
  free(r.s);
}

static void test_case_and_words(void) {
  result_t r = obf("<p>Hello WORLD again, I am x.</p>", 0);
  /* capitalised, upper-case and lower-case words keep their case and length */
  GS_CHECK(r.s && r.s[3] >= 'A' && r.s[3] <= 'Z' && r.s[4] >= 'a' && r.s[4] <= 'z');
  GS_CHECK(r.s && r.s[9] >= 'A' && r.s[9] <= 'Z' && r.s[13] >= 'A' && r.s[13] <= 'Z');
  GS_CHECK(r.s && r.s[15] >= 'a' && r.s[15] <= 'z');
  GS_CHECK(r.s && r.s[20] == ',' && r.s[21] == ' ' && r.s[22] >= 'A' && r.s[22] <= 'Z');
  free(r.s);
}

static void test_deterministic(void) {
  result_t a = obf(PLANTED, 17), b = obf(PLANTED, 17);
  result_t c = obf_n(PLANTED, strlen(PLANTED), "other-seed", 17);
  GS_CHECK(a.s && b.s && c.s);
  if (a.s && b.s && c.s) {
    GS_CHECK(a.len == b.len && !memcmp(a.s, b.s, a.len));
    GS_CHECK(a.len != c.len || memcmp(a.s, c.s, a.len) != 0);
  }
  /* the same seed and input give the same words whatever else is on the page */
  result_t d = obf("<p>one two three</p>", 0), e = obf("<p>one two three</p>", 0);
  GS_CHECK_STR(d.s, e.s);
  free(a.s), free(b.s), free(c.s), free(d.s), free(e.s);
  GS_CHECK_INT(gs_obfuscate_default_shift("rec-1"), gs_obfuscate_default_shift("rec-1"));
  int s = gs_obfuscate_default_shift(NULL);
  GS_CHECK(s >= 1 && s <= 365);
}

static void test_dates(void) {
  static const struct {
    const char *in;
    int shift;
    const char *want;
  } cases[] = {
      {"<p>2024-02-28</p>", 1, "<p>2024-02-29</p>"},
      {"<p>2023-02-28</p>", 1, "<p>2023-03-01</p>"},
      {"<p>2024-01-05</p>", -10, "<p>2023-12-26</p>"},
      {"<p>5/1/2024</p>", 30, "<p>4/2/2024</p>"},
      {"<p>1st March 2024</p>", 1, "<p>2nd March 2024</p>"},
      {"<p>MAR 3, 2024</p>", 20, "<p>MAR 23, 2024</p>"},
      {"<p>Mar 30, 2024</p>", 2, "<p>Apr 1, 2024</p>"},
      {"<p>September 9, 2024</p>", 30, "<p>October 9, 2024</p>"},
      {"<p>2024\xeb\x85\x84 5\xec\x9b\x94 31\xec\x9d\xbc</p>", 1,
       "<p>2024\xeb\x85\x84 6\xec\x9b\x94 1\xec\x9d\xbc</p>"},
      /* not dates: kept */
      {"<p>2024-13-01 2024-02-30 31/31/2024 2024.1.2 1.2.3.4</p>", 5,
       "<p>2024-13-01 2024-02-30 31/31/2024 2024.1.2 1.2.3.4</p>"},
      {"<p>9999-12-31</p>", 1, "<p>9999-12-31</p>"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    result_t r = obf(cases[k].in, cases[k].shift);
    GS_CHECK_STR(r.s, cases[k].want);
    free(r.s);
  }
}

static void test_phone_edges(void) {
  /* numbers that must survive in scripts, where nothing else changes */
  static const char doc[] = "<script>x = ['2024-05-31', 20240531, '1 000 000', '10 000 000', "
                            "'100 000 000', '4111 1111 1111 1111 1', '2024 2025 2026', "
                            "'0-306-40615-2', 'v1.2.3', '12:30:45', 'logo@2x.png', 1717171717171, "
                            "'#ff0000', 3.14159265358979];</script>";
  result_t r = obf(doc, 9);
  GS_CHECK_STR(r.s, doc);
  GS_CHECK_INT(r.st.phones + r.st.emails, 0);
  free(r.s);
}

static void test_fixture_pages(void) {
  const char *root = getenv("GS_SOURCE_DIR");
  static const char *const pages[] = {
      "about.html",        "chinese.html",    "contact.html",        "external-links.html",
      "index.html",        "japanese.html",   "product-detail.html", "products.html",
      "script-heavy.html", "blog/index.html", "blog/post-1.html",    "admin/index.html",
      "private/notes.html"};
  for (size_t k = 0; k < sizeof pages / sizeof *pages; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/html/%s", root ? root : ".", pages[k]);
    FILE *f = fopen(path, "rb");
    GS_CHECK(f != NULL);
    if (!f)
      continue;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    result_t r = obf_n(buf, n, "fixture", 0); /* shift 0: dates keep their length */
    check_same_shape(buf, n, &r, true);
    GS_CHECK(r.st.text_nodes > 5);
    GS_CHECK(!memchr(r.s, '@', r.len) || !strstr(r.s, "@example"));
    free(r.s);
  }
}

static void test_options(void) {
  char *out = NULL, err[256];
  size_t len;
  gs_obfuscate_opts_t o = {.date_shift_days = 40000};
  GS_CHECK_INT(gs_obfuscate_page("x", 1, &o, &out, &len, NULL, err, sizeof err), GS_EINVAL);
  GS_CHECK(strstr(err, "date_shift_days") != NULL);
  static const char *const bad[] = {"",          "/a b.png", "/a\".png", "/a'.png",  "/a,b.png",
                                    "/a(b).png", "/a<b.png", "/a&b.png", "/a\\b.png"};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    o = (gs_obfuscate_opts_t){.placeholder_image = bad[k]};
    GS_CHECK_INT(gs_obfuscate_page("x", 1, &o, &out, &len, NULL, err, sizeof err), GS_EINVAL);
    GS_CHECK(strstr(err, "placeholder_image") != NULL);
  }
  GS_CHECK_INT(gs_obfuscate_page("x", 1, NULL, NULL, &len, NULL, err, sizeof err), GS_EINVAL);
  o = (gs_obfuscate_opts_t){.placeholder_image = "https://ph.test/p.svg?x=1"};
  GS_CHECK_INT(gs_obfuscate_page("<img src=a.png>", 15, &o, &out, &len, NULL, err, sizeof err), 0);
  GS_CHECK_STR(out, "<img src=https://ph.test/p.svg?x=1>");
  GS_CHECK_STR(err, "");
  free(out);
  GS_CHECK_INT(gs_obfuscate_page(NULL, 0, NULL, &out, &len, NULL, NULL, 0), 0);
  GS_CHECK_STR(out, "");
  GS_CHECK_INT(len, 0);
  free(out);
}

static void check_deep(const char *tag, size_t depth) {
  size_t tl = strlen(tag);
  char *doc = malloc(depth * (tl + 2) + 16), *p = doc;
  for (size_t i = 0; i < depth; i++)
    p += sprintf(p, "<%s>", tag);
  strcpy(p, "Deep text");
  result_t r = obf(doc, 0);
  GS_CHECK_INT(r.len, strlen(doc));
  GS_CHECK(r.s && !strstr(r.s, "Deep text") && !memcmp(r.s, doc, strlen(doc) - 9));
  free(r.s);
  free(doc);
}

/* head, then unit n times, then tail: obfuscated without trouble. */
static void check_repeat(const char *head, const char *unit, size_t n, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *doc = malloc(hl + ul * n + tl + 1), *p = doc;
  memcpy(p, head, hl);
  for (p += hl; n--; p += ul)
    memcpy(p, unit, ul);
  memcpy(p, tail, tl + 1);
  result_t r = obf(doc, 1);
  GS_CHECK(r.s && !strstr(r.s, "a@b.example.com"));
  free(r.s);
  free(doc);
}

#define D(lit)                                                                                     \
  { lit, sizeof(lit) - 1 }

static void test_hostile(void) {
  static const struct {
    const char *doc;
    size_t len;
  } docs[] = {
      D(""),
      D("\0\0<p>\0a\0</p>"),
      D("\xff\xfe<p>\xc3\x28 \xe2\x82 \xf0\x9f\x98\x80 \xed\xa0\x80</p>"),
      D("<p title=\"unterminated"),
      D("<!-- open comment"),
      D("<p>text</p></html> after <html data-email=\"a@b.example.com\">"),
      D("<frameset>dropped text a@b.example.com<frame></frameset>"),
      D("<p title=1 title=\"Marisol Okafor\" alt=x alt=\"Marisol Okafor\">t"),
      D("<script>"),
      D("<style>url("),
      D("<img srcset=\",,, ,\" src>"),
      D("<p>&#64;&#x40;&commat;%40@</p>"),
      D("<table>a@b.example.com<tr><td>x</td>cd</tr></table>"),
      D("<p>+((((((((((1</p>"),
      D("<script type=application/ld+json>{\"name\":\"a\\"),
  };
  for (size_t k = 0; k < sizeof docs / sizeof *docs; k++) {
    result_t r = obf_n(docs[k].doc, docs[k].len, "h", 3);
    GS_CHECK(r.s != NULL);
    if (r.s)
      GS_CHECK(!strstr(r.s, "a@b.example.com") && !strstr(r.s, "Okafor"));
    free(r.s);
  }
  check_deep("span", 100000);
  check_deep("div", 20000);
  /* inputs that a naive scanner handles in quadratic time */
  check_repeat("<input type=email", " value=a@b.example.com", 100000, ">");
  check_repeat("<meta name=author", " content=x", 100000, ">");
  check_repeat("<p>x", "%40", 300000, "b.example.com</p>");
  check_repeat("<p>", "+1 ", 200000, "</p>");
}

int main(void) {
  GS_RUN(test_planted);
  GS_RUN(test_only_letters_change);
  GS_RUN(test_case_and_words);
  GS_RUN(test_deterministic);
  GS_RUN(test_dates);
  GS_RUN(test_phone_edges);
  GS_RUN(test_fixture_pages);
  GS_RUN(test_options);
  GS_RUN(test_hostile);
  return gs_test_report();
}
