/**
 * Phantom tokens: on routes with `token: "phantom"`, the browser's session
 * holds an opaque access token and the upstream API receives, instead, the
 * IdP's signed introspection of it (RFC 7662 + RFC 9701): a JWT with `typ`
 * `token-introspection+jwt`, `iss` = the issuer, `aud` = this BFF's client
 * id, and the token's claims under `token_introspection`. The opaque token
 * never leaves the BFF towards an API.
 *
 * How the raw JWT is obtained: openid-client's `tokenIntrospection` verifies
 * a signed response but returns only its claims, and the Bearer must be the
 * JWT itself. So the BFF posts to the introspection endpoint itself, with the
 * very `ClientAuth` function openid-client uses (from discovery), and checks
 * the answer with jose: signature against the IdP's JWKS (fetched through
 * the runtime's IdP fetch, so timeouts and size caps apply) with the pinned
 * algorithm only, `iss`, `aud`, `typ`, `iat` present, and the runtime's
 * injectable clock. A wrapper capturing openid-client's HTTP response would
 * have to correlate concurrent calls and would check times against the real
 * clock; this is shorter and explicit.
 *
 * When the IdP advertises no (asymmetric) `introspection_signing_alg_values_supported`,
 * phantom routes fall back to plain JSON introspection through openid-client
 * and forward the opaque token once it is known to be active (a warning is
 * logged once, at discovery).
 *
 * Results are cached per token digest (see ./cache.ts) and concurrent
 * introspections of one token share one call.
 */
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTVerifyGetKey } from 'jose';
import * as client from 'openid-client';
import type { BffConfig } from '../config.js';
import { BffError, IdpAnswerError, safeToken, translateIdpError } from '../errors.js';
import type { FetchLike } from '../fetch.js';
import type { Logger } from '../log.js';
import type { Discovery, OidcProvider } from '../oidc/discovery.js';
import type { Refresher } from '../session/refresh.js';
import type { SessionData } from '../session/session.js';
import { createIntrospectionCache, tokenKey, type IntrospectionResult } from './cache.js';

/** `typ` of an RFC 9701 introspection response. */
export const INTROSPECTION_JWT_TYP = 'token-introspection+jwt';
/** Media type of an RFC 9701 introspection response (requested with `Accept`). */
export const INTROSPECTION_JWT_MEDIA_TYPE = 'application/token-introspection+jwt';
/** Tolerated clock difference for the response JWT's own time claims (as openid-client's default). */
const CLOCK_TOLERANCE_SECONDS = 30;

/** What the upstream of a phantom route receives, and the session it came from. */
export interface PhantomBearer {
  /** The Bearer: the introspection JWT, or the opaque token in JSON fallback mode. */
  bearer: string;
  /** Scopes from the introspection response: the route's scope check uses these, not the session's. */
  scope: string | undefined;
  /** The session, refreshed (a new object) when the token was inactive; else the one passed in. */
  session: SessionData;
  /** Whether the result came from the cache. */
  cached: boolean;
  /** `jwt` (RFC 9701) or `json` (fallback: the opaque token goes upstream). */
  mode: 'jwt' | 'json';
}

/** Options of {@link PhantomTokens.bearerFor}. */
export interface BearerOptions {
  /** Refresh once when the token is inactive (false: an inactive token ends the session). @default true */
  refreshIfInactive?: boolean;
}

/** The phantom-token exchange of one BFF app. */
export interface PhantomTokens {
  /**
   * Introspects an access token (cached, coalesced).
   * @throws {BffError} `idp_unavailable` when the IdP cannot be reached or its answer fails verification.
   */
  introspect(accessToken: string): Promise<IntrospectionResult & { cached: boolean }>;
  /**
   * The Bearer for a phantom route. An inactive token is refreshed once (through the
   * refresher) and the new one introspected.
   * @throws {BffError} `session_expired` (still inactive, no refresh token, or refresh refused) or `idp_unavailable`.
   */
  bearerFor(session: SessionData, options?: BearerOptions): Promise<PhantomBearer>;
}

/** Collaborators of {@link createPhantomTokens}. */
export interface PhantomDeps {
  refresher: Refresher;
  logger: Logger;
}

/**
 * Creates the phantom-token exchange: per process (Workers isolate) cache
 * and in-flight table, JWKS fetched lazily on first use.
 */
