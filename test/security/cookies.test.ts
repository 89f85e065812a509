/**
 * Attacks on the session cookie: its attributes, forged and malformed values,
 * chunk games, duplicate names, session identifiers smuggled elsewhere, and
 * stolen copies replayed after logout or after another user's login.
 *
 * Complements test/integration/guards.test.ts ("missing or unusable
 * sessions"), which covers a mid-value flip, a short truncation, garbage, a
 * wrong MAC prefix, an empty and a 7000-character value, a login cookie
 * pasted as the session and another secret's seal.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/session/seal.js';
import type { SessionData } from '../../src/session/session.js';
import { loginThroughIdp, TestBrowser } from '../support/browser.js';
import { bffCookieNames, CSRF, sessionInBrowser } from '../support/harness.js';
import { clearedNames, cookieRuleViolations, expectProblem, isDeletion, parseSetCookie, setCookiesOf, setNames } from '../support/leaks.js';
import { startTarget, type Target } from '../support/target.js';

const SESSION = '__Host-bff-session';

let stack: Target;

/** A logged-in alice: her sealed cookie value and session. */
let good: string;
let goodSession: SessionData;
/** A logged-in bob (for two-valid-sessions duplicates). */
let bobValue: string;

beforeAll(async () => {
  stack = await startTarget();
  const alice = new TestBrowser();
  await loginThroughIdp(alice, stack.bffUrl);
  good = await sessionValue(alice);
  goodSession = (await sessionInBrowser(alice, stack))!;
  const bob = new TestBrowser();
  await loginThroughIdp(bob, stack.bffUrl, { user: 'bob' });
  bobValue = await sessionValue(bob);
});
afterAll(async () => {
  await stack?.close();
});
beforeEach(() => {
  stack.api.resetRequests();
  stack.idp.resetHits();
});

/** The sealed value of the browser's session cookie (single chunk with the dev IdP). */
async function sessionValue(browser: TestBrowser): Promise<string> {
  const cookie = (await browser.cookies(stack.bffUrl)).find((c) => c.key === SESSION);
  if (!cookie) throw new Error('the browser holds no session cookie');
  return cookie.value;
}

/** Replaces the middle character of `s` by a different cookie-safe one. */
function flip(s: string): string {
  const i = Math.floor(s.length / 2);
  const c = s[i]!;
  const replacement = /\d/.test(c) ? String((Number(c) + 1) % 10) : c === 'A' ? 'B' : 'A';
  return `${s.slice(0, i)}${replacement}${s.slice(i + 1)}`;
}

/** The seal with part `index` (of the `*`-separated ones) replaced by `f(part)`. */
function withPart(seal: string, index: number, f: (part: string) => string): string {
  const parts = seal.split('*');
  parts[index] = f(parts[index]!);
  return parts.join('*');
}

/** Names of the session cookie (and chunks) a Cookie header carries. */
function sessionNamesIn(cookieHeader: string): string[] {
  return [...new Set(cookieHeader.split(';').map((p) => p.slice(0, p.indexOf('=')).trim()).filter((n) => /^__Host-bff-session(\.\d+)?$/.test(n)))].sort();
}

/**
 * The contract for an unusable session cookie: 401 unauthenticated on a
 * proxied route and 200 {authenticated:false} on /bff/session, both deleting
 * every session cookie name the request carried (at least chunk 0) and
 * setting nothing; never a 500; no upstream or token-endpoint hit.
 */
