// An OpenID provider (node-oidc-provider, with DPoP) and its clients (proofs made by jose), for
// the crate's interoperability test. Given the resource server's origin, it starts the provider
// on a loopback port, gets two DPoP-bound JWT access tokens by client credentials (one client
// with a P-256 key, one with Ed25519), makes proofs for `GET <origin>/whoami` good and broken,
// prints them as one JSON line, and serves its JWK Set until stdin closes.
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const origin = process.argv[2];
const resource = `${origin}/`;
const audience = 'api';

const signing = await jose.generateKeyPair('ES256', { extractable: true });
const providerKey = { ...(await jose.exportJWK(signing.privateKey)), alg: 'ES256', use: 'sig', kid: 'idp-1' };

const clients = [
  { client_id: 'p256-client', client_secret: 'p256-client-secret-of-some-length' },
  { client_id: 'ed25519-client', client_secret: 'ed25519-client-secret-of-some-length' },
].map((client) => ({
  ...client,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_post',
  id_token_signed_response_alg: 'ES256',
}));

// The port is chosen first, so the provider knows its own issuer URL.
const server = (await import('node:http')).createServer();
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [providerKey] },
  scopes: ['orders'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'orders',
        audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 300,
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
server.on('request', provider.callback());

const thumbprintOf = (jwk) => jose.calculateJwkThumbprint(jwk, 'sha256');
const ath = (token) => createHash('sha256').update(token).digest('base64url');

/// A proof: `header` and `claims` over the defaults, signed with `key`.
async function proof(key, { header = {}, claims = {} } = {}) {
  const payload = { jti: randomUUID(), htm: 'GET', htu: `${origin}/whoami`, iat: Math.floor(Date.now() / 1000), ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...header })
    .sign(key.privateKey);
}

async function clientKey(alg) {
  const pair = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = await jose.exportJWK(pair.publicKey);
  return { alg, ...pair, publicJwk, privateJwk: await jose.exportJWK(pair.privateKey) };
}

/// A DPoP-bound access token for `client`, by client credentials with a proof of `key`.
async function token(client, key) {
  const htu = `${issuer}/token`;
  const dpop = await proof(key, { claims: { htm: 'POST', htu } });
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: client.client_id,
    client_secret: client.client_secret,
    scope: 'orders',
    resource,
  });
  const response = await fetch(htu, { method: 'POST', body, headers: { dpop } });
  const answer = await response.json();
  if (!response.ok) throw new Error(`token endpoint: ${JSON.stringify(answer)}`);
  return answer;
}

const output = { issuer, audience, clients: {} };
for (const [client, alg] of [[clients[0], 'ES256'], [clients[1], 'EdDSA']]) {
  const key = await clientKey(alg);
  const issued = await token(client, key);
  const accessToken = issued.access_token;
  const other = await clientKey(alg);
  const good = () => proof(key, { claims: { ath: ath(accessToken) } });
  const now = Math.floor(Date.now() / 1000);
  output.clients[alg] = {
    token: accessToken,
    token_type: issued.token_type,
    jkt: await thumbprintOf(key.publicJwk),
    good: [await good(), await good(), await good()],
    broken: {
      'another key': await proof(other, { claims: { ath: ath(accessToken) } }),
      'another method': await proof(key, { claims: { htm: 'POST', ath: ath(accessToken) } }),
      'another URI': await proof(key, { claims: { htu: `${origin}/admin`, ath: ath(accessToken) } }),
      'another origin': await proof(key, { claims: { htu: 'https://elsewhere.example/whoami', ath: ath(accessToken) } }),
      'too old': await proof(key, { claims: { iat: now - 600, ath: ath(accessToken) } }),
      'from the future': await proof(key, { claims: { iat: now + 600, ath: ath(accessToken) } }),
      'without ath': await proof(key),
      'for another token': await proof(key, { claims: { ath: ath(`${accessToken}x`) } }),
      'without jti': await proof(key, { claims: { jti: undefined, ath: ath(accessToken) } }),
      'not dpop+jwt': await proof(key, { header: { typ: 'JWT' }, claims: { ath: ath(accessToken) } }),
      'a private key in the header': await proof(key, { header: { jwk: key.privateJwk }, claims: { ath: ath(accessToken) } }),
    },
  };
}
console.log(JSON.stringify(output));

// Serve the JWK Set until the test is done with us.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
