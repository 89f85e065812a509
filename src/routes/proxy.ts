/**
 * The authenticated API proxy: the session's access token goes upstream as
 * `Authorization: Bearer`, refreshed first when it is about to expire; the
 * browser's cookies and credentials never do. Bodies stream both ways.
 */
import type { Context } from 'hono';
import { proxy } from 'hono/proxy';
import type { RouteConfig } from '../config.js';
import { BffError } from '../errors.js';
import { appendSetCookies, loadRequestSession } from '../middleware/session.js';
import { buildUpstreamRequestHeaders, filterUpstreamResponseHeaders, isForwardablePath, upstreamUrl } from '../proxy/headers.js';
import type { BffRuntime } from '../runtime.js';
import { clearSessionCookies, sessionSetCookies, type SessionData } from '../session/session.js';
import { cookieHeaders } from './session.js';
import { problemResponse } from '../errors.js';

/** Creates the handler for one proxied route (mounted behind the request guard). */
export function proxyHandler(runtime: BffRuntime, route: RouteConfig) {
  const { logger } = runtime;

  return async function bffProxy(c: Context): Promise<Response> {
    const url = new URL(c.req.url);
    if (!isForwardablePath(url.pathname)) {
      throw new BffError('invalid_request', { title: 'Encoded slashes, dots or backslashes are not allowed in proxied paths', logInfo: `route ${route.prefix}: refused encoded path` });
    }
    const { cookies, lookup } = await loadRequestSession(c, runtime);
    if (lookup.status !== 'valid') {
      return problemResponse(new BffError('unauthenticated'), lookup.status === 'invalid' ? cookieHeaders(clearSessionCookies(cookies)) : undefined);
    }

    let session = lookup.session;
    let setCookies: string[] = [];
    if (runtime.refresher.isDue(session)) {
      const fresh = await refreshBeforeForwarding(session);
      if (fresh instanceof Response) return fresh;
      if (fresh !== session) {
        session = fresh;
        setCookies = await sessionSetCookies(session, cookies, runtime.sealer, runtime.nowSeconds());
      }
    }

    const response = await forward(c, url, session.at);
    appendSetCookies(response.headers, setCookies);
    return response;

    /** Refreshes; keeps using a still-valid token when only the IdP is down. */
    async function refreshBeforeForwarding(current: SessionData): Promise<SessionData | Response> {
      try {
        const refreshed = await runtime.refresher.refresh(current);
        logger.log('info', 'session.refreshed', { domain: 'identity', trigger: 'proxy', route: route.prefix });
        return refreshed;
      } catch (error) {
        const bffError = error instanceof BffError ? error : new BffError('internal_error', { cause: error });
        if (bffError.code === 'session_expired') {
          logger.log('warn', 'session.refresh_rejected', { domain: 'identity', route: route.prefix, reason: bffError.logInfo });
          return problemResponse(bffError, cookieHeaders(clearSessionCookies(cookies)));
        }
        if (bffError.code === 'idp_unavailable' && current.atExp !== undefined && current.atExp > runtime.nowSeconds()) {
          logger.log('warn', 'session.refresh_deferred', { domain: 'identity', route: route.prefix, reason: bffError.logInfo });
          return current;
        }
        throw bffError;
      }
    }
  };

  async function forward(c: Context, url: URL, accessToken: string): Promise<Response> {
    const target = upstreamUrl(route, url.pathname, url.search);
    const method = c.req.method;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, runtime.config.upstreamTimeoutMs);
    const onClientGone = () => controller.abort();
    c.req.raw.signal?.addEventListener('abort', onClientGone, { once: true });
    const started = Date.now();
    try {
      const hasBody = method !== 'GET' && method !== 'HEAD' && c.req.raw.body !== null;
      const upstream = await proxy(target, {
        method,
        headers: buildUpstreamRequestHeaders(c.req.raw.headers, {
          accessToken,
          clientAddress: runtime.clientAddress(c),
          publicOrigin: runtime.config.publicOrigin,
        }),
        body: hasBody ? c.req.raw.body : null,
        ...(hasBody ? { duplex: 'half' } : {}),
        redirect: 'manual',
        signal: controller.signal,
        customFetch: (request: Request) => runtime.upstreamFetch(request),
      } as RequestInit & { customFetch: (request: Request) => Promise<Response> });
      const headers = filterUpstreamResponseHeaders(upstream.headers, route);
      logger.log('debug', 'proxy.forwarded', { domain: 'upstream', route: route.prefix, method, status: upstream.status, ms: Date.now() - started });
      return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
    } catch (error) {
      const code = timedOut ? 'upstream_timeout' : 'upstream_unavailable';
      logger.log('warn', 'proxy.failed', { domain: 'upstream', route: route.prefix, method, code, error: error instanceof Error ? error.name : 'unknown', ms: Date.now() - started });
      throw new BffError(code, { cause: error, logInfo: `route ${route.prefix}` });
    } finally {
      // The timeout covers the wait for response headers; a long download may take longer.
      clearTimeout(timer);
      c.req.raw.signal?.removeEventListener('abort', onClientGone);
    }
  }
}
