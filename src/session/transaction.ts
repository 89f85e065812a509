/**
 * The login transaction: state, nonce and PKCE verifier between `/login` and
 * `/callback`, sealed into a short-lived `__Host-` cookie per login attempt.
 *
 * One cookie per attempt lets two tabs log in at once; the number of such
 * cookies is bounded so repeated `/login` calls cannot crowd out the session
 * cookie.
 */
import { expiredCookie, LOGIN_COOKIE_PREFIX, loginCookieNames, loginSetCookie } from './cookies.js';
import type { Sealer } from './seal.js';

/** What the callback needs to finish a login. */
export interface LoginTransaction {
  state: string;
  nonce: string;
  verifier: string;
  /** Same-origin path to land on after login (already validated). */
  returnTo: string;
  /** When `/login` ran (epoch seconds). */
  iat: number;
}

/** A login transaction is refused after this many seconds. */
export const LOGIN_TTL_SECONDS = 600;
/** Most login-transaction cookies kept at once; the oldest is dropped beyond. */
export const MAX_LOGIN_COOKIES = 3;

/** Cookie name for the transaction identified by `state` (a prefix of it: state is random and public). */
export function loginCookieName(state: string): string {
  return `${LOGIN_COOKIE_PREFIX}${state.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 16)}`;
}

/**
 * `Set-Cookie` lines for a new transaction, plus deletions of the oldest
 * earlier transactions so at most {@link MAX_LOGIN_COOKIES} remain.
 */
export async function loginSetCookies(tx: LoginTransaction, cookies: Record<string, string>, sealer: Sealer): Promise<string[]> {
  const sealed = await sealer.seal('login', tx, LOGIN_TTL_SECONDS);
  const lines = [loginSetCookie(loginCookieName(tx.state), sealed, LOGIN_TTL_SECONDS)];
  const existing = loginCookieNames(cookies);
  if (existing.length >= MAX_LOGIN_COOKIES) {
    const aged = await Promise.all(
      existing.map(async (name) => ({ name, iat: (await sealer.unseal<LoginTransaction>('login', cookies[name] ?? ''))?.iat ?? 0 })),
    );
    aged.sort((a, b) => a.iat - b.iat);
    for (const { name } of aged.slice(0, existing.length - MAX_LOGIN_COOKIES + 1)) lines.push(expiredCookie(name));
  }
  return lines;
}

/** Result of looking up the transaction of a callback. */
export type TransactionLookup =
  | { status: 'found'; tx: LoginTransaction; cookieName: string }
  | { status: 'missing' | 'invalid' | 'expired' | 'state_mismatch'; cookieName?: string };

/** Finds and checks the transaction cookie matching the callback's `state`. */
export async function readLoginTransaction(state: string, cookies: Record<string, string>, sealer: Sealer, nowSeconds: number): Promise<TransactionLookup> {
  const cookieName = loginCookieName(state);
  const sealed = cookies[cookieName];
  if (sealed === undefined) return { status: 'missing' };
  const tx = await sealer.unseal<LoginTransaction>('login', sealed);
  if (!tx || typeof tx.state !== 'string' || typeof tx.iat !== 'number') return { status: 'invalid', cookieName };
  if (!timingSafeEqual(tx.state, state)) return { status: 'state_mismatch', cookieName };
  if (nowSeconds - tx.iat > LOGIN_TTL_SECONDS || tx.iat > nowSeconds + 60) return { status: 'expired', cookieName };
  return { status: 'found', tx, cookieName };
}

/** Constant-time string comparison (length may leak; contents do not). */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
