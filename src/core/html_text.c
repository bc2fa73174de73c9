/* Text as gofr-dig's Python sees it (html_internal.h): the white space of
 * str.strip(), _extract_text's clean-up, section previews. */
#include "html_internal.h"

#include <string.h>

size_t gs_html_space_at(const unsigned char *s, size_t n) {
  if ((s[0] >= 0x09 && s[0] <= 0x0d) || (s[0] >= 0x1c && s[0] <= 0x20))
    return 1;
  if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
    return 2;
  if (n < 3)
    return 0;
  if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
    return 3;
  if (s[0] == 0xe2 && s[1] == 0x80 &&
      ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
    return 3;
  if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
    return 3;
  if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
    return 3;
  return 0;
}

/* Length of the white-space code point ending at s[n-1], or 0. */
static size_t gs__space_before(const unsigned char *s, size_t n) {
  for (size_t k = 1; k <= 3 && k <= n; k++)
    if (gs_html_space_at(s + n - k, k) == k)
      return k;
  return 0;
}

void gs_html_strip(const char *s, size_t *off, size_t *n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t k;
  while (*n && (k = gs_html_space_at(u + *off, *n))) {
    *off += k;
    *n -= k;
  }
  while (*n && (k = gs__space_before(u + *off, *n)))
    *n -= k;
}

const char *gs_html_next_word(const char **s, size_t *n) {
  const char *p = *s;
  while (*p && strchr(" \t\n\r\f", *p))
    p++;
  size_t k = 0;
  while (p[k] && !strchr(" \t\n\r\f", p[k]))
    k++;
  *s = p + k;
  *n = k;
  return k ? p : NULL;
}

char *gs_html_clean_text(gs_html_pool_t *pool, const char *s) {
  size_t n = strlen(s), o = 0;
  char *r = gs_html_pool_alloc(pool, n + 1);
  if (!r)
    return NULL;
  for (size_t i = 0; i < n;) {
    size_t k = i;
    if (s[i] == '\n') {
      while (k < n && s[k] == '\n')
        k++;
      size_t keep = k - i > 2 ? 2 : k - i;
      memset(r + o, '\n', keep);
      o += keep;
    } else if (s[i] == ' ' || s[i] == '\t') {
      while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
      r[o++] = ' ';
    } else
      r[o++] = s[k++];
    i = k;
  }
  size_t off = 0;
  gs_html_strip(r, &off, &o);
  memmove(r, r + off, o);
  r[o] = '\0';
  return r;
}

char *gs_html_preview(gs_html_pool_t *pool, char *text) {
  size_t cps = 0, i = 0;
  for (; text[i]; i++)
    if (((unsigned char)text[i] & 0xc0) != 0x80 && ++cps > GS_HTML_PREVIEW_CHARS)
      break;
  if (!text[i])
    return text;
  char *s = gs_html_pool_alloc(pool, i + 4);
  if (!s)
    return NULL;
  memcpy(s, text, i);
  memcpy(s + i, "...", 4);
  return s;
}
