/**
 * The `hono-bff` bin as users run it: `npm run build`, then `node dist/cli.js`
 * configured only by environment variables, against the dev IdP and API.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleApi, type ExampleApi } from '../../dev/api.js';
import { startDevIdp, type DevIdp } from '../../dev/idp.js';
import { DEV_API_RESOURCE } from '../../dev/stack.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { CSRF } from '../support/harness.js';

const ROOT = new URL('../../', import.meta.url).pathname;

beforeAll(() => {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
}, 60_000);

/** Runs the bin until it exits or prints its listening line. */
function runBin(env: Record<string, string>): { child: ChildProcess; ready: Promise<string>; exited: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['dist/cli.js'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onReady: (url: string) => void;
  const ready = new Promise<string>((resolve) => (onReady = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const match = /"event":"server.listening","url":"([^"]+)"/.exec(stdout);
    if (match) onReady(match[1]!);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, ready, exited };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('hono-bff bin: bad configuration', () => {
  it('exits 1 naming every bad key, never printing a secret', async () => {
    const secret = 'too-short-secret-VALUE-42';
    const { exited } = runBin({ BFF_ISSUER: 'http://idp.example.com', BFF_SESSION_SECRET: secret, BFF_CLIENT_SECRET: 'client-SECRET-value', BFF_ROUTES: '{"api": 1}' });
    const { code, stdout, stderr } = await exited;
    expect(code).toBe(1);
    for (const key of ['BFF_ISSUER', 'BFF_CLIENT_ID', 'BFF_PUBLIC_URL', 'BFF_SESSION_SECRET', 'BFF_ROUTES']) expect(stderr).toContain(key);
    expect(stderr).not.toContain('BFF_CLIENT_SECRET is');
    for (const value of [secret, 'client-SECRET-value']) expect(stdout + stderr).not.toContain(value);
  });
});

describe('hono-bff bin: serving the contract', () => {
  let idp: DevIdp;
  let api: ExampleApi;
  let bin: ReturnType<typeof runBin>;
  let bffUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    bffUrl = `http://localhost:${port}`;
    const clientSecret = randomBytes(24).toString('base64url');
    idp = await startDevIdp({ clients: [{ clientId: 'bin-client', clientSecret, redirectUris: [`${bffUrl}/auth/callback`], postLogoutRedirectUris: [`${bffUrl}/bye`] }], resource: DEV_API_RESOURCE });
    api = await startExampleApi({ issuer: idp.issuer, audience: DEV_API_RESOURCE });
    bin = runBin({
      PORT: String(port),
      BFF_ISSUER: idp.issuer,
      BFF_CLIENT_ID: 'bin-client',
      BFF_CLIENT_SECRET: clientSecret,
      BFF_PUBLIC_URL: bffUrl,
      BFF_SESSION_SECRET: `${randomBytes(32).toString('hex')},${randomBytes(32).toString('hex')}`,
      BFF_RESOURCE: DEV_API_RESOURCE,
      BFF_ROUTES: JSON.stringify({ '/data': `${api.url}/api` }),
      BFF_BASE_PATH: '/auth',
      BFF_POST_LOGOUT_REDIRECT_URI: `${bffUrl}/bye`,
    });
    expect(await bin.ready).toBe(`http://127.0.0.1:${port}`);
  });

  afterAll(async () => {
    bin?.child.kill('SIGTERM');
    const exit = await bin?.exited;
    expect(exit?.code).toBe(0);
    await Promise.all([idp?.close(), api?.close()]);
  });

  it('logs in, proxies with the Bearer token, and logs out with the configured base path and routes', async () => {
    const browser = new TestBrowser();
    const { finalUrl } = await loginThroughIdp(browser, bffUrl, { basePath: '/auth', returnTo: '/home' });
    expect(finalUrl).toBe(`${bffUrl}/home`);
    const me = await browser.fetch(`${bffUrl}/data/me`, { headers: CSRF });
    expect(me.status).toBe(200);
    expect((await me.json()).sub).toBe('alice');
    expect(api.requests.at(-1)!.headers.cookie).toBeUndefined();
    const logout = await browser.fetch(`${bffUrl}/auth/logout`, { method: 'POST', headers: CSRF });
    const end = new URL((await logout.json()).logoutUrl);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${bffUrl}/bye`);
    expect(await (await browser.fetch(`${bffUrl}/auth/session`, { headers: CSRF })).json()).toEqual({ authenticated: false });
    expect(await (await fetch(`${bffUrl}/auth/healthz`)).json()).toEqual({ status: 'ok' });
  });
});
