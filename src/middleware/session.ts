/**
 * Thin Hono helpers over the pure session module: read the request's
 * cookies and session once, and write `Set-Cookie` lines.
 */
import type { Context } from 'hono';
import type { BffRuntime } from '../runtime.js';
import { parseCookieHeader } from '../session/cookies.js';
import { readSession, type SessionLookup } from '../session/session.js';

/** The request's cookies and session. */
export interface RequestSession {
  cookies: Record<string, string>;
  lookup: SessionLookup;
}

/** Reads the request's cookies and unseals its session (never throws for bad cookies). */
export async function loadRequestSession(c: Context, runtime: BffRuntime): Promise<RequestSession> {
  const cookies = parseCookieHeader(c.req.header('cookie'));
  const lookup = await readSession(cookies, runtime.sealer, runtime.nowSeconds());
  return { cookies, lookup };
}

/** Appends `Set-Cookie` lines to a Headers object. */
export function appendSetCookies(headers: Headers, lines: readonly string[]): void {
  for (const line of lines) headers.append('set-cookie', line);
}

/** Headers every BFF JSON answer carries: never cached, never sniffed. */
export function noStoreJsonHeaders(): Headers {
  return new Headers({ 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
}
