// A real browser as the MCP client: headless Chromium (the system package),
// driven by puppeteer-core, loads a page from ANOTHER origin (a static server
// started here on its own 127.0.0.1 port) whose own fetch() calls do what a
// browser-based MCP client (e.g. the MCP Inspector web UI) does against the
// quickstart with its embedded test issuer: the 401 challenge read from JS,
// both metadata documents, dynamic client registration and a client_credentials
// token from the test issuer, then tool calls with `Authorization: Bearer`
// (CORS preflights: Authorization and a JSON body are not CORS-safelisted).
//
//   MCP_URL=http://127.0.0.1:<port>/mcp [LABEL=quickstart] node browser.mjs
//
// Environment: MCP_URL (required); LABEL (optional) names the server in the
// check names; CHROMIUM (optional) the browser binary,
// otherwise `chromium` (or `chromium-browser`) on PATH. A missing browser is a
// FAIL line, never a skip. Each step runs in the page; a failed step's message
// carries what the browser said meanwhile (console errors such as "blocked by
// CORS policy", failed requests).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import puppeteer from 'puppeteer-core';
import { assert, check, done, info } from './lib.mjs';

const { MCP_URL, LABEL = 'server' } = process.env;
assert(MCP_URL, 'MCP_URL must be set');
const prefix = `browser[headless chromium, ${LABEL}]:`;

/** The browser binary: $CHROMIUM, else chromium / chromium-browser on PATH. */
function findChromium() {
  if (process.env.CHROMIUM) return existsSync(process.env.CHROMIUM) ? process.env.CHROMIUM : null;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    } catch {
      // not on PATH
    }
  }
  return null;
}

