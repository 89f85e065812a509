/**
 * Cross-site request forgery and CORS: missing anti-CSRF header on every
 * method, look-alike Origins, Sec-Fetch-Site, preflights from allowed and
 * foreign origins, and cross-site logout attempts.
 *
 * Complements test/integration/guards.test.ts ("anti-CSRF header", "origin
 * checks"): it covers GET/POST/DELETE without x-csrf, wrong x-csrf values,
 * one foreign Origin per endpoint, `null`, and the basic preflight.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { CSRF, sessionInBrowser } from '../support/harness.js';
import { expectProblem } from '../support/leaks.js';
import { startTarget, type Target } from '../support/target.js';

const ADMIN = 'https://admin.example.test';

let stack: Target;
let browser: TestBrowser;
let cookie: string;

beforeAll(async () => {
  stack = await startTarget({ env: { BFF_ALLOWED_ORIGINS: ADMIN } });
  browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl);
  cookie = await browser.cookieHeader(stack.bffUrl);
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.api.resetRequests();
  stack.idp.resetHits();
});

/** No side effect at all: no upstream call, no IdP call, no cookie change. */
function expectNothingHappened(res: Response): void {
  expect(res.headers.getSetCookie()).toEqual([]);
  expect(stack.api.requests).toHaveLength(0);
  expect(stack.idp.tokenEndpointHits()).toBe(0);
  expect(stack.idp.hits('/token/revocation')).toBe(0);
}

async function stillLoggedIn(): Promise<void> {
  const view = await fetch(`${stack.bffUrl}/bff/session`, { headers: { cookie, ...CSRF } });
  expect((await view.json()).authenticated).toBe(true);
  const session = await sessionInBrowser(browser, stack);
  expect((await stack.idp.introspect(session!.rt!)).active).toBe(true);
}

describe('missing x-csrf → 403 csrf_failed before any work', () => {
  it.each(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])('%s /api/notes without x-csrf (same-origin, valid session)', async (method) => {
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? JSON.stringify({ text: 'forged' }) : undefined;
    const res = await fetch(`${stack.bffUrl}/api/notes`, { method, headers: { cookie, origin: stack.bffUrl, 'content-type': 'application/json' }, body });
    if (method === 'HEAD') {
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    } else {
      await expectProblem(res, 403, 'csrf_failed');
    }
    expectNothingHappened(res);
  });

  it('a simple cross-site form POST (text/plain, no x-csrf, no Origin) to a proxied route → 403 csrf_failed', async () => {
    const res = await fetch(`${stack.bffUrl}/api/notes`, { method: 'POST', headers: { cookie, 'content-type': 'text/plain' }, body: '{"text":"forged"}' });
    await expectProblem(res, 403, 'csrf_failed');
    expectNothingHappened(res);
  });
});

describe('look-alike Origins → 403 origin_not_allowed, no Access-Control-Allow-Origin', () => {
  const port = () => Number(new URL(stack.bffUrl).port);
  const cases: Array<[string, () => string]> = [
    ['a foreign site', () => 'https://evil.test'],
    ['the opaque origin null', () => 'null'],
    ['a suffix look-alike of the BFF host', () => 'https://localhost.evil.test'],
    ['the BFF origin as a prefix', () => `${stack.bffUrl}.evil.test`],
    ['the BFF origin with https (scheme variant)', () => `https://localhost:${port()}`],
    ['the BFF origin on the next port', () => `http://localhost:${port() + 1}`],
    ['the BFF origin with a trailing slash', () => `${stack.bffUrl}/`],
    ['the BFF origin with an uppercase host', () => `http://LOCALHOST:${port()}`],
    ['the BFF by IP instead of name', () => `http://127.0.0.1:${port()}`],
    ['the allowed extra origin over http', () => 'http://admin.example.test'],
    ['a subdomain of the allowed extra origin', () => 'https://evil.admin.example.test'],
    ['the allowed extra origin as a prefix', () => 'https://admin.example.test.evil.test'],
    ['the allowed extra origin with a port', () => 'https://admin.example.test:444'],
    ['two origins in one header', () => `${stack.bffUrl} ${ADMIN}`],
  ];

  it.each(cases)('%s on a proxied GET', async (_name, origin) => {
    const res = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie, ...CSRF, origin: origin() } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await expectProblem(res, 403, 'origin_not_allowed');
    expectNothingHappened(res);
  });

  it.each(cases)('%s on POST /bff/refresh', async (_name, origin) => {
    const res = await fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: { cookie, ...CSRF, origin: origin() } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await expectProblem(res, 403, 'origin_not_allowed');
    expectNothingHappened(res);
  });
});