export function createPhantomTokens(config: BffConfig, discovery: Discovery, idpFetch: FetchLike, nowSeconds: () => number, deps: PhantomDeps): PhantomTokens {
  const cache = createIntrospectionCache({ maxSeconds: config.introspectionCacheSeconds, nowSeconds });
  const inFlight = new Map<string, Promise<IntrospectionResult>>();
  let jwks: { uri: string; keys: JWTVerifyGetKey } | undefined;

  const keysOf = (provider: OidcProvider): JWTVerifyGetKey => {
    const uri = provider.config.serverMetadata().jwks_uri!;
    if (jwks?.uri !== uri) {
      jwks = { uri, keys: createRemoteJWKSet(new URL(uri), { [customFetch]: (url, init) => idpFetch(url, init), timeoutDuration: config.idpTimeoutMs }) };
    }
    return jwks.keys;
  };

  const introspectNow = async (token: string): Promise<IntrospectionResult> => {
    const provider = await discovery.get();
    if (!provider.supportsIntrospection) {
      throw new BffError('idp_unavailable', { logInfo: 'introspection: the IdP has no introspection endpoint (phantom routes need one)' });
    }
    const started = Date.now();
    let result: IntrospectionResult;
    try {
      result = provider.jwtIntrospectionAlg
        ? await introspectAsJwt(provider, provider.jwtIntrospectionAlg, token)
        : introspectionResult(await client.tokenIntrospection(provider.config, token, { token_type_hint: 'access_token' }), nowSeconds(), undefined);
    } catch (error) {
      throw translateIdpError(error, 'introspection');
    }
    deps.logger.log('debug', 'phantom.introspected', { domain: 'identity', mode: provider.jwtIntrospectionAlg ? 'jwt' : 'json', active: result.active, ms: Date.now() - started });
    return result;
  };

  const introspectAsJwt = async (provider: OidcProvider, algorithm: string, token: string): Promise<IntrospectionResult> => {
    const as = provider.config.serverMetadata();
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' });
    const headers = new Headers({ accept: INTROSPECTION_JWT_MEDIA_TYPE, 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' });
    // The same client authentication as every openid-client call (basic or post, from discovery).
    provider.clientAuth(as, provider.config.clientMetadata(), body, headers);
    const response = await idpFetch(as.introspection_endpoint!, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(config.idpTimeoutMs) });
    if (response.status !== 200) throw new IdpAnswerError(response.status, await errorCodeOf(response));
    if (mediaType(response.headers.get('content-type')) !== INTROSPECTION_JWT_MEDIA_TYPE) {
      // Never fall back silently: a JSON answer here would mean forwarding the opaque token.
      await response.body?.cancel();
      throw new IdpAnswerError(response.status, 'not a signed introspection response (application/token-introspection+jwt)');
    }
    const jwt = (await response.text()).trim();
    return verifyIntrospectionJwt(jwt, keysOf(provider), { issuer: as.issuer, clientId: config.clientId, algorithm, nowSeconds: nowSeconds() });
  };

  const introspect = async (accessToken: string): Promise<IntrospectionResult & { cached: boolean }> => {
    const key = await tokenKey(accessToken);
    const hit = cache.get(key);
    if (hit) return { ...hit, cached: true };
    let pending = inFlight.get(key);
    if (!pending) {
      pending = introspectNow(accessToken).then((result) => {
        cache.set(key, result);
        return result;
      });
      inFlight.set(key, pending);
      // Settle-time cleanup; errors are handled by the awaiting callers.
      pending.then(
        () => inFlight.delete(key),
        () => inFlight.delete(key),
      );
    }
    return { ...(await pending), cached: false };
  };

  return {
    introspect,
    async bearerFor(session, options = {}) {
      let current = session;
      let result = await introspect(current.at);
      if (!result.active) {
        if (options.refreshIfInactive === false || current.rt === undefined) {
          throw new BffError('session_expired', { logInfo: `phantom: the access token is inactive${current.rt === undefined ? ' and the session has no refresh token' : ''}` });
        }
        deps.logger.log('info', 'phantom.token_inactive', { domain: 'identity', action: 'refresh' });
        current = await deps.refresher.refresh(current);
        result = await introspect(current.at);
        if (!result.active) throw new BffError('session_expired', { logInfo: 'phantom: the refreshed access token is inactive too' });
      }
      const provider = await discovery.get();
      const mode = provider.jwtIntrospectionAlg ? 'jwt' : 'json';
      // In JWT mode the opaque token must never be the Bearer.
      if (mode === 'jwt' && result.jwt === undefined) throw new BffError('internal_error', { logInfo: 'phantom: active result without JWT in JWT mode' });
      return { bearer: result.jwt ?? current.at, scope: result.scope, session: current, cached: result.cached, mode };
    },
  };
}

/** Options of {@link verifyIntrospectionJwt}. */
export interface IntrospectionJwtExpectations {
  /** Expected `iss`: the issuer from discovery. */
  issuer: string;
  /** Expected `aud`: this BFF's client id. */
  clientId: string;
  /** The only accepted `alg` (the pinned `introspection_signed_response_alg`). */
  algorithm: string;
  /** Current time, epoch seconds. */
  nowSeconds: number;
}

/**
 * Verifies an RFC 9701 introspection response: signature with `keys` and the
 * pinned algorithm, `typ` token-introspection+jwt, `iss`, `aud`, `iat` present,
 * its own `exp`/`nbf` if any, and a `token_introspection` object with a boolean
 * `active`. The token is active only when `active` is true and its `exp`, if
 * any, is in the future; an inactive result carries no JWT.
 *
 * @throws jose errors or {@link IdpAnswerError} for a response that must not be trusted.
 */
export async function verifyIntrospectionJwt(jwt: string, keys: JWTVerifyGetKey, expected: IntrospectionJwtExpectations): Promise<IntrospectionResult> {
  const { payload } = await jwtVerify(jwt, keys, {
    issuer: expected.issuer,
    audience: expected.clientId,
    typ: INTROSPECTION_JWT_TYP,
    algorithms: [expected.algorithm],
    requiredClaims: ['iat'],
    currentDate: new Date(expected.nowSeconds * 1000),
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  });
  const claims = payload['token_introspection'];
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims) || typeof (claims as { active?: unknown }).active !== 'boolean') {
    throw new IdpAnswerError(200, 'the token_introspection claim is missing or has no boolean active');
  }
  return introspectionResult(claims as Record<string, unknown>, expected.nowSeconds, jwt);
}

