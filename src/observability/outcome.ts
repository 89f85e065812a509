/**
 * What happened while serving one request, collected by the handlers for the
 * per-request log line and the metrics: the route or endpoint, whether a
 * session was present, the upstream's status and latency, and for failures
 * the public `code` and the failure domain (routing, identity, upstream, client).
 */
import type { Context } from 'hono';
import { problemResponse, type BffError, type ErrorCode } from '../errors.js';

/** Where a failure happened: whose problem it is. */
export type OutcomeDomain = 'routing' | 'identity' | 'upstream' | 'client' | 'config' | 'internal';

/** Facts about one request; every field is log-safe (no token, cookie value or secret). */
export interface RequestOutcome {
  /** The request's id (accepted from `x-request-id` or generated), sent upstream and back. */
  requestId?: string;
  /** Route prefix or BFF endpoint that handled the request. */
  route?: string;
  sessionPresent?: boolean;
  upstreamStatus?: number;
  upstreamMs?: number;
  code?: ErrorCode;
  domain?: OutcomeDomain;
  /** The request's refresh, if one happened: 'refreshed', 'coalesced', 'rejected', 'deferred'. */
  refresh?: string;
}

const KEY = 'bffOutcome';

/** The outcome record of a request (created on first use). */
export function outcomeOf(c: Context): RequestOutcome {
  let outcome = c.get(KEY as never) as RequestOutcome | undefined;
  if (!outcome) {
    outcome = {};
    c.set(KEY as never, outcome as never);
  }
  return outcome;
}

/** The failure domain of each public error code. */
export const DOMAIN_OF_CODE: Record<ErrorCode, OutcomeDomain> = {
  unauthenticated: 'identity',
  session_expired: 'identity',
  insufficient_scope: 'identity',
  login_failed: 'identity',
  idp_unavailable: 'identity',
  csrf_failed: 'client',
  origin_not_allowed: 'client',
  invalid_request: 'client',
  payload_too_large: 'client',
  rate_limited: 'client',
  method_not_allowed: 'routing',
  route_not_found: 'routing',
  upstream_unavailable: 'upstream',
  upstream_timeout: 'upstream',
  config_invalid: 'config',
  internal_error: 'internal',
};

/** Records a failure's code and domain on the request's outcome. */
export function noteFailure(c: Context, code: ErrorCode): void {
  const outcome = outcomeOf(c);
  outcome.code = code;
  outcome.domain = DOMAIN_OF_CODE[code];
}

/**
 * A problem+json response for an error a handler answers directly (rather
 * than throwing it), with its code and domain recorded on the outcome.
 */
export function problemFor(c: Context, error: BffError, headers?: HeadersInit): Response {
  noteFailure(c, error.code);
  return problemResponse(error, headers);
}
