/** The Worker bundle budget (`npm run size`): under 64 KiB gzipped, as `wrangler deploy` would build it. */
import { describe, expect, it } from 'vitest';
import { measureWorkerSize } from '../../scripts/worker-size.js';

describe('Worker bundle', () => {
  it('stays under 64 KiB gzipped', () => {
    const { raw, gzipped } = measureWorkerSize();
    expect(raw).toBeGreaterThan(20 * 1024);
    expect(gzipped).toBeLessThan(64 * 1024);
  }, 60_000);
});
