/* Tests of the page extraction: RFC 3986 reference resolution (the RFC's own
 * examples), get_content extraction of a realistic page (exact text with
 * noise tags, ad elements and noise lines gone, headings by level, links
 * de-duplicated with skipped anchors and javascript:, external flags,
 * images, meta, language and title fallbacks), the selector subset (each
 * form, lists, combinators, errors naming the position, no match),
 * get_structure (sections, headings, link counts, previews cut by code
 * point, navigation groups, internal/external, forms, outline, selector
 * scope) and hostile input: empty, NUL bytes, invalid UTF-8, a 1 MiB
 * attribute, 100k and 500k nested elements; and extraction on several
 * threads at once (each its own compiled noise patterns). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/html.h"
#include "gs_test.h"

static const char PAGE[] =
    "<!DOCTYPE html><html lang=\"en\"><head><title>  Shop &amp; Co </title>"
    "<meta name=\"description\" content=\"Boots\"><meta property=\"og:title\" content=\"OG\">"
    "<meta name=\"empty\" content=\"\"><meta name=\"description\" content=\"Boots 2\">"
    "<style>body{color:red}</style><script>var x = '<a href=/js>no</a>';</script></head>"
    "<body><header class=\"top\"><a href=\"/\">Home</a></header>"
    "<nav><a href=\"/a\">A</a> <a href=\"b.html\" title=\"Bee\">B</a>"
    "<a href=\"#top\">Top</a><a href=\"javascript:void(0)\">JS</a></nav>"
    "<main><h2>Second</h2><h1>First <b>bold</b></h1>"
    "<p>Hello   <b>world</b>!\n\n\n\n  tail\tend</p>"
    "<div class=\"ad-banner\"><a href=\"/ad\">Buy</a>Ad text</div>"
    "<div id=\"x-sponsored\">Sponsored thing</div>"
    "<p>Read more</p><p>Share</p><p>Cookie policy</p><p>\xe2\x80\x94</p>"
    "<noscript>Enable JS</noscript><iframe src=\"/f\">frame</iframe>"
    "<svg><text>vector</text></svg>"
    "<template><p>inert</p></template><ruby>\xe6\xbc\xa2<rt>kan</rt></ruby>"
    "<a href=\"https://other.example/x\">Out</a><a href=\"/a\">A again</a>"
    "<img src=\"img/p.png\" alt=\"Pic\"><img src=\"\"><img src=\"/q.png\">"
    "</main><footer><p>&copy; 2026</p></footer></body></html>";

static gs_html_extract_opts_t extract_opts(void) {
  return (gs_html_extract_opts_t){.base_url = "http://shop.test/dir/page.html",
                                  .filter_noise = true,
                                  .include_links = true,
                                  .include_images = true,
                                  .include_meta = true};
}

static void test_resolve_url(void) {
  static const char *const cases[][2] = {
      /* RFC 3986 5.4.1 */
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../g", "http://a/g"},
      /* 5.4.2 */
      {"../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"http:g", "http:g"},
      {"HTTPS://Host/a/../b", "https://Host/b"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *out = NULL;
    GS_CHECK_INT(gs_html_resolve_url("http://a/b/c/d;p?q", cases[i][0], &out), 0);
    GS_CHECK_STR(out, cases[i][1]);
    free(out);
  }
  char *out = NULL;
  GS_CHECK_INT(gs_html_resolve_url("http://h", "x", &out), 0);
  GS_CHECK_STR(out, "http://h/x");
  free(out);
  GS_CHECK_INT(gs_html_resolve_url("", "../x", &out), 0);
  GS_CHECK_STR(out, "../x");
  free(out);
  GS_CHECK_INT(gs_html_resolve_url(NULL, "x", &out), GS_EINVAL);
}

/* Links follow Python's urljoin: absolute and network-path references keep
 * their path as written; other schemes are left alone. */
