/* gofr-dig's noise rules (html_internal.h), from its ContentExtractor: the
 * tags it removes before extracting, the pattern that makes an element
 * ad-like, and the lines of text that are only noise. The patterns are
 * gofr-dig's Python regular expressions written as POSIX EREs; change them
 * here when gofr-dig changes its own (docs/html.md lists what they match). */
#include "html_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

/* ---- the tables ---------------------------------------------------------- */

/* Removed with their content before extraction (get_content without a
 * selector). */
static const GumboTag GS__NOISE_TAGS[] = {GUMBO_TAG_SCRIPT, GUMBO_TAG_STYLE, GUMBO_TAG_NOSCRIPT,
                                          GUMBO_TAG_IFRAME, GUMBO_TAG_SVG,   GUMBO_TAG_CANVAS};

/* Ad-like elements: one of these words at the start of "<classes> <id>" or
 * after '-'/'_', or followed by '-', '_' or the end. */
#define GS__AD_WORDS                                                                               \
  "(ad|ads|advert|advertisement|adslot|ad-slot|ad-container|adsbygoogle|sponsored|sponsor|promo|"  \
  "promotion|banner-ad|dfp|doubleclick|taboola|outbrain)"
static const char GS__AD_RE[] = "(^|[_-])" GS__AD_WORDS "|" GS__AD_WORDS "([_-]|$)";

/* Noise lines (gofr-dig's _filter_noise_text): a whole line, case-insensitive,
 * that is an ad label, a "Video"/"Photos" label or icon name, a share/follow
 * prompt, "Read more" and the like, a related-content heading, a comment
 * prompt, a cookie banner, a newsletter prompt, a skip link, or one to three
 * dashes, bars or bullets. */
#define S "[[:space:]]"
static const char GS__LINE_RE[] =
    "^" S "*(advertisements?|advertise(ment)?s?|sponsored" S "*(content|post|links?)?|ads?"
    "|promoted" S "*(content|stories)?"
    "|multimedia|videos?|slideshow|gallery|photos?|play" S "+video|watch" S "+video"
    "|videocam|photo_camera|play_arrow|play_circle"
    "|[+]?" S "*follow(" S "+us)?|share(" S "+this)?|tweet|email" S "+this|print"
    "|read" S "+more|see" S "+more|show" S "+more|load" S "+more|more" S "+on" S "+this"
    "|related" S "+(stories|articles|topics|posts)|you" S "+may" S "+also" S "+like"
    "|recommended" S "+for" S "+you|comments?|leave" S "+a" S "+comment|post" S "+a" S "+comment"
    "|cookie" S "+(policy|consent|settings|preferences)|accept" S "+(all" S "+)?cookies?"
    "|we" S "+use" S "+cookies|sign" S "+up" S "+(for|to)" S "+(our" S "+)?newsletter"
    "|subscribe" S "+(now|today|for" S "+free)|skip" S "+(to" S "+)?(content|main|navigation)"
    "|(-|\xe2\x80\x93|\xe2\x80\x94|[|]|\xe2\x80\xa2|\xc2\xb7){1,3})" S "*$";
#undef S

/* ---- applying them ------------------------------------------------------- */

bool gs_html_noise_tag(GumboTag t) {
  for (size_t i = 0; i < sizeof GS__NOISE_TAGS / sizeof *GS__NOISE_TAGS; i++)
    if (t == GS__NOISE_TAGS[i])
      return true;
  return false;
}

/* The two patterns compiled, once per thread: glibc's regcomp of them costs
 * more than the rest of an extraction, and its regexec locks the pattern,
 * so threads (--workers) each keep their own. Owned by the thread's key
 * value; freed when the thread exits (the main thread's at process exit). */
typedef struct {
  regex_t ad, line;
} gs__noise_res_t;

static pthread_once_t gs__noise_once = PTHREAD_ONCE_INIT;
static pthread_key_t gs__noise_key;
static int gs__noise_key_ok;

