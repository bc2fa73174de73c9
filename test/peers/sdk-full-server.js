// MCP test peer with every client-facing feature of MCP 2025-11-25, for the
// client's specs: the official TypeScript SDK's low-level Server (full control
// over pagination and tool results) behind StreamableHTTPServerTransport on
// 127.0.0.1 (endpoint /mcp, stateful sessions, in-memory event store) or
// StdioServerTransport.
//
//   node sdk-full-server.js [--stdio] [--port-file FILE] [--parent PID] [--json]
//                           [--retry MS] [--keepalive MS] [--verbose]
//
//   --stdio       JSON-RPC on stdin/stdout (logs on stderr only); exits when
//                 stdin closes
//   --port-file   HTTP: listens on a free port, writes it to FILE once ready
//   --parent      exits when that process is gone (no orphans after a crash)
//   --json        HTTP: answer POSTs with application/json (enableJsonResponse)
//   --retry       HTTP: the retry field of priming events, ms (default 200)
//   --keepalive   HTTP: ": keepalive" comment interval on SSE streams, ms
//                 (the SDK's default 15000; 0 disables)
//   --verbose     transport/protocol errors on stderr
//
// HTTP sessions keep an event store: every SSE event has an id
// ("<stream id>/<n>"), each POST stream starts with a priming event
// ("id: ..\nretry: ..\ndata: \n\n", when MCP-Protocol-Version >= 2025-11-25),
// and GET with Last-Event-ID replays the rest of that stream (400 for an
// unknown id, 409 while that stream is still open). One standalone GET stream
// per session (409 for a second one).
//
// Server->client messages of a tool go on the tool call's POST stream
// ("via":"post", the default with SSE) or on the standalone GET stream
// ("via":"get", the default with --json, where a POST answer cannot carry
// them). List methods paginate (tools 8, resources 10, prompts 5 a page;
// cursors are opaque, "o<offset>"; a bad one is -32602).
//
// Tools (a wrong argument is an isError result, an unknown tool -32602):
//   echo {text}                the text
//   elicit {message?}          elicitation/create, form mode, requestedSchema
//                              name "Ada", age 36, ok true, color red|green
//                              "green" (the defaults) -> {"action","content"}
//                              (content null unless sent)
//   sample {prompt, max_tokens?}  sampling/createMessage -> its result as JSON
//   roots                      roots/list -> its result as JSON
//   ping_client                ping -> "pong" once answered
//   progress {steps=3, ms=10}  with _meta.progressToken: steps
//                              notifications/progress {progressToken (as
//                              sent), progress i, total steps, message
//                              "step i"} ms apart, "done" ms after the last;
//                              without a token just "done"
//   log {level=info, count=1}  count notifications/message {level, logger
//                              "sdk-full-server", data "log i of count"},
//                              those below the logging/setLevel level
//                              dropped -> "logged"
//   notify_changed             tools, resources, prompts list_changed -> "sent"
//   reconnect {ms=20, notify?, wait_ms=5000}  SEP-1699: after ms (and a log
//                              notification if notify) closes this call's
//                              POST stream unanswered; answers "resumed" 20 ms
//                              after the client resumed any POST stream of the
//                              session with GET + Last-Event-ID (or after
//                              wait_ms: the answer is then stored for replay)
//   get_on_standalone {text="standalone", wait_ms=0}  notifications/message
//                              on the GET stream (waits up to wait_ms for one
//                              to be open) -> "queued"
//   close_standalone           closes the GET stream -> "closed"
//   touch {uri}                notifications/resources/updated for a uri this
//                              session subscribed to -> "updated"
//   bad_output / good_output   outputSchema {n: number, required}; structured
//                              {n: "not a number"} / {n: 42}
//   stats {reset?}             counters as JSON text
// elicit, sample and roots answer isError when the client lacks the
// capability (force:true sends anyway); they, ping_client, progress, log,
// notify_changed and touch take via; the requests take timeout_ms (30000).
//
// Resources: mem://item/1..30 ("item N"), template mem://user/{id}
// ("user ID"), -32002 for others; subscribe/unsubscribe. Prompts p1..p12
// ("prompt N"), greet {name} ("Hello, NAME!"). completion/complete: id of
// mem://user/{id} from 1,2,10,11 and name of greet from alice,albert,bob,
// by prefix.
import http from "node:http";
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  McpError, ErrorCode, LoggingLevelSchema,
  CallToolRequestSchema, ListToolsRequestSchema,
  ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, ReadResourceRequestSchema,
  SubscribeRequestSchema, UnsubscribeRequestSchema,
  ListPromptsRequestSchema, GetPromptRequestSchema,
  CompleteRequestSchema, SetLevelRequestSchema,
  ElicitResultSchema, CreateMessageResultSchema, ListRootsResultSchema, EmptyResultSchema,
} from "@modelcontextprotocol/sdk/types.js";

