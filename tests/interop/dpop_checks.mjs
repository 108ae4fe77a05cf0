// DPoP (RFC 9449) end to end: oidc-provider issues DPoP-bound tokens to a real
// DPoP client (oauth4webapi), which then calls examples/quickstart run with
// MCP_AUTH_DPOP=required.
//
//   node dpop_checks.mjs provider   one quickstart (env MCP_URL)
//   node dpop_checks.mjs replicas   two quickstart replicas behind one public URL
//
// Environment (set by run.sh):
//   ISSUER      http://127.0.0.1:<provider port>
//   MCP_URL     (provider) the quickstart with MCP_AUTH_DPOP=required
//   RESOURCE    (replicas) the public resource URL both replicas are configured with
//               (MCP_RESOURCE), i.e. the URL in every proof's htu, as behind a load balancer
//   REPLICA_A, REPLICA_B  (replicas) where each replica actually listens
//   STORE       (replicas) "redis": both share one redis-server (checks, PASS/FAIL);
//               "memory": each has its own in-memory replay store (INFO lines only)
//
// The client: oauth4webapi's DPoP handle (ES256 key from generateKeyPair) signs
// every proof: at the token endpoint (clientCredentialsGrantRequest) and at our
// server (protectedResourceRequest). A customFetch hook records what was sent
// and received, so that a proof can be replayed byte for byte with plain fetch.
import * as oauth from 'oauth4webapi';
import { assert, assertEq, check, done, info, jwtParts } from './lib.mjs';

const phase = process.argv[2] || 'provider';
const { ISSUER } = process.env;
assert(ISSUER, 'ISSUER must be set');
const CLIENT_ID = 'interop-dpop';
const SECRET = 'interop-secret';
// mcp_auth's error_description for a replay, and for an htu mismatch
const REPLAY = 'The DPoP proof was already used.';
const HTU = "The DPoP proof's `htu` does not match the request URL.";
const insecure = { [oauth.allowInsecureRequests]: true }; // plain http on loopback

/** Parses a WWW-Authenticate value with one or more challenges into { scheme: { param: value } }. */
function parseChallenges(header) {
  if (!header) throw new Error('no WWW-Authenticate header');
  const s = header.trim();
  const tchar = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
  const param = new RegExp(`\\s*(${tchar})\\s*=\\s*("(?:[^"\\\\]|\\\\.)*"|${tchar}=*)\\s*(?:,|$)`, 'y');
  const scheme = new RegExp(`\\s*(${tchar})(?:\\s+|\\s*,|$)`, 'y');
  const out = {};
  let cur = null;
  let i = 0;
  while (i < s.length) {
    param.lastIndex = i;
    let m = cur && param.exec(s);
    if (m) {
      const v = m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\(.)/g, '$1') : m[2];
      cur[m[1].toLowerCase()] = v;
      i = param.lastIndex;
      continue;
    }
    scheme.lastIndex = i;
    m = scheme.exec(s);
    if (!m || scheme.lastIndex === i) throw new Error(`unparsable WWW-Authenticate: ${header}`);
    cur = out[m[1].toLowerCase()] = {};
    i = scheme.lastIndex;
  }
  return out;
}

const show = (r) => `HTTP ${r.status}; WWW-Authenticate: ${r.www}; body: ${JSON.stringify(r.body).slice(0, 200)}`;

/** Asserts a 401 with a DPoP challenge error="invalid_dpop_proof"; returns its params. */
function expectInvalidProof(r, description) {
  assert(r.status === 401, `expected 401, got ${show(r)}`);
  const dpop = parseChallenges(r.www).dpop;
  assert(dpop, `no DPoP challenge in WWW-Authenticate: ${r.www}`);
  assertEq(dpop.error, 'invalid_dpop_proof', 'DPoP challenge error');
  if (description) assertEq(dpop.error_description, description, 'DPoP challenge error_description');
  return `WWW-Authenticate: ${r.www}`;
}

/** Asserts a 401 whose challenge says invalid_token (a bound token under the Bearer scheme). */
function expectBearerRefused(r) {
  assert(r.status === 401, `expected 401, got ${show(r)}`);
  const errors = Object.values(parseChallenges(r.www)).map((p) => p.error);
  assert(errors.includes('invalid_token'), `no error="invalid_token" in WWW-Authenticate: ${r.www}`);
  return `WWW-Authenticate: ${r.www}`;
}

function rpcBody(method, params, id = 1) {
  return JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
}

const RPC_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function readResponse(res) {
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, www: res.headers.get('www-authenticate'), body };
}

