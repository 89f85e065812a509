import { describe, expect, it } from 'vitest';
import { cacheUntil, createIntrospectionCache, DEFAULT_MAX_ENTRIES, tokenKey, type IntrospectionResult } from './cache.js';

const T0 = 1_800_000_000;

function clock(start = T0) {
  let now = start;
  return { nowSeconds: () => now, advance: (s: number) => (now += s) };
}

const active = (exp: number | undefined, jwt = 'h.p.s'): IntrospectionResult => ({ active: true, jwt, scope: 'openid notes:read', exp });

describe('cacheUntil: TTL = min(token exp, now + max)', () => {
  it('is capped by the configured maximum', () => {
    expect(cacheUntil({ exp: T0 + 300 }, T0, 60)).toBe(T0 + 60);
  });
  it('never outlives the token', () => {
    expect(cacheUntil({ exp: T0 + 10 }, T0, 60)).toBe(T0 + 10);
  });
  it('uses the maximum when the IdP gave no exp', () => {
    expect(cacheUntil({ exp: undefined }, T0, 60)).toBe(T0 + 60);
  });
});

describe('createIntrospectionCache', () => {
  it('serves an entry until the maximum age, then drops it', () => {
    const c = clock();
    const cache = createIntrospectionCache({ maxSeconds: 60, nowSeconds: c.nowSeconds });
    cache.set('k', active(T0 + 3600));
    c.advance(59);
    expect(cache.get('k')).toMatchObject({ active: true, jwt: 'h.p.s' });
    c.advance(1);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops an entry when the token itself expires, before the maximum age', () => {
    const c = clock();
    const cache = createIntrospectionCache({ maxSeconds: 3600, nowSeconds: c.nowSeconds });
    cache.set('k', active(T0 + 20));
    c.advance(19);
    expect(cache.get('k')).toBeDefined();
    c.advance(1);
    expect(cache.get('k')).toBeUndefined();
  });

  it('stores nothing with maxSeconds 0 (disabled)', () => {
    const cache = createIntrospectionCache({ maxSeconds: 0, nowSeconds: () => T0 });
    cache.set('k', active(T0 + 3600));
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('does not store inactive results, nor tokens already expired', () => {
    const cache = createIntrospectionCache({ maxSeconds: 60, nowSeconds: () => T0 });
    cache.set('inactive', { active: false, jwt: undefined, scope: undefined, exp: T0 + 100 });
    cache.set('expired', active(T0));
    expect(cache.size).toBe(0);
  });

  it('is bounded: beyond maxEntries the oldest entry is evicted first', () => {
    const cache = createIntrospectionCache({ maxSeconds: 60, maxEntries: 3, nowSeconds: () => T0 });
    for (const key of ['a', 'b', 'c']) cache.set(key, active(undefined));
    // Re-storing moves a key to the young end.
    cache.set('a', active(undefined));
    cache.set('d', active(undefined));
    expect(cache.keys()).toEqual(['c', 'a', 'd']);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(3);
  });

  it('defaults to 10,000 entries', () => {
    expect(DEFAULT_MAX_ENTRIES).toBe(10_000);
    const cache = createIntrospectionCache({ maxSeconds: 60, nowSeconds: () => T0 });
    for (let i = 0; i < DEFAULT_MAX_ENTRIES + 5; i++) cache.set(`k${i}`, active(undefined));
    expect(cache.size).toBe(DEFAULT_MAX_ENTRIES);
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get(`k${DEFAULT_MAX_ENTRIES + 4}`)).toBeDefined();
  });
});

describe('tokenKey: the cache is keyed by digests, never tokens', () => {
  it('is the lowercase hex SHA-256 of the token', async () => {
    expect(await tokenKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('a cache filled through tokenKey holds no token', async () => {
    const tokens = ['opaque-token-1-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'opaque-token-2-yyyyyyyyyyyyyyyyyyyyyyyyyyyyy'];
    const cache = createIntrospectionCache({ maxSeconds: 60, nowSeconds: () => T0 });
    for (const token of tokens) cache.set(await tokenKey(token), active(undefined));
    for (const key of cache.keys()) {
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      for (const token of tokens) expect(key).not.toContain(token);
    }
  });
});
