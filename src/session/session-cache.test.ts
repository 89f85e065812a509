import { describe, expect, it } from 'vitest';
import { chunkName, SESSION_COOKIE } from './cookies.js';
import { createSealer, type Sealer } from './seal.js';
import { createSessionCache, releaseCachedSession } from './session-cache.js';
import { clearSessionCookies, readSession, sessionSetCookies, type SessionData } from './session.js';

const SECRET = 'session-cache-test-secret-' + 'c'.repeat(30);
const OLD_SECRET = 'session-cache-old-secret-' + 'o'.repeat(30);
const NOW = 1_900_000_000;
const IDLE = 8 * 3600;

function makeSession(overrides: Partial<SessionData> = {}): SessionData {
  return {
    v: 1,
    sid: 'sid-1',
    iat: NOW - 10,
    exp: NOW + 3600,
    seen: NOW - 10,
    iss: 'https://idp.example.com',
    sub: 'user-1',
    aud: 'spa-bff',
    user: { sub: 'user-1', name: 'Ada', roles: ['a'] },
    at: 'AT-0001',
    atExp: NOW + 300,
    rt: 'RT-0002',
    ...overrides,
  };
}

/** A sealer counting its session unseals. */
function countingSealer(secrets = [SECRET]): Sealer & { unseals: number } {
  const inner = createSealer(secrets);
  const counting = {
    unseals: 0,
    seal: inner.seal,
    usesPrimaryKey: inner.usesPrimaryKey,
    unseal<T extends object>(purpose: 'session' | 'login', sealed: string): Promise<T | undefined> {
      counting.unseals++;
      return inner.unseal<T>(purpose, sealed);
    },
  };
  return counting;
}

/** A settable clock in epoch ms, starting at NOW. */
function clock() {
  let ms = NOW * 1000;
  return { now: () => ms, advance: (seconds: number) => (ms += seconds * 1000), seconds: () => Math.floor(ms / 1000) };
}

/** Cookies as the browser would send them after these Set-Cookie lines. */
function cookiesOf(lines: readonly string[]): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const line of lines) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    if (!/max-age=0/i.test(line)) cookies[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return cookies;
}

async function sessionCookies(sealer: Sealer, session = makeSession()): Promise<Record<string, string>> {
  return cookiesOf(await sessionSetCookies(session, {}, sealer, session.seen ?? NOW));
}

