// An OpenID provider for the browser test of the resident-card login (GD-5), on 127.0.0.1 with
// node:crypto only: discovery, a JWKS with a fresh RS256 key, an authorization endpoint that
// approves at once and sends the browser back with a code, and a token endpoint that checks
// the client's credentials (client_secret_basic), the code (once), the redirect address and
// the PKCE verifier against the challenge, and answers with an ID token signed RS256 carrying
// the nonce of the authorization request. The server under test checks state, nonce,
// signature, issuer, audience and times itself; nothing here is faked on its behalf.
import { createServer } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the provider. `clientId`/`clientSecret`: the client it knows; `claims`: the person's
 * claims put into the ID token; `now()`: its clock in Unix seconds (the server under test runs
 * on a dev clock, and the token's `iat`/`exp` must fit it). `allowRedirect(uri)` registers the
 * client's redirect address once the server's port is known; until then every authorization
 * is refused.
 */
export async function startProvider({ clientId, clientSecret, claims, now }) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `browser-test-${b64url(randomBytes(6))}`;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const grants = new Map();
  const used = new Set();
  const redirects = new Set();
  const counts = { authorize: 0, token: 0 };
  let issuer;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, issuer);
    try {
      if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
        });
      }
      if (req.method === 'GET' && url.pathname === '/jwks') {
        return json(res, 200, { keys: [jwk] });
      }
      if (req.method === 'GET' && url.pathname === '/authorize') {
        const p = (k) => url.searchParams.get(k) ?? '';
        if (
          p('client_id') !== clientId ||
          p('response_type') !== 'code' ||
          p('code_challenge_method') !== 'S256' ||
          !/^[A-Za-z0-9_-]{43}$/.test(p('code_challenge')) ||
          !p('scope').split(' ').includes('openid') ||
          !p('state') ||
          !p('nonce') ||
          !redirects.has(p('redirect_uri'))
        ) {
          return json(res, 400, { error: 'invalid_request' });
        }
        counts.authorize += 1;
        const code = b64url(randomBytes(24));
        grants.set(code, { redirectUri: p('redirect_uri'), challenge: p('code_challenge'), nonce: p('nonce') });
        const back = new URL(p('redirect_uri'));
        back.searchParams.set('code', code);
        back.searchParams.set('state', p('state'));
        back.searchParams.set('iss', issuer);
        res.writeHead(302, { location: back.href, 'cache-control': 'no-store' });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/token') {
        counts.token += 1;
        const form = new URLSearchParams(await body(req));
        const code = form.get('code') ?? '';
        // A code is good for one request, whatever its outcome.
        const grant = used.has(code) ? undefined : grants.get(code);
        used.add(code);
        grants.delete(code);
        const auth = req.headers.authorization ?? '';
        const [id, secret] = auth.startsWith('Basic ')
          ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':').map(decodeURIComponent)
          : [];
        if (id !== clientId || secret !== clientSecret) return json(res, 401, { error: 'invalid_client' });
        const verifier = form.get('code_verifier') ?? '';
        if (
          !grant ||
          form.get('grant_type') !== 'authorization_code' ||
          form.get('redirect_uri') !== grant.redirectUri ||
          b64url(createHash('sha256').update(verifier).digest()) !== grant.challenge
        ) {
          return json(res, 400, { error: 'invalid_grant' });
        }
        const iat = now();
        const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
        const payload = b64url(
          JSON.stringify({ ...claims, iss: issuer, aud: clientId, iat, exp: iat + 300, nonce: grant.nonce }),
        );
        const signature = b64url(sign('sha256', Buffer.from(`${header}.${payload}`), privateKey));
        return json(res, 200, {
          access_token: b64url(randomBytes(16)),
          token_type: 'Bearer',
          expires_in: 300,
          id_token: `${header}.${payload}.${signature}`,
        });
      }
      return json(res, 404, { error: 'not_found' });
    } catch (e) {
      return json(res, 500, { error: 'server_error', detail: String(e) });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    counts,
    allowRedirect(uri) {
      redirects.add(uri);
    },
    stop() {
      return new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}
