import { describe, it, expect } from 'vitest';
import {
  LOGIN_TTL_SECONDS,
  MAX_LOGIN_COOKIES,
  loginCookieName,
  loginSetCookies,
  readLoginTransaction,
  timingSafeEqual,
  type LoginTransaction,
} from './transaction.js';
import { createSealer } from './seal.js';
import { LOGIN_COOKIE_PREFIX, SESSION_COOKIE } from './cookies.js';

const sealer = createSealer(['transaction-test-secret-' + 't'.repeat(30)]);
const NOW = 1_900_000_000;

function makeTx(state: string, iat = NOW, overrides: Partial<LoginTransaction> = {}): LoginTransaction {
  return { state, nonce: `nonce-${state}`, verifier: `verifier-${state}-${'v'.repeat(43)}`, returnTo: '/notes?x=1', iat, ...overrides };
}

/** Distinct, realistic states (43 base64url chars) with distinct 16-char prefixes. */
const STATES = ['AAAAaaaa1111bbbbXYZ-rest-of-state-000000000', 'BBBBbbbb2222ccccXYZ-rest-of-state-111111111', 'CCCCcccc3333ddddXYZ-rest-of-state-222222222', 'DDDDdddd4444eeeeXYZ-rest-of-state-333333333', 'EEEEeeee5555ffffXYZ-rest-of-state-444444444'];

/** Browser simulation: apply Set-Cookie lines, return the decoded cookie map. */
function applySetCookies(jar: Map<string, string>, lines: readonly string[]): Record<string, string> {
  for (const line of lines) {
    const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    if (attributes.some((a) => /^max-age=0$/i.test(a))) jar.delete(name);
    else jar.set(name, pair.slice(eq + 1));
  }
  return Object.fromEntries([...jar].map(([k, v]) => [k, decodeURIComponent(v)]));
}

const loginNames = (cookies: Record<string, string>) => Object.keys(cookies).filter((n) => n.startsWith(LOGIN_COOKIE_PREFIX));

describe('loginCookieName', () => {
  it('uses a sanitised 16-character prefix of the state', () => {
    expect(loginCookieName(STATES[0]!)).toBe(`${LOGIN_COOKIE_PREFIX}AAAAaaaa1111bbbb`);
    expect(loginCookieName('a;b=c d/e\\f"g')).toBe(`${LOGIN_COOKIE_PREFIX}abcdefg`);
    expect(loginCookieName('x_-y')).toBe(`${LOGIN_COOKIE_PREFIX}x_-y`);
  });
});

