import { describe, it, expect } from 'vitest';
import {
  chunkedSetCookies,
  chunkName,
  countChunks,
  expireChunkedCookie,
  expiredCookie,
  loginCookieNames,
  loginSetCookie,
  LOGIN_COOKIE_PREFIX,
  MAX_SESSION_CHUNKS,
  MAX_SET_COOKIE_LINE,
  parseCookieHeader,
  readChunkedCookie,
  SESSION_COOKIE,
} from './cookies.js';

/** Deterministic value in the alphabet of an iron seal (`Fe26.2*…~2`). */
function sealLikeValue(length: number, seed = 1): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_*~.';
  let x = seed;
  let out = '';
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += alphabet[x % alphabet.length];
  }
  return out;
}

interface ParsedSetCookie {
  name: string;
  rawValue: string;
  attributes: string[];
}

function parseSetCookie(line: string): ParsedSetCookie {
  const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
  const eq = pair.indexOf('=');
  expect(eq).toBeGreaterThan(0);
  return { name: pair.slice(0, eq), rawValue: pair.slice(eq + 1), attributes };
}

function isDeletion(attributes: string[]): boolean {
  const maxAge = attributes.find((a) => /^max-age=/i.test(a));
  if (maxAge !== undefined) return Number(maxAge.slice('max-age='.length)) <= 0;
  const expires = attributes.find((a) => /^expires=/i.test(a));
  return expires !== undefined && Date.parse(expires.slice('expires='.length)) <= Date.now();
}

/** A minimal browser cookie jar: raw (encoded) values as the browser stores and sends them. */
function applySetCookies(jar: Map<string, string>, lines: readonly string[]): void {
  for (const line of lines) {
    const { name, rawValue, attributes } = parseSetCookie(line);
    if (isDeletion(attributes)) jar.delete(name);
    else jar.set(name, rawValue);
  }
}

/** The decoded cookie map a server would see. */
function decodedCookies(jar: Map<string, string>): Record<string, string> {
  return Object.fromEntries([...jar].map(([name, value]) => [name, decodeURIComponent(value)]));
}

/** The `Cookie` header the browser would send. */
function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

function expectHostCookieAttributes(line: string, sameSite: 'Strict' | 'Lax'): void {
  const { name, attributes } = parseSetCookie(line);
  expect(name.startsWith('__Host-')).toBe(true);
  expect(attributes).toContain('Secure');
  expect(attributes).toContain('HttpOnly');
  expect(attributes).toContain('Path=/');
  expect(attributes).toContain(`SameSite=${sameSite}`);
  expect(attributes.some((a) => /^domain=/i.test(a))).toBe(false);
  expect(attributes.filter((a) => /^samesite=/i.test(a))).toHaveLength(1);
}

const STRICT = { sameSite: 'Strict' as const, maxAgeSeconds: 3600, existingChunks: 0 };