// ------------------------------------------------------------------ the page
// Runs in the browser (serialized into the page): every step is a plain
// fetch() from the page's origin. Steps share `ctx` and return
// { ok, detail } or { ok: false, error }.
function pageMain() {
  const ctx = {};
  const PROTOCOL = '2025-11-25';
  /** fetch() that gives up after 15 s: a hung server is a FAIL line, not a step timeout. */
  const timedFetch = (url, init = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });

  function fail(msg) {
    throw new Error(msg);
  }
  function eq(actual, expected, what) {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
  }
  /** `Bearer k="v", k2=v2` -> { k: 'v', k2: 'v2' } (quoted-string aware). */
  function challenge(header) {
    if (!header) fail('WWW-Authenticate is not readable from JS (null): not exposed by CORS');
    const m = /^\s*Bearer\s+(.*)$/i.exec(header);
    if (!m) fail(`not a Bearer challenge: ${header}`);
    const params = {};
    const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?\s*/gy;
    let match;
    while ((match = re.exec(m[1])) !== null) {
      params[match[1].toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
    }
    return params;
  }
  async function body(res) {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  /** One JSON-RPC POST, as a Streamable HTTP client sends it. */
  async function rpc(method, params, token) {
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': PROTOCOL,
    };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await timedFetch(ctx.mcpUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return { res, json: await body(res), www: res.headers.get('www-authenticate') };
  }
  function jwtClaims(token) {
    const seg = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(seg + '='.repeat((4 - (seg.length % 4)) % 4)));
  }
  function need(key, step) {
    if (!ctx[key]) fail(`needs ${key} from step "${step}", which failed`);
    return ctx[key];
  }

  const steps = {
    // a. No token: 401, and the challenge is readable from JS.
    async unauthenticated(mcpUrl) {
      ctx.mcpUrl = mcpUrl;
      const mcpOrigin = new URL(mcpUrl).origin;
      if (mcpOrigin === location.origin) fail(`the page must be cross-origin, both are ${mcpOrigin}`);
      const { res, json, www } = await rpc('initialize', {
        protocolVersion: PROTOCOL,
        capabilities: {},
        clientInfo: { name: 'browser-interop', version: '1.0.0' },
      });
      eq(res.status, 401, 'status');
      const params = challenge(www);
      if (!params.resource_metadata) fail(`no resource_metadata in ${www}`);
      eq(params.scope, 'mcp:read', 'challenge scope');
      eq(json.error, 'unauthorized', 'body error');
      ctx.resourceMetadata = params.resource_metadata;
      return `page ${location.origin} -> ${mcpOrigin}; WWW-Authenticate: ${www}`;
    },

    // b. The protected resource metadata (RFC 9728), cross-origin; the
    // MCP-Protocol-Version header (sent by the SDKs) makes it a preflighted GET.
    async resourceMetadata() {
      const url = need('resourceMetadata', 'unauthenticated');
      const res = await timedFetch(url, { headers: { 'mcp-protocol-version': PROTOCOL } });
      eq(res.status, 200, `status of ${url}`);
      const doc = await res.json();
      eq(doc.resource, ctx.mcpUrl, 'resource');
      if (!doc.authorization_servers?.[0]) fail(`no authorization_servers in ${JSON.stringify(doc)}`);
      ctx.resource = doc.resource;
      ctx.issuer = doc.authorization_servers[0];
      return `authorization_servers[0] = ${ctx.issuer}`;
    },

    // c1. The authorization server metadata (RFC 8414), cross-origin.
    async authorizationServerMetadata() {
      const issuer = new URL(need('issuer', 'resourceMetadata'));
      const path = issuer.pathname.replace(/\/$/, '');
      const url = `${issuer.origin}/.well-known/oauth-authorization-server${path}`;
      const res = await timedFetch(url, { headers: { 'mcp-protocol-version': PROTOCOL } });
      eq(res.status, 200, `status of ${url}`);
      const doc = await res.json();
      eq(doc.issuer, ctx.issuer, 'issuer');
      if (!doc.token_endpoint || !doc.registration_endpoint) fail(`no token/registration endpoint in ${JSON.stringify(doc)}`);
      if (!doc.grant_types_supported?.includes('client_credentials')) fail('client_credentials not supported');
      ctx.as = doc;
      return `token_endpoint ${doc.token_endpoint}`;
    },

    // c2. RFC 7591 dynamic client registration (JSON POST: preflighted).
    async register() {
      const as = need('as', 'authorizationServerMetadata');
      const res = await timedFetch(as.registration_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'mcp-auth-actix interop (browser)',
          grant_types: ['client_credentials'],
          token_endpoint_auth_method: 'client_secret_basic',
          scope: 'mcp:read',
        }),
      });
      const json = await body(res);
      eq(res.status, 201, `registration status (${JSON.stringify(json)})`);
      if (!json.client_id || !json.client_secret) fail(`no client_id/client_secret in ${JSON.stringify(json)}`);
      ctx.client = json;
      return `client_id ${json.client_id}`;
    },

    // c3. client_credentials with RFC 8707 resource and scope=mcp:read;
    // client_secret_basic (an Authorization header: preflighted).
    async token() {
      const as = need('as', 'authorizationServerMetadata');
      const client = need('client', 'register');
      const res = await timedFetch(as.token_endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${btoa(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`)}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: ctx.resource, scope: 'mcp:read' }),
      });
      const json = await body(res);
      eq(res.status, 200, `token status (${JSON.stringify(json)})`);
      eq(json.token_type, 'Bearer', 'token_type');
      const claims = jwtClaims(json.access_token);
      eq(claims.aud, ctx.resource, 'token aud');
      eq(claims.scope, 'mcp:read', 'token scope');
      eq(claims.client_id, client.client_id, 'token client_id');
      ctx.token = json.access_token;
      return `aud ${claims.aud}, scope ${claims.scope}`;
    },

    // d1. initialize and tools/call whoami with the token: 200, results readable.
    async whoami() {
      const token = need('token', 'token');
      const init = await rpc(
        'initialize',
        { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'browser-interop', version: '1.0.0' } },
        token,
      );
      eq(init.res.status, 200, `initialize status (${JSON.stringify(init.json)})`);
      if (!init.json?.result?.serverInfo?.name) fail(`initialize result: ${JSON.stringify(init.json)}`);
      const call = await rpc('tools/call', { name: 'whoami', arguments: {} }, token);
      eq(call.res.status, 200, `tools/call status (${JSON.stringify(call.json)})`);
      const who = JSON.parse(call.json?.result?.content?.[0]?.text ?? 'null');
      eq(who?.scopes, ['mcp:read'], 'whoami scopes');
      eq(who?.client_id, ctx.client.client_id, 'whoami client_id');
      return `server ${init.json.result.serverInfo.name}; whoami ${JSON.stringify(who)}`;
    },

    // d2. add_note with the read-only token: 403 insufficient_scope, challenge readable.
    async insufficientScope() {
      const token = need('token', 'token');
      const { res, json, www } = await rpc('tools/call', { name: 'add_note', arguments: { text: 'x' } }, token);
      eq(res.status, 403, `status (${JSON.stringify(json)})`);
      const params = challenge(www);
      eq(params.error, 'insufficient_scope', 'challenge error');
      eq(params.scope, 'mcp:read mcp:write', 'challenge scope (granted + missing)');
      eq(params.resource_metadata, ctx.resourceMetadata, 'challenge resource_metadata');
      return `WWW-Authenticate: ${www}`;
    },
  };

  window.mcpStep = async (name, arg) => {
    try {
      return { ok: true, detail: await steps[name](arg) };
    } catch (err) {
      return { ok: false, error: `${err?.name ?? 'Error'}: ${err?.message ?? err}` };
    }
  };
  window.mcpReady = true;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>mcp-auth-actix browser interop</title>
<link rel="icon" href="data:,"></head>
<body><p>Browser-based MCP client checks (driven by puppeteer-core).</p>
<script>(${pageMain.toString()})();</script></body></html>`;

// ----------------------------------------------------------------- driver
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE);
  } else {
    res.writeHead(404).end();
  }
});
await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).on('error', reject));
const pageUrl = `http://127.0.0.1:${server.address().port}/`;