describe('loginSetCookies / readLoginTransaction round-trip', () => {
  it('finds the transaction through a simulated browser', async () => {
    const tx = makeTx(STATES[0]!);
    const lines = await loginSetCookies(tx, {}, sealer);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${loginCookieName(tx.state).replace(/[.]/g, '\\.')}=Fe26\\.2`));
    expect(lines[0]).toContain('SameSite=Lax');
    expect(lines[0]).toContain(`Max-Age=${LOGIN_TTL_SECONDS}`);
    expect(lines[0]).not.toContain(tx.verifier);
    expect(lines[0]).not.toContain(tx.nonce);

    const cookies = applySetCookies(new Map(), lines);
    const lookup = await readLoginTransaction(tx.state, cookies, sealer, NOW + 5);
    expect(lookup.status).toBe('found');
    if (lookup.status !== 'found') throw new Error('unreachable');
    expect(lookup.cookieName).toBe(loginCookieName(tx.state));
    expect(lookup.tx).toMatchObject(tx);
  });

  it('wrong state → missing', async () => {
    const cookies = applySetCookies(new Map(), await loginSetCookies(makeTx(STATES[0]!), {}, sealer));
    expect(await readLoginTransaction(STATES[1]!, cookies, sealer, NOW)).toEqual({ status: 'missing' });
    expect(await readLoginTransaction('', cookies, sealer, NOW)).toEqual({ status: 'missing' });
  });

  it('a state sharing the cookie-name prefix but differing after it → state_mismatch', async () => {
    const tx = makeTx(STATES[0]!);
    const cookies = applySetCookies(new Map(), await loginSetCookies(tx, {}, sealer));
    const forged = tx.state.slice(0, 16) + 'X'.repeat(tx.state.length - 16);
    expect(loginCookieName(forged)).toBe(loginCookieName(tx.state));
    expect(await readLoginTransaction(forged, cookies, sealer, NOW)).toEqual({ status: 'state_mismatch', cookieName: loginCookieName(tx.state) });
    expect((await readLoginTransaction(tx.state.slice(0, 16), cookies, sealer, NOW)).status).toBe('state_mismatch');
  });

  it('a garbage or session-purpose cookie → invalid', async () => {
    const name = loginCookieName(STATES[0]!);
    expect(await readLoginTransaction(STATES[0]!, { [name]: 'garbage' }, sealer, NOW)).toEqual({ status: 'invalid', cookieName: name });
    const sessionSealed = await sealer.seal('session', makeTx(STATES[0]!), 600);
    expect(await readLoginTransaction(STATES[0]!, { [name]: sessionSealed }, sealer, NOW)).toEqual({ status: 'invalid', cookieName: name });
    const noIat = await sealer.seal('login', { state: STATES[0] }, 600);
    expect(await readLoginTransaction(STATES[0]!, { [name]: noIat }, sealer, NOW)).toEqual({ status: 'invalid', cookieName: name });
  });

  it('iat older than 600 s → expired; exactly 600 s → found', async () => {
    const tx = makeTx(STATES[0]!, NOW);
    const cookies = applySetCookies(new Map(), await loginSetCookies(tx, {}, sealer));
    expect((await readLoginTransaction(tx.state, cookies, sealer, NOW + LOGIN_TTL_SECONDS)).status).toBe('found');
    expect(await readLoginTransaction(tx.state, cookies, sealer, NOW + LOGIN_TTL_SECONDS + 1)).toEqual({ status: 'expired', cookieName: loginCookieName(tx.state) });
    expect((await readLoginTransaction(tx.state, cookies, sealer, NOW + 86_400)).status).toBe('expired');
  });

  it('an iat far in the future → expired', async () => {
    const tx = makeTx(STATES[0]!, NOW + 3600);
    const cookies = applySetCookies(new Map(), await loginSetCookies(tx, {}, sealer));
    expect((await readLoginTransaction(tx.state, cookies, sealer, NOW)).status).toBe('expired');
    expect((await readLoginTransaction(tx.state, cookies, sealer, NOW + 3600 - 60)).status).toBe('found');
  });
});

describe('loginSetCookies: at most MAX_LOGIN_COOKIES transactions', () => {
  it('keeps up to 3 transactions without expiring any', async () => {
    expect(MAX_LOGIN_COOKIES).toBe(3);
    const jar = new Map<string, string>();
    let cookies: Record<string, string> = { [SESSION_COOKIE]: 'keep' };
    jar.set(SESSION_COOKIE, 'keep');
    for (let i = 0; i < 3; i++) {
      const lines = await loginSetCookies(makeTx(STATES[i]!, NOW + i), cookies, sealer);
      expect(lines).toHaveLength(1);
      cookies = applySetCookies(jar, lines);
    }
    expect(loginNames(cookies)).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect((await readLoginTransaction(STATES[i]!, cookies, sealer, NOW + 10)).status).toBe('found');
  });

  it('a 4th login expires the oldest by iat, not by cookie order', async () => {
    const jar = new Map<string, string>();
    let cookies: Record<string, string> = {};
    // Cookie order differs from age order: the 2nd cookie is the oldest.
    const iats = [NOW + 20, NOW + 10, NOW + 30];
    for (let i = 0; i < 3; i++) cookies = applySetCookies(jar, await loginSetCookies(makeTx(STATES[i]!, iats[i]), cookies, sealer));

    const lines = await loginSetCookies(makeTx(STATES[3]!, NOW + 40), cookies, sealer);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${loginCookieName(STATES[1]!).replace(/[.]/g, '\\.')}=;`));
    expect(lines[1]).toContain('Max-Age=0');
    cookies = applySetCookies(jar, lines);

    expect(loginNames(cookies).sort()).toEqual([STATES[0]!, STATES[2]!, STATES[3]!].map(loginCookieName).sort());
    expect((await readLoginTransaction(STATES[1]!, cookies, sealer, NOW + 50)).status).toBe('missing');
    expect((await readLoginTransaction(STATES[3]!, cookies, sealer, NOW + 50)).status).toBe('found');
  });

  it('never lets more than 3 remain over many logins', async () => {
    const jar = new Map<string, string>();
    let cookies: Record<string, string> = {};
    for (let i = 0; i < STATES.length; i++) {
      cookies = applySetCookies(jar, await loginSetCookies(makeTx(STATES[i]!, NOW + i), cookies, sealer));
      expect(loginNames(cookies).length).toBeLessThanOrEqual(MAX_LOGIN_COOKIES);
    }
    expect(loginNames(cookies).sort()).toEqual(STATES.slice(-3).map(loginCookieName).sort());
  });

  it('trims a request that already carries too many, dropping unreadable ones first', async () => {
    const cookies: Record<string, string> = {
      [`${LOGIN_COOKIE_PREFIX}junk1`]: 'garbage',
      [`${LOGIN_COOKIE_PREFIX}junk2`]: 'Fe26.2*junk',
    };
    for (let i = 0; i < 3; i++) cookies[loginCookieName(STATES[i]!)] = await sealer.seal('login', makeTx(STATES[i]!, NOW + i), 600);
    const jar = new Map(Object.entries(cookies));
    const lines = await loginSetCookies(makeTx(STATES[4]!, NOW + 100), cookies, sealer);
    // 5 existing → 3 deletions (2 junk + the oldest real one), then 2 + the new one remain.
    expect(lines).toHaveLength(4);
    const after = applySetCookies(jar, lines);
    expect(loginNames(after).sort()).toEqual([STATES[1]!, STATES[2]!, STATES[4]!].map(loginCookieName).sort());
  });
});

describe('timingSafeEqual', () => {
  it.each([
    ['', '', true],
    ['a', 'a', true],
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'Abc', false],
    ['abc', 'ab', false],
    ['ab', 'abc', false],
    ['', 'a', false],
    ['a', '', false],
    ['\u0000', '', false],
    ['é', 'e', false],
    ['😀', '😀', true],
    ['😀', '😁', false],
    [STATES[0]!, STATES[0]!.slice(0, -1) + 'x', false],
  ])('(%j, %j) → %s', (a, b, expected) => {
    expect(timingSafeEqual(a, b)).toBe(expected);
    expect(timingSafeEqual(b, a)).toBe(expected);
  });
});
