/**
 * `POST /logout`: revoke the refresh token at the IdP, clear every session
 * cookie, and tell the SPA where to send the browser to end the IdP session.
 */
import { Hono } from 'hono';
import { BffError } from '../errors.js';
import { appendSetCookies, loadRequestSession, noStoreJsonHeaders } from '../middleware/session.js';
import { endSessionUrl, revokeToken } from '../oidc/flows.js';
import type { OidcProvider } from '../oidc/discovery.js';
import type { BffRuntime } from '../runtime.js';
import { clearSessionCookies } from '../session/session.js';

/** The logout route, to be mounted under the base path (behind the request guard). */
export function logoutRoutes(runtime: BffRuntime): Hono {
  const { config, logger } = runtime;
  const app = new Hono();

  app.post('/logout', async function bffLogout(c) {
    const { cookies, lookup } = await loadRequestSession(c, runtime);
    const session = lookup.status === 'valid' ? lookup.session : undefined;
    let provider: OidcProvider | undefined;
    try {
      provider = await runtime.discovery.get();
    } catch (error) {
      // Logout must still clear the browser's session when the IdP is down.
      logger.log('warn', 'logout.idp_unavailable', { domain: 'identity', code: error instanceof BffError ? error.code : 'idp_unavailable' });
    }
    if (provider && session?.rt) {
      try {
        await revokeToken(provider, session.rt, 'refresh_token');
      } catch (error) {
        logger.log('warn', 'logout.revocation_failed', { domain: 'identity', reason: error instanceof BffError ? error.logInfo : 'unknown' });
      }
    }
    const headers = noStoreJsonHeaders();
    appendSetCookies(headers, clearSessionCookies(cookies, true));
    logger.log('info', 'logout.completed', { domain: 'identity', hadSession: session !== undefined });
    return new Response(JSON.stringify({ logoutUrl: endSessionUrl(provider, config, session?.idt) }), { status: 200, headers });
  });

  return app;
}
