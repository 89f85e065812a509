/**
 * Per-route configuration on both runtimes: coarse-grained scopes (403
 * `insufficient_scope`, no upstream call), public routes without a session
 * (`token: "none"`), per-route methods and timeouts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { CSRF, sessionInBrowser } from '../support/harness.js';
import { startSilentServer, type SilentServer } from '../support/ports.js';
import { startTarget, type Target } from '../support/target.js';

let stack: Target;
let browser: TestBrowser;
let silent: SilentServer;

beforeAll(async () => {
  silent = await startSilentServer();
  const silentUrl = silent.url;
  stack = await startTarget({
    apiRoutes: (api) => ({
      '/api': `${api}/api`,
      '/write': { target: `${api}/api`, scopes: ['notes:write'] },
      '/admin': { target: `${api}/api`, scopes: ['notes:write', 'notes:admin'] },
      '/public': { target: `${api}/api/public`, token: 'none', methods: ['GET'] },
      '/quick': { target: silentUrl, timeoutMs: 200 },
    }),
  });
  browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl);
});
afterAll(async () => {
  await stack?.close();
  await silent?.close();
});
beforeEach(() => stack.api.resetRequests());

describe('coarse-grained scopes', () => {
  it('forwards when the access token has every required scope', async () => {
    const session = await sessionInBrowser(browser, stack);
    expect(session!.scope?.split(' ')).toContain('notes:write');
    const res = await browser.fetch(`${stack.bffUrl}/write/notes`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(stack.api.requests).toHaveLength(1);
  });

  it('refuses with 403 insufficient_scope and no upstream call when one is missing', async () => {
    const res = await browser.fetch(`${stack.bffUrl}/admin/notes`, { headers: CSRF });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).code).toBe('insufficient_scope');
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="notes:write notes:admin"');
    expect(stack.api.requests).toHaveLength(0);
    // The session is not harmed by a scope refusal.
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(200);
  });

  it('checks the session before the scope: no session is 401, not 403', async () => {
    const res = await fetch(`${stack.bffUrl}/admin/notes`, { headers: CSRF });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('unauthenticated');
  });
});

describe('public routes (token: "none")', () => {
  it('proxy without a session and without any Authorization upstream', async () => {
    const res = await fetch(`${stack.bffUrl}/public`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ public: true });
    expect(stack.api.requests).toHaveLength(1);
    expect(stack.api.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('never forward the session: a logged-in browser sends no cookie and no token upstream', async () => {
    const res = await browser.fetch(`${stack.bffUrl}/public`, { headers: { ...CSRF, authorization: 'Bearer from-the-browser' } });
    expect(res.status).toBe(200);
    expect(stack.api.requests[0]!.headers.authorization).toBeUndefined();
    expect(stack.api.requests[0]!.headers.cookie).toBeUndefined();
  });

  it('still require the anti-CSRF header and respect their methods', async () => {
    const noCsrf = await fetch(`${stack.bffUrl}/public`);
    expect(noCsrf.status).toBe(403);
    expect((await noCsrf.json()).code).toBe('csrf_failed');
    const post = await fetch(`${stack.bffUrl}/public`, { method: 'POST', headers: CSRF });
    expect(post.status).toBe(405);
    expect((await post.json()).code).toBe('method_not_allowed');
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(stack.api.requests).toHaveLength(0);
  });
});

describe('per-route timeout', () => {
  it('uses the route timeoutMs instead of BFF_UPSTREAM_TIMEOUT_MS', async () => {
    const started = Date.now();
    const res = await browser.fetch(`${stack.bffUrl}/quick/x`, { headers: CSRF });
    expect(res.status).toBe(504);
    expect((await res.json()).code).toBe('upstream_timeout');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