static void test_link_urls(void) {
  static const char doc[] =
      "<a href=\"https://x.test/a/b/../c/./d.html\">1</a><a href=\"HTTP://X.test/p/../q\">2</a>"
      "<a href=\"//cdn.test/./z\">3</a><a href=\"MAILTO:Me@x.test\">4</a>"
      "<a href=\" \t../up/./x?y#z \">5</a><a href=\"tel:+1\">6</a>";
  gs_html_extract_opts_t o = extract_opts();
  gs_html_page_t *pg = NULL;
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, NULL, 0), 0);
  static const char *const want[] = {"https://x.test/a/b/../c/./d.html",
                                     "http://X.test/p/../q",
                                     "http://cdn.test/./z",
                                     "MAILTO:Me@x.test",
                                     "http://shop.test/up/x?y#z ",
                                     "tel:+1"};
  GS_CHECK_INT(pg ? pg->nlinks : 0, 6);
  for (size_t i = 0; pg && i < pg->nlinks && i < 6; i++)
    GS_CHECK_STR(pg->links[i].url, want[i]);
  if (pg && pg->nlinks == 6) {
    GS_CHECK(pg->links[0].external);
    GS_CHECK(!pg->links[3].external); /* no host: internal, as gofr-dig */
  }
  gs_html_page_free(pg);
}

static void test_extract_page(void) {
  gs_html_extract_opts_t o = extract_opts();
  gs_html_page_t *pg = NULL;
  char err[256];
  GS_CHECK_INT(gs_html_extract(PAGE, strlen(PAGE), &o, &pg, err, sizeof err), 0);
  if (!pg)
    return;
  GS_CHECK_STR(err, "");
  GS_CHECK_STR(pg->title, "Shop & Co");
  GS_CHECK_STR(pg->language, "en");
  GS_CHECK_STR(pg->text, "Shop & Co\nHome\nA\nB\nTop\nJS\nSecond\nFirst\nbold\nHello\nworld\n!\n\n"
                         " tail end\n\xe6\xbc\xa2\nOut\nA again\n\xc2\xa9 2026");
  GS_CHECK_INT(pg->nheadings, 2);
  if (pg->nheadings == 2) {
    GS_CHECK_INT(pg->headings[0].level, 1);
    GS_CHECK_STR(pg->headings[0].text, "Firstbold");
    GS_CHECK(pg->headings[0].id == NULL);
    GS_CHECK_INT(pg->headings[1].level, 2);
    GS_CHECK_STR(pg->headings[1].text, "Second");
  }
  /* "#top", "javascript:", the ad's link and the second "/a" are skipped */
  GS_CHECK_INT(pg->nlinks, 4);
  if (pg->nlinks == 4) {
    GS_CHECK_STR(pg->links[0].url, "http://shop.test/");
    GS_CHECK_STR(pg->links[1].url, "http://shop.test/a");
    GS_CHECK_STR(pg->links[1].text, "A");
    GS_CHECK_STR(pg->links[2].url, "http://shop.test/dir/b.html");
    GS_CHECK_STR(pg->links[2].title, "Bee");
    GS_CHECK(!pg->links[2].external);
    GS_CHECK_STR(pg->links[3].url, "https://other.example/x");
    GS_CHECK(pg->links[3].external);
  }
  GS_CHECK_INT(pg->nimages, 2);
  if (pg->nimages == 2) {
    GS_CHECK_STR(pg->images[0].url, "http://shop.test/dir/img/p.png");
    GS_CHECK_STR(pg->images[0].alt, "Pic");
    GS_CHECK_STR(pg->images[1].url, "http://shop.test/q.png");
    GS_CHECK_STR(pg->images[1].alt, "");
  }
  GS_CHECK_INT(pg->nmeta, 2);
  if (pg->nmeta == 2) {
    GS_CHECK_STR(pg->meta[0].name, "description");
    GS_CHECK_STR(pg->meta[0].content, "Boots 2");
    GS_CHECK_STR(pg->meta[1].name, "og:title");
  }
  gs_html_page_free(pg);
}

#define THREADS 4
#define EXTRACTIONS 50

/* A thread's extractions of PAGE: how many gave test_extract_page's text. */
static void *extract_many(void *arg) {
  const char *want = arg;
  long same = 0;
  for (int i = 0; i < EXTRACTIONS; i++) {
    gs_html_extract_opts_t o = extract_opts();
    gs_html_page_t *pg = NULL;
    if (gs_html_extract(PAGE, strlen(PAGE), &o, &pg, NULL, 0) == 0 && pg && !strcmp(pg->text, want))
      same++;
    gs_html_page_free(pg);
  }
  return (void *)same;
}

/* Threads extracting side by side (--workers) filter noise as one does:
 * the noise patterns are per thread, compiled on first use. */
