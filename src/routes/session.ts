/**
 * `GET /session` and `POST /refresh`: the SPA's token-free view of its
 * session, and an explicit refresh.
 */
import { Hono } from 'hono';
import { BffError } from '../errors.js';
import { appendSetCookies, loadRequestSession, noStoreJsonHeaders, resealIfNeeded } from '../middleware/session.js';
import { problemFor } from '../observability/outcome.js';
import type { BffRuntime } from '../runtime.js';
import { clearSessionCookies, sessionSetCookies, sessionView } from '../session/session.js';

/** Session routes, to be mounted under the base path (behind the request guard). */
export function sessionRoutes(runtime: BffRuntime): Hono {
  const app = new Hono();

  app.get('/session', async function bffSession(c) {
    const loaded = await loadRequestSession(c, runtime);
    const { cookies, lookup } = loaded;
    const headers = noStoreJsonHeaders();
    // An unusable cookie is cleared so the browser stops sending it.
    if (lookup.status === 'invalid') appendSetCookies(headers, clearSessionCookies(cookies));
    const resealed = await resealIfNeeded(runtime, loaded);
    if (resealed) appendSetCookies(headers, resealed.lines);
    const session = resealed?.session ?? (lookup.status === 'valid' ? lookup.session : undefined);
    return new Response(JSON.stringify(sessionView(session, runtime.config.sessionIdleSeconds)), { status: 200, headers });
  });

  app.post('/refresh', async function bffRefresh(c) {
    const { cookies, lookup } = await loadRequestSession(c, runtime);
    if (lookup.status !== 'valid') {
      return problemFor(c, new BffError('unauthenticated'), lookup.status === 'invalid' ? cookieHeaders(clearSessionCookies(cookies)) : undefined);
    }
    try {
      const refreshed = await runtime.refresher.refresh(lookup.session);
      const headers = noStoreJsonHeaders();
      appendSetCookies(headers, await sessionSetCookies(refreshed, cookies, runtime.sealer, runtime.nowSeconds()));
      runtime.logger.log('info', 'session.refreshed', { domain: 'identity', trigger: 'explicit' });
      return new Response(JSON.stringify(sessionView({ ...refreshed, seen: runtime.nowSeconds() }, runtime.config.sessionIdleSeconds)), { status: 200, headers });
    } catch (error) {
      if (error instanceof BffError && error.code === 'session_expired') {
        runtime.logger.log('warn', 'session.refresh_rejected', { domain: 'identity', reason: error.logInfo });
        return problemFor(c, error, cookieHeaders(clearSessionCookies(cookies)));
      }
      throw error;
    }
  });

  return app;
}

/** Headers carrying only `Set-Cookie` lines. */
export function cookieHeaders(lines: readonly string[]): Headers {
  const headers = new Headers();
  appendSetCookies(headers, lines);
  return headers;
}
