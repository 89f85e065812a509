/**
 * `createBff(config)`: the BFF as a Hono app, to serve alone or mount in an
 * existing Hono app (`app.route('/', createBff(config))`).
 */
import { Hono, type Context, type Next } from 'hono';
import { cors } from './middleware/cors.js';
import type { BffConfig } from './config.js';
import { BffError, problemResponse } from './errors.js';
import { requestGuard } from './middleware/request-guard.js';
import { observeRequests } from './observability/observe.js';
import { noteFailure, outcomeOf } from './observability/outcome.js';
import { REQUEST_ID_HEADER } from './observability/request-id.js';
import { clientRateLimit } from './ratelimit/limit.js';
import { createRuntime, type BffDeps, type BffRuntime } from './runtime.js';
import { loginRoutes } from './routes/login.js';
import { logoutRoutes } from './routes/logout.js';
import { proxyHandler } from './routes/proxy.js';
import { sessionRoutes } from './routes/session.js';
import { spaHandler } from './static/spa.js';

/** The BFF's own endpoints, relative to the base path. */
const ENDPOINTS = ['/login', '/callback', '/session', '/refresh', '/logout', '/healthz', '/readyz', '/metrics'];

/**
 * Builds the BFF app from a validated configuration (see `parseConfig`).
 * Nothing touches the network here: discovery happens on first use.
 *
 * @example
 * const bff = createBff(parseConfig(process.env))
 * serve({ fetch: bff.fetch, hostname: '127.0.0.1', port: 3000 })
 */
export function createBff(config: BffConfig, deps: BffDeps = {}): Hono {
  const runtime = createRuntime(config, deps);
  const app = new Hono();
  const base = config.basePath;
  const guard = requestGuard(config.allowedOrigins);
  // CORS only ever echoes an exact allowed origin; preflights never reach a handler or upstream.
  const corsPolicy = cors({
    origin: (origin) => (config.allowedOrigins.includes(origin) ? origin : null),
    credentials: true,
    // Request headers are echoed for allowed origins only; Retry-After and the request id must be readable by a cross-origin SPA.
    exposeHeaders: ['retry-after', REQUEST_ID_HEADER],
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    maxAge: 600,
  });

  const endpoints = ENDPOINTS.filter((path) => path !== '/metrics' || config.metricsEnabled);
  // Observers only on the BFF's own paths: a host app mounting the BFF keeps its routes to itself.
  app.use(`${base}/*`, observeRequests(runtime, (c) => (endpoints.includes(c.req.path.slice(base.length)) ? c.req.path : `${base}/*`)));
  for (const route of config.routes) app.use(`${route.prefix}/*`, observeRequests(runtime, () => route.prefix));
  app.use(`${base}/*`, corsPolicy, bffEndpointHeaders);
  app.use(`${base}/login`, clientRateLimit(runtime, 'login'));
  app.use(`${base}/callback`, clientRateLimit(runtime, 'callback'));
  app.get(`${base}/healthz`, function bffHealthz() {
    return Response.json({ status: 'ok' }, { headers: { 'cache-control': 'no-store' } });
  });
  app.get(`${base}/readyz`, async function bffReadyz() {
    // Readiness = the IdP can be discovered (a failed attempt is retried after a short hold).
    const ready = await runtime.discovery.get().then(
      () => true,
      () => false,
    );
    const status = runtime.discovery.status();
    return Response.json(
      { status: ready ? 'ready' : 'not_ready', checks: { idp: ready ? 'ok' : (status.lastErrorCode ?? 'unavailable') } },
      { status: ready ? 200 : 503, headers: ready ? {} : { 'retry-after': '5' } },
    );
  });
  app.get(`${base}/metrics`, function bffMetrics() {
    if (!config.metricsEnabled) throw new BffError('route_not_found');
    return new Response(runtime.metrics.render(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
  });
  app.route(base, loginRoutes(runtime));
  for (const path of ['session', 'refresh', 'logout']) app.use(`${base}/${path}`, guard);
  app.route(base, sessionRoutes(runtime));
  app.route(base, logoutRoutes(runtime));
  app.all(`${base}/*`, function bffUnknownEndpoint(c) {
    throw new BffError(endpoints.includes(c.req.path.slice(base.length)) ? 'method_not_allowed' : 'route_not_found');
  });

  for (const route of config.routes) {
    const handler = proxyHandler(runtime, route);
    for (const path of [route.prefix, `${route.prefix}/*`]) {
      app.use(path, corsPolicy, guard);
      app.all(path, handler);
    }
  }

  // Last, so BFF endpoints and proxied routes always win over files.
  if (deps.assets) app.get('*', observeRequests(runtime, () => 'static'), spaHandler(deps.assets, { contentSecurityPolicy: config.contentSecurityPolicy }));

  app.notFound(() => problemResponse(new BffError('route_not_found')));
  app.onError((error, c) => handleError(runtime, c, error));
  return app;
}

/**
 * Headers on every BFF endpoint answer: never sniffed, never cached, and no
 * Referer leaking the callback's code or state to third parties.
 */
async function bffEndpointHeaders(c: Context, next: Next): Promise<void> {
  await next();
  c.res.headers.set('x-content-type-options', 'nosniff');
  c.res.headers.set('referrer-policy', 'no-referrer');
  c.res.headers.set('cache-control', 'no-store');
}

/**
 * The one place uncaught errors become responses: problem+json, never a stack
 * or a token. The code and domain go on the request's outcome (its `request`
 * log line); server-side failures also get a line of their own with the reason.
 */
function handleError(runtime: BffRuntime, c: Context, error: unknown): Response {
  const bffError = error instanceof BffError ? error : new BffError('internal_error', { cause: error });
  noteFailure(c, bffError.code);
  const { requestId } = outcomeOf(c);
  if (bffError !== error) runtime.logger.log('error', 'request.crashed', { requestId, domain: 'internal', error: error instanceof Error ? error.name : 'unknown' });
  else if (bffError.status >= 500) runtime.logger.log('error', 'request.failed', { requestId, code: bffError.code, reason: bffError.logInfo });
  return problemResponse(bffError);
}
