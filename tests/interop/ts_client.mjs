// The official MCP TypeScript SDK (@modelcontextprotocol/sdk) against our server,
// with tokens from the real authorization server (provider.mjs).
//
//   MCP_URL=http://127.0.0.1:<port>/mcp ISSUER=http://127.0.0.1:<port> node ts_client.mjs
//
// Steps (one check each): the SDK's discovery helpers read our 401 challenge, fetch
// our protected resource metadata and the provider's metadata; the SDK's
// ClientCredentialsProvider gets a token (resource= from our metadata) inside the
// Streamable HTTP transport; the client initializes, lists tools, calls whoami;
// add_note with a read-only token surfaces our 403 step-up challenge, and
// succeeds with a provider configured for mcp:write.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import {
  assert, assertEq, check, done, info, jwtParts,
} from './lib.mjs';

const { MCP_URL, ISSUER } = process.env;
assert(MCP_URL && ISSUER, 'MCP_URL and ISSUER must be set');
const prefix = `ts-sdk[${process.env.LABEL || 'quickstart'}]:`;

// Every HTTP exchange the SDK makes, for the assertions below.
const log = [];
const recordingFetch = async (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input);
  const method = init.method || (input instanceof Request ? input.method : 'GET');
  const body = typeof init.body === 'string' ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : undefined;
  const res = await fetch(input, init);
  log.push({ method, url, body, status: res.status, www: res.headers.get('www-authenticate') });
  return res;
};

let prmUrl;
let prm;
await check(`${prefix} extractWWWAuthenticateParams reads our 401 challenge`, async () => {
  const res = await fetch(MCP_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'probe', version: '0' } } }),
  });
  assertEq(res.status, 401, 'status of an unauthenticated initialize');
  const params = extractWWWAuthenticateParams(res);
  assert(params.resourceMetadataUrl, `SDK found no resource_metadata in ${res.headers.get('www-authenticate')}`);
  prmUrl = params.resourceMetadataUrl;
  assertEq(params.scope, 'mcp:read', 'scope');
  assertEq(params.error, undefined, 'error');
  return prmUrl.href;
});

await check(`${prefix} discoverOAuthProtectedResourceMetadata fetches our PRM`, async () => {
  prm = await discoverOAuthProtectedResourceMetadata(MCP_URL, { resourceMetadataUrl: prmUrl });
  assertEq(prm.resource, MCP_URL, 'resource');
  assertEq(prm.authorization_servers, [ISSUER], 'authorization_servers');
  assert(prm.scopes_supported?.includes('mcp:read'), 'scopes_supported lacks mcp:read');
});

await check(`${prefix} discoverAuthorizationServerMetadata fetches the provider's metadata`, async () => {
  const asm = await discoverAuthorizationServerMetadata(prm.authorization_servers[0]);
  assert(asm, 'no metadata found');
  assertEq(asm.issuer, ISSUER, 'issuer');
  assert(asm.grant_types_supported?.includes('client_credentials'), 'client_credentials not advertised');
  return asm.token_endpoint;
});

const provider = new ClientCredentialsProvider({
  clientId: 'interop-client',
  clientSecret: 'interop-secret',
  scope: 'mcp:read',
  expectedIssuer: ISSUER,
});
const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: recordingFetch });
const client = new Client({ name: 'mcp-auth-actix-interop-ts', version: '1.0.0' });
const transportErrors = [];
transport.onerror = (err) => transportErrors.push(String(err?.message ?? err));

await check(`${prefix} connect: 401 -> discovery -> client_credentials token with resource= -> initialize`, async () => {
  await client.connect(transport);
  const tokenReq = log.find((e) => e.method === 'POST' && e.url.startsWith(`${ISSUER}/token`));
  assert(tokenReq, `no token request; exchanges: ${JSON.stringify(log.map((e) => `${e.method} ${e.url} ${e.status}`))}`);
  assertEq(tokenReq.status, 200, 'token endpoint status');
  const form = new URLSearchParams(tokenReq.body || '');
  assertEq(form.get('grant_type'), 'client_credentials', 'grant_type');
  assertEq(form.get('resource'), prm.resource, 'resource parameter (from our PRM)');
  assert(log.some((e) => e.url === prmUrl.href && e.status === 200), 'the transport did not fetch our PRM');
  assert(log.some((e) => e.url === MCP_URL && e.status === 401), 'the transport never saw our 401');
  const { claims } = jwtParts(provider.tokens().access_token);
  assertEq(claims.aud, MCP_URL, 'access token aud');
  return `server ${client.getServerVersion()?.name}, protocol ${transport.protocolVersion ?? '?'}`;
});