describe('chunkedSetCookies round-trip', () => {
  it.each([
    ['200 bytes', 200],
    ['4 KB', 4096],
    ['20,000 bytes', 20_000],
  ])('a %s value survives the browser', (_label, size) => {
    const value = sealLikeValue(size);
    expect(bytes(value)).toBe(size);
    const lines = chunkedSetCookies(SESSION_COOKIE, value, STRICT);
    const jar = new Map<string, string>();
    applySetCookies(jar, lines);

    expect(readChunkedCookie(decodedCookies(jar), SESSION_COOKIE)).toBe(value);
    expect(readChunkedCookie(parseCookieHeader(cookieHeader(jar)), SESSION_COOKIE)).toBe(value);
    expect(countChunks(decodedCookies(jar), SESSION_COOKIE)).toBe(lines.length);
  });

  it('uses one cookie for 200 bytes and several for 20,000 bytes', () => {
    expect(chunkedSetCookies(SESSION_COOKIE, sealLikeValue(200), STRICT)).toHaveLength(1);
    const lines = chunkedSetCookies(SESSION_COOKIE, sealLikeValue(20_000), STRICT);
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(MAX_SESSION_CHUNKS);
    expect(lines.map((l) => parseSetCookie(l).name)).toEqual(lines.map((_, i) => (i === 0 ? SESSION_COOKIE : `${SESSION_COOKIE}.${i}`)));
  });

  it('keeps every Set-Cookie line within 4096 bytes, attributes included', () => {
    for (const size of [1, 200, 4000, 4096, 8191, 20_000, 30_000]) {
      for (const line of chunkedSetCookies(SESSION_COOKIE, sealLikeValue(size, size), { ...STRICT, maxAgeSeconds: 604800, existingChunks: 8 })) {
        expect(bytes(line)).toBeLessThanOrEqual(MAX_SET_COOKIE_LINE);
        expect(bytes(line)).toBeLessThanOrEqual(4096);
      }
    }
  });

  it('sets __Host-, Secure, HttpOnly, Path=/, SameSite=Strict and no Domain on every line', () => {
    const lines = chunkedSetCookies(SESSION_COOKIE, sealLikeValue(20_000), { ...STRICT, existingChunks: 8 });
    expect(lines.length).toBe(MAX_SESSION_CHUNKS);
    for (const line of lines) expectHostCookieAttributes(line, 'Strict');
  });

  it('sets Max-Age to the (floored) lifetime', () => {
    const [line] = chunkedSetCookies(SESSION_COOKIE, 'v', { sameSite: 'Strict', maxAgeSeconds: 3600.9, existingChunks: 0 });
    expect(parseSetCookie(line!).attributes).toContain('Max-Age=3600');
  });

  it('honours SameSite=Lax when asked', () => {
    for (const line of chunkedSetCookies(SESSION_COOKIE, sealLikeValue(9000), { ...STRICT, sameSite: 'Lax' })) expectHostCookieAttributes(line, 'Lax');
  });

  it('writes one (empty) chunk for an empty value', () => {
    const lines = chunkedSetCookies(SESSION_COOKIE, '', STRICT);
    expect(lines).toHaveLength(1);
    expect(parseSetCookie(lines[0]!)).toMatchObject({ name: SESSION_COOKIE, rawValue: '' });
  });

  it('fills exactly MAX_SESSION_CHUNKS chunks and refuses one character more with a RangeError', () => {
    const probe = chunkedSetCookies(SESSION_COOKIE, sealLikeValue(20_000), STRICT);
    const chunkSize = parseSetCookie(probe[0]!).rawValue.length;
    expect(chunkSize).toBeGreaterThan(3000);
    const fits = sealLikeValue(chunkSize * MAX_SESSION_CHUNKS);
    const lines = chunkedSetCookies(SESSION_COOKIE, fits, STRICT);
    expect(lines).toHaveLength(MAX_SESSION_CHUNKS);
    for (const line of lines) expect(bytes(line)).toBeLessThanOrEqual(4096);
    expect(() => chunkedSetCookies(SESSION_COOKIE, fits + 'x', STRICT)).toThrow(RangeError);
    expect(() => chunkedSetCookies(SESSION_COOKIE, sealLikeValue(64 * 1024), STRICT)).toThrow(RangeError);
  });
});

describe('chunkedSetCookies: shrinking expires surplus chunks', () => {
  it('shrinking from 5 chunks to 1 expires chunks 1..4', () => {
    const jar = new Map<string, string>();
    applySetCookies(jar, chunkedSetCookies(SESSION_COOKIE, sealLikeValue(18_000), STRICT));
    expect(countChunks(decodedCookies(jar), SESSION_COOKIE)).toBe(5);

    const small = sealLikeValue(300, 7);
    const lines = chunkedSetCookies(SESSION_COOKIE, small, { ...STRICT, existingChunks: countChunks(decodedCookies(jar), SESSION_COOKIE) });
    expect(lines).toHaveLength(5);
    expect(parseSetCookie(lines[0]!).name).toBe(SESSION_COOKIE);
    const expired = lines.slice(1).map(parseSetCookie);
    expect(expired.map((c) => c.name)).toEqual([1, 2, 3, 4].map((i) => `${SESSION_COOKIE}.${i}`));
    for (const c of expired) {
      const maxAgeZero = c.attributes.includes('Max-Age=0');
      const expires1970 = c.attributes.some((a) => /^expires=.*1970/i.test(a));
      expect(maxAgeZero || expires1970).toBe(true);
      expect(c.rawValue).toBe('');
    }
    for (const line of lines.slice(1)) expectHostCookieAttributes(line, 'Strict');

    applySetCookies(jar, lines);
    expect([...jar.keys()]).toEqual([SESSION_COOKIE]);
    expect(readChunkedCookie(decodedCookies(jar), SESSION_COOKIE)).toBe(small);
  });

  it('does not expire anything when the value does not shrink', () => {
    const lines = chunkedSetCookies(SESSION_COOKIE, sealLikeValue(9000), { ...STRICT, existingChunks: 2 });
    expect(lines.every((l) => !isDeletion(parseSetCookie(l).attributes))).toBe(true);
  });
});

