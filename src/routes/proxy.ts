/**
 * The authenticated API proxy: the session's access token (on phantom routes,
 * the IdP's signed introspection of it) goes upstream as `Authorization:
 * Bearer`, refreshed first when it is about to expire; the browser's cookies
 * and credentials never do. Bodies stream both ways.
 */
import type { Context } from 'hono';
import type { RouteConfig } from '../config.js';
import { BffError } from '../errors.js';
import { takeBufferedBody } from '../fetch.js';
import { appendSetCookies, loadRequestSession, resealIfNeeded } from '../middleware/session.js';
import { buildUpstreamRequestHeaders, filterUpstreamResponseHeaders, isForwardablePath, upstreamUrl } from '../proxy/headers.js';
import type { BffRuntime } from '../runtime.js';
import { clearSessionCookies, sessionSetCookies, type SessionData } from '../session/session.js';
import { cookieHeaders } from './session.js';
import { outcomeOf, problemFor } from '../observability/outcome.js';
import { enforceSessionRateLimit } from '../ratelimit/limit.js';
import { grantedScopesInclude, type PhantomBearer } from '../phantom/introspection.js';

/** Creates the handler for one proxied route (mounted behind the request guard). */
export function proxyHandler(runtime: BffRuntime, route: RouteConfig) {
  const { logger } = runtime;

  return async function bffProxy(c: Context): Promise<Response> {
    const url = new URL(c.req.url);
    outcomeOf(c).route = route.prefix;
    if (!route.methods.includes(c.req.method)) {
      return problemFor(c, new BffError('method_not_allowed'), { allow: route.methods.join(', ') });
    }
    const declaredLength = c.req.header('content-length');
    if (declaredLength !== undefined && !(Number(declaredLength) <= runtime.config.maxBodyBytes)) {
      throw new BffError('payload_too_large', { logInfo: `route ${route.prefix}: declared body over the limit` });
    }
    if (!isForwardablePath(url.pathname)) {
      throw new BffError('invalid_request', { title: 'Encoded slashes, dots or backslashes are not allowed in proxied paths', logInfo: `route ${route.prefix}: refused encoded path` });
    }
    // A public route: no session, no token, the browser's cookies and credentials still stripped.
    if (route.token === 'none') return forward(c, url, undefined);

    const loaded = await loadRequestSession(c, runtime);
    const { cookies, lookup } = loaded;
    if (lookup.status !== 'valid') {
      return problemFor(c, new BffError('unauthenticated'), lookup.status === 'invalid' ? cookieHeaders(clearSessionCookies(cookies)) : undefined);
    }
    await enforceSessionRateLimit(runtime, lookup.session);

    let session = lookup.session;
    let setCookies: string[] = [];
    const resealed = await resealIfNeeded(runtime, loaded);
    if (resealed) {
      session = resealed.session;
      setCookies = resealed.lines;
    }
    let refreshed = false;
    if (runtime.refresher.isDue(session)) {
      refreshed = true;
      const fresh = await refreshBeforeForwarding(session);
      if (fresh instanceof Response) return fresh;
      if (fresh !== session) {
        session = fresh;
        setCookies = await sessionSetCookies(session, cookies, runtime.sealer, runtime.nowSeconds());
      }
    }

    // Phantom routes: the upstream gets the IdP's signed introspection of the access token (which
    // may be refreshed on the way), and the introspection's `scope` is what the scope check trusts.
    let bearer = session.at;
    let phantomScope: string | undefined;
    if (route.token === 'phantom') {
      const exchanged = await exchangePhantom(session);
      if (exchanged instanceof Response) return exchanged;
      ({ bearer, scope: phantomScope } = exchanged);
      if (exchanged.session !== session) {
        refreshed = true;
        session = exchanged.session;
        setCookies = await sessionSetCookies(session, cookies, runtime.sealer, runtime.nowSeconds());
      }
    }

    if (!(route.token === 'phantom' ? grantedScopesInclude(phantomScope, route.scopes) : hasScopes(session, route.scopes, runtime.config.scopes))) {
      logger.log('info', 'proxy.insufficient_scope', { domain: 'identity', route: route.prefix });
      const headers = cookieHeaders(setCookies);
      headers.set('www-authenticate', `Bearer error="insufficient_scope", scope="${route.scopes.join(' ')}"`);
      return problemFor(c, new BffError('insufficient_scope'), headers);
    }

    let response = await forward(c, url, bearer);
    // The upstream may reject a token the BFF thought valid (revoked, clock skew): refresh once and
    // retry once, for requests without a body only (a body stream cannot be sent twice).
    if (response.status === 401 && !refreshed && session.rt !== undefined && (c.req.method === 'GET' || c.req.method === 'HEAD')) {
      const fresh = await refreshAfterUpstream401(session);
      if (fresh instanceof Response) return fresh;
      if (fresh) {
        await response.body?.cancel();
        session = fresh;
        bearer = session.at;
        if (route.token === 'phantom') {
          // Already refreshed once: a new token that is inactive ends the session.
          const exchanged = await exchangePhantom(session, false);
          if (exchanged instanceof Response) return exchanged;
          bearer = exchanged.bearer;
        }
        setCookies = await sessionSetCookies(session, cookies, runtime.sealer, runtime.nowSeconds());
        logger.log('info', 'proxy.retried_after_401', { domain: 'upstream', route: route.prefix });
        response = await forward(c, url, bearer);
      }
    }
    appendSetCookies(response.headers, setCookies);
    return response;

    /** A phantom route's Bearer, or the session-ending problem (cookies cleared); an unreachable IdP throws (503). */
    async function exchangePhantom(current: SessionData, refreshIfInactive = true): Promise<PhantomBearer | Response> {
      try {
        return await runtime.phantom.bearerFor(current, { refreshIfInactive });
      } catch (error) {
        if (error instanceof BffError && error.code === 'session_expired') {
          logger.log('warn', 'phantom.session_expired', { domain: 'identity', route: route.prefix, reason: error.logInfo });
          return problemFor(c, error, cookieHeaders(clearSessionCookies(cookies)));
        }
        throw error;
      }
    }

    /** After an upstream 401: a new token, or the session-ending problem, or undefined to pass the 401 on. */
    async function refreshAfterUpstream401(current: SessionData): Promise<SessionData | Response | undefined> {
      try {
        return await runtime.refresher.refresh(current);
      } catch (error) {
        if (error instanceof BffError && error.code === 'session_expired') {
          logger.log('warn', 'session.refresh_rejected', { domain: 'identity', route: route.prefix, reason: error.logInfo });
          return problemFor(c, error, cookieHeaders(clearSessionCookies(cookies)));
        }
        // The IdP is unreachable: the upstream's own 401 is the honest answer.
        logger.log('warn', 'session.refresh_deferred', { domain: 'identity', route: route.prefix, reason: error instanceof BffError ? error.logInfo : 'unknown' });
        return undefined;
      }
    }

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
          return problemFor(c, bffError, cookieHeaders(clearSessionCookies(cookies)));
        }
        if (bffError.code === 'idp_unavailable' && current.atExp !== undefined && current.atExp > runtime.nowSeconds()) {
          logger.log('warn', 'session.refresh_deferred', { domain: 'identity', route: route.prefix, reason: bffError.logInfo });
          return current;
        }
        throw bffError;
      }
    }
  };

  async function forward(c: Context, url: URL, accessToken: string | undefined): Promise<Response> {
    const target = upstreamUrl(route, url.pathname, url.search);
    const method = c.req.method;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, route.timeoutMs);
    const onClientGone = () => controller.abort();
    c.req.raw.signal?.addEventListener('abort', onClientGone, { once: true });
    const started = Date.now();
    const limit = { exceeded: false };
    try {
      const declaredLength = c.req.header('content-length');
      let body: Uint8Array | ReadableStream<Uint8Array> | null = null;
      if (method !== 'GET' && method !== 'HEAD') {
        // A small body of declared length (already checked against the limit, and the server reads exactly that
        // many bytes) is read at once, without streams. Without Content-Length the size is unknown until the end:
        // buffer (bounded by the limit) so an oversized body is refused before anything reaches the upstream.
        // With a larger declared length, stream and count.
        if (declaredLength !== undefined && Number(declaredLength) <= BUFFERED_BODY_BYTES) body = new Uint8Array(await c.req.arrayBuffer());
        else if (c.req.raw.body !== null) {
          body = declaredLength === undefined ? await readBodyWithin(c.req.raw.body, runtime.config.maxBodyBytes, route) : limitBody(c.req.raw.body, runtime.config.maxBodyBytes, limit);
        }
      }
      const hasBody = body !== null;
      const requestHeaders = buildUpstreamRequestHeaders(c.req.raw.headers, {
        accessToken,
        clientAddress: runtime.clientAddress(c),
        publicOrigin: runtime.config.publicOrigin,
        requestId: outcomeOf(c).requestId,
      });
      // Compression is between the BFF and the browser, not the upstream: fetch (and the Node client) decode
      // whatever the upstream sends anyway.
      requestHeaders.delete('accept-encoding');
      // Called with a URL and init (no Request object, no hono/proxy copies): the hot path of every proxied call.
      const upstream = await runtime.upstreamFetch(target, {
        method,
        headers: requestHeaders,
        body,
        ...(hasBody ? { duplex: 'half' } : {}),
        redirect: 'manual',
        signal: controller.signal,
      } as RequestInit);
      const headers = filterUpstreamResponseHeaders(upstream.headers, route);
      // The body was decoded on the way in: its encoding and length no longer apply.
      if (headers.has('content-encoding')) {
        headers.delete('content-encoding');
        headers.delete('content-length');
      }
      const outcome = outcomeOf(c);
      outcome.upstreamStatus = upstream.status;
      outcome.upstreamMs = Date.now() - started;
      logger.log('debug', 'proxy.forwarded', { domain: 'upstream', route: route.prefix, method, status: upstream.status, ms: outcome.upstreamMs });
      // A body the upstream client already buffered is passed on as bytes, without a stream.
      const buffered = takeBufferedBody(upstream);
      return new Response(buffered ? buffered.bytes : upstream.body, { status: upstream.status, statusText: buffered ? buffered.statusText : upstream.statusText, headers });
    } catch (error) {
      if (error instanceof BffError) throw error;
      if (limit.exceeded) throw new BffError('payload_too_large', { logInfo: `route ${route.prefix}: streamed body over the limit` });
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

/** Request bodies of a declared length up to this are read at once rather than streamed upstream. */
const BUFFERED_BODY_BYTES = 64 * 1024;

/** Reads a body of unknown length completely, refusing it with 413 as soon as it exceeds `maxBytes`. */
async function readBodyWithin(body: ReadableStream<Uint8Array>, maxBytes: number, route: RouteConfig): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BffError('payload_too_large', { logInfo: `route ${route.prefix}: body without Content-Length over the limit` });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Passes a request body through, failing the stream (and so the upstream
 * request) as soon as it exceeds `maxBytes`; bodies without Content-Length
 * are counted as they stream.
 */
export function limitBody(body: ReadableStream<Uint8Array>, maxBytes: number, state: { exceeded: boolean }): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) {
          state.exceeded = true;
          controller.error(new RangeError('request body too large'));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * Whether the session's access token carries every scope a route requires.
 * A token response without `scope` granted what was requested (RFC 6749 5.1).
 */
export function hasScopes(session: SessionData, required: readonly string[], requested: string): boolean {
  if (required.length === 0) return true;
  const granted = new Set((session.scope ?? requested).split(' ').filter(Boolean));
  return required.every((scope) => granted.has(scope));
}