await check(`${prefix} tools/list returns whoami and add_note`, async () => {
  const { tools } = await client.listTools();
  assertEq(tools.map((t) => t.name).sort(), ['add_note', 'whoami'], 'tool names');
});

await check(`${prefix} tools/call whoami returns the client and its scopes`, async () => {
  const res = await client.callTool({ name: 'whoami', arguments: {} });
  assert(!res.isError, `tool error: ${JSON.stringify(res)}`);
  const who = JSON.parse(res.content[0].text);
  assertEq(who.client_id, 'interop-client', 'client_id');
  assertEq(who.scopes, ['mcp:read'], 'scopes');
  return res.content[0].text;
});

await check(`${prefix} add_note with a read-only token: SDK surfaces our 403 insufficient_scope, scope="mcp:read mcp:write"`, async () => {
  const before = log.length;
  let error;
  try {
    const res = await client.callTool({ name: 'add_note', arguments: { text: 'from ts' } });
    throw new Error(`expected a 403, the call succeeded: ${JSON.stringify(res)}`);
  } catch (err) {
    error = err;
  }
  assert(error?.code === 403, `expected StreamableHTTPError 403, got ${error}`);
  const forbidden = log.slice(before).filter((e) => e.status === 403);
  assert(forbidden.length, 'the SDK never saw our 403');
  const params = extractWWWAuthenticateParams(new Response(null, { status: 403, headers: { 'www-authenticate': forbidden[0].www } }));
  assertEq(params.error, 'insufficient_scope', 'error parsed by the SDK');
  assertEq(params.scope, 'mcp:read mcp:write', 'scope parsed by the SDK');
  assertEq(params.resourceMetadataUrl?.href, prmUrl.href, 'resource_metadata parsed by the SDK');
  const tokenReqs = log.slice(before).filter((e) => e.method === 'POST' && e.url.startsWith(`${ISSUER}/token`));
  const scopes = tokenReqs.map((e) => new URLSearchParams(e.body || '').get('scope'));
  if (!scopes.some((sc) => (sc || '').split(' ').includes('mcp:write'))) {
    info(`${prefix} on the 403`
      + ' the SDK re-ran auth() but its client_credentials token request used the '
      + `provider's configured scope (${JSON.stringify(scopes)}), not the challenged "mcp:write" `
      + '(fetchToken() sends clientMetadata.scope): SDK limitation, step-up needs a wider configured scope');
  }
  return error.message;
});

await check(`${prefix} add_note with ClientCredentialsProvider scope "mcp:read mcp:write": 200`, async () => {
  const writer = new Client({ name: 'mcp-auth-actix-interop-ts-writer', version: '1.0.0' });
  const writerTransport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    authProvider: new ClientCredentialsProvider({
      clientId: 'interop-client', clientSecret: 'interop-secret', scope: 'mcp:read mcp:write', expectedIssuer: ISSUER,
    }),
  });
  await writer.connect(writerTransport);
  try {
    const res = await writer.callTool({ name: 'add_note', arguments: { text: 'from ts' } });
    assert(!res.isError, `tool error: ${JSON.stringify(res)}`);
    assertEq(JSON.parse(res.content[0].text), { saved: 'from ts' }, 'add_note result');
  } finally {
    await writer.close().catch(() => {});
  }
});

const getStream = log.find((e) => e.method === 'GET' && e.url === MCP_URL);
if (getStream && getStream.status !== 405 && getStream.status !== 200) {
  info(`${prefix} GET ${MCP_URL} (optional SSE stream) answered ${getStream.status}; Streamable HTTP expects `
    + `405 when no stream is offered. SDK error (ignored by the client): ${transportErrors.filter((m) => /SSE/.test(m)).slice(0, 1).join('; ') || 'none'}`);
}

await client.close().catch(() => {});
done();