describe('readChunkedCookie / countChunks / chunkName', () => {
  it('names chunk 0 with the bare name', () => {
    expect(chunkName(SESSION_COOKIE, 0)).toBe(SESSION_COOKIE);
    expect(chunkName(SESSION_COOKIE, 3)).toBe(`${SESSION_COOKIE}.3`);
  });

  it('returns undefined without chunk 0, but counts the slots the stray chunks occupy (so they get cleared)', () => {
    expect(readChunkedCookie({}, SESSION_COOKIE)).toBeUndefined();
    expect(readChunkedCookie({ [`${SESSION_COOKIE}.1`]: 'b' }, SESSION_COOKIE)).toBeUndefined();
    expect(countChunks({}, SESSION_COOKIE)).toBe(0);
    expect(countChunks({ [`${SESSION_COOKIE}.1`]: 'b' }, SESSION_COOKIE)).toBe(2);
  });

  it('concatenates in order and stops at a gap; the count covers the stale chunk after the gap', () => {
    const cookies = { [`${SESSION_COOKIE}.1`]: 'b', [SESSION_COOKIE]: 'a', [`${SESSION_COOKIE}.2`]: 'c', [`${SESSION_COOKIE}.4`]: 'stale' };
    expect(readChunkedCookie(cookies, SESSION_COOKIE)).toBe('abc');
    expect(countChunks(cookies, SESSION_COOKIE)).toBe(5);
  });

  it('reads an empty chunk 0 as an empty string', () => {
    expect(readChunkedCookie({ [SESSION_COOKIE]: '' }, SESSION_COOKIE)).toBe('');
  });

  it('never reads beyond MAX_SESSION_CHUNKS', () => {
    const cookies: Record<string, string> = {};
    for (let i = 0; i < MAX_SESSION_CHUNKS + 3; i++) cookies[chunkName(SESSION_COOKIE, i)] = String(i % 10);
    expect(readChunkedCookie(cookies, SESSION_COOKIE)).toHaveLength(MAX_SESSION_CHUNKS);
    expect(countChunks(cookies, SESSION_COOKIE)).toBe(MAX_SESSION_CHUNKS);
  });

  it('does not confuse another cookie sharing the prefix', () => {
    expect(readChunkedCookie({ [`${SESSION_COOKIE}x`]: 'nope' }, SESSION_COOKIE)).toBeUndefined();
  });
});

describe('expireChunkedCookie / expiredCookie', () => {
  const namesOf = (lines: string[]) => lines.map((l) => parseSetCookie(l).name);

  it('deletes every present chunk', () => {
    const jar = new Map<string, string>();
    applySetCookies(jar, chunkedSetCookies(SESSION_COOKIE, sealLikeValue(15_000), STRICT));
    jar.set('other', 'keep');
    const lines = expireChunkedCookie(decodedCookies(jar), SESSION_COOKIE);
    expect(namesOf(lines)).toEqual([0, 1, 2, 3].map((i) => chunkName(SESSION_COOKIE, i)));
    for (const line of lines) {
      expect(isDeletion(parseSetCookie(line).attributes)).toBe(true);
      expectHostCookieAttributes(line, 'Strict');
    }
    applySetCookies(jar, lines);
    expect([...jar.keys()]).toEqual(['other']);
  });

  it('also deletes stale chunks after a gap', () => {
    const cookies = { [SESSION_COOKIE]: 'a', [`${SESSION_COOKIE}.1`]: 'b', [`${SESSION_COOKIE}.5`]: 'stale' };
    expect(namesOf(expireChunkedCookie(cookies, SESSION_COOKIE))).toEqual([SESSION_COOKIE, `${SESSION_COOKIE}.1`, `${SESSION_COOKIE}.5`]);
  });

  it('deletes at least chunk 0 when the request carries nothing', () => {
    expect(namesOf(expireChunkedCookie({}, SESSION_COOKIE))).toEqual([SESSION_COOKIE]);
  });

  it('expiredCookie uses Max-Age=0 and a 1970 Expires', () => {
    const { name, rawValue, attributes } = parseSetCookie(expiredCookie(`${LOGIN_COOKIE_PREFIX}abc`));
    expect(name).toBe(`${LOGIN_COOKIE_PREFIX}abc`);
    expect(rawValue).toBe('');
    expect(attributes).toContain('Max-Age=0');
    expect(attributes.some((a) => /^Expires=Thu, 01 Jan 1970 00:00:00 GMT$/.test(a))).toBe(true);
  });
});