const opt = { stdio: false, json: false, portFile: null, parent: 0, retry: 200, keepalive: undefined, verbose: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--stdio") opt.stdio = true;
  else if (a === "--json") opt.json = true;
  else if (a === "--port-file") opt.portFile = process.argv[++i];
  else if (a === "--parent") opt.parent = Number(process.argv[++i]);
  else if (a === "--retry") opt.retry = Number(process.argv[++i]);
  else if (a === "--keepalive") opt.keepalive = Number(process.argv[++i]);
  else if (a === "--verbose") opt.verbose = true;
  else { console.error(`sdk-full-server: unknown argument ${a}`); process.exit(2); }
}
const log = (...a) => console.error("sdk-full-server:", ...a);

// Process-wide counters, the `stats` tool's answer.
const counters = {
  elicitations_sent: 0, elicitations_answered: 0,
  samplings_sent: 0, samplings_answered: 0,
  roots_sent: 0, roots_answered: 0,
  pings_sent: 0, pings_answered: 0,
  subscriptions: 0, unsubscriptions: 0,
  log_messages_sent: 0, log_messages_suppressed: 0,
  progress_sent: 0, resource_updates_sent: 0,
  get_streams: 0, get_resumes: 0, open_get_streams: 0, last_event_ids: [],
  deleted: 0, sessions: 0,
};
const sessions = new Map(); // HTTP: session id -> session
let inflight = 0; // tool calls under way (stdio drains them when stdin closes)

