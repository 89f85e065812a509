import { describe, it, expect } from 'vitest';
import { Hono } from 'hono';
import { checkRequestOrigin, CSRF_HEADER, hasCsrfHeader, requestGuard } from './request-guard.js';
import { BffError, problemResponse } from '../errors.js';

const APP = 'https://app.example.com';
const ADMIN = 'https://admin.example.com';
const ALLOWED = [APP, ADMIN] as const;

describe('checkRequestOrigin', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ['allowed origin', { origin: APP }, undefined],
    ['second allowed origin', { origin: ADMIN }, undefined],
    ['allowed origin, cross-site fetch metadata', { origin: ADMIN, 'sec-fetch-site': 'cross-site' }, undefined],
    ['foreign origin', { origin: 'https://evil.example.com' }, 'origin_not_allowed'],
    ['foreign origin with same-origin metadata', { origin: 'https://evil.example.com', 'sec-fetch-site': 'same-origin' }, 'origin_not_allowed'],
    ['look-alike origin', { origin: 'https://app.example.com.evil.com' }, 'origin_not_allowed'],
    ['origin with trailing slash', { origin: `${APP}/` }, 'origin_not_allowed'],
    ['origin with different scheme', { origin: 'http://app.example.com' }, 'origin_not_allowed'],
    ['origin with explicit port', { origin: 'https://app.example.com:8443' }, 'origin_not_allowed'],
    ['upper-case origin', { origin: 'HTTPS://APP.EXAMPLE.COM' }, 'origin_not_allowed'],
    ['null origin', { origin: 'null' }, 'origin_not_allowed'],
    ['empty origin', { origin: '' }, 'origin_not_allowed'],
    ['no origin, cross-site', { 'sec-fetch-site': 'cross-site' }, 'origin_not_allowed'],
    ['no origin, same-site', { 'sec-fetch-site': 'same-site' }, undefined],
    ['no origin, same-origin', { 'sec-fetch-site': 'same-origin' }, undefined],
    ['no origin, none', { 'sec-fetch-site': 'none' }, undefined],
    ['no origin, no fetch metadata', {}, undefined],
  ])('%s', (_label, headers, expected) => {
    expect(checkRequestOrigin(new Headers(headers), ALLOWED)).toBe(expected);
  });

  it('refuses every origin with an empty allow-list', () => {
    expect(checkRequestOrigin(new Headers({ origin: APP }), [])).toBe('origin_not_allowed');
  });
});

describe('hasCsrfHeader', () => {
  it('uses the x-csrf header', () => {
    expect(CSRF_HEADER).toBe('x-csrf');
  });

  it.each<[Record<string, string>, boolean]>([
    [{ 'x-csrf': '1' }, true],
    [{ 'X-CSRF': '1' }, true],
    [{ 'x-csrf': ' 1 ' }, true], // Headers trims surrounding whitespace: still exactly "1"
    [{}, false],
    [{ 'x-csrf': '' }, false],
    [{ 'x-csrf': '0' }, false],
    [{ 'x-csrf': 'true' }, false],
    [{ 'x-csrf': '11' }, false],
    [{ 'x-csrf': '1, 1' }, false],
    [{ 'x-csrf-token': '1' }, false],
    [{ 'x-xsrf': '1' }, false],
  ])('%j → %s', (headers, expected) => {
    expect(hasCsrfHeader(new Headers(headers))).toBe(expected);
  });

  it('refuses a duplicated header (combined into "1, 1")', () => {
    const h = new Headers();
    h.append('x-csrf', '1');
    h.append('x-csrf', '1');
    expect(hasCsrfHeader(h)).toBe(false);
  });
});

describe('requestGuard middleware', () => {
  function makeApp() {
    const calls = { count: 0 };
    const app = new Hono();
    app.use('*', requestGuard(ALLOWED));
    app.all('/bff/session', (c) => {
      calls.count++;
      return c.json({ ok: true });
    });
    app.onError((error, c) => (error instanceof BffError ? problemResponse(error) : c.text('unexpected', 500)));
    return { app, calls };
  }

  async function expectProblem(response: Response, status: number, code: string): Promise<void> {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'about:blank', status, code });
    expect(typeof body['title']).toBe('string');
  }

  it('passes a same-origin request with x-csrf: 1', async () => {
    const { app, calls } = makeApp();
    const res = await app.request('/bff/session', { headers: { origin: APP, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(calls.count).toBe(1);
  });

  it('passes a request without Origin but with x-csrf: 1 (same-origin GET)', async () => {
    const { app, calls } = makeApp();
    const res = await app.request('/bff/session', { headers: { 'x-csrf': '1' } });
    expect(res.status).toBe(200);
    expect(calls.count).toBe(1);
  });

  it('403 csrf_failed without the header; handler not reached', async () => {
    const { app, calls } = makeApp();
    await expectProblem(await app.request('/bff/session', { headers: { origin: APP } }), 403, 'csrf_failed');
    await expectProblem(await app.request('/bff/session', { method: 'POST', headers: { origin: APP, 'x-csrf': '0' } }), 403, 'csrf_failed');
    await expectProblem(await app.request('/bff/session'), 403, 'csrf_failed');
    expect(calls.count).toBe(0);
  });

  it('403 origin_not_allowed for a foreign origin even with x-csrf; handler not reached', async () => {
    const { app, calls } = makeApp();
    await expectProblem(await app.request('/bff/session', { method: 'POST', headers: { origin: 'https://evil.example.com', 'x-csrf': '1' } }), 403, 'origin_not_allowed');
    await expectProblem(await app.request('/bff/session', { headers: { origin: 'null', 'x-csrf': '1' } }), 403, 'origin_not_allowed');
    await expectProblem(await app.request('/bff/session', { headers: { 'sec-fetch-site': 'cross-site', 'x-csrf': '1' } }), 403, 'origin_not_allowed');
    expect(calls.count).toBe(0);
  });

  it('reports the origin refusal before the missing header', async () => {
    const { app, calls } = makeApp();
    await expectProblem(await app.request('/bff/session', { headers: { origin: 'https://evil.example.com' } }), 403, 'origin_not_allowed');
    expect(calls.count).toBe(0);
  });

  it('guards every method, including OPTIONS preflights', async () => {
    const { app, calls } = makeApp();
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await app.request('/bff/session', { method, headers: { origin: 'https://evil.example.com', 'access-control-request-headers': 'x-csrf' } });
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
    expect(calls.count).toBe(0);
  });
});