/** A DPoP client: oauth4webapi, client_credentials with client_secret_basic, an ES256 proof key. */
async function dpopClient(resource) {
  const issuer = new URL(ISSUER);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  const client = { client_id: CLIENT_ID };
  const keyPair = await oauth.generateKeyPair('ES256');
  const DPoP = oauth.DPoP(client, keyPair);
  let tokenExchange;
  const recordingFetch = async (url, options) => {
    const res = await fetch(url, options);
    tokenExchange = { headers: options.headers, raw: await res.clone().json().catch(() => null) };
    return res;
  };
  const response = await oauth.clientCredentialsGrantRequest(
    as, client, oauth.ClientSecretBasic(SECRET), { resource, scope: 'mcp:read' },
    { DPoP, ...insecure, [oauth.customFetch]: recordingFetch },
  );
  const token = await oauth.processClientCredentialsResponse(as, client, response);
  return { as, client, DPoP, token, tokenExchange, jkt: await DPoP.calculateThumbprint() };
}

/**
 * One MCP request through oauth4webapi's protectedResourceRequest: the proof is
 * signed for `signedUrl` (htu) and the request goes to `sendTo` (default: the
 * same URL; `dryRun`: build the request, send nothing). Returns the response
 * and the exact headers sent.
 */
async function call(c, signedUrl, method, params, { sendTo, dryRun } = {}) {
  let sent;
  let got;
  const customFetch = async (url, options) => {
    sent = options.headers;
    if (dryRun) {
      got = { status: 0 };
      return new Response(null, { status: 204 });
    }
    const res = await fetch(sendTo ?? url, options);
    got = await readResponse(res.clone());
    return res;
  };
  try {
    await oauth.protectedResourceRequest(
      c.token.access_token, 'POST', new URL(signedUrl), new Headers(RPC_HEADERS), rpcBody(method, params),
      { DPoP: c.DPoP, ...insecure, [oauth.customFetch]: customFetch },
    );
  } catch (err) {
    // protectedResourceRequest rejects on a WWW-Authenticate challenge; the
    // recorded response is what the checks look at.
    if (!got) throw err;
  }
  return { ...got, sent };
}

/** Sends exactly the given headers again (a replay, or a changed Authorization scheme). */
async function resend(url, headers, method, params) {
  const res = await fetch(url, { method: 'POST', headers, body: rpcBody(method, params) });
  return readResponse(res);
}

function whoamiClientId(r) {
  assert(r.status === 200, `expected 200, got ${show(r)}`);
  const text = r.body?.result?.content?.[0]?.text;
  assert(text, `no tool result text in ${JSON.stringify(r.body)}`);
  return JSON.parse(text).client_id;
}

