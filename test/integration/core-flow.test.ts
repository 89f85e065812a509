/**
 * The core contract end to end over real HTTP: the real oidc-provider IdP,
 * the real example API, the BFF on Node, a tough-cookie jar as the browser.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startTarget, type Target } from '../support/target.js';
import { completeIdpLogout, loginThroughIdp, TestBrowser } from '../support/browser.js';
import { bffCookieNames, CSRF, sessionInBrowser, tokensOf } from '../support/harness.js';

let stack: Target;

beforeAll(async () => {
  stack = await startTarget();
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.api.resetRequests();
  stack.idp.resetHits();
});

describe('login → session → proxy → refresh → logout', () => {
  it('runs the whole lifecycle without a token ever reaching the browser', async () => {
    const browser = new TestBrowser();
    const { finalUrl, visited } = await loginThroughIdp(browser, stack.bffUrl, { returnTo: '/notes?tab=mine#top' });
    expect(finalUrl).toBe(`${stack.bffUrl}/notes?tab=mine#top`);

    // The authorization request carried PKCE S256, state, nonce, our scopes and resource only.
    const authorize = new URL(visited.find((u) => u.startsWith(`${stack.idp.issuer}/auth?`))!);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')!.length).toBeGreaterThanOrEqual(22);
    expect(authorize.searchParams.get('nonce')!.length).toBeGreaterThanOrEqual(22);
    expect(authorize.searchParams.get('scope')).toBe('openid profile email offline_access notes:read notes:write');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${stack.bffUrl}/bff/callback`);

    // Only the session cookie remains: the login transaction was consumed.
    expect(await bffCookieNames(browser, stack)).toEqual(['__Host-bff-session']);
    const session = await sessionInBrowser(browser, stack);
    expect(session?.sub).toBe('alice');
    expect(session?.rt).toBeTruthy();
    const tokens = tokensOf(session!);

    // GET /bff/session: identity and expiry, no protocol claims, no tokens.
    const view = await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF });
    expect(view.status).toBe(200);
    expect(view.headers.get('cache-control')).toBe('no-store');
    const viewText = await view.text();
    const viewJson = JSON.parse(viewText);
    expect(viewJson).toMatchObject({ authenticated: true, user: { sub: 'alice', name: 'Alice Liddell', email: 'alice@example.com' } });
    for (const claim of ['iss', 'aud', 'exp', 'iat', 'nonce', 'at_hash', 'sid']) expect(viewJson.user).not.toHaveProperty(claim);
    expect(viewJson.accessTokenExpiresAt).toBe(session!.atExp);
    expect(viewJson.sessionExpiresAt).toBeGreaterThan(viewJson.accessTokenExpiresAt);
    for (const token of tokens) expect(viewText).not.toContain(token);

    // Proxied GET: the API got a Bearer JWT for its audience, no Cookie, our forwarding headers.
    const me = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, cookie: await browser.cookieHeader(stack.bffUrl), 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6' } });
    expect(me.status).toBe(200);
    const meText = await me.text();
    expect(JSON.parse(meText)).toMatchObject({ sub: 'alice', aud: 'https://api.hono-bff.test', receivedCookieHeader: false, forwarded: { for: '127.0.0.1', proto: 'http', host: new URL(stack.bffUrl).host } });
    expect(stack.api.requests).toHaveLength(1);
    const received = stack.api.requests[0]!;
    expect(received.headers.cookie).toBeUndefined();
    expect(received.headers.forwarded).toBeUndefined();
    expect(received.headers['x-csrf']).toBeUndefined();
    expect(received.headers.authorization).toBe(`Bearer ${session!.at}`);
    expect(decodeJwt(session!.at).aud).toBe('https://api.hono-bff.test');
    for (const token of tokens) expect(meText).not.toContain(token);

    // Proxied POST with a JSON body.
    const created = await browser.fetch(`${stack.bffUrl}/api/notes`, { method: 'POST', headers: { ...CSRF, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'buy milk' }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ text: 'buy milk' });
    const list = await browser.fetch(`${stack.bffUrl}/api/notes`, { headers: CSRF });
    expect((await list.json()).notes.map((n: { text: string }) => n.text)).toEqual(['buy milk']);

    // POST /bff/refresh: one token-endpoint call, new tokens in a new cookie, same JSON shape.
    const hitsBefore = stack.idp.tokenEndpointHits();
    const refresh = await browser.fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: CSRF });
    expect(refresh.status).toBe(200);
    expect(stack.idp.tokenEndpointHits()).toBe(hitsBefore + 1);
    const refreshedView = await refresh.json();
    expect(refreshedView).toMatchObject({ authenticated: true, user: { sub: 'alice' } });
    const afterRefresh = await sessionInBrowser(browser, stack);
    expect(afterRefresh!.at).not.toBe(session!.at);
    expect(afterRefresh!.sid).toBe(session!.sid);
    const meAgain = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(meAgain.status).toBe(200);
    expect(stack.api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${afterRefresh!.at}`);

    // POST /bff/logout: refresh token revoked at the IdP, cookies cleared, end-session URL returned.
    expect((await stack.idp.introspect(afterRefresh!.rt!)).active).toBe(true);
    const logout = await browser.fetch(`${stack.bffUrl}/bff/logout`, { method: 'POST', headers: CSRF });
    expect(logout.status).toBe(200);
    expect(stack.idp.hits('/token/revocation')).toBe(1);
    expect((await stack.idp.introspect(afterRefresh!.rt!)).active).toBe(false);
    const { logoutUrl } = (await logout.json()) as { logoutUrl: string };
    const end = new URL(logoutUrl);
    expect(`${end.origin}${end.pathname}`).toBe(`${stack.idp.issuer}/session/end`);
    expect(end.searchParams.get('client_id')).toBe('hono-bff-dev');
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.bffUrl}/`);
    expect(end.searchParams.get('id_token_hint')).toBe(afterRefresh!.idt);
    expect(await bffCookieNames(browser, stack)).toEqual([]);
    expect(await completeIdpLogout(browser, logoutUrl)).toBe(`${stack.bffUrl}/`);

    const after = await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF });
    expect(await after.json()).toEqual({ authenticated: false });
    const meAfter = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(meAfter.status).toBe(401);

    // No token, cookie value or secret ever reached a log line.
    const secrets = [...tokens, afterRefresh!.at, afterRefresh!.rt!, stack.env.BFF_CLIENT_SECRET!, stack.env.BFF_SESSION_SECRET!];
    const logText = (await stack.logLines()).join('\n');
    for (const secret of secrets) expect(logText).not.toContain(secret);
    expect(logText).toContain('login.succeeded');
  });

  it('sets __Host- cookies with Secure, HttpOnly, Path=/ and the right SameSite, each line within 4096 bytes', async () => {
    const browser = new TestBrowser();
    const login = await browser.fetch(`${stack.bffUrl}/bff/login`);
    expect(login.status).toBe(302);
    const txLines = login.headers.getSetCookie();
    expect(txLines).toHaveLength(1);
    expect(txLines[0]).toMatch(/^__Host-bff-login\.[\w-]+=Fe26\.2\*/);
    expect(txLines[0]).toMatch(/; Max-Age=600/);
    expect(txLines[0]).toMatch(/; Path=\//);
    expect(txLines[0]).toMatch(/; Secure/);
    expect(txLines[0]).toMatch(/; HttpOnly/);
    expect(txLines[0]).toMatch(/; SameSite=Lax/);
    expect(txLines[0]).not.toMatch(/Domain=/i);

    // Finish the login by following the IdP and capture the callback's Set-Cookie lines.
    const callbackLines: string[] = [];
    const original = browser.fetch.bind(browser);
    browser.fetch = async (url, init) => {
      const response = await original(url, init);
      if (new URL(url).pathname === '/bff/callback') callbackLines.push(...response.headers.getSetCookie());
      return response;
    };
    await loginThroughIdp(browser, stack.bffUrl);
    const sessionLine = callbackLines.find((l) => l.startsWith('__Host-bff-session='));
    expect(sessionLine).toBeDefined();
    for (const line of callbackLines) {
      expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(4096);
      expect(line).toMatch(/^__Host-/);
      expect(line).toMatch(/; Path=\//);
      expect(line).toMatch(/; Secure/);
      expect(line).toMatch(/; HttpOnly/);
    }
    expect(sessionLine).toMatch(/; SameSite=Strict/);
    // The consumed transaction cookie is deleted in the same response.
    expect(callbackLines.some((l) => /^__Host-bff-login\.[\w-]+=;.*Max-Age=0/.test(l))).toBe(true);
  });

  it('redirects to the IdP with no browser-supplied OAuth parameter forwarded', async () => {
    const browser = new TestBrowser();
    const res = await browser.fetch(`${stack.bffUrl}/bff/login?returnTo=/x&scope=admin&prompt=none&redirect_uri=https://evil.example/cb&response_type=token&client_id=evil&resource=https://evil.example`);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('scope')).toBe('openid profile email offline_access notes:read notes:write');
    expect(location.searchParams.get('prompt')).toBeNull();
    expect(location.searchParams.get('redirect_uri')).toBe(`${stack.bffUrl}/bff/callback`);
    expect(location.searchParams.get('response_type')).toBe('code');
    expect(location.searchParams.get('client_id')).toBe('hono-bff-dev');
    expect(location.searchParams.getAll('resource')).toEqual(['https://api.hono-bff.test']);
  });

  it.each([
    ['//evil.example/x'],
    ['/\\evil.example'],
    ['https://evil.example/'],
    ['javascript:alert(1)'],
    ['/%2F%2Fevil.example'],
    ['%2F%2Fevil.example'],
  ])('sends a bad returnTo %j to / after login', async (returnTo) => {
    const browser = new TestBrowser();
    const { finalUrl } = await loginThroughIdp(browser, stack.bffUrl, { returnTo });
    expect(finalUrl).toBe(`${stack.bffUrl}/`);
  });

  it('answers /bff/healthz without a session or CSRF header', async () => {
    const res = await fetch(`${stack.bffUrl}/bff/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('gives a new session (new sid) to a second login, even in the same browser', async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    const first = await sessionInBrowser(browser, stack);
    // Forget the IdP's own SSO session (its cookies live on 127.0.0.1), as if alice signed out there.
    await browser.jar.store.removeCookies('127.0.0.1', null);
    await loginThroughIdp(browser, stack.bffUrl, { user: 'bob' });
    const second = await sessionInBrowser(browser, stack);
    expect(second!.sid).not.toBe(first!.sid);
    expect(second!.sub).toBe('bob');
    const view = await (await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF })).json();
    expect(view.user.sub).toBe('bob');
  });
});
