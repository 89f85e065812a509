/**
 * `npm run size`: builds the Worker exactly as `wrangler deploy` would
 * (`--dry-run --outdir`), prints its raw and gzipped size, and fails when
 * the gzipped Worker exceeds the 64 KiB budget. Also prints the browser
 * client's size.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { measureClientSize } from './client-size.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUDGET = 64 * 1024;

/** Bundles the Worker with wrangler and returns its raw and gzipped byte sizes. */
export function measureWorkerSize(): { raw: number; gzipped: number } {
  if (!existsSync(join(ROOT, 'example-spa/dist/index.html'))) {
    // wrangler.toml's [assets] directory must exist for the build.
    execFileSync('npm', ['run', 'build:spa', '--silent'], { cwd: ROOT, stdio: 'pipe' });
  }
  const outdir = mkdtempSync(join(tmpdir(), 'hono-bff-worker-'));
  try {
    execFileSync(process.execPath, ['node_modules/wrangler/bin/wrangler.js', 'deploy', '--dry-run', '--outdir', outdir], {
      cwd: ROOT,
      stdio: 'pipe',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    });
    const bundle = readdirSync(outdir).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(outdir, f)));
    const code = Buffer.concat(bundle);
    return { raw: code.length, gzipped: gzipSync(code, { level: 9 }).length };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const worker = measureWorkerSize();
  console.log(`Worker (wrangler deploy --dry-run, minified): ${kib(worker.raw)} raw, ${kib(worker.gzipped)} gzipped (budget ${kib(BUDGET)})`);
  const client = await measureClientSize();
  console.log(`hono-bff/client: ${kib(client.minified)} minified, ${kib(client.gzipped)} gzipped (budget 3.0 KiB)`);
  if (worker.gzipped > BUDGET) {
    console.error(`over budget: the gzipped Worker is ${worker.gzipped} bytes (> ${BUDGET})`);
    process.exit(1);
  }
}
