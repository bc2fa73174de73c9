// MCP test peer for spec/mcp_spec.lua: the official TypeScript SDK's low-level
// Server behind its StreamableHTTPServerTransport, on 127.0.0.1, endpoint /mcp.
//
//   node sdk-server.js --port-file FILE [--stateless] [--json] [--parent PID]
//
//   --stateless   no Mcp-Session-Id: a new transport and server per request
//   --json        answer requests with application/json instead of SSE
//   --port-file   listens on a free port and writes it to FILE once ready
//   --parent      exits when that process is gone (no orphans after a crash)
//
// Stateful SSE mode keeps an in-memory event store, so the SDK sends 2025-11-25
// priming events (an id with empty data) before each response.
//
// Tools: echo {text} -> the text; json {value} -> value as pretty JSON text;
// fail {message} -> isError:true; rpc_error {message} -> a JSON-RPC error;
// args -> the arguments as JSON; headers -> the session headers it received;
// progress {steps} -> log notifications first (SSE), then "done";
// slow {ms} -> sleeps (counts cancellations); stats -> {cancelled, deleted};
// end_session -> forgets this session server-side (next request: 404).
import http from "node:http";
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { McpError, CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const opt = { stateless: false, json: false, portFile: null, parent: 0 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--stateless") opt.stateless = true;
  else if (a === "--json") opt.json = true;
  else if (a === "--port-file") opt.portFile = process.argv[++i];
  else if (a === "--parent") opt.parent = Number(process.argv[++i]);
  else { console.error(`sdk-server: unknown argument ${a}`); process.exit(2); }
}

const counters = { cancelled: 0, deleted: 0 };
const sessions = new Map(); // session id -> transport (stateful mode)

const text = (t) => ({ content: [{ type: "text", text: t }] });
const obj = { type: "object" };
const TOOLS = [
  { name: "echo", description: "Returns its text", inputSchema: { ...obj, properties: { text: { type: "string" } }, required: ["text"] } },
  { name: "json", description: "Returns value as pretty-printed JSON text", inputSchema: { ...obj, properties: { value: {} } } },
  { name: "fail", description: "A tool execution error (isError:true)", inputSchema: { ...obj, properties: { message: { type: "string" } } } },
  { name: "rpc_error", description: "Answers with a JSON-RPC error", inputSchema: { ...obj, properties: { message: { type: "string" } } } },
  { name: "args", description: "Returns the arguments it received as JSON", inputSchema: { ...obj } },
  { name: "headers", description: "Returns the session headers of the request", inputSchema: { ...obj } },
  { name: "progress", description: "Sends log notifications, then answers", inputSchema: { ...obj, properties: { steps: { type: "integer" } } } },
  { name: "slow", description: "Answers after ms milliseconds", inputSchema: { ...obj, properties: { ms: { type: "integer" } } } },
  { name: "stats", description: "Counters: cancelled requests, deleted sessions", inputSchema: { ...obj } },
  { name: "end_session", description: "Forgets the calling session (stateful mode)", inputSchema: { ...obj } },
];

async function callTool(req, extra) {
  const args = req.params.arguments ?? {};
  switch (req.params.name) {
    case "echo": return text(String(args.text));
    case "json": return text(JSON.stringify(args.value ?? null, null, 2));
    case "fail": return { ...text(args.message ?? "failed"), isError: true };
    case "rpc_error": throw new McpError(-32602, args.message ?? "rpc error");
    case "args": return text(JSON.stringify(args));
    case "headers": {
      const h = extra.requestInfo?.headers ?? {};
      return text(JSON.stringify({
        session_id: extra.sessionId ?? null,
        "mcp-session-id": h["mcp-session-id"] ?? null,
        "mcp-protocol-version": h["mcp-protocol-version"] ?? null,
      }));
    }
    case "progress": {
      const steps = Number(args.steps ?? 2);
      for (let i = 1; i <= steps; i++) {
        await extra.sendNotification({ method: "notifications/message", params: { level: "info", data: `step ${i}/${steps}` } });
      }
      return text("done");
    }
    case "slow": {
      const ms = Number(args.ms ?? 100);
      const finished = await new Promise((resolve) => {
        const t = setTimeout(() => resolve(true), ms);
        extra.signal.addEventListener("abort", () => { clearTimeout(t); resolve(false); });
      });
      if (!finished) counters.cancelled++;
      return text(`slept ${ms}ms`);
    }
    case "stats": return text(JSON.stringify(counters));
    case "end_session":
      if (extra.sessionId) sessions.delete(extra.sessionId);
      return text("ended");
    default: return { ...text(`Unknown tool: ${req.params.name}`), isError: true };
  }
}

function newServer() {
  const server = new Server({ name: "gofr-sim-test-peer", version: "1.0.0" }, { capabilities: { tools: {}, logging: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, callTool);
  return server;
}

// Just enough of an event store for the SDK to send priming events.
class MemoryEventStore {
  constructor() { this.events = new Map(); this.n = 0; }
  async storeEvent(streamId, message) {
    const id = `${streamId}.${++this.n}`;
    this.events.set(id, { streamId, message });
    if (this.events.size > 1000) this.events.delete(this.events.keys().next().value);
    return id;
  }
  async replayEventsAfter(lastId, { send }) {
    const from = this.events.get(lastId);
    if (!from) return "";
    let after = false;
    for (const [id, e] of this.events) {
      if (id === lastId) { after = true; continue; }
      if (after && e.streamId === from.streamId) await send(id, e.message);
    }
    return from.streamId;
  }
}

function jsonError(res, status, code, message) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

async function handle(req, res) {
  if (new URL(req.url, "http://x").pathname !== "/mcp") return jsonError(res, 404, -32000, "Not found");
  if (opt.stateless) {
    if (req.method !== "POST") return jsonError(res, 405, -32000, "Method not allowed.");
    const server = newServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: opt.json });
    res.on("close", () => { transport.close(); server.close(); });
    await server.connect(transport);
    return transport.handleRequest(req, res);
  }
  const sid = req.headers["mcp-session-id"];
  if (sid !== undefined) {
    const transport = sessions.get(sid);
    if (!transport) return jsonError(res, 404, -32001, "Session not found");
    return transport.handleRequest(req, res);
  }
  const server = newServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: opt.json,
    eventStore: opt.json ? undefined : new MemoryEventStore(),
    onsessioninitialized: (id) => { sessions.set(id, transport); },
    onsessionclosed: (id) => { counters.deleted++; sessions.delete(id); },
  });
  await server.connect(transport);
  return transport.handleRequest(req, res);
}

const httpServer = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(e);
    if (!res.headersSent) jsonError(res, 500, -32603, "Internal error");
  });
});
httpServer.listen(0, "127.0.0.1", () => {
  const port = httpServer.address().port;
  console.error(`sdk-server on http://127.0.0.1:${port}/mcp stateless=${opt.stateless} json=${opt.json}`);
  if (opt.portFile) {
    fs.writeFileSync(`${opt.portFile}.tmp`, `${port}\n`);
    fs.renameSync(`${opt.portFile}.tmp`, opt.portFile);
  }
});

if (opt.parent) {
  setInterval(() => {
    try { process.kill(opt.parent, 0); } catch { process.exit(0); }
  }, 500).unref();
}
