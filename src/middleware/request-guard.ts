/**
 * CSRF and origin protection for every state-reading or state-changing
 * endpoint of the BFF and for every proxied route.
 *
 * Three layers: the custom header `x-csrf: 1` (a cross-origin page cannot set
 * it without a CORS preflight that the BFF refuses), an exact-match `Origin`
 * allow-list, and `Sec-Fetch-Site: cross-site` refused without an allowed
 * `Origin`. The session cookie is also `SameSite=Strict`.
 */
import type { MiddlewareHandler } from 'hono';
import { BffError, type ErrorCode } from '../errors.js';

/** The header (and its only accepted value) that marks a request as coming from the SPA's own scripts. */
export const CSRF_HEADER = 'x-csrf';

/**
 * Checks a request's origin signals against the allow-list.
 * @returns the refusal code, or undefined when the request may proceed.
 */
export function checkRequestOrigin(headers: Headers, allowedOrigins: readonly string[]): ErrorCode | undefined {
  const origin = headers.get('origin');
  if (origin !== null) return allowedOrigins.includes(origin) ? undefined : 'origin_not_allowed';
  if (headers.get('sec-fetch-site') === 'cross-site') return 'origin_not_allowed';
  return undefined;
}

/** Whether the request carries the anti-CSRF header with the value `1`. */
export function hasCsrfHeader(headers: Headers): boolean {
  return headers.get(CSRF_HEADER) === '1';
}

/**
 * Middleware refusing cross-origin and header-less requests before any
 * session, IdP or upstream work happens.
 */
export function requestGuard(allowedOrigins: readonly string[]): MiddlewareHandler {
  return async function bffRequestGuard(c, next) {
    const headers = c.req.raw.headers;
    const refusal = checkRequestOrigin(headers, allowedOrigins) ?? (hasCsrfHeader(headers) ? undefined : 'csrf_failed');
    if (refusal) throw new BffError(refusal);
    await next();
  };
}
