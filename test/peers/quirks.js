// A scripted HTTP peer for spec/mcp_spec.lua: answers each request with the
// next canned response planned for its path, so a spec can serve exactly the
// bytes a quirky MCP server (gofr-dig: CRLF SSE, a bare /mcp 307, ...) sends.
//
//   node quirks.js --port-file FILE [--parent PID]
//
// Control endpoints:
//   POST /_plan  {"routes": {"/path": [response, ...]}}  replaces the plan, clears the log
//   GET  /_log   the requests received since the last plan:
//                [{"method", "path", "headers" (lower-case), "body"}, ...]
// A response is {status (200), headers ({}), body (""), chunks ([...]),
// delay_ms (0), destroy (false)}: "{{id}}" in body/chunks becomes the JSON id
// of the request's JSON-RPC message (null when none); chunks are written one
// by one 5 ms apart after body; destroy drops the connection instead of ending
// the response. A request with nothing planned gets 500.
import http from "node:http";
import fs from "node:fs";

let portFile = null, parent = 0;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--port-file") portFile = process.argv[++i];
  else if (a === "--parent") parent = Number(process.argv[++i]);
  else { console.error(`quirks: unknown argument ${a}`); process.exit(2); }
}

let routes = {};
let log = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function requestId(body) {
  try {
    const msg = JSON.parse(body);
    return JSON.stringify(msg && msg.id !== undefined ? msg.id : null);
  } catch { return "null"; }
}

async function handle(req, res) {
  const path = new URL(req.url, "http://x").pathname;
  const body = await readBody(req);
  if (path === "/_plan" && req.method === "POST") {
    routes = JSON.parse(body).routes || {};
    log = [];
    res.writeHead(200, { "Content-Type": "text/plain" });
    return res.end("ok");
  }
  if (path === "/_log") {
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end(JSON.stringify(log));
  }
  log.push({ method: req.method, path, headers: req.headers, body });
  const next = (routes[path] || []).shift();
  if (!next) {
    res.writeHead(500, { "Content-Type": "text/plain" });
    return res.end(`quirks: no canned response for ${req.method} ${path}`);
  }
  const id = requestId(body);
  const fill = (s) => String(s).split("{{id}}").join(id);
  if (next.delay_ms) await sleep(next.delay_ms);
  res.writeHead(next.status ?? 200, next.headers ?? {});
  if (next.body) res.write(fill(next.body));
  for (const c of next.chunks ?? []) {
    await sleep(5);
    res.write(fill(c));
  }
  if (next.destroy) { // let what was written reach the client first
    await sleep(20);
    return res.socket.destroy();
  }
  res.end();
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(e);
    if (!res.headersSent) { res.writeHead(500); res.end(String(e)); }
  });
});
server.listen(0, "127.0.0.1", () => {
  const port = server.address().port;
  console.error(`quirks on http://127.0.0.1:${port}/`);
  if (portFile) {
    fs.writeFileSync(`${portFile}.tmp`, `${port}\n`);
    fs.renameSync(`${portFile}.tmp`, portFile);
  }
});

if (parent) {
  setInterval(() => {
    try { process.kill(parent, 0); } catch { process.exit(0); }
  }, 500).unref();
}
