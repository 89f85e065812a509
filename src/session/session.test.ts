import { describe, it, expect } from 'vitest';
import { clearSessionCookies, identityClaims, readSession, sessionSetCookies, sessionView, type SessionData } from './session.js';
import { createSealer } from './seal.js';
import { LOGIN_COOKIE_PREFIX, SESSION_COOKIE, chunkName } from './cookies.js';

const SECRET = 'session-test-secret-' + 'z'.repeat(30);
const sealer = createSealer([SECRET]);
/** An explicit clock, in epoch seconds. */
const NOW = 1_900_000_000;

function tokenLike(length: number, tag: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = `${tag}.`;
  let x = length;
  while (out.length < length) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += alphabet[x % alphabet.length];
  }
  return out;
}

function makeSession(overrides: Partial<SessionData> = {}): SessionData {
  return {
    v: 1,
    sid: 'sid-123',
    iat: NOW - 100,
    exp: NOW + 3600,
    iss: 'https://idp.example.com',
    sub: 'user-1',
    aud: 'spa-bff',
    user: { sub: 'user-1', name: 'Ada Lovelace', email: 'ada@example.com' },
    at: 'AT-SECRET-VALUE-0001',
    atExp: NOW + 300,
    scope: 'openid profile',
    rt: 'RT-SECRET-VALUE-0002',
    idt: 'IDT-SECRET-VALUE-0003',
    ...overrides,
  };
}

/** Browser simulation: apply Set-Cookie lines to a jar; return the decoded cookie map. */
function applySetCookies(jar: Map<string, string>, lines: readonly string[]): Record<string, string> {
  for (const line of lines) {
    const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (attributes.some((a) => /^max-age=0$/i.test(a))) jar.delete(name);
    else jar.set(name, value);
  }
  return Object.fromEntries([...jar].map(([k, v]) => [k, decodeURIComponent(v)]));
}

describe('identityClaims', () => {
  it('drops protocol claims and keeps identity claims', () => {
    const claims = {
      iss: 'https://idp.example.com',
      aud: ['spa-bff'],
      exp: 1,
      iat: 2,
      nbf: 3,
      nonce: 'n',
      at_hash: 'h',
      c_hash: 'c',
      s_hash: 's',
      sid: 'idp-sid',
      auth_time: 4,
      azp: 'spa-bff',
      acr: '1',
      amr: ['pwd'],
      jti: 'j',
      cnf: {},
      sub_jwk: {},
      typ: 'ID',
      client_id: 'spa-bff',
      sub: 'user-1',
      name: 'Ada',
      email: 'ada@example.com',
      email_verified: true,
      groups: ['admins'],
    };
    expect(identityClaims(claims)).toEqual({ sub: 'user-1', name: 'Ada', email: 'ada@example.com', email_verified: true, groups: ['admins'] });
  });

  it('returns a new object and does not mutate the input', () => {
    const claims = { sub: 'u', iss: 'x' };
    const user = identityClaims(claims);
    expect(user).not.toBe(claims);
    expect(claims).toEqual({ sub: 'u', iss: 'x' });
  });

  it('handles an empty claim set', () => {
    expect(identityClaims({})).toEqual({});
  });
});

describe('sessionView', () => {
  it('is unauthenticated without a session', () => {
    expect(sessionView(undefined)).toEqual({ authenticated: false });
  });

  it('shows identity and expiry times only', () => {
    const session = makeSession();
    expect(sessionView(session)).toEqual({
      authenticated: true,
      user: { sub: 'user-1', name: 'Ada Lovelace', email: 'ada@example.com' },
      accessTokenExpiresAt: NOW + 300,
      sessionExpiresAt: NOW + 3600,
    });
  });

  it('falls back to the session expiry when the access token expiry is unknown', () => {
    const view = sessionView(makeSession({ atExp: undefined }));
    expect(view).toMatchObject({ accessTokenExpiresAt: NOW + 3600, sessionExpiresAt: NOW + 3600 });
  });

  it('never contains the access, refresh or ID token, nor the session id', () => {
    const session = makeSession({ at: tokenLike(500, 'ATMARK'), rt: tokenLike(300, 'RTMARK'), idt: tokenLike(800, 'IDTMARK') });
    const json = JSON.stringify(sessionView(session));
    expect(json).not.toContain(session.at);
    expect(json).not.toContain(session.rt!);
    expect(json).not.toContain(session.idt!);
    expect(json).not.toContain('ATMARK');
    expect(json).not.toContain('RTMARK');
    expect(json).not.toContain('IDTMARK');
    expect(json).not.toContain('sid-123');
    expect(Object.keys(sessionView(session)).sort()).toEqual(['accessTokenExpiresAt', 'authenticated', 'sessionExpiresAt', 'user']);
  });
});

