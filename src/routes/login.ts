/**
 * `GET /login` and `GET /callback`: the authorization-code flow. Both are
 * top-level browser navigations, so failures end in a redirect to the SPA
 * with `?bff_error=<code>` rather than a JSON body.
 */
import { Hono, type Context } from 'hono';
import { BffError, translateIdpError } from '../errors.js';
import type { OidcProvider } from '../oidc/discovery.js';
import { finishLogin, revokeToken, startLogin } from '../oidc/flows.js';
import { noteFailure } from '../observability/outcome.js';
import type { BffRuntime } from '../runtime.js';
import { expiredCookie, parseCookieHeader } from '../session/cookies.js';
import { identityClaims, readSession, sessionSetCookies, type SessionData } from '../session/session.js';
import { loginSetCookies, readLoginTransaction } from '../session/transaction.js';
import { safeReturnTo } from '../url.js';

/** Random session id: 128 bits, base64url. */
function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Routes of the login flow, to be mounted under the base path. */
export function loginRoutes(runtime: BffRuntime): Hono {
  const { config, sealer, logger } = runtime;
  const app = new Hono();

  const failure = (c: Context, error: BffError, setCookies: string[]): Response => {
    noteFailure(c, error.code);
    logger.log('warn', 'login.failed', { domain: 'identity', code: error.code, reason: error.logInfo ?? error.message });
    const headers = new Headers({ location: `${config.publicOrigin}/?bff_error=${error.code}`, 'cache-control': 'no-store' });
    for (const line of setCookies) headers.append('set-cookie', line);
    return new Response(null, { status: 302, headers });
  };

  /**
   * A new login replaces the browser's previous session: its refresh token is
   * revoked so a copy of the old cookie dies with its access token. Best
   * effort: a revocation failure is logged and does not fail the login.
   */
  async function endPreviousSession(provider: OidcProvider, cookies: Record<string, string>, now: number): Promise<void> {
    const previous = await readSession(cookies, sealer, now);
    if (previous.status !== 'valid' || previous.session.rt === undefined) return;
    try {
      await revokeToken(provider, previous.session.rt, 'refresh_token');
      logger.log('info', 'login.previous_session_revoked', { domain: 'identity' });
    } catch (error) {
      logger.log('warn', 'login.previous_session_revocation_failed', { domain: 'identity', reason: error instanceof BffError ? error.logInfo : 'unknown' });
    }
  }

  app.get('/login', async function bffLogin(c) {
    const returnTo = safeReturnTo(c.req.query('returnTo'), config.publicOrigin);
    let provider;
    try {
      provider = await runtime.discovery.get();
    } catch (error) {
      return failure(c, translateIdpError(error, 'discovery'), []);
    }
    const { url, tx } = await startLogin(provider, config, returnTo, runtime.nowSeconds());
    const cookies = parseCookieHeader(c.req.header('cookie'));
    const headers = new Headers({ location: url.href, 'cache-control': 'no-store' });
    for (const line of await loginSetCookies(tx, cookies, sealer)) headers.append('set-cookie', line);
    logger.log('info', 'login.started', { returnToLength: returnTo.length });
    return new Response(null, { status: 302, headers });
  });

  app.get('/callback', async function bffCallback(c) {
    const requestUrl = new URL(c.req.url);
    const states = requestUrl.searchParams.getAll('state');
    const cookies = parseCookieHeader(c.req.header('cookie'));
    if (states.length !== 1 || !states[0]) {
      return failure(c, new BffError('login_failed', { logInfo: `callback: ${states.length === 0 ? 'no' : 'duplicated'} state parameter` }), []);
    }
    const found = await readLoginTransaction(states[0], cookies, sealer, runtime.nowSeconds());
    // The transaction is consumed whatever happens next: a callback URL works once.
    const consumed = found.cookieName ? [expiredCookie(found.cookieName)] : [];
    if (found.status !== 'found') {
      return failure(c, new BffError('login_failed', { logInfo: `callback: login transaction ${found.status}` }), consumed);
    }
    try {
      const provider = await runtime.discovery.get();
      const callbackUrl = new URL(`${config.redirectUri}${requestUrl.search}`);
      const now = runtime.nowSeconds();
      const tokens = await finishLogin(provider, config, callbackUrl, found.tx, now);
      const claims = tokens.idTokenClaims!;
      const session: SessionData = {
        v: 1,
        sid: newSessionId(),
        iat: now,
        exp: Math.min(now + config.sessionMaxAgeSeconds, tokens.refreshTokenExpiresAt ?? Infinity),
        iss: String(claims.iss),
        sub: String(claims.sub),
        aud: config.clientId,
        user: identityClaims(claims),
        at: tokens.accessToken,
        atExp: tokens.accessTokenExpiresAt,
        scope: tokens.scope,
        rt: tokens.refreshToken,
        idt: tokens.idToken,
      };
      await endPreviousSession(provider, cookies, now);
      const headers = new Headers({ location: `${config.publicOrigin}${found.tx.returnTo}`, 'cache-control': 'no-store' });
      for (const line of [...consumed, ...(await sessionSetCookies(session, cookies, sealer, now))]) headers.append('set-cookie', line);
      logger.log('info', 'login.succeeded', { domain: 'identity', refreshToken: session.rt !== undefined });
      return new Response(null, { status: 302, headers });
    } catch (error) {
      const bffError = error instanceof BffError ? error : translateIdpError(error, 'callback');
      return failure(c, bffError.code === 'idp_unavailable' || bffError.code === 'login_failed' ? bffError : new BffError('login_failed', { cause: bffError, logInfo: bffError.logInfo }), consumed);
    }
  });

  return app;
}
