/**
 * Logout as an attack surface: every session chunk and transaction cookie
 * cleared, the refresh token revoked, an end-session URL the browser cannot
 * redirect elsewhere, and no-store / no-referrer on every BFF endpoint.
 *
 * Complements test/integration/core-flow.test.ts (one logout with revocation
 * and the IdP's end-session round trip) and test/integration/guards.test.ts
 * (logout without a session, refused logout keeps the session).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chunkedSetCookies } from '../../src/session/cookies.js';
import { createSealer } from '../../src/session/seal.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { authorizeUntilCallback, bffCookieNames, CSRF, sessionInBrowser } from '../support/harness.js';
import { clearedNames, cookieRuleViolations, setCookiesOf, setNames } from '../support/leaks.js';
import { startTarget, type Target } from '../support/target.js';

const SESSION = '__Host-bff-session';

let stack: Target;

beforeAll(async () => {
  stack = await startTarget();
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(async () => {
  await stack.setIdpDown(false);
  stack.api.resetRequests();
  stack.idp.resetHits();
});

async function loggedIn(user = 'alice'): Promise<TestBrowser> {
  const browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl, { user });
  stack.idp.resetHits();
  return browser;
}

function logout(browser: TestBrowser, init: { query?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  return browser.fetch(`${stack.bffUrl}/bff/logout${init.query ?? ''}`, { method: 'POST', headers: { ...CSRF, ...init.headers }, body: init.body });
}

/** Plants a cookie in the browser as if the BFF had set it earlier. */
async function plant(browser: TestBrowser, name: string, value: string): Promise<void> {
  await browser.jar.setCookie(`${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict`, stack.bffUrl);
}

describe('logout clears every BFF cookie and revokes the refresh token', () => {
  it('a session stored in 3 chunks, a stale chunk after a gap and an abandoned login transaction are all cleared; the refresh token is inactive', async () => {
    const browser = await loggedIn();
    const session = (await sessionInBrowser(browser, stack))!;
    // The dev IdP's tokens fit one cookie: re-seal the same session with bulky
    // identity claims (the test knows the secret) so it needs 3 chunks.
    const sealer = createSealer(stack.env.BFF_SESSION_SECRET!.split(','));
    const sealed = await sealer.seal('session', { ...session, user: { ...session.user, bio: 'x'.repeat(5000) } }, 3600);
    const lines = chunkedSetCookies(SESSION, sealed, { sameSite: 'Strict', maxAgeSeconds: 3600, existingChunks: 0 });
    expect(lines).toHaveLength(3);
    for (const line of lines) await browser.jar.setCookie(line, stack.bffUrl);
    await plant(browser, `${SESSION}.6`, 'stale');
    expect((await browser.fetch(`${stack.bffUrl}/bff/login`)).status).toBe(302);
    const held = await bffCookieNames(browser, stack);
    expect(held.filter((n) => n.startsWith(SESSION))).toEqual([SESSION, `${SESSION}.1`, `${SESSION}.2`, `${SESSION}.6`]);
    expect(held.filter((n) => n.startsWith('__Host-bff-login.'))).toHaveLength(1);
    // The BFF reads the chunked session.
    const view = await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF });
    expect((await view.json()).user.sub).toBe('alice');
    stack.idp.resetHits();

    const res = await logout(browser);
    expect(res.status).toBe(200);
    expect(setNames(res)).toEqual([]);
    // Every cookie held is deleted (deleting a few chunk names it never held is harmless).
    const cleared = clearedNames(res);
    expect(cleared).toEqual(expect.arrayContaining(held));
    for (const name of cleared) expect(name).toMatch(/^__Host-bff-(session(\.[1-7])?|login\.[\w-]+)$/);
    expect(setCookiesOf(res).flatMap(cookieRuleViolations)).toEqual([]);
    expect(await bffCookieNames(browser, stack)).toEqual([]);
    expect(stack.idp.hits('/token/revocation')).toBe(1);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
    expect((await stack.idp.introspect(session.rt!)).active).toBe(false);
    const { logoutUrl } = (await res.json()) as { logoutUrl: string };
    expect(new URL(logoutUrl).searchParams.get('id_token_hint') === session.idt).toBe(true);
  });

  it('a stale __Host-bff-session.1 planted next to a single-chunk session is cleared with it', async () => {
    const browser = await loggedIn();
    const session = (await sessionInBrowser(browser, stack))!;
    // The stray chunk is appended to the session, which becomes unreadable (see
    // cookies.test.ts), so the BFF cannot know the refresh token to revoke.
    await plant(browser, `${SESSION}.1`, '7stale');
    const res = await logout(browser);
    expect(res.status).toBe(200);
    expect(setNames(res)).toEqual([]);
    expect(clearedNames(res)).toEqual([SESSION, `${SESSION}.1`]);
    expect(await bffCookieNames(browser, stack)).toEqual([]);
    expect(stack.idp.hits('/token/revocation')).toBe(0);
    expect((await stack.idp.introspect(session.rt!)).active).toBe(true);
    const { logoutUrl } = (await res.json()) as { logoutUrl: string };
    expect(new URL(logoutUrl).searchParams.get('id_token_hint')).toBeNull();
  });

  it('while the IdP is unreachable logout still clears every cookie (the refresh token stays active: known limit)', async () => {
    const browser = await loggedIn();
    const session = (await sessionInBrowser(browser, stack))!;
    await stack.setIdpDown(true);
    const res = await logout(browser);
    expect(res.status).toBe(200);
    expect(clearedNames(res)).toEqual([SESSION]);
    expect(await bffCookieNames(browser, stack)).toEqual([]);
    expect(stack.idp.hits('/token/revocation')).toBe(0);
    await stack.setIdpDown(false);
    expect((await stack.idp.introspect(session.rt!)).active).toBe(true);
    expect((await stack.logLines()).some((l) => l.includes('"event":"logout.revocation_failed"'))).toBe(true);
  });
});

