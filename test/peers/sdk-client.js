// MCP client peer: the official TypeScript SDK's Client behind its
// StreamableHTTPClientTransport, pointed at any MCP server (the gofr-dig twin in
// spec/twin_sdk_spec.lua and bench/mcp_ping.sh).
//
//   node sdk-client.js --url URL conformance [--site-url S] [--tool ping] [--args JSON]
//   node sdk-client.js --url URL bench [--duration 10] [--concurrency 32] [--tool ping] [--args JSON]
//
// conformance: connects (initialize + initialized), lists the tools, calls --tool
//   (default ping), and when --site-url is given calls get_content
//   {url: S + "/index.html", parse_results: false}; prints one JSON line
//   {protocolVersion, serverInfo, tools: [names], ping, get_content}, where ping
//   and get_content are the tools' first text blocks parsed as JSON (get_content
//   null without --site-url), then closes the session (DELETE).
// bench: --concurrency sessions, each its own Client and transport, call --tool
//   in a closed loop for --duration seconds (connecting is not timed); prints one
//   JSON line {calls, errors, seconds, calls_per_sec}. calls counts every
//   completed call, errors the ones that failed (a transport or JSON-RPC error,
//   or isError:true).
//
// --args is the tool's arguments as a JSON object (default {}). Any failure in
// conformance mode, or a failed connect in bench mode, exits 1 with a message on
// stderr; bad usage exits 2.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

function usage(msg) {
  console.error(`sdk-client: ${msg}`);
  console.error("usage: node sdk-client.js --url URL (conformance [--site-url S] | bench [--duration SECONDS] [--concurrency N]) [--tool NAME] [--args JSON]");
  process.exit(2);
}

// Command line: one mode word, the rest --name value pairs.
const opt = { url: null, mode: null, siteUrl: null, tool: "ping", args: {}, duration: 10, concurrency: 32 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const value = () => (i + 1 < process.argv.length ? process.argv[++i] : usage(`${a} needs a value`));
  if (a === "--url") opt.url = value();
  else if (a === "--site-url") opt.siteUrl = value().replace(/\/+$/, "");
  else if (a === "--tool") opt.tool = value();
  else if (a === "--args") {
    try { opt.args = JSON.parse(value()); } catch (e) { usage(`--args is not JSON: ${e.message}`); }
    if (typeof opt.args !== "object" || opt.args === null || Array.isArray(opt.args)) usage("--args must be a JSON object");
  } else if (a === "--duration") opt.duration = Number(value());
  else if (a === "--concurrency") opt.concurrency = Number(value());
  else if ((a === "conformance" || a === "bench") && !opt.mode) opt.mode = a;
  else usage(`unknown argument ${a}`);
}
if (!opt.url) usage("--url is required");
if (!opt.mode) usage("give a mode: conformance or bench");
if (!(opt.duration > 0)) usage("--duration must be a number of seconds > 0");
if (!Number.isInteger(opt.concurrency) || opt.concurrency < 1) usage("--concurrency must be a whole number >= 1");

function fail(msg) {
  console.error(`sdk-client: ${msg}`);
  process.exit(1);
}

// A new connected client: initialize, then notifications/initialized (the SDK
// then opens its optional GET stream; a 405 there is fine).
async function connect() {
  const transport = new StreamableHTTPClientTransport(new URL(opt.url));
  const client = new Client({ name: "gofr-sim-sdk-client", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport };
}

// Ends a session: DELETE (terminateSession), then closes the transport.
async function disconnect({ client, transport }) {
  try { await transport.terminateSession(); } finally { await client.close(); }
}

// The first text block of a tool result, parsed as JSON.
function textJson(result, what) {
  if (result.isError) fail(`${what} answered isError:true: ${JSON.stringify(result.content)}`);
  const block = (result.content ?? []).find((c) => c.type === "text");
  if (!block) fail(`${what} answered no text block: ${JSON.stringify(result)}`);
  try { return JSON.parse(block.text); } catch { fail(`${what} text is not JSON: ${block.text.slice(0, 200)}`); }
}

async function conformance() {
  const conn = await connect();
  const { client, transport } = conn;
  const tools = [];
  let cursor;
  do { // every page
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor);
  const ping = textJson(await client.callTool({ name: opt.tool, arguments: opt.args }), opt.tool);
  let content = null;
  if (opt.siteUrl) {
    const args = { url: `${opt.siteUrl}/index.html`, parse_results: false };
    content = textJson(await client.callTool({ name: "get_content", arguments: args }), "get_content");
  }
  const line = {
    protocolVersion: transport.protocolVersion,
    serverInfo: client.getServerVersion(),
    tools,
    ping,
    get_content: content,
  };
  await disconnect(conn);
  console.log(JSON.stringify(line));
}

async function bench() {
  const conns = await Promise.all(Array.from({ length: opt.concurrency }, connect));
  let calls = 0, errors = 0;
  const started = performance.now();
  const deadline = started + opt.duration * 1000;
  // One closed loop per session: the next call starts when the last one ends.
  const loop = async ({ client }) => {
    while (performance.now() < deadline) {
      try {
        const r = await client.callTool({ name: opt.tool, arguments: opt.args });
        if (r.isError) errors++;
      } catch {
        errors++;
      }
      calls++;
    }
  };
  await Promise.all(conns.map(loop));
  const seconds = (performance.now() - started) / 1000;
  await Promise.allSettled(conns.map(disconnect));
  console.log(JSON.stringify({
    calls, errors, seconds: Number(seconds.toFixed(3)),
    calls_per_sec: Number((calls / seconds).toFixed(1)),
  }));
}

// A hard stop, so a hung server cannot keep this process alive for ever.
const limit = (opt.mode === "bench" ? opt.duration : 0) + 60;
setTimeout(() => fail(`still running after ${limit} s; giving up`), limit * 1000).unref();

(opt.mode === "bench" ? bench() : conformance())
  .then(() => process.exit(0))
  .catch((e) => fail(`${opt.mode} failed: ${e?.message ?? e}${e?.cause ? ` (${e.cause.message ?? e.cause})` : ""}`));