async function expectUnusable(cookieHeader: string): Promise<void> {
  const expectedCleared = [...new Set([SESSION, ...sessionNamesIn(cookieHeader)])].sort();
  const proxied = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: cookieHeader, ...CSRF } });
  const proxiedCleared = clearedNames(proxied);
  const proxiedSet = setNames(proxied);
  await expectProblem(proxied, 401, 'unauthenticated');
  expect(proxiedSet).toEqual([]);
  expect(proxiedCleared).toEqual(expect.arrayContaining(expectedCleared));

  const view = await fetch(`${stack.bffUrl}/bff/session`, { headers: { cookie: cookieHeader, ...CSRF } });
  expect(view.status).toBe(200);
  expect(await view.json()).toEqual({ authenticated: false });
  expect(setNames(view)).toEqual([]);
  expect(clearedNames(view)).toEqual(expect.arrayContaining(expectedCleared));

  expect(stack.api.requests).toHaveLength(0);
  expect(stack.idp.tokenEndpointHits()).toBe(0);
}

describe('cookie attributes', () => {
  it('every Set-Cookie of a full login → refresh → proxy refresh → logout run is __Host-, Secure, HttpOnly, Path=/, no Domain, SameSite Strict (session) / Lax (login)', async () => {
    const browser = new TestBrowser();
    const lines: string[] = [];
    const original = browser.fetch;
    browser.fetch = async (url, init) => {
      const res = await original.call(browser, url, init);
      if (new URL(url).origin === new URL(stack.bffUrl).origin) lines.push(...res.headers.getSetCookie());
      return res;
    };
    // Abandoned logins first, so the bound of 3 transaction cookies deletes one.
    for (let i = 0; i < 3; i++) {
      await stack.advanceClock(1);
      expect((await browser.fetch(`${stack.bffUrl}/bff/login`)).status).toBe(302);
    }
    await loginThroughIdp(browser, stack.bffUrl);
    expect((await browser.fetch(`${stack.bffUrl}/bff/refresh`, { method: 'POST', headers: CSRF })).status).toBe(200);
    const session = await sessionInBrowser(browser, stack, stack.nowSeconds());
    await stack.advanceClock(session!.atExp! - stack.nowSeconds() - 30);
    const proxied = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(proxied.status).toBe(200);
    expect(setNames(proxied)).toEqual([SESSION]);
    expect((await browser.fetch(`${stack.bffUrl}/bff/logout`, { method: 'POST', headers: CSRF })).status).toBe(200);
    // An unusable cookie is cleared too.
    await browser.jar.setCookie(`${SESSION}=garbage; Path=/; Secure; HttpOnly; SameSite=Strict`, stack.bffUrl);
    expect((await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF })).status).toBe(401);

    const cookies = lines.map(parseSetCookie);
    expect(cookies.flatMap(cookieRuleViolations)).toEqual([]);
    // Every kind of line was seen, so the check above is not vacuous.
    const kinds = new Set(cookies.map((c) => `${c.name.startsWith('__Host-bff-login.') ? 'login' : c.name} ${isDeletion(c) ? 'deleted' : 'set'}`));
    expect([...kinds].sort()).toEqual(['__Host-bff-session deleted', '__Host-bff-session set', 'login deleted', 'login set']);
    expect(cookies.filter((c) => c.name === SESSION && !isDeletion(c))).toHaveLength(3); // callback, /bff/refresh, proxy refresh
    expect(await bffCookieNames(browser, stack)).toEqual([]);
  });
});