static void gs__noise_res_free(void *p) {
  gs__noise_res_t *r = p;
  regfree(&r->ad);
  regfree(&r->line);
  free(r);
}

static void gs__noise_key_create(void) {
  gs__noise_key_ok = pthread_key_create(&gs__noise_key, gs__noise_res_free) == 0;
}

/* This thread's compiled patterns, or NULL when out of memory. */
static const gs__noise_res_t *gs__noise_res(void) {
  pthread_once(&gs__noise_once, gs__noise_key_create);
  if (!gs__noise_key_ok)
    return NULL;
  gs__noise_res_t *r = pthread_getspecific(gs__noise_key);
  if (r)
    return r;
  if (!(r = malloc(sizeof *r)))
    return NULL;
  const int flags = REG_EXTENDED | REG_ICASE | REG_NOSUB;
  if (regcomp(&r->ad, GS__AD_RE, flags)) {
    free(r);
    return NULL;
  }
  if (regcomp(&r->line, GS__LINE_RE, flags)) {
    regfree(&r->ad);
    free(r);
    return NULL;
  }
  if (pthread_setspecific(gs__noise_key, r)) {
    gs__noise_res_free(r);
    return NULL;
  }
  return r;
}

const regex_t *gs_html_ad_pattern(void) {
  const gs__noise_res_t *r = gs__noise_res();
  return r ? &r->ad : NULL;
}

/* "<classes joined by one space> <id>" into b, as gofr-dig builds it. */
static int gs__ad_subject(gs_buf_t *b, const char *cls, const char *id) {
  int rc = 0;
  const char *s = cls ? cls : "", *word;
  size_t k;
  while (!rc && (word = gs_html_next_word(&s, &k)))
    rc = (b->len ? gs_buf_add(b, " ", 1) : 0) || gs_buf_add(b, word, k) ? GS_ENOMEM : 0;
  if (!rc)
    rc = gs_buf_add(b, " ", 1) || gs_buf_add(b, id ? id : "", id ? strlen(id) : 0) ? GS_ENOMEM : 0;
  return rc;
}

/* Whether s[0..n) is only white space (as Python's str.strip sees ASCII). */
static bool gs__blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strchr(" \t\n\r\f\v", s[i]))
      return false;
  return true;
}

bool gs_html_ad_match(const regex_t *re, const char *cls, const char *id) {
  if (!cls && !id)
    return false;
  gs_buf_t b = {0};
  int rc = gs__ad_subject(&b, cls, id);
  bool hit = !rc && !gs__blank(b.p, b.len) && regexec(re, b.p, 0, NULL, 0) == 0;
  gs_buf_free(&b);
  return hit;
}

/* line with each non-ASCII white-space code point turned into spaces:
 * Python's \s matches Unicode spaces, [[:space:]] only ASCII ones. */
static void gs__ascii_spaces(gs_buf_t *line) {
  for (size_t i = 0, k; i < line->len; i += k ? k : 1)
    if ((k = gs_html_space_at((unsigned char *)line->p + i, line->len - i)) > 1)
      memset(line->p + i, ' ', k);
}

int gs_html_drop_noise_lines(const char *text, gs_buf_t *out) {
  const gs__noise_res_t *res = gs__noise_res();
  if (!res)
    return GS_ENOMEM;
  gs_buf_t line = {0};
  gs_buf_clear(out);
  int rc = gs_buf_add(out, "", 0);
  for (const char *s = text; !rc;) {
    const char *nl = strchr(s, '\n');
    size_t n = nl ? (size_t)(nl - s) : strlen(s);
    gs_buf_clear(&line);
    rc = gs_buf_add(&line, s, n);
    if (!rc)
      gs__ascii_spaces(&line);
    if (!rc && regexec(&res->line, line.p, 0, NULL, 0) != 0)
      rc = gs_buf_add(out, s, n) || gs_buf_add(out, "\n", 1) ? GS_ENOMEM : 0;
    if (!nl)
      break;
    s = nl + 1;
  }
  gs_buf_free(&line);
  return rc;
}