describe('readSession', () => {
  it('no cookie → none', async () => {
    expect(await readSession({}, sealer, NOW)).toEqual({ status: 'none' });
    expect(await readSession({ other: 'x' }, sealer, NOW)).toEqual({ status: 'none' });
  });

  it('orphan chunks without chunk 0 → invalid (so they are cleared)', async () => {
    expect(await readSession({ [`${SESSION_COOKIE}.1`]: 'orphan' }, sealer, NOW)).toEqual({ status: 'invalid' });
  });

  it.each([
    ['garbage', 'garbage'],
    ['empty', ''],
    ['iron-looking junk', 'Fe26.2*1*a*b*c*d*e*f~2'],
  ])('%s → invalid', async (_label, value) => {
    expect(await readSession({ [SESSION_COOKIE]: value }, sealer, NOW)).toEqual({ status: 'invalid' });
  });

  it('a login-purpose seal in the session cookie → invalid', async () => {
    const sealed = await sealer.seal('login', makeSession(), 600);
    expect(await readSession({ [SESSION_COOKIE]: sealed }, sealer, NOW)).toEqual({ status: 'invalid' });
  });

  it('a seal from another secret → invalid', async () => {
    const sealed = await createSealer(['another-secret-' + 'q'.repeat(30)]).seal('session', makeSession(), 3600);
    expect(await readSession({ [SESSION_COOKIE]: sealed }, sealer, NOW)).toEqual({ status: 'invalid' });
  });

  it('a sealed object without the session shape → invalid', async () => {
    for (const bad of [{ v: 2 }, { ...makeSession(), v: 2 }, { ...makeSession(), at: 42 }, { ...makeSession(), user: null }, { ...makeSession(), exp: '9999999999' }]) {
      const sealed = await sealer.seal('session', bad, 3600);
      expect(await readSession({ [SESSION_COOKIE]: sealed }, sealer, NOW)).toEqual({ status: 'invalid' });
    }
  });

  it('an expired session (exp <= now) → invalid; exp = now + 1 → valid', async () => {
    const cookiesFor = async (session: SessionData) => ({ [SESSION_COOKIE]: await sealer.seal('session', session, 3600) });
    expect(await readSession(await cookiesFor(makeSession({ exp: NOW })), sealer, NOW)).toEqual({ status: 'invalid' });
    expect(await readSession(await cookiesFor(makeSession({ exp: NOW - 1 })), sealer, NOW)).toEqual({ status: 'invalid' });
    const justValid = await readSession(await cookiesFor(makeSession({ exp: NOW + 1 })), sealer, NOW);
    expect(justValid.status).toBe('valid');
  });

  it('valid → valid with the session data', async () => {
    const session = makeSession();
    const lookup = await readSession({ [SESSION_COOKIE]: await sealer.seal('session', session, 3600) }, sealer, NOW);
    expect(lookup.status).toBe('valid');
    if (lookup.status !== 'valid') throw new Error('unreachable');
    expect(lookup.session).toMatchObject(session);
  });
});

