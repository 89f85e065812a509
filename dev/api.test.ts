/**
 * The example API's token checks, offline: a test key stands in for the dev
 * IdP's JWKS. Both kinds of Bearer are accepted (RFC 9068 `at+jwt` for the
 * resource, RFC 9701 phantom tokens for the BFF's client id) and told apart.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createExampleApiApp } from './api.js';
import { DEV_API_RESOURCE, DEV_CLIENT_ID } from './constants.js';

const ISSUER = 'http://127.0.0.1:4100';
const now = () => Math.floor(Date.now() / 1000);

let key: Awaited<ReturnType<typeof generateKeyPair>>;
let app: ReturnType<typeof createExampleApiApp>;

beforeAll(async () => {
  key = await generateKeyPair('RS256');
  const jwks = { keys: [{ ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  const fakeFetch = (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith('/.well-known/openid-configuration')) return Response.json({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` });
    if (url === `${ISSUER}/jwks`) return Response.json(jwks);
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
  app = createExampleApiApp({ issuer: ISSUER, audience: DEV_API_RESOURCE, fetch: fakeFetch });
});

const sign = (payload: JWTPayload, typ: string) => new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ }).sign(key.privateKey);

const phantom = (introspection: Record<string, unknown>, claims: JWTPayload = {}) =>
  sign({ iss: ISSUER, aud: DEV_CLIENT_ID, iat: now(), token_introspection: introspection, ...claims }, 'token-introspection+jwt');

const active = () => ({ active: true, sub: 'alice', scope: 'openid notes:read', client_id: DEV_CLIENT_ID, exp: now() + 300 });

const me = (token: string) => app.request('/api/me', { headers: { authorization: `Bearer ${token}` } });

describe('example API bearer checks', () => {
  it('accepts a phantom token and reports its introspected claims', async () => {
    const res = await me(await phantom(active()));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: 'alice', scope: 'openid notes:read', clientId: DEV_CLIENT_ID, tokenType: 'phantom' });
  });

  it('accepts an at+jwt access token as before and says so', async () => {
    const token = await sign({ iss: ISSUER, aud: DEV_API_RESOURCE, sub: 'bob', client_id: DEV_CLIENT_ID, scope: 'openid', iat: now(), exp: now() + 300 }, 'at+jwt');
    const res = await me(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: 'bob', tokenType: 'at+jwt' });
  });

  it.each([
    ['an inactive introspection', () => phantom({ active: false })],
    ['an expired token', () => phantom({ ...active(), exp: now() - 1 })],
    ['no exp', () => phantom({ active: true, sub: 'alice' })],
    ['the wrong audience', () => phantom(active(), { aud: DEV_API_RESOURCE })],
    ['the wrong issuer', () => phantom(active(), { iss: 'http://127.0.0.1:1' })],
    ['no iat', () => phantom(active(), { iat: undefined })],
    ['an at+jwt for the client id', () => sign({ iss: ISSUER, aud: DEV_CLIENT_ID, sub: 'alice', iat: now(), exp: now() + 300 }, 'at+jwt')],
    ['a JWT of another type', () => sign({ iss: ISSUER, aud: DEV_CLIENT_ID, iat: now(), token_introspection: active() }, 'JWT')],
  ])('refuses a phantom token with %s', async (_name, make) => {
    const res = await me(await make());
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('invalid_token');
  });
});
