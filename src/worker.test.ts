import { afterEach, describe, expect, it, vi } from 'vitest';
import worker, { buildWorkerApp, configEnvFrom } from './worker.js';

const good = {
  BFF_ISSUER: 'https://idp.example.com',
  BFF_CLIENT_ID: 'client',
  BFF_CLIENT_SECRET: 'client-secret-value',
  BFF_PUBLIC_URL: 'https://app.example.com',
  BFF_SESSION_SECRET: 's'.repeat(40),
};

afterEach(() => vi.restoreAllMocks());

describe('Workers entry', () => {
  it('keeps only string bindings as configuration', () => {
    expect(configEnvFrom({ A: 'x', ASSETS: { fetch: async () => new Response() }, N: 1 })).toEqual({ A: 'x' });
  });

  it('builds the app from bindings without touching the network', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const built = buildWorkerApp(good);
    expect('app' in built).toBe(true);
    if (!('app' in built)) return;
    const res = await built.app.fetch(new Request('https://app.example.com/bff/healthz'));
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('answers every request with a 500 config_invalid problem and logs the bad keys once per isolate, never a secret', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const env = { ...good, BFF_SESSION_SECRET: 'short-SECRET-value', BFF_ISSUER: 'http://idp.example.com' };
    for (let i = 0; i < 3; i++) {
      const res = await worker.fetch(new Request('https://app.example.com/api/me'), env, {});
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = await res.json();
      expect(body).toMatchObject({ status: 500, code: 'config_invalid' });
      expect(JSON.stringify(body)).not.toContain('BFF_');
    }
    expect(logged).toHaveBeenCalledTimes(1);
    const line = String(logged.mock.calls[0]?.[0]);
    expect(line).toContain('BFF_SESSION_SECRET');
    expect(line).toContain('BFF_ISSUER');
    expect(line).not.toContain('short-SECRET-value');
    expect(line).not.toContain('client-secret-value');
  });
});
