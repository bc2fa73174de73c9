/* Page obfuscation for recorded fixtures, on gumbo (HTML5 parsing).
 *
 * gs_obfuscate_page rewrites a page so that it can be committed as a test
 * fixture: visible text becomes deterministic lorem text of the same length
 * in characters, e-mail addresses and phone numbers are masked everywhere
 * (text, attributes, scripts, style, comments), personal attribute text is
 * replaced like text, image URLs become a placeholder and dates in text are
 * shifted by one fixed number of days. docs/obfuscation.md has the rules
 * and heuristics.
 *
 * Only the byte ranges that must change are rewritten: gumbo's source
 * positions locate the text nodes and their context, tags are re-read from
 * the source, and every byte not inside a rewritten range (tags, attribute
 * names and order, quoting, comments, doctype, entities, whitespace) is
 * copied unchanged. The output depends only on the input and the options.
 *
 * Input: any bytes (invalid UTF-8 is handled byte by byte). Memory and time
 * are linear in the input apart from gumbo itself; no recursion depends on
 * the document, and the gumbo tree is released without gumbo's recursive
 * destructor.
 *
 * Ownership: *out is malloc'd and NUL-terminated (the terminator is not
 * counted in *out_len); the caller frees it with free(). No function keeps
 * a pointer to its arguments. */
#ifndef GS_OBFUSCATE_H
#define GS_OBFUSCATE_H

#include <stddef.h>

#define GS_OBFUSCATE_DEFAULT_PLACEHOLDER "/_placeholder.png"
/* Largest |date_shift_days| accepted (about 100 years). */
#define GS_OBFUSCATE_MAX_SHIFT_DAYS 36500
/* Longest placeholder_image accepted, in bytes. */
#define GS_OBFUSCATE_MAX_PLACEHOLDER 2048

typedef struct gs_obfuscate_opts {
  const char *seed;              /* lorem stream seed; NULL = "" */
  int date_shift_days;           /* added to every date found in text */
  const char *placeholder_image; /* NULL = GS_OBFUSCATE_DEFAULT_PLACEHOLDER; no white
                                    space, quotes, <, >, &, (, ), comma or backslash */
} gs_obfuscate_opts_t;

/* How much was rewritten; every count is of items actually changed. */
typedef struct gs_obfuscate_stats {
  size_t text_nodes; /* text nodes whose bytes changed */
  size_t emails;     /* e-mail addresses masked */
  size_t phones;     /* phone numbers masked */
  size_t images;     /* image URLs replaced by the placeholder */
  size_t dates;      /* dates shifted */
  size_t attributes; /* attribute values whose bytes changed */
} gs_obfuscate_stats_t;

/* Obfuscates html[0..len) (html may be NULL when len is 0). On success
 * returns 0 with *out / *out_len set (see Ownership) and *stats filled when
 * stats is not NULL. Returns GS_EINVAL for a NULL out / out_len or a bad
 * option (reason naming it in errbuf), GS_ENOMEM. errbuf (errlen bytes, may
 * be NULL/0) gets "" on success. */
int gs_obfuscate_page(const char *html, size_t len, const gs_obfuscate_opts_t *opts, char **out,
                      size_t *out_len, gs_obfuscate_stats_t *stats, char *errbuf, size_t errlen);

/* The shift a recording uses when none is given: 1..365 days, derived from
 * seed (NULL = ""), so one seed always gives the same shift. */
int gs_obfuscate_default_shift(const char *seed);

#endif
