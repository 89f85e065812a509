/**
 * Resource exhaustion: oversized headers and parameters, floods of forged
 * session cookies, and login floods that could pile up transaction cookies
 * or server-side state. Every loop is bounded and timed.
 *
 * Complements test/integration/callback.test.ts ("many /bff/login calls keep
 * at most 3 transaction cookies": 12 logins, one second apart).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/session/seal.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { bffCookieNames, CSRF, sessionInBrowser } from '../support/harness.js';
import { clearedNames, expectProblem, inBatches, setNames } from '../support/leaks.js';
import { startTarget, type Target } from '../support/target.js';

const SESSION = '__Host-bff-session';
const FLOOD = 200;
const FLOOD_BUDGET_MS = 10_000;

let stack: Target;
let good: string;

beforeAll(async () => {
  stack = await startTarget();
  const browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl);
  good = (await browser.cookies(stack.bffUrl)).find((c) => c.key === SESSION)!.value;
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.api.resetRequests();
  stack.idp.resetHits();
});

/** Every request to the IdP (token, revocation, discovery, JWKS) since the last reset. */
function idpHits(): number {
  return ['/token', '/token/revocation', '/.well-known/openid-configuration', '/jwks', '/me', '/session/end'].reduce((n, p) => n + stack.idp.hits(p), 0);
}

describe('oversized request parts → a quick 4xx, nothing forwarded', () => {
  it.each([16, 64])('a Cookie header of %i KiB', async (kib) => {
    const started = Date.now();
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, cookie: `${SESSION}=${good}; junk=${'a'.repeat(kib * 1024)}` } });
    const elapsed = Date.now() - started;
    await res.body?.cancel();
    // Node's HTTP parser (both runtimes sit behind one: @hono/node-server, Miniflare) answers 431.
    expect(res.status).toBe(431);
    expect(elapsed).toBeLessThan(2000);
    expect(stack.api.requests).toHaveLength(0);
    expect(idpHits()).toBe(0);
  });

  it('a 100 KB state on /bff/callback → 4xx before the BFF, no token request', async () => {
    const started = Date.now();
    const res = await fetch(`${stack.bffUrl}/bff/callback?code=x&state=${'s'.repeat(100 * 1024)}`, { redirect: 'manual' });
    await res.body?.cancel();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(431); // the request line counts against the header limit
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('a 12 KB state (under the header limit) on /bff/callback → redirect to login_failed, no session, no token request', async () => {
    const browser = new TestBrowser();
    expect((await browser.fetch(`${stack.bffUrl}/bff/login`)).status).toBe(302);
    const started = Date.now();
    const res = await browser.fetch(`${stack.bffUrl}/bff/callback?code=x&state=${'s'.repeat(12 * 1024)}`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${stack.bffUrl}/?bff_error=login_failed`);
    expect(setNames(res)).toEqual([]);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });
});

describe('floods', () => {
  it(`${FLOOD} requests with forged or malformed session cookies → all 401, cleared, no IdP or upstream hit`, async () => {
    const forged = await createSealer(['a-flooding-attackers-own-secret-40-chars!']).seal('session', { v: 1, sid: 's', iat: 0, exp: 9_999_999_999, iss: stack.idp.issuer, sub: 'mallory', aud: 'hono-bff-dev', user: {}, at: 'x' }, 3600);
    const variants = [
      forged,
      `${good.slice(0, 40)}${good[40] === 'A' ? 'B' : 'A'}${good.slice(41)}`,
      'garbage',
      `Fe26.2*${'9'.repeat(3000)}`,
    ];
    const started = Date.now();
    const results = await inBatches(FLOOD, 20, async (i) => {
      const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, cookie: `${SESSION}=${variants[i % variants.length]}` } });
      const cleared = clearedNames(res).includes(SESSION);
      const { code } = (await res.json()) as { code: string };
      return `${res.status} ${code} cleared=${cleared}`;
    });
    const elapsed = Date.now() - started;
    expect(new Set(results)).toEqual(new Set(['401 unauthenticated cleared=true']));
    expect(results).toHaveLength(FLOOD);
    expect(elapsed).toBeLessThan(FLOOD_BUDGET_MS);
    expect(stack.api.requests).toHaveLength(0);
    expect(idpHits()).toBe(0);
  });

  it(`${FLOOD} /bff/login calls from one browser never leave more than 3 transaction cookies, keep the session, and hold no server state`, async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    const session = await sessionInBrowser(browser, stack);
    stack.idp.resetHits();
    let most = 0;
    const heapBefore = stack.kind === 'node' ? process.memoryUsage().heapUsed : 0;
    const started = Date.now();
    for (let i = 0; i < FLOOD; i++) {
      const res = await browser.fetch(`${stack.bffUrl}/bff/login?returnTo=/n${i}`);
      expect(res.status).toBe(302);
      most = Math.max(most, (await bffCookieNames(browser, stack)).filter((n) => n.startsWith('__Host-bff-login.')).length);
    }
    const elapsed = Date.now() - started;
    expect(most).toBe(3);
    expect(elapsed).toBeLessThan(FLOOD_BUDGET_MS);
    if (stack.kind === 'node') expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(20 * 1024 * 1024);
    expect(idpHits()).toBe(0);
    // The session survived the flood.
    expect((await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF }).then((r) => r.json())).authenticated).toBe(true);
    expect((await sessionInBrowser(browser, stack))!.sid).toBe(session!.sid);
  });

  it('/bff/login with 150 forged transaction cookies answers quickly and leaves at most 3', async () => {
    const browser = new TestBrowser();
    const junk = Array.from({ length: 150 }, (_, i) => `__Host-bff-login.junk${i}=Fe26.2*${i}*x*y*z*0*a*b~2`).join('; ');
    const started = Date.now();
    const res = await browser.fetch(`${stack.bffUrl}/bff/login`, { headers: { cookie: junk } });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(302);
    const cleared = clearedNames(res);
    expect(cleared).toHaveLength(148);
    expect(setNames(res)).toHaveLength(1);
    expect(idpHits()).toBe(0);
  });

  it('a flood of 200 /bff/session calls with one valid cookie neither refreshes nor calls the IdP', async () => {
    const started = Date.now();
    const results = await inBatches(FLOOD, 20, async () => {
      const res = await fetch(`${stack.bffUrl}/bff/session`, { headers: { ...CSRF, cookie: `${SESSION}=${good}` } });
      return `${res.status} ${(await res.json()).authenticated}`;
    });
    expect(new Set(results)).toEqual(new Set(['200 true']));
    expect(Date.now() - started).toBeLessThan(FLOOD_BUDGET_MS);
    expect(idpHits()).toBe(0);
    await expectProblem(await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: `${SESSION}=${good}` } }), 403, 'csrf_failed');
  });
});
