/* Binding of the page extraction (gs/html.h); the Lua API is gofr_sim/html.lua.
 *
 *   core.html_extract(body, opts) -> page | nil, err_type, message
 *     opts: base_url, selector (strings or nil), filter_noise, include_links,
 *     include_images, include_meta, base_href (booleans, nil = false)
 *   core.html_structure(body, opts) -> s | nil, err_type, message
 *     opts: base_url, selector, base_href
 *   core.html_select(body, selector) -> elements | nil, err_type, message
 *   core.html_resolve_url(base, ref) -> url
 *
 * err_type is gs_err_type(): "invalid_argument" for an invalid selector,
 * "not_found" when it matches nothing, "out_of_memory"; gofr_sim/html.lua
 * turns them into gofr-dig's codes. Every array of the C result becomes a
 * Lua sequence (possibly empty); a NULL string becomes an absent key.
 * Wrong argument types and strings with NUL bytes (other than the body)
 * raise.
 *
 * Ownership: the C result is marshalled by a function run under lua_pcall
 * (pushed before the result exists), then freed here whatever happened, and
 * a marshalling error (out of memory) is raised again afterwards. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/html.h"
#include "lua_bindings.h"

/* Deepest nesting of tables pushed at once, plus a few values. */
#define GS_LHTML_STACK 12

/* Runs the marshalling function below the top (pushed earlier) on result,
 * frees result with free_fn, and returns the table or raises its error. */
static int gs__lhtml_marshal(lua_State *L, void *result, void (*free_fn)(void *)) {
  lua_pushlightuserdata(L, result);
  int st = lua_pcall(L, 1, 1, 0);
  free_fn(result);
  if (st)
    return lua_error(L);
  return 1;
}

static int gs__lhtml_push_page(lua_State *L);
static int gs__lhtml_push_structure(lua_State *L);
static int gs__lhtml_push_selection(lua_State *L);

static void gs__lhtml_free_page(void *p) {
  gs_html_page_free(p);
}
static void gs__lhtml_free_structure(void *p) {
  gs_html_structure_free(p);
}
static void gs__lhtml_free_selection(void *p) {
  gs_html_selection_free(p);
}

/* Argument i as a string without NUL bytes; nil gives NULL when optional. */
static const char *gs__lhtml_str(lua_State *L, int i, const char *fname, const char *what,
                                 int optional) {
  if (optional && lua_isnoneornil(L, i))
    return NULL;
  if (lua_type(L, i) != LUA_TSTRING)
    luaL_error(L, "%s: %s must be a string, got %s", fname, what, luaL_typename(L, i));
  size_t n;
  const char *s = lua_tolstring(L, i, &n);
  if (strlen(s) != n)
    luaL_error(L, "%s: %s must not contain NUL bytes", fname, what);
  return s;
}

/* Field k of the options table at index t (a string or nil); the string
 * stays referenced by the table. */
static const char *gs__lhtml_optstr(lua_State *L, int t, const char *fname, const char *k) {
  lua_getfield(L, t, k);
  const char *s = NULL;
  if (!lua_isnil(L, -1)) {
    char what[64];
    snprintf(what, sizeof what, "option '%s'", k);
    s = gs__lhtml_str(L, lua_gettop(L), fname, what, 0);
  }
  lua_pop(L, 1);
  return s;
}

static int gs__lhtml_optbool(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static void gs__lhtml_setstr(lua_State *L, const char *k, const char *v) {
  if (v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
}

static void gs__lhtml_setint(lua_State *L, const char *k, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void gs__lhtml_setbool(lua_State *L, const char *k, int v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}

static int gs__lhtml_fail(lua_State *L, int rc, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, gs_err_type(rc));
  lua_pushstring(L, msg);
  return 3;
}

/* {url=, text=[, title=, external=]}: with_extra for get_content's links. */
static void gs__lhtml_links(lua_State *L, const gs_html_link_t *v, size_t n, int with_extra) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_createtable(L, 0, 4);
    gs__lhtml_setstr(L, "url", v[i].url);
    gs__lhtml_setstr(L, "text", v[i].text);
    if (with_extra) {
      gs__lhtml_setstr(L, "title", v[i].title);
      gs__lhtml_setbool(L, "external", v[i].external);
    }
    lua_rawseti(L, -2, (int)i + 1);
  }
}

static void gs__lhtml_headings(lua_State *L, const gs_html_heading_t *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_createtable(L, 0, 3);
    gs__lhtml_setint(L, "level", v[i].level);
    gs__lhtml_setstr(L, "text", v[i].text);
    gs__lhtml_setstr(L, "id", v[i].id);
    lua_rawseti(L, -2, (int)i + 1);
  }
}

static void gs__lhtml_meta(lua_State *L, const gs_html_meta_t *v, size_t n) {
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++)
    gs__lhtml_setstr(L, v[i].name, v[i].content);
}

