/**
 * Size budget of `hono-bff/client`: bundles `src/client/index.ts` the way an
 * app's bundler would (Vite library mode, minified), gzips it, and fails when
 * it exceeds 3 KB gzipped. Run: `npx tsx scripts/client-size.ts`.
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'vite';

/** Gzipped bytes the whole client may take. */
export const CLIENT_SIZE_BUDGET = 3072;

/** Absolute path of the client's entry module. */
export const CLIENT_ENTRY = fileURLToPath(new URL('../src/client/index.ts', import.meta.url));

// Vite resolves a library entry against its root, so the probe is recognised by its suffix.
const PROBE_NAME = 'virtual-client-size-probe.js';
const PROBE_ID = `\0${PROBE_NAME}`;

/**
 * Bundles and minifies in memory, as an app importing the client would.
 *
 * @param probe - source of an entry module that imports from {@link CLIENT_ENTRY}
 *   (to see what tree-shaking keeps of it); by default the whole client
 * @returns the bundled code
 * @example
 * ```ts
 * const code = await bundleClient(`export { BffError } from ${JSON.stringify(CLIENT_ENTRY)};`);
 * ```
 */
export async function bundleClient(probe?: string): Promise<string> {
  const plugins: Plugin[] = probe === undefined ? [] : [{ name: 'client-size-probe', resolveId: (id) => (id.endsWith(PROBE_NAME) ? PROBE_ID : null), load: (id) => (id === PROBE_ID ? probe : null) }];
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    plugins,
    build: { lib: { entry: probe === undefined ? CLIENT_ENTRY : PROBE_NAME, formats: ['es'], fileName: 'client' }, write: false, minify: true, target: 'es2022' },
  });
  let code = '';
  for (const out of Array.isArray(result) ? result : [result]) {
    if (!('output' in out)) throw new Error('vite build returned a watcher');
    for (const chunk of out.output) if (chunk.type === 'chunk') code += chunk.code;
  }
  return code;
}

/**
 * Measures the whole client.
 *
 * @returns bytes of the minified bundle and of its gzip (level 9)
 * @example
 * ```ts
 * const { gzipped } = await measureClientSize();
 * ```
 */
export async function measureClientSize(): Promise<{ minified: number; gzipped: number }> {
  const bytes = Buffer.from(await bundleClient());
  return { minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { minified, gzipped } = await measureClientSize();
  console.log(`hono-bff/client: ${kb(minified)} minified, ${kb(gzipped)} gzipped (budget ${CLIENT_SIZE_BUDGET / 1024} KB)`);
  if (gzipped > CLIENT_SIZE_BUDGET) {
    console.error(`over budget: ${gzipped} > ${CLIENT_SIZE_BUDGET} bytes gzipped`);
    process.exitCode = 1;
  }
}
