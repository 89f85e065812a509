/**
 * The one error type of hono-bff, its stable codes, and the one place where
 * errors from third parties (openid-client, fetch, iron-session) are
 * translated into it.
 *
 * Clients see `code`, `title` and `status` as RFC 9457 problem+json; the log
 * sees `logInfo` and the cause. Neither ever carries a token, a cookie value
 * or a secret: messages here are fixed strings, never interpolated input.
 */
import { errors as joseErrors } from 'jose';
import { AuthorizationResponseError, ClientError, ResponseBodyError } from 'openid-client';

/** Every public error code, with its HTTP status and a fixed human title. */
export const ERROR_CODES = {
  unauthenticated: { status: 401, title: 'Not logged in' },
  session_expired: { status: 401, title: 'The session has expired; log in again' },
  csrf_failed: { status: 403, title: 'Missing anti-CSRF header (x-csrf: 1)' },
  origin_not_allowed: { status: 403, title: 'Request origin not allowed' },
  insufficient_scope: { status: 403, title: 'The session lacks a scope this route requires' },
  route_not_found: { status: 404, title: 'No route for this path' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  invalid_request: { status: 400, title: 'Invalid request' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  rate_limited: { status: 429, title: 'Too many requests' },
  login_failed: { status: 400, title: 'Login failed' },
  idp_unavailable: { status: 503, title: 'The identity provider is unavailable' },
  upstream_unavailable: { status: 502, title: 'The upstream API is unavailable' },
  upstream_timeout: { status: 504, title: 'The upstream API did not answer in time' },
  config_invalid: { status: 500, title: 'The BFF is misconfigured' },
  internal_error: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

/** A stable, public error code (see {@link ERROR_CODES}). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options of {@link BffError}. */
export interface BffErrorOptions {
  /** The underlying error, for the log only. */
  cause?: unknown;
  /** Extra context for the log (never shown to the client; never put token values here). */
  logInfo?: string;
  /** Seconds the client should wait before retrying (sent as `Retry-After`). */
  retryAfter?: number;
  /** Overrides the fixed title (must not contain input from requests or third parties). */
  title?: string;
  /** Log-side message (defaults to the title); never sent to clients. */
  message?: string;
}

/**
 * The single error type of hono-bff. `code` is part of the public contract;
 * `status` and `title` derive from it.
 */
export class BffError extends Error {
  /** Stable machine-readable code, sent to clients. */
  readonly code: ErrorCode;
  /** HTTP status for this code. */
  readonly status: number;
  /** Short human title, sent to clients. */
  readonly title: string;
  /** Context for operators; logged, never sent. */
  readonly logInfo: string | undefined;
  /** `Retry-After` seconds, if any. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, options: BffErrorOptions = {}) {
    const entry = ERROR_CODES[code];
    super(options.message ?? options.title ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BffError';
    this.code = code;
    this.status = entry.status;
    this.title = options.title ?? entry.title;
    this.logInfo = options.logInfo;
    this.retryAfter = options.retryAfter;
  }
}

/** The problem+json body hono-bff sends (RFC 9457 with a `code` member). */
export interface ProblemBody {
  type: 'about:blank';
  title: string;
  status: number;
  code: ErrorCode;
}

/** Builds the RFC 9457 body for an error. */
export function problemBody(error: BffError): ProblemBody {
  return { type: 'about:blank', title: error.title, status: error.status, code: error.code };
}

/** Builds a complete `application/problem+json` response for an error. */
export function problemResponse(error: BffError, headers?: HeadersInit): Response {
  const out = new Headers(headers);
  out.set('content-type', 'application/problem+json');
  out.set('cache-control', 'no-store');
  out.set('x-content-type-options', 'nosniff');
  if (error.retryAfter !== undefined) out.set('retry-after', String(error.retryAfter));
  return new Response(JSON.stringify(problemBody(error)), { status: error.status, headers: out });
}

/** What the BFF was doing when a third-party call failed; decides the public code. */
export type IdpOperation = 'discovery' | 'callback' | 'refresh' | 'revocation' | 'introspection';

/**
 * An IdP answer the BFF requested itself (not through openid-client) and
 * cannot use: an HTTP error status, or a 200 of the wrong kind. `detail` is a
 * fixed string or an OAuth error code, never a body or a token.
 */
export class IdpAnswerError extends Error {
  readonly status: number;
  readonly detail: string;
  constructor(status: number, detail: string) {
    super(`IdP answered ${status}`);
    this.name = 'IdpAnswerError';
    this.status = status;
    this.detail = detail;
  }
}

/** Seconds a client should wait after the IdP was unreachable. */
const IDP_RETRY_AFTER_SECONDS = 5;

/**
 * Translates any error thrown while talking to the IdP (openid-client, fetch,
 * timeouts) into a {@link BffError}. This is the only place that knows the
 * shapes of openid-client's errors.
 *
 * - the IdP could not be reached, timed out or answered 5xx/non-JSON → `idp_unavailable`;
 * - the IdP refused the grant (`invalid_grant`) or a refreshed ID token failed
 *   validation during refresh → `session_expired`;
 * - anything else during the callback → `login_failed`;
 * - anything else during introspection (an answer that fails verification:
 *   signature, `iss`, `aud`, `typ`; an error status) → `idp_unavailable`: the
 *   BFF fails closed and never forwards a token it could not verify.
 */
export function translateIdpError(error: unknown, operation: IdpOperation): BffError {
  if (error instanceof BffError) return error;
  const detail = describeIdpError(error);
  if (detail.unavailable) {
    return new BffError('idp_unavailable', { cause: error, logInfo: `${operation}: ${detail.text}`, retryAfter: IDP_RETRY_AFTER_SECONDS });
  }
  const logInfo = `${operation}: ${detail.text}`;
  switch (operation) {
    case 'refresh':
      return new BffError('session_expired', { cause: error, logInfo });
    case 'callback':
      return new BffError('login_failed', { cause: error, logInfo });
    default:
      return new BffError('idp_unavailable', { cause: error, logInfo, retryAfter: IDP_RETRY_AFTER_SECONDS });
  }
}

interface IdpErrorDetail {
  unavailable: boolean;
  /** A log-safe description: error codes and statuses only, never bodies or tokens. */
  text: string;
}

function describeIdpError(error: unknown): IdpErrorDetail {
  if (error instanceof ResponseBodyError) {
    return { unavailable: error.status >= 500, text: `IdP answered ${error.status} ${safeToken(error.error)}` };
  }
  if (error instanceof IdpAnswerError) {
    return { unavailable: error.status >= 500 || error.status === 429, text: `IdP answered ${error.status} ${error.detail.slice(0, 120)}` };
  }
  if (error instanceof joseErrors.JOSEError) {
    // jose's codes and claim names are fixed strings; its messages can quote claims, so they stay out.
    if (error instanceof joseErrors.JWKSTimeout) return { unavailable: true, text: `${error.code}: the IdP's JWKS did not arrive in time` };
    const claim = error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired ? ` (${safeToken(error.claim)} ${safeToken(error.reason)})` : '';
    return { unavailable: false, text: `${safeToken(error.code)}${claim}` };
  }
  if (error instanceof AuthorizationResponseError) {
    return { unavailable: false, text: `authorization response error ${safeToken(error.error)}` };
  }
  if (error instanceof ClientError) {
    const code = error.code ?? 'unknown';
    if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') return { unavailable: true, text: `IdP request ${code}` };
    // A body that could not be read (connection cut, timeout, oversized) is an outage; malformed JSON is not.
    if (code === 'OAUTH_PARSE_ERROR' && causeChain(error).some((e) => e instanceof TypeError || isAbortLike(e))) {
      return { unavailable: true, text: `${code}: the IdP's answer could not be read` };
    }
    const cause: unknown = error.cause;
    if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON') {
      const status = cause instanceof Response ? cause.status : 0;
      return { unavailable: status === 0 || status >= 500 || status === 429, text: `${code} (HTTP ${status})` };
    }
    // openid-client's messages are generic; the inner oauth4webapi message (a fixed string) says which check failed.
    const inner = causeChain(error).find((e): e is Error => e instanceof Error && e !== error);
    return { unavailable: false, text: `${code}: ${error.message}${inner ? ` (${inner.message.slice(0, 120)})` : ''}` };
  }
  if (error instanceof TypeError || isAbortLike(error)) {
    // fetch rejects with a TypeError when the connection fails.
    return { unavailable: true, text: `IdP unreachable (${(error as Error).name})` };
  }
  return { unavailable: false, text: error instanceof Error ? `${error.name}` : 'non-error thrown' };
}

/** The error and its causes, outermost first (bounded: cause chains can be cyclic). */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  for (let i = 0; i < 8 && current !== undefined && current !== null; i++) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

function isAbortLike(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** Keeps only characters an OAuth error code may contain, so IdP text cannot inject into logs. */
export function safeToken(value: unknown, max = 64): string {
  return typeof value === 'string' ? value.replace(/[^\w.\-]/g, '').slice(0, max) : '';
}