describe('loginSetCookie / loginCookieNames', () => {
  it('is SameSite=Lax with the __Host- attributes', () => {
    const line = loginSetCookie(`${LOGIN_COOKIE_PREFIX}abc`, sealLikeValue(500), 600);
    expectHostCookieAttributes(line, 'Lax');
    expect(parseSetCookie(line).attributes).toContain('Max-Age=600');
    expect(parseSetCookie(line).attributes).not.toContain('SameSite=Strict');
  });

  it('refuses a value too large for one line with a RangeError', () => {
    expect(() => loginSetCookie(`${LOGIN_COOKIE_PREFIX}abc`, sealLikeValue(4096), 600)).toThrow(RangeError);
  });

  it('lists only login-transaction cookies', () => {
    const cookies = { [SESSION_COOKIE]: 's', [`${LOGIN_COOKIE_PREFIX}a`]: '1', [`${LOGIN_COOKIE_PREFIX}b`]: '2', '__Host-bff-loginx': 'n', other: 'o' };
    expect(loginCookieNames(cookies).sort()).toEqual([`${LOGIN_COOKIE_PREFIX}a`, `${LOGIN_COOKIE_PREFIX}b`]);
  });
});

describe('parseCookieHeader', () => {
  it('parses and decodes a normal header; first occurrence wins', () => {
    expect(parseCookieHeader('a=1; b=x%20y; a=2')).toEqual({ a: '1', b: 'x y' });
  });

  it('returns an empty map for missing headers', () => {
    expect(parseCookieHeader(undefined)).toEqual({});
    expect(parseCookieHeader(null)).toEqual({});
    expect(parseCookieHeader('')).toEqual({});
  });

  it.each([
    ';;;',
    '=',
    '==;=;',
    'a',
    'a=%',
    'a=%E0%A4%A',
    'a=%zz; b=2',
    '\u0000\u0001\u0002',
    'a="unterminated',
    'a=b=c=d',
    ' ; ; a = 1 ; ',
    '\uD800=\uDFFF',
    'constructor=1; __proto__=2; toString=3',
    'x'.repeat(100_000),
    Array.from({ length: 2000 }, (_, i) => `c${i}=${i}`).join('; '),
    String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i)),
  ])('does not throw on garbage %#', (header) => {
    let result: Record<string, string> | undefined;
    expect(() => {
      result = parseCookieHeader(header);
    }).not.toThrow();
    expect(result).toBeTypeOf('object');
    for (const value of Object.values(result ?? {})) expect(typeof value).toBe('string');
  });

  it('does not let __proto__ pollute the result', () => {
    const parsed = parseCookieHeader('__proto__=x; a=1');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    expect(parsed['a']).toBe('1');
  });
});

describe('chunkedSetCookies refuses values that would be percent-encoded', () => {
  it.each(['a b', 'é', 'a;b', 'a,b', '"x"'])('%j → RangeError (the 4096-byte budget assumes cookie-safe ASCII)', (value) => {
    expect(() => chunkedSetCookies(SESSION_COOKIE, value, { sameSite: 'Strict', maxAgeSeconds: 60, existingChunks: 0 })).toThrow(RangeError);
  });
});