describe('malformed session cookies → 401 unauthenticated, cleared, never a 500', () => {
  const parts = ['prefix', 'password id', 'encryption salt', 'iv', 'ciphertext', 'expiry', 'hmac salt', 'hmac'];

  it('the seal has the 8 iron parts the cases below alter', () => {
    expect(good.split('*')).toHaveLength(8);
    expect(good.startsWith('Fe26.2*')).toBe(true);
  });

  it.each([
    ['empty', () => `${SESSION}=`],
    ['garbage', () => `${SESSION}=hello-world`],
    ['wrong iron prefix (Fe26.1)', () => `${SESSION}=${withPart(good, 0, () => 'Fe26.1')}`],
    ['bad base64 in the ciphertext', () => `${SESSION}=${withPart(good, 4, (p) => `!!${p.slice(2, -2)}$$`)}`],
    ['bad base64 in the iv', () => `${SESSION}=${withPart(good, 3, () => '%%%%')}`],
    ['NaN expiry in an otherwise well-formed seal', () => `${SESSION}=${withPart(good, 5, () => 'NaN')}`],
    ['non-numeric expiry', () => `${SESSION}=${withPart(good, 5, () => '1e99')}`],
    ['negative expiry', () => `${SESSION}=${withPart(good, 5, () => '-1')}`],
    ['a 10 KB value', () => `${SESSION}=Fe26.2*${'A'.repeat(10 * 1024)}`],
    ['truncated by one character', () => `${SESSION}=${good.slice(0, -1)}`],
    ['truncated after the ciphertext', () => `${SESSION}=${good.split('*').slice(0, 5).join('*')}`],
    ['an extra part before the version suffix', () => `${SESSION}=${good.replace(/~2$/, '*AAAA~2')}`],
    ['version suffix ~1 (iron-session v1 layout)', () => `${SESSION}=${good.replace(/~2$/, '~1')}`],
    ['a valid seal followed by a stray chunk 1 starting with a digit', () => `${SESSION}=${good}; ${SESSION}.1=7AAA`],
  ])('%s', async (_name, cookie) => {
    await expectUnusable(cookie());
  });

  it.each(parts.map((name, index) => [name, index] as const))('one character flipped in the %s part', async (_name, index) => {
    const forged = withPart(good, index, flip);
    expect(forged).not.toBe(good);
    await expectUnusable(`${SESSION}=${forged}`);
  });

  it('a well-formed session sealed with an unknown key (same claims, another 32+ character secret)', async () => {
    const other = createSealer(['an-attacker-chosen-secret-of-40-characters!!'.slice(0, 40)]);
    const forged = await other.seal('session', { ...goodSession, sub: 'mallory', user: { sub: 'mallory' } }, 3600);
    await expectUnusable(`${SESSION}=${forged}`);
  });

  it('chunks out of order (chunk 0 holds the tail, chunk 1 the head)', async () => {
    const half = Math.floor(good.length / 2);
    await expectUnusable(`${SESSION}=${good.slice(half)}; ${SESSION}.1=${good.slice(0, half)}`);
  });

  it('a gap between chunks (chunk 1 missing, chunk 2 present)', async () => {
    const half = Math.floor(good.length / 2);
    await expectUnusable(`${SESSION}=${good.slice(0, half)}; ${SESSION}.2=${good.slice(half)}`);
  });

  // Regression (found by this suite, fixed in src/session/seal.ts): bytes
  // appended after a valid seal's "~2" version suffix used to be ignored
  // (iron-session's parseSeal reads parseInt("2<junk>") === 2), so a
  // non-canonical value was accepted as the session and a stray chunk broke a
  // session or not depending on its first character. Only the canonical
  // "Fe26.2*…~2" form is unsealed now.
  it.each([
    ['a valid seal padded to 10 KB', () => `${SESSION}=${good}${'A'.repeat(10 * 1024 - good.length)}`],
    ['a valid seal followed by "*AAAA"', () => `${SESSION}=${good}*AAAA`],
    ['a valid seal followed by a stray chunk 1 starting with a letter', () => `${SESSION}=${good}; ${SESSION}.1=AAAA`],
  ])('%s (trailing bytes after the version suffix)', async (_name, cookie) => {
    await expectUnusable(cookie());
  });

  // Regression (found by this suite, fixed in src/session/session.ts): chunk 1
  // without chunk 0 used to read as "no session", so the stray chunk was never
  // cleared and went on to poison the next login (see the test below).
  it('missing chunk 0 (only __Host-bff-session.1 holding a valid seal)', async () => {
    await expectUnusable(`${SESSION}.1=${good}`);
  });

  // Regression (found by this suite, fixed in src/session/cookies.ts
  // countChunks): the callback used to expire an earlier session's surplus
  // chunks only when they were contiguous from chunk 0, so a stray
  // __Host-bff-session.1 stayed in the browser, was appended to the new
  // session on every request, and the first request after a "successful"
  // login was 401 with the new session cleared (its refresh token orphaned).
  it('a stray chunk 1 left in the browser is deleted at the next login and does not poison it', async () => {
    const browser = new TestBrowser();
    await browser.jar.setCookie(`${SESSION}.1=7AAA; Path=/; Secure; HttpOnly; SameSite=Strict`, stack.bffUrl);
    await loginThroughIdp(browser, stack.bffUrl);
    expect(await bffCookieNames(browser, stack)).toEqual([SESSION]);
    const res = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(res.status).toBe(200);
  });
});

