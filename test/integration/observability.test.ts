/**
 * Observability on both runtimes: one `request` log line per request with
 * the route (never the path or query), status, timings, session presence
 * and, for failures, the public code and failure domain; the request id
 * accepted or replaced, sent upstream and back; Prometheus metrics at
 * /bff/metrics when BFF_METRICS=1 (404 otherwise). The last test searches
 * every log line and the metrics text of the whole run for tokens, cookie
 * values and secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { CSRF, sessionInBrowser, tokensOf } from '../support/harness.js';
import { configSecrets, findLeaks, type SecretMap } from '../support/leaks.js';
import { startTarget, type Target } from '../support/target.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let stack: Target;
let alice: TestBrowser;
/** Every token and cookie value seen during the run, for the final leak check. */
const seen: SecretMap = {};

/** Remembers the browser's tokens and cookie values as secrets to search for. */
async function rememberSecrets(browser: TestBrowser, label: string): Promise<void> {
  const session = await sessionInBrowser(browser, stack);
  tokensOf(session!).forEach((token, i) => (seen[`${label}.token#${i}`] = token));
  for (const cookie of await browser.cookies(stack.bffUrl)) if (cookie.value.length >= 8) seen[`${label}.cookie ${cookie.key}`] = cookie.value;
}

/** The parsed `request` log lines. */
async function requestLines(): Promise<Array<Record<string, unknown>>> {
  return (await stack.logLines()).map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'request');
}

