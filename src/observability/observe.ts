/**
 * The per-request observer: gives every request an id (kept from a
 * well-formed `x-request-id`, else generated) that goes upstream and back on
 * the response, then writes one `request` log line and counts the request in
 * the metrics, from the outcome record the handlers filled.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { BffRuntime } from '../runtime.js';
import { outcomeOf } from './outcome.js';
import { acceptRequestId, REQUEST_ID_HEADER } from './request-id.js';

/**
 * Middleware observing the requests of one BFF path: an endpoint family,
 * a proxied route or the static files. `routeOf` names the route in logs and
 * metrics: a configured prefix or a known endpoint path, never the request's
 * own path (bounded label values, no query strings).
 */
export function observeRequests(runtime: BffRuntime, routeOf: (c: Context) => string): MiddlewareHandler {
  return async function bffObserveRequest(c, next) {
    const started = Date.now();
    const outcome = outcomeOf(c);
    const requestId = acceptRequestId(c.req.header(REQUEST_ID_HEADER));
    outcome.requestId = requestId;
    outcome.route = routeOf(c);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, requestId);

    const { status } = c.res;
    const route = outcome.route;
    // An upstream's own 5xx answer is the upstream's problem even though the BFF raised no error.
    const domain = outcome.domain ?? (outcome.upstreamStatus !== undefined && outcome.upstreamStatus >= 500 ? 'upstream' : undefined);
    runtime.logger.log(status >= 500 ? 'warn' : 'info', 'request', {
      requestId,
      method: c.req.method,
      route,
      status,
      ms: Date.now() - started,
      upstreamStatus: outcome.upstreamStatus,
      upstreamMs: outcome.upstreamMs,
      session: outcome.sessionPresent,
      code: outcome.code,
      domain,
    });
    runtime.metrics.increment('hono_bff_requests_total', { route, status: String(status), code: outcome.code ?? '', domain: domain ?? '' });
    if (outcome.upstreamMs !== undefined) runtime.metrics.observe('hono_bff_upstream_duration_seconds', outcome.upstreamMs / 1000, { route });
  };
}
