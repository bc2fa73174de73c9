/* gofr_sim.repl_core: the terminal of `gofr-sim repl` (policy in
 * lua/gofr_sim/repl.lua). Linked into the gofr-sim executable only, which
 * registers it in package.preload: the gofr_sim.core module does not link
 * libedit.
 *
 * Reading a line never blocks the loop. On a terminal, libedit's
 * readline-compatible callback interface does the editing: term:read()
 * installs the prompt (rl_callback_handler_install prints it and puts the
 * terminal in raw mode), a uv_poll_t on standard input feeds it one key at a
 * time (rl_callback_read_char), and the finished line wakes the reading
 * persona. libedit returns the terminal to cooked mode when a line is done,
 * so while an input runs Ctrl-C is an ordinary SIGINT. When standard input
 * is not a terminal, lines are split from plain reads: no editing, no
 * prompt, no history.
 *
 * Signals are the REPL's own (the command does not call
 * core.handle_signals): SIGINT at the prompt discards the line (term:read
 * returns nil, "interrupt"); during an input it aborts the persona given to
 * term:guard(), whose pending operation's cleanup cancels its I/O. SIGTERM
 * aborts the guarded persona and ends reading (nil, "terminate").
 *
 * Ownership: the state is malloc'd; the userdata points to it. term:close()
 * (or __gc) closes the libuv handles, whose last close callback frees it.
 * libedit's readline interface is process-global and its line callback
 * takes no context, so there is one terminal per process (gs_repl_active).
 *
 * Tab completion asks Lua: term:set_completer(fn) gives a function that
 * takes the word before the cursor and returns a list of candidates. It is
 * called synchronously from the key handler, on a thread of its own, under
 * lua_pcall (an error or a yield means no candidates), and at most
 * GS_REPL_MAX_MATCHES candidates are taken.
 *
 * Ctrl-R is our own reverse incremental search: libedit's em-inc-search-prev
 * reads its keys itself, which fails on the non-blocking standard input of
 * the callback interface (it showed "bck:", returned that junk as the line
 * and put it in the history). Here Ctrl-R starts a search state, and the
 * keys that follow are read by the poll callback and handled here, one at a
 * time, until a key ends it; that key then goes on to libedit.
 *
 * The history never holds control bytes (other than tab): such lines are
 * not added, and are dropped when an existing history file is loaded. */
#include <lauxlib.h>
#include <lua.h>

#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lua_runtime.h"

enum gs_repl_outcome { GS_REPL_NONE, GS_REPL_LINE, GS_REPL_EOF, GS_REPL_INTERRUPT, GS_REPL_TERM };

#define GS_REPL_MAX_MATCHES 200 /* completion candidates taken from Lua */
#define GS_REPL_PATTERN_MAX 256 /* bytes of a Ctrl-R search pattern */
#define GS_REPL_CTRL(c) ((c)&0x1f)

typedef struct {
  uv_poll_t poll;
  uv_signal_t sigint, sigterm, sigwinch;
  int nopen;    /* handles not yet closed; the last close callback frees */
  int tty;      /* standard input is a terminal: libedit edits */
  int pollable; /* uv_poll works on standard input (not a regular file) */
  int closed;
  int terminated; /* SIGTERM came during an input: the next read ends the REPL */
  char *history;  /* history file (malloc'd), NULL for none */
  /* the pending read: its persona, how it ended, the line (malloc'd) */
  gs_persona_t *reader;
  enum gs_repl_outcome outcome;
  char *line;
  /* the persona SIGINT aborts, and the registry ref anchoring its handle */
  gs_persona_t *guarded;
  int guard_ref;
  /* non-terminal input not yet returned as lines */
  char *pending;
  size_t npending;
  int input_eof;
  int stdin_flags; /* fcntl flags of standard input before uv_poll_init made it
                      non-blocking: restored at close (the shell shares them) */
  /* completion: the Lua function and the thread it runs on (registry refs) */
  lua_State *cthread;
  int complete_ref, cthread_ref;
  /* Ctrl-R: searching, the pattern, the matching history entry (an index
   * into history_list(), oldest first; -1: none yet), whether the last
   * step found nothing */
  int searching, search_match, search_failed;
  size_t search_npat;
  char search_pat[GS_REPL_PATTERN_MAX];
} gs_repl_t;

