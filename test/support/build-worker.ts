/**
 * Vitest global setup of the workerd project: bundles the test Worker with
 * wrangler (the same bundler as `wrangler deploy`) before the suite runs.
 */
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKER_BUNDLE } from './target.js';

export default function buildTestWorker(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(process.execPath, ['node_modules/wrangler/bin/wrangler.js', 'deploy', '--dry-run', '--outdir', dirname(WORKER_BUNDLE), '--config', 'test/support/wrangler.test.toml'], {
    cwd: root,
    stdio: 'pipe',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
}
