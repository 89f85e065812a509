/**
 * `npm start`: the whole local stack on loopback, no external account needed.
 *
 *   dev IdP (oidc-provider)  http://127.0.0.1:4100   users alice/alice, bob/bob
 *   example API              http://127.0.0.1:4000   JWT-protected, /api/me, /api/notes
 *   BFF                      http://localhost:3000   /bff/login, /bff/session, /api/* proxied
 *
 * With BFF_ISSUER set, only the BFF starts, configured from the environment
 * exactly like the `hono-bff` bin (point it at a real IdP).
 */
import { ConfigError } from '../src/config.js';
import { createConsoleLogger } from '../src/log.js';
import { startNodeServer } from '../src/node.js';
import { startDevStack } from './stack.js';

const logger = createConsoleLogger('info');
const port = (name: string, fallback: number): number => {
  const value = process.env[name];
  return value && /^\d+$/.test(value) ? Number(value) : fallback;
};

async function main(): Promise<void> {
  if (process.env.BFF_ISSUER) {
    const running = await startNodeServer({ deps: { logger } });
    console.log(`\nhono-bff (external IdP ${process.env.BFF_ISSUER}) listening on ${running.url}\n`);
    onShutdown(() => running.close());
    return;
  }
  const stack = await startDevStack({
    bffPort: port('PORT', 3000),
    apiPort: port('API_PORT', 4000),
    idpPort: port('IDP_PORT', 4100),
    deps: { logger },
  });
  console.log(
    [
      '',
      'hono-bff local stack (loopback only)',
      `  BFF + SPA     ${stack.bffUrl}            open this in a browser`,
      `  log in        ${stack.bffUrl}/bff/login   user alice / password alice (or bob / bob)`,
      `  session       ${stack.bffUrl}/bff/session (needs header x-csrf: 1)`,
      `  API via BFF   ${stack.bffUrl}/api/me      (needs header x-csrf: 1)`,
      `  dev IdP       ${stack.idp.issuer}`,
      `  example API   ${stack.api.url}/api`,
      '  secrets are random per start: sessions end when the stack restarts. Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
  onShutdown(() => stack.close());
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
