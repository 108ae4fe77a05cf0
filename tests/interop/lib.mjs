// Small helpers shared by the Node check scripts: one line per check
// ("PASS  name" / "FAIL  name: reason"), exit code 1 if any check failed.
import { decodeJwt, decodeProtectedHeader } from 'jose';

let failed = 0;
let passed = 0;

/** Runs one named check; `fn` throws (or rejects) with a readable message on failure. */
export async function check(name, fn) {
  try {
    const detail = await fn();
    passed += 1;
    console.log(`PASS  ${name}${detail ? ` (${detail})` : ''}`);
    return true;
  } catch (err) {
    failed += 1;
    const cause = err?.cause ? ` (cause: ${err.cause.code ?? ''} ${err.cause.message ?? err.cause})` : '';
    const msg = `${err?.message ?? err}${cause}`.replace(/\s+/g, ' ').slice(0, 600);
    console.log(`FAIL  ${name}: ${msg}`);
    return false;
  }
}

export function info(msg) {
  console.log(`INFO  ${msg}`);
}

export function done() {
  process.exitCode = failed ? 1 : 0;
  return { passed, failed };
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function assertEq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Parses `Bearer k="v", k2="v2"` (RFC 6750 / RFC 9110 auth-params) into an object. */
export function parseBearer(header) {
  if (!header) throw new Error('no WWW-Authenticate header');
  const m = /^\s*Bearer(?:\s+(.*))?$/i.exec(header);
  if (!m) throw new Error(`WWW-Authenticate is not a Bearer challenge: ${header}`);
  const params = {};
  const re = /\s*([A-Za-z0-9_\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)/gy;
  const rest = m[1] ?? '';
  let match;
  let last = 0;
  while ((match = re.exec(rest)) !== null) {
    params[match[1].toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
    last = re.lastIndex;
    if (last >= rest.length) break;
  }
  if (last < rest.trim().length) throw new Error(`unparsable auth-params in: ${header}`);
  return params;
}

export function jwtParts(token) {
  return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
}

/** client_credentials token request against the provider; returns the parsed JSON body. */
export async function mintToken(issuer, clientId, { resource, scope, secret = 'interop-secret' } = {}) {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (resource) body.set('resource', resource);
  if (scope) body.set('scope', scope);
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body,
  });
  const json = await res.json().catch(() => ({}));
  if (res.status !== 200 || !json.access_token) {
    throw new Error(`token request for ${clientId} failed: HTTP ${res.status} ${JSON.stringify(json)}`);
  }
  return json;
}

/** POSTs one JSON-RPC request to the MCP endpoint; returns { status, www, json, headers }. */
export async function rpc(url, token, method, params, id = 1) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const msg = { jsonrpc: '2.0', method };
  if (id !== null) msg.id = id;
  if (params) msg.params = params;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(msg) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, www: res.headers.get('www-authenticate'), json, headers: res.headers };
}
