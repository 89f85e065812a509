/**
 * Smoke test of the dev stack: dev IdP, example API and the TestBrowser helpers, driven
 * by openid-client the way the BFF will. A tiny in-test "BFF" serves `/bff/login` (redirect
 * to the hand-built authorize URL) and `/bff/callback` (records the query, redirects to `/`)
 * so `loginThroughIdp` is exercised end to end.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleApi, type ExampleApi } from '../../dev/api.js';
import { startDevIdp, type DevIdp } from '../../dev/idp.js';
import { TestBrowser, completeIdpLogout, loginThroughIdp } from './browser.js';

const CLIENT = { id: 'bff', secret: 'dev-stack-secret' };

interface MiniBff { url: string; server: Server; callbacks: URLSearchParams[]; nextAuthorizeUrl: string; }

/** Starts the mini BFF before the IdP, because the IdP needs its redirect URI. */
async function startMiniBff(): Promise<MiniBff> {
  const bff: MiniBff = { url: '', server: createServer(), callbacks: [], nextAuthorizeUrl: '' };
  bff.server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', bff.url);
    if (url.pathname === '/bff/login') {
      res.writeHead(302, { location: bff.nextAuthorizeUrl }).end();
    } else if (url.pathname === '/bff/callback') {
      bff.callbacks.push(url.searchParams);
      res.writeHead(302, { location: '/' }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => bff.server.listen(0, '127.0.0.1', resolve));
  bff.url = `http://127.0.0.1:${(bff.server.address() as AddressInfo).port}`;
  return bff;
}

describe('dev stack', () => {
  let bff: MiniBff;
  let idp: DevIdp;
  let rotatingIdp: DevIdp;
  let api: ExampleApi;
  let resource: string;

  beforeAll(async () => {
    bff = await startMiniBff();
    // The API needs the issuer and the IdP needs the resource: reserve the API port first.
    const reserve = createServer();
    await new Promise<void>((resolve) => reserve.listen(0, '127.0.0.1', resolve));
    const apiPort = (reserve.address() as AddressInfo).port;
    await new Promise<void>((resolve) => reserve.close(() => resolve()));
    resource = `http://127.0.0.1:${apiPort}`;
    const clients = [{
      clientId: CLIENT.id,
      clientSecret: CLIENT.secret,
      redirectUris: [`${bff.url}/bff/callback`],
      postLogoutRedirectUris: [`${bff.url}/`],
    }];
    idp = await startDevIdp({ clients, resource });
    rotatingIdp = await startDevIdp({ clients, resource, rotateRefreshTokens: true });
    api = await startExampleApi({ port: apiPort, issuer: idp.issuer, audience: resource });
  });

  afterAll(async () => {
    await Promise.all([api?.close(), idp?.close(), rotatingIdp?.close()]);
    await new Promise<void>((resolve) => (bff ? bff.server.close(() => resolve()) : resolve()));
  });

  /** Logs in through the forms and exchanges the code, as the BFF would. */
  async function loginAndExchange(target: DevIdp, opts: { resource?: string; user?: string } = {}) {
    const config = await oidc.discovery(new URL(target.issuer), CLIENT.id, CLIENT.secret, oidc.ClientSecretBasic(CLIENT.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const params: Record<string, string> = {
      redirect_uri: `${bff.url}/bff/callback`,
      scope: 'openid profile email offline_access notes:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    };
    if (opts.resource) params['resource'] = opts.resource;
    bff.nextAuthorizeUrl = oidc.buildAuthorizationUrl(config, params).href;
    const browser = new TestBrowser();
    const { finalUrl, visited } = await loginThroughIdp(browser, bff.url, { user: opts.user ?? 'alice', returnTo: '/' });
    expect(finalUrl).toBe(`${bff.url}/`);
    expect(visited.some((u) => u.startsWith(`${target.issuer}/interaction/`))).toBe(true);
    const callback = new URL(`${bff.url}/bff/callback?${bff.callbacks.at(-1)?.toString() ?? ''}`);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    return { config, tokens, browser };
  }

  it('issues a JWT access token for the API resource and the API accepts it', async () => {
    const { tokens } = await loginAndExchange(idp, { resource });
    expect(tokens.access_token.split('.')).toHaveLength(3);
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.claims()).toMatchObject({ sub: 'alice', name: 'Alice Liddell', email: 'alice@example.com' });

    api.resetRequests();
    const res = await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(200);
    const me = (await res.json()) as Record<string, unknown>;
    expect(me).toMatchObject({ sub: 'alice', clientId: CLIENT.id, aud: resource, receivedCookieHeader: false });
    expect(String(me['scope'])).toContain('notes:read');
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ method: 'GET', path: '/api/me' });
  });

  it('rejects a wrong password by re-rendering the form without redirecting', async () => {
    const config = await oidc.discovery(new URL(idp.issuer), CLIENT.id, CLIENT.secret, oidc.ClientSecretBasic(CLIENT.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const authorize = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${bff.url}/bff/callback`,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const browser = new TestBrowser();
    const { response, visited } = await browser.follow(authorize);
    expect(response.status).toBe(200);
    const page = new URL(visited.at(-1) ?? '');
    expect(page.pathname).toMatch(/^\/interaction\/[^/]+$/);
    expect(await response.text()).toMatch(/name="password" type="password"/);

    const res = await browser.fetch(`${page.href}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'alice', password: 'wrong' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    const html = await res.text();
    expect(html).toContain('Invalid username or password.');
    expect(html).toContain('id="login"');

    bff.nextAuthorizeUrl = authorize.href;
    await expect(loginThroughIdp(new TestBrowser(), bff.url, { user: 'bob', password: 'alice' })).rejects.toThrow(/rejected/);
  });

  it('introspects and revokes an opaque access token', async () => {
    const { config, tokens } = await loginAndExchange(idp);
    expect(tokens.access_token.split('.')).toHaveLength(1);
    idp.resetHits();
    expect(await idp.introspect(tokens.access_token)).toMatchObject({ active: true, sub: 'alice', client_id: CLIENT.id });
    // The helper's own calls stay out of the counters.
    expect(idp.hits('/token/introspection')).toBe(0);
    await oidc.tokenRevocation(config, tokens.access_token);
    expect(idp.hits('/token/revocation')).toBe(1);
    expect(await idp.introspect(tokens.access_token)).toEqual({ active: false });
  });

  it('rotates refresh tokens and rejects reuse of the old one', async () => {
    const { config, tokens } = await loginAndExchange(rotatingIdp, { resource });
    const oldRefresh = tokens.refresh_token ?? '';
    rotatingIdp.resetHits();
    const refreshed = await oidc.refreshTokenGrant(config, oldRefresh);
    expect(rotatingIdp.tokenEndpointHits()).toBe(1);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(oldRefresh);
    expect(refreshed.access_token.split('.')).toHaveLength(3);
    await expect(oidc.refreshTokenGrant(config, oldRefresh)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Reuse detection revokes the whole grant, including the rotated token.
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token ?? '')).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('keeps refresh tokens stable without rotation', async () => {
    const { config, tokens } = await loginAndExchange(idp, { resource, user: 'bob' });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(refreshed.refresh_token ?? tokens.refresh_token).toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe('bob');
    expect(await idp.introspect(tokens.refresh_token ?? '')).toMatchObject({ active: true });
  });

  it('completes RP-initiated logout at the IdP', async () => {
    const { config, tokens, browser } = await loginAndExchange(idp);
    const logoutUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: `${bff.url}/`,
      state: 'bye',
    });
    expect(await completeIdpLogout(browser, logoutUrl.href)).toBe(`${bff.url}/?state=bye`);
    expect(idp.hits('/session/end/confirm')).toBeGreaterThanOrEqual(1);
    expect(await idp.introspect(tokens.refresh_token ?? '')).toEqual({ active: false });
  });

  it('API: 401 problem without a valid token, public route, streaming and odd routes', async () => {
    const noToken = await fetch(`${api.url}/api/me`);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(noToken.headers.get('content-type')).toBe('application/problem+json');
    expect(await noToken.json()).toMatchObject({ status: 401, code: 'invalid_token' });
    const garbage = await fetch(`${api.url}/api/me`, { headers: { authorization: 'Bearer a.b.c' } });
    expect(garbage.status).toBe(401);

    expect(await (await fetch(`${api.url}/api/public`)).json()).toEqual({ public: true });

    const { tokens } = await loginAndExchange(idp, { resource });
    const auth = { authorization: `Bearer ${tokens.access_token}` };
    const large = await fetch(`${api.url}/api/large?bytes=300000`, { headers: auth });
    expect((await large.arrayBuffer()).byteLength).toBe(300000);
    const echo = await fetch(`${api.url}/api/echo`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'héllo' });
    expect(echo.headers.get('x-echo-length')).toBe('6');
    expect(await echo.text()).toBe('héllo');
    const created = await fetch(`${api.url}/api/notes`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) });
    expect(created.status).toBe(201);
    expect(await (await fetch(`${api.url}/api/notes`, { headers: auth })).json()).toMatchObject({ notes: [{ text: 'hi' }] });
    const bad = await fetch(`${api.url}/api/notes`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"text":""}' });
    expect(await bad.json()).toMatchObject({ status: 400, code: 'invalid_request' });
    const redirect = await fetch(`${api.url}/api/redirect`, { headers: auth, redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const cookie = await fetch(`${api.url}/api/set-cookie`, { headers: auth });
    expect(cookie.headers.getSetCookie()).toEqual(['upstream=1; Path=/']);
    expect((await fetch(`${api.url}/api/status/418`, { headers: auth })).status).toBe(418);
    expect((await fetch(`${api.url}/api/status/204`, { headers: auth })).status).toBe(204);
  });
});