describe('Sec-Fetch-Site: cross-site without Origin → 403', () => {
  it.each([
    ['GET', '/bff/session'],
    ['POST', '/bff/refresh'],
    ['POST', '/bff/logout'],
    ['POST', '/api/notes'],
    ['DELETE', '/api/notes/1'],
  ])('%s %s', async (method, path) => {
    const res = await fetch(`${stack.bffUrl}${path}`, { method, headers: { cookie, ...CSRF, 'sec-fetch-site': 'cross-site' } });
    await expectProblem(res, 403, 'origin_not_allowed');
    expectNothingHappened(res);
  });
});

describe('CORS preflights', () => {
  it('an allowed cross-origin preflight → 204 with the exact origin, credentials, Vary: Origin, and the browser’s own Vary never echoed', async () => {
    const res = await fetch(`${stack.bffUrl}/api/notes`, {
      method: 'OPTIONS',
      headers: { origin: ADMIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf, content-type', vary: 'Cookie, X-Evil' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ADMIN);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const vary = (res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
    expect(vary).toContain('origin');
    expect(vary).not.toContain('x-evil');
    expect(vary).not.toContain('cookie');
    const allowHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',').map((h) => h.trim());
    expect(allowHeaders).toEqual(expect.arrayContaining(['x-csrf', 'content-type']));
    expect(res.headers.get('access-control-allow-methods')).not.toMatch(/TRACE|CONNECT/i);
    expect(await res.text()).toBe('');
    expectNothingHappened(res);
  });

  it.each(['/api/notes', '/bff/logout', '/bff/session'])('a preflight from a foreign origin to %s → no Access-Control-Allow-Origin', async (path) => {
    const res = await fetch(`${stack.bffUrl}${path}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.status).toBeLessThan(500);
    expectNothingHappened(res);
  });

  it('a credentialed request from the allowed origin gets its exact origin back, never *', async () => {
    const res = await fetch(`${stack.bffUrl}/bff/session`, { headers: { cookie, ...CSRF, origin: ADMIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ADMIN);
    expect(res.headers.get('vary') ?? '').toMatch(/origin/i);
  });
});

describe('cross-site logout attempts leave the session intact', () => {
  it.each([
    ['with Origin: https://evil.test and x-csrf', { origin: 'https://evil.test', ...CSRF }, undefined, 'origin_not_allowed'],
    ['with Origin: https://evil.test, no x-csrf', { origin: 'https://evil.test' }, undefined, 'origin_not_allowed'],
    ['as a form POST (urlencoded, no x-csrf, no Origin)', { 'content-type': 'application/x-www-form-urlencoded' }, 'logout=1', 'csrf_failed'],
    ['as a form POST from a foreign page (urlencoded, Origin, Sec-Fetch-Site: cross-site)', { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' }, 'logout=1', 'origin_not_allowed'],
    ['with Sec-Fetch-Site: cross-site and x-csrf, no Origin', { 'sec-fetch-site': 'cross-site', ...CSRF }, undefined, 'origin_not_allowed'],
  ] as Array<[string, Record<string, string>, string | undefined, string]>)('POST /bff/logout %s', async (_name, headers, body, code) => {
    const res = await fetch(`${stack.bffUrl}/bff/logout`, { method: 'POST', headers: { cookie, ...headers }, body });
    await expectProblem(res, 403, code);
    expectNothingHappened(res);
    await stillLoggedIn();
  });
});
