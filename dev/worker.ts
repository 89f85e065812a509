/**
 * `npm run dev:worker`: the BFF as a Cloudflare Worker in local workerd
 * (`wrangler dev --local --ip 127.0.0.1`), with the example SPA as its static
 * assets, against the local dev IdP and example API on loopback.
 *
 *   Worker (SPA + BFF)   http://localhost:8787
 *   dev IdP              http://127.0.0.1:4100   users alice/alice, bob/bob
 *   example API          http://127.0.0.1:4000
 *
 * The non-secret variables come from wrangler.toml's [vars]; the two secrets
 * are random per run and passed with --var (never written to disk).
 * BFF_DEV_TOKEN_MODE=phantom runs `/api` as a phantom-token route (see dev/start.ts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startExampleApi } from './api.js';
import { startDevIdp } from './idp.js';
import { DEV_API_RESOURCE, DEV_CLIENT_ID, defaultApiRoutes, devResourceFor } from './stack.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const port = Number(process.env.WORKER_PORT ?? 8787);
const publicUrl = `http://localhost:${port}`;

if (!existsSync(`${ROOT}example-spa/dist/index.html`)) {
  console.error('example-spa/dist is missing: run npm run build:spa (npm run dev:worker does it for you)');
  process.exit(1);
}

const tokenMode = process.env.BFF_DEV_TOKEN_MODE?.trim() || 'access';
if (tokenMode !== 'access' && tokenMode !== 'phantom') {
  console.error('BFF_DEV_TOKEN_MODE must be "access" or "phantom"');
  process.exit(1);
}

const clientSecret = randomBytes(32).toString('base64url');
const idp = await startDevIdp({
  port: Number(process.env.IDP_PORT ?? 4100),
  clients: [{ clientId: DEV_CLIENT_ID, clientSecret, redirectUris: [`${publicUrl}/bff/callback`], postLogoutRedirectUris: [`${publicUrl}/`] }],
  resource: DEV_API_RESOURCE,
});
const api = await startExampleApi({ port: Number(process.env.API_PORT ?? 4000), issuer: idp.issuer, audience: DEV_API_RESOURCE, phantomAudience: DEV_CLIENT_ID });

const vars = {
  BFF_ISSUER: idp.issuer,
  BFF_PUBLIC_URL: publicUrl,
  BFF_ROUTES: JSON.stringify(defaultApiRoutes(api.url, tokenMode)),
  // An empty value overrides wrangler.toml's BFF_RESOURCE: phantom mode needs opaque access tokens.
  BFF_RESOURCE: devResourceFor(tokenMode) ?? '',
  BFF_CLIENT_SECRET: clientSecret,
  BFF_SESSION_SECRET: randomBytes(32).toString('base64url'),
};
const wrangler = spawn(
  process.execPath,
  ['node_modules/wrangler/bin/wrangler.js', 'dev', '--local', '--ip', '127.0.0.1', '--port', String(port), ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])],
  { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } },
);

console.log(
  [
    '',
    'hono-bff on workerd (wrangler dev --local), loopback only',
    `  SPA + BFF     ${publicUrl}   open this in a browser; log in as alice / alice`,
    `  dev IdP       ${idp.issuer}`,
    `  example API   ${api.url}/api${tokenMode === 'phantom' ? '   receives phantom tokens (BFF_DEV_TOKEN_MODE=phantom)' : ''}`,
    '',
  ].join('\n'),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // wrangler runs workerd as a child: end the whole process group.
  try {
    process.kill(-wrangler.pid!, 'SIGTERM');
  } catch {
    /* already gone */
  }
  await Promise.all([idp.close(), api.close()]);
  process.exit(0);
};
wrangler.on('exit', () => void stop());
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