/** Normalises introspection claims (RFC 7662): active only if `active === true` and not past `exp`. */
export function introspectionResult(claims: { active?: unknown; scope?: unknown; exp?: unknown }, nowSeconds: number, jwt: string | undefined): IntrospectionResult {
  const exp = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp : undefined;
  const active = claims.active === true && (exp === undefined || exp > nowSeconds);
  return {
    active,
    jwt: active ? jwt : undefined,
    scope: active && typeof claims.scope === 'string' ? claims.scope : undefined,
    exp,
  };
}

/**
 * Whether an introspection `scope` grants every required scope. The response is
 * authoritative: without `scope`, no scope is granted (fail closed).
 */
export function grantedScopesInclude(scope: string | undefined, required: readonly string[]): boolean {
  if (required.length === 0) return true;
  const granted = new Set((scope ?? '').split(' ').filter(Boolean));
  return required.every((s) => granted.has(s));
}

/**
 * Logs, once at first discovery, how phantom routes will run: a warning when
 * the IdP offers only JSON introspection (the opaque token then goes upstream),
 * an error when it offers no introspection at all. Silent without phantom routes.
 */
export function logPhantomMode(config: BffConfig, provider: OidcProvider, logger: Logger): void {
  const routes = config.routes.filter((route) => route.token === 'phantom').map((route) => route.prefix);
  if (routes.length === 0) return;
  if (!provider.supportsIntrospection) {
    logger.log('error', 'phantom.no_introspection_endpoint', { domain: 'config', routes: routes.join(' '), message: 'the IdP advertises no introspection_endpoint: phantom routes answer 503 idp_unavailable' });
  } else if (!provider.jwtIntrospectionAlg) {
    logger.log('warn', 'phantom.fallback_json_introspection', {
      domain: 'config',
      routes: routes.join(' '),
      message: 'the IdP does not advertise signed (RFC 9701) introspection responses: phantom routes run in fallback mode and forward the opaque access token after JSON introspection',
    });
  } else {
    logger.log('info', 'phantom.jwt_introspection', { domain: 'config', routes: routes.join(' '), alg: provider.jwtIntrospectionAlg });
  }
}

function mediaType(contentType: string | null): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The OAuth `error` code of an error answer, log-safe; never its description or body. */
async function errorCodeOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: unknown } | null;
    return safeToken(body?.error) || 'error';
  } catch {
    return 'error (no JSON body)';
  }
}
