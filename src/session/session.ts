/**
 * The session: what is sealed into the session cookie, how it is read from a
 * request and written back, and the token-free view the SPA may see.
 */
import { chunkedSetCookies, countChunks, expireChunkedCookie, loginCookieNames, expiredCookie, readChunkedCookie, SESSION_COOKIE } from './cookies.js';
import type { Sealer } from './seal.js';
import { releaseCachedSession } from './session-cache.js';

/** Everything the BFF keeps about one login. Sealed; never sent to the page. */
export interface SessionData {
  /** Format version, so a future format can refuse or migrate old cookies. */
  v: 1;
  /** Random id of this login session (new at every login). */
  sid: string;
  /** When the user logged in (epoch seconds). */
  iat: number;
  /** Absolute end of the session (epoch seconds). */
  exp: number;
  /** Last activity (epoch seconds), for the idle timeout; absent in cookies from before it existed (then `iat`). */
  seen?: number | undefined;
  /** `iss`, `sub` and `aud` of the login's ID token: a refreshed ID token must match them. */
  iss: string;
  sub: string;
  aud: string;
  /** Identity claims of the ID token (protocol claims removed). */
  user: Record<string, unknown>;
  /** Access token. */
  at: string;
  /** Access token expiry (epoch seconds); undefined when the IdP did not say. */
  atExp?: number | undefined;
  /** Granted scope, if the IdP said. */
  scope?: string | undefined;
  /** Refresh token, if issued. */
  rt?: string | undefined;
  /** ID token, kept for `id_token_hint` at logout. */
  idt?: string | undefined;
}

/** The token-free JSON of `GET /bff/session`. */
export type SessionView =
  | { authenticated: false }
  | { authenticated: true; user: Record<string, unknown>; accessTokenExpiresAt: number; sessionExpiresAt: number };

/** ID token claims that describe the protocol, not the user: never shown to the SPA. */
const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'sid', 'auth_time', 'azp', 'acr', 'amr', 'jti', 'cnf', 'sub_jwk', 'typ', 'client_id']);

/** The identity claims of an ID token (e.g. `sub`, `name`, `email`), protocol claims left out. */
export function identityClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const user: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(claims)) {
    if (!PROTOCOL_CLAIMS.has(key)) user[key] = value;
  }
  return user;
}

/** When the session ends if nothing happens: the earlier of its absolute end and its idle timeout. */
export function sessionEnd(session: SessionData, idleSeconds = Infinity): number {
  return Math.min(session.exp, (session.seen ?? session.iat) + idleSeconds);
}

/** The SPA's view of a session: identity and expiry times, never a token. */
export function sessionView(session: SessionData | undefined, idleSeconds?: number): SessionView {
  if (!session) return { authenticated: false };
  const end = sessionEnd(session, idleSeconds);
  return {
    authenticated: true,
    user: session.user,
    accessTokenExpiresAt: Math.min(session.atExp ?? end, end),
    sessionExpiresAt: end,
  };
}

/** Result of reading the session cookie from a request. */
export type SessionLookup =
  | { status: 'none' }
  /** A cookie was present but could not be used (forged, malformed, expired, old keys): clear it. */
  | { status: 'invalid' }
  /**
   * A usable session. `reseal` says why the cookie should be written again on
   * this response: sealed with an older key (`rotated`), or last activity
   * recorded over a minute ago (`stale`, sliding idle timeout).
   */
  | { status: 'valid'; session: SessionData; reseal?: 'rotated' | 'stale' | undefined };

/** Re-seal for the sliding idle timeout at most this often. */
export const ACTIVITY_RESEAL_SECONDS = 60;

/**
 * Reads, unseals and checks the session cookie of a request: absolute end
 * and idle timeout from the timestamps inside the sealed data. Never throws
 * for bad input.
 */
export async function readSession(cookies: Record<string, string>, sealer: Sealer, nowSeconds: number, idleSeconds = Infinity): Promise<SessionLookup> {
  const sealed = readChunkedCookie(cookies, SESSION_COOKIE);
  // Stray chunks without chunk 0 are unusable leftovers: report them so they get cleared.
  if (sealed === undefined) return countChunks(cookies, SESSION_COOKIE) > 0 ? { status: 'invalid' } : { status: 'none' };
  const session = await sealer.unseal<SessionData>('session', sealed);
  if (!session || !isSessionShape(session) || sessionEnd(session, idleSeconds) <= nowSeconds) return { status: 'invalid' };
  if (!(await sealer.usesPrimaryKey(sealed))) return { status: 'valid', session, reseal: 'rotated' };
  const stale = Number.isFinite(idleSeconds) && nowSeconds - (session.seen ?? session.iat) >= ACTIVITY_RESEAL_SECONDS;
  return { status: 'valid', session, reseal: stale ? 'stale' : undefined };
}

function isSessionShape(value: Partial<SessionData>): value is SessionData {
  return (
    value.v === 1 &&
    typeof value.sid === 'string' &&
    typeof value.iat === 'number' &&
    typeof value.exp === 'number' &&
    typeof value.at === 'string' &&
    typeof value.sub === 'string' &&
    typeof value.iss === 'string' &&
    typeof value.aud === 'string' &&
    typeof value.user === 'object' &&
    value.user !== null &&
    (value.seen === undefined || typeof value.seen === 'number')
  );
}

/**
 * Seals a session (recording `now` as its last activity) into `Set-Cookie` lines (chunked as needed; surplus chunks
 * of the request's earlier session are expired).
 */
export async function sessionSetCookies(session: SessionData, cookies: Record<string, string>, sealer: Sealer, nowSeconds: number): Promise<string[]> {
  const ttl = Math.max(1, session.exp - nowSeconds);
  // The request's old cookie value is being replaced: its unsealed copy leaves the session cache.
  releaseCachedSession(cookies);
  // Writing the session is activity: it restarts the idle timeout.
  const sealed = await sealer.seal('session', { ...session, seen: nowSeconds }, ttl);
  return chunkedSetCookies(SESSION_COOKIE, sealed, { sameSite: 'Strict', maxAgeSeconds: ttl, existingChunks: countChunks(cookies, SESSION_COOKIE) });
}

/** `Set-Cookie` lines that delete the session (every chunk) and, with `includeLogin`, every login-transaction cookie. */
export function clearSessionCookies(cookies: Record<string, string>, includeLogin = false): string[] {
  releaseCachedSession(cookies);
  const lines = expireChunkedCookie(cookies, SESSION_COOKIE);
  if (includeLogin) for (const name of loginCookieNames(cookies)) lines.push(expiredCookie(name));
  return lines;
}
