/**
 * Rate limits on both runtimes: per client address on /bff/login and
 * /bff/callback (each its own bucket), per session on proxied routes, and
 * which address is the client's (X-Forwarded-For only behind BFF_TRUST_PROXY
 * proxies). A limited request is a 429 `rate_limited` problem with
 * Retry-After and costs no IdP and no upstream call. Buckets refill by the
 * target's clock, never by sleeping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { authorizeUntilCallback, CSRF } from '../support/harness.js';
import { startTarget, type Target } from '../support/target.js';

/** Asserts a 429 `rate_limited` problem and returns its Retry-After in seconds. */
async function expectRateLimited(res: Response): Promise<number> {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(await res.json()).toMatchObject({ status: 429, code: 'rate_limited' });
  const retryAfter = res.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  return Number(retryAfter);
}

/** GET /bff/login as a fresh browser would (no cookies), with optional extra headers. */
function login(stack: Target, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack.bffUrl}/bff/login?returnTo=/`, { headers, redirect: 'manual' });
}

/** Statuses of `n` logins in a row. */
async function loginStatuses(stack: Target, n: number, headers: Record<string, string> = {}): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await login(stack, headers);
    await res.body?.cancel();
    statuses.push(res.status);
  }
  return statuses;
}

describe('BFF_RATE_LIMIT_LOGIN_PER_MINUTE=3: per client address', () => {
  let stack: Target;
  beforeAll(async () => {
    stack = await startTarget({ env: { BFF_RATE_LIMIT_LOGIN_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('/bff/login: a burst of 3 passes, the 4th is 429 with Retry-After 20 (one token per 20 s), no login cookie, no IdP call', async () => {
    expect(await loginStatuses(stack, 3)).toEqual([302, 302, 302]);
    stack.idp.resetHits();
    const limited = await login(stack);
    expect(limited.headers.get('location')).toBeNull();
    expect(limited.headers.getSetCookie()).toEqual([]);
    expect(await expectRateLimited(limited)).toBe(20);
    expect(stack.idp.hits('/.well-known/openid-configuration') + stack.idp.hits('/auth') + stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('refills one token every 20 s of the BFF clock', async () => {
    await stack.advanceClock(10);
    expect(await expectRateLimited(await login(stack))).toBe(10);
    await stack.advanceClock(10);
    expect(await loginStatuses(stack, 2)).toEqual([302, 429]);
    await stack.advanceClock(60);
    expect(await loginStatuses(stack, 4)).toEqual([302, 302, 302, 429]);
  });

  it('a spoofed X-Forwarded-For does not open a new bucket (BFF_TRUST_PROXY defaults to 0)', async () => {
    await stack.advanceClock(60);
    const statuses: number[] = [];
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4']) {
      const res = await login(stack, { 'x-forwarded-for': address });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([302, 302, 302, 429]);
  });

  it('/bff/callback has its own bucket; a limited callback never reaches the token endpoint, and works once refilled', async () => {
    await stack.advanceClock(60);
    const browser = new TestBrowser();
    // One login (its own bucket), then three failing callbacks use up the callback bucket.
    const callback = await authorizeUntilCallback(browser, stack.bffUrl, { returnTo: '/after' });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${stack.bffUrl}/bff/callback?state=forged-${i}&code=x`, { redirect: 'manual' });
      expect(res.headers.get('location')).toContain('bff_error=login_failed');
    }
    stack.idp.resetHits();
    const limited = await browser.fetch(callback);
    expect(await expectRateLimited(limited)).toBe(20);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
    // The login endpoint still has tokens left: the buckets are separate.
    expect(await loginStatuses(stack, 1)).toEqual([302]);

    await stack.advanceClock(20);
    const res = await browser.fetch(callback);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${stack.bffUrl}/after`);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    expect((await (await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF })).json()).authenticated).toBe(true);
  });

  it('other BFF endpoints are not limited per address', async () => {
    const statuses = await Promise.all(Array.from({ length: 10 }, () => fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF }).then((r) => r.status)));
    expect(statuses).toEqual(Array(10).fill(200));
  });

  it('the upstream gets the runtime address in X-Forwarded-For, never the browser-supplied one', async () => {
    await stack.advanceClock(60);
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    stack.api.resetRequests();
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, 'x-forwarded-for': '203.0.113.66' } });
    expect(res.status).toBe(200);
    const forwardedFor = stack.api.requests[0]!.headers['x-forwarded-for'];
    expect(forwardedFor).not.toContain('203.0.113.66');
    // Node: the socket's address; workerd: CF-Connecting-IP (which Miniflare sets to the loopback peer).
    expect(forwardedFor).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });
});

describe('BFF_TRUST_PROXY=1: the right-most X-Forwarded-For entry is the client', () => {
  let stack: Target;
  beforeAll(async () => {
    stack = await startTarget({ env: { BFF_RATE_LIMIT_LOGIN_PER_MINUTE: '2', BFF_TRUST_PROXY: '1' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('buckets follow the address the trusted proxy saw; entries the client wrote to its left change nothing', async () => {
    expect(await loginStatuses(stack, 3, { 'x-forwarded-for': '203.0.113.7' })).toEqual([302, 302, 429]);
    expect(await loginStatuses(stack, 1, { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })).toEqual([429]);
    expect(await loginStatuses(stack, 2, { 'x-forwarded-for': '203.0.113.7, 203.0.113.8' })).toEqual([302, 302]);
    // Without the header (or with an entry that is not an address) the runtime's own address applies.
    expect(await loginStatuses(stack, 1)).toEqual([302]);
    expect(await loginStatuses(stack, 2, { 'x-forwarded-for': 'unknown' })).toEqual([302, 429]);
  });

  it('the same trusted address goes upstream in X-Forwarded-For', async () => {
    await stack.advanceClock(60);
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    stack.api.resetRequests();
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, 'x-forwarded-for': '6.6.6.6, 198.51.100.20' } });
    expect(res.status).toBe(200);
    expect(stack.api.requests[0]!.headers['x-forwarded-for']).toBe('198.51.100.20');
  });
});

describe('BFF_RATE_LIMIT_SESSION_PER_MINUTE=2: per session on proxied routes', () => {
  let stack: Target;
  beforeAll(async () => {
    stack = await startTarget({ env: { BFF_RATE_LIMIT_SESSION_PER_MINUTE: '2', BFF_RATE_LIMIT_LOGIN_PER_MINUTE: '0' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('BFF_RATE_LIMIT_LOGIN_PER_MINUTE=0 switches the login limit off', async () => {
    expect(new Set(await loginStatuses(stack, 25))).toEqual(new Set([302]));
  });

  it('the third proxied call in a minute is 429 with Retry-After 30, with no upstream and no IdP call; other sessions are unaffected; it refills', async () => {
    const alice = new TestBrowser();
    await loginThroughIdp(alice, stack.bffUrl);
    const bob = new TestBrowser();
    await loginThroughIdp(bob, stack.bffUrl, { user: 'bob' });
    stack.api.resetRequests();
    stack.idp.resetHits();

    for (let i = 0; i < 2; i++) expect((await alice.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect(await expectRateLimited(await alice.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF }))).toBe(30);
    expect(stack.api.requests).toHaveLength(2);
    expect(stack.idp.tokenEndpointHits()).toBe(0);

    // Bob's session has its own bucket; BFF endpoints are not limited per session.
    expect((await bob.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect((await alice.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF })).status).toBe(200);

    await stack.advanceClock(30);
    expect((await alice.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
    expect(await expectRateLimited(await alice.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF }))).toBe(30);
  });

  it('requests without a session are refused as unauthenticated, not counted against anyone', async () => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('unauthenticated');
  });
});