async function providerPhase() {
  const { MCP_URL } = process.env;
  assert(MCP_URL, 'MCP_URL must be set');
  let c;

  await check('DPoP: PRM of the quickstart with MCP_AUTH_DPOP=required advertises DPoP', async () => {
    const u = new URL(MCP_URL);
    const res = await fetch(`${u.origin}/.well-known/oauth-protected-resource${u.pathname}`);
    assert(res.status === 200, `PRM: HTTP ${res.status}`);
    const prm = await res.json();
    assertEq(prm.dpop_bound_access_tokens_required, true, 'dpop_bound_access_tokens_required');
    assert(prm.dpop_signing_alg_values_supported?.includes('ES256'),
      `dpop_signing_alg_values_supported: ${JSON.stringify(prm.dpop_signing_alg_values_supported)}`);
    return `dpop_signing_alg_values_supported ${prm.dpop_signing_alg_values_supported.join(' ')}`;
  });

  await check('DPoP: oidc-provider refuses a token request without a DPoP proof for a dpop_bound_access_tokens client', async () => {
    const res = await fetch(`${ISSUER}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: MCP_URL, scope: 'mcp:read' }),
    });
    const json = await res.json().catch(() => ({}));
    assert(res.status === 400, `expected 400, got HTTP ${res.status} ${JSON.stringify(json)}`);
    return `${json.error}: ${json.error_description}`;
  });

  await check('DPoP: oauth4webapi gets a DPoP-bound token from oidc-provider (token_type DPoP, JWT cnf.jkt = the proof key thumbprint)', async () => {
    c = await dpopClient(MCP_URL);
    assert(c.tokenExchange.headers.dpop, 'the token request carried no DPoP header');
    assertEq(c.tokenExchange.raw?.token_type, 'DPoP', 'token response token_type');
    const { header, claims } = jwtParts(c.token.access_token);
    assertEq(header.typ, 'at+jwt', 'access token typ');
    assertEq(claims.aud, MCP_URL, 'access token aud');
    assertEq(claims.cnf?.jkt, c.jkt, 'access token cnf.jkt');
    return `alg ${header.alg}, cnf.jkt ${claims.cnf.jkt}`;
  });
  if (!c) return;

  let first;
  await check('DPoP: initialize with Authorization: DPoP + a fresh proof (protectedResourceRequest) -> 200', async () => {
    first = await call(c, MCP_URL, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'oauth4webapi-dpop', version: '0' },
    });
    assert(first.status === 200, `expected 200, got ${show(first)}`);
    assert(first.sent.authorization.startsWith('DPoP '), `sent Authorization: ${first.sent.authorization}`);
    assert(first.body?.result?.protocolVersion, `no initialize result: ${JSON.stringify(first.body)}`);
  });

  await check('DPoP: tools/call whoami with a new proof -> 200, client_id interop-dpop', async () => {
    const r = await call(c, MCP_URL, 'tools/call', { name: 'whoami', arguments: {} });
    assertEq(whoamiClientId(r), CLIENT_ID, 'whoami client_id');
  });

  await check('DPoP: the same proof replayed -> 401, DPoP challenge error="invalid_dpop_proof" (replay)', async () => {
    assert(first?.sent, 'no first request to replay');
    const r = await resend(MCP_URL, first.sent, 'tools/call', { name: 'whoami', arguments: {} });
    return expectInvalidProof(r, REPLAY);
  });

  await check('DPoP: the DPoP-bound token sent as Bearer (no proof) -> 401', async () => {
    const r = await resend(MCP_URL, { ...RPC_HEADERS, authorization: `Bearer ${c.token.access_token}` },
      'tools/call', { name: 'whoami', arguments: {} });
    return expectBearerRefused(r);
  });

  await check('DPoP: the DPoP-bound token sent as Bearer with a fresh proof -> 401', async () => {
    // a proof from oauth4webapi for this very request (not sent), the token under the Bearer scheme
    const proofFor = await call(c, MCP_URL, 'tools/call', { name: 'whoami', arguments: {} }, { dryRun: true });
    const r = await resend(MCP_URL, { ...proofFor.sent, authorization: `Bearer ${c.token.access_token}` },
      'tools/call', { name: 'whoami', arguments: {} });
    return expectBearerRefused(r);
  });

  await check('DPoP: a proof signed for another URL (htu) -> 401 invalid_dpop_proof', async () => {
    const other = `${new URL(MCP_URL).origin}/other`;
    const r = await call(c, other, 'tools/call', { name: 'whoami', arguments: {} }, { sendTo: MCP_URL });
    return expectInvalidProof(r, HTU);
  });
}

async function replicasPhase() {
  const { RESOURCE, REPLICA_A, REPLICA_B, STORE } = process.env;
  assert(RESOURCE && REPLICA_A && REPLICA_B && STORE, 'RESOURCE, REPLICA_A, REPLICA_B and STORE must be set');
  const c = await dpopClient(RESOURCE);
  const whoami = ['tools/call', { name: 'whoami', arguments: {} }];
  // Every proof names the public URL (htu = RESOURCE); A and B both serve it.
  if (STORE === 'redis') {
    let atA;
    await check('DPoP replicas (Redis): a proof used at replica A -> 200', async () => {
      atA = await call(c, RESOURCE, ...whoami, { sendTo: REPLICA_A });
      assertEq(whoamiClientId(atA), CLIENT_ID, 'whoami client_id');
    });
    await check('DPoP replicas (Redis): the same proof at replica B -> 401 invalid_dpop_proof (replay)', async () => {
      assert(atA?.sent, 'no proof used at A');
      return expectInvalidProof(await resend(REPLICA_B, atA.sent, ...whoami), REPLAY);
    });
    await check('DPoP replicas (Redis): a fresh proof at replica B -> 200 (B serves the same resource)', async () => {
      const r = await call(c, RESOURCE, ...whoami, { sendTo: REPLICA_B });
      assertEq(whoamiClientId(r), CLIENT_ID, 'whoami client_id');
    });
  } else {
    const atA = await call(c, RESOURCE, ...whoami, { sendTo: REPLICA_A });
    const atB = await resend(REPLICA_B, atA.sent, ...whoami);
    const again = await resend(REPLICA_A, atA.sent, ...whoami);
    info(`DPoP replicas without Redis (default in-memory replay store, one per process): a proof used at A `
      + `(HTTP ${atA.status}) replayed at B -> HTTP ${atB.status}${atB.status === 200 ? ' (accepted: the default store covers one replica only; use a shared store, e.g. MCP_AUTH_REDIS)' : `; ${atB.www}`}`
      + `; replayed at A again -> HTTP ${again.status}`);
  }
}

if (phase === 'provider') await providerPhase();
else if (phase === 'replicas') await replicasPhase();
else throw new Error(`unknown phase ${phase}`);
done();
