/**
 * Token refresh for sessions: when a refresh is due, and one shared refresh
 * call per refresh token within this process or isolate, so parallel
 * requests of one session do not race the IdP's refresh-token rotation.
 */
import type { BffConfig } from '../config.js';
import { sha256Hex } from '../digest.js';
import { BffError } from '../errors.js';
import type { Discovery } from '../oidc/discovery.js';
import { refreshTokens, type TokenResult } from '../oidc/flows.js';
import { identityClaims, type SessionData } from './session.js';

/** Refreshes sessions, coalescing concurrent refreshes of the same refresh token. */
export interface Refresher {
  /** Whether the session's access token expires within the refresh leeway and can be refreshed. */
  isDue(session: SessionData): boolean;
  /**
   * Refreshes now and returns the updated session.
   * @throws {BffError} `session_expired`, `idp_unavailable`, or `invalid_request` without refresh token.
   */
  refresh(session: SessionData): Promise<SessionData>;
}

/**
 * What became of a refresh, for metrics: an IdP call that `refreshed`, was
 * `rejected` (the session ends) or found the IdP `unavailable`; or a request
 * `coalesced` into another request's refresh (in flight or just done).
 */
export type RefreshOutcome = 'refreshed' | 'coalesced' | 'rejected' | 'unavailable';

/** How long a refresh's result answers requests that still carry the previous refresh token. */
export const SUCCESSOR_GRACE_SECONDS = 30;
/** Most remembered refresh results; the oldest is forgotten first. */
const MAX_SUCCESSORS = 10_000;

/**
 * Creates the refresher of one BFF app.
 *
 * Concurrent refreshes of one refresh token share one IdP call. Afterwards,
 * for {@link SUCCESSOR_GRACE_SECONDS}, requests still carrying the previous
 * refresh token (in flight in another tab, or sent before the browser stored
 * the new cookie) get the successor tokens instead of presenting the spent
 * refresh token again, which a rotating IdP would treat as reuse and answer
 * by revoking the whole grant. Entries are keyed by a SHA-256 digest, never
 * the token itself, and the table is bounded.
 */
export function createRefresher(config: BffConfig, discovery: Discovery, nowSeconds: () => number, onOutcome: (outcome: RefreshOutcome) => void = () => {}): Refresher {
  const inFlight = new Map<string, Promise<TokenResult>>();
  const successors = new Map<string, { tokens: TokenResult; until: number }>();

  const remember = (key: string, tokens: TokenResult) => {
    successors.delete(key);
    successors.set(key, { tokens, until: nowSeconds() + SUCCESSOR_GRACE_SECONDS });
    while (successors.size > MAX_SUCCESSORS) successors.delete(successors.keys().next().value!);
  };

  const refreshShared = async (session: SessionData & { rt: string }): Promise<TokenResult> => {
    const key = await sha256Hex(session.rt);
    const successor = successors.get(key);
    if (successor && successor.until > nowSeconds()) {
      onOutcome('coalesced');
      return successor.tokens;
    }
    if (successor) successors.delete(key);
    let pending = inFlight.get(key);
    if (pending) onOutcome('coalesced');
    else {
      pending = (async () => {
        const provider = await discovery.get();
        const tokens = await refreshTokens(provider, config, session.rt, { iss: session.iss, sub: session.sub, aud: session.aud }, nowSeconds());
        remember(key, tokens);
        return tokens;
      })();
      inFlight.set(key, pending);
      // Settle-time cleanup and counting; errors are handled by the awaiting callers.
      pending.then(
        () => {
          inFlight.delete(key);
          onOutcome('refreshed');
        },
        (error: unknown) => {
          inFlight.delete(key);
          onOutcome(error instanceof BffError && error.code === 'session_expired' ? 'rejected' : 'unavailable');
        },
      );
    }
    return pending;
  };

  return {
    isDue(session) {
      return session.rt !== undefined && session.atExp !== undefined && session.atExp - nowSeconds() <= config.refreshLeewaySeconds;
    },
    async refresh(session) {
      if (session.rt === undefined) {
        throw new BffError('invalid_request', { title: 'This session has no refresh token', logInfo: 'refresh: no refresh token in the session' });
      }
      const tokens = await refreshShared(session as SessionData & { rt: string });
      return applyRefresh(session, tokens);
    },
  };
}

/** The session after a refresh: new tokens, same identity, hard end never extended. */
export function applyRefresh(session: SessionData, tokens: TokenResult): SessionData {
  return {
    ...session,
    at: tokens.accessToken,
    atExp: tokens.accessTokenExpiresAt,
    rt: tokens.refreshToken ?? session.rt,
    idt: tokens.idToken ?? session.idt,
    scope: tokens.scope ?? session.scope,
    user: tokens.idTokenClaims ? identityClaims(tokens.idTokenClaims) : session.user,
    exp: tokens.refreshTokenExpiresAt !== undefined ? Math.min(session.exp, tokens.refreshTokenExpiresAt) : session.exp,
  };
}
