// OAuth test peer for spec/oauth_spec.lua: an MCP server behind the official
// TypeScript SDK's server-side auth, on 127.0.0.1, one port for both roles:
//
//   authorization server   mcpAuthRouter: RFC 8414 metadata, RFC 9728 protected
//                          resource metadata (/.well-known/oauth-protected-resource/mcp),
//                          /authorize (PKCE S256 enforced by the SDK), /token
//                          (authorization_code, refresh_token; client_secret_post and
//                          none, as the SDK's clientAuth does), /register (RFC 7591)
//   resource server        /mcp behind requireBearerAuth (scope mcp:tools, the token's
//                          resource must be this /mcp: RFC 8707); a tools/call of
//                          "admin" needs mcp:admin too (a 403 insufficient_scope)
//
//   node sdk-oauth-server.js --port-file FILE [--parent PID] [--token-ttl SECONDS]
//                            [--advertise-basic]
//
//   --token-ttl        access token lifetime (default 3600); refresh tokens rotate
//   --advertise-basic  metadata lists client_secret_basic first; the SDK's token
//                      endpoint only reads client_id/client_secret from the body, so a
//                      small adapter moves HTTP Basic credentials there (RFC 6749 2.3.1)
//
// The provider is this file's (the SDK's demo provider has no refresh tokens): it
// approves every authorization request at once, redirecting with a code.
// Pre-registered clients: "pre-post" (client_secret_post) and "pre-basic"
// (client_secret_basic), both with secret "pre-secret-0123456789" and redirect URI
// http://127.0.0.1:1/oauth/callback.
// GET /stats (no auth) lists what the server saw, without any secret or token:
// registrations, authorization and token requests (grant, client auth method,
// resource, scope), MCP requests by status.
import http from "node:http";
import fs from "node:fs";
import { randomUUID } from "node:crypto";
import express from "express";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { mcpAuthRouter, createOAuthMetadata, getOAuthProtectedResourceMetadataUrl } from "@modelcontextprotocol/sdk/server/auth/router.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { InvalidGrantError, InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";

const opt = { portFile: null, parent: 0, ttl: 3600, basic: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--port-file") opt.portFile = process.argv[++i];
  else if (a === "--parent") opt.parent = Number(process.argv[++i]);
  else if (a === "--token-ttl") opt.ttl = Number(process.argv[++i]);
  else if (a === "--advertise-basic") opt.basic = true;
  else { console.error(`sdk-oauth-server: unknown argument ${a}`); process.exit(2); }
}

const stats = { registrations: [], authorizations: [], tokens: [], mcp: [] };
const PRE_SECRET = "pre-secret-0123456789";
const REDIRECT = "http://127.0.0.1:1/oauth/callback";

class ClientsStore {
  constructor() {
    this.clients = new Map();
    for (const [id, method] of [["pre-post", "client_secret_post"], ["pre-basic", "client_secret_basic"]]) {
      this.clients.set(id, { client_id: id, client_secret: PRE_SECRET, redirect_uris: [REDIRECT], token_endpoint_auth_method: method });
    }
  }
  async getClient(id) { return this.clients.get(id); }
  async registerClient(info) {
    stats.registrations.push({
      token_endpoint_auth_method: info.token_endpoint_auth_method ?? null,
      grant_types: info.grant_types ?? null,
      redirect_uris: info.redirect_uris,
      scope: info.scope ?? null,
      has_secret: info.client_secret !== undefined,
    });
    this.clients.set(info.client_id, info);
    return info;
  }
}

class Provider {
  constructor() { this.clientsStore = new ClientsStore(); this.codes = new Map(); this.tokens = new Map(); this.refresh = new Map(); }
  async authorize(client, params, res) {
    stats.authorizations.push({ client_id: client.client_id, scope: params.scopes.join(" ") || null, resource: params.resource?.href ?? null, has_state: params.state !== undefined });
    const code = randomUUID();
    this.codes.set(code, { client, params });
    const target = new URL(params.redirectUri);
    target.searchParams.set("code", code);
    if (params.state !== undefined) target.searchParams.set("state", params.state);
    res.redirect(302, target.href);
  }
  async challengeForAuthorizationCode(_client, code) {
    const c = this.codes.get(code);
    if (!c) throw new InvalidGrantError("Invalid authorization code");
    return c.params.codeChallenge;
  }
  issue(clientId, scopes, resource) {
    const token = randomUUID(), refresh = randomUUID();
    this.tokens.set(token, { clientId, scopes, resource, expiresAt: Date.now() + opt.ttl * 1000 });
    this.refresh.set(refresh, { clientId, scopes, resource });
    return { access_token: token, token_type: "bearer", expires_in: opt.ttl, scope: scopes.join(" "), refresh_token: refresh };
  }
  async exchangeAuthorizationCode(client, code, _verifier, _redirectUri, resource) {
    const c = this.codes.get(code);
    if (!c || c.client.client_id !== client.client_id) throw new InvalidGrantError("Invalid authorization code");
    this.codes.delete(code);
    if (resource?.href !== c.params.resource?.href) throw new InvalidGrantError("resource differs from the authorization request's");
    return this.issue(client.client_id, c.params.scopes, c.params.resource?.href);
  }
  async exchangeRefreshToken(client, refreshToken, scopes, resource) {
    const r = this.refresh.get(refreshToken);
    if (!r || r.clientId !== client.client_id) throw new InvalidGrantError("Invalid refresh token");
    this.refresh.delete(refreshToken); // rotation
    const granted = scopes && scopes.length ? scopes.filter((s) => r.scopes.includes(s)) : r.scopes;
    return this.issue(client.client_id, granted, resource?.href ?? r.resource);
  }
  async verifyAccessToken(token) {
    const t = this.tokens.get(token);
    if (!t) throw new InvalidTokenError("Invalid token");
    return { token, clientId: t.clientId, scopes: t.scopes, expiresAt: Math.floor(t.expiresAt / 1000), resource: t.resource ? new URL(t.resource) : undefined };
  }
}