static void gs__lhtml_strings(lua_State *L, char *const *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, v[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
}

/* core.html_extract(body, opts) */
static int gs__lhtml_extract(lua_State *L) {
  static const char fname[] = "html_extract";
  size_t len;
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "%s: body must be a string, got %s", fname, luaL_typename(L, 1));
  const char *body = lua_tolstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TTABLE);
  gs_html_extract_opts_t o = {
      .base_url = gs__lhtml_optstr(L, 2, fname, "base_url"),
      .selector = gs__lhtml_optstr(L, 2, fname, "selector"),
      .filter_noise = gs__lhtml_optbool(L, 2, "filter_noise"),
      .include_links = gs__lhtml_optbool(L, 2, "include_links"),
      .include_images = gs__lhtml_optbool(L, 2, "include_images"),
      .include_meta = gs__lhtml_optbool(L, 2, "include_meta"),
      .base_href = gs__lhtml_optbool(L, 2, "base_href"),
  };
  gs_html_page_t *pg;
  char err[GS_HTML_MAX_SELECTOR + 128];
  lua_pushcfunction(L, gs__lhtml_push_page);
  int rc = gs_html_extract(body, len, &o, &pg, err, sizeof err);
  if (rc)
    return gs__lhtml_fail(L, rc, err);
  return gs__lhtml_marshal(L, pg, gs__lhtml_free_page);
}

/* The page table (run under lua_pcall; argument: the page). */
static int gs__lhtml_push_page(lua_State *L) {
  const gs_html_page_t *pg = lua_touserdata(L, 1);
  luaL_checkstack(L, GS_LHTML_STACK, "html_extract");
  lua_createtable(L, 0, 8);
  gs__lhtml_setstr(L, "title", pg->title);
  gs__lhtml_setstr(L, "language", pg->language);
  gs__lhtml_setstr(L, "text", pg->text);
  gs__lhtml_headings(L, pg->headings, pg->nheadings);
  lua_setfield(L, -2, "headings");
  gs__lhtml_links(L, pg->links, pg->nlinks, 1);
  lua_setfield(L, -2, "links");
  lua_createtable(L, (int)pg->nimages, 0);
  for (size_t i = 0; i < pg->nimages; i++) {
    lua_createtable(L, 0, 2);
    gs__lhtml_setstr(L, "url", pg->images[i].url);
    gs__lhtml_setstr(L, "alt", pg->images[i].alt);
    lua_rawseti(L, -2, (int)i + 1);
  }
  lua_setfield(L, -2, "images");
  gs__lhtml_meta(L, pg->meta, pg->nmeta);
  lua_setfield(L, -2, "meta");
  return 1;
}

static void gs__lhtml_sections(lua_State *L, const gs_html_structure_t *s) {
  lua_createtable(L, (int)s->nsections, 0);
  for (size_t i = 0; i < s->nsections; i++) {
    const gs_html_section_t *sec = &s->sections[i];
    lua_createtable(L, 0, 6);
    gs__lhtml_setstr(L, "tag", sec->tag);
    gs__lhtml_setstr(L, "id", sec->id);
    gs__lhtml_strings(L, sec->classes, sec->nclasses);
    lua_setfield(L, -2, "classes");
    gs__lhtml_setstr(L, "heading", sec->heading);
    gs__lhtml_setint(L, "links_count", (lua_Number)sec->links_count);
    gs__lhtml_setstr(L, "text_preview", sec->text_preview);
    lua_rawseti(L, -2, (int)i + 1);
  }
}

static void gs__lhtml_forms(lua_State *L, const gs_html_structure_t *s) {
  lua_createtable(L, (int)s->nforms, 0);
  for (size_t i = 0; i < s->nforms; i++) {
    const gs_html_form_t *f = &s->forms[i];
    lua_createtable(L, 0, 4);
    gs__lhtml_setstr(L, "id", f->id);
    gs__lhtml_setstr(L, "action", f->action);
    gs__lhtml_setstr(L, "method", f->method);
    lua_createtable(L, (int)f->nfields, 0);
    for (size_t k = 0; k < f->nfields; k++) {
      lua_createtable(L, 0, 4);
      gs__lhtml_setstr(L, "type", f->fields[k].type);
      gs__lhtml_setstr(L, "name", f->fields[k].name);
      gs__lhtml_setstr(L, "id", f->fields[k].id);
      gs__lhtml_setbool(L, "required", f->fields[k].required);
      lua_rawseti(L, -2, (int)k + 1);
    }
    lua_setfield(L, -2, "fields");
    lua_rawseti(L, -2, (int)i + 1);
  }
}