static void test_extract_threads(void) {
  gs_html_extract_opts_t o = extract_opts();
  gs_html_page_t *pg = NULL;
  GS_CHECK_INT(gs_html_extract(PAGE, strlen(PAGE), &o, &pg, NULL, 0), 0);
  if (!pg)
    return;
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    GS_CHECK_INT(pthread_create(&t[i], NULL, extract_many, pg->text), 0);
  for (int i = 0; i < THREADS; i++) {
    void *same = NULL;
    pthread_join(t[i], &same);
    GS_CHECK_INT((long)same, EXTRACTIONS);
  }
  gs_html_page_free(pg);
}

/* Without filter_noise the ad elements and noise lines stay; the noise tags
 * go regardless. Without a title the first h1 is the title; without
 * <html lang> the Content-Language meta is the language. */
static void test_extract_options(void) {
  static const char doc[] =
      "<html><head><meta http-equiv=\"Content-Language\" content=\"fr\"></head><body>"
      "<h1> Un <i>deux</i></h1><div class=\"ad\">Pub</div><p>Share</p><script>x</script>"
      "<base href=\"http://cdn.test/sub/\"><a href=\"p\">P</a><img src=\"i.png\"></body></html>";
  gs_html_extract_opts_t o = {.base_url = "http://site.test/"};
  gs_html_page_t *pg = NULL;
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, NULL, 0), 0);
  if (!pg)
    return;
  GS_CHECK_STR(pg->title, "Undeux");
  GS_CHECK_STR(pg->language, "fr");
  GS_CHECK_STR(pg->text, "Un\ndeux\nPub\nShare\nP");
  GS_CHECK_INT(pg->nlinks, 0);
  GS_CHECK_INT(pg->nimages, 0);
  GS_CHECK_INT(pg->nmeta, 0);
  gs_html_page_free(pg);

  o.include_links = o.include_images = true;
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, NULL, 0), 0);
  if (pg && pg->nlinks == 1 && pg->nimages == 1) {
    GS_CHECK_STR(pg->links[0].url, "http://site.test/p");
    GS_CHECK_STR(pg->images[0].url, "http://site.test/i.png");
  } else
    GS_CHECK(0);
  gs_html_page_free(pg);
  o.base_href = true;
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, NULL, 0), 0);
  if (pg && pg->nlinks == 1 && pg->nimages == 1) {
    GS_CHECK_STR(pg->links[0].url, "http://cdn.test/sub/p");
    GS_CHECK(pg->links[0].external);
    GS_CHECK_STR(pg->images[0].url, "http://cdn.test/sub/i.png");
  } else
    GS_CHECK(0);
  gs_html_page_free(pg);
}

/* With a selector: the text of every match, joined by a blank line; script
 * text is skipped but the noise tags are not removed; no headings/links. */
static void test_extract_selector(void) {
  static const char doc[] = "<div class=\"post\"><h2>One</h2><p>a</p><script>s()</script>"
                            "<noscript>ns</noscript></div><div class=\"post ad-slot\">hidden</div>"
                            "<div class=\"post\"></div><div class=\"post\"><p>b</p></div>";
  gs_html_extract_opts_t o = extract_opts();
  o.selector = "div.post";
  gs_html_page_t *pg = NULL;
  char err[256];
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, err, sizeof err), 0);
  if (pg) {
    GS_CHECK_STR(pg->text, "One\na\nns\n\nb");
    GS_CHECK(pg->title == NULL);
    GS_CHECK(pg->language == NULL);
    GS_CHECK_INT(pg->nheadings + pg->nlinks + pg->nimages + pg->nmeta, 0);
  }
  gs_html_page_free(pg);

  o.selector = "article";
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, err, sizeof err), GS_ENOENT);
  GS_CHECK(pg == NULL);
  GS_CHECK_STR(err, "Selector 'article' did not match any elements");
  o.selector = "div:first-child";
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, err, sizeof err), GS_EINVAL);
  GS_CHECK_STR(err, "Invalid selector 'div:first-child': unexpected character at position 4");
  o.selector = ""; /* no selector, as gofr-dig */
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, err, sizeof err), 0);
  gs_html_page_free(pg);
}