/** The one `request` line of the request with this id (fails when there are none or several). */
async function lineOf(requestId: string): Promise<Record<string, unknown>> {
  const lines = (await requestLines()).filter((line) => line.requestId === requestId);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

let counter = 0;
/** A fresh, well-formed request id. */
const rid = () => `test-${Date.now()}-${++counter}`;

beforeAll(async () => {
  stack = await startTarget({
    env: { BFF_METRICS: '1', BFF_UPSTREAM_TIMEOUT_MS: '500' },
    apiRoutes: (apiUrl) => ({ '/api': `${apiUrl}/api`, '/down': 'http://127.0.0.1:9/' }),
  });
  alice = new TestBrowser();
  await loginThroughIdp(alice, stack.bffUrl);
  await rememberSecrets(alice, 'alice');
});
afterAll(async () => {
  await stack?.close();
});

describe('one request log line per request', () => {
  it('a proxied call: route prefix, status, durations, upstream status, session present; info level; ISO time', async () => {
    const id = rid();
    const res = await alice.fetch(`${stack.bffUrl}/api/me?private=query-value`, { headers: { ...CSRF, 'x-request-id': id } });
    expect(res.status).toBe(200);
    const line = await lineOf(id);
    expect(line).toMatchObject({ level: 'info', event: 'request', requestId: id, method: 'GET', route: '/api', status: 200, upstreamStatus: 200, session: true });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(line.ms).toEqual(expect.any(Number));
    expect(line.upstreamMs).toEqual(expect.any(Number));
    expect(line.ms as number).toBeGreaterThanOrEqual(line.upstreamMs as number);
    expect(line).not.toHaveProperty('code');
    expect(line).not.toHaveProperty('domain');
    // The route, never the path or its query.
    expect((await stack.logLines()).join('\n')).not.toContain('query-value');
  });

  it.each([
    ['no session → 401 unauthenticated (identity)', 'GET', '/api/me', CSRF, false, 401, 'unauthenticated', 'identity', '/api', false],
    ['no x-csrf → 403 csrf_failed (client)', 'GET', '/api/me', {}, true, 403, 'csrf_failed', 'client', '/api', undefined],
    ['unknown endpoint → 404 route_not_found (routing)', 'GET', '/bff/nothing-here', CSRF, true, 404, 'route_not_found', 'routing', '/bff/*', undefined],
    ['wrong method → 405 method_not_allowed (routing)', 'DELETE', '/bff/healthz', CSRF, true, 405, 'method_not_allowed', 'routing', '/bff/healthz', undefined],
    ['unreachable upstream → 502 upstream_unavailable (upstream), warn', 'GET', '/down/x', CSRF, true, 502, 'upstream_unavailable', 'upstream', '/down', true],
  ] as const)('%s', async (_name, method, path, headers, withCookies, status, code, domain, route, session) => {
    const id = rid();
    const init = { method, headers: { ...headers, 'x-request-id': id } };
    const res = withCookies ? await alice.fetch(`${stack.bffUrl}${path}`, init) : await fetch(`${stack.bffUrl}${path}`, init);
    expect(res.status).toBe(status);
    expect((await res.json()).code).toBe(code);
    const line = await lineOf(id);
    expect(line).toMatchObject({ level: status >= 500 ? 'warn' : 'info', method, route, status, code, domain });
    expect(line.session).toBe(session);
  });

  it("an upstream's own 5xx: warn, upstream domain, no BFF code", async () => {
    const id = rid();
    const res = await alice.fetch(`${stack.bffUrl}/api/status/503`, { headers: { ...CSRF, 'x-request-id': id } });
    expect(res.status).toBe(503);
    expect(await lineOf(id)).toMatchObject({ level: 'warn', route: '/api', status: 503, upstreamStatus: 503, domain: 'upstream' });
    expect(await lineOf(id)).not.toHaveProperty('code');
  });

  it('BFF endpoints are logged by endpoint path; the login flow too (302s), with a failed callback carrying its code', async () => {
    const before = (await requestLines()).length;
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl, { user: 'bob' });
    await rememberSecrets(browser, 'bob');
    const session = await browser.fetch(`${stack.bffUrl}/bff/session`, { headers: CSRF });
    expect(session.status).toBe(200);
    const failed = await fetch(`${stack.bffUrl}/bff/callback?state=forged&code=forged`, { redirect: 'manual' });
    expect(failed.status).toBe(302);
    const lines = (await requestLines()).slice(before);
    expect(lines.map((l) => [l.route, l.status])).toEqual([
      ['/bff/login', 302],
      ['/bff/callback', 302],
      ['/bff/session', 200],
      ['/bff/callback', 302],
    ]);
    expect(lines[2]).toMatchObject({ session: true });
    expect(lines[3]).toMatchObject({ code: 'login_failed', domain: 'identity' });
    for (const line of lines) expect(line.requestId).toMatch(UUID);
  });

  it('CORS preflights of a proxied route are logged too', async () => {
    const id = rid();
    const res = await fetch(`${stack.bffUrl}/api/me`, { method: 'OPTIONS', headers: { origin: stack.bffUrl, 'access-control-request-method': 'GET', 'x-request-id': id } });
    expect(res.status).toBe(204);
    expect(res.headers.get('x-request-id')).toBe(id);
    expect(await lineOf(id)).toMatchObject({ method: 'OPTIONS', route: '/api', status: 204 });
  });
});

describe('request id', () => {
  it('a well-formed x-request-id is kept: on the response, upstream and in the log line', async () => {
    stack.api.resetRequests();
    const id = 'lb-7f3a.9:abc_DEF-1';
    const res = await alice.fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, 'x-request-id': id } });
    expect(res.headers.get('x-request-id')).toBe(id);
    expect(stack.api.requests.map((r) => r.headers['x-request-id'])).toEqual([id]);
    await lineOf(id);
  });

  it.each([
    ['with spaces', 'not a valid id'],
    ['too long', 'a'.repeat(129)],
    ['with quotes and angle brackets', '"><script>'],
  ])('a malformed one (%s) is replaced by a generated UUID, the same everywhere', async (_name, malformed) => {
    stack.api.resetRequests();
    const res = await alice.fetch(`${stack.bffUrl}/api/me`, { headers: { ...CSRF, 'x-request-id': malformed } });
    const id = res.headers.get('x-request-id')!;
    expect(id).toMatch(UUID);
    expect(stack.api.requests.map((r) => r.headers['x-request-id'])).toEqual([id]);
    await lineOf(id);
    expect((await stack.logLines()).join('\n')).not.toContain(malformed);
  });

  it('without one, every response gets a fresh id: BFF endpoints, problems, redirects', async () => {
    const ids = [];
    for (const res of [await fetch(`${stack.bffUrl}/bff/healthz`), await fetch(`${stack.bffUrl}/api/me`), await fetch(`${stack.bffUrl}/bff/login`, { redirect: 'manual' })]) {
      ids.push(res.headers.get('x-request-id'));
      await res.body?.cancel();
    }
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(3);
  });
});