const log = []; // what the browser said: console messages, page errors, failed requests
const preflights = []; // CORS preflights the browser sent: { url, headers }
let browser;
let page;

const launched = await check(`${prefix} launch Chromium, load a page from another origin (${pageUrl})`, async () => {
  const executablePath = findChromium();
  assert(
    executablePath,
    'Chromium not found (set CHROMIUM, or install it: apt-get install -y --no-install-recommends chromium)',
  );
  browser = await puppeteer.launch({
    executablePath,
    headless: true, // the new headless mode: puppeteer-core passes --headless=new
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run'], // --no-sandbox: CI runs as root
    timeout: 60_000,
  });
  page = await browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warn') log.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => log.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) =>
    log.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? '?'}`),
  );
  // CORS preflights are not page requests in puppeteer's API; the DevTools
  // protocol reports them (OPTIONS with Access-Control-Request-*).
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', ({ request }) => {
    if (request.method !== 'OPTIONS') return;
    const h = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    preflights.push({ url: request.url, headers: h['access-control-request-headers'] ?? '' });
  });
  const res = await page.goto(pageUrl, { waitUntil: 'load' });
  assert(res?.status() === 200, `page status ${res?.status()}`);
  assert(await page.evaluate(() => window.mcpReady === true), `page script did not run: ${log.join(' | ')}`);
  return `${await browser.version()} at ${executablePath}`;
});

/**
 * Runs one page step; a failure carries the browser's messages meanwhile.
 * `mustPreflight`: a header that a preflight of this step must have asked for.
 */
async function step(label, name, arg, mustPreflight) {
  await check(`${prefix} ${label}`, async () => {
    const before = log.length;
    const preflightsBefore = preflights.length;
    const result = await page.evaluate((n, a) => window.mcpStep(n, a), name, arg);
    await new Promise((r) => setTimeout(r, 200)); // protocol events trail the fetch
    const said = log.slice(before);
    const sent = preflights.slice(preflightsBefore);
    if (!result.ok) {
      const pf = sent.map((p) => `OPTIONS ${p.url} [${p.headers}]`).join(', ');
      throw new Error(
        `${result.error}${said.length ? ` | browser said: ${said.join(' | ')}` : ''}${pf ? ` | preflights sent: ${pf}` : ''}`,
      );
    }
    if (mustPreflight) {
      assert(
        sent.some((p) => p.headers.toLowerCase().split(/\s*,\s*/).includes(mustPreflight)),
        `no CORS preflight asking for ${mustPreflight} was seen (preflights: ${JSON.stringify(sent)})`,
      );
    }
    const shown = sent.map((p) => `OPTIONS ${new URL(p.url).pathname} [${p.headers}]`).join(', ');
    return `${result.detail}${shown ? `; preflight ${shown}` : ''}`;
  });
}

if (!launched) {
  server.close();
  await browser?.close().catch(() => {});
  done();
  process.exit(1);
}

try {
  await step('POST initialize without a token: 401, WWW-Authenticate readable from JS', 'unauthenticated', MCP_URL);
  await step('protected resource metadata (cross-origin, preflighted)', 'resourceMetadata');
  await step('authorization server metadata of the test issuer (cross-origin, preflighted)', 'authorizationServerMetadata');
  await step('dynamic client registration (cross-origin JSON POST)', 'register');
  await step('client_credentials token with resource= and scope=mcp:read (client_secret_basic)', 'token', 'authorization');
  await step('initialize + tools/call whoami with Authorization: Bearer: 200, result readable', 'whoami', 'authorization');
  await step('tools/call add_note with the read-only token: 403 insufficient_scope readable', 'insufficientScope');
  // The 401 and 403 are expected; anything else the browser said is shown.
  const other = log.filter((m) => !/Failed to load resource: the server responded with a status of 40[13]\b/.test(m));
  if (other.length) info(`browser messages: ${other.join(' | ').slice(0, 1500)}`);
} finally {
  await browser?.close().catch(() => {});
  server.close();
}

done();
