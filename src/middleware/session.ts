/**
 * Thin Hono helpers over the pure session module: read the request's
 * cookies and session once, and write `Set-Cookie` lines.
 */
import type { Context } from 'hono';
import { outcomeOf } from '../observability/outcome.js';
import type { BffRuntime } from '../runtime.js';
import { parseCookieHeader } from '../session/cookies.js';
import { readSession, sessionSetCookies, type SessionData, type SessionLookup } from '../session/session.js';

/** The request's cookies and session. */
export interface RequestSession {
  cookies: Record<string, string>;
  lookup: SessionLookup;
}

/**
 * Reads the request's cookies and unseals its session, idle timeout included (never throws for bad cookies).
 * The unseal goes through the runtime's session cache; every check after it runs on each request.
 */
export async function loadRequestSession(c: Context, runtime: BffRuntime): Promise<RequestSession> {
  const cookies = parseCookieHeader(c.req.header('cookie'));
  const lookup = await readSession(cookies, runtime.sessionCache.sealerFor(cookies), runtime.nowSeconds(), runtime.config.sessionIdleSeconds);
  outcomeOf(c).sessionPresent = lookup.status === 'valid';
  return { cookies, lookup };
}

/**
 * `Set-Cookie` lines re-sealing a valid session when its lookup asks for it
 * (older key, or activity to record for the sliding idle timeout); none
 * otherwise, so the common request costs no seal.
 */
export async function resealIfNeeded(runtime: BffRuntime, { cookies, lookup }: RequestSession): Promise<{ session: SessionData; lines: string[] } | undefined> {
  if (lookup.status !== 'valid' || !lookup.reseal) return undefined;
  const now = runtime.nowSeconds();
  const session = { ...lookup.session, seen: now };
  return { session, lines: await sessionSetCookies(session, cookies, runtime.sealer, now) };
}

/** Appends `Set-Cookie` lines to a Headers object. */
export function appendSetCookies(headers: Headers, lines: readonly string[]): void {
  for (const line of lines) headers.append('set-cookie', line);
}

/** Headers every BFF JSON answer carries: never cached, never sniffed. */
export function noStoreJsonHeaders(): Headers {
  return new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
}
