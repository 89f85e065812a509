/**
 * Resource exhaustion: oversized headers and parameters, floods of forged
 * session cookies, and login floods that could pile up transaction cookies
 * or server-side state. Every loop is bounded and timed.
 *
 * Complements test/integration/callback.test.ts ("many /bff/login calls keep
 * at most 3 transaction cookies": 12 logins, one second apart).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/session/seal.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { bffCookieNames, CSRF, sessionInBrowser } from '../support/harness.js';
import { clearedNames, expectProblem, inBatches, setNames } from '../support/leaks.js';
import { startTarget, type Target } from '../support/target.js';

const SESSION = '__Host-bff-session';
const FLOOD = 200;
const FLOOD_BUDGET_MS = 10_000;
const LOGIN_PER_MINUTE = 20;

let stack: Target;
let good: string;

beforeAll(async () => {
  // The login limiter pinned to its default, so the flood below knows where it starts refusing.
  stack = await startTarget({ env: { BFF_RATE_LIMIT_LOGIN_PER_MINUTE: String(LOGIN_PER_MINUTE) } });
  const browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl);
  good = (await browser.cookies(stack.bffUrl)).find((c) => c.key === SESSION)!.value;
  // Warm the example API's own discovery/JWKS cache, so IdP hit counts below are the BFF's alone.
  expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.api.resetRequests();
  stack.idp.resetHits();
});

/** Heap in use after a full garbage collection (Node target: the BFF runs in this process). */
function settledHeap(): number {
  setFlagsFromString('--expose_gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

/** Every request to the IdP (token, revocation, discovery, JWKS) since the last reset. */
function idpHits(): number {
  return ['/token', '/token/revocation', '/.well-known/openid-configuration', '/jwks', '/me', '/session/end'].reduce((n, p) => n + stack.idp.hits(p), 0);
}

describe('oversized request parts → refused or handled quickly, nothing forwarded', () => {
  // Header limits belong to the runtime's HTTP server, not to the BFF: Node
  // (@hono/node-server) refuses more than 16 KiB of headers with 431; workerd
  // accepts up to 128 KiB (as Cloudflare's edge does), so there the BFF itself
  // handles the request and never forwards the Cookie header.
  it.each([16, 64])('a %i KiB Cookie header next to a valid session → Node 431; workerd handled (200, no Cookie upstream)', async (kib) => {
    const started = Date.now();
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, cookie: `${SESSION}=${good}; junk=${'a'.repeat(kib * 1024)}` } });
    await res.body?.cancel();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(stack.kind === 'node' ? 431 : 200);
    expect(stack.api.requests).toHaveLength(stack.kind === 'node' ? 0 : 1);
    for (const r of stack.api.requests) expect(r.headers.cookie).toBeUndefined();
    expect(idpHits()).toBe(0);
  });

  it('a 16 KiB Cookie header without a session → 4xx on both runtimes (Node 431, workerd 401 unauthenticated)', async () => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, cookie: `junk=${'a'.repeat(16 * 1024)}` } });
    await res.body?.cancel();
    expect(res.status).toBe(stack.kind === 'node' ? 431 : 401);
    expect(stack.api.requests).toHaveLength(0);
    expect(idpHits()).toBe(0);
  });

  it('a Cookie header over 128 KiB → 431 on both runtimes', async () => {
    const started = Date.now();
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, cookie: `${SESSION}=${good}; junk=${'a'.repeat(130 * 1024)}` } });
    await res.body?.cancel();
    expect(res.status).toBe(431);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(stack.api.requests).toHaveLength(0);
    expect(idpHits()).toBe(0);
  });

  it('a 100 KB state on /bff/callback → Node 431; workerd redirect to login_failed; no session, no token request', async () => {
    const started = Date.now();
    const res = await fetch(`${stack.bffUrl}/bff/callback?code=x&state=${'s'.repeat(100 * 1024)}`, { redirect: 'manual' });
    await res.body?.cancel();
    expect(Date.now() - started).toBeLessThan(2000);
    if (stack.kind === 'node') {
      expect(res.status).toBe(431); // the request line counts against the header limit
    } else {
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`${stack.bffUrl}/?bff_error=login_failed`);
    }
    expect(setNames(res)).toEqual([]);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('a 12 KB state (under every header limit) on /bff/callback → redirect to login_failed, no session, no token request', async () => {
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

  it(`${FLOOD} /bff/login calls within a minute from one client → the first ${LOGIN_PER_MINUTE} served, the rest 429 rate_limited, at most 3 transaction cookies`, async () => {
    await stack.advanceClock(60); // a full bucket
    const browser = new TestBrowser();
    const outcomes: string[] = [];
    let most = 0;
    const started = Date.now();
    for (let i = 0; i < FLOOD; i++) {
      const res = await browser.fetch(`${stack.bffUrl}/bff/login?returnTo=/n${i}`);
      if (res.status === 429) {
        const retryAfter = Number(res.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(setNames(res)).toEqual([]);
        outcomes.push(`429 ${((await res.json()) as { code: string }).code}`);
      } else {
        outcomes.push(String(res.status));
      }
      most = Math.max(most, (await bffCookieNames(browser, stack)).filter((n) => n.startsWith('__Host-bff-login.')).length);
    }
    expect(Date.now() - started).toBeLessThan(FLOOD_BUDGET_MS);
    expect(outcomes.slice(0, LOGIN_PER_MINUTE)).toEqual(Array(LOGIN_PER_MINUTE).fill('302'));
    expect(new Set(outcomes.slice(LOGIN_PER_MINUTE))).toEqual(new Set(['429 rate_limited']));
    expect(most).toBe(3);
    expect(idpHits()).toBe(0);
  });

  it(`${FLOOD} /bff/login calls each allowed by the limiter (clock moved 4 s apart) never leave more than 3 transaction cookies, keep the session, and hold no server state`, async () => {
    await stack.advanceClock(60);
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    const session = await sessionInBrowser(browser, stack, stack.nowSeconds());
    stack.idp.resetHits();
    let most = 0;
    const heapBefore = stack.kind === 'node' ? settledHeap() : 0;
    const started = Date.now();
    for (let i = 0; i < FLOOD; i++) {
      await stack.advanceClock(4); // 60 / LOGIN_PER_MINUTE = 3 s refills one token
      const res = await browser.fetch(`${stack.bffUrl}/bff/login?returnTo=/n${i}`);
      expect(res.status).toBe(302);
      most = Math.max(most, (await bffCookieNames(browser, stack)).filter((n) => n.startsWith('__Host-bff-login.')).length);
    }
    expect(Date.now() - started).toBeLessThan(FLOOD_BUDGET_MS);
    expect(most).toBe(3);
    // Retained memory only (garbage collected first): the BFF keeps no per-login state.
    if (stack.kind === 'node') expect(settledHeap() - heapBefore).toBeLessThan(20 * 1024 * 1024);
    expect(idpHits()).toBe(0);
    // The session survived the flood.
    expect((await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF }).then((r) => r.json())).authenticated).toBe(true);
    expect((await sessionInBrowser(browser, stack, stack.nowSeconds()))!.sid).toBe(session!.sid);
  });

  it('/bff/login with 60 forged transaction cookies answers quickly and keeps only the new one and the 2 newest others', async () => {
    await stack.advanceClock(60);
    // (150 would make the answer's 148 deletion lines exceed a 16 KiB response
    // header limit; only the browser itself can hold __Host- cookies, so that
    // is self-inflicted.)
    const browser = new TestBrowser();
    for (let i = 0; i < 60; i++) await browser.jar.setCookie(`__Host-bff-login.junk${i}=Fe26.2*${i}*x*y*z*0*a*b~2; Path=/; Secure; HttpOnly; SameSite=Lax`, stack.bffUrl);
    const started = Date.now();
    const res = await browser.fetch(`${stack.bffUrl}/bff/login`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(302);
    expect(clearedNames(res)).toHaveLength(58);
    expect(setNames(res)).toHaveLength(1);
    expect((await bffCookieNames(browser, stack)).filter((n) => n.startsWith('__Host-bff-login.'))).toHaveLength(3);
    expect(idpHits()).toBe(0);
  });

  it('100 POST /bff/refresh from one session (non-rotating IdP) cost one token-endpoint call: later ones reuse its result for 30 s', async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    stack.idp.resetHits();
    const started = Date.now();
    const statuses = new Set<number>();
    for (let i = 0; i < 100; i++) statuses.add((await browser.fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: CSRF })).status);
    expect(Date.now() - started).toBeLessThan(FLOOD_BUDGET_MS);
    expect([...statuses]).toEqual([200]);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    expect(stack.api.requests).toHaveLength(0);
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