describe('duplicate session cookie names in one Cookie header → unusable', () => {
  it.each([
    ['the same valid seal twice', () => `${SESSION}=${good}; ${SESSION}=${good}`],
    ['valid first, garbage second', () => `${SESSION}=${good}; ${SESSION}=garbage`],
    ['garbage first, valid second', () => `${SESSION}=garbage; ${SESSION}=${good}`],
    ['two users’ valid sessions', () => `${SESSION}=${good}; ${SESSION}=${bobValue}`],
    ['a duplicate separated by other cookies and odd spacing', () => `${SESSION}=${good};theme=dark;  ${SESSION} =${good}`],
  ])('%s', async (_name, cookie) => {
    await expectUnusable(cookie());
  });
});

describe('a session identifier outside the session cookie never authenticates', () => {
  it.each([
    ['?session=<sealed>', (sealed: string) => ({ query: `?session=${sealed}`, headers: {} })],
    ['?__Host-bff-session=<sealed>', (sealed: string) => ({ query: `?${SESSION}=${sealed}`, headers: {} })],
    ['Authorization: Bearer <sealed cookie value>', (sealed: string) => ({ query: '', headers: { authorization: `Bearer ${sealed}` } })],
    ['Authorization: Bearer <real access token>', () => ({ query: '', headers: { authorization: `Bearer ${goodSession.at}` } })],
    ['Cookie2: __Host-bff-session=<sealed>', (sealed: string) => ({ query: '', headers: { cookie2: `${SESSION}=${sealed}` } })],
    ['a non-__Host- cookie of the same base name', (sealed: string) => ({ query: '', headers: { cookie: `bff-session=${sealed}; __Secure-bff-session=${sealed}` } })],
  ])('%s → 401 unauthenticated, no upstream hit', async (_name, make) => {
    const { query, headers } = make(good);
    const res = await fetch(`${stack.bffUrl}/api/me${query}`, { headers: { ...headers, ...CSRF } });
    expect(res.headers.getSetCookie()).toEqual([]);
    await expectProblem(res, 401, 'unauthenticated');
    const view = await fetch(`${stack.bffUrl}/bff/session${query}`, { headers: { ...headers, ...CSRF } });
    expect(await view.json()).toEqual({ authenticated: false });
    expect(stack.api.requests).toHaveLength(0);
    expect(stack.idp.tokenEndpointHits()).toBe(0);
  });
});

