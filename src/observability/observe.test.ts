import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createBff } from '../app.js';
import { parseConfig } from '../config.js';
import { createJsonLineLogger } from '../log.js';

const ENV = {
  BFF_ISSUER: 'https://idp.example.com',
  BFF_CLIENT_ID: 'client',
  BFF_CLIENT_SECRET: 'client-secret-value',
  BFF_PUBLIC_URL: 'https://app.example.com',
  BFF_SESSION_SECRET: 'a'.repeat(32),
  BFF_ROUTES: '{"/api":"https://api.example.com/v1"}',
};
const APP = 'https://app.example.com';

/** A BFF whose every outbound call fails, with its `request` log lines. */
function bffWithLog(deps: Parameters<typeof createBff>[1] = {}) {
  const lines: string[] = [];
  const app = createBff(parseConfig(ENV), {
    fetch: async () => Promise.reject(new TypeError('no network in unit tests')),
    logger: createJsonLineLogger((line) => lines.push(line), 'debug'),
    ...deps,
  });
  const requests = () => lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'request');
  return { app, requests };
}

describe('observeRequests', () => {
  it("mounted in a host app, logs the BFF's requests and never the host's", async () => {
    const { app, requests } = bffWithLog();
    const host = new Hono();
    host.get('/hello', (c) => c.text('host route'));
    host.route('/', app);
    host.get('/after', (c) => c.text('registered after the BFF'));

    await host.request('/hello');
    await host.request(`${APP}/bff/healthz`);
    await host.request(`${APP}/after`);
    await host.request(`${APP}/elsewhere`);
    const api = await host.request(`${APP}/api/me`, { headers: { 'x-csrf': '1' } });

    expect(api.status).toBe(401);
    expect(api.headers.get('x-request-id')).toBeTruthy();
    expect((await host.request('/hello')).headers.get('x-request-id')).toBeNull();
    expect(requests().map((l) => [l.route, l.status, l.code])).toEqual([
      ['/bff/healthz', 200, undefined],
      ['/api', 401, 'unauthenticated'],
    ]);
  });

  it('logs the static SPA files under the route "static"', async () => {
    const assets = { fetch: async () => new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } }) };
    const { app, requests } = bffWithLog({ assets });
    const res = await app.request(`${APP}/notes/42?tab=x`, { headers: { 'x-request-id': 'spa-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('spa-1');
    expect(requests()).toEqual([expect.objectContaining({ requestId: 'spa-1', method: 'GET', route: 'static', status: 200 })]);
  });

  it('a crash is a 500 internal_error line at warn, besides the request.crashed line', async () => {
    const assets = { fetch: async (): Promise<Response> => Promise.reject(new RangeError('boom')) };
    const { app, requests } = bffWithLog({ assets });
    const res = await app.request(`${APP}/index.html`);
    expect(res.status).toBe(500);
    expect(requests()).toEqual([expect.objectContaining({ level: 'warn', route: 'static', status: 500, code: 'internal_error', domain: 'internal' })]);
  });
});
