/**
 * Helpers shared by the integration suites: a recording logger, a counting
 * fetch, a settable clock, and a way for a test (which knows the dev session
 * secret) to look inside a browser's session cookie.
 */
import type { LogFields, Logger, LogLevel } from '../../src/log.js';
import { parseCookieHeader } from '../../src/session/cookies.js';
import { createSealer } from '../../src/session/seal.js';
import { readSession, type SessionData } from '../../src/session/session.js';

/** What the helpers need of a running stack (a Node dev stack or a test target). */
export interface StackLike {
  bffUrl: string;
  env: Record<string, string | undefined>;
  idp: { issuer: string };
}
import { loginThroughIdp, type TestBrowser } from './browser.js';

/** Headers a SPA sends on every BFF call. */
export const CSRF = { 'x-csrf': '1' } as const;

/** A logger that keeps every line (as JSON text) for assertions. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    log(level: LogLevel, event: string, fields?: LogFields) {
      lines.push(JSON.stringify({ level, event, ...fields }));
    },
  };
}

/** A settable clock (epoch ms) starting at real time; tests move it instead of sleeping. */
export function testClock(): { now: () => number; advance(seconds: number): void } {
  let offsetMs = 0;
  return {
    now: () => Date.now() + offsetMs,
    advance(seconds) {
      offsetMs += seconds * 1000;
    },
  };
}

/** The session inside the browser's cookie, unsealed with the stack's secret (tests only). */
export async function sessionInBrowser(browser: TestBrowser, stack: StackLike, nowSeconds = Math.floor(Date.now() / 1000)): Promise<SessionData | undefined> {
  const cookies = parseCookieHeader(await browser.cookieHeader(stack.bffUrl));
  const sealer = createSealer(stack.env.BFF_SESSION_SECRET!.split(','));
  const lookup = await readSession(cookies, sealer, nowSeconds);
  return lookup.status === 'valid' ? lookup.session : undefined;
}

/** Names of the BFF cookies the browser holds. */
export async function bffCookieNames(browser: TestBrowser, stack: StackLike): Promise<string[]> {
  return (await browser.cookies(stack.bffUrl)).map((c) => c.key).filter((k) => k.startsWith('__Host-bff-')).sort();
}

/** Every token value of a session, for "never leaks" assertions. */
export function tokensOf(session: SessionData): string[] {
  return [session.at, session.rt, session.idt].filter((t): t is string => typeof t === 'string' && t.length > 0);
}

/**
 * Runs a login up to the IdP's redirect back to the BFF and returns the
 * callback URL without calling it, so a test can replay, alter or delay it.
 */
export async function authorizeUntilCallback(browser: TestBrowser, bffUrl: string, opts: { user?: string; returnTo?: string } = {}): Promise<URL> {
  let callback: URL | undefined;
  const original = browser.fetch;
  browser.fetch = async (url, init) => {
    const target = new URL(url);
    if (target.origin === new URL(bffUrl).origin && target.pathname === '/bff/callback') {
      callback = target;
      return new Response(null, { status: 302, headers: { location: `${bffUrl}/__intercepted` } });
    }
    return original.call(browser, url, init);
  };
  try {
    await loginThroughIdp(browser, bffUrl, opts);
  } finally {
    browser.fetch = original;
  }
  if (!callback) throw new Error('the login flow never reached the callback');
  return callback;
}

/** Revokes a token at the dev IdP with the BFF's client credentials (as an admin or the user elsewhere would). */
export async function revokeAtIdp(stack: StackLike, token: string): Promise<Response> {
  return fetch(`${stack.idp.issuer}/token/revocation`, {
    method: 'POST',
    headers: { authorization: `Basic ${btoa(`${stack.env.BFF_CLIENT_ID}:${stack.env.BFF_CLIENT_SECRET}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
}
