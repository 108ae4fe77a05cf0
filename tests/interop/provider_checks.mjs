// Checks of our server (examples/quickstart) against tokens from a real
// authorization server (oidc-provider, see provider.mjs).
//
//   node provider_checks.mjs main|rotation|expiry
//
// Environment (set by run.sh):
//   ISSUER        http://127.0.0.1:<provider port>
//   MCP_URL       our server, issuer discovered with the MCP probe order (RFC 8414 first)
//   MCP_URL_OIDC  our server with MCP_AUTH_ISSUER_TYPE=oidc (optional)
//   MCP_URL_OAUTH our server with MCP_AUTH_ISSUER_TYPE=oauth (optional)
//   STATE         a JSON file carried between phases (tokens minted before a rotation / for expiry)
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assert, assertEq, check, done, info, jwtParts, mintToken, parseBearer, rpc,
} from './lib.mjs';

const phase = process.argv[2] || 'main';
const { ISSUER, MCP_URL, MCP_URL_OIDC, MCP_URL_OAUTH, STATE } = process.env;
assert(ISSUER && MCP_URL && STATE, 'ISSUER, MCP_URL and STATE must be set');
const PRM_URL = `${new URL(MCP_URL).origin}/.well-known/oauth-protected-resource${new URL(MCP_URL).pathname}`;
const LEEWAY = 30; // mcp_auth's documented default JwtOptions::leeway

const loadState = () => JSON.parse(readFileSync(STATE, 'utf8'));
const saveState = (s) => writeFileSync(STATE, JSON.stringify(s));

/** Calls `whoami` with the token and asserts a 200 with the expected client_id. */
async function expectWhoami(url, token, clientId) {
  const r = await rpc(url, token, 'tools/call', { name: 'whoami', arguments: {} });
  assert(r.status === 200, `expected 200, got ${r.status}; WWW-Authenticate: ${r.www}; body: ${JSON.stringify(r.json)}`);
  const text = r.json?.result?.content?.[0]?.text;
  assert(text, `no tool result text in ${JSON.stringify(r.json)}`);
  const who = JSON.parse(text);
  assertEq(who.client_id, clientId, 'whoami client_id');
  return who;
}

/** Asserts a 401 invalid_token challenge that still points at our metadata. */
function expectInvalidToken(r) {
  assert(r.status === 401, `expected 401, got ${r.status}; body: ${JSON.stringify(r.json)}`);
  const p = parseBearer(r.www);
  assertEq(p.error, 'invalid_token', 'challenge error');
  assertEq(p.resource_metadata, PRM_URL, 'challenge resource_metadata');
  return p.error_description;
}

async function mainPhase() {
  const state = {};

  await check('PRM: metadata document names the resource and the issuer', async () => {
    const res = await fetch(PRM_URL);
    assert(res.status === 200, `GET ${PRM_URL}: HTTP ${res.status}`);
    const prm = await res.json();
    assertEq(prm.resource, MCP_URL, 'resource');
    assertEq(prm.authorization_servers, [ISSUER], 'authorization_servers');
    assertEq(prm.scopes_supported, ['mcp:read', 'mcp:write'], 'scopes_supported');
    assertEq(prm.bearer_methods_supported, ['header'], 'bearer_methods_supported');
  });

  await check('401 without a token: Bearer challenge with scope and resource_metadata, no error', async () => {
    const r = await rpc(MCP_URL, null, 'tools/list');
    assertEq(r.status, 401, 'status');
    const p = parseBearer(r.www);
    assertEq(p.error, undefined, 'error');
    assertEq(p.scope, 'mcp:read', 'scope');
    assertEq(p.resource_metadata, PRM_URL, 'resource_metadata');
  });

  for (const [alg, client] of [['RS256', 'interop-rs256'], ['ES256', 'interop-es256'], ['PS256', 'interop-ps256'], ['EdDSA', 'interop-eddsa']]) {
    await check(`${alg}: provider token for our resource is accepted (whoami 200)`, async () => {
      const { access_token: token } = await mintToken(ISSUER, client, { resource: MCP_URL, scope: 'mcp:read' });
      const { header, claims } = jwtParts(token);
      assertEq(header.alg, alg, 'token header alg');
      assertEq(header.typ, 'at+jwt', 'token header typ');
      assertEq(claims.aud, MCP_URL, 'token aud');
      assertEq(claims.iss, ISSUER, 'token iss');
      const who = await expectWhoami(MCP_URL, token, client);
      assertEq(who.scopes, ['mcp:read'], 'whoami scopes');
      if (alg === 'RS256') state.rs256Token = token; // for the rotation phase
      return `kid ${header.kid}`;
    });
  }

  for (const [label, url] of [['oidc', MCP_URL_OIDC], ['oauth', MCP_URL_OAUTH]]) {
    if (!url) continue;
    await check(`MCP_AUTH_ISSUER_TYPE=${label}: discovery works, ES256 token accepted`, async () => {
      const { access_token: token } = await mintToken(ISSUER, 'interop-es256', { resource: url, scope: 'mcp:read' });
      await expectWhoami(url, token, 'interop-es256');
    });
  }

  await check('token minted for another resource is rejected (401 invalid_token)', async () => {
    const other = `${new URL(MCP_URL).origin}/other`;
    const { access_token: token } = await mintToken(ISSUER, 'interop-rs256', { resource: other, scope: 'mcp:read' });
    assertEq(jwtParts(token).claims.aud, other, 'token aud');
    return expectInvalidToken(await rpc(MCP_URL, token, 'tools/call', { name: 'whoami', arguments: {} }));
  });

  if (MCP_URL_OIDC) {
    await check("token for another server's resource (other port) is rejected (401 invalid_token)", async () => {
      const { access_token: token } = await mintToken(ISSUER, 'interop-rs256', { resource: MCP_URL_OIDC, scope: 'mcp:read' });
      return expectInvalidToken(await rpc(MCP_URL, token, 'tools/call', { name: 'whoami', arguments: {} }));
    });
  }

  await check('opaque token (no resource indicator) is rejected (401 invalid_token)', async () => {
    const { access_token: token } = await mintToken(ISSUER, 'interop-rs256', { scope: 'mcp:read' });
    assert(token.split('.').length !== 3, 'provider unexpectedly issued a JWT without a resource');
    return expectInvalidToken(await rpc(MCP_URL, token, 'tools/call', { name: 'whoami', arguments: {} }));
  });

  await check('read-only token on add_note: 403 insufficient_scope, scope="mcp:read mcp:write" (granted + missing)', async () => {
    const { access_token: token } = await mintToken(ISSUER, 'interop-es256', { resource: MCP_URL, scope: 'mcp:read' });
    const r = await rpc(MCP_URL, token, 'tools/call', { name: 'add_note', arguments: { text: 'hi' } });
    assertEq(r.status, 403, 'status');
    const p = parseBearer(r.www);
    assertEq(p.error, 'insufficient_scope', 'error');
    assertEq(p.scope, 'mcp:read mcp:write', 'scope');
    assertEq(p.resource_metadata, PRM_URL, 'resource_metadata');
  });

  await check('read+write token on add_note: 200', async () => {
    const { access_token: token } = await mintToken(ISSUER, 'interop-eddsa', { resource: MCP_URL, scope: 'mcp:read mcp:write' });
    const r = await rpc(MCP_URL, token, 'tools/call', { name: 'add_note', arguments: { text: 'hi' } });
    assertEq(r.status, 200, 'status');
    assertEq(JSON.parse(r.json.result.content[0].text), { saved: 'hi' }, 'tool result');
  });

  await check('write-only token (no mcp:read) on /mcp: 403 insufficient_scope, scope="mcp:write mcp:read"', async () => {
    const { access_token: token } = await mintToken(ISSUER, 'interop-rs256', { resource: MCP_URL, scope: 'mcp:write' });
    const r = await rpc(MCP_URL, token, 'tools/list');
    assertEq(r.status, 403, 'status');
    const p = parseBearer(r.www);
    assertEq(p.error, 'insufficient_scope', 'error');
    assertEq(p.scope, 'mcp:write mcp:read', 'scope');
  });

  await check('short-lived token (TTL 3 s) is accepted before and just after exp (30 s leeway)', async () => {
    const { access_token: token } = await mintToken(ISSUER, 'interop-short', { resource: MCP_URL, scope: 'mcp:read' });
    const { claims } = jwtParts(token);
    assertEq(claims.exp - claims.iat, 3, 'exp - iat');
    await expectWhoami(MCP_URL, token, 'interop-short');
    state.shortToken = token;
    state.shortExp = claims.exp;
    // Past exp but inside the documented 30 s leeway: still accepted.
    const wait = (claims.exp + 2) * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    await expectWhoami(MCP_URL, token, 'interop-short');
  });

  saveState(state);
}

