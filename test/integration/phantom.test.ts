/**
 * Phantom token routes on both runtimes: the session holds an opaque access
 * token, the API receives the IdP's signed introspection JWT (RFC 9701) and
 * never the opaque token; introspection results are cached per token for
 * BFF_INTROSPECTION_CACHE_SECONDS (so revocation takes effect within that
 * window), an inactive token is refreshed once, scopes come from the
 * introspection, an unreachable IdP is a 503. Also the JSON fallback for
 * IdPs without signed introspection. Time moves by the target's clock.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID } from '../../dev/constants.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { bffCookieNames, CSRF, revokeAtIdp, sessionInBrowser, tokensOf } from '../support/harness.js';
import { startTarget, type Target } from '../support/target.js';

const CACHE_SECONDS = 30;
const INTROSPECTION = '/token/introspection';

let stack: Target;

beforeAll(async () => {
  stack = await startTarget({
    tokenMode: 'phantom',
    env: { BFF_INTROSPECTION_CACHE_SECONDS: String(CACHE_SECONDS) },
    // Long-lived access tokens: the BFF's clock moves ahead of the IdP's in this file.
    idp: { accessTokenTtlSeconds: 3600 },
    apiRoutes: (api) => ({
      '/api': { target: `${api}/api`, token: 'phantom' },
      '/admin-api': { target: `${api}/api`, token: 'phantom', scopes: ['notes:admin'] },
      '/read-api': { target: `${api}/api`, token: 'phantom', scopes: ['notes:read'] },
    }),
  });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.idp.resetHits();
  stack.api.resetRequests();
});

/** Every token of every session of this file, for the "never logged" check. */
const seenTokens: string[] = [];

async function loggedIn(target = stack): Promise<TestBrowser> {
  const browser = new TestBrowser();
  await loginThroughIdp(browser, target.bffUrl);
  seenTokens.push(...tokensOf((await sessionInBrowser(browser, target, target === stack ? stack.nowSeconds() : undefined))!));
  target.idp.resetHits();
  target.api.resetRequests();
  return browser;
}

const bearerOf = (headers: Record<string, string>): string => (headers.authorization ?? '').replace(/^Bearer /, '');