static const char *const GS_REPL_MT = "gofr_sim.repl_terminal";
static gs_repl_t *gs_repl_active;

/* ---- ending a read ------------------------------------------------------ */

/* Records how the pending read ended and queues its persona. */
static void gs__repl_finish_read(gs_repl_t *r, enum gs_repl_outcome outcome, char *line) {
  if (r->pollable)
    uv_poll_stop(&r->poll);
  r->outcome = outcome;
  r->line = line;
  gs_persona_wake(r->reader);
}

/* libedit's line callback: line is malloc'd (ours now), NULL at end of input. */
static void gs__repl_on_line(char *line) {
  gs_repl_t *r = gs_repl_active;
  rl_callback_handler_remove();
  if (!r || !r->reader || r->outcome != GS_REPL_NONE) {
    free(line);
    return;
  }
  if (!line)
    fputc('\n', rl_outstream ? rl_outstream : stdout); /* the shell starts on a new line */
  gs__repl_finish_read(r, line ? GS_REPL_LINE : GS_REPL_EOF, line);
}

/* ---- Ctrl-R: reverse incremental search --------------------------------- */

static FILE *gs__repl_out(void) {
  return rl_outstream ? rl_outstream : stdout;
}

/* The text of history entry i (0 = oldest), or NULL. */
static const char *gs__repl_history_at(int i) {
  HIST_ENTRY **list = i >= 0 && i < history_length ? history_list() : NULL;
  return list && list[i] ? list[i]->line : NULL;
}

/* The newest entry at index <= from that contains the pattern and is not
 * the text `skip` (the current match, when searching further back): its
 * index, or -1. */
static int gs__repl_search_from(gs_repl_t *r, int from, const char *skip) {
  HIST_ENTRY **list = history_list();
  if (!list)
    return -1;
  r->search_pat[r->search_npat] = '\0';
  if (from >= history_length)
    from = history_length - 1;
  for (int i = from; i >= 0; i--) {
    const char *line = list[i] ? list[i]->line : NULL;
    if (line && strstr(line, r->search_pat) && !(skip && strcmp(line, skip) == 0))
      return i;
  }
  return -1;
}

/* Draws the search line over the prompt's line: readline's
 * "(reverse-i-search)`pattern': match", cut to the terminal's width. */
static void gs__repl_search_draw(gs_repl_t *r) {
  FILE *out = gs__repl_out();
  const char *match = gs__repl_history_at(r->search_match);
  int rows = 0, cols = 0;
  rl_get_screen_size(&rows, &cols);
  int used = fprintf(out, "\r\033[K(%sreverse-i-search)`%.*s': ", r->search_failed ? "failed " : "",
                     (int)r->search_npat, r->search_pat);
  if (match) {
    size_t room = cols > used + 1 ? (size_t)(cols - used - 1) : 0, len = strlen(match);
    fwrite(match, 1, len < room ? len : room, out);
  }
  fflush(out);
}

/* Bound to Ctrl-R (libedit calls it while it reads a key). */
static int gs__repl_search_start(int count, int key) {
  gs_repl_t *r = gs_repl_active;
  (void)count;
  (void)key;
  if (!r || !r->reader)
    return 0;
  r->searching = 1;
  r->search_match = -1;
  r->search_failed = 0;
  r->search_npat = 0;
  gs__repl_search_draw(r);
  return 0;
}

/* Ends the search: with accept, the line becomes the match (cursor at its
 * end); libedit redraws the prompt and line; then `key` (unless < 0) goes
 * on to libedit as if typed now. */
static void gs__repl_search_end(gs_repl_t *r, int accept, int key) {
  const char *match = accept ? gs__repl_history_at(r->search_match) : NULL;
  r->searching = 0;
  fputs("\r\033[K", gs__repl_out());
  if (match && *match)
    rl_replace_line(match, 0);
  rl_forced_update_display();
  /* rl_insert queues keys ahead of the terminal's: libedit reads them first,
   * in the order queued */
  int feed = 0;
  if (match && *match) {
    rl_insert(1, GS_REPL_CTRL('E')); /* ed-move-to-end */
    feed++;
  }
  if (key > 0) {
    rl_insert(1, key);
    feed++;
  }
  for (int i = 0; i < feed && r->reader && r->outcome == GS_REPL_NONE && !r->searching; i++)
    rl_callback_read_char();
}