describe('stolen copies of a session cookie', () => {
  it('a copy replayed after logout still proxies until its access token is due for refresh (known window), then 401 session_expired', async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    const copy = await browser.cookieHeader(stack.bffUrl);
    const session = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    stack.idp.resetHits();

    const logout = await browser.fetch(`${stack.bffUrl}/bff/logout`, { method: 'POST', headers: CSRF });
    expect(logout.status).toBe(200);
    expect(clearedNames(logout)).toEqual([SESSION]);
    expect(stack.idp.hits('/token/revocation')).toBe(1);
    expect((await stack.idp.introspect(session.rt!)).active).toBe(false);

    // The window: the copy still carries a valid access token, and the BFF keeps no revocation list.
    const replay = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: copy, ...CSRF } });
    expect(replay.status).toBe(200);
    expect(stack.api.requests).toHaveLength(1);
    expect(stack.api.requests[0]!.headers.authorization === `Bearer ${session.at}`).toBe(true);
    const view = await fetch(`${stack.bffUrl}/bff/session`, { headers: { cookie: copy, ...CSRF } });
    expect((await view.json()).authenticated).toBe(true);

    // Just outside the 60 s refresh leeway: still inside the window.
    await stack.advanceClock(session.atExp! - stack.nowSeconds() - 61);
    const late = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: copy, ...CSRF } });
    expect(late.status).toBe(200);
    expect(stack.idp.tokenEndpointHits()).toBe(0);

    // Past the access token's expiry: the refresh hits the revoked grant and the copy is dead.
    await stack.advanceClock(session.atExp! - stack.nowSeconds() + 1);
    stack.api.resetRequests();
    const dead = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: copy, ...CSRF } });
    const cleared = clearedNames(dead);
    await expectProblem(dead, 401, 'session_expired');
    expect(cleared).toEqual([SESSION]);
    expect(stack.idp.tokenEndpointHits()).toBe(1);
    expect(stack.api.requests).toHaveLength(0);
  });

  it('logging in as bob in a browser holding alice’s session revokes alice’s refresh token; her copied cookie dies with its access token', async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    const aliceCopy = await browser.cookieHeader(stack.bffUrl);
    const alice = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    // Forget the IdP's SSO session so the IdP asks who is signing in.
    await browser.jar.store.removeCookies('127.0.0.1', null);
    stack.idp.resetHits();

    await loginThroughIdp(browser, stack.bffUrl, { user: 'bob' });
    expect(stack.idp.hits('/token/revocation')).toBe(1);
    expect(stack.idp.tokenEndpointHits()).toBe(1); // bob's code exchange only
    const bob = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    expect(bob.sub).toBe('bob');
    expect(bob.sid).not.toBe(alice.sid);
    expect((await stack.idp.introspect(alice.rt!)).active).toBe(false);
    expect((await stack.idp.introspect(bob.rt!)).active).toBe(true);

    // Inside the window alice's copy still proxies as alice.
    const during = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: aliceCopy, ...CSRF } });
    expect((await during.json()).sub).toBe('alice');

    await stack.advanceClock(Math.max(alice.atExp!, bob.atExp!) - stack.nowSeconds() + 1);
    stack.idp.resetHits();
    stack.api.resetRequests();
    const dead = await fetch(`${stack.bffUrl}/api/me`, { headers: { cookie: aliceCopy, ...CSRF } });
    const cleared = clearedNames(dead);
    await expectProblem(dead, 401, 'session_expired');
    expect(cleared).toEqual([SESSION]);
    expect(stack.api.requests).toHaveLength(0);
    expect(stack.idp.tokenEndpointHits()).toBe(1);

    // Bob's session refreshes normally.
    const bobMe = await browser.fetch(`${stack.bffUrl}/api/me`, { headers: CSRF });
    expect(bobMe.status).toBe(200);
    expect((await bobMe.json()).sub).toBe('bob');
    expect(stack.idp.tokenEndpointHits()).toBe(2);
    expect(setCookiesOf(bobMe).map((c) => c.name)).toEqual([SESSION]);
  });

  it('a copy used after the session’s hard end (7 days) → 401 unauthenticated and cleared, no refresh attempted', async () => {
    const browser = new TestBrowser();
    await loginThroughIdp(browser, stack.bffUrl);
    const copy = await browser.cookieHeader(stack.bffUrl);
    const session = (await sessionInBrowser(browser, stack, stack.nowSeconds()))!;
    await stack.advanceClock(session.exp - stack.nowSeconds() + 1);
    stack.idp.resetHits();
    await expectUnusable(copy);
  });
});
