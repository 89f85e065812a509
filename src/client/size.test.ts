import { describe, expect, it } from 'vitest';
import { bundleClient, CLIENT_ENTRY, CLIENT_SIZE_BUDGET, measureClientSize } from '../../scripts/client-size.js';

describe('hono-bff/client bundle', () => {
  it('stays within 3 KB gzipped', async () => {
    const { minified, gzipped } = await measureClientSize();
    expect(minified).toBeGreaterThan(gzipped);
    expect(gzipped).toBeLessThanOrEqual(CLIENT_SIZE_BUDGET);
  });

  it('tree-shakes: importing only BffError keeps no client, fetch or BroadcastChannel code', async () => {
    const code = await bundleClient(`export { BffError } from ${JSON.stringify(CLIENT_ENTRY)};`);
    expect(code).toContain('BffError');
    expect(code).not.toMatch(/BroadcastChannel|fetch|setTimeout|location/);
  });

  it('has no import-time side effects: a bare import bundles to nothing', async () => {
    const code = await bundleClient(`import ${JSON.stringify(CLIENT_ENTRY)};`);
    expect(code.replace(/\/\/.*|\s/g, '')).toBe('');
  });
});
