/**
 * Serving the SPA from the BFF (BFF_STATIC_DIR): content types, cache
 * headers, SPA fallback for client-side routes, and BFF endpoints and
 * proxied routes always winning over files.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '../../dev/stack.js';
import { ConfigError, parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { createNodeBff } from '../../src/node.js';
import { CSRF } from '../support/harness.js';

let dir: string;
let stack: DevStack;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hono-bff-static-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>spa</title><script type="module" src="/assets/index-AbCd1234.js"></script>');
  writeFileSync(join(dir, 'assets', 'index-AbCd1234.js'), 'console.log("app")');
  writeFileSync(join(dir, 'assets', 'style-9f8e7d6c.css'), 'body{}');
  writeFileSync(join(dir, 'robots.txt'), 'User-agent: *');
  stack = await startDevStack({ deps: { logger: silentLogger }, env: { BFF_STATIC_DIR: dir } });
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('static SPA serving', () => {
  it('serves index.html at / with no-cache and the document security headers', async () => {
    const res = await fetch(`${stack.bffUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('<title>spa</title>');
  });

  it('serves hashed assets as immutable with the right content type', async () => {
    const js = await fetch(`${stack.bffUrl}/assets/index-AbCd1234.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const css = await fetch(`${stack.bffUrl}/assets/style-9f8e7d6c.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('revalidates unhashed files', async () => {
    const res = await fetch(`${stack.bffUrl}/robots.txt`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('falls back to index.html for client-side routes', async () => {
    for (const path of ['/notes', '/notes/42', '/deep/link?x=1']) {
      const res = await fetch(`${stack.bffUrl}${path}`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('answers a missing file with a 404 problem, not the SPA', async () => {
    const res = await fetch(`${stack.bffUrl}/assets/missing-12345678.js`);
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('route_not_found');
  });

  it('never shadows BFF endpoints or proxied routes', async () => {
    expect((await fetch(`${stack.bffUrl}/bff/nope`, { headers: { accept: 'text/html' } })).status).toBe(404);
    const api = await fetch(`${stack.bffUrl}/api/me`, { headers: { accept: 'text/html', ...CSRF } });
    expect(api.status).toBe(401);
    expect((await api.json()).code).toBe('unauthenticated');
  });

  it('never serves a file outside the folder (traversal gets the SPA document or a 404)', async () => {
    for (const path of ['/..%2f..%2f..%2f..%2fetc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets/..%5c..%5c..%5cetc%5cpasswd', '/..%2f..%2f..%2fetc/hostname.txt']) {
      const res = await fetch(`${stack.bffUrl}${path}`);
      const body = await res.text();
      expect(body).not.toContain('root:');
      expect(res.status === 404 || body.includes('<title>spa</title>')).toBe(true);
    }
  });

  it('refuses to start when BFF_STATIC_DIR has no index.html', () => {
    const config = parseConfig({ ...stack.env, BFF_STATIC_DIR: join(dir, 'assets') });
    expect(() => createNodeBff(config)).toThrow(ConfigError);
    expect(() => createNodeBff(config)).toThrow(/BFF_STATIC_DIR/);
  });
});
