// A real OAuth 2.0 / OpenID Connect authorization server for the interop tests:
// panva's oidc-provider, with the client_credentials grant and RFC 8707 resource
// indicators, issuing JWT access tokens (RFC 9068, typ "at+jwt").
//
//   node provider.mjs            (env: PORT, KEYSET, TTL, LOG)
//
// - Issuer: http://127.0.0.1:$PORT (dev mode: plain http on loopback).
// - Keys: one RSA (RS256 + PS256), one P-256 (ES256) and one Ed25519 (EdDSA)
//   signing key, generated at start with kids "<KEYSET>-rsa", "<KEYSET>-ec",
//   "<KEYSET>-ed". Restart with another KEYSET on the same port = key rotation.
// - Clients (client_secret_basic or client_secret_post, secret "interop-secret"):
//     interop-client  RS256, TTL $TTL (default 300 s)  - used by the MCP SDK clients
//     interop-rs256 / interop-es256 / interop-ps256 / interop-eddsa
//     interop-short   RS256, TTL 3 s (expiry test)
//     interop-dpop    ES256, dpop_bound_access_tokens: a token request without a
//                     DPoP proof is refused; tokens are DPoP-bound (cnf.jkt)
//   The signing alg and TTL of an access token are chosen per client (see
//   getResourceServerInfo), for any http://127.0.0.1 resource indicator.
// - Prints "READY <issuer>" on stdout once listening.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 4000);
const keyset = process.env.KEYSET || 'k1';
const defaultTtl = Number(process.env.TTL || 300);
const issuer = `http://127.0.0.1:${port}`;
const SECRET = 'interop-secret';
const SCOPES = 'mcp:read mcp:write';

function jwk(type, options, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  // Node's RSA JWK has no "alg" member: one RSA key serves RS256 and PS256.
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig' };
}

const keys = [
  jwk('rsa', { modulusLength: 2048 }, `${keyset}-rsa`),
  jwk('ec', { namedCurve: 'P-256' }, `${keyset}-ec`),
  jwk('ed25519', {}, `${keyset}-ed`),
];

// client_id -> [alg, ttl]
const clientProfiles = {
  'interop-client': ['RS256', defaultTtl],
  'interop-rs256': ['RS256', defaultTtl],
  'interop-es256': ['ES256', defaultTtl],
  'interop-ps256': ['PS256', defaultTtl],
  'interop-eddsa': ['EdDSA', defaultTtl],
  'interop-short': ['RS256', 3],
  'interop-dpop': ['ES256', defaultTtl],
};
// RFC 9449 §5.2 client metadata: this client must send a DPoP proof to /token.
const dpopOnly = new Set(['interop-dpop']);

const clients = Object.keys(clientProfiles).flatMap((id) => [
  {
    client_id: id,
    client_secret: SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: SCOPES,
    token_endpoint_auth_method: 'client_secret_basic',
    ...(dpopOnly.has(id) ? { dpop_bound_access_tokens: true } : {}),
  },
  {
    client_id: `${id}-post`,
    client_secret: SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: SCOPES,
    token_endpoint_auth_method: 'client_secret_post',
    ...(dpopOnly.has(id) ? { dpop_bound_access_tokens: true } : {}),
  },
]);

const provider = new Provider(issuer, {
  clients,
  jwks: { keys },
  scopes: ['openid', ...SCOPES.split(' ')],
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    // RFC 9449: a token request with a DPoP proof gets a DPoP-bound token
    // (token_type "DPoP", JWT claim cnf.jkt). No nonce required (requireNonce
    // default: false), replayed proofs at /token refused (allowReplay: false).
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No resource= in the request: the token has no audience for us (opaque).
      defaultResource: (ctx, client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator, client) => {
        const url = new URL(resourceIndicator);
        if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
          throw new Provider.errors.InvalidTarget();
        }
        const [alg, ttl] = clientProfiles[client.clientId.replace(/-post$/, '')] || ['RS256', defaultTtl];
        return {
          scope: SCOPES,
          audience: resourceIndicator,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg } },
        };
      },
    },
  },
});

if (process.env.LOG) {
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_description || ''));
}
provider.on('server_error', (ctx, err) => console.error('provider server_error:', err.stack || err));

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer} keyset=${keyset}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