const LEVELS = LoggingLevelSchema.options; // debug .. emergency, by severity
const text = (t) => ({ content: [{ type: "text", text: t }] });
const toolError = (t) => ({ content: [{ type: "text", text: t }], isError: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const obj = (properties = {}, required) => ({ type: "object", properties, ...(required ? { required } : {}) });
const VIA = { via: { type: "string", enum: ["post", "get"], description: "stream for server->client messages (HTTP)" } };
const TIMEOUT = { timeout_ms: { type: "integer", description: "wait for the client's answer (default 30000)" } };
const FORCE = { force: { type: "boolean", description: "send even if the client did not declare the capability" } };
const N_SCHEMA = obj({ n: { type: "number" } }, ["n"]);

const TOOLS = [
  { name: "echo", description: "Returns its text", inputSchema: obj({ text: { type: "string" } }, ["text"]) },
  { name: "elicit", description: "elicitation/create (form) to the client; returns {action, content} as JSON text", inputSchema: obj({ message: { type: "string" }, ...VIA, ...TIMEOUT, ...FORCE }) },
  { name: "sample", description: "sampling/createMessage to the client; returns its result as JSON text", inputSchema: obj({ prompt: { type: "string" }, max_tokens: { type: "integer" }, ...VIA, ...TIMEOUT, ...FORCE }, ["prompt"]) },
  { name: "roots", description: "roots/list to the client; returns its result as JSON text", inputSchema: obj({ ...VIA, ...TIMEOUT, ...FORCE }) },
  { name: "ping_client", description: "ping to the client; returns pong once it answered", inputSchema: obj({ ...VIA, ...TIMEOUT }) },
  { name: "progress", description: "steps notifications/progress ms apart (with a progressToken), then done", inputSchema: obj({ steps: { type: "integer" }, ms: { type: "integer" }, ...VIA }) },
  { name: "log", description: "count notifications/message at level (honours logging/setLevel), then logged", inputSchema: obj({ level: { type: "string", enum: LEVELS }, count: { type: "integer" }, ...VIA }) },
  { name: "notify_changed", description: "tools, resources and prompts list_changed notifications, then sent", inputSchema: obj({ ...VIA }) },
  { name: "reconnect", description: "SEP-1699: closes this call's SSE stream after ms, answers resumed on the client's GET resumption", inputSchema: obj({ ms: { type: "integer" }, notify: { type: "boolean" }, wait_ms: { type: "integer" } }) },
  { name: "get_on_standalone", description: "notifications/message on the standalone GET stream, then queued", inputSchema: obj({ text: { type: "string" }, wait_ms: { type: "integer" } }) },
  { name: "close_standalone", description: "closes the session's standalone GET stream (SEP-1699 polling), then closed", inputSchema: obj() },
  { name: "touch", description: "notifications/resources/updated for a subscribed uri", inputSchema: obj({ uri: { type: "string" }, ...VIA }, ["uri"]) },
  { name: "bad_output", description: "structuredContent violating its outputSchema", inputSchema: obj(), outputSchema: N_SCHEMA },
  { name: "good_output", description: "structuredContent {n: 42}", inputSchema: obj(), outputSchema: N_SCHEMA },
  { name: "stats", description: "the peer's counters as JSON text; reset:true zeroes them after answering", inputSchema: obj({ reset: { type: "boolean" } }) },
];

const ITEMS = Array.from({ length: 30 }, (_, i) => ({
  uri: `mem://item/${i + 1}`, name: `item${i + 1}`, title: `Item ${i + 1}`, mimeType: "text/plain",
}));
const TEMPLATES = [{ uriTemplate: "mem://user/{id}", name: "user", title: "User by id", mimeType: "text/plain" }];
const USER_IDS = ["1", "2", "10", "11"];
const GREET_NAMES = ["alice", "albert", "bob"];
const PROMPTS = [
  ...Array.from({ length: 12 }, (_, i) => ({ name: `p${i + 1}`, description: `Prompt ${i + 1}` })),
  { name: "greet", description: "Greets someone", arguments: [{ name: "name", description: "who", required: true }] },
];

// Cursors are opaque to clients: "o" + the offset of the next page.
function page(list, cursor, size) {
  let start = 0;
  if (cursor !== undefined) {
    const m = /^o(\d+)$/.exec(String(cursor));
    if (!m || Number(m[1]) >= list.length) throw new McpError(ErrorCode.InvalidParams, `Invalid cursor: ${cursor}`);
    start = Number(m[1]);
  }
  const end = start + size;
  return { items: list.slice(start, end), ...(end < list.length ? { nextCursor: `o${end}` } : {}) };
}

function resourceNotFound(uri) {
  return new McpError(-32002, "Resource not found", { uri });
}
function readResource(uri) {
  let m = /^mem:\/\/item\/(\d+)$/.exec(uri);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 30 && String(Number(m[1])) === m[1]) return `item ${m[1]}`;
  m = /^mem:\/\/user\/([^/]+)$/.exec(uri);
  if (m) return `user ${decodeURIComponent(m[1])}`;
  return undefined;
}

// In-memory EventStore (storeEvent / replayEventsAfter / getStreamIdForEventId),
// one per session. Ids: "<stream id>/<n>", n counting per session.
class MemoryEventStore {
  constructor(onReplay) { this.events = new Map(); this.n = 0; this.onReplay = onReplay; }
  async storeEvent(streamId, message) {
    const id = `${streamId}/${++this.n}`;
    this.events.set(id, { streamId, message });
    if (this.events.size > 10000) this.events.delete(this.events.keys().next().value);
    return id;
  }
  async getStreamIdForEventId(eventId) {
    return this.events.get(eventId)?.streamId;
  }
  async replayEventsAfter(lastId, { send }) {
    const from = this.events.get(lastId);
    if (!from) return "";
    let after = false;
    for (const [id, e] of [...this.events]) {
      if (id === lastId) { after = true; continue; }
      // priming events ({}) are never replayed as messages
      if (after && e.streamId === from.streamId && e.message && e.message.jsonrpc) await send(id, e.message);
    }
    this.onReplay?.(from.streamId);
    return from.streamId;
  }
}

// One MCP server (and its per-session state) per session; stdio has one.
function newSession() {
  const s = {
    server: null, transport: null, level: undefined, subscribed: new Set(),
    resumeWaiters: [], openGets: 0, getWaiters: [],
  };
  const server = new Server({ name: "gofr-sim-full-peer", version: "1.0.0" }, {
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      completions: {},
      logging: {},
    },
  });
  s.server = server;
  server.onerror = (e) => { if (opt.verbose) log("server error:", e?.message ?? e); };

  const ignored = (level) => s.level !== undefined && LEVELS.indexOf(level) < LEVELS.indexOf(s.level);
  // Default stream: the call's POST stream, except in JSON mode (only GET can carry it).
  const viaGet = (args) => !opt.stdio && (args.via ? args.via === "get" : opt.json);
  const notify = (extra, args, n) => (viaGet(args) ? server.notification(n) : extra.sendNotification(n));
  const request = (extra, args, r, schema) => {
    const options = { timeout: Number(args.timeout_ms ?? 30000) };
    return viaGet(args) ? server.request(r, schema, options) : extra.sendRequest(r, schema, options);
  };
  const sendLog = async (extra, args, level, data) => {
    if (ignored(level)) { counters.log_messages_suppressed++; return false; }
    await notify(extra, args, { method: "notifications/message", params: { level, logger: "sdk-full-server", data } });
    counters.log_messages_sent++;
    return true;
  };
  const lacks = (cap, args) => !args.force && !server.getClientCapabilities()?.[cap];

  // A schema without params, so that a bad level is our -32602, not the
  // SDK's schema error (-32603).
  server.setRequestHandler(SetLevelRequestSchema.omit({ params: true }).passthrough(), async (req) => {
    const level = req.params?.level;
    if (!LEVELS.includes(level)) throw new McpError(ErrorCode.InvalidParams, `Invalid log level: ${level}`);
    s.level = level;
    return {};
  });

  server.setRequestHandler(ListToolsRequestSchema, async (req) => {
    const p = page(TOOLS, req.params?.cursor, 8);
    return { tools: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
  });

  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    inflight++;
    try { return await callTool(req, extra); } finally { inflight--; }
  });
  async function callTool(req, extra) {
    const args = req.params.arguments ?? {};
    const name = req.params.name;
    switch (name) {
      case "echo":
        if (typeof args.text !== "string") return toolError("echo: text must be a string");
        return text(args.text);

      case "elicit": {
        if (lacks("elicitation", args)) return toolError("elicit: the client did not declare the elicitation capability");
        const params = {
          mode: "form",
          message: typeof args.message === "string" ? args.message : "Please fill in the form",
          requestedSchema: {
            type: "object",
            properties: {
              name: { type: "string", title: "Name", default: "Ada" },
              age: { type: "integer", title: "Age", default: 36 },
              ok: { type: "boolean", title: "OK", default: true },
              color: { type: "string", title: "Color", enum: ["red", "green"], default: "green" },
            },
          },
        };
        counters.elicitations_sent++;
        try {
          const r = await request(extra, args, { method: "elicitation/create", params }, ElicitResultSchema);
          counters.elicitations_answered++;
          return text(JSON.stringify({ action: r.action, content: r.content ?? null }));
        } catch (e) { return toolError(`elicit: ${e.message}`); }
      }

      case "sample": {
        if (lacks("sampling", args)) return toolError("sample: the client did not declare the sampling capability");
        const params = {
          messages: [{ role: "user", content: { type: "text", text: String(args.prompt ?? "") } }],
          maxTokens: Number(args.max_tokens ?? 100),
        };
        counters.samplings_sent++;
        try {
          const r = await request(extra, args, { method: "sampling/createMessage", params }, CreateMessageResultSchema);
          counters.samplings_answered++;
          return text(JSON.stringify(r));
        } catch (e) { return toolError(`sample: ${e.message}`); }
      }

      case "roots": {
        if (lacks("roots", args)) return toolError("roots: the client did not declare the roots capability");
        counters.roots_sent++;
        try {
          const r = await request(extra, args, { method: "roots/list" }, ListRootsResultSchema);
          counters.roots_answered++;
          return text(JSON.stringify(r));
        } catch (e) { return toolError(`roots: ${e.message}`); }
      }

      case "ping_client": {
        counters.pings_sent++;
        try {
          await request(extra, args, { method: "ping" }, EmptyResultSchema);
          counters.pings_answered++;
          return text("pong");
        } catch (e) { return toolError(`ping_client: ${e.message}`); }
      }

      case "progress": {
        const steps = Math.max(0, Math.min(10000, Number(args.steps ?? 3) | 0));
        const ms = Math.max(0, Number(args.ms ?? 10));
        const token = extra._meta?.progressToken;
        if (token !== undefined) {
          for (let i = 1; i <= steps; i++) {
            if (extra.signal.aborted) break;
            if (i > 1 && ms) await sleep(ms);
            await notify(extra, args, {
              method: "notifications/progress",
              params: { progressToken: token, progress: i, total: steps, message: `step ${i}` },
            });
            counters.progress_sent++;
          }
          // the answer comes ms after the last step too: a client handling
          // notifications asynchronously still sees all of them first
          if (steps && ms) await sleep(ms);
        }
        return text("done");
      }

      case "log": {
        const level = args.level ?? "info";
        if (!LEVELS.includes(level)) return toolError(`log: unknown level ${level}`);
        const count = Math.max(0, Math.min(10000, Number(args.count ?? 1) | 0));
        for (let i = 1; i <= count; i++) await sendLog(extra, args, level, `log ${i} of ${count}`);
        return text("logged");
      }

      case "notify_changed":
        await notify(extra, args, { method: "notifications/tools/list_changed" });
        await notify(extra, args, { method: "notifications/resources/list_changed" });
        await notify(extra, args, { method: "notifications/prompts/list_changed" });
        return text("sent");

      case "reconnect": {
        if (!extra.closeSSEStream) {
          return toolError("reconnect: no closeSSEStream (needs HTTP with SSE, not --json/--stdio, and MCP-Protocol-Version >= 2025-11-25)");
        }
        await sleep(Math.max(0, Number(args.ms ?? 20)));
        if (args.notify) {
          await extra.sendNotification({ method: "notifications/message", params: { level: "info", logger: "sdk-full-server", data: "reconnect: closing the stream" } });
        }
        const resumed = new Promise((resolve) => {
          s.resumeWaiters.push(resolve);
          setTimeout(resolve, Math.max(0, Number(args.wait_ms ?? 5000)));
        });
        extra.closeSSEStream();
        await resumed;
        await sleep(20); // the transport registers the resumed stream after the replay
        return text("resumed");
      }

      case "get_on_standalone": {
        const wait = Math.max(0, Number(args.wait_ms ?? 0));
        if (!opt.stdio && s.openGets === 0 && wait > 0) {
          await new Promise((resolve) => { s.getWaiters.push(resolve); setTimeout(resolve, wait); });
        }
        await sendLog(extra, { via: "get" }, "info", typeof args.text === "string" ? args.text : "standalone");
        return text("queued");
      }

      case "close_standalone":
        if (!extra.closeStandaloneSSEStream) return toolError("close_standalone: needs HTTP and MCP-Protocol-Version >= 2025-11-25");
        extra.closeStandaloneSSEStream();
        return text("closed");

      case "touch": {
        const uri = String(args.uri ?? "");
        if (!s.subscribed.has(uri)) return toolError(`touch: not subscribed to ${uri}`);
        await notify(extra, args, { method: "notifications/resources/updated", params: { uri } });
        counters.resource_updates_sent++;
        return text("updated");
      }

      // The low-level handler only checks the CallToolResult shape, not the
      // outputSchema: bad_output reaches the client as is.
      case "bad_output":
        return { content: [{ type: "text", text: JSON.stringify({ n: "not a number" }) }], structuredContent: { n: "not a number" } };
      case "good_output":
        return { content: [{ type: "text", text: JSON.stringify({ n: 42 }) }], structuredContent: { n: 42 } };

      case "stats": {
        const out = text(JSON.stringify({ ...counters, sessions: opt.stdio ? 1 : sessions.size }));
        if (args.reset) {
          for (const k of Object.keys(counters)) if (typeof counters[k] === "number" && k !== "open_get_streams") counters[k] = 0;
          counters.last_event_ids = [];
        }
        return out;
      }

      default:
        throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
  }

  server.setRequestHandler(ListResourcesRequestSchema, async (req) => {
    const p = page(ITEMS, req.params?.cursor, 10);
    return { resources: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
  });
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (req) => {
    const p = page(TEMPLATES, req.params?.cursor, 10);
    return { resourceTemplates: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
  });
  server.setRequestHandler(ReadResourceRequestSchema, async (req) => {
    const uri = req.params.uri;
    const t = readResource(uri);
    if (t === undefined) throw resourceNotFound(uri);
    return { contents: [{ uri, mimeType: "text/plain", text: t }] };
  });
  server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    const uri = req.params.uri;
    if (readResource(uri) === undefined) throw resourceNotFound(uri);
    s.subscribed.add(uri);
    counters.subscriptions++;
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    s.subscribed.delete(req.params.uri);
    counters.unsubscriptions++;
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, async (req) => {
    const p = page(PROMPTS, req.params?.cursor, 5);
    return { prompts: p.items, ...(p.nextCursor ? { nextCursor: p.nextCursor } : {}) };
  });
  server.setRequestHandler(GetPromptRequestSchema, async (req) => {
    const { name, arguments: a = {} } = req.params;
    const m = /^p(\d+)$/.exec(name);
    if (m && Number(m[1]) >= 1 && Number(m[1]) <= 12) {
      return { description: `Prompt ${m[1]}`, messages: [{ role: "user", content: { type: "text", text: `prompt ${m[1]}` } }] };
    }
    if (name === "greet") {
      if (typeof a.name !== "string") throw new McpError(ErrorCode.InvalidParams, "greet: missing argument name");
      return { description: "Greets someone", messages: [{ role: "user", content: { type: "text", text: `Hello, ${a.name}!` } }] };
    }
    throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
  });

  server.setRequestHandler(CompleteRequestSchema, async (req) => {
    const { ref, argument } = req.params;
    let pool = [];
    if (ref.type === "ref/resource" && ref.uri === "mem://user/{id}" && argument.name === "id") pool = USER_IDS;
    else if (ref.type === "ref/prompt" && ref.name === "greet" && argument.name === "name") pool = GREET_NAMES;
    const values = pool.filter((v) => v.startsWith(String(argument.value ?? "")));
    return { completion: { values, total: values.length, hasMore: false } };
  });

  return s;
}

