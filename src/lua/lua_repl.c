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
 * takes no context, so there is one terminal per process (gs_repl_active). */
#include <lauxlib.h>
#include <lua.h>

#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua_runtime.h"

enum gs_repl_outcome { GS_REPL_NONE, GS_REPL_LINE, GS_REPL_EOF, GS_REPL_INTERRUPT, GS_REPL_TERM };

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

/* term:add_history(line): remembers a line and rewrites the history file
 * (so it survives a kill). Terminal input only. */
static int gs__lrepl_add_history(lua_State *L) {
  gs_repl_t *r = gs__repl_check(L);
  const char *line = luaL_checkstring(L, 2);
  if (r->tty && *line) {
    add_history(line);
    if (r->history)
      write_history(r->history);
  }
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
  gs__repl_unguard(L, r);
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
    read_history(r->history);
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
  r->guard_ref = LUA_NOREF;
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