describe('/bff/metrics', () => {
  /** The metrics text (its own scrape is counted after it answers). */
  async function scrape(): Promise<string> {
    const res = await fetch(`${stack.bffUrl}/bff/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    return res.text();
  }
  /** The value of one sample line, 0 when absent. */
  const sample = (text: string, series: string): number => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);

  it('counts requests by route, status, code and domain, and upstream latency by route', async () => {
    const ok = 'hono_bff_requests_total{route="/api",status="200",code="",domain=""}';
    const refused = 'hono_bff_requests_total{route="/api",status="403",code="csrf_failed",domain="client"}';
    const latency = 'hono_bff_upstream_duration_seconds_count{route="/api"}';
    const before = await scrape();
    expect(before).toContain('# TYPE hono_bff_requests_total counter');
    expect(before).toContain('# TYPE hono_bff_upstream_duration_seconds histogram');
    await alice.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    await alice.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    await alice.fetch(`${stack.bffUrl}/api/me`);
    const after = await scrape();
    expect(sample(after, ok) - sample(before, ok)).toBe(2);
    expect(sample(after, refused) - sample(before, refused)).toBe(1);
    expect(sample(after, latency) - sample(before, latency)).toBe(2);
    expect(sample(after, 'hono_bff_upstream_duration_seconds_bucket{route="/api",le="+Inf"}')).toBe(sample(after, latency));
    expect(sample(after, 'hono_bff_requests_total{route="/bff/metrics",status="200",code="",domain=""}')).toBeGreaterThanOrEqual(1);
  });

  it('counts refreshes by outcome (an explicit refresh is one IdP call: refreshed)', async () => {
    const refreshed = 'hono_bff_refreshes_total{outcome="refreshed"}';
    const before = await scrape();
    expect(before).toContain('hono_bff_introspection_cache_total{result="hit"} 0');
    const res = await alice.fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: CSRF });
    expect(res.status).toBe(200);
    await rememberSecrets(alice, 'alice-refreshed');
    expect(sample(await scrape(), refreshed) - sample(before, refreshed)).toBe(1);
  });

  it('is off unless BFF_METRICS=1: 404 route_not_found (and a POST is 404 too, not 405)', async () => {
    const plain = await startTarget();
    try {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${plain.bffUrl}/bff/metrics`, { method });
        expect(res.status).toBe(404);
        expect((await res.json()).code).toBe('route_not_found');
      }
      const line = (await plain.logLines()).map((l) => JSON.parse(l)).find((l) => l.event === 'request' && l.route === '/bff/*');
      expect(line).toMatchObject({ status: 404, code: 'route_not_found', domain: 'routing' });
    } finally {
      await plain.close();
    }
  });
});

describe('the whole run', () => {
  it('no token, cookie value or secret in any log line or in the metrics', async () => {
    const logs = await stack.logLines();
    const metrics = await (await fetch(`${stack.bffUrl}/bff/metrics`)).text();
    const secrets = { ...configSecrets(stack.env), ...seen };
    expect(Object.keys(seen).filter((label) => label.includes('token')).length).toBeGreaterThanOrEqual(6);
    expect(findLeaks([...logs.map((text, i) => ({ where: `log line ${i}`, text })), { where: 'metrics', text: metrics }], secrets)).toEqual([]);
  });
});