/** Verifies a phantom token as a resource server would: the IdP's JWKS, RS256, iss, aud = the BFF's client id, typ. */
async function verifyPhantom(jwt: string) {
  const discovery = (await (await fetch(`${stack.idp.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  const { payload, protectedHeader } = await jwtVerify(jwt, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer: stack.idp.issuer,
    audience: DEV_CLIENT_ID,
    typ: 'token-introspection+jwt',
    algorithms: ['RS256'],
  });
  return { payload: payload as typeof payload & { token_introspection: Record<string, unknown> }, protectedHeader };
}

describe('phantom tokens (signed introspection)', () => {
  it('the session holds an opaque token; the API gets a verifiable introspection JWT and never the opaque token', async () => {
    const browser = await loggedIn();
    const session = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    expect(session.at).not.toContain('.');
    expect(session.at.length).toBeGreaterThanOrEqual(32);

    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: 'alice', tokenType: 'phantom', clientId: DEV_CLIENT_ID });

    expect(stack.api.requests).toHaveLength(1);
    const bearer = bearerOf(stack.api.requests[0]!.headers);
    expect(bearer.split('.')).toHaveLength(3);
    const { payload, protectedHeader } = await verifyPhantom(bearer);
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'token-introspection+jwt' });
    expect(payload.token_introspection).toMatchObject({ active: true, sub: 'alice', client_id: DEV_CLIENT_ID });
    expect(typeof payload.iat).toBe('number');
    // Neither the opaque access token nor any other session token reaches the API, in any header.
    for (const request of stack.api.requests) {
      for (const value of Object.values(request.headers)) {
        for (const token of tokensOf(session)) expect(value).not.toContain(token);
      }
    }
    expect(stack.idp.hits(INTROSPECTION)).toBe(1);
  });

  it('20 proxied calls of one session cost one introspection (concurrent ones coalesced), then one more per cache period', async () => {
    const browser = await loggedIn();
    const burst = await Promise.all(Array.from({ length: 10 }, () => browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })));
    expect(burst.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (let i = 0; i < 10; i++) expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect(stack.api.requests).toHaveLength(20);
    expect(stack.idp.hits(INTROSPECTION)).toBe(1);
    // One JWT per introspection: all 20 calls carried the same one.
    expect(new Set(stack.api.requests.map((r) => r.headers.authorization)).size).toBe(1);

    await stack.advanceClock(CACHE_SECONDS - 5);
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect(stack.idp.hits(INTROSPECTION)).toBe(1);
    await stack.advanceClock(6);
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect(stack.idp.hits(INTROSPECTION)).toBe(2);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('an access token invalidated at the IdP is seen within the cache period, then refreshed once: the call succeeds with the new token', async () => {
    const browser = await loggedIn();
    const before = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    // Only the access token: the grant and its refresh token stay valid.
    expect(await stack.idp.revokeAccessTokenOnly(before.at)).toBe(true);
    expect((await stack.idp.introspect(before.at)).active).toBe(false);

    // The window: within BFF_INTROSPECTION_CACHE_SECONDS the cached result still answers.
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect(stack.idp.hits(INTROSPECTION)).toBe(1);
    expect(stack.idp.tokenEndpointHits()).toBe(0);

    await stack.advanceClock(CACHE_SECONDS + 1);
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: 'alice', tokenType: 'phantom' });
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    // The invalidated token (inactive, so not cached) and the new one.
    expect(stack.idp.hits(INTROSPECTION)).toBe(3);

    const after = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    expect(after.at).not.toBe(before.at);
    expect(after.at).not.toContain('.');
    expect((await stack.idp.introspect(after.at)).active).toBe(true);
    const latest = stack.api.requests.at(-1)!;
    expect((await verifyPhantom(bearerOf(latest.headers))).payload.token_introspection).toMatchObject({ active: true, sub: 'alice' });
    for (const value of Object.values(latest.headers)) for (const token of [before.at, after.at]) expect(value).not.toContain(token);
    // The new token's result is cached in turn.
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect(stack.idp.hits(INTROSPECTION)).toBe(3);
  });

  it('revocation at the IdP (RFC 7009, which in oidc-provider ends the grant) takes effect within the cache period: then 401 session_expired, cookies cleared, nothing upstream', async () => {
    const browser = await loggedIn();
    const session = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect((await revokeAtIdp(stack, session.at)).status).toBe(200);
    expect((await stack.idp.introspect(session.rt!)).active).toBe(false);

    await stack.advanceClock(CACHE_SECONDS - 1);
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    await stack.advanceClock(2);
    stack.api.resetRequests();
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('session_expired');
    expect(res.headers.getSetCookie().some((line) => line.startsWith('__Host-bff-session=;'))).toBe(true);
    expect(await bffCookieNames(browser, stack)).toEqual([]);
    expect(stack.api.requests).toHaveLength(0);
    // One refresh attempt, refused.
    expect(stack.idp.tokenEndpointHits()).toBe(1);
  });

  it('an inactive token of a session whose refresh token is revoked too: 401 session_expired, nothing upstream', async () => {
    const browser = await loggedIn();
    const session = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    await stack.idp.revokeAccessTokenOnly(session.at);
    await revokeAtIdp(stack, session.rt!);
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('session_expired');
    expect(await bffCookieNames(browser, stack)).toEqual([]);
    expect(stack.api.requests).toHaveLength(0);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
  });

  it('checks route scopes against the introspection response: notes:admin → 403 with nothing upstream, notes:read → 200', async () => {
    const browser = await loggedIn();
    const session = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    const introspected = await stack.idp.introspect(session.at);
    expect(String(introspected.scope).split(' ')).toContain('notes:read');

    const admin = await browser.fetch(`${stack.bffUrl}/admin-api/me`, { headers: CSRF });
    expect(admin.status).toBe(403);
    expect((await admin.json()).code).toBe('insufficient_scope');
    expect(admin.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="notes:admin"');
    expect(stack.api.requests).toHaveLength(0);

    const read = await browser.fetch(`${stack.bffUrl}/read-api/me`, { headers: CSRF });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ sub: 'alice', tokenType: 'phantom' });
    expect(stack.api.requests).toHaveLength(1);
    // Both routes used the one cached introspection of this token.
    expect(stack.idp.hits(INTROSPECTION)).toBe(1);
  });

  it('an unreachable IdP with a cold cache is a 503 idp_unavailable with Retry-After; the session cookie is left alone', async () => {
    const browser = await loggedIn();
    const cookiesBefore = await browser.cookieHeader(stack.bffUrl);
    await stack.setIdpDown(true);
    try {
      const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
      expect(res.status).toBe(503);
      expect((await res.json()).code).toBe('idp_unavailable');
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(stack.api.requests).toHaveLength(0);
    } finally {
      await stack.setIdpDown(false);
    }
    expect(await browser.cookieHeader(stack.bffUrl)).toBe(cookiesBefore);
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
  });

  it('a warm cache keeps serving while the IdP is briefly unreachable', async () => {
    const browser = await loggedIn();
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    await stack.setIdpDown(true);
    try {
      expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    } finally {
      await stack.setIdpDown(false);
    }
  });

  it('an upstream 401 costs one refresh and one retry with the new token\'s phantom JWT, never a loop', async () => {
    const browser = await loggedIn();
    const before = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    const res = await browser.fetch(`${stack.bffUrl}/api/status/401`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    // The first token's introspection, then the refreshed token's.
    expect(stack.idp.hits(INTROSPECTION)).toBe(2);
    expect(stack.api.requests).toHaveLength(2);
    const after = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    expect(after.at).not.toBe(before.at);
    for (const request of stack.api.requests) {
      const bearer = bearerOf(request.headers);
      expect(bearer.split('.')).toHaveLength(3);
      for (const token of [before.at, after.at]) expect(bearer).not.toContain(token);
    }
  });

  it('the example SPA\'s calls work unchanged: list and add notes', async () => {
    const browser = await loggedIn();
    const added = await browser.fetch(`${stack.bffUrl}/api/notes`, { method: 'POST', headers: { ...CSRF, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'phantom note' }) });
    expect(added.status).toBe(201);
    const list = await (await browser.fetch(`${stack.bffUrl}/api/notes`, { headers: CSRF })).json();
    expect(list.notes.map((n: { text: string }) => n.text)).toContain('phantom note');
    expect(stack.idp.hits(INTROSPECTION)).toBe(1);
  });

  it('logs the introspection mode once, and never a token', async () => {
    const lines = await stack.logLines();
    expect(lines.filter((l) => l.includes('"phantom.jwt_introspection"'))).toHaveLength(1);
    expect(lines.some((l) => l.includes('phantom.fallback_json_introspection'))).toBe(false);
    expect(seenTokens.length).toBeGreaterThan(10);
    for (const line of lines) for (const token of seenTokens) expect(line).not.toContain(token);
  });
});

describe('phantom tokens (JSON introspection fallback)', () => {
  let plain: Target;
  beforeAll(async () => {
    plain = await startTarget({
      tokenMode: 'phantom',
      idp: { jwtIntrospection: false },
      apiRoutes: (api) => ({ '/api': { target: `${api}/api`, token: 'phantom', scopes: ['notes:read'] } }),
    });
  });
  afterAll(async () => {
    await plain?.close();
  });

  it('forwards the opaque token after checking it is active, caches the result, and warns once that it runs in fallback mode', async () => {
    const browser = await loggedIn(plain);
    const session = (await sessionInBrowser(browser, plain))!;
    for (let i = 0; i < 5; i++) {
      const res = await browser.fetch(`${plain.bffUrl}/api/public`, { headers: CSRF });
      expect(res.status).toBe(200);
    }
    expect(plain.api.requests).toHaveLength(5);
    expect(plain.api.requests[0]!.headers.authorization).toBe(`Bearer ${session.at}`);
    expect(plain.idp.hits(INTROSPECTION)).toBe(1);
    const warnings = (await plain.logLines()).filter((l) => l.includes('"phantom.fallback_json_introspection"'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn' });
  });

  it('refreshes an inactive (revoked) token once, then forwards the new opaque token', async () => {
    const browser = await loggedIn(plain);
    const before = (await sessionInBrowser(browser, plain))!;
    await plain.idp.revokeAccessTokenOnly(before.at);
    const res = await browser.fetch(`${plain.bffUrl}/api/public`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(plain.idp.tokenEndpointHits()).toBe(1);
    const after = (await sessionInBrowser(browser, plain))!;
    expect(after.at).not.toBe(before.at);
    expect(plain.api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${after.at}`);
  });
});