/* core.html_structure(body, opts) */
static int gs__lhtml_structure(lua_State *L) {
  static const char fname[] = "html_structure";
  size_t len;
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "%s: body must be a string, got %s", fname, luaL_typename(L, 1));
  const char *body = lua_tolstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TTABLE);
  gs_html_structure_opts_t o = {
      .base_url = gs__lhtml_optstr(L, 2, fname, "base_url"),
      .selector = gs__lhtml_optstr(L, 2, fname, "selector"),
      .base_href = gs__lhtml_optbool(L, 2, "base_href"),
  };
  gs_html_structure_t *s;
  char err[GS_HTML_MAX_SELECTOR + 128];
  lua_pushcfunction(L, gs__lhtml_push_structure);
  int rc = gs_html_structure(body, len, &o, &s, err, sizeof err);
  if (rc)
    return gs__lhtml_fail(L, rc, err);
  return gs__lhtml_marshal(L, s, gs__lhtml_free_structure);
}

/* The structure table (run under lua_pcall; argument: the structure). */
static int gs__lhtml_push_structure(lua_State *L) {
  const gs_html_structure_t *s = lua_touserdata(L, 1);
  luaL_checkstack(L, GS_LHTML_STACK, "html_structure");
  lua_createtable(L, 0, 10);
  gs__lhtml_setstr(L, "title", s->title);
  gs__lhtml_setstr(L, "language", s->language);
  gs__lhtml_sections(L, s);
  lua_setfield(L, -2, "sections");
  gs__lhtml_links(L, s->navigation, s->nnavigation, 0);
  lua_setfield(L, -2, "navigation");
  gs__lhtml_links(L, s->internal_links, s->ninternal_links, 0);
  lua_setfield(L, -2, "internal_links");
  gs__lhtml_links(L, s->external_links, s->nexternal_links, 0);
  lua_setfield(L, -2, "external_links");
  gs__lhtml_forms(L, s);
  lua_setfield(L, -2, "forms");
  gs__lhtml_headings(L, s->outline, s->noutline);
  lua_setfield(L, -2, "outline");
  gs__lhtml_meta(L, s->meta, s->nmeta);
  lua_setfield(L, -2, "meta");
  return 1;
}

/* core.html_select(body, selector) */
static int gs__lhtml_select(lua_State *L) {
  static const char fname[] = "html_select";
  size_t len;
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "%s: body must be a string, got %s", fname, luaL_typename(L, 1));
  const char *body = lua_tolstring(L, 1, &len);
  const char *selector = gs__lhtml_str(L, 2, fname, "selector", 0);
  gs_html_selection_t *sel;
  char err[GS_HTML_MAX_SELECTOR + 128];
  lua_pushcfunction(L, gs__lhtml_push_selection);
  int rc = gs_html_select(body, len, selector, &sel, err, sizeof err);
  if (rc)
    return gs__lhtml_fail(L, rc, err);
  return gs__lhtml_marshal(L, sel, gs__lhtml_free_selection);
}

/* The elements (run under lua_pcall; argument: the selection). */
static int gs__lhtml_push_selection(lua_State *L) {
  const gs_html_selection_t *sel = lua_touserdata(L, 1);
  luaL_checkstack(L, GS_LHTML_STACK, "html_select");
  lua_createtable(L, (int)sel->nelements, 0);
  for (size_t i = 0; i < sel->nelements; i++) {
    const gs_html_element_t *e = &sel->elements[i];
    lua_createtable(L, 0, 3);
    gs__lhtml_setstr(L, "tag", e->tag);
    gs__lhtml_setstr(L, "text", e->text);
    lua_createtable(L, 0, (int)e->nattrs);
    for (size_t k = 0; k < e->nattrs; k++)
      gs__lhtml_setstr(L, e->attrs[k].name, e->attrs[k].value);
    lua_setfield(L, -2, "attrs");
    lua_rawseti(L, -2, (int)i + 1);
  }
  return 1;
}

/* core.html_resolve_url(base, ref) -> url */
static int gs__lhtml_resolve_url(lua_State *L) {
  static const char fname[] = "html_resolve_url";
  const char *base = gs__lhtml_str(L, 1, fname, "base", 0);
  const char *ref = gs__lhtml_str(L, 2, fname, "ref", 0);
  char *url;
  if (gs_html_resolve_url(base, ref, &url))
    return luaL_error(L, "%s: out of memory", fname);
  lua_pushstring(L, url);
  free(url);
  return 1;
}

void gs_lua_open_html(lua_State *L) {
  static const luaL_Reg fns[] = {{"html_extract", gs__lhtml_extract},
                                 {"html_structure", gs__lhtml_structure},
                                 {"html_select", gs__lhtml_select},
                                 {"html_resolve_url", gs__lhtml_resolve_url},
                                 {NULL, NULL}};
  for (const luaL_Reg *f = fns; f->name; f++) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
}