describe('sessionSetCookies → browser → readSession', () => {
  it('round-trips a small session in one cookie', async () => {
    const session = makeSession();
    const lines = await sessionSetCookies(session, {}, sealer, NOW);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^__Host-bff-session=/);
    expect(lines[0]).toContain('SameSite=Strict');
    expect(lines[0]).toContain('Max-Age=3600');
    for (const secret of [session.at, session.rt!, session.idt!, 'ada@example.com']) expect(lines[0]).not.toContain(secret);
    const cookies = applySetCookies(new Map(), lines);
    const lookup = await readSession(cookies, sealer, NOW);
    expect(lookup.status).toBe('valid');
    if (lookup.status === 'valid') expect(lookup.session).toMatchObject(session);
  });

  it('round-trips a session with a 6 KB access token and a 3 KB ID token across several cookies', async () => {
    const session = makeSession({ at: tokenLike(6 * 1024, 'AT'), idt: tokenLike(3 * 1024, 'IDT'), rt: tokenLike(1024, 'RT') });
    const lines = await sessionSetCookies(session, {}, sealer, NOW);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(new TextEncoder().encode(line).length).toBeLessThanOrEqual(4096);
    const cookies = applySetCookies(new Map(), lines);
    expect(Object.keys(cookies)).toEqual(lines.map((_, i) => chunkName(SESSION_COOKIE, i)));
    const lookup = await readSession(cookies, sealer, NOW);
    expect(lookup.status).toBe('valid');
    if (lookup.status !== 'valid') throw new Error('unreachable');
    expect(lookup.session.at).toBe(session.at);
    expect(lookup.session.idt).toBe(session.idt);
    expect(lookup.session.rt).toBe(session.rt);
    expect(lookup.session).toMatchObject(session);
  });

  it('expires surplus chunks when a large session is replaced by a small one', async () => {
    const jar = new Map<string, string>();
    const big = makeSession({ at: tokenLike(6 * 1024, 'AT'), idt: tokenLike(3 * 1024, 'IDT') });
    let cookies = applySetCookies(jar, await sessionSetCookies(big, {}, sealer, NOW));
    const bigChunks = Object.keys(cookies).length;
    expect(bigChunks).toBeGreaterThan(1);

    const small = makeSession({ sid: 'sid-2' });
    const lines = await sessionSetCookies(small, cookies, sealer, NOW);
    expect(lines).toHaveLength(bigChunks);
    cookies = applySetCookies(jar, lines);
    expect(Object.keys(cookies)).toEqual([SESSION_COOKIE]);
    const lookup = await readSession(cookies, sealer, NOW);
    expect(lookup.status === 'valid' && lookup.session.sid).toBe('sid-2');
  });

  it('a tampered chunk makes the whole session invalid', async () => {
    const session = makeSession({ at: tokenLike(6 * 1024, 'AT') });
    const cookies = applySetCookies(new Map(), await sessionSetCookies(session, {}, sealer, NOW));
    const name = chunkName(SESSION_COOKIE, 1);
    const chunk = cookies[name]!;
    const tampered = chunk.slice(0, 10) + (chunk[10] === 'A' ? 'B' : 'A') + chunk.slice(11);
    expect(tampered).not.toBe(chunk);
    expect(tampered).toHaveLength(chunk.length);
    expect((await readSession(cookies, sealer, NOW)).status).toBe('valid');
    expect(await readSession({ ...cookies, [name]: tampered }, sealer, NOW)).toEqual({ status: 'invalid' });
  });

  it('a missing middle chunk makes the session invalid', async () => {
    const session = makeSession({ at: tokenLike(6 * 1024, 'AT') });
    const cookies = applySetCookies(new Map(), await sessionSetCookies(session, {}, sealer, NOW));
    delete cookies[chunkName(SESSION_COOKIE, 1)];
    expect(await readSession(cookies, sealer, NOW)).toEqual({ status: 'invalid' });
  });

  it('uses at least a 1-second cookie lifetime for an already-expired session', async () => {
    const lines = await sessionSetCookies(makeSession({ exp: NOW - 10 }), {}, sealer, NOW);
    expect(lines[0]).toContain('Max-Age=1');
  });
});

describe('clearSessionCookies', () => {
  const names = (lines: string[]) => lines.map((l) => l.slice(0, l.indexOf('=')));

  it('deletes every session chunk, and login cookies only when asked', () => {
    const cookies = {
      [SESSION_COOKIE]: 'a',
      [`${SESSION_COOKIE}.1`]: 'b',
      [`${LOGIN_COOKIE_PREFIX}abc`]: 'x',
      other: 'keep',
    };
    expect(names(clearSessionCookies(cookies))).toEqual([SESSION_COOKIE, `${SESSION_COOKIE}.1`]);
    expect(names(clearSessionCookies(cookies, true))).toEqual([SESSION_COOKIE, `${SESSION_COOKIE}.1`, `${LOGIN_COOKIE_PREFIX}abc`]);
    for (const line of clearSessionCookies(cookies, true)) expect(line).toContain('Max-Age=0');
  });
});