const text = (t) => ({ content: [{ type: "text", text: t }] });
const TOOLS = [
  { name: "whoami", description: "The caller's client id, scopes and resource", inputSchema: { type: "object" } },
  { name: "admin", description: "Needs scope mcp:admin", inputSchema: { type: "object" } },
];

function mcpServer(auth) {
  const server = new Server({ name: "gofr-sim-oauth-peer", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    if (req.params.name === "whoami") return text(JSON.stringify({ client_id: auth.clientId, scopes: auth.scopes, resource: auth.resource?.href ?? null }));
    if (req.params.name === "admin") return text("admin ok");
    return { ...text(`Unknown tool: ${req.params.name}`), isError: true };
  });
  return server;
}

function buildApp(port) {
  const base = `http://127.0.0.1:${port}`;
  const mcpUrl = new URL(`${base}/mcp`);
  const provider = new Provider();
  const authOptions = {
    provider,
    issuerUrl: new URL(`${base}/`),
    resourceServerUrl: mcpUrl,
    scopesSupported: ["mcp:tools", "mcp:admin"],
    resourceName: "gofr-sim OAuth test peer",
    authorizationOptions: { rateLimit: false },
    tokenOptions: { rateLimit: false },
    clientRegistrationOptions: { rateLimit: false },
  };
  const app = express();
  app.set("trust proxy", false);
  app.get("/stats", (_req, res) => res.json(stats));
  if (opt.basic) {
    const meta = createOAuthMetadata(authOptions);
    meta.token_endpoint_auth_methods_supported = ["client_secret_basic", "client_secret_post", "none"];
    app.get("/.well-known/oauth-authorization-server", (_req, res) => res.json(meta));
  }
  // Records each token request (no secrets), and moves HTTP Basic client
  // credentials into the body, where the SDK's clientAuth reads them.
  app.post("/token", express.urlencoded({ extended: false }), (req, res, next) => {
    const h = req.headers.authorization ?? "";
    let method = req.body.client_assertion ? "private_key_jwt" : req.body.client_secret ? "client_secret_post" : "none";
    if (h.startsWith("Basic ")) {
      method = "client_secret_basic";
      const decoded = Buffer.from(h.slice(6), "base64").toString("utf8");
      const i = decoded.indexOf(":");
      if (i > 0 && req.body.client_secret === undefined) {
        req.body.client_id = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, " "));
        req.body.client_secret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, " "));
      }
    }
    stats.tokens.push({ grant_type: req.body.grant_type ?? null, auth_method: method, resource: req.body.resource ?? null, scope: req.body.scope ?? null, has_code_verifier: !!req.body.code_verifier, redirect_uri: req.body.redirect_uri ?? null });
    next();
  });
  app.use(mcpAuthRouter(authOptions));

  const prmUrl = getOAuthProtectedResourceMetadataUrl(mcpUrl);
  const basicAuth = requireBearerAuth({ verifier: provider, requiredScopes: ["mcp:tools"], resourceMetadataUrl: prmUrl, expectedResource: mcpUrl });
  const adminAuth = requireBearerAuth({ verifier: provider, requiredScopes: ["mcp:tools", "mcp:admin"], resourceMetadataUrl: prmUrl, expectedResource: mcpUrl });
  app.post("/mcp", express.json(), (req, res, next) => {
    res.on("finish", () => stats.mcp.push({ method: req.body?.method ?? null, tool: req.body?.params?.name ?? null, status: res.statusCode }));
    const admin = req.body?.method === "tools/call" && req.body?.params?.name === "admin";
    return (admin ? adminAuth : basicAuth)(req, res, next);
  }, async (req, res) => {
    const server = mcpServer(req.auth);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  app.all("/mcp", (_req, res) => res.status(405).json({ jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed." }, id: null }));
  return app;
}

let app = null;
const httpServer = http.createServer((req, res) => {
  if (!app) { res.statusCode = 503; return res.end(); }
  app(req, res);
});
httpServer.listen(0, "127.0.0.1", () => {
  const port = httpServer.address().port;
  app = buildApp(port);
  console.error(`sdk-oauth-server on http://127.0.0.1:${port}/mcp token-ttl=${opt.ttl}s basic=${opt.basic}`);
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