/* Number of elements selector matches in doc, or the error code. */
static int count(const char *doc, const char *selector, char *err, size_t errlen) {
  gs_html_selection_t *s = NULL;
  int rc = gs_html_select(doc, strlen(doc), selector, &s, err, errlen);
  int n = rc ? rc : (int)s->nelements;
  gs_html_selection_free(s);
  return n;
}

static void test_selectors(void) {
  static const char doc[] =
      "<body><div id=\"main\" class=\"a b\"><p class=\"b\" data-x=\"1\">one</p>"
      "<section><p lang=\"en-GB\">two <em>2</em></p></section></div>"
      "<p data-x=\"two words\">three</p><custom-el Foo=\"Bar\">four</custom-el></body>";
  char err[256];
  GS_CHECK_INT(count(doc, "p", err, sizeof err), 3);
  GS_CHECK_INT(count(doc, "P", err, sizeof err), 3);
  GS_CHECK_INT(count(doc, "*", err, sizeof err), 10); /* html head body div p section p em p c */
  GS_CHECK_INT(count(doc, ".b", err, sizeof err), 2);
  GS_CHECK_INT(count(doc, "div.a.b#main", err, sizeof err), 1);
  GS_CHECK_INT(count(doc, "#main p", err, sizeof err), 2);
  GS_CHECK_INT(count(doc, "#main > p", err, sizeof err), 1);
  GS_CHECK_INT(count(doc, "body>div>section>p>em", err, sizeof err), 1);
  GS_CHECK_INT(count(doc, "div p em", err, sizeof err), 1);
  GS_CHECK_INT(count(doc, "[data-x]", err, sizeof err), 2);
  GS_CHECK_INT(count(doc, "[data-x=\"1\"]", err, sizeof err), 1);
  GS_CHECK_INT(count(doc, "p[ data-x = 'two words' ]", err, sizeof err), 1);
  GS_CHECK_INT(count(doc, "[lang=\"en-GB\"]", err, sizeof err), 1);
  GS_CHECK_INT(count(doc, "[lang=en]", err, sizeof err), 0);
  GS_CHECK_INT(count(doc, "custom-el[foo=Bar]", err, sizeof err), 1);
  GS_CHECK_INT(count(doc, "em, #main , custom-el", err, sizeof err), 3);
  GS_CHECK_INT(count(doc, "section p, p", err, sizeof err), 3); /* each element once */
  GS_CHECK_INT(count(doc, "nav a", err, sizeof err), 0);

  gs_html_selection_t *s = NULL;
  GS_CHECK_INT(gs_html_select(doc, strlen(doc), "section > p", &s, err, sizeof err), 0);
  if (s && s->nelements == 1) {
    GS_CHECK_STR(s->elements[0].tag, "p");
    GS_CHECK_STR(s->elements[0].text, "two 2");
    GS_CHECK_INT(s->elements[0].nattrs, 1);
    GS_CHECK_STR(s->elements[0].attrs[0].name, "lang");
    GS_CHECK_STR(s->elements[0].attrs[0].value, "en-GB");
  } else
    GS_CHECK(0);
  gs_html_selection_free(s);

  static const char *const bad[][2] = {
      {"", "expected a selector at position 1"},
      {"a:hover", "unexpected character at position 2"},
      {"a + b", "unexpected character at position 3"},
      {"a ~ b", "unexpected character at position 3"},
      {"a >", "expected a selector at position 4"},
      {"> a", "unexpected character at position 1"},
      {"a,", "expected a selector at position 3"},
      {".", "expected a name after '.' at position 2"},
      {"#1x", "expected a name after '#' at position 2"},
      {"[x", "expected ']' at position 3"},
      {"[x^=y]", "expected ']' at position 3"},
      {"[x='y]", "unterminated string at position 4"},
      {"[x='a\\'b']", "escapes are not supported at position 4"},
      {"a\\b", "unexpected character at position 2"},
      {"[data-x=1]", "expected an attribute value at position 9"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char want[256];
    snprintf(want, sizeof want, "Invalid selector '%s': %s", bad[i][0], bad[i][1]);
    GS_CHECK_INT(count(doc, bad[i][0], err, sizeof err), GS_EINVAL);
    GS_CHECK_STR(err, want);
  }
  char big[GS_HTML_MAX_COMPOUNDS * 2 + 8] = "";
  for (int i = 0; i <= GS_HTML_MAX_COMPOUNDS; i++)
    strcat(big, "a ");
  GS_CHECK_INT(count(doc, big, err, sizeof err), GS_EINVAL);
}

static void test_structure(void) {
  static const char doc[] =
      "<html lang=\"de\"><head><title>T</title><meta name=\"k\" content=\"v\"></head><body>"
      "<footer id=\"f\"><a href=\"/imprint\">Imprint</a></footer>"
      "<header class=\"top  bar\"><nav><a href=\"/\">Home</a><a href=\"/x\">X</a></nav>"
      "<h3>Three</h3><h2 id=\"hh\">Two</h2></header>"
      "<div class=\"menu\"><a href=\"/m\">M</a><a href=\"/\">Home again</a></div>"
      "<ul id=\"nav\"><li><a href=\"/n\">N</a></li></ul>"
      "<main><article><h1></h1><p>Para</p><a>no href</a>"
      "<a href=\"https://ext.test/\">Ext</a><a href=\"#frag\">F</a></article>"
      "<section><p>\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 long</p></section>"
      "<form id=\"s\" action=\"/search\" method=\"get\"><input name=\"q\" required>"
      "<input type=\"submit\"><select id=\"o\"></select><textarea name=\"t\"></textarea></form>"
      "<form></form></main></body></html>";
  gs_html_structure_opts_t o = {.base_url = "http://site.test/start"};
  gs_html_structure_t *s = NULL;
  GS_CHECK_INT(gs_html_structure(doc, strlen(doc), &o, &s, NULL, 0), 0);
  if (!s)
    return;
  GS_CHECK_STR(s->title, "T");
  GS_CHECK_STR(s->language, "de");
  /* grouped: header, nav, main, article, section, aside, footer */
  GS_CHECK_INT(s->nsections, 6);
  if (s->nsections == 6) {
    const gs_html_section_t *h = &s->sections[0];
    GS_CHECK_STR(h->tag, "header");
    GS_CHECK(h->id == NULL);
    GS_CHECK_INT(h->nclasses, 2);
    GS_CHECK_STR(h->classes[1], "bar");
    GS_CHECK_STR(h->heading, "Two"); /* h2 before h3, whatever the order */
    GS_CHECK_INT(h->links_count, 2);
    GS_CHECK_STR(h->text_preview, "Home X Three Two");
    GS_CHECK_STR(s->sections[1].tag, "nav");
    GS_CHECK(s->sections[1].heading == NULL);
    GS_CHECK_STR(s->sections[2].tag, "main");
    GS_CHECK_INT(s->sections[2].links_count, 3);
    GS_CHECK_STR(s->sections[2].heading, ""); /* the empty h1 counts */
    GS_CHECK_STR(s->sections[3].tag, "article");
    GS_CHECK_STR(s->sections[4].tag, "section");
    GS_CHECK_STR(s->sections[4].text_preview, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 long");
    GS_CHECK_STR(s->sections[5].tag, "footer");
    GS_CHECK_STR(s->sections[5].id, "f");
  }
  /* nav tag first, then class "menu", then id "nav"; de-duplicated */
  GS_CHECK_INT(s->nnavigation, 4);
  if (s->nnavigation == 4) {
    GS_CHECK_STR(s->navigation[0].url, "http://site.test/");
    GS_CHECK_STR(s->navigation[1].url, "http://site.test/x");
    GS_CHECK_STR(s->navigation[2].url, "http://site.test/m");
    GS_CHECK_STR(s->navigation[3].text, "N");
  }
  GS_CHECK_INT(s->ninternal_links, 5);
  GS_CHECK_INT(s->nexternal_links, 1);
  if (s->nexternal_links == 1)
    GS_CHECK_STR(s->external_links[0].url, "https://ext.test/");
  GS_CHECK_INT(s->nforms, 2);
  if (s->nforms == 2) {
    const gs_html_form_t *f = &s->forms[0];
    GS_CHECK_STR(f->id, "s");
    GS_CHECK_STR(f->action, "/search");
    GS_CHECK_STR(f->method, "GET");
    GS_CHECK_INT(f->nfields, 4);
    if (f->nfields == 4) {
      GS_CHECK_STR(f->fields[0].type, "text");
      GS_CHECK_STR(f->fields[0].name, "q");
      GS_CHECK(f->fields[0].required);
      GS_CHECK(f->fields[0].id == NULL);
      GS_CHECK_STR(f->fields[1].type, "submit");
      GS_CHECK(f->fields[1].name == NULL);
      GS_CHECK_STR(f->fields[2].type, "select");
      GS_CHECK_STR(f->fields[2].id, "o");
      GS_CHECK_STR(f->fields[3].type, "textarea");
    }
    GS_CHECK(s->forms[1].id == NULL);
    GS_CHECK_STR(s->forms[1].action, "");
    GS_CHECK_STR(s->forms[1].method, "GET");
    GS_CHECK_INT(s->forms[1].nfields, 0);
  }
  GS_CHECK_INT(s->noutline, 2); /* the empty h1 is left out */
  if (s->noutline == 2) {
    GS_CHECK_INT(s->outline[0].level, 2);
    GS_CHECK_STR(s->outline[0].id, "hh");
    GS_CHECK_STR(s->outline[1].text, "Three");
    GS_CHECK(s->outline[1].id == NULL);
  }
  GS_CHECK_INT(s->nmeta, 1);
  gs_html_structure_free(s);

  o.selector = "header";
  GS_CHECK_INT(gs_html_structure(doc, strlen(doc), &o, &s, NULL, 0), 0);
  if (s) {
    GS_CHECK_STR(s->title, "T");
    GS_CHECK_INT(s->nsections, 1); /* the nav inside; not the header itself */
    GS_CHECK_INT(s->ninternal_links, 2);
    GS_CHECK_INT(s->noutline, 2);
    GS_CHECK_INT(s->nforms, 0);
    GS_CHECK_INT(s->nmeta, 1);
  }
  gs_html_structure_free(s);
  o.selector = "aside";
  char err[128];
  GS_CHECK_INT(gs_html_structure(doc, strlen(doc), &o, &s, err, sizeof err), GS_ENOENT);
  GS_CHECK_STR(err, "Selector 'aside' did not match any elements");
}

static void test_preview_cut(void) {
  char doc[2048] = "<main>";
  for (int i = 0; i < 250; i++)
    strcat(doc, "\xe2\x82\xac"); /* 250 euro signs, 3 bytes each */
  strcat(doc, "</main>");
  gs_html_structure_opts_t o = {0};
  gs_html_structure_t *s = NULL;
  GS_CHECK_INT(gs_html_structure(doc, strlen(doc), &o, &s, NULL, 0), 0);
  if (s && s->nsections == 1) {
    const char *p = s->sections[0].text_preview;
    GS_CHECK_INT(strlen(p), 200 * 3 + 3);
    GS_CHECK(!strcmp(p + 600, "..."));
  } else
    GS_CHECK(0);
  gs_html_structure_free(s);
}

/* Nested elements `depth` deep of tag; every result must come back. */
static void check_deep(const char *tag, size_t depth) {
  size_t tl = strlen(tag);
  char *doc = malloc(depth * (tl + 2) + 64), *p = doc;
  for (size_t i = 0; i < depth; i++) {
    *p++ = '<';
    memcpy(p, tag, tl);
    p += tl;
    *p++ = '>';
  }
  p += sprintf(p, "deep<a href=x>l</a>");
  gs_html_extract_opts_t o = extract_opts();
  gs_html_page_t *pg = NULL;
  GS_CHECK_INT(gs_html_extract(doc, (size_t)(p - doc), &o, &pg, NULL, 0), 0);
  if (pg) {
    GS_CHECK_STR(pg->text, "deep\nl");
    GS_CHECK_INT(pg->nlinks, 1);
  }
  gs_html_page_free(pg);
  gs_html_structure_opts_t so = {.selector = "span span a"};
  gs_html_structure_t *s = NULL;
  GS_CHECK_INT(gs_html_structure(doc, (size_t)(p - doc), &so, &s, NULL, 0),
               strcmp(tag, "span") ? GS_ENOENT : 0);
  gs_html_structure_free(s);
  free(doc);
}

static void test_hostile(void) {
  gs_html_extract_opts_t o = extract_opts();
  gs_html_page_t *pg = NULL;
  GS_CHECK_INT(gs_html_extract("", 0, &o, &pg, NULL, 0), 0);
  if (pg) {
    GS_CHECK_STR(pg->text, "");
    GS_CHECK(pg->title == NULL);
  }
  gs_html_page_free(pg);
  GS_CHECK_INT(gs_html_extract(NULL, 0, &o, &pg, NULL, 0), 0);
  gs_html_page_free(pg);
  GS_CHECK_INT(gs_html_extract(NULL, 1, &o, &pg, NULL, 0), GS_EINVAL);

  static const char nul[] = "<p>a\0b</p><a href=\"x\0y\">\xff\xfe\xc3</a><p>\x80 ok</p><";
  GS_CHECK_INT(gs_html_extract(nul, sizeof nul - 1, &o, &pg, NULL, 0), 0);
  if (pg) /* NUL dropped or replaced, invalid bytes become U+FFFD */
    GS_CHECK(strstr(pg->text, "\xef\xbf\xbd ok") != NULL);
  gs_html_page_free(pg);

  static const char broken[] = "<table><tr><td>a<p>b</table></div></div><b><i>c</b>d</i>"
                               "<!-- open comment <script>e";
  GS_CHECK_INT(gs_html_extract(broken, strlen(broken), &o, &pg, NULL, 0), 0);
  if (pg)
    GS_CHECK_STR(pg->text, "a\nb\nc\nd");
  gs_html_page_free(pg);

  size_t big = 1 << 20;
  char *doc = malloc(big + 64);
  strcpy(doc, "<a title=\"");
  memset(doc + 10, 'x', big);
  strcpy(doc + 10 + big, "\" href=\"/h\">t</a>");
  GS_CHECK_INT(gs_html_extract(doc, strlen(doc), &o, &pg, NULL, 0), 0);
  if (pg && pg->nlinks == 1)
    GS_CHECK_INT(strlen(pg->links[0].title), big);
  else
    GS_CHECK(0);
  gs_html_page_free(pg);
  free(doc);

  check_deep("span", 100000);
  check_deep("div", 20000);   /* gumbo is quadratic in nested blocks */
  check_deep("span", 500000); /* gumbo's own destructor would overflow */
}

/* Unknown tags are named from their source bytes: the names handed out are
 * lower-case UTF-8 (invalid bytes and NUL become U+FFFD) and a long name is
 * cut at a character boundary (found by fuzz/html_fuzz.c). */
static void test_unknown_tag_names(void) {
  static const char odd[] = "<x-\xff"
                            "A\x00"
                            "b>t</x-\xff"
                            "A\x00"
                            "b><y-\xc3\xa9\xed\xa0\x80>u</y-\xc3\xa9>";
  gs_html_selection_t *sel = NULL;
  GS_CHECK_INT(gs_html_select(odd, sizeof odd - 1, "*", &sel, NULL, 0), 0);
  if (sel && sel->nelements == 5) { /* html, head, body and the two */
    GS_CHECK_STR(sel->elements[3].tag, "x-\xef\xbf\xbd"
                                       "a\xef\xbf\xbd"
                                       "b");
    GS_CHECK_STR(sel->elements[4].tag, "y-\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  } else {
    GS_CHECK(0);
  }
  gs_html_selection_free(sel);

  char page[1024] = "<z-";
  for (int i = 0; i < 200; i++)
    strcat(page, "\xc3\xa9"); /* a 402-byte name: longer than the 255 bytes kept */
  strcat(page, ">v");
  GS_CHECK_INT(gs_html_select(page, strlen(page), "*", &sel, NULL, 0), 0);
  if (sel && sel->nelements == 4) {
    const char *tag = sel->elements[3].tag;
    GS_CHECK_INT(strlen(tag), 254); /* "z-" and 126 whole characters */
    GS_CHECK_INT((unsigned char)tag[253], 0xa9);
  } else {
    GS_CHECK(0);
  }
  gs_html_selection_free(sel);
}

int main(void) {
  GS_RUN(test_resolve_url);
  GS_RUN(test_link_urls);
  GS_RUN(test_extract_page);
  GS_RUN(test_extract_options);
  GS_RUN(test_extract_selector);
  GS_RUN(test_selectors);
  GS_RUN(test_structure);
  GS_RUN(test_preview_cut);
  GS_RUN(test_hostile);
  GS_RUN(test_extract_threads);
  GS_RUN(test_unknown_tag_names);
  return gs_test_report();
}
