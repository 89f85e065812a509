/**
 * Refusals: CSRF header, Origin and Sec-Fetch-Site checks, missing or unusable
 * sessions, unknown routes. Each refusal is a problem+json with a stable code
 * and never reaches the upstream API or the IdP.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTarget, type Target } from '../support/target.js';
import { createSealer } from '../../src/session/seal.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { CSRF } from '../support/harness.js';

let stack: Target;
let browser: TestBrowser;
let sessionCookie: string;

beforeAll(async () => {
  stack = await startTarget({ env: { BFF_ALLOWED_ORIGINS: 'https://admin.example.test' } });
  browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl);
  sessionCookie = await browser.cookieHeader(stack.bffUrl);
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.api.resetRequests();
  stack.idp.resetHits();
});

/** A GET with the path sent byte for byte (fetch would normalise it first). */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: stack.bffPort, path, headers: { ...headers, host: new URL(stack.bffUrl).host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function expectProblem(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = await res.json();
  expect(body).toMatchObject({ type: 'about:blank', status, code });
  expect(typeof body.title).toBe('string');
}

const guarded: Array<[string, string]> = [
  ['GET', '/bff/session'],
  ['POST', '/bff/refresh'],
  ['POST', '/bff/logout'],
  ['GET', '/api/me'],
  ['POST', '/api/notes'],
  ['DELETE', '/api/notes/1'],
];

describe('anti-CSRF header', () => {
  it.each(guarded)('%s %s without x-csrf → 403 csrf_failed, no upstream or IdP hit', async (method, path) => {
    const res = await fetch(`${stack.bffUrl}${path}`, { method, headers: { cookie: sessionCookie } });
    await expectProblem(res, 403, 'csrf_failed');
    expect(stack.api.requests).toHaveLength(0);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
    expect(stack.idp.hits('/token/revocation')).toBe(0);
  });

  it.each(['0', 'true', '', '11', 'yes'])('x-csrf: %j is refused', async (value) => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: sessionCookie, 'x-csrf': value } });
    await expectProblem(res, 403, 'csrf_failed');
    expect(stack.api.requests).toHaveLength(0);
  });

  it('the session survives a refused logout', async () => {
    await fetch(`${stack.bffUrl}/bff/logout`, { method: 'POST', headers: { cookie: sessionCookie, origin: 'https://evil.example' } });
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: sessionCookie, ...CSRF } });
    expect(res.status).toBe(200);
  });
});

