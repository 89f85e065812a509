/**
 * The proxy's handling of bodies, redirects, cookies, statuses and upstream
 * failures, against the real example API (and a deliberately silent server
 * for timeouts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSilentServer, type SilentServer } from '../support/ports.js';
import { startTarget, type Target } from '../support/target.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { CSRF, sessionInBrowser } from '../support/harness.js';

let stack: Target;
let browser: TestBrowser;
let silent: SilentServer;

beforeAll(async () => {
  // Accepts connections and never answers: the upstream timeout must fire.
  silent = await startSilentServer();
  stack = await startTargetWithRoutes(silent.port);
  browser = new TestBrowser();
  await loginThroughIdp(browser, stack.bffUrl);
});
afterAll(async () => {
  await stack?.close();
  await silent?.close();
});
beforeEach(() => {
  stack.api.resetRequests();
});

async function startTargetWithRoutes(silentPort: number): Promise<Target> {
  return startTarget({
    apiRoutes: (apiUrl: string) => ({
      '/api': `${apiUrl}/api`,
      '/v2/things': `${apiUrl}/api`,
      '/slow': `http://127.0.0.1:${silentPort}/`,
      '/down': 'http://127.0.0.1:9/',
    }),
    env: { BFF_UPSTREAM_TIMEOUT_MS: '300' },
  });
}

describe('bodies', () => {
  it('forwards a 16 KB POST body intact', async () => {
    const body = 'x'.repeat(16 * 1024);
    const res = await browser.fetch(`${stack.bffUrl}/api/echo`, { method: 'POST', headers: { ...CSRF, 'content-type': 'text/plain' }, body });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-echo-length')).toBe(String(body.length));
    expect(await res.text()).toBe(body);
  });

  it('streams a 1 MB response', async () => {
    const res = await browser.fetch(`${stack.bffUrl}/api/large?bytes=1048576`, { headers: CSRF });
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.byteLength).toBe(1048576);
    expect(bytes.every((b) => b === 0x61)).toBe(true);
  });

  it('passes HEAD through without a body', async () => {
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { method: 'HEAD', headers: CSRF });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('routing', () => {
  it('replaces the prefix with the target path and keeps the query', async () => {
    const res = await browser.fetch(`${stack.bffUrl}/v2/things/me?a=1&b=%20x`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(stack.api.requests.at(-1)!.path).toBe('/api/me?a=1&b=%20x');
  });
});

describe('upstream answers', () => {
  it('does not follow an upstream redirect', async () => {
    const res = await browser.fetch(`${stack.bffUrl}/api/redirect`, { headers: CSRF });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('http://127.0.0.1:1/elsewhere');
    expect(stack.api.requests).toHaveLength(1);
  });

  it('drops upstream Set-Cookie', async () => {
    const res = await browser.fetch(`${stack.bffUrl}/api/set-cookie`, { headers: CSRF });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it.each([404, 418, 500, 503])('passes an upstream %i through unchanged (it is the API talking)', async (status) => {
    const res = await browser.fetch(`${stack.bffUrl}/api/status/${status}`, { headers: CSRF });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ status });
  });

  it('upstream refusing connections → 502 upstream_unavailable', async () => {
    const res = await browser.fetch(`${stack.bffUrl}/down/x`, { headers: CSRF });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).code).toBe('upstream_unavailable');
    expect((await stack.logLines()).some((l) => l.includes('"event":"proxy.failed"') && l.includes('"domain":"upstream"') && l.includes('"route":"/down"'))).toBe(true);
  });

  it('upstream not answering within BFF_UPSTREAM_TIMEOUT_MS → 504 upstream_timeout', async () => {
    const before = silent.hits();
    const res = await browser.fetch(`${stack.bffUrl}/slow/x`, { headers: CSRF });
    expect(res.status).toBe(504);
    expect((await res.json()).code).toBe('upstream_timeout');
    expect(silent.hits()).toBe(before + 1);
  });

  it('never leaks the access token to the browser in any proxied answer', async () => {
    const session = await sessionInBrowser(browser, stack);
    for (const path of ['/api/me', '/api/redirect', '/api/status/500', '/down/x']) {
      const res = await browser.fetch(`${stack.bffUrl}${path}`, { headers: CSRF });
      const text = await res.text();
      const headers = JSON.stringify([...res.headers]);
      expect(text).not.toContain(session!.at);
      expect(headers).not.toContain(session!.at);
    }
  });
});