process.on("uncaughtException", (e) => log("uncaught:", e?.stack ?? e));
process.on("unhandledRejection", (e) => log("unhandled rejection:", e?.stack ?? e));

// ---- stdio -----------------------------------------------------------------
if (opt.stdio) {
  const s = newSession();
  const transport = new StdioServerTransport();
  transport.onerror = (e) => { if (opt.verbose) log("transport error:", e?.message ?? e); };
  s.transport = transport;
  await s.server.connect(transport);
  const quit = () => { s.server.close().catch(() => {}).finally(() => process.exit(0)); };
  // stdin closed: finish the tool calls under way (at most 2 s), then exit
  const drain = () => {
    const until = Date.now() + 2000;
    const check = () => (inflight === 0 || Date.now() > until ? quit() : setTimeout(check, 10));
    check();
  };
  process.stdin.on("end", drain);
  process.stdin.on("close", drain);
  process.stdout.on("error", quit); // EPIPE: the client is gone
  process.on("SIGTERM", quit);
  process.on("SIGINT", quit);
  log("on stdio");
}

// ---- HTTP ------------------------------------------------------------------
function jsonError(res, status, code, message) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

async function handle(req, res) {
  if (new URL(req.url, "http://x").pathname !== "/mcp") return jsonError(res, 404, -32000, "Not found");
  const sid = req.headers["mcp-session-id"];
  if (sid !== undefined) {
    const s = sessions.get(sid);
    if (!s) return jsonError(res, 404, -32001, "Session not found");
    if (req.method === "GET") {
      counters.get_streams++;
      const last = req.headers["last-event-id"];
      if (last !== undefined) { counters.get_resumes++; counters.last_event_ids.push(String(last)); }
      s.openGets++; counters.open_get_streams++;
      res.on("close", () => { s.openGets--; counters.open_get_streams--; });
      setTimeout(() => { for (const w of s.getWaiters.splice(0)) w(); }, 20);
    }
    return s.transport.handleRequest(req, res);
  }
  // No session id: an initialize (anything else gets the SDK's 400).
  const s = newSession();
  const store = new MemoryEventStore((streamId) => {
    if (streamId !== "_GET_stream") for (const w of s.resumeWaiters.splice(0)) w();
  });
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: opt.json,
    eventStore: store,
    retryInterval: opt.retry,
    ...(opt.keepalive !== undefined ? { keepAliveMs: opt.keepalive } : {}),
    onsessioninitialized: (id) => { sessions.set(id, s); },
    onsessionclosed: () => { counters.deleted++; },
  });
  s.transport = transport;
  transport.onerror = (e) => { if (opt.verbose) log("transport error:", e?.message ?? e); };
  transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
  await s.server.connect(transport);
  return transport.handleRequest(req, res);
}

if (!opt.stdio) {
  const httpServer = http.createServer((req, res) => {
    req.on("error", () => {});
    res.on("error", () => {});
    handle(req, res).catch((e) => {
      log(e?.stack ?? e);
      if (!res.headersSent) jsonError(res, 500, -32603, "Internal error");
      else res.destroy();
    });
  });
  httpServer.listen(0, "127.0.0.1", () => {
    const port = httpServer.address().port;
    log(`on http://127.0.0.1:${port}/mcp json=${opt.json} retry=${opt.retry}`);
    if (opt.portFile) {
      fs.writeFileSync(`${opt.portFile}.tmp`, `${port}\n`);
      fs.renameSync(`${opt.portFile}.tmp`, opt.portFile);
    }
  });
  const quit = () => {
    for (const s of sessions.values()) s.transport.close().catch(() => {});
    httpServer.close();
    httpServer.closeAllConnections?.();
    setTimeout(() => process.exit(0), 50).unref();
  };
  process.on("SIGTERM", quit);
  process.on("SIGINT", quit);
}

if (opt.parent) {
  setInterval(() => {
    try { process.kill(opt.parent, 0); } catch { process.exit(0); }
  }, 500).unref();
}