describe('origin checks', () => {
  it.each(guarded)('%s %s from a foreign Origin → 403 origin_not_allowed', async (method, path) => {
    const res = await fetch(`${stack.bffUrl}${path}`, { method, headers: { cookie: sessionCookie, ...CSRF, origin: 'https://evil.example' } });
    await expectProblem(res, 403, 'origin_not_allowed');
    expect(stack.api.requests).toHaveLength(0);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('refuses Origin: null', async () => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: sessionCookie, ...CSRF, origin: 'null' } });
    await expectProblem(res, 403, 'origin_not_allowed');
  });

  it('refuses Sec-Fetch-Site: cross-site without an allowed Origin', async () => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: sessionCookie, ...CSRF, 'sec-fetch-site': 'cross-site' } });
    await expectProblem(res, 403, 'origin_not_allowed');
    expect(stack.api.requests).toHaveLength(0);
  });

  it('accepts its own origin and a configured extra origin (with CORS credentials for the latter)', async () => {
    const own = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: sessionCookie, ...CSRF, origin: stack.bffUrl, 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
    const extra = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: sessionCookie, ...CSRF, origin: 'https://admin.example.test', 'sec-fetch-site': 'cross-site' } });
    expect(extra.status).toBe(200);
    expect(extra.headers.get('access-control-allow-origin')).toBe('https://admin.example.test');
    expect(extra.headers.get('access-control-allow-credentials')).toBe('true');
    expect(stack.api.requests).toHaveLength(2);
  });

  it('answers CORS preflights itself: allowed origin gets the headers, others do not, the API sees none', async () => {
    const allowed = await fetch(`${stack.bffUrl}/api/notes`, { method: 'OPTIONS', headers: { origin: 'https://admin.example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf, content-type' } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example.test');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/x-csrf/);
    const foreign = await fetch(`${stack.bffUrl}/api/notes`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(stack.api.requests).toHaveLength(0);
  });
});

describe('missing or unusable sessions', () => {
  it('proxy without a session → 401 unauthenticated, no upstream hit', async () => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    await expectProblem(res, 401, 'unauthenticated');
    expect(stack.api.requests).toHaveLength(0);
  });

  it('XHR never gets a redirect to the IdP', async () => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, accept: 'text/html' }, redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(res.headers.get('location')).toBeNull();
  });

  const tampered = (cookie: string): string => {
    const value = cookie.split('=').slice(1).join('=');
    const i = Math.floor(value.length / 2);
    return `__Host-bff-session=${value.slice(0, i)}${value[i] === 'A' ? 'B' : 'A'}${value.slice(i + 1)}`;
  };

  it.each([
    ['tampered', () => tampered(sessionCookie)],
    ['truncated', () => sessionCookie.slice(0, 60)],
    ['garbage', () => '__Host-bff-session=not-a-seal'],
    ['wrong mac prefix', () => '__Host-bff-session=Fe26.2*1*x*y*z*w*0*a*b'],
    ['empty', () => '__Host-bff-session='],
    ['huge', () => `__Host-bff-session=Fe26.2*${'a'.repeat(7000)}`],
  ])('a %s session cookie → 401 on the proxy and cleared; /bff/session says unauthenticated', async (_name, cookie) => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: cookie(), ...CSRF } });
    await expectProblem(res, 401, 'unauthenticated');
    expect(res.headers.getSetCookie().some((l) => /^__Host-bff-session=;.*Max-Age=0/.test(l))).toBe(true);
    const view = await fetch(`${stack.bffUrl}/bff/session`, { headers: { cookie: cookie(), ...CSRF } });
    expect(view.status).toBe(200);
    expect(await view.json()).toEqual({ authenticated: false });
    expect(stack.api.requests).toHaveLength(0);
  });

  it('a login-transaction cookie pasted as the session cookie is refused', async () => {
    const login = await fetch(`${stack.bffUrl}/bff/login`, { redirect: 'manual' });
    const tx = login.headers.getSetCookie()[0]!.split(';')[0]!.split('=').slice(1).join('=');
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: `__Host-bff-session=${tx}`, ...CSRF } });
    await expectProblem(res, 401, 'unauthenticated');
  });

  it('a cookie sealed with another secret is refused', async () => {
    const other = createSealer(['x'.repeat(40)]);
    const forged = await other.seal('session', { v: 1, sid: 's', iat: 0, exp: 9999999999, iss: stack.idp.issuer, sub: 'mallory', aud: 'hono-bff-dev', user: { sub: 'mallory' }, at: 'forged' }, 3600);
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: `__Host-bff-session=${forged}`, ...CSRF } });
    await expectProblem(res, 401, 'unauthenticated');
    expect(stack.api.requests).toHaveLength(0);
  });

  it('/bff/refresh without a session → 401 unauthenticated, no IdP call', async () => {
    const res = await fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: CSRF });
    await expectProblem(res, 401, 'unauthenticated');
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });

  it('/bff/logout without a session still answers with the post-logout URL', async () => {
    const res = await fetch(`${stack.bffUrl}/bff/logout`, { method: 'POST', headers: CSRF });
    expect(res.status).toBe(200);
    const { logoutUrl } = await res.json();
    expect(new URL(logoutUrl).searchParams.get('id_token_hint')).toBeNull();
    expect(stack.idp.hits('/token/revocation')).toBe(0);
  });
});

describe('routing', () => {
  it('unknown BFF endpoint → 404 route_not_found', async () => {
    await expectProblem(await fetch(`${stack.bffUrl}/bff/nope`), 404, 'route_not_found');
  });

  it('unknown path outside the routes → 404 route_not_found', async () => {
    await expectProblem(await fetch(`${stack.bffUrl}/apix/me`, { headers: CSRF }), 404, 'route_not_found');
    expect(stack.api.requests).toHaveLength(0);
  });

  it('wrong method on a BFF endpoint → 405 method_not_allowed', async () => {
    await expectProblem(await fetch(`${stack.bffUrl}/bff/logout`, { headers: CSRF }), 405, 'method_not_allowed');
  });

  it.each(['/api/..%2fadmin', '/api/..%2Fadmin', '/api/a%5cb', '/api/x/%2e%2e%2f%2e%2e%2fadmin'])('encoded traversal %s → 400 invalid_request, no upstream hit', async (path) => {
    const res = await rawGet(path, { cookie: sessionCookie, ...CSRF });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).code).toBe('invalid_request');
    expect(stack.api.requests).toHaveLength(0);
  });

  it('dot segments sent raw are resolved before routing: /api/%2e%2e/admin is /admin → 404, no upstream hit', async () => {
    const res = await rawGet('/api/%2e%2e/admin', { cookie: sessionCookie, ...CSRF });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).code).toBe('route_not_found');
    expect(stack.api.requests).toHaveLength(0);
  });
});
