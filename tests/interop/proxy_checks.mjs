// Behind a real nginx: the quickstart serves /mcp on UPSTREAM, nginx publishes
// it at PUBLIC_URL (http://127.0.0.1:<nginx>/api/mcp, prefix stripped, with
// X-Forwarded-Proto/-Host/-Prefix), and the quickstart trusts 127.0.0.1 only.
// The TS SDK's discovery + tool call through nginx is ts_client.mjs; this
// script checks that forged Host / X-Forwarded-* headers change nothing:
// neither where clients are sent (challenge, metadata) nor what is accepted
// (audience), through nginx or straight to the upstream from 127.0.0.2 (an
// address that is not a trusted proxy).
//
//   PUBLIC_URL=… UPSTREAM=http://127.0.0.1:<port> ISSUER=… node proxy_checks.mjs
import http from 'node:http';
import {
  assert, assertEq, check, done, mintToken, parseBearer,
} from './lib.mjs';

const { PUBLIC_URL, UPSTREAM, ISSUER } = process.env;
assert(PUBLIC_URL && UPSTREAM && ISSUER, 'PUBLIC_URL, UPSTREAM and ISSUER must be set');
const pub = new URL(PUBLIC_URL);
const METADATA = `${pub.origin}/.well-known/oauth-protected-resource${pub.pathname}`;

/** One HTTP/1.1 request with exactly these headers (Host included), from `localAddress`. */
function raw(url, { method = 'GET', headers = {}, body, localAddress } = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname, method, headers, localAddress, setHost: false,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

const initialize = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami' },
});
const FORGED = [
  { host: 'evil.example' },
  { host: pub.host, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-prefix': '/evil' },
  { host: pub.host, forwarded: 'for=1.2.3.4;host=evil.example;proto=https' },
];
// Through nginx (a trusted proxy; nginx forwards the client's Host as
// X-Forwarded-Host), and straight to the upstream from 127.0.0.2.
const ROUTES = [
  { name: 'through nginx', url: PUBLIC_URL, meta: METADATA },
  {
    name: 'to the upstream from 127.0.0.2',
    url: `${UPSTREAM}/mcp`,
    meta: `${UPSTREAM}/.well-known/oauth-protected-resource${pub.pathname}`,
    localAddress: '127.0.0.2',
  },
];

const good = (await mintToken(ISSUER, 'interop-client', { resource: PUBLIC_URL, scope: 'mcp:read' })).access_token;
// Audiences a forged header could try to make acceptable: the upstream's own
// URL, and another path of the public origin (the provider mints tokens for
// 127.0.0.1 resources only).
const WRONG = [`${UPSTREAM}/mcp`, `${pub.origin}/evil/mcp`];
const wrong = await Promise.all(WRONG.map(async (resource) => (await mintToken(ISSUER, 'interop-client', { resource, scope: 'mcp:read' })).access_token));

for (const route of ROUTES) {
  await check(`proxy: ${route.name}: the public URL and a valid token work`, async () => {
    const res = await raw(route.url, {
      method: 'POST',
      localAddress: route.localAddress,
      headers: { host: pub.host, 'content-type': 'application/json', authorization: `Bearer ${good}` },
      body: initialize,
    });
    assertEq(res.status, 200, `status (${res.text.slice(0, 200)})`);
  });
  for (const forged of FORGED) {
    const label = `proxy: ${route.name}, forged ${JSON.stringify(forged)}`;
    await check(`${label}: the challenge still points to ${METADATA}`, async () => {
      const res = await raw(route.url, {
        method: 'POST', localAddress: route.localAddress, headers: { ...forged, 'content-type': 'application/json' }, body: initialize,
      });
      assertEq(res.status, 401, 'status');
      const params = parseBearer(res.headers['www-authenticate']);
      assertEq(params.resource_metadata, METADATA, 'resource_metadata');
    });
    await check(`${label}: the metadata names the public resource`, async () => {
      const res = await raw(route.meta, { localAddress: route.localAddress, headers: forged });
      assertEq(res.status, 200, 'status');
      assertEq(JSON.parse(res.text).resource, PUBLIC_URL, 'resource');
    });
    await check(`${label}: tokens for ${WRONG.join(' and ')} are refused, the public one accepted`, async () => {
      const send = (token) => raw(route.url, {
        method: 'POST',
        localAddress: route.localAddress,
        headers: { ...forged, 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: initialize,
      });
      for (const [i, token] of wrong.entries()) {
        const refused = await send(token);
        assertEq(refused.status, 401, `status with a token for ${WRONG[i]}`);
        assertEq(parseBearer(refused.headers['www-authenticate']).error, 'invalid_token', 'error');
      }
      assertEq((await send(good)).status, 200, 'status with the public token');
    });
  }
}

done();