/* One key typed while searching. */
static void gs__repl_search_key(gs_repl_t *r) {
  unsigned char c;
  ssize_t n;
  do
    n = read(STDIN_FILENO, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (n <= 0) { /* the terminal is gone: libedit sees the end next time */
    gs__repl_search_end(r, 0, -1);
    return;
  }
  int from = r->search_match >= 0 ? r->search_match : history_length - 1;
  if (c == GS_REPL_CTRL('R')) { /* the next older match */
    const char *current = gs__repl_history_at(r->search_match);
    int i = gs__repl_search_from(r, r->search_match >= 0 ? r->search_match - 1 : from, current);
    r->search_failed = i < 0;
    if (i >= 0)
      r->search_match = i;
  } else if (c == 0x7f || c == GS_REPL_CTRL('H')) { /* a character less: search again */
    while (r->search_npat && (r->search_pat[r->search_npat - 1] & 0xc0) == 0x80)
      r->search_npat--; /* a UTF-8 continuation byte */
    if (r->search_npat)
      r->search_npat--;
    r->search_match = r->search_npat ? gs__repl_search_from(r, history_length - 1, NULL) : -1;
    r->search_failed = r->search_npat && r->search_match < 0;
  } else if (c == GS_REPL_CTRL('G')) { /* abort: the line as it was */
    gs__repl_search_end(r, 0, -1);
    return;
  } else if (c == '\r' || c == '\n') {
    gs__repl_search_end(r, 1, '\r');
    return;
  } else if (c == 033) { /* Escape, or the start of an arrow's sequence: goes on */
    int waiting = 0;
    ioctl(STDIN_FILENO, FIONREAD, &waiting);
    gs__repl_search_end(r, 1, waiting > 0 ? 033 : -1);
    return;
  } else if (c < 0x20) { /* any other control key ends the search and acts */
    gs__repl_search_end(r, 1, c);
    return;
  } else if (r->search_npat + 1 < sizeof r->search_pat) {
    r->search_pat[r->search_npat++] = (char)c;
    int i = gs__repl_search_from(r, from, NULL);
    r->search_failed = i < 0;
    if (i >= 0)
      r->search_match = i;
  }
  gs__repl_search_draw(r);
}

/* ---- completion --------------------------------------------------------- */

/* The candidates of the completion under way, handed to libedit one by one. */
static char *gs_repl_cands[GS_REPL_MAX_MATCHES];
static int gs_repl_ncands, gs_repl_next;

static char *gs__repl_generate(const char *text, int state) {
  (void)text;
  if (state == 0)
    gs_repl_next = 0;
  if (gs_repl_next >= gs_repl_ncands)
    return NULL;
  char *c = gs_repl_cands[gs_repl_next];
  gs_repl_cands[gs_repl_next++] = NULL; /* libedit frees it */
  return c;
}

/* rl_attempted_completion_function: the Lua completer's candidates for the
 * word before the cursor (never libedit's file names). */
static char **gs__repl_complete(const char *text, int start, int end) {
  gs_repl_t *r = gs_repl_active;
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1;
  if (!r || !r->cthread || r->complete_ref == LUA_NOREF)
    return NULL;
  lua_State *T = r->cthread;
  lua_settop(T, 0);
  lua_rawgeti(T, LUA_REGISTRYINDEX, r->complete_ref);
  lua_pushstring(T, text);
  gs_repl_ncands = 0;
  if (lua_pcall(T, 1, 1, 0) == 0 && lua_istable(T, -1)) {
    for (int i = 1; gs_repl_ncands < GS_REPL_MAX_MATCHES; i++) {
      lua_rawgeti(T, -1, i);
      const char *c = lua_type(T, -1) == LUA_TSTRING ? lua_tostring(T, -1) : NULL;
      char *copy = c ? strdup(c) : NULL;
      lua_pop(T, 1);
      if (!copy)
        break;
      gs_repl_cands[gs_repl_ncands++] = copy;
    }
  }
  lua_settop(T, 0);
  char **matches = gs_repl_ncands ? rl_completion_matches(text, gs__repl_generate) : NULL;
  for (int i = gs_repl_next; i < gs_repl_ncands; i++)
    free(gs_repl_cands[i]); /* not taken (rl_completion_matches failed) */
  gs_repl_ncands = gs_repl_next = 0;
  return matches;
}

static void gs__repl_uncomplete(lua_State *L, gs_repl_t *r) {
  if (r->complete_ref != LUA_NOREF)
    luaL_unref(L, LUA_REGISTRYINDEX, r->complete_ref);
  if (r->cthread_ref != LUA_NOREF)
    luaL_unref(L, LUA_REGISTRYINDEX, r->cthread_ref);
  r->complete_ref = r->cthread_ref = LUA_NOREF;
  r->cthread = NULL;
}

/* ---- plain (non-terminal) input ----------------------------------------- */

/* Takes the first complete line of r->pending (or, at end of input, what is
 * left); returns it malloc'd, or NULL when there is none yet. */
static char *gs__repl_take_line(gs_repl_t *r) {
  char *nl = r->npending ? memchr(r->pending, '\n', r->npending) : NULL;
  size_t len = nl ? (size_t)(nl - r->pending) : r->npending;
  if (!nl && !(r->input_eof && len > 0))
    return NULL;
  char *line = malloc(len + 1);
  if (!line)
    return NULL;
  memcpy(line, r->pending, len);
  line[len] = '\0';
  if (len && line[len - 1] == '\r')
    line[len - 1] = '\0';
  size_t used = nl ? len + 1 : len;
  memmove(r->pending, r->pending + used, r->npending - used);
  r->npending -= used;
  return line;
}

/* Appends one read() of standard input to r->pending; sets input_eof at
 * the end of input or on an error. */
static void gs__repl_fill(gs_repl_t *r) {
  char buf[4096];
  ssize_t n;
  do
    n = read(STDIN_FILENO, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (n <= 0) {
    r->input_eof = 1;
    return;
  }
  char *grown = realloc(r->pending, r->npending + (size_t)n);
  if (!grown) {
    r->input_eof = 1;
    return;
  }
  memcpy(grown + r->npending, buf, (size_t)n);
  r->pending = grown;
  r->npending += (size_t)n;
}

/* Ends the pending plain read if a line (or the end) is available. */
static void gs__repl_try_plain(gs_repl_t *r) {
  char *line = gs__repl_take_line(r);
  if (line)
    gs__repl_finish_read(r, GS_REPL_LINE, line);
  else if (r->input_eof)
    gs__repl_finish_read(r, GS_REPL_EOF, NULL);
}

static void gs__repl_readable(uv_poll_t *h, int status, int events) {
  gs_repl_t *r = h->data;
  if (!r->reader || r->outcome != GS_REPL_NONE)
    return;
  if (r->tty) {
    if (r->searching)
      gs__repl_search_key(r);
    else
      rl_callback_read_char();
    return;
  }
  gs__repl_fill(r);
  gs__repl_try_plain(r);
}

/* ---- the read operation ------------------------------------------------- */

static int gs__repl_read_retvals(lua_State *co, void *data) {
  gs_repl_t *r = data;
  static const char *const why[] = {"", "", "eof", "interrupt", "terminate"};
  int n = 1;
  if (r->outcome == GS_REPL_LINE) {
    lua_pushstring(co, r->line);
  } else {
    lua_pushnil(co);
    lua_pushstring(co, why[r->outcome]);
    n = 2;
  }
  free(r->line);
  r->line = NULL;
  r->reader = NULL;
  return n;
}

/* The reader was aborted (the run is torn down): stop reading, give the
 * terminal back its cooked mode. */
static void gs__repl_read_cleanup(void *data) {
  gs_repl_t *r = data;
  if (r->pollable && !r->closed)
    uv_poll_stop(&r->poll);
  if (r->tty)
    rl_callback_handler_remove();
  r->searching = 0;
  free(r->line);
  r->line = NULL;
  r->reader = NULL;
}

static const gs_op_type_t gs_repl_read_op = {"term:read", gs__repl_read_retvals,
                                             gs__repl_read_cleanup};

static gs_repl_t *gs__repl_check(lua_State *L) {
  gs_repl_t **ud = luaL_checkudata(L, 1, GS_REPL_MT);
  if (!*ud || (*ud)->closed)
    luaL_error(L, "term: the terminal is closed");
  return *ud;
}

/* Plain input already buffered (or a regular file, whose read() does not
 * block): pushes term:read's results and returns how many, or returns 0
 * when the read must wait for the poll. */
static int gs__repl_read_now(lua_State *L, gs_repl_t *r) {
  char *line;
  while (!(line = gs__repl_take_line(r)) && !r->input_eof && !r->pollable)
    gs__repl_fill(r);
  if (line) {
    lua_pushstring(L, line);
    free(line);
    return 1;
  }
  if (!r->input_eof)
    return 0;
  lua_pushnil(L);
  lua_pushliteral(L, "eof");
  return 2;
}

/* term:read(prompt) -> line | nil, "eof"|"interrupt"|"terminate". Yields
 * the calling persona until a line is entered; the loop turns meanwhile.
 * The prompt is shown on a terminal only. */
static int gs__lrepl_read(lua_State *L) {
  gs_repl_t *r = gs__repl_check(L);
  const char *prompt = luaL_optstring(L, 2, "> ");
  if (r->reader)
    return luaL_error(L, "term:read: a read is already pending");
  if (r->terminated) {
    lua_pushnil(L);
    lua_pushliteral(L, "terminate");
    return 2;
  }
  gs_persona_t *p = gs_persona_current(L, "term:read");
  int n = r->tty ? 0 : gs__repl_read_now(L, r);
  if (n)
    return n;
  r->reader = p;
  r->outcome = GS_REPL_NONE;
  if (r->tty) {
    fflush(stdout);
    rl_callback_handler_install(prompt, gs__repl_on_line);
  }
  uv_poll_start(&r->poll, UV_READABLE, gs__repl_readable);
  return gs_persona_yield(L, p, &gs_repl_read_op, r);
}

/* ---- guard and signals -------------------------------------------------- */

static void gs__repl_unguard(lua_State *L, gs_repl_t *r) {
  if (r->guard_ref != LUA_NOREF)
    luaL_unref(L, LUA_REGISTRYINDEX, r->guard_ref);
  r->guard_ref = LUA_NOREF;
  r->guarded = NULL;
}

/* term:guard(handle|nil): the persona a SIGINT aborts from now on (nil: none). */
static int gs__lrepl_guard(lua_State *L) {
  gs_repl_t *r = gs__repl_check(L);
  gs__repl_unguard(L, r);
  if (!lua_isnoneornil(L, 2)) {
    r->guarded = gs_persona_check(L, 2);
    lua_pushvalue(L, 2);
    r->guard_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return 0;
}

static void gs__repl_on_signal(uv_signal_t *h, int signum) {
  gs_repl_t *r = h->data;
  if (r->reader && r->outcome == GS_REPL_NONE) {
    r->searching = 0;
    if (r->tty) {
      rl_callback_handler_remove();
      fputs(signum == SIGINT ? "^C\n" : "\n", rl_outstream ? rl_outstream : stdout);
      fflush(rl_outstream ? rl_outstream : stdout);
    }
    gs__repl_finish_read(r, signum == SIGINT ? GS_REPL_INTERRUPT : GS_REPL_TERM, NULL);
    return;
  }
  if (signum == SIGTERM)
    r->terminated = 1;
  if (r->guarded)
    gs_persona_abort_live(r->guarded);
}

static void gs__repl_on_winch(uv_signal_t *h, int signum) {
  rl_resize_terminal();
}

/* ---- history ------------------------------------------------------------ */

/* Whether a line may enter the history: no control bytes but tab. */
static int gs__repl_history_ok(const char *line, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)line[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return 0;
  }
  return 1;
}

/* term:add_history(line) -> whether it was added: remembers a line and
 * rewrites the history file (so it survives a kill). Terminal input only;
 * empty lines and lines with control bytes (other than tab) are not kept. */
static int gs__lrepl_add_history(lua_State *L) {
  gs_repl_t *r = gs__repl_check(L);
  size_t len;
  const char *line = luaL_checklstring(L, 2, &len);
  int ok = r->tty && len && gs__repl_history_ok(line, len);
  if (ok) {
    add_history(line);
    if (r->history)
      write_history(r->history);
  }
  lua_pushboolean(L, ok);
  return 1;
}

/* Loads the history file, without the entries that hold control bytes (an
 * older version wrote Ctrl-R's junk there); rewrites it when it had some. */
static void gs__repl_load_history(const char *file) {
  if (read_history(file) != 0)
    return;
  HIST_ENTRY **list = history_list();
  int n = history_length, bad = 0;
  for (int i = 0; list && i < n; i++)
    if (!list[i] || !list[i]->line || !gs__repl_history_ok(list[i]->line, strlen(list[i]->line)))
      bad++;
  if (!bad)
    return;
  char **keep = calloc((size_t)n, sizeof *keep);
  int nkeep = 0;
  for (int i = 0; keep && i < n; i++) {
    const char *line = list[i] ? list[i]->line : NULL;
    if (line && gs__repl_history_ok(line, strlen(line)) && (keep[nkeep] = strdup(line)))
      nkeep++;
  }
  if (!keep)
    return;
  clear_history();
  for (int i = 0; i < nkeep; i++) {
    add_history(keep[i]);
    free(keep[i]);
  }
  free(keep);
  write_history(file);
}

/* term:set_completer(fn|nil): Tab completes the word before the cursor with
 * the strings fn(word) returns (a list; each a whole replacement for the
 * word). fn runs synchronously while a key is handled: it must not yield
 * (an error or a yield gives no candidates); at most GS_REPL_MAX_MATCHES are
 * taken. */
static int gs__lrepl_set_completer(lua_State *L) {
  gs_repl_t *r = gs__repl_check(L);
  if (!lua_isnoneornil(L, 2))
    luaL_checktype(L, 2, LUA_TFUNCTION);
  gs__repl_uncomplete(L, r);
  if (lua_isnoneornil(L, 2))
    return 0;
  lua_pushvalue(L, 2);
  r->complete_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  r->cthread = lua_newthread(L);
  r->cthread_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/* term:is_tty() -> whether standard input is a terminal (line editing on). */
static int gs__lrepl_is_tty(lua_State *L) {
  lua_pushboolean(L, gs__repl_check(L)->tty);
  return 1;
}

/* ---- lifetime ----------------------------------------------------------- */

static void gs__repl_on_close(uv_handle_t *h) {
  gs_repl_t *r = h->data;
  if (--r->nopen > 0)
    return;
  free(r->history);
  free(r->pending);
  free(r);
}

static void gs__repl_close(lua_State *L, gs_repl_t *r) {
  if (r->closed)
    return;
  r->closed = 1;
  if (r->tty)
    rl_callback_handler_remove();
  r->searching = 0;
  gs__repl_unguard(L, r);
  gs__repl_uncomplete(L, r);
  if (gs_repl_active == r)
    gs_repl_active = NULL;
  uv_close((uv_handle_t *)&r->sigint, gs__repl_on_close);
  uv_close((uv_handle_t *)&r->sigterm, gs__repl_on_close);
  uv_close((uv_handle_t *)&r->sigwinch, gs__repl_on_close);
  if (r->pollable) {
    uv_close((uv_handle_t *)&r->poll, gs__repl_on_close);
    if (r->stdin_flags >= 0)
      fcntl(STDIN_FILENO, F_SETFL, r->stdin_flags);
  }
}

/* term:close(): stops reading and signal handling; the terminal is cooked. */
static int gs__lrepl_close(lua_State *L) {
  gs_repl_t **ud = luaL_checkudata(L, 1, GS_REPL_MT);
  if (*ud && (*ud)->reader)
    return luaL_error(L, "term:close: a read is pending");
  if (*ud)
    gs__repl_close(L, *ud);
  return 0;
}

static int gs__lrepl_gc(lua_State *L) {
  gs_repl_t **ud = lua_touserdata(L, 1);
  /* With a read pending (the state is closing while its REPL persona is
   * suspended) the read's cleanup still needs r: leave it to the runtime's
   * teardown, which aborts the reader and closes every handle. */
  if (*ud && !(*ud)->reader)
    gs__repl_close(L, *ud);
  *ud = NULL;
  return 0;
}

static void gs__repl_start_signal(gs_repl_t *r, uv_loop_t *loop, uv_signal_t *s, uv_signal_cb cb,
                                  int signum) {
  uv_signal_init(loop, s);
  s->data = r;
  uv_signal_start(s, cb, signum);
  r->nopen++;
}

/* libedit for the terminal: its own signal handlers stay out (they would
 * re-raise SIGINT to the whole process group), the history is bounded. */
static void gs__repl_init_editing(gs_repl_t *r, int history_size) {
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  rl_readline_name = "gofr-sim";
  rl_initialize();
  using_history();
  stifle_history(history_size);
  if (r->history)
    gs__repl_load_history(r->history);
  /* completion: Lua's names, a word runs through '.' and ':', no appended
   * space (a name goes on with '.', ':' or '('), never the "Display all?"
   * question (it would read the answer with a blocking getc) */
  rl_attempted_completion_function = gs__repl_complete;
  rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{}()[],+-*/%^#~";
  rl_completion_append_character = '\0';
  rl_completion_query_items = GS_REPL_MAX_MATCHES + 1;
  rl_add_defun("gofr-sim-search-back", gs__repl_search_start, GS_REPL_CTRL('R'));
}

/* repl_core.open{history = FILE|nil, history_size = 1000} -> terminal.
 * SIGINT keeps the loop alive while the terminal is open (the REPL waits
 * for it), so an input stuck with nothing pending can still be cancelled. */
static int gs__lrepl_open(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "history");
  const char *history = luaL_optstring(L, -1, NULL);
  lua_getfield(L, 1, "history_size");
  int history_size = (int)luaL_optinteger(L, -1, 1000);
  if (gs_repl_active)
    return luaL_error(L, "repl_core.open: a terminal is already open");
  gs_repl_t **ud = lua_newuserdata(L, sizeof *ud);
  *ud = NULL;
  luaL_getmetatable(L, GS_REPL_MT);
  lua_setmetatable(L, -2);
  gs_repl_t *r = calloc(1, sizeof *r);
  if (!r || (history && !(r->history = strdup(history)))) {
    free(r);
    return luaL_error(L, "repl_core.open: out of memory");
  }
  *ud = r;
  r->guard_ref = r->complete_ref = r->cthread_ref = LUA_NOREF;
  uv_loop_t *loop = &gs_runtime_worker(gs_runtime_get(L))->loop;
  r->stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
  r->pollable = uv_poll_init(loop, &r->poll, STDIN_FILENO) == 0;
  if (r->pollable) {
    r->poll.data = r;
    r->nopen++;
  }
  r->tty = r->pollable && isatty(STDIN_FILENO);
  gs__repl_start_signal(r, loop, &r->sigint, gs__repl_on_signal, SIGINT);
  gs__repl_start_signal(r, loop, &r->sigterm, gs__repl_on_signal, SIGTERM);
  gs__repl_start_signal(r, loop, &r->sigwinch, gs__repl_on_winch, SIGWINCH);
  uv_unref((uv_handle_t *)&r->sigterm);
  uv_unref((uv_handle_t *)&r->sigwinch);
  if (r->tty)
    gs__repl_init_editing(r, history_size);
  gs_repl_active = r;
  return 1;
}

LUALIB_API int luaopen_gofr_sim_repl_core(lua_State *L);

LUALIB_API int luaopen_gofr_sim_repl_core(lua_State *L) {
  if (luaL_newmetatable(L, GS_REPL_MT)) {
    static const luaL_Reg methods[] = {{"read", gs__lrepl_read},
                                       {"guard", gs__lrepl_guard},
                                       {"add_history", gs__lrepl_add_history},
                                       {"set_completer", gs__lrepl_set_completer},
                                       {"is_tty", gs__lrepl_is_tty},
                                       {"close", gs__lrepl_close},
                                       {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gs__lrepl_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, gs__lrepl_open);
  lua_setfield(L, -2, "open");
  return 1;
}
