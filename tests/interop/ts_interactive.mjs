// The official MCP TypeScript SDK's *interactive* OAuth flow (dynamic client
// registration, authorization code + PKCE S256, RFC 8707 resource, step-up on
// 403) against the quickstart with its embedded test issuer (mcp_auth::testing),
// which approves authorization requests at once.
//
//   MCP_URL=http://127.0.0.1:<port>/mcp node ts_interactive.mjs
//
// The "browser" is a fetch that follows the authorization redirect by hand and
// hands the code back to the transport (transport.finishAuth), as a desktop
// client's loopback redirect handler would.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { assert, assertEq, check, done, jwtParts } from './lib.mjs';

const { MCP_URL } = process.env;
assert(MCP_URL, 'MCP_URL must be set');
const prefix = 'ts-sdk[interactive, test issuer]:';
const REDIRECT = 'http://127.0.0.1:1/callback';

/** An in-memory OAuthClientProvider whose "browser" captures the code. */
class LoopbackProvider {
  constructor() {
    this.authorizations = [];
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return {
      client_name: 'mcp-auth-actix interop (interactive)',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.savedTokens; }
  saveTokens(tokens) { this.savedTokens = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  async redirectToAuthorization(url) {
    const res = await fetch(url, { redirect: 'manual' });
    assertEq(res.status, 302, `authorization endpoint status for ${url}`);
    const location = new URL(res.headers.get('location'));
    this.authorizations.push({ url: new URL(url), location });
    this.pendingCode = location.searchParams.get('code');
  }
}

const provider = new LoopbackProvider();

/** Runs `op`; on UnauthorizedError completes the redirect and retries once. */
async function withAuthorization(makeTransport, op) {
  let transport = makeTransport();
  try {
    return await op(transport);
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
    assert(provider.pendingCode, 'the SDK asked for authorization but no code was captured');
    await transport.finishAuth(provider.pendingCode);
    provider.pendingCode = undefined;
    transport = makeTransport();
    return await op(transport);
  }
}

const newTransport = () => new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider });
let client;

await check(`${prefix} registers, authorizes with PKCE and resource=, connects`, async () => {
  await withAuthorization(newTransport, async (transport) => {
    client = new Client({ name: 'interop-interactive', version: '1.0.0' });
    await client.connect(transport);
  });
  assert(provider.client?.client_id, 'no dynamic client registration happened');
  const [first] = provider.authorizations;
  assert(first, 'the SDK never went to the authorization endpoint');
  const q = first.url.searchParams;
  assertEq(q.get('code_challenge_method'), 'S256', 'code_challenge_method');
  assertEq(q.get('resource'), MCP_URL, 'resource (RFC 8707)');
  assertEq(q.get('scope'), 'mcp:read', 'scope from our 401 challenge');
  const { claims } = jwtParts(provider.savedTokens.access_token);
  assertEq(claims.aud, MCP_URL, 'token audience');
  return `client ${provider.client.client_id}, scope ${claims.scope}`;
});

await check(`${prefix} tools/call whoami`, async () => {
  const res = await client.callTool({ name: 'whoami', arguments: {} });
  const who = JSON.parse(res.content[0].text);
  assertEq(who.scopes, ['mcp:read'], 'scopes');
  assertEq(who.client_id, provider.client.client_id, 'client_id');
});

await check(`${prefix} add_note: our 403 drives the SDK's step-up; the new token keeps mcp:read`, async () => {
  await client.close();
  const result = await withAuthorization(newTransport, async (transport) => {
    client = new Client({ name: 'interop-interactive', version: '1.0.0' });
    await client.connect(transport);
    return client.callTool({ name: 'add_note', arguments: { text: 'stepped up' } });
  });
  assertEq(JSON.parse(result.content[0].text), { saved: 'stepped up' }, 'add_note result');
  const last = provider.authorizations.at(-1);
  assertEq(provider.authorizations.length, 2, 'authorizations (initial + step-up)');
  assertEq(last.url.searchParams.get('scope'), 'mcp:read mcp:write', 'step-up scope (granted + missing)');
  const { claims } = jwtParts(provider.savedTokens.access_token);
  assertEq(claims.scope, 'mcp:read mcp:write', 'stepped-up token scope');
  // The stepped-up token still works on the read path.
  const again = await client.callTool({ name: 'whoami', arguments: {} });
  assertEq(JSON.parse(again.content[0].text).scopes, ['mcp:read', 'mcp:write'], 'scopes after step-up');
  await client.close();
});

done();