describe('createSessionCache', () => {
  it('unseals a cookie value once; later reads of the same value come from the cache', async () => {
    const sealer = countingSealer();
    const time = clock();
    const cache = createSessionCache(sealer, { now: time.now });
    const cookies = await sessionCookies(sealer);
    for (let i = 0; i < 5; i++) {
      const copy = { ...cookies };
      const lookup = await readSession(copy, cache.sealerFor(copy), time.seconds(), IDLE);
      expect(lookup).toMatchObject({ status: 'valid', session: { sid: 'sid-1', at: 'AT-0001' } });
    }
    expect(sealer.unseals).toBe(1);
    expect(cache.stats()).toMatchObject({ entries: 1, hits: 4, misses: 1 });
  });

  it('never shares an entry between different cookie values: a changed last chunk is unsealed (and refused)', async () => {
    const sealer = countingSealer();
    const time = clock();
    const cache = createSessionCache(sealer, { now: time.now });
    const cookies = await sessionCookies(sealer, makeSession({ at: 'A'.repeat(6000) }));
    expect(cookies[chunkName(SESSION_COOKIE, 1)]).toBeDefined();
    expect((await readSession(cookies, cache.sealerFor(cookies), time.seconds(), IDLE)).status).toBe('valid');
    const last = chunkName(SESSION_COOKIE, Object.keys(cookies).length - 1);
    const value = cookies[last]!;
    const tampered = { ...cookies, [last]: value.slice(0, -5) + (value.at(-5) === 'x' ? 'y' : 'x') + value.slice(-4) };
    expect(await readSession(tampered, cache.sealerFor(tampered), time.seconds(), IDLE)).toEqual({ status: 'invalid' });
    expect(sealer.unseals).toBe(2);
    // A failed unseal is not cached: it is refused again by the sealer.
    expect(await readSession(tampered, cache.sealerFor(tampered), time.seconds(), IDLE)).toEqual({ status: 'invalid' });
    expect(sealer.unseals).toBe(3);
    expect(cache.stats().entries).toBe(1);
  });

  it('still enforces the idle timeout and the absolute end on cached data', async () => {
    const sealer = countingSealer();
    const time = clock();
    // A long cache life, so that only readSession's checks can refuse the session.
    const cache = createSessionCache(sealer, { now: time.now, ttlSeconds: 10 * 3600 });
    const idle = await sessionCookies(sealer, makeSession({ seen: NOW, exp: NOW + 10 * 3600 }));
    expect((await readSession(idle, cache.sealerFor(idle), time.seconds(), 600)).status).toBe('valid');
    time.advance(600);
    expect(await readSession(idle, cache.sealerFor(idle), time.seconds(), 600)).toEqual({ status: 'invalid' });
    expect(sealer.unseals).toBe(1);

    const ending = await sessionCookies(sealer, makeSession({ seen: time.seconds(), exp: time.seconds() + 30 }));
    expect((await readSession(ending, cache.sealerFor(ending), time.seconds(), IDLE)).status).toBe('valid');
    time.advance(30);
    expect(await readSession(ending, cache.sealerFor(ending), time.seconds(), IDLE)).toEqual({ status: 'invalid' });
  });

  it('keeps the sliding re-seal signal (stale after a minute) and the key-rotation signal', async () => {
    const time = clock();
    const oldSealer = countingSealer([OLD_SECRET]);
    const sealer = countingSealer([SECRET, OLD_SECRET]);
    const cache = createSessionCache(sealer, { now: time.now, ttlSeconds: 3600 });
    const fresh = await sessionCookies(sealer, makeSession({ seen: NOW }));
    expect(await readSession(fresh, cache.sealerFor(fresh), time.seconds(), IDLE)).toMatchObject({ status: 'valid', reseal: undefined });
    time.advance(60);
    expect(await readSession(fresh, cache.sealerFor(fresh), time.seconds(), IDLE)).toMatchObject({ status: 'valid', reseal: 'stale' });
    expect(sealer.unseals).toBe(1);

    const rotated = await sessionCookies(oldSealer, makeSession({ seen: time.seconds() }));
    for (let i = 0; i < 2; i++) {
      expect(await readSession(rotated, cache.sealerFor(rotated), time.seconds(), IDLE)).toMatchObject({ status: 'valid', reseal: 'rotated' });
    }
    expect(sealer.unseals).toBe(2);
  });

  it('keeps an entry at most ttlSeconds, and never past the session end', async () => {
    const sealer = countingSealer();
    const time = clock();
    const cache = createSessionCache(sealer, { now: time.now, ttlSeconds: 60 });
    const cookies = await sessionCookies(sealer);
    const read = () => readSession(cookies, cache.sealerFor(cookies), time.seconds(), IDLE);
    await read();
    time.advance(59);
    await read();
    expect(sealer.unseals).toBe(1);
    time.advance(1);
    await read();
    expect(sealer.unseals).toBe(2);
  });

  it('drops the entry when the session is re-written or cleared for that request, and does not cache that value again', async () => {
    const sealer = countingSealer();
    const time = clock();
    const cache = createSessionCache(sealer, { now: time.now });
    const cookies = await sessionCookies(sealer);
    const request = () => ({ ...cookies });

    const first = request();
    const lookup = await readSession(first, cache.sealerFor(first), time.seconds(), IDLE);
    expect(cache.stats().entries).toBe(1);
    // A refresh writes a new session for this request: the old value leaves the cache.
    if (lookup.status !== 'valid') throw new Error('unreachable');
    const lines = await sessionSetCookies({ ...lookup.session, at: 'AT-NEW' }, first, sealer, time.seconds());
    expect(cache.stats()).toMatchObject({ entries: 0, released: 1 });
    // A request still carrying the old cookie is unsealed every time, not cached again.
    for (let i = 0; i < 2; i++) {
      const late = request();
      expect((await readSession(late, cache.sealerFor(late), time.seconds(), IDLE)).status).toBe('valid');
    }
    expect(sealer.unseals).toBe(3);
    expect(cache.stats().entries).toBe(0);

    // The new cookie is cached; logging out (clearing) drops it.
    const next = cookiesOf(lines);
    await readSession(next, cache.sealerFor(next), time.seconds(), IDLE);
    expect(cache.stats().entries).toBe(1);
    clearSessionCookies(next, true);
    expect(cache.stats().entries).toBe(0);
    // Releasing twice, or for a request that was never read through a cache, is harmless.
    releaseCachedSession(next);
    releaseCachedSession({});
  });

  it('forget() drops a value by its cookie value', async () => {
    const sealer = countingSealer();
    const cache = createSessionCache(sealer, { now: clock().now });
    const cookies = await sessionCookies(sealer);
    await readSession(cookies, cache.sealerFor(cookies), NOW, IDLE);
    await cache.forget(cookies[SESSION_COOKIE]!);
    expect(cache.stats().entries).toBe(0);
  });

  it('is bounded: least recently used entries go first, by count and by bytes', async () => {
    const sealer = countingSealer();
    const time = clock();
    const cache = createSessionCache(sealer, { now: time.now, maxEntries: 3 });
    const all = await Promise.all([1, 2, 3, 4].map((i) => sessionCookies(sealer, makeSession({ sid: `sid-${i}` }))));
    const read = (cookies: Record<string, string>) => readSession(cookies, cache.sealerFor(cookies), time.seconds(), IDLE);
    for (const cookies of all.slice(0, 3)) await read(cookies);
    await read(all[0]!); // sid-1 becomes the most recently used
    await read(all[3]!); // evicts sid-2
    expect(cache.stats()).toMatchObject({ entries: 3, evictions: 1 });
    const before = sealer.unseals;
    await read(all[0]!);
    expect(sealer.unseals).toBe(before);
    await read(all[1]!);
    expect(sealer.unseals).toBe(before + 1);

    const small = createSessionCache(sealer, { now: time.now, maxBytes: 2 * (all[0]![SESSION_COOKIE]!.length + 400) });
    for (const cookies of all) await readSession(cookies, small.sealerFor(cookies), time.seconds(), IDLE);
    expect(small.stats().entries).toBe(2);
    expect(small.stats().bytes).toBeLessThanOrEqual(2 * (all[0]![SESSION_COOKIE]!.length + 400));
  });

  it('shares one unseal between concurrent misses of the same value', async () => {
    const sealer = countingSealer();
    const cache = createSessionCache(sealer, { now: clock().now });
    const cookies = await sessionCookies(sealer);
    const lookups = await Promise.all(Array.from({ length: 20 }, () => {
      const copy = { ...cookies };
      return readSession(copy, cache.sealerFor(copy), NOW, IDLE);
    }));
    expect(lookups.every((l) => l.status === 'valid')).toBe(true);
    expect(sealer.unseals).toBe(1);
  });

  it('hands out copies: a handler changing its session cannot change the cache', async () => {
    const sealer = countingSealer();
    const cache = createSessionCache(sealer, { now: clock().now });
    const cookies = await sessionCookies(sealer);
    const first = await readSession(cookies, cache.sealerFor(cookies), NOW, IDLE);
    if (first.status !== 'valid') throw new Error('unreachable');
    first.session.at = 'CHANGED';
    expect(() => {
      (first.session.user as { name: string }).name = 'Eve';
    }).toThrow(TypeError);
    const second = await readSession(cookies, cache.sealerFor(cookies), NOW, IDLE);
    expect(second).toMatchObject({ status: 'valid', session: { at: 'AT-0001', user: { name: 'Ada' } } });
  });

  it('passes other purposes through uncached, and ttlSeconds 0 disables it', async () => {
    const sealer = countingSealer();
    const cache = createSessionCache(sealer, { now: clock().now });
    const login = await sealer.seal('login', { x: 1 }, 60);
    const cached = cache.sealerFor({});
    expect(await cached.unseal('login', login)).toMatchObject({ x: 1 });
    expect(await cached.unseal('login', login)).toMatchObject({ x: 1 });
    expect(sealer.unseals).toBe(2);
    expect(await cached.unseal('session', login)).toBeUndefined();

    const off = createSessionCache(sealer, { now: clock().now, ttlSeconds: 0 });
    const cookies = await sessionCookies(sealer);
    expect(off.sealerFor(cookies)).toBe(sealer);
  });
});
