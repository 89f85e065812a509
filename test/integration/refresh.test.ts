/**
 * Token refresh through the proxy: proactive refresh before expiry, one IdP
 * call for concurrent requests (against a rotating IdP), `invalid_grant` →
 * `session_expired` with cookies cleared, and IdP outages that neither
 * destroy the session nor stop still-valid tokens. Time moves by an
 * injected clock, never by sleeping.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTarget, type Target } from '../support/target.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { bffCookieNames, CSRF, revokeAtIdp, sessionInBrowser } from '../support/harness.js';

let stack: Target;

beforeAll(async () => {
  stack = await startTarget({ idp: { rotateRefreshTokens: true, accessTokenTtlSeconds: 300 } });
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(async () => {
  await stack.setIdpDown(false);
  stack.idp.resetHits();
  stack.api.resetRequests();
});

/** Logs in a fresh browser and moves the clock so its access token expires in `remaining` seconds. */
async function sessionExpiringIn(remaining: number): Promise<TestBrowser> {
  const browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl);
  const session = await sessionInBrowser(browser, stack, stack.nowSeconds());
  await stack.advanceClock(session!.atExp! - stack.nowSeconds() - remaining);
  stack.idp.resetHits();
  return browser;
}

describe('proactive refresh', () => {
  it('refreshes once when the access token expires within 60 s, then uses the new cookie', async () => {
    const browser = await sessionExpiringIn(30);
    const before = await sessionInBrowser(browser, stack, stack.nowSeconds());
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    expect(res.headers.getSetCookie().some((l) => l.startsWith('__Host-bff-session=Fe26.2*'))).toBe(true);
    const after = await sessionInBrowser(browser, stack, stack.nowSeconds());
    expect(after!.at).not.toBe(before!.at);
    expect(after!.rt).not.toBe(before!.rt);
    expect(stack.api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${after!.at}`);

    const again = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(again.status).toBe(200);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
  });

  it('does not refresh a token with more than 60 s left', async () => {
    const browser = await sessionExpiringIn(120);
    const before = await sessionInBrowser(browser, stack, stack.nowSeconds());
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
    // The clock moved past the activity re-seal interval, so the cookie may be re-sealed, with the same tokens.
    const after = await sessionInBrowser(browser, stack, stack.nowSeconds());
    expect(after!.at).toBe(before!.at);
    expect(after!.rt).toBe(before!.rt);
  });

  it('coalesces 50 concurrent requests of one session into one refresh; the rotating grant survives', async () => {
    const browser = await sessionExpiringIn(10);
    const cookie = await browser.cookieHeader(stack.bffUrl);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${stack.bffUrl}/api/me`, { headers: { cookie, ...CSRF } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    // Adopt one response's cookie (as the browser would) and check the grant is alive.
    await browser.jar.setCookie(responses[0]!.headers.getSetCookie().find((l) => l.startsWith('__Host-bff-session='))!, stack.bffUrl);
    const session = await sessionInBrowser(browser, stack, stack.nowSeconds());
    expect((await stack.idp.introspect(session!.rt!)).active).toBe(true);
  });
});

describe('refresh refused by the IdP', () => {
  it('invalid_grant → 401 session_expired, every session cookie cleared, no upstream call', async () => {
    const browser = await sessionExpiringIn(30);
    const session = await sessionInBrowser(browser, stack, stack.nowSeconds());
    expect((await revokeAtIdp(stack, session!.rt!)).status).toBe(200);
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('session_expired');
    expect(stack.api.requests).toHaveLength(0);
    expect(await bffCookieNames(browser, stack)).toEqual([]);
  });

  it('POST /bff/refresh with a revoked grant → 401 session_expired and cleared cookies', async () => {
    const browser = await sessionExpiringIn(200);
    const session = await sessionInBrowser(browser, stack, stack.nowSeconds());
    expect((await revokeAtIdp(stack, session!.rt!)).status).toBe(200);
    const res = await browser.fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: CSRF });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('session_expired');
    expect(await bffCookieNames(browser, stack)).toEqual([]);
  });
});

describe('IdP outage during refresh', () => {
  it('keeps proxying with a still-valid token, answers 503 once it expired, and recovers without a new login', async () => {
    const browser = await sessionExpiringIn(30);
    const before = await sessionInBrowser(browser, stack, stack.nowSeconds());
    await stack.setIdpDown(true);

    const stillValid = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(stillValid.status).toBe(200);
    expect(stack.api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${before!.at}`);
    const original = await browser.cookieHeader(stack.bffUrl);
    expect((await sessionInBrowser(browser, stack, stack.nowSeconds()))!.rt).toBe(before!.rt);

    await stack.advanceClock(60);
    const expired = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(expired.status).toBe(503);
    expect((await expired.json()).code).toBe('idp_unavailable');
    expect(expired.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(expired.headers.getSetCookie()).toEqual([]);
    expect(await browser.cookieHeader(stack.bffUrl)).toBe(original);
    expect(stack.api.requests).toHaveLength(1);

    const explicit = await browser.fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: CSRF });
    expect(explicit.status).toBe(503);
    expect((await explicit.json()).code).toBe('idp_unavailable');

    await stack.setIdpDown(false);
    const recovered = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(recovered.status).toBe(200);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    expect(recovered.headers.getSetCookie().some((l) => l.startsWith('__Host-bff-session=Fe26.2*'))).toBe(true);
  });
});
