/**
 * `createBff` mounted in an existing Hono app: its routes work, the host
 * app's routes and 404 handling stay its own, and no network is touched
 * until a route needs the IdP.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createBff } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';

const env = {
  BFF_ISSUER: 'https://idp.example.com',
  BFF_CLIENT_ID: 'client',
  BFF_CLIENT_SECRET: 'secret',
  BFF_PUBLIC_URL: 'https://app.example.com',
  BFF_SESSION_SECRET: 'a'.repeat(32),
  BFF_ROUTES: '{"/api":"https://api.example.com/v1"}',
};

describe('createBff mounted in a host app', () => {
  it('serves BFF routes beside the host routes without any network call', async () => {
    let calls = 0;
    const countingFetch = async () => {
      calls++;
      return new Response('unexpected', { status: 500 });
    };
    const host = new Hono();
    host.get('/hello', (c) => c.text('host route'));
    host.route('/', createBff(parseConfig(env), { fetch: countingFetch, logger: silentLogger }));

    expect(await (await host.request('/hello')).text()).toBe('host route');
    expect(await (await host.request('https://app.example.com/bff/healthz')).json()).toEqual({ status: 'ok' });
    const api = await host.request('https://app.example.com/api/me', { headers: { 'x-csrf': '1' } });
    expect(api.status).toBe(401);
    expect((await api.json()).code).toBe('unauthenticated');
    const session = await host.request('https://app.example.com/bff/session', { headers: { 'x-csrf': '1' } });
    expect(await session.json()).toEqual({ authenticated: false });
    // The host keeps its own 404 for paths the BFF does not own.
    expect((await host.request('/elsewhere')).status).toBe(404);
    expect(calls).toBe(0);
  });

  it('answers IdP outages at /bff/login with a redirect to the SPA, caching the failure briefly', async () => {
    let calls = 0;
    let now = 1_000_000;
    const failingFetch = async () => {
      calls++;
      throw new TypeError('fetch failed');
    };
    const app = createBff(parseConfig(env), { fetch: failingFetch, logger: silentLogger, now: () => now });
    for (let i = 0; i < 5; i++) {
      const res = await app.request('https://app.example.com/bff/login');
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('https://app.example.com/?bff_error=idp_unavailable');
    }
    expect(calls).toBe(1);
    now += 1500;
    await app.request('https://app.example.com/bff/login');
    expect(calls).toBe(2);
  });
});
