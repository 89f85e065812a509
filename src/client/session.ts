/**
 * The session as the page sees it: the token-free JSON of `GET /bff/session`,
 * checked before use because it also arrives from other tabs.
 */
import { isRecord } from './errors.js';

/**
 * The signed-in user: the ID token's identity claims (`sub`, `name`, `email`,
 * …); protocol claims are removed by the BFF.
 *
 * @example
 * ```ts
 * const greeting = `Hello ${user.name ?? user.sub}`;
 * ```
 */
export interface BffUser {
  /** Subject: the IdP's stable id of the user. */
  sub: string;
  /** Display name, when the IdP sends one. */
  name?: string;
  /** Email address, when the IdP sends one. */
  email?: string;
  /** Any other identity claim the IdP sent. */
  [claim: string]: unknown;
}

/**
 * What the BFF says about the browser's session. Times are epoch seconds.
 *
 * @example
 * ```ts
 * if (session.authenticated) showUser(session.user); else showLoginButton();
 * ```
 */
export type BffSession =
  | { authenticated: false }
  | { authenticated: true; user: BffUser; accessTokenExpiresAt: number; sessionExpiresAt: number };

/**
 * Checks untrusted JSON (an HTTP body, a message from another tab, possibly
 * from another version of the app) against {@link BffSession}.
 *
 * @returns the session, or `undefined` when the shape is wrong
 * @example
 * ```ts
 * const session = toSession(await response.json());
 * ```
 */
export function toSession(value: unknown): BffSession | undefined {
  if (!isRecord(value)) return undefined;
  if (value.authenticated === false) return { authenticated: false };
  const { user, accessTokenExpiresAt: at, sessionExpiresAt: st } = value;
  if (value.authenticated !== true || !isRecord(user) || typeof user.sub !== 'string' || typeof at !== 'number' || typeof st !== 'number') return undefined;
  return { authenticated: true, user: user as BffUser, accessTokenExpiresAt: at, sessionExpiresAt: st };
}
