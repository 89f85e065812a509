/**
 * `npm start` / `npm run dev`: the whole local stack on loopback, no external
 * account needed.
 *
 *   dev IdP (oidc-provider)  http://127.0.0.1:4100   users alice/alice, bob/bob
 *   example API              http://127.0.0.1:4000   JWT-protected, /api/me, /api/notes
 *   BFF + example SPA        http://localhost:3000   /bff/*, /api/* proxied, the SPA at /
 *
 * `--vite` (npm run dev) also starts Vite's dev server on http://localhost:5173
 * with hot reload, proxying /bff and /api to the BFF; browsers then use 5173.
 *
 * With BFF_ISSUER set, only the BFF starts, configured from the environment
 * exactly like the `hono-bff` bin (point it at a real IdP).
 *
 * BFF_DEV_TOKEN_MODE chooses what the example API receives (local stack only):
 *   access   (default) the BFF requests the API's resource indicator and
 *            forwards the session's access token, an RS256 `at+jwt`;
 *   phantom  no BFF_RESOURCE, so access tokens are opaque, and `/api` is a
 *            `token: "phantom"` route: the BFF introspects the opaque token and
 *            forwards the IdP's signed introspection JWT (RFC 9701) instead.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../src/config.js';
import { createConsoleLogger } from '../src/log.js';
import { startNodeServer } from '../src/node.js';
import type { DevTokenMode } from './constants.js';
import { startDevStack } from './stack.js';

const logger = createConsoleLogger('info');
const SPA_DIST = fileURLToPath(new URL('../example-spa/dist', import.meta.url));
const SPA_CONFIG = fileURLToPath(new URL('../example-spa/vite.config.ts', import.meta.url));
const withVite = process.argv.includes('--vite');

const port = (name: string, fallback: number): number => {
  const value = process.env[name];
  return value && /^\d+$/.test(value) ? Number(value) : fallback;
};

/** BFF_DEV_TOKEN_MODE, validated. */
function devTokenMode(): DevTokenMode {
  const value = process.env.BFF_DEV_TOKEN_MODE?.trim() || 'access';
  if (value !== 'access' && value !== 'phantom') throw new Error('BFF_DEV_TOKEN_MODE must be "access" or "phantom"');
  return value;
}

async function main(): Promise<void> {
  if (process.env.BFF_ISSUER) {
    const running = await startNodeServer({ deps: { logger } });
    console.log(`\nhono-bff (external IdP ${process.env.BFF_ISSUER}) listening on ${running.url}\n`);
    onShutdown(() => running.close());
    return;
  }
  const tokenMode = devTokenMode();
  const vitePort = port('VITE_PORT', 5173);
  const serveSpa = !withVite && existsSync(`${SPA_DIST}/index.html`);
  const stack = await startDevStack({
    bffPort: port('PORT', 3000),
    apiPort: port('API_PORT', 4000),
    idpPort: port('IDP_PORT', 4100),
    ...(withVite ? { publicUrl: `http://localhost:${vitePort}` } : {}),
    env: serveSpa ? { BFF_STATIC_DIR: SPA_DIST } : {},
    deps: { logger },
    tokenMode,
  });
  let closeVite = async () => {};
  if (withVite) {
    const { createServer } = await import('vite');
    const vite = await createServer({ configFile: SPA_CONFIG, server: { port: vitePort, proxy: proxyTo(stack.bff.url) } });
    await vite.listen();
    closeVite = () => vite.close();
  }
  console.log(
    [
      '',
      'hono-bff local stack (loopback only)',
      `  SPA + BFF     ${stack.bffUrl}            open this in a browser${withVite ? ' (Vite dev server, hot reload)' : serveSpa ? '' : ' (SPA not built: run npm run build:spa)'}`,
      `  log in        user alice / password alice (or bob / bob)`,
      `  BFF           ${stack.bff.url}/bff/…   API via BFF: ${stack.bffUrl}/api/me (header x-csrf: 1)`,
      `  dev IdP       ${stack.idp.issuer}`,
      `  example API   ${stack.api.url}/api${tokenMode === 'phantom' ? '   receives phantom tokens (BFF_DEV_TOKEN_MODE=phantom)' : ''}`,
      '  secrets are random per start: sessions end when the stack restarts. Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  onShutdown(async () => {
    await closeVite();
    await stack.close();
  });
}

/** Vite proxy rules: the BFF's paths go to the BFF, keeping the browser's Host. */
function proxyTo(target: string) {
  return Object.fromEntries(['/bff', '/api'].map((path) => [path, { target, changeOrigin: false }]));
}

function onShutdown(close: () => Promise<void>): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), 5000).unref();
    void close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
