/**
 * Token and session lifecycle on both runtimes: upstream 401 → one refresh
 * and one retry; readiness; idle and absolute session lifetimes with a
 * sliding re-seal; session-secret rotation without logouts; large tokens
 * split into cookie chunks. Time moves by the target's clock, never by
 * sleeping.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/session/seal.js';
import { chunkedSetCookies, SESSION_COOKIE } from '../../src/session/cookies.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { bffCookieNames, CSRF, sessionInBrowser } from '../support/harness.js';
import { startTarget, type Target } from '../support/target.js';

const OLD_SECRET = 'old-secret-'.padEnd(40, 'o');
const NEW_SECRET = 'new-secret-'.padEnd(40, 'n');

let stack: Target;

beforeAll(async () => {
  stack = await startTarget({ env: { BFF_SESSION_IDLE_SECONDS: '3600', BFF_SESSION_MAX_SECONDS: '10800', BFF_SESSION_SECRET: `${NEW_SECRET},${OLD_SECRET}` } });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.idp.resetHits();
  stack.api.resetRequests();
});

async function loggedIn(): Promise<TestBrowser> {
  const browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl);
  stack.idp.resetHits();
  stack.api.resetRequests();
  return browser;
}

describe('upstream 401', () => {
  it('GET: refreshes once, retries once, and succeeds with the new token', async () => {
    const browser = await loggedIn();
    const before = await sessionInBrowser(browser, stack, stack.nowSeconds());
    const res = await browser.fetch(`${stack.bffUrl}/api/401-once?key=get`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: 'alice', accepted: true });
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    expect(stack.api.requests.map((r) => r.path)).toEqual(['/api/401-once?key=get', '/api/401-once?key=get']);
    const after = await sessionInBrowser(browser, stack, stack.nowSeconds());
    expect(after!.at).not.toBe(before!.at);
    expect(stack.api.requests[1]!.headers.authorization).toBe(`Bearer ${after!.at}`);
  });

  it('POST: the 401 is passed on, no refresh, the body is never sent twice', async () => {
    const browser = await loggedIn();
    const res = await browser.fetch(`${stack.bffUrl}/api/401-once?key=post`, { method: 'POST', headers: { ...CSRF, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
    expect(stack.api.requests).toHaveLength(1);
  });

  it('an upstream that always answers 401 costs one refresh and one retry, never a loop', async () => {
    const browser = await loggedIn();
    const res = await browser.fetch(`${stack.bffUrl}/api/status/401`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    expect(stack.api.requests).toHaveLength(2);
  });
});

describe('readiness', () => {
  it('/bff/readyz is 200 while the IdP is reachable, /bff/healthz always', async () => {
    const ready = await fetch(`${stack.bffUrl}/bff/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { idp: 'ok' } });
  });

  it('a BFF started while the IdP is down is live but not ready, and becomes ready when it returns', async () => {
    const fresh = await startTarget();
    try {
      await fresh.setIdpDown(true);
      expect((await fetch(`${fresh.bffUrl}/bff/healthz`)).status).toBe(200);
      const notReady = await fetch(`${fresh.bffUrl}/bff/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'not_ready', checks: { idp: 'idp_unavailable' } });
      expect(notReady.headers.get('retry-after')).toBe('5');
      await fresh.setIdpDown(false);
      await fresh.advanceClock(2);
      expect((await fetch(`${fresh.bffUrl}/bff/readyz`)).status).toBe(200);
    } finally {
      await fresh.close();
    }
  });
});

describe('session lifetimes', () => {
  it('ends an idle session after BFF_SESSION_IDLE_SECONDS and clears it', async () => {
    const browser = await loggedIn();
    await stack.advanceClock(3601);
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('unauthenticated');
    expect(await bffCookieNames(browser, stack)).toEqual([]);
    expect(stack.api.requests).toHaveLength(0);
  });

  it('activity slides the idle timeout (re-sealed at most once a minute) and /bff/session reports the end', async () => {
    const browser = await loggedIn();
    const first = await (await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF })).json();
    // Within the same minute: no re-seal.
    const quick = await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF });
    expect(quick.headers.getSetCookie()).toEqual([]);
    await stack.advanceClock(3000);
    const slid = await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF });
    expect(slid.headers.getSetCookie().some((l) => l.startsWith(`${SESSION_COOKIE}=Fe26.2*`))).toBe(true);
    const view = await slid.json();
    expect(view.sessionExpiresAt).toBe(first.sessionExpiresAt + 3000);
    await stack.advanceClock(3000);
    expect((await (await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF })).json()).authenticated).toBe(true);
  });

  it('ends a session at BFF_SESSION_MAX_SECONDS whatever the activity', async () => {
    const browser = await loggedIn();
    for (let i = 0; i < 3; i++) {
      await stack.advanceClock(3000);
      expect((await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF }).then((r) => r.json())).authenticated).toBe(true);
    }
    const view = await (await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF })).json();
    expect(view.sessionExpiresAt).toBeLessThanOrEqual(stack.nowSeconds() + 10800 - 9000);
    await stack.advanceClock(1801);
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect(stack.api.requests).toHaveLength(0);
  });
});

describe('session secret rotation', () => {
  it('accepts a cookie sealed with the old secret and re-seals it with the new one on that response', async () => {
    const browser = await loggedIn();
    const session = await sessionInBrowser(browser, stack, stack.nowSeconds());
    const sealedOld = await createSealer([OLD_SECRET]).seal('session', session!, 3600);
    const cookie = chunkedSetCookies(SESSION_COOKIE, sealedOld, { sameSite: 'Strict', maxAgeSeconds: 3600, existingChunks: 0 })[0]!.split(';')[0]!;
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, cookie } });
    expect(res.status).toBe(200);
    const reseal = res.headers.getSetCookie().find((l) => l.startsWith(`${SESSION_COOKIE}=`))!;
    const value = reseal.split(';')[0]!.slice(SESSION_COOKIE.length + 1);
    expect(await createSealer([NEW_SECRET, OLD_SECRET]).usesPrimaryKey(value)).toBe(true);
    expect(await createSealer([NEW_SECRET]).unseal('session', value)).toMatchObject({ sub: 'alice' });
  });

  it('a cookie sealed with a secret that was removed is a clean 401, never a 500', async () => {
    const browser = await loggedIn();
    const session = await sessionInBrowser(browser, stack, stack.nowSeconds());
    const retired = await createSealer(['retired-secret-'.padEnd(40, 'r')]).seal('session', session!, 3600);
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, cookie: `${SESSION_COOKIE}=${retired}` } });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('unauthenticated');
    expect(res.headers.getSetCookie().some((l) => l.startsWith(`${SESSION_COOKIE}=;`))).toBe(true);
  });
});

describe('large tokens', () => {
  let big: Target;
  beforeAll(async () => {
    big = await startTarget({ idp: { accessTokenPaddingBytes: 6000 } });
  });
  afterAll(async () => {
    await big?.close();
  });

  it('splits a 6 KB access token into cookie chunks of <= 4096 bytes that work on every request', async () => {
    const browser = new TestBrowser();
    const setCookieLines: string[] = [];
    const original = browser.fetch.bind(browser);
    browser.fetch = async (url, init) => {
      const response = await original(url, init);
      setCookieLines.push(...response.headers.getSetCookie());
      return response;
    };
    await loginThroughIdp(browser, big.bffUrl);
    const session = await sessionInBrowser(browser, big);
    expect(session!.at.length).toBeGreaterThan(6000);
    const names = await bffCookieNames(browser, big);
    expect(names.length).toBeGreaterThan(1);
    expect(names).toEqual([SESSION_COOKIE, ...Array.from({ length: names.length - 1 }, (_, i) => `${SESSION_COOKIE}.${i + 1}`)]);
    for (const line of setCookieLines) expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(4096);
    const me = await browser.fetch(`${big.bffUrl}/api/me`, { headers: CSRF });
    expect(me.status).toBe(200);
    expect(big.api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${session!.at}`);
  });

  it('keeps the Cookie header of a typical session (no padding) under 8 KB', async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    const header = await browser.cookieHeader(stack.bffUrl);
    expect(header.length).toBeLessThan(8192);
    expect(await bffCookieNames(browser, stack)).toEqual([SESSION_COOKIE]);
  });

  it('a missing or reordered chunk is a clean 401 and every chunk is cleared', async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, big.bffUrl);
    const cookies = Object.fromEntries((await browser.cookies(big.bffUrl)).map((c) => [c.key, c.value]));
    const missing = `${SESSION_COOKIE}=${cookies[SESSION_COOKIE]}`;
    const reordered = `${SESSION_COOKIE}=${cookies[`${SESSION_COOKIE}.1`]}; ${SESSION_COOKIE}.1=${cookies[SESSION_COOKIE]}`;
    for (const cookie of [missing, reordered]) {
      const res = await fetch(`${big.bffUrl}/api/me`, { headers: { ...CSRF, cookie } });
      expect(res.status).toBe(401);
      expect((await res.json()).code).toBe('unauthenticated');
      expect(res.headers.getSetCookie().some((l) => l.startsWith(`${SESSION_COOKIE}=;`))).toBe(true);
    }
  });
});
