// MCP sessions bound to their callers, against examples/rmcp (rmcp +
// rmcp-actix-web in stateful mode: real Mcp-Session-Id sessions, SSE) with
// tokens from oidc-provider. The official TS SDK client A opens a session;
// a request from client B (another principal, a valid token) naming A's
// session gets 404 "Session not found" from mcp-auth-actix before rmcp sees
// it; A's session keeps working; B's own session works.
//
//   MCP_URL=http://127.0.0.1:<port>/mcp ISSUER=… node session_checks.mjs
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  assert, assertEq, check, done, mintToken,
} from './lib.mjs';

const { MCP_URL, ISSUER } = process.env;
assert(MCP_URL && ISSUER, 'MCP_URL and ISSUER must be set');

async function connect(clientId) {
  const { access_token: token } = await mintToken(ISSUER, clientId, { resource: MCP_URL, scope: 'mcp:read' });
  const transport = new StreamableHTTPClientTransport(new URL(MCP_URL), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: `sessions-${clientId}`, version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, token };
}

let a;
let b;
await check('sessions: client A (interop-client) opens an MCP session through the TS SDK', async () => {
  a = await connect('interop-client');
  assert(a.transport.sessionId, 'rmcp sent no Mcp-Session-Id');
  return `session ${a.transport.sessionId.slice(0, 8)}…`;
});

await check('sessions: client B (interop-rs256, a valid token) naming A\'s session -> 404 Session not found, before rmcp', async () => {
  b = await connect('interop-rs256');
  assert(b.transport.sessionId && b.transport.sessionId !== a.transport.sessionId, 'B has its own session');
  const res = await fetch(MCP_URL, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${b.token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': a.transport.sessionId,
      'mcp-protocol-version': a.transport.protocolVersion ?? '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
  });
  assertEq(res.status, 404, 'status');
  const body = await res.json();
  assertEq(body.error?.code, -32001, 'JSON-RPC error code');
  assertEq(body.error?.message, 'Session not found', 'message');
});

await check('sessions: A and B keep using their own sessions (tools/list, tools/call whoami)', async () => {
  for (const [name, c] of [['A', a], ['B', b]]) {
    const { tools } = await c.client.listTools();
    assert(tools.some((t) => t.name === 'whoami'), `${name}: no whoami tool`);
    const result = await c.client.callTool({ name: 'whoami', arguments: {} });
    assert(!result.isError, `${name}: whoami failed: ${JSON.stringify(result)}`);
  }
});

await a?.client.close();
await b?.client.close();
done();