describe('the end-session URL cannot be redirected by the browser', () => {
  it.each([
    ['?post_logout_redirect_uri=https://evil.test in the query', { query: '?post_logout_redirect_uri=https://evil.test&returnTo=https://evil.test' }],
    ['IdP parameters in the query (id_token_hint, client_id, state, ui_locales)', { query: '?id_token_hint=forged&client_id=evil&state=x&ui_locales=xx&logout_hint=mallory' }],
    ['a JSON body with post_logout_redirect_uri and returnTo', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ post_logout_redirect_uri: 'https://evil.test', returnTo: 'https://evil.test' }) }],
    ['a form body with post_logout_redirect_uri', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'post_logout_redirect_uri=https%3A%2F%2Fevil.test&client_id=evil' }],
  ] as Array<[string, { query?: string; headers?: Record<string, string>; body?: string }]>)('%s → only the configured values', async (_name, attack) => {
    const browser = await loggedIn();
    const session = (await sessionInBrowser(browser, stack))!;
    const res = await logout(browser, attack);
    expect(res.status).toBe(200);
    expect(clearedNames(res)).toEqual([SESSION]);
    expect(stack.idp.hits('/token/revocation')).toBe(1);
    const body = await res.text();
    expect(body).not.toContain('evil');
    const url = new URL((JSON.parse(body) as { logoutUrl: string }).logoutUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${stack.idp.issuer}/session/end`);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'id_token_hint', 'post_logout_redirect_uri']);
    expect(url.searchParams.get('client_id')).toBe(stack.env.BFF_CLIENT_ID);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.bffUrl}/`);
    expect(url.searchParams.get('id_token_hint') === session.idt).toBe(true);
  });
});

describe('BFF endpoint answers are never cached and never leak a Referer', () => {
  const expectHardened = (res: Response, what: string) => {
    expect({ what, cacheControl: res.headers.get('cache-control'), referrerPolicy: res.headers.get('referrer-policy'), nosniff: res.headers.get('x-content-type-options') }).toEqual({
      what,
      cacheControl: 'no-store',
      referrerPolicy: 'no-referrer',
      nosniff: 'nosniff',
    });
  };

  it('logout (200, and 403 without x-csrf)', async () => {
    const browser = await loggedIn();
    const refused = await browser.fetch(`${stack.bffUrl}/bff/logout`, { method: 'POST' });
    expect(refused.status).toBe(403);
    expectHardened(refused, 'refused logout');
    const res = await logout(browser);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expectHardened(res, 'logout');
  });

  it('login, successful and failed callback, session, refresh, healthz, unknown endpoint', async () => {
    const browser = new TestBrowser();
    const login = await browser.fetch(`${stack.bffUrl}/bff/login`);
    expect(login.status).toBe(302);
    expectHardened(login, 'login');

    const callbackUrl = await authorizeUntilCallback(browser, stack.bffUrl);
    const callback = await browser.fetch(callbackUrl);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe(`${stack.bffUrl}/`);
    expectHardened(callback, 'callback');

    const failed = await browser.fetch(`${stack.bffUrl}/bff/callback?code=forged&state=forged`);
    expect(failed.headers.get('location')).toBe(`${stack.bffUrl}/?bff_error=login_failed`);
    expectHardened(failed, 'failed callback');

    const session = await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF });
    expect(session.status).toBe(200);
    expectHardened(session, 'session');

    const refresh = await browser.fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: CSRF });
    expect(refresh.status).toBe(200);
    expectHardened(refresh, 'refresh');

    const health = await fetch(`${stack.bffUrl}/bff/healthz`);
    expectHardened(health, 'healthz');
    const unknown = await fetch(`${stack.bffUrl}/bff/nope`);
    expect(unknown.status).toBe(404);
    expectHardened(unknown, 'unknown endpoint');
    expect(stack.api.requests).toHaveLength(0);
  });
});
