/**
 * `npm run dev:worker` as users run it: the real wrangler.toml (static
 * assets, vars) in `wrangler dev --local`, against the dev IdP and API on
 * loopback: SPA served with its headers, full login → proxied API call →
 * logout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { CSRF } from '../support/harness.js';
import { freePort } from '../support/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let child: ChildProcess;
let bffUrl: string;
let output = '';

beforeAll(async () => {
  const [workerPort, idpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  bffUrl = `http://localhost:${workerPort}`;
  // The unit project's global setup built the SPA; start dev/worker.ts as `npm run dev:worker` does after its build.
  child = spawn(process.execPath, ['--import', 'tsx', 'dev/worker.ts'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WORKER_PORT: String(workerPort), IDP_PORT: String(idpPort), API_PORT: String(apiPort) },
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Bounded wait for readiness: up to 60 s.
  for (let i = 0; i < 240; i++) {
    const ok = await fetch(`${bffUrl}/bff/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev did not become ready:\n${output.slice(-2000)}`);
}, 90_000);

afterAll(async () => {
  if (child?.pid) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
  }
});

describe('npm run dev:worker (wrangler dev --local, real wrangler.toml)', () => {
  it('serves the SPA from Workers static assets with the document headers and the SPA fallback', async () => {
    for (const path of ['/', '/notes']) {
      const res = await fetch(`${bffUrl}${path}`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<script type="module"');
    }
  });

  it('logs in through the IdP, proxies with the Bearer token, logs out', async () => {
    const browser = new TestBrowser();
    const { finalUrl } = await loginThroughIdp(browser, bffUrl, { returnTo: '/notes' });
    expect(finalUrl).toBe(`${bffUrl}/notes`);
    const me = await browser.fetch(`${bffUrl}/api/me`, { headers: CSRF });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'alice', receivedCookieHeader: false });
    const logout = await browser.fetch(`${bffUrl}/bff/logout`, { method: 'POST', headers: CSRF });
    expect(logout.status).toBe(200);
    expect(new URL((await logout.json()).logoutUrl).pathname).toBe('/session/end');
    expect(await (await browser.fetch(`${bffUrl}/bff/session`, { headers: CSRF })).json()).toEqual({ authenticated: false });
  });
});