async function rotationPhase() {
  const state = loadState();
  let kids = [];
  await check('rotation: provider restarted with a new key set on the same port', async () => {
    const jwks = await (await fetch(`${ISSUER}/jwks`)).json();
    kids = jwks.keys.map((k) => k.kid);
    assert(kids.length && kids.every((k) => k.startsWith(process.env.KEYSET)), `unexpected kids ${kids}`);
    return kids.join(',');
  });
  for (const [alg, client] of [['RS256', 'interop-rs256'], ['ES256', 'interop-es256'], ['PS256', 'interop-ps256'], ['EdDSA', 'interop-eddsa']]) {
    await check(`rotation: ${alg} token with a new kid accepted without restarting our server`, async () => {
      const { access_token: token } = await mintToken(ISSUER, client, { resource: MCP_URL, scope: 'mcp:read' });
      const { header } = jwtParts(token);
      assert(kids.includes(header.kid), `kid ${header.kid} not in the new key set`);
      await expectWhoami(MCP_URL, token, client);
      return `kid ${header.kid}`;
    });
  }
  await check('rotation: a token signed with a retired key is rejected (401 invalid_token)', async () => {
    assert(state.rs256Token, 'no RS256 token saved by the main phase');
    const { header, claims } = jwtParts(state.rs256Token);
    assert(!kids.includes(header.kid), 'old kid still published');
    assert(claims.exp > Date.now() / 1000 + 5, 'the saved token is about to expire: not a key test');
    return expectInvalidToken(await rpc(MCP_URL, state.rs256Token, 'tools/call', { name: 'whoami', arguments: {} }));
  });
}

async function expiryPhase() {
  const { shortToken, shortExp } = loadState();
  await check(`expired token (exp + ${LEEWAY} s leeway passed) is rejected (401 invalid_token)`, async () => {
    assert(shortToken, 'no short-lived token saved by the main phase');
    const wait = (shortExp + LEEWAY + 2) * 1000 - Date.now();
    if (wait > 0) {
      info(`waiting ${Math.ceil(wait / 1000)} s for the short-lived token to expire (TTL 3 s + ${LEEWAY} s leeway)`);
      await sleep(wait);
    }
    const description = expectInvalidToken(await rpc(MCP_URL, shortToken, 'tools/call', { name: 'whoami', arguments: {} }));
    assert(/expire/i.test(description || ''), `expected an expiry error_description, got ${JSON.stringify(description)}`);
    return description;
  });
}

const phases = { main: mainPhase, rotation: rotationPhase, expiry: expiryPhase };
assert(phases[phase], `unknown phase ${phase}`);
await phases[phase]();
done();
